"""Hostile HTTP events through `app.handler`, as an outside tester sends them.

Text no UTF-8 can carry, nulls where a field is optional, percent-escapes in paths, each Lift error
type, and random mutations of real AWS samples (the corpus, when present) and of the builders'
events: every answer is a response of the source's shape, below 500 for the client's own mistakes,
with the error contract's body; nothing escapes `app.handler`.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift import App, Context
from lift.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    LiftError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from lift.middleware import cors, request_id, security_headers
from lift.sources import source_of
from lift.testing import TestClient, events, lambda_context

SOURCES = ["rest", "http", "alb", "url"]
BUILDERS = {"rest": events.apigw_rest, "http": events.apigw_http, "alb": events.alb, "url": events.function_url}
CORPUS = Path("/work/shared/corpus/events")


class Item(msgspec.Struct):
    name: str


ERRORS: dict[str, LiftError] = {
    "bad_request": BadRequest("bad"),
    "unauthorized": Unauthorized("who"),
    "forbidden": Forbidden("no"),
    "not_found": NotFound("gone"),
    "conflict": Conflict("clash"),
    "validation_failed": ValidationFailed("invalid", details=[{"path": "$.x", "message": "bad"}]),
    "too_many_requests": TooManyRequests("slow down"),
    "teapot": LiftError(418, "teapot", "short and stout", {"spout": 1}),
}


def make_app() -> App:
    app = App(name="hostile")
    app.use(request_id(), cors(), security_headers())

    @app.get("/p/{name}")
    def param(ctx: Context, name: str) -> dict:
        return {"name": name}

    @app.post("/items", status=201)
    def create(body: Item) -> dict:
        return {"name": body.name}

    @app.get("/raise/{kind}")
    def raise_(kind: str) -> dict:
        if kind == "crash":
            raise RuntimeError("secret internals 4111111111111111")
        raise ERRORS[kind]

    @app.route("/{path+}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    def echo(ctx: Context, path: str) -> dict:  # reads every part of the request, echoes what it can
        request = ctx.request
        return {
            "path": path,
            "query": request.query.to_dict(),
            "headers": dict(request.headers.items()),
            "cookies": request.cookies,
            "ip": request.source_ip,
            "url": request.url,
            "content_type": request.content_type,
            "text": request.text,
        }

    return app


APP = make_app()


def assert_answer(result: Any, source: str) -> None:
    """A response dict of the source's shape, below 500, with the error contract when it is an error."""
    assert type(result) is dict, result
    assert type(result["statusCode"]) is int and result["statusCode"] < 500, result
    assert type(result["body"]) is str and type(result["isBase64Encoded"]) is bool
    if source == "alb":
        assert result["statusDescription"].startswith(str(result["statusCode"]))
    if result["statusCode"] >= 400 and result["body"]:
        error = json.loads(result["body"])["error"]
        assert set(error) == {"code", "message", "request_id", "details"} and error["request_id"]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("field", ["body", "path", "header", "query"])
def test_text_no_utf8_can_carry_is_a_400_naming_the_field(source, field, caplog) -> None:
    """JSON may escape a lone surrogate ("\\udcff"); decoded, it is a str UTF-8 cannot encode."""
    caplog.set_level(logging.WARNING, logger="lift")
    event = BUILDERS[source]("POST", "/anything?q=1", body='{"name": "x"}', headers={"X-Tag": "ok"})
    path_key = "rawPath" if source in ("http", "url") else "path"
    headers = event.get("headers") or {}
    if field == "body":
        event["body"] = '{"name": "\udcff"}'
    elif field == "path":
        event[path_key] = "/anything/a\ud800b"
    elif field == "header":
        headers["x-tag"] = headers["X-Tag"] = "\udcff"
        for name in list(event.get("multiValueHeaders") or {}):
            if name.lower() == "x-tag":
                event["multiValueHeaders"][name] = ["\udcff"]
    else:
        for key in ("queryStringParameters", "multiValueQueryStringParameters"):
            if event.get(key):
                event[key] = {"q": ["\udcff"]} if key.startswith("multi") else {"q": "\udcff"}
        if "rawQueryString" in event:
            event["rawQueryString"] = "q=\udcff"
    result = APP.handler(event, lambda_context())
    assert_answer(result, source)
    assert result["statusCode"] == 400
    error = json.loads(result["body"])["error"]
    assert error["code"] == "malformed_event"
    assert error["details"][0]["message"] == "Text is not valid Unicode (a lone surrogate)"
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.WARNING]


@pytest.mark.parametrize("depth", [9, 40, 1500])
@pytest.mark.parametrize("source", ["rest", "http", "url"])
def test_text_no_utf8_can_carry_nested_at_any_depth_is_a_400_naming_its_path(source, depth, caplog) -> None:
    """A lone surrogate deep in an authorizer's context (an HTTP API Lambda authorizer may return
    nested objects), reached by a handler that echoes it: found at any depth, even past the
    recursion limit, and named by a path whose middle levels are counted."""
    caplog.set_level(logging.WARNING, logger="lift")
    app = App(name="deep")

    @app.get("/me")
    def me(ctx: Context) -> dict:
        return {"authorizer": ctx.request.event["requestContext"]["authorizer"]}

    leaf = nested = {}
    for level in range(depth):
        nested = nested.setdefault(f"l{level}", {})
    nested["name"] = "a\udcffb"
    event = BUILDERS[source]("GET", "/me")
    event["requestContext"]["authorizer"] = leaf if source == "rest" else {"lambda": leaf}
    result = app.handler(event, lambda_context())
    assert_answer(result, source)
    assert result["statusCode"] == 400
    error = json.loads(result["body"])["error"]
    assert error["code"] == "malformed_event"
    assert error["details"][0]["message"] == "Text is not valid Unicode (a lone surrogate)"
    path = error["details"][0]["path"]
    prefix = "$.requestContext.authorizer" + ("" if source == "rest" else ".lambda")
    assert path.startswith(prefix + ".l0.l1") and path.endswith(f".l{depth - 1}.name")
    keys = depth + (3 if source == "rest" else 4)  # requestContext, authorizer, (lambda,) l0..., name
    assert len(path) < 200 and (keys <= 16 or f"[...{keys - 12} levels...]" in path)
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.WARNING]


@pytest.mark.parametrize("source", SOURCES)
def test_invalid_utf8_bytes_in_a_base64_json_body_are_a_400(source) -> None:
    event = BUILDERS[source](
        "POST", "/items", body=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    result = APP.handler(event, lambda_context())
    assert_answer(result, source)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("source", ["rest", "alb"])
@pytest.mark.parametrize("empty", [[], None])
def test_a_multi_value_header_or_parameter_without_values_is_absent(source, empty) -> None:
    options = {"multi_value": True} if source == "alb" else {}
    event = BUILDERS[source]("GET", "/anything?a=1&b=2", headers={"X-A": "1", "X-B": "2"}, **options)
    event["multiValueHeaders"] = {"X-A": empty, "X-B": ["2"]}
    event["multiValueQueryStringParameters"] = {"a": empty, "b": ["2"]}
    event.pop("headers", None), event.pop("queryStringParameters", None)
    result = APP.handler(event, lambda_context())
    assert_answer(result, source)
    echoed = json.loads(result["body"])
    assert echoed["headers"] == {"x-b": "2"} and echoed["query"] == {"b": ["2"]}


def test_a_rest_event_behind_a_custom_domain_with_a_null_path_is_not_a_500() -> None:
    """Behind a custom domain the routed path is rebuilt from `resource`; a null `path` is the event's fault."""
    event = events.apigw_rest("GET", "/v1/p/ada", domain="api.example.com", resource="/p/{name}")
    event["pathParameters"] = {"name": "ada"}
    assert json.loads(APP.handler(copy.deepcopy(event), lambda_context())["body"]) == {"name": "ada"}
    event["path"] = None
    result = APP.handler(event, lambda_context())
    assert_answer(result, "rest")


@pytest.mark.parametrize("source", [*SOURCES, "lattice"])
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/p/caf%C3%A9", "café"),
        ("/p/café", "café"),
        ("/p/a%2Fb", "a/b"),
        ("/p/%E2%82%AC%20x", "€ x"),
        ("/p/50%", "50%"),
    ],
)
def test_percent_escapes_in_a_test_client_path_mean_the_same_on_every_source(source, path, name) -> None:
    response = TestClient(APP, source=source).get(path)
    assert response.status_code == 200
    assert response.json() == {"name": name}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", [*ERRORS, "crash"])
def test_each_lift_error_type_keeps_its_status_and_contract_on_every_source(source, kind) -> None:
    result = APP.handler(BUILDERS[source]("GET", f"/raise/{kind}"), lambda_context(aws_request_id="req-" + kind))
    expected = ERRORS.get(kind) or LiftError(500, "internal_error", "Internal server error")
    assert result["statusCode"] == expected.status
    error = json.loads(result["body"])["error"]
    assert error == {
        "code": expected.code,
        "message": expected.message,
        "request_id": "req-" + kind,
        "details": expected.details,
    }
    assert "secret" not in result["body"] and "4111" not in result["body"]


# -- random mutations of real and built events ----------------------------------------------------
def _real_http_samples() -> list[dict[str, Any]]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8-sig"))
        if source_of(event) in SOURCES:
            found.append(event)
    return found


SAMPLES = _real_http_samples() + [
    BUILDERS[s](m, "/p/x?a=1&a=2", body=b, headers={"Content-Type": "application/json", "Cookie": "a=1"})
    for s in SOURCES
    for m, b in (("GET", None), ("POST", '{"name": "x"}'))
]
_text = st.text(max_size=12) | st.sampled_from(["\udcff", "a\ud800b", "%ZZ", "%C3%28", "/../..", "", "\x00"])
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=5,
)
_DROP = object()


def _fields(event: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every field to mutate, three levels down, but those that make the event HTTP at all."""
    found: list[tuple[str, ...]] = []

    def walk(obj: Any, prefix: tuple[str, ...]) -> None:
        if type(obj) is dict and len(prefix) < 3:
            for key, value in obj.items():
                found.append((*prefix, key))
                walk(value, (*prefix, key))

    walk(event, ())
    return [f for f in found if f not in (("httpMethod",), ("rawPath",)) and f[:2] != ("requestContext", "elb")]


@settings(max_examples=250, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(index=st.integers(0, len(SAMPLES) - 1), data=st.data())
def test_mutated_real_http_events_never_get_a_500_or_an_exception(index, data) -> None:
    event = copy.deepcopy(SAMPLES[index])
    for field in data.draw(st.lists(st.sampled_from(_fields(event)), max_size=3, unique=True)):
        parent = event
        for key in field[:-1]:
            parent = parent.get(key) if type(parent) is dict else None
        if type(parent) is dict:
            value = data.draw(_values | st.just(_DROP))
            if value is _DROP:
                parent.pop(field[-1], None)
            else:
                parent[field[-1]] = value
    source = source_of(event)
    if source not in SOURCES:  # a mutation made it another service's event (a WebSocket one): not this test's
        return
    original = copy.deepcopy(event)
    try:
        result = APP.handler(event, lambda_context())
    except Exception as exc:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"{type(exc).__name__}: {exc} escaped app.handler for {original!r}")
    assert_answer(result, "alb" if "statusDescription" in result else source)


@pytest.mark.parametrize("source", SOURCES)
def test_error_details_json_cannot_hold_are_sent_as_text_never_an_escape(source) -> None:
    """`details={"cause": exc}` is easy to write: the error keeps its status, each odd value its text."""
    app = App()

    @app.get("/pay")
    def pay() -> dict:
        raise Conflict("card declined", details={"cause": ValueError("4111111111111111 declined"), "at": {1, 2}})

    result = app.handler(BUILDERS[source]("GET", "/pay"), lambda_context())
    assert result["statusCode"] == 409
    error = json.loads(result["body"])["error"]
    assert error["code"] == "conflict"
    assert error["details"] == {"cause": "411111******1111 declined", "at": [1, 2]}  # cards still masked


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        ('{"name": "a", "name": "b"}', 201, {"name": "b"}),  # duplicate keys: the last one wins, as in most parsers
        ("name=a", 400, "invalid_json"),  # not JSON, sent as JSON
        ("", 422, "validation_failed"),  # a required body that is empty
        ('{"name": 5}', 422, "validation_failed"),
        ('"' + "x" * (7 * 1024 * 1024) + '"', 413, "payload_too_large"),
    ],
    ids=["duplicate-keys", "not-json", "empty", "wrong-type", "7MB"],
)
def test_json_bodies_a_client_gets_wrong_are_4xx_on_every_source(source, body, status, answer) -> None:
    event = BUILDERS[source]("POST", "/items", body=body, headers={"Content-Type": "application/json"})
    result = APP.handler(event, lambda_context())
    assert_answer(result, source)
    assert result["statusCode"] == status
    decoded = json.loads(result["body"])
    assert decoded == answer if status < 400 else decoded["error"]["code"] == answer
