"""Hostile and malformed HTTP events: each gets a 4xx in its source's format, never a 500 or an exception.

Deeply nested JSON, invalid base64, event fields of the wrong type, and random events (hypothesis)
through `app.handler` for the four HTTP sources (REST, HTTP API, ALB, function URLs).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import msgspec
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift import App, Context
from lift.middleware import cors, request_id, security_headers
from lift.testing import TestClient, events

SOURCES = ["rest", "http", "alb", "url"]
BUILDERS = {"rest": events.apigw_rest, "http": events.apigw_http, "alb": events.alb, "url": events.function_url}
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000  # ~6 KB, 1,000 levels
DEEP_ARRAY = "[" * 1000 + "]" * 1000  # 2 KB, 1,000 levels


def decoder_rejects(text: str) -> bool:
    """Whether this interpreter's msgspec refuses `text` as too deep (3.11 does at 1,000 levels;
    3.12 and 3.13 raised the C recursion limit its decoder follows, and parse it)."""
    try:
        msgspec.json.decode(text)
    except RecursionError:
        return True
    return False


class Item(msgspec.Struct):
    name: str
    qty: int = 1


def make_app() -> App:
    app = App(name="hostile-http")
    app.use(request_id(), cors(), security_headers())

    @app.post("/items", status=201)
    def create(body: Item) -> dict:
        return {"name": body.name}

    @app.post("/any")
    def anything(body: Any) -> dict:
        return {"type": type(body).__name__}

    @app.post("/json")
    def raw_json(ctx: Context) -> dict:
        return {"type": type(ctx.request.json()).__name__}

    @app.get("/items/{item_id}")
    def read(ctx: Context, item_id: int) -> dict:
        request = ctx.request
        return {
            "id": item_id,
            "query": request.query.to_dict(),
            "headers": len(request.headers),
            "cookies": request.cookies,
            "ip": request.source_ip,
            "url": request.url,
        }

    return app


APP = make_app()


def call(event: dict[str, Any]) -> dict[str, Any]:
    return APP.handler(event, None)


def assert_source_shape(result: Any, source: str) -> None:
    """The response dict the source's service expects, with a status below 500."""
    assert type(result) is dict
    assert type(result["statusCode"]) is int and result["statusCode"] < 500, result
    assert type(result["body"]) is str
    assert type(result["isBase64Encoded"]) is bool
    if source == "alb":
        assert result["statusDescription"].startswith(str(result["statusCode"]))
    assert "headers" in result or "multiValueHeaders" in result


@pytest.fixture
def error_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="lift")
    return caplog


def errors_in(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(("path", "body"), [("/items", DEEP_OBJECT), ("/any", DEEP_ARRAY), ("/json", DEEP_OBJECT)])
def test_deeply_nested_json_body_is_400_without_an_error_log(source, path, body, error_logs) -> None:
    response = TestClient(APP, source=source).post(path, body=body, headers={"Content-Type": "application/json"})
    if not decoder_rejects(body):  # Python 3.12+: msgspec's depth limit follows the C recursion limit
        assert response.status_code in (200, 201, 422) and errors_in(error_logs) == []  # parsed: no 500
        return
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert error["details"][0]["message"] == "JSON nested too deeply"
    assert errors_in(error_logs) == []


class PydanticItem(pydantic.BaseModel):
    name: str


def test_deeply_nested_json_body_is_400_for_pydantic_models_too() -> None:
    app = App()

    @app.post("/p")
    def create(body: PydanticItem) -> dict:
        return {}

    response = TestClient(app).post("/p", body=DEEP_OBJECT, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("body", ["abc", "!!!!", "eyJuYW1lIjoieCJ9!", "eyJu YW1lIjoieCJ9"])
def test_invalid_base64_body_is_400(source, body, error_logs) -> None:
    event = BUILDERS[source]("POST", "/items", body='{"name": "x"}', headers={"Content-Type": "application/json"})
    event["body"], event["isBase64Encoded"] = body, True
    result = call(event)
    assert_source_shape(result, source)
    assert result["statusCode"] == 400
    assert msgspec.json.decode(result["body"])["error"]["code"] == "invalid_base64"
    assert errors_in(error_logs) == []


@pytest.mark.parametrize("source", SOURCES)
def test_valid_base64_body_still_decodes(source) -> None:
    response = TestClient(APP, source=source).post(
        "/items", body=b'{"name": "x"}', headers={"Content-Type": "application/json"}, is_base64=True
    )
    assert response.status_code == 201
    assert response.json() == {"name": "x"}


# (source, field, value): each as the issue found it, and the fields each source reads on the way
WRONG_TYPED = [
    *[(s, "requestContext", "x") for s in SOURCES],
    ("rest", "path", 5),
    ("alb", "path", 5),
    ("rest", "httpMethod", []),
    ("alb", "httpMethod", ["GET"]),
    ("http", "rawPath", 5),
    ("url", "rawPath", {"a": 1}),
    ("http", "routeKey", 5),
    ("rest", "multiValueHeaders", "x"),
    ("http", "headers", ["x"]),
    ("alb", "multiValueHeaders", "x"),
    ("rest", "multiValueQueryStringParameters", [1]),
    ("http", "rawQueryString", 5),
    ("url", "cookies", [1, 2]),
    ("rest", "requestContext.identity", "x"),
    ("http", "requestContext.http", "x"),
    ("url", "requestContext.http.method", 5),
    ("http", "requestContext.stage", 5),
]


_DELETE = object()


def _set(event: dict[str, Any], dotted: str, value: Any) -> None:
    """Replace (or with _DELETE, remove) the field at `dotted` when its parent is still an object."""
    *parents, last = dotted.split(".")
    for key in parents:
        event = event.get(key) if isinstance(event, dict) else None
    if not isinstance(event, dict):  # an earlier mutation replaced the parent
        return
    if value is _DELETE:
        event.pop(last, None)
    else:
        event[last] = value


@pytest.mark.parametrize(("source", "field", "value"), WRONG_TYPED, ids=lambda v: str(v)[:20])
def test_wrong_typed_event_field_is_400_in_the_source_format_and_logged(source, field, value, error_logs) -> None:
    event = BUILDERS[source]("GET", "/items/7?color=red", headers={"Cookie": "a=1", "X-Forwarded-For": "1.2.3.4"})
    if source in ("http", "url"):
        event["routeKey"] = event["requestContext"]["routeKey"] = "GET /items/{item_id}"
        event["pathParameters"] = {"item_id": "7"}
    _set(event, field, value)
    result = call(event)
    assert_source_shape(result, source if field != "requestContext" else "rest" if source == "alb" else source)
    assert result["statusCode"] == 400, result
    error = msgspec.json.decode(result["body"])["error"]
    assert error["code"] == "malformed_event"
    assert error["details"][0]["path"].startswith("$." + field.split(".")[0])
    warnings = [r.getMessage() for r in error_logs.records if r.levelno == logging.WARNING]
    assert any(m.startswith("Malformed") for m in warnings), warnings
    assert errors_in(error_logs) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("httpMethod", []), ("path", 5), ("multiValueHeaders", "x"), ("multiValueQueryStringParameters", [1])],
)
def test_a_malformed_alb_event_with_multi_value_headers_is_answered_in_that_mode(field, value) -> None:
    """A target group with multi-value headers on reads only `multiValueHeaders` in the answer: the 400 too."""
    event = events.alb("GET", "/items/7?color=red", headers={"X-Forwarded-For": "1.2.3.4"}, multi_value=True)
    _set(event, field, value)
    result = call(event)
    assert_source_shape(result, "alb")
    assert result["statusCode"] == 400, result
    assert result["multiValueHeaders"]["Content-Type"] == ["application/json"] and "headers" not in result


@pytest.mark.parametrize("source", SOURCES)
def test_a_well_formed_event_still_reads_every_field(source) -> None:
    response = TestClient(APP, source=source).get(
        "/items/7?color=red", headers={"Cookie": "a=1", "X-Forwarded-For": "1.2.3.4"}
    )
    assert response.status_code == 200
    assert response.json()["query"] == {"color": ["red"]}
    assert response.json()["cookies"] == {"a": "1"}


# -- random events ---------------------------------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_bodies = st.sampled_from(['{"name": "x"}', '{"name": 5}', "{", DEEP_OBJECT, DEEP_ARRAY, "", "bm90IGpzb24=", "!!"])
_paths = st.sampled_from(["/items", "/any", "/json", "/items/7", "/items/x", "/nope", "/items/7?q=1&q=2"])


def _fields(event: dict[str, Any]) -> list[str]:
    """Every field a mutation may replace or remove: top-level keys and those of requestContext (and
    its http), but the keys that make an event HTTP at all (without them it is a direct invoke)."""
    fields = [k for k in event if k not in ("httpMethod", "rawPath")]
    ctx = event.get("requestContext")
    if isinstance(ctx, dict):
        fields += [f"requestContext.{k}" for k in ctx]
        if isinstance(ctx.get("http"), dict):
            fields += [f"requestContext.http.{k}" for k in ctx["http"]]
    return fields


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(SOURCES),
    method=st.sampled_from(["GET", "POST", "HEAD", "DELETE"]),
    path=_paths,
    body=_bodies,
    b64=st.booleans(),
    data=st.data(),
)
def test_random_http_events_get_a_response_of_their_shape_below_500(source, method, path, body, b64, data) -> None:
    event = BUILDERS[source](method, path, body=body or None, headers={"Content-Type": "application/json"})
    event["isBase64Encoded"] = b64
    for field in data.draw(st.lists(st.sampled_from(_fields(event)), max_size=3, unique=True)):
        _set(event, field, data.draw(_json | st.just(_DELETE)))
    original = copy.deepcopy(event)
    try:
        result = call(event)
    except Exception as exc:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"{type(exc).__name__} escaped app.handler for {original!r}")
    # an ALB event whose requestContext lost its "elb" is a REST event: answered as one
    detected = "alb" if "statusDescription" in result else "rest" if source == "alb" else source
    assert_source_shape(result, detected)
    if result["statusCode"] >= 400 and result["body"]:  # (HEAD answers carry no body)
        assert set(msgspec.json.decode(result["body"])["error"]) == {"code", "message", "request_id", "details"}
