"""Auth middleware end to end: AWS-shaped events through `app.handler`, 401/403 as clients see them."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys
import time

import jwt
import pytest
from jwt_support import JWKSServer, SigningKey, claims

from lift import App, Context
from lift.auth import APIKey, APIKeyVerifier, JWKSClient, JWTVerifier, hash_api_key
from lift.context import Response
from lift.errors import Unauthorized
from lift.middleware.auth import (
    APIKeyAuth,
    GatewayAuth,
    JWTAuth,
    api_key_auth,
    authenticate,
    gateway_auth,
    jwt_auth,
    require_roles,
    require_scopes,
)
from lift.testing import TestClient, events, lambda_context

SECRET = "test-secret-" + "0123456789abcdef" * 4
ISSUER = "https://issuer.example.com"
HTTP_SOURCES = ["rest", "http", "alb", "url"]


def token(**extra) -> str:
    return jwt.encode(claims(**extra), SECRET, algorithm="HS256")


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def make_app(*middleware, route_middleware=()) -> App:
    app = App(name="auth-test")
    app.use(*middleware)

    @app.get("/me", middleware=list(route_middleware))
    def me(ctx: Context) -> dict:
        p = ctx.principal
        if p is None:
            return {"anonymous": True}
        return {
            "user_id": ctx.user_id,
            "tenant_id": p.tenant_id,
            "roles": sorted(p.roles),
            "scopes": sorted(p.scopes),
            "method": p.method,
            "sub_claim": ctx.claims.get("sub"),
        }

    @app.get("/health")
    def health(ctx: Context) -> dict:
        return {"ok": True, "anonymous": ctx.principal is None}

    @app.get("/public/docs")
    def docs(ctx: Context) -> dict:
        return {"ok": True}

    return app


def hs_auth(**options):
    options.setdefault("issuer", ISSUER)
    options.setdefault("audience", "orders-api")
    return jwt_auth(secret=SECRET, **options)


# -- JWT bearer tokens ------------------------------------------------------------------------


@pytest.mark.parametrize("source", HTTP_SOURCES)
def test_valid_bearer_token_sets_principal_user_and_claims(source):
    client = TestClient(make_app(hs_auth()), source=source)
    tok = token(roles=["admin", "editor"], scope="orders:read orders:write")
    response = client.get("/me", headers=bearer(tok))
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "user-123",
        "tenant_id": "acme",
        "roles": ["admin", "editor"],
        "scopes": ["orders:read", "orders:write"],
        "method": "jwt",
        "sub_claim": "user-123",
    }


@pytest.mark.parametrize("source", HTTP_SOURCES)
def test_missing_token_is_401_with_bearer_challenge(source, caplog):
    client = TestClient(make_app(hs_auth()), source=source)
    with caplog.at_level(logging.INFO, logger="lift.auth"):
        response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["request_id"]
    assert any("no credentials" in r.getMessage() for r in caplog.records)


def test_expired_token_is_401_and_the_reason_is_logged_not_returned(caplog):
    client = TestClient(make_app(hs_auth(leeway=0)))
    expired = token(exp=int(time.time()) - 60)
    with caplog.at_level(logging.WARNING, logger="lift.auth"):
        response = client.get("/me", headers=bearer(expired))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "expired" not in response.text.lower()
    assert response.json()["error"]["message"] == "Invalid credentials"
    logged = [r for r in caplog.records if r.name == "lift.auth"]
    assert logged and "ExpiredSignatureError" in logged[-1].getMessage()
    assert logged[-1].request_id == response.json()["error"]["request_id"]
    assert expired not in caplog.text  # the token itself is never logged


@pytest.mark.parametrize("source", HTTP_SOURCES)
@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.e30.",
        "Bearer " + "x" * 20000,
        "Bearer " + token(iss="https://evil.example.com"),
        "Bearer " + token(aud="other-api"),
        "Bearer " + token(nbf=int(time.time()) + 3600),
        "Bearer " + jwt.encode(claims(), "wrong-" * 10, algorithm="HS256"),
        "Bearer " + jwt.encode(claims(), SigningKey("x").private, algorithm="RS256"),
        "Basic dXNlcjpwYXNz",
        "bearer",
        "🙂",
    ],
)
def test_bad_credentials_are_always_401_never_500(source, authorization):
    client = TestClient(make_app(hs_auth()), source=source)
    response = client.get("/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_scheme_is_case_insensitive():
    client = TestClient(make_app(hs_auth()))
    assert client.get("/me", headers={"Authorization": f"bearer {token()}"}).status_code == 200


@pytest.mark.parametrize("source", ["rest", "http", "alb", "url"])
def test_token_from_cookie(source):
    client = TestClient(make_app(hs_auth(token_from=["header:Authorization", "cookie:access_token"])), source=source)
    response = client.get("/me", cookies={"theme": "dark", "access_token": token()})
    assert response.status_code == 200
    assert response.json()["user_id"] == "user-123"


def test_token_from_query_parameter():
    client = TestClient(make_app(hs_auth(token_from="query:access_token")), source="http")
    assert client.get("/me", query={"access_token": token()}).json()["user_id"] == "user-123"
    assert client.get("/me", headers=bearer(token())).status_code == 401  # only the query is configured


def test_skip_paths_exact_and_prefix():
    client = TestClient(make_app(hs_auth(skip=["/health", "/public/*"])))
    assert client.get("/health").json() == {"ok": True, "anonymous": True}
    assert client.get("/public/docs").status_code == 200
    assert client.get("/me").status_code == 401


@pytest.mark.parametrize("source", [*HTTP_SOURCES, "lattice"])
def test_a_skipped_prefix_never_opens_a_parameterised_route_its_path_happens_to_match(source):
    # skip=["/public/*"] compared the path: GET /public/orders ran /{tenant}/orders unauthenticated
    app = make_app(hs_auth(skip=["/public/*", "/health"]))
    app.get("/{tenant}/orders")(lambda tenant: {"orders_of": tenant})
    client = TestClient(app, source=source)
    assert client.get("/public/orders").status_code == 401
    assert client.get("/acme/orders").status_code == 401
    assert client.get("/public/orders", headers=bearer(token())).json() == {"orders_of": "public"}
    assert client.get("/public/docs").json() == {"ok": True}
    assert client.get("/health/").json() == {"ok": True, "anonymous": True}  # (a trailing slash: the same route)


def test_optional_auth_lets_anonymous_through_but_rejects_bad_tokens():
    client = TestClient(make_app(hs_auth(optional=True)))
    assert client.get("/me").json() == {"anonymous": True}
    assert client.get("/me", headers=bearer(token())).json()["user_id"] == "user-123"
    assert client.get("/me", headers=bearer("garbage")).status_code == 401


def test_realm_appears_in_challenge():
    client = TestClient(make_app(hs_auth(realm="orders")))
    assert client.get("/me").headers["www-authenticate"] == 'Bearer realm="orders"'
    bad = client.get("/me", headers=bearer("garbage"))
    assert bad.headers["www-authenticate"] == 'Bearer realm="orders", error="invalid_token"'


def test_custom_claim_names_for_roles_and_tenant():
    from lift.auth import ClaimMap

    mapping = ClaimMap(roles="https://example.com/roles", tenant="org_id", user="email")
    client = TestClient(make_app(hs_auth(claim_map=mapping)))
    tok = token(**{"https://example.com/roles": ["billing"], "org_id": "org-7", "email": "a@example.com"})
    body = client.get("/me", headers=bearer(tok)).json()
    assert (body["user_id"], body["tenant_id"], body["roles"]) == ("a@example.com", "org-7", ["billing"])


# -- JWKS end to end ----------------------------------------------------------------------------


@pytest.fixture
def jwks_server():
    server = JWKSServer()
    yield server
    server.close()


def test_rs256_tokens_from_a_jwks_url_with_rotation(jwks_server):
    old, new = SigningKey("2026-01"), SigningKey("2026-02")
    jwks_server.publish(old)
    client_jwks = JWKSClient(jwks_server.url, min_refetch_interval=0)
    verifier = JWTVerifier(jwks=client_jwks, issuer=ISSUER, audience="orders-api")
    client = TestClient(make_app(jwt_auth(verifier=verifier)), source="http")
    assert client.get("/me", headers=bearer(old.sign(claims()))).json()["user_id"] == "user-123"
    jwks_server.publish(new, old)
    assert client.get("/me", headers=bearer(new.sign(claims(sub="u2")))).json()["user_id"] == "u2"
    assert jwks_server.requests == 2


def test_unreachable_jwks_is_401_not_500():
    verifier = JWTVerifier(jwks=JWKSClient("http://127.0.0.1:9/jwks.json", timeout=0.5), audience="orders-api")
    client = TestClient(make_app(jwt_auth(verifier=verifier)))
    response = client.get("/me", headers=bearer(SigningKey("k").sign(claims())))
    assert response.status_code == 401


# -- API keys -----------------------------------------------------------------------------------


def test_api_key_authenticates_a_service():
    key = secrets.token_urlsafe(32)
    mw = api_key_auth({hash_api_key(key): {"name": "billing-service", "roles": ["service"]}})
    client = TestClient(make_app(mw))
    body = client.get("/me", headers={"X-Api-Key": key}).json()
    assert (body["user_id"], body["method"], body["roles"]) == ("billing-service", "api_key", ["service"])
    wrong = client.get("/me", headers={"X-Api-Key": key[:-1] + ("A" if key[-1] != "A" else "B")})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'ApiKey header="X-Api-Key"'
    assert client.get("/me").status_code == 401


def test_jwt_or_api_key_on_the_same_routes():
    key = secrets.token_urlsafe(32)
    jwt_method = JWTAuth(JWTVerifier(secret=SECRET, issuer=ISSUER, audience="orders-api"))
    key_method = APIKeyAuth(APIKeyVerifier([APIKey(hash=hash_api_key(key), name="etl")]))
    client = TestClient(make_app(authenticate(jwt_method, key_method)))
    assert client.get("/me", headers=bearer(token())).json()["method"] == "jwt"
    assert client.get("/me", headers={"X-Api-Key": key}).json()["method"] == "api_key"
    missing = client.get("/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer, ApiKey header="X-Api-Key"'


# -- API Gateway authorizers --------------------------------------------------------------------


def test_rest_lambda_authorizer_context():
    authorizer = {"principalId": "user|a1b2", "tenant_id": "acme", "roles": "admin,editor", "integrationLatency": 38}
    client = TestClient(make_app(gateway_auth()), source="rest")
    body = client.get("/me", authorizer=authorizer).json()
    assert body == {
        "user_id": "user|a1b2",
        "tenant_id": "acme",
        "roles": ["admin", "editor"],
        "scopes": [],
        "method": "authorizer",
        "sub_claim": None,
    }


def test_rest_cognito_user_pool_authorizer_claims():
    authorizer = {
        "claims": {
            "sub": "7d8ef1a0-1111-2222-3333-444455556666",
            "cognito:groups": "admins,users",
            "custom:tenant_id": "acme",
            "email": "jane@example.com",
            "token_use": "id",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E",
        }
    }
    body = TestClient(make_app(gateway_auth()), source="rest").get("/me", authorizer=authorizer).json()
    assert body["user_id"] == "7d8ef1a0-1111-2222-3333-444455556666"
    assert (body["tenant_id"], body["roles"]) == ("acme", ["admins", "users"])


def test_http_api_jwt_authorizer_claims_and_scopes():
    authorizer = {
        "jwt": {
            "claims": {
                "sub": "auth0|5fe4",
                "iss": "https://tenant.auth0.com/",
                "groups": "[admin users]",
                "tenant_id": "t-9",
                "exp": "1612061676",
            },
            "scopes": ["orders:read", "orders:write"],
        }
    }
    body = TestClient(make_app(gateway_auth()), source="http").get("/me", authorizer=authorizer).json()
    assert (body["user_id"], body["tenant_id"]) == ("auth0|5fe4", "t-9")
    assert body["roles"] == ["admin", "users"]
    assert body["scopes"] == ["orders:read", "orders:write"]


def test_http_api_jwt_authorizer_scope_claim_when_scopes_is_null():
    authorizer = {"jwt": {"claims": {"sub": "u1", "scope": "read:data write:data"}, "scopes": None}}
    body = TestClient(make_app(gateway_auth()), source="http").get("/me", authorizer=authorizer).json()
    assert body["scopes"] == ["read:data", "write:data"]


def test_http_api_lambda_authorizer_context():
    authorizer = {"lambda": {"sub": "svc-1", "tenant_id": "acme", "roles": "reader"}}
    body = TestClient(make_app(gateway_auth()), source="http").get("/me", authorizer=authorizer).json()
    assert (body["user_id"], body["tenant_id"], body["roles"]) == ("svc-1", "acme", ["reader"])


@pytest.mark.parametrize("source", ["http", "url"])
def test_iam_authorization_on_http_api_and_function_url(source):
    authorizer = {
        "iam": {
            "accessKey": "ASIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AROAEXAMPLE:session",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": "arn:aws:sts::123456789012:assumed-role/caller/session",
            "userId": "AROAEXAMPLE:session",
        }
    }
    body = TestClient(make_app(gateway_auth()), source=source).get("/me", authorizer=authorizer).json()
    assert body["user_id"] == "arn:aws:sts::123456789012:assumed-role/caller/session"
    assert body["method"] == "iam"


def test_rest_iam_identity():
    app = make_app(gateway_auth())
    event = events.apigw_rest("GET", "/me")
    event["requestContext"]["identity"].update(
        {
            "accessKey": "ASIAEXAMPLE",
            "accountId": "123456789012",
            "caller": "AROAEXAMPLE:session",
            "user": "AROAEXAMPLE:session",
            "userArn": "arn:aws:sts::123456789012:assumed-role/caller/session",
        }
    )
    result = TestClient(app).invoke(event)
    assert result["statusCode"] == 200
    assert '"method":"iam"' in result["body"].replace(" ", "")


LATTICE_ROLE = "arn:aws:sts::123456789012:assumed-role/orders-caller/057d00f8b51257ba3c853a0f248943cf"


def test_vpc_lattice_iam_caller_is_the_principal():
    # a Lattice (format 2.0) request signed for an AWS_IAM auth policy: Lattice names the caller in
    # requestContext.identity; gateway_auth answered 401 on every Lattice request
    client = TestClient(make_app(gateway_auth()), source="lattice")
    event = client.build_event("GET", "/me")
    event["requestContext"]["identity"].update({"principal": LATTICE_ROLE, "principalOrgID": "o-abc123"})
    result = client.invoke(event)
    assert result["statusCode"] == 200
    body = json.loads(result["body"])
    assert (body["user_id"], body["method"]) == (LATTICE_ROLE, "iam")


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_vpc_lattice_without_iam_identity_is_401_whatever_the_headers_say(version):
    # auth type NONE: Lattice sends only the source VPC; a client's own identity headers are not believed
    client = TestClient(make_app(gateway_auth()), source="lattice")
    spoofed = {"x-amzn-lattice-identity": f"Principal={LATTICE_ROLE}; Type=AWS_IAM", "x-amzn-oidc-identity": "admin"}
    event = client.build_event("GET", "/me", headers=spoofed, version=version)
    if version == "2.0":
        event["requestContext"]["identity"] = {"sourceVpcArn": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0b8276c8"}
    assert client.invoke(event)["statusCode"] == 401


def test_no_authorizer_in_event_is_401():
    for source in ("rest", "http", "url"):
        assert TestClient(make_app(gateway_auth()), source=source).get("/me").status_code == 401


def test_gateway_first_then_jwt():
    client = TestClient(
        make_app(authenticate(GatewayAuth(), JWTAuth(JWTVerifier(secret=SECRET, audience="orders-api"))))
    )
    assert client.get("/me", authorizer={"principalId": "gw-user"}).json()["method"] == "authorizer"
    assert client.get("/me", headers=bearer(token())).json()["method"] == "jwt"


# -- roles and scopes ---------------------------------------------------------------------------


def test_require_roles_all_and_any():
    admin_only = TestClient(make_app(hs_auth(), route_middleware=[require_roles("admin", "billing")]))
    any_role = TestClient(make_app(hs_auth(), route_middleware=[require_roles("admin", "billing", match="any")]))
    just_admin = bearer(token(roles=["admin"]))
    denied = admin_only.get("/me", headers=just_admin)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    assert admin_only.get("/me", headers=bearer(token(roles=["admin", "billing"]))).status_code == 200
    assert any_role.get("/me", headers=just_admin).status_code == 200
    assert any_role.get("/me", headers=bearer(token(roles=["viewer"]))).status_code == 403


def test_require_scopes_403_with_insufficient_scope_challenge():
    client = TestClient(make_app(hs_auth(), route_middleware=[require_scopes("orders:write")]))
    denied = client.get("/me", headers=bearer(token(scope="orders:read")))
    assert denied.status_code == 403
    assert denied.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="orders:write"'
    assert client.get("/me", headers=bearer(token(scp=["orders:write"]))).status_code == 200


def test_require_without_authentication_is_401():
    client = TestClient(make_app(route_middleware=[require_roles("admin")]))
    response = client.get("/me")
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


def test_group_roles_from_gateway_context():
    app = App(name="groups")
    app.use(gateway_auth())
    admin = app.group("/admin", middleware=[require_roles("admins")])

    @admin.get("/stats")
    def stats(ctx: Context) -> dict:
        return {"by": ctx.user_id}

    client = TestClient(app, source="rest")
    ok = client.get("/admin/stats", authorizer={"claims": {"sub": "u1", "cognito:groups": "admins"}})
    assert ok.json() == {"by": "u1"}
    no = client.get("/admin/stats", authorizer={"claims": {"sub": "u2", "cognito:groups": "users"}})
    assert no.status_code == 403


# -- WebSocket $connect -------------------------------------------------------------------------


def ws_app(mw) -> App:
    app = App(name="ws")
    app.use(mw)

    @app.websocket("$connect")
    def connect(ctx: Context) -> dict:
        return {"user": ctx.user_id, "tenant": ctx.principal.tenant_id if ctx.principal else None}

    @app.websocket("$default")
    def message(ctx: Context) -> dict:
        return {"user": ctx.user_id}

    return app


def test_websocket_connect_with_token_in_query_string():
    app = ws_app(hs_auth(token_from=["header:Authorization", "query:token"]))
    result = app.handler(events.websocket_connect(query={"token": token()}), lambda_context())
    assert result["statusCode"] == 200
    assert result["body"] == '{"user":"user-123","tenant":"acme"}'


def test_websocket_connect_with_token_in_header():
    app = ws_app(hs_auth())
    result = app.handler(events.websocket_connect(headers={"Authorization": f"Bearer {token()}"}), lambda_context())
    assert result["statusCode"] == 200 and '"user-123"' in result["body"]


def test_websocket_connect_without_or_with_bad_token_is_rejected():
    app = ws_app(hs_auth(token_from="query:token"))
    missing = app.handler(events.websocket_connect(), lambda_context())
    assert missing["statusCode"] == 401
    assert missing["headers"]["WWW-Authenticate"] == "Bearer"
    forged = app.handler(events.websocket_connect(query={"token": token(aud="other-api")}), lambda_context())
    assert forged["statusCode"] == 401
    assert forged["headers"]["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_websocket_messages_after_connect_pass_without_credentials():
    app = ws_app(hs_auth(token_from="query:token"))
    result = app.handler(events.websocket_message({"action": "ping"}), lambda_context())
    assert result["statusCode"] == 200 and result["body"] == '{"user":null}'


def test_middleware_called_directly_raises_unauthorized_with_challenge():
    mw = hs_auth(token_from="query:token")
    ctx = Context(App(name="direct"), events.websocket_connect(), lambda_context(), "websocket")
    with pytest.raises(Unauthorized) as info:
        mw(ctx, lambda c: Response({"ok": True}))
    assert info.value.headers["WWW-Authenticate"] == "Bearer"


# -- event sources -----------------------------------------------------------------------------


def test_queue_records_pass_through_auth_and_tenancy():
    from lift.middleware.tenancy import tenancy

    app = App(name="worker")
    app.use(hs_auth(), tenancy())
    seen = []

    @app.sqs("orders")
    def on_order(ctx: Context, body: dict) -> None:
        seen.append((body["id"], ctx.principal, ctx.tenant_id))

    result = app.handler(events.sqs("orders", [{"id": 1}, {"id": 2}]), lambda_context())
    assert result == {"batchItemFailures": []}
    assert seen == [(1, None, None), (2, None, None)]


# -- import cost and missing extra ---------------------------------------------------------------


def test_importing_auth_middleware_does_not_import_pyjwt_or_cryptography():
    code = "import sys, lift.middleware.auth, lift.auth; print('jwt' in sys.modules, 'cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_missing_pyjwt_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jwt", None)
    with pytest.raises(ImportError, match=r"lift-lambda\[jwt\]"):
        jwt_auth(secret=SECRET)
