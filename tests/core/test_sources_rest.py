"""API Gateway REST APIs (payload format 1.0): events in, proxy-integration responses out."""

from __future__ import annotations

import base64
import json

import pytest

from lift import App, Context, Response
from lift.sources import source_of
from lift.testing import TestClient, events, lambda_context


@pytest.fixture
def app() -> App:
    app = App()

    @app.route("/users/{user_id}", methods=["GET", "POST"])
    def user(ctx: Context, user_id: str) -> dict:
        return {
            "user_id": user_id,
            "path": ctx.path,
            "query": ctx.query.to_dict(),
            "accept": ctx.headers.getall("accept"),
            "body": ctx.body.decode("latin-1"),
        }

    @app.get("/")
    def root(ctx: Context) -> dict:
        return {"root": True}

    @app.get("/cookies")
    def cookies(ctx: Context) -> Response:
        resp = Response.json({"ok": True})
        resp.set_cookie("a", "1")
        resp.set_cookie("b", "2", secure=False)
        return resp

    @app.get("/image")
    def image(ctx: Context) -> Response:
        return Response.binary(b"GIF89a\x01\x00\x01\x00\x80\xff", "image/gif")

    return app


def test_detected_as_rest() -> None:
    assert source_of(events.apigw_rest("GET", "/x")) == "rest"


def test_multi_value_headers_and_query(app: App) -> None:
    event = events.apigw_rest(
        "GET", "/users/7", headers={"Accept": ["application/json", "text/html"]}, query={"tag": ["a", "b"], "q": "x y"}
    )
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x y"]}
    assert event["queryStringParameters"] == {"tag": "b", "q": "x y"}
    out = app.handler(event, lambda_context())
    assert out["statusCode"] == 200
    data = json.loads(out["body"])
    assert data["accept"] == ["application/json", "text/html"]
    assert data["query"] == {"tag": ["a", "b"], "q": ["x y"]}


def test_single_value_fields_only(app: App) -> None:
    """Events without the multi-value fields (hand-made or older integrations) still work."""
    event = events.apigw_rest("GET", "/users/7", headers={"Accept": "text/plain"}, query={"q": "1"})
    del event["multiValueHeaders"]
    del event["multiValueQueryStringParameters"]
    out = app.handler(event, lambda_context())
    data = json.loads(out["body"])
    assert data["accept"] == ["text/plain"] and data["query"] == {"q": ["1"]}


def test_base64_request_body(app: App) -> None:
    raw = b"\x00\x01binary\xff"
    event = events.apigw_rest("POST", "/users/7", body=raw, headers={"Content-Type": "application/octet-stream"})
    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(raw).decode()
    data = json.loads(app.handler(event, lambda_context())["body"])
    assert data["body"].encode("latin-1") == raw


def test_stage_is_not_part_of_the_routed_path(app: App) -> None:
    event = events.apigw_rest("GET", "/users/9", stage="prod")
    assert event["requestContext"]["path"] == "/prod/users/9"
    data = json.loads(app.handler(event, lambda_context())["body"])
    assert data["path"] == "/users/9"


@pytest.mark.parametrize(
    ("path", "resource", "params"),
    [
        ("/v1/users/5", "/users/{user_id}", {"user_id": "5"}),
        ("/v1/users/5", "/{proxy+}", {"proxy": "users/5"}),
        ("/api/v1/users/5", "/users/{user_id}", {"user_id": "5"}),
        ("/users/5", "/users/{user_id}", {"user_id": "5"}),  # custom domain without a base path
    ],
)
def test_custom_domain_base_path_mapping_is_removed(app: App, path: str, resource: str, params: dict) -> None:
    event = events.apigw_rest("GET", path, domain="api.example.com", resource=resource, path_params=params)
    out = app.handler(event, lambda_context())
    assert out["statusCode"] == 200, out["body"]
    assert json.loads(out["body"])["path"] == "/users/5"


def test_custom_domain_root_resource(app: App) -> None:
    event = events.apigw_rest("GET", "/v1", domain="api.example.com", resource="/", path_params=None)
    out = app.handler(event, lambda_context())
    assert out["statusCode"] == 200 and json.loads(out["body"]) == {"root": True}


def test_configured_base_path() -> None:
    app = App(base_path="/service")
    app.get("/items/{item_id}")(lambda item_id: {"item_id": item_id})
    client = TestClient(app)
    assert client.get("/service/items/3").json() == {"item_id": "3"}
    assert client.get("/service").status_code == 404
    assert client.get("/serviceitems/3").status_code == 404


def test_base_path_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_BASE_PATH", "/svc/")
    app = App()
    app.get("/ping")(lambda: {"pong": True})
    assert TestClient(app).get("/svc/ping").json() == {"pong": True}


def test_response_shape(app: App) -> None:
    out = app.handler(events.apigw_rest("GET", "/users/1"), lambda_context())
    assert set(out) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert out["statusCode"] == 200
    assert out["headers"] == {"Content-Type": "application/json"}
    assert isinstance(out["body"], str) and out["isBase64Encoded"] is False


def test_cookies_go_in_multi_value_set_cookie(app: App) -> None:
    out = app.handler(events.apigw_rest("GET", "/cookies"), lambda_context())
    assert out["multiValueHeaders"] == {
        "Set-Cookie": ["a=1; Path=/; Secure; HttpOnly; SameSite=Lax", "b=2; Path=/; HttpOnly; SameSite=Lax"]
    }
    assert "Set-Cookie" not in out["headers"]


def test_binary_response_is_base64(app: App) -> None:
    out = app.handler(events.apigw_rest("GET", "/image"), lambda_context())
    assert out["isBase64Encoded"] is True
    assert base64.b64decode(out["body"]) == b"GIF89a\x01\x00\x01\x00\x80\xff"
    assert out["headers"]["Content-Type"] == "image/gif"


def test_error_response_shape(app: App) -> None:
    out = app.handler(events.apigw_rest("DELETE", "/users/1", request_id="r-9"), lambda_context(aws_request_id="r-9"))
    assert out["statusCode"] == 405
    assert out["headers"]["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert json.loads(out["body"])["error"]["request_id"] == "r-9"


def test_http_api_payload_v1_is_handled_as_rest(app: App) -> None:
    event = events.apigw_rest("GET", "/users/4")
    event["version"] = "1.0"
    event["requestContext"]["stage"] = "$default"
    assert source_of(event) == "rest"
    assert app.handler(event, lambda_context())["statusCode"] == 200


def test_percent_encoded_path_parameters_are_decoded() -> None:
    """REST APIs pass `path` percent-encoded; handlers get decoded parameter values."""
    app = App()
    app.get("/users/{name}")(lambda name: {"name": name})
    event = events.apigw_rest("GET", "/users/x")
    event["path"] = "/users/caf%C3%A9%20au%20lait"
    event["pathParameters"] = {"proxy": "users/caf\u00e9 au lait"}
    assert json.loads(app.handler(event, lambda_context())["body"]) == {"name": "caf\u00e9 au lait"}
