"""ALB OIDC: `x-amzn-oidc-data` believed only when the configured load balancer signed it, on ALB events.

Tokens are made as an ALB makes them (ES256, `signer` and `kid` in the header, base64 segments with
their `=` padding); the public key is served as PEM by a real HTTP server, like the regional endpoint.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt_support import SigningKey

from lift import App, Context
from lift.auth.alb_oidc import ALBOIDCVerifier
from lift.middleware.auth import alb_oidc_auth
from lift.testing import TestClient
from tests.store_time import ManualClock

ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/orders/50dc6c495c0c9188"
KID = "3f1c8d2e-7a44-4b1e-9b0a-1d2c3e4f5a6b"


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # the ALB keeps the '=' padding


def alb_token(key: SigningKey, signer: str = ALB, kid: str = KID, **claims: object) -> str:
    now = int(time.time())
    header = {"typ": "JWT", "kid": kid, "alg": "ES256", "iss": "https://idp.example.com", "client": "c1"}
    header.update(signer=signer, exp=now + 120)
    body = {"sub": "user-7", "email": "ana@example.com", "exp": now + 120, "iss": "https://idp.example.com"}
    body.update(claims)
    signing_input = _segment(json.dumps(header).encode()) + "." + _segment(json.dumps(body).encode())
    r, s = decode_dss_signature(key.private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + _segment(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@pytest.fixture
def alb_key(jwks_server):
    key = SigningKey(KID, "ES256")
    jwks_server.pems = {KID: key.public_pem}
    return key


def make_app(jwks_server, **options) -> tuple[App, list[str]]:
    seen: list[str] = []
    app = App(name="alb")
    key_url = jwks_server.url.rsplit("/", 2)[0] + "/{kid}"
    app.use(alb_oidc_auth(ALB, key_url=key_url, **options))

    @app.get("/me")
    def me(ctx: Context) -> dict:
        seen.append(ctx.user_id)
        return {"user": ctx.user_id, "email": ctx.claims["email"], "method": ctx.principal.method}

    return app, seen


def test_the_user_the_alb_signed_in_is_believed(jwks_server, alb_key):
    app, seen = make_app(jwks_server)
    client = TestClient(app, source="alb")
    for _ in range(2):
        response = client.get("/me", headers={"x-amzn-oidc-data": alb_token(alb_key)})
        assert response.status_code == 200, response.body
        assert response.json() == {"user": "user-7", "email": "ana@example.com", "method": "alb_oidc"}
    assert jwks_server.requests == 1  # a kid names one key for good: fetched once


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda key: alb_token(SigningKey(KID, "ES256")), id="signed-with-another-key"),
        pytest.param(lambda key: alb_token(key, signer=ALB.replace("orders", "other")), id="another-alb"),
        pytest.param(lambda key: alb_token(key, exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda key: alb_token(key, kid="../../evil"), id="path-in-kid"),
        pytest.param(lambda key: alb_token(key, kid=".."), id="dots-as-kid"),
        pytest.param(lambda key: alb_token(key, exp="9999999999"), id="exp-as-text"),
        pytest.param(lambda key: alb_token(key)[:-8] + "AAAAAAA=", id="tampered-signature"),
        pytest.param(lambda key: "not.a.jwt", id="garbage"),
    ],
)
def test_a_forged_or_stale_header_is_a_401(jwks_server, alb_key, forge, request):
    app, seen = make_app(jwks_server)
    response = TestClient(app, source="alb").get("/me", headers={"x-amzn-oidc-data": forge(alb_key)})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert seen == []
    assert jwks_server.requests <= 1  # never a fetch per made-up key id or signer
    if "kid" in request.node.callspec.id or "another-alb" in request.node.callspec.id:
        assert jwks_server.requests == 0  # refused before anything is fetched


@pytest.mark.parametrize("source", ["url", "rest", "http"])
def test_the_header_is_not_believed_on_other_sources(jwks_server, alb_key, source):
    """On a function URL or API Gateway the header is whatever the client sent, even a token an ALB
    once signed (replayed): nobody is authenticated, 401."""
    app, seen = make_app(jwks_server)
    response = TestClient(app, source=source).get("/me", headers={"x-amzn-oidc-data": alb_token(alb_key)})
    assert response.status_code == 401
    assert seen == [] and jwks_server.requests == 0


def test_concurrent_cold_requests_fetch_the_key_once(jwks_server, alb_key):
    app, seen = make_app(jwks_server)
    client = TestClient(app, source="alb")
    jwks_server.hold = threading.Event()
    statuses: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: statuses.append(
                client.get("/me", headers={"x-amzn-oidc-data": alb_token(alb_key)}).status_code
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while jwks_server.requests == 0 and time.monotonic() < deadline:  # the first fetch is being answered
        time.sleep(0.01)
    jwks_server.hold.set()
    for thread in threads:
        thread.join(10)
    assert statuses == [200] * 8
    assert jwks_server.requests == 1


def test_a_key_that_cannot_be_fetched_is_not_asked_for_again_at_once(jwks_server, alb_key):
    jwks_server.pems = {}  # the endpoint does not know the kid (yet)
    clock = ManualClock(1000.0)
    app, seen = make_app(jwks_server, clock=clock, retry_unknown_after=30)
    client = TestClient(app, source="alb")
    token = {"x-amzn-oidc-data": alb_token(alb_key)}
    assert client.get("/me", headers=token).status_code == 401
    assert client.get("/me", headers=token).status_code == 401
    assert jwks_server.requests == 1
    jwks_server.pems = {KID: alb_key.public_pem}
    clock.advance(31)
    assert client.get("/me", headers=token).status_code == 200
    assert jwks_server.requests == 2


def test_configuration_is_checked_when_the_app_starts():
    with pytest.raises(ValueError, match="ARN"):
        ALBOIDCVerifier("orders-alb")
    with pytest.raises(ValueError, match="https"):
        ALBOIDCVerifier(ALB, key_url="http://keys.example.com/{kid}")
    with pytest.raises(ValueError, match="kid"):
        ALBOIDCVerifier(ALB, key_url="https://keys.example.com/key.pem")
    assert ALBOIDCVerifier(ALB).key_url == "https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}"
