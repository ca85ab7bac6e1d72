"""Hostile tokens through `app.handler`: each is a 401 from every verifier, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
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


@pytest.mark.parametrize(("claim", "value"), [("exp", 10**400), ("nbf", -(10**400))], ids=["exp", "nbf"])
def test_signed_token_with_a_time_claim_no_float_holds_is_401_every_time(verifier_app, claim, value) -> None:
    """exp=10**400 (valid JSON, an int Python keeps whole) passed PyJWT's checks, then the verified-token
    cache compared it with a float: the same token's second request was a 500 (OverflowError)."""
    app, _, sign = verifier_app
    token = sign(claims(**{claim: value}))
    client = TestClient(app)
    for _ in range(2):
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text


def test_numeric_time_claims_still_verify_and_are_cached(verifier_app) -> None:
    app, _, sign = verifier_app
    token = sign(claims(nbf=int(time.time()) - 5, exp=time.time() + 600.5))  # float exp is a NumericDate too
    client = TestClient(app)
    for _ in range(2):
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json() == {"sub": "user-123"}


def _hs256_keyed_with(key: bytes) -> str:
    """The algorithm-confusion token: HS256 with the verifier's public key as the HMAC secret
    (built by hand: PyJWT refuses to use a PEM key as an HMAC secret)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = header + "." + _b64(json.dumps(claims()).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _hostile_authorizations(rsa_key: SigningKey) -> dict[str, str]:
    """Authorization values a client may send; none may pass, none may be a 500."""
    body = _b64(json.dumps(claims()).encode())
    not_utf8_header = _b64(b'{"alg":"RS256\xff"}')
    return {
        "alg none": "Bearer " + jwt.encode(claims(), None, algorithm="none"),
        "alg confusion": "Bearer " + _hs256_keyed_with(rsa_key.public_pem),
        "unknown kid (signed by the right key)": "Bearer " + rsa_key.sign(claims(), kid="no-such-key"),
        "header not UTF-8": f"Bearer {not_utf8_header}.{body}.{_b64(b'sig')}",
        "segments not base64": "Bearer !!!.@@@.###",
        "four segments": "Bearer a.b.c.d",
        "non-ASCII": "Bearer \u00e9.\u00e9.\u00e9",
        "oversized (17 KB)": "Bearer " + "a" * (17 * 1024),
        "wrong audience": "Bearer " + rsa_key.sign(claims(aud="another-api")),
        "issuer with a suffix": "Bearer " + rsa_key.sign(claims(iss="https://issuer.example.com.evil")),
        "expired past the leeway": "Bearer " + rsa_key.sign(claims(exp=int(time.time()) - 120)),
    }


@pytest.mark.parametrize("source", ["rest", "http", "alb", "url", "lattice"])
def test_hostile_tokens_are_a_structured_401_with_one_warning(verifier_app, rsa_key, source, caplog) -> None:
    app, kind, _ = verifier_app
    client = TestClient(app, source=source)
    for name, authorization in _hostile_authorizations(rsa_key).items():
        if kind == "pem" and name.startswith("unknown kid"):
            continue  # (one configured key: the kid names nothing, the signature decides)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="lift"):
            response = client.get("/me", headers={"Authorization": authorization})
        assert response.status_code == 401, name
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("unauthorized", "Invalid credentials"), name
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), name
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and warnings[0].name == "lift.auth", (name, warnings)
        assert error["request_id"] in warnings[0].getMessage(), name
        token = authorization.removeprefix("Bearer ")
        assert all(token not in r.getMessage() for r in caplog.records), name
