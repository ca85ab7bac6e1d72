"""The verbatim AWS sample events in tests/core/events, routed to registered routes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import msgspec
import pytest

from lift import App, Context, Response
from lift.middleware import cors, request_id
from lift.sources import source_of
from lift.testing import lambda_context

EVENTS = Path(__file__).resolve().parent / "events"


def load_event(name: str) -> dict:
    """A fresh copy of a verbatim AWS sample event."""
    return json.loads((EVENTS / name).read_text())


class TestBody(msgspec.Struct):
    __test__ = False
    test: str


@pytest.fixture
def app() -> App:
    app = App()

    @app.post("/path/to/resource")
    def resource(ctx: Context, body: TestBody) -> dict:
        return {
            "source": ctx.source,
            "path": ctx.path,
            "test": body.test,
            "query": ctx.query.to_dict(),
            "request_id": ctx.request_id,
        }

    @app.route("/my/path", methods=["GET", "POST"])
    def my_path(ctx: Context) -> Response:
        data = {
            "source": ctx.source,
            "method": ctx.method,
            "body": ctx.body.decode(),
            "query": ctx.query.to_dict(),
            "header2": ctx.headers.getall("Header2"),
            "header1": ctx.headers.get("HEADER1"),
            "request_id": ctx.request_id,
        }
        resp = Response.json(data)
        resp.set_cookie("seen", "1")
        return resp

    @app.get("/")
    def root(ctx: Context) -> dict:
        return {
            "root": True,
            "cookies": ctx.request.cookies,
            "host": ctx.headers.get("host"),
            "ip": ctx.request.source_ip,
        }

    @app.get("/nodejs-apig-function-1G3XMPLZXVXYI")
    def named_stage(ctx: Context) -> dict:
        return {"path": ctx.path, "cookies": ctx.request.cookies, "ip": ctx.request.source_ip}

    @app.get("/lambda")
    def lambda_route(ctx: Context) -> Response:
        return Response.html("<h1>Hello from Lambda!</h1>")

    @app.get("/todos")
    def todos(ctx: Context) -> list:
        return [{"user_agent": ctx.headers.get("User-Agent"), "proto": ctx.headers.get("x-forwarded-proto")}]

    return app


def _invoke(app: App, name: str) -> tuple[dict, dict | None]:
    event = load_event(name)
    out = app.handler(event, lambda_context(aws_request_id=f"lambda-{name}"))
    body = out.get("body")
    try:
        return out, json.loads(body) if body and not out.get("isBase64Encoded") else None
    except ValueError:
        return out, None


def test_sources_are_detected() -> None:
    expected = {
        "rest_proxy_sam.json": "rest",
        "rest_root_lambda_docs.json": "rest",
        "rest_v1_http_api_docs.json": "rest",
        "http_v2_docs.json": "http",
        "http_v2_named_stage.json": "http",
        "http_v2_sam.json": "http",
        "alb_lambda_docs.json": "alb",
        "alb_multi_value.json": "alb",
        "function_url_docs.json": "url",
    }
    assert {name: source_of(load_event(name)) for name in expected} == expected


def test_rest_proxy_sample_routes_to_path_to_resource(app: App) -> None:
    out, data = _invoke(app, "rest_proxy_sam.json")
    assert out["statusCode"] == 200
    assert data == {
        "source": "rest",
        "path": "/path/to/resource",
        "test": "body",
        "query": {"foo": ["bar"]},
        "request_id": "lambda-rest_proxy_sam.json",
    }
    assert out["headers"]["Content-Type"] == "application/json"
    assert out["isBase64Encoded"] is False


def test_rest_root_sample(app: App) -> None:
    out, data = _invoke(app, "rest_root_lambda_docs.json")
    assert out["statusCode"] == 200
    assert data["root"] is True
    assert data["cookies"] == {"s_fid": "7AABXMPL1AFD9BBF-0643XMPL09956DE2", "regStatus": "pre-register"}
    assert data["ip"] == "52.255.255.12"


def test_rest_v1_sample_from_http_api_docs(app: App) -> None:
    out, data = _invoke(app, "rest_v1_http_api_docs.json")
    assert out["statusCode"] == 200
    assert data["body"] == "Hello from Lambda!"
    assert data["query"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert data["header2"] == ["value1", "value2"] and data["header1"] == "value1"
    assert out["multiValueHeaders"]["Set-Cookie"][0].startswith("seen=1;")


def test_http_v2_sample_from_docs(app: App) -> None:
    out, data = _invoke(app, "http_v2_docs.json")
    assert out["statusCode"] == 200
    assert data["source"] == "http" and data["method"] == "POST"
    assert data["body"] == "Hello from Lambda"
    assert data["query"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert data["header2"] == ["value1", "value2"]
    assert out["cookies"][0].startswith("seen=1;")


def test_http_v2_named_stage_sample(app: App) -> None:
    out, data = _invoke(app, "http_v2_named_stage.json")
    assert out["statusCode"] == 200
    assert data == {
        "path": "/nodejs-apig-function-1G3XMPLZXVXYI",
        "cookies": {"s_fid": "7AABXMPL1AFD9BBF-0643XMPL09956DE2", "regStatus": "pre-register"},
        "ip": "205.255.255.176",
    }


def test_http_v2_sam_sample_with_base64_body(app: App) -> None:
    out, data = _invoke(app, "http_v2_sam.json")
    assert out["statusCode"] == 200
    assert data["path"] == "/path/to/resource" and data["test"] == "body"


def test_alb_sample(app: App) -> None:
    out = app.handler(load_event("alb_lambda_docs.json"), lambda_context())
    assert out == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "headers": {"Content-Type": "text/html; charset=utf-8"},
        "body": "<h1>Hello from Lambda!</h1>",
    }


def test_alb_multi_value_sample(app: App) -> None:
    out, data = _invoke(app, "alb_multi_value.json")
    assert out["statusCode"] == 200 and out["statusDescription"] == "200 OK"
    assert data == [{"user_agent": "curl/7.79.1", "proto": "http"}]
    assert out["multiValueHeaders"] == {"Content-Type": ["application/json"]}
    assert "headers" not in out


def test_function_url_sample(app: App) -> None:
    out, data = _invoke(app, "function_url_docs.json")
    assert out["statusCode"] == 200
    assert data["source"] == "url" and data["body"] == "Hello from client!"
    assert data["query"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert out["cookies"][0].startswith("seen=1;")


@pytest.mark.parametrize(
    "name",
    [
        "rest_proxy_sam.json",
        "http_v2_docs.json",
        "alb_lambda_docs.json",
        "function_url_docs.json",
        "rest_root_lambda_docs.json",
    ],
)
def test_samples_get_404_and_request_id_on_unknown_paths(name: str) -> None:
    app = App()
    app.use(request_id(), cors("*"))
    app.get("/somewhere-else")(lambda: {})
    event = load_event(name)
    out = app.handler(event, lambda_context(aws_request_id="rid-sample"))
    assert out["statusCode"] in (404, 405)
    headers = out.get("headers") or {k: v[0] for k, v in out.get("multiValueHeaders", {}).items()}
    assert headers["X-Request-Id"] == "rid-sample"
    assert json.loads(out["body"])["error"]["request_id"] == "rid-sample"


def test_rest_sample_with_a_typed_body_that_fails_validation() -> None:
    class Strict(msgspec.Struct):
        test: int

    app = App()

    def handler(body) -> dict:
        return {}

    handler.__annotations__ = {"body": Strict}
    app.post("/path/to/resource")(handler)
    out = app.handler(load_event("rest_proxy_sam.json"), lambda_context())
    assert out["statusCode"] == 422
    assert json.loads(out["body"])["error"]["details"][0]["path"] == "$.test"
    assert base64.b64decode(load_event("rest_proxy_sam.json")["body"]) == b'{"test":"body"}'
