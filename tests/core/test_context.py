"""Context and Request: what a handler sees about its request, for every HTTP source."""

from __future__ import annotations

from typing import Any

import pytest

from lift import App, Context, Response
from lift.context import Headers, QueryParams
from lift.testing import TestClient, events, lambda_context

SOURCES = ["rest", "http", "alb", "url"]


def _client(app: App, source: str) -> TestClient:
    return TestClient(app, source=source, **({"multi_value": True} if source == "alb" else {}))


@pytest.fixture
def echo_app() -> tuple[App, list[Context]]:
    app = App()
    seen: list[Context] = []

    @app.post("/orders/{order_id}/lines/{line}")
    def echo(ctx: Context, order_id: str, line: int) -> dict[str, Any]:
        seen.append(ctx)
        return {"ok": True}

    return app, seen


@pytest.mark.parametrize("source", SOURCES)
def test_request_data_is_visible_on_the_context(echo_app, source: str) -> None:
    app, seen = echo_app
    client = _client(app, source)
    res = client.post(
        "/orders/o-1/lines/3?tag=a&tag=b&single=1",
        json={"qty": 2},
        headers={"X-Multi": ["one", "two"], "X-Custom": "Value"},
        cookies={"session": "abc", "theme": "dark"},
        context=lambda_context(aws_request_id=f"rid-{source}", timeout_ms=10_000),
    )
    assert res.status_code == 200
    ctx = seen[-1]
    assert ctx.method == "POST"
    assert ctx.path == "/orders/o-1/lines/3"
    assert ctx.source == source and ctx.is_http
    assert ctx.route == "/orders/{order_id}/lines/{line}"
    assert ctx.path_params == {"order_id": "o-1", "line": "3"}
    # headers: case-insensitive, every value
    assert ctx.headers.get("x-custom") == ctx.headers.get("X-CUSTOM") == "Value"
    assert "X-Custom" in ctx.headers and "x-missing" not in ctx.headers
    assert ctx.headers.getall("X-Multi") == ["one", "two"]
    assert ctx.headers.get("x-missing", "default") == "default"
    # query: every value
    assert ctx.query.getall("tag") == ["a", "b"]
    assert ctx.query.get("single") == "1"
    assert ctx.query.getall("missing") == []
    # body
    assert ctx.body == b'{"qty":2}'
    assert ctx.request.text == '{"qty":2}'
    assert ctx.json() == {"qty": 2}
    assert ctx.request.content_type == "application/json"
    assert ctx.request.cookies == {"session": "abc", "theme": "dark"}
    assert ctx.request.source_ip == events.SOURCE_IP
    # ids, lambda context, raw event
    assert ctx.request_id == f"rid-{source}"
    assert ctx.lambda_context.aws_request_id == f"rid-{source}"
    assert 0 < ctx.remaining_ms() <= 10_000
    assert ctx.event is client.last_event


def test_raw_event_is_the_event_lambda_passed(echo_app) -> None:
    app, seen = echo_app
    event = events.apigw_rest("POST", "/orders/1/lines/2", body="{}")
    app.handler(event, lambda_context())
    assert seen[-1].event is event
    assert seen[-1].request.event is event


def test_base64_body_is_decoded_to_raw_bytes(echo_app) -> None:
    app, seen = echo_app
    payload = bytes(range(200))
    for source in SOURCES:
        _client(app, source).post(
            "/orders/1/lines/2", body=payload, headers={"Content-Type": "application/octet-stream"}
        )
        assert seen[-1].body == payload, source


def test_request_id_falls_back_to_the_event_then_a_uuid() -> None:
    app = App()
    seen: list[Context] = []
    app.get("/r")(lambda ctx: seen.append(ctx))
    app.handler(events.apigw_rest("GET", "/r", request_id="from-event"), None)
    assert seen[-1].request_id == "from-event"
    event = events.alb("GET", "/r")  # ALB events carry no request id
    app.handler(event, None)
    generated = seen[-1].request_id
    assert len(generated) == 36 and generated == seen[-1].request_id  # stable within the request


def test_remaining_ms_without_a_lambda_context() -> None:
    app = App()
    seen: list[Context] = []
    app.get("/r")(lambda ctx: seen.append(ctx))
    app.handler(events.apigw_rest("GET", "/r"), None)
    assert seen[-1].remaining_ms() > 0


def test_state_is_per_request_and_shared_with_middleware() -> None:
    app = App()

    def remember(ctx: Context, call_next):
        assert ctx.state == {}
        ctx.state["started_by"] = "middleware"
        response = call_next(ctx)
        response.headers["X-Handler-Saw"] = ctx.state["handler_saw"]
        return response

    app.use(remember)

    @app.get("/s")
    def s(ctx: Context) -> dict:
        ctx.state["handler_saw"] = ctx.state["started_by"]
        return {}

    client = TestClient(app)
    for _ in range(2):
        assert client.get("/s").headers["X-Handler-Saw"] == "middleware"


def test_cold_start_is_true_only_on_the_first_invocation_of_an_app() -> None:
    def make() -> tuple[App, list[bool]]:
        app = App()
        flags: list[bool] = []
        app.get("/c")(lambda ctx: flags.append(ctx.cold_start))
        return app, flags

    first_app, first = make()
    client = TestClient(first_app)
    client.get("/c")
    client.get("/c")
    client.get("/does-not-exist")
    client.get("/c")
    assert first == [True, False, False]

    second_app, second = make()
    TestClient(second_app, source="http").get("/c")
    assert second == [True]


def test_cold_start_is_consumed_by_a_404() -> None:
    app = App()
    flags: list[bool] = []
    app.get("/c")(lambda ctx: flags.append(ctx.cold_start))
    TestClient(app).get("/missing")
    TestClient(app).get("/c")
    assert flags == [False]


def test_identity_slots_start_empty_and_middleware_fills_them() -> None:
    app = App()

    def authenticate(ctx: Context, call_next):
        assert (ctx.user_id, ctx.tenant_id, ctx.claims, ctx.principal) == (None, None, None, None)
        ctx.user_id = "u-1"
        ctx.tenant_id = "t-1"
        ctx.claims = {"scope": "read"}
        ctx.principal = object()
        return call_next(ctx)

    app.use(authenticate)
    app.get("/me")(lambda ctx: {"user": ctx.user_id, "tenant": ctx.tenant_id, "claims": ctx.claims})
    assert TestClient(app).get("/me").json() == {"user": "u-1", "tenant": "t-1", "claims": {"scope": "read"}}


def test_invalid_json_from_ctx_json_is_400() -> None:
    app = App()
    app.post("/j")(lambda ctx: ctx.json())
    res = TestClient(app).post("/j", body="{nope", headers={"Content-Type": "application/json"})
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "invalid_json"


def test_empty_body_reads_as_empty_bytes() -> None:
    app = App()
    app.get("/e")(lambda ctx: {"body": ctx.body.decode(), "len": len(ctx.request.body)})
    for source in SOURCES:
        assert TestClient(app, source=source).get("/e").json() == {"body": "", "len": 0}


def test_headers_class_semantics() -> None:
    headers = Headers.from_multi({"Accept": ["a/b", "c/d"], "X-One": ["1"]})
    assert headers["accept"] == "a/b"
    assert headers.getall("ACCEPT") == ["a/b", "c/d"]
    assert sorted(headers) == ["accept", "x-one"] and len(headers) == 2
    joined = Headers.from_single({"Accept": "a/b, c/d", "Date": "Tue, 15 Nov 1994 08:12:31 GMT"}, comma_joined=True)
    assert joined.getall("accept") == ["a/b", "c/d"]
    assert joined.getall("date") == ["Tue, 15 Nov 1994 08:12:31 GMT"]  # never split dates
    with pytest.raises(KeyError):
        headers["missing"]


def test_query_params_class_semantics() -> None:
    query = QueryParams.parse("a=1&a=2&b=&c=x%20y&d=%E2%9C%93")
    assert query.getall("a") == ["1", "2"]
    assert query["a"] == "2"
    assert query.get("b") == ""
    assert query["c"] == "x y" and query["d"] == "\u2713"
    assert query.to_dict() == {"a": ["1", "2"], "b": [""], "c": ["x y"], "d": ["\u2713"]}


def test_context_for_a_non_http_invocation_has_no_request() -> None:
    app = App()
    ctx = app.new_context({"any": "payload"}, lambda_context(), "invoke")
    assert not ctx.is_http
    assert ctx.request is None and ctx.method is None and ctx.path is None
    assert ctx.path_params == {} and ctx.body == b"" and ctx.json() is None
    assert len(ctx.headers) == 0 and len(ctx.query) == 0


def test_response_helpers() -> None:
    resp = Response({"a": 1}, 201, {"X-A": "1"})
    assert resp.status == 201 and resp.json_body() == {"a": 1}
    assert resp.header("content-type") == "application/json" and resp.header("x-a") == "1"
    resp.delete_cookie("old")
    assert resp.cookies[0].startswith("old=;") and "Max-Age=0" in resp.cookies[0]
    explicit = Response("<x/>", content_type="application/xml")
    assert explicit.content_type == "application/xml" and explicit.body == b"<x/>"
    own_header = Response("x", headers={"content-type": "text/csv"})
    assert own_header.headers == {"content-type": "text/csv"}
