"""JWT test support: signing keys, claim sets and a real JWKS server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class JWKSServer:
    """Serves whatever key set the test sets, and counts how often it was asked."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.requests = 0
        self.status = 200
        self.trickle: float | None = None  # seconds between bytes: a provider sending its body slowly
        self.closing = threading.Event()
        self.hold: threading.Event | None = None  # when set: each answer waits (10 s at most) for it
        self.pems: dict[str, bytes] | None = None  # when set: GET /<kid> answers that PEM (an ALB's key endpoint)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.hold is not None:
                    server.hold.wait(10)
                body = json.dumps(server.document).encode()
                if server.pems is not None:
                    body = server.pems.get(self.path.rsplit("/", 1)[-1], b"")
                self.send_response(server.status if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.trickle is None:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):  # until the body is sent, the client leaves or the server closes
                    if server.closing.wait(server.trickle):
                        return
                    try:
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), daemon=True
        )  # (shutdown waits one poll)
        self.thread.start()

    def publish(self, *keys: SigningKey) -> None:
        self.document = {"keys": [key.jwk for key in keys]}

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class SigningKey:
    """A private key, its PEM public half and its JWK (shaped like Cognito's: kid, alg, kty, use)."""

    def __init__(self, kid: str, alg: str = "RS256", include_alg: bool = True) -> None:
        self.kid, self.alg = kid, alg
        if alg.startswith(("RS", "PS")):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg.startswith("ES"):
            curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
            self.private = ec.generate_private_key(curve)
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            jwk = None
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if jwk is not None:
            jwk.update({"kid": kid, "use": "sig"})
            if include_alg:
                jwk["alg"] = alg
        self.jwk = jwk

    def sign(self, claims: dict[str, Any], alg: str | None = None, kid: str | None = "default") -> str:
        headers = {"kid": self.kid if kid == "default" else kid} if kid is not None else None
        return jwt.encode(claims, self.private, algorithm=alg or self.alg, headers=headers)


def claims(**extra: Any) -> dict[str, Any]:
    """A typical claim set: subject, tenant, issuer, audience, one hour of validity."""
    now = int(time.time())
    base = {
        "sub": "user-123",
        "tenant_id": "acme",
        "iss": "https://issuer.example.com",
        "aud": "orders-api",
        "iat": now,
        "exp": now + 3600,
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}
