"""API Gateway Lambda authorizers: REST TOKEN/REQUEST, HTTP API payload 1.0/2.0, WebSocket $connect."""

from __future__ import annotations

import time

import jwt
import pytest

from lift import App, Context
from lift.auth import ClaimMap, JWTVerifier, Principal
from lift.auth.gateway import gateway_principal
from lift.errors import Forbidden, Unauthorized, UnmatchedEvent
from lift.sources import source_of
from lift.sources.authorizer import AuthorizerRequest
from lift.testing import events, lambda_context

ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"


def _app(seen: list | None = None, **options) -> App:
    app = App()

    @app.authorizer(**options)
    def authorize(ctx: Context, body: AuthorizerRequest) -> Principal:
        if seen is not None:
            seen.append((ctx.source, ctx.record is body, body.type, body.version))
        token = body.bearer_token
        if token == "deny":
            raise Forbidden("not for you")
        if token != "allow":
            raise Unauthorized("bad token")
        return Principal(user_id="u-1", tenant_id="t-9", roles=frozenset({"admin", "ops"}), scopes=frozenset({"read"}))

    return app


def _allow(resource: str, context: dict | None = None, principal_id: str = "u-1") -> dict:
    answer = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
    }
    if context is not None:
        answer["context"] = context
    return answer


CONTEXT = {"sub": "u-1", "tenant_id": "t-9", "roles": "admin ops", "scope": "read"}


def test_rest_token_authorizer_answers_an_allow_policy_for_the_whole_stage() -> None:
    seen: list = []
    event = events.apigw_token_authorizer("Bearer allow", method="GET", path="/pets/1")
    assert source_of(event) == "authorizer"
    out = _app(seen).handler(event, lambda_context())
    assert out == _allow(f"{ARN_PREFIX}/prod/*", CONTEXT)
    assert seen == [("authorizer", True, "TOKEN", None)]


def test_rest_request_authorizer_is_no_longer_served_as_an_http_request() -> None:
    app = _app(resource="method")

    @app.get("/pets")
    def pets() -> dict:
        raise AssertionError("an authorizer request must not reach the HTTP routes")

    event = events.apigw_request_authorizer("GET", "/pets", headers={"Authorization": "Bearer allow"})
    assert "httpMethod" in event and "resource" in event  # what made Lift take it for a REST request
    assert app.handler(event, lambda_context()) == _allow(f"{ARN_PREFIX}/prod/GET/pets", CONTEXT)


def test_the_context_is_what_the_api_side_reads_back_as_the_principal() -> None:
    out = _app().handler(events.apigw_token_authorizer("Bearer allow"), lambda_context())
    # API Gateway passes the context (and principalId) to the API's integration in requestContext.authorizer
    api_event = events.apigw_rest("GET", "/pets")
    api_event["requestContext"]["authorizer"] = {**out["context"], "principalId": out["principalId"]}
    principal = gateway_principal(api_event, ClaimMap())
    assert principal is not None
    assert (principal.user_id, principal.tenant_id) == ("u-1", "t-9")
    assert principal.roles == {"admin", "ops"} and principal.scopes == {"read"}


def test_unauthorized_fails_with_the_message_api_gateway_turns_into_401() -> None:
    with pytest.raises(Exception) as info:
        _app().handler(events.apigw_token_authorizer("Bearer nope"), lambda_context())
    assert str(info.value) == "Unauthorized"


def test_forbidden_answers_a_deny_policy() -> None:
    out = _app().handler(events.apigw_token_authorizer("Bearer deny"), lambda_context())
    assert out["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{ARN_PREFIX}/prod/*"}
    ]
    assert "context" not in out


def test_http_api_payload_2_gets_a_simple_response() -> None:
    seen: list = []
    app = _app(seen)
    event = events.http_api_authorizer("GET", "/pets", headers={"Authorization": "Bearer allow"})
    assert "rawPath" in event and source_of(event) == "authorizer"
    assert app.handler(event, lambda_context()) == {"isAuthorized": True, "context": CONTEXT}
    refused = events.http_api_authorizer("GET", "/pets", headers={"Authorization": "Bearer nope"})
    assert app.handler(refused, lambda_context()) == {"isAuthorized": False}
    assert seen[0] == ("authorizer", True, "REQUEST", "2.0")


def test_http_api_payload_2_with_iam_policies() -> None:
    app = _app(response="policy")
    event = events.http_api_authorizer("POST", "/orders", headers={"Authorization": "Bearer allow"})
    assert app.handler(event, lambda_context()) == _allow(f"{ARN_PREFIX}/$default/*", CONTEXT)
    refused = events.http_api_authorizer("POST", "/orders", headers={"Authorization": "Bearer nope"})
    assert app.handler(refused, lambda_context())["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_http_api_payload_1_gets_a_policy() -> None:
    event = events.http_api_authorizer("GET", "/pets", headers={"Authorization": "Bearer allow"}, version="1.0")
    assert _app().handler(event, lambda_context()) == _allow(f"{ARN_PREFIX}/$default/*", CONTEXT)


def test_websocket_connect_authorizer_is_not_taken_for_the_connect_route() -> None:
    app = _app()
    connected: list = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        connected.append(ctx)

    event = events.websocket_authorizer(query={"token": "x"}, headers={"Authorization": "Bearer allow"})
    assert source_of(event) == "authorizer"
    assert app.handler(event, lambda_context()) == _allow(f"{ARN_PREFIX}/prod/*", CONTEXT)
    assert connected == []


def test_a_jwt_authorizer_is_three_lines() -> None:
    secret = "a-secret-long-enough-for-hs256-signing"
    app = App()
    verifier = JWTVerifier(secret=secret, issuer="https://issuer.example")

    @app.authorizer()
    def authorize(body: AuthorizerRequest) -> dict:
        return verifier.verify(body.bearer_token or "")

    claims = {"sub": "user-7", "iss": "https://issuer.example", "exp": int(time.time()) + 60, "roles": ["a", "b"]}
    token = jwt.encode(claims, secret, algorithm="HS256")
    out = app.handler(events.apigw_token_authorizer(f"Bearer {token}"), lambda_context())
    assert out["principalId"] == "user-7"
    assert out["context"]["sub"] == "user-7" and out["context"]["roles"] == "a b"  # name lists space separated
    api_event = events.apigw_rest("GET", "/pets")
    api_event["requestContext"]["authorizer"] = {**out["context"], "principalId": out["principalId"]}
    assert gateway_principal(api_event, ClaimMap()).roles == {"a", "b"}  # not '"a"' from a JSON text
    expired = jwt.encode({**claims, "exp": int(time.time()) - 3600}, secret, algorithm="HS256")
    with pytest.raises(Exception, match="^Unauthorized$"):
        app.handler(events.apigw_token_authorizer(f"Bearer {expired}"), lambda_context())


def test_middleware_runs_around_the_authorizer() -> None:
    app = _app()
    calls: list = []

    def mw(ctx, call_next):
        calls.append(ctx.source)
        return call_next(ctx)

    app.use(mw)
    app.handler(events.apigw_token_authorizer("Bearer allow"), lambda_context())
    assert calls == ["authorizer"]


def test_a_failing_authorizer_fails_the_invocation() -> None:
    app = App()

    @app.authorizer()
    def authorize(ctx: Context) -> str:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        app.handler(events.apigw_token_authorizer(), lambda_context())


def test_without_an_authorizer_the_event_reaches_invoke_unchanged() -> None:
    app = App()
    got: list = []

    @app.invoke
    def anything(body: dict) -> str:
        got.append(body)
        return "ok"

    event = events.apigw_request_authorizer("GET", "/pets")
    assert app.handler(event, lambda_context()) == "ok"
    assert got == [event]
    with pytest.raises(UnmatchedEvent):
        App().handler(events.apigw_token_authorizer(), lambda_context())


MALFORMED_ARNS = [5, ["arn"], {"arn": "x"}, None, "", "not-an-arn", "arn:aws:s3:::bucket/key", "arn:aws:execute-api:"]
AUTHORIZER_EVENTS = {
    "rest-token": lambda: events.apigw_token_authorizer("Bearer allow"),
    "rest-request": lambda: events.apigw_request_authorizer(headers={"Authorization": "Bearer allow"}),
    "http-1.0": lambda: events.http_api_authorizer(headers={"Authorization": "Bearer allow"}, version="1.0"),
    "http-2.0": lambda: events.http_api_authorizer(headers={"Authorization": "Bearer allow"}),
    "websocket": lambda: events.websocket_authorizer(headers={"Authorization": "Bearer allow"}),
}


@pytest.mark.parametrize("bad", MALFORMED_ARNS, ids=repr)
@pytest.mark.parametrize("kind", list(AUTHORIZER_EVENTS))
def test_a_malformed_method_or_route_arn_is_denied_with_one_warning(kind: str, bad: object, caplog) -> None:
    """An authorizer request whose methodArn/routeArn is not an execute-api ARN (no AWS service sends
    one) is denied in the API's own format, without running the handler, and logged once."""
    caplog.set_level("INFO", logger="lift")
    seen: list = []
    event = AUTHORIZER_EVENTS[kind]()
    key = "routeArn" if "routeArn" in event else "methodArn"
    event[key] = bad
    out = _app(seen).handler(event, lambda_context(aws_request_id="req-authz"))
    if kind == "http-2.0":
        assert out == {"isAuthorized": False}
    else:
        assert out["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}
        ]
        assert "context" not in out
    assert seen == []  # the handler never saw it
    lines = [r for r in caplog.records if r.name == "lift"]
    assert [r.levelname for r in lines] == ["WARNING"]
    assert "req-authz" in lines[0].getMessage() and f"$.{key}" in lines[0].getMessage()
    assert lines[0].request_id == "req-authz"


def test_an_authorizer_request_whose_request_context_is_not_an_object_is_denied(caplog) -> None:
    caplog.set_level("INFO", logger="lift")
    event = events.http_api_authorizer(headers={"Authorization": "Bearer allow"}, version="1.0")
    event["requestContext"] = "prod"
    out = _app().handler(event, lambda_context(aws_request_id="req-rc"))
    assert out["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert [r.levelname for r in caplog.records if r.name == "lift"] == ["WARNING"]
    assert "$.requestContext" in caplog.records[-1].getMessage()


def test_a_simple_response_authorizer_denies_a_malformed_rest_arn_with_its_own_format() -> None:
    event = events.http_api_authorizer(headers={"Authorization": "Bearer allow"})
    event["routeArn"] = 42
    assert _app(response="policy").handler(event, lambda_context())["policyDocument"]["Statement"][0]["Effect"] == (
        "Deny"
    )
    assert _app(response="simple").handler(event, lambda_context()) == {"isAuthorized": False}
