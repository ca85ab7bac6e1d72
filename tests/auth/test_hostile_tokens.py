"""Hostile tokens through `app.handler`: each is a 401 from every verifier, never a 500."""

from __future__ import annotations

import base64
import json
import logging
import time

import jwt
import pytest
from jwt_support import SigningKey, claims

from lift import App, Context
from lift.middleware.auth import jwt_auth
from lift.testing import TestClient

SECRET = "hostile-secret-" + "0123456789abcdef" * 4


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def deeply_nested_header_token() -> str:
    """An ~11 KB token (under the 16 KB cap) whose JOSE header nests 4,000 JSON arrays."""
    depth = 4000
    header = ('{"alg":"HS256","x":' + "[" * depth + "]" * depth + "}").encode()
    token = f"{_b64(header)}.{_b64(json.dumps(claims()).encode())}.{_b64(b'sig')}"
    assert 10_000 < len(token) < 16 * 1024
    return token


@pytest.fixture(params=["secret", "pem", "jwks"])
def verifier_app(request, rsa_key: SigningKey, jwks_server) -> tuple[App, str, object]:
    """(app, kind, signer): an app behind jwt_auth with each kind of key; signer(claims) -> token."""
    kind = request.param
    checks = {"issuer": "https://issuer.example.com", "audience": "orders-api"}  # what `claims()` signs
    if kind == "secret":
        middleware = jwt_auth(secret=SECRET, **checks)
        signer = lambda payload: jwt.encode(payload, SECRET, algorithm="HS256")  # noqa: E731
    elif kind == "pem":
        middleware = jwt_auth(public_key=rsa_key.public_pem, **checks)
        signer = rsa_key.sign
    else:
        jwks_server.publish(rsa_key)
        middleware = jwt_auth(jwks_url=jwks_server.url, **checks)
        signer = rsa_key.sign
    app = App(name="hostile-tokens")
    app.use(middleware)

    @app.get("/me")
    def me(ctx: Context) -> dict:
        return {"sub": ctx.claims["sub"]}

    return app, kind, signer


@pytest.mark.parametrize("source", ["rest", "http", "alb", "url"])
def test_deeply_nested_jwt_header_is_401_from_every_verifier(verifier_app, source, caplog) -> None:
    app, _, _ = verifier_app
    with caplog.at_level(logging.INFO, logger="lift"):
        response = TestClient(app, source=source).get(
            "/me", headers={"Authorization": f"Bearer {deeply_nested_header_token()}"}
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("claim", ["exp", "nbf"])
def test_signed_token_with_string_time_claim_is_401_every_time(verifier_app, claim) -> None:
    app, _, sign = verifier_app
    now = int(time.time())
    value = str(now + 3600) if claim == "exp" else str(now - 60)
    token = sign(claims(**{claim: value}))
    client = TestClient(app)
    for _ in range(2):  # the first answer, and the one a verified-token cache would give
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"


def test_numeric_time_claims_still_verify_and_are_cached(verifier_app) -> None:
    app, _, sign = verifier_app
    token = sign(claims(nbf=int(time.time()) - 5, exp=time.time() + 600.5))  # float exp is a NumericDate too
    client = TestClient(app)
    for _ in range(2):
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json() == {"sub": "user-123"}
