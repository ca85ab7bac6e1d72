"""Per-request overhead of Lift's auth middleware, against the same app without auth.

Every variant answers the same REST API event (a GET through `app.handler`); variants are
timed in interleaved rounds so machine noise hits them alike, and the report gives the
median per-request time, the overhead over no auth and the ratio, all from one run:

    .venv/bin/python bench/bench_auth.py [--rounds 15] [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from lift import App, Context
from lift.auth import JWKSClient, JWTVerifier, hash_api_key
from lift.middleware.auth import api_key_auth, gateway_auth, jwt_auth, require_roles
from lift.middleware.tenancy import tenancy
from lift.testing import events, lambda_context

SECRET = secrets.token_urlsafe(48)
CLAIMS = {
    "sub": "user-123",
    "tenant_id": "acme",
    "roles": ["admin"],
    "iss": "https://issuer.example.com",
    "aud": "orders-api",
    "iat": int(time.time()),
    "exp": int(time.time()) + 86400,
}
OPTIONS = {"issuer": "https://issuer.example.com", "audience": "orders-api"}


def build_app(*middleware) -> App:
    app = App(name="bench-auth")
    app.use(*middleware)

    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        return {"id": order_id, "user": ctx.user_id}

    return app


def pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def serve_jwks(document: dict) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def variants() -> tuple[dict[str, tuple], ThreadingHTTPServer]:
    """name -> (app, event) for each variant."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True) | {"kid": "k1", "alg": "RS256", "use": "sig"}
    server, jwks_url = serve_jwks({"keys": [jwk]})
    api_key = secrets.token_urlsafe(32)

    def rest(headers=None, authorizer=None):
        return events.apigw_rest("GET", "/orders/7", headers=headers or {}, authorizer=authorizer)

    def bearer(token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    hs = jwt.encode(CLAIMS, SECRET, algorithm="HS256")
    rs = jwt.encode(CLAIMS, rsa_key, algorithm="RS256", headers={"kid": "k1"})
    es = jwt.encode(CLAIMS, ec_key, algorithm="ES256")
    jwks_verifier = JWTVerifier(jwks=JWKSClient(jwks_url), **OPTIONS)
    cognito = {"claims": {"sub": "user-123", "custom:tenant_id": "acme", "cognito:groups": "admin"}}
    fresh = {**OPTIONS, "cache_size": 0}  # every request verifies the signature (a new token each time)
    return {
        "no auth": (build_app(), rest()),
        "JWT HS256, verified every request": (build_app(jwt_auth(secret=SECRET, **fresh)), rest(bearer(hs))),
        "JWT RS256, verified every request": (build_app(jwt_auth(public_key=pem(rsa_key), **fresh)), rest(bearer(rs))),
        "JWT RS256 via JWKS, verified every request": (
            build_app(jwt_auth(verifier=JWTVerifier(jwks=JWKSClient(jwks_url), **fresh))),
            rest(bearer(rs)),
        ),
        "JWT ES256, verified every request": (build_app(jwt_auth(public_key=pem(ec_key), **fresh)), rest(bearer(es))),
        "JWT HS256, repeated token (verified-token cache)": (
            build_app(jwt_auth(secret=SECRET, **OPTIONS)),
            rest(bearer(hs)),
        ),
        "JWT RS256 via JWKS, repeated token (cache)": (build_app(jwt_auth(verifier=jwks_verifier)), rest(bearer(rs))),
        "API key": (build_app(api_key_auth({hash_api_key(api_key): "svc"})), rest({"X-Api-Key": api_key})),
        "API Gateway authorizer": (build_app(gateway_auth()), rest(authorizer=cognito)),
        "JWT HS256 (verified every request) + require_roles + tenancy": (
            build_app(jwt_auth(secret=SECRET, **fresh), require_roles("admin"), tenancy(metric_dimension=False)),
            rest(bearer(hs)),
        ),
    }, server


def time_variant(app: App, event: dict, context, requests: int) -> float:
    """Median-ready sample: mean microseconds per request over one batch."""
    handler = app.handler
    start = time.perf_counter()
    for _ in range(requests):
        handler(event, context)
    return (time.perf_counter() - start) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    cases, server = variants()
    context = lambda_context()
    for name, (app, event) in cases.items():  # warm up and check every variant answers 200
        result = app.handler(event, context)
        if result["statusCode"] != 200:
            raise SystemExit(f"{name}: expected 200, got {result['statusCode']} {result['body']}")
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (app, event) in cases.items():
            samples[name].append(time_variant(app, event, context, args.requests))
    server.shutdown()
    base = statistics.median(samples["no auth"])
    print(
        f"Auth middleware overhead: {args.rounds} rounds x {args.requests} requests, Python {sys.version.split()[0]}, "
        f"PyJWT {jwt.__version__}\n"
    )
    print("| variant | median µs/request | overhead µs | ratio vs no auth |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {median - base:+.1f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
