"""API Gateway HTTP APIs (payload format 2.0): cookies, rawQueryString, comma-joined headers,
named stages, and the 2.0 response (cookies in their own list)."""

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

    @app.route("/items/{item_id}", methods=["GET", "POST"])
    def item(ctx: Context, item_id: str) -> dict:
        return {
            "item_id": item_id,
            "path": ctx.path,
            "query": ctx.query.to_dict(),
            "accept": ctx.headers.getall("accept"),
            "cookies": ctx.request.cookies,
            "body": ctx.body.decode("latin-1"),
        }

    @app.get("/cookies")
    def cookies(ctx: Context) -> Response:
        resp = Response.json({"ok": True}, headers={"X-One": "1"})
        resp.set_cookie("a", "1")
        resp.set_cookie("b", "2", max_age=5)
        return resp

    @app.get("/file")
    def file(ctx: Context) -> Response:
        return Response.binary(b"%PDF-1.7\n\xe2\xe3\xcf\xd3", "application/pdf")

    return app


def _call(app: App, event: dict) -> tuple[dict, dict]:
    out = app.handler(event, lambda_context())
    return out, json.loads(out["body"]) if out["body"] and out["isBase64Encoded"] is False else {}


def test_detected_as_http() -> None:
    assert source_of(events.apigw_http("GET", "/x")) == "http"


def test_raw_query_string_keeps_every_value_and_decodes(app: App) -> None:
    event = events.apigw_http("GET", "/items/1", query={"tag": ["a,b", "c"], "q": "x y&z"})
    assert event["rawQueryString"] == "tag=a%2Cb&tag=c&q=x%20y%26z"
    assert event["queryStringParameters"] == {"tag": "a,b,c", "q": "x y&z"}
    _, data = _call(app, event)
    assert data["query"] == {"tag": ["a,b", "c"], "q": ["x y&z"]}


def test_query_from_query_string_parameters_when_raw_is_missing(app: App) -> None:
    event = events.apigw_http("GET", "/items/1", query={"tag": ["a", "b"]})
    event["rawQueryString"] = ""
    _, data = _call(app, event)
    assert data["query"] == {"tag": ["a", "b"]}


def test_comma_joined_headers_are_split_back(app: App) -> None:
    event = events.apigw_http("GET", "/items/1", headers={"Accept": ["application/json", "text/html"]})
    assert event["headers"]["accept"] == "application/json,text/html"
    _, data = _call(app, event)
    assert data["accept"] == ["application/json", "text/html"]


def test_cookies_field_is_parsed(app: App) -> None:
    event = events.apigw_http("GET", "/items/1", cookies=["session=abc", "theme=dark"])
    assert "cookie" not in event["headers"]
    _, data = _call(app, event)
    assert data["cookies"] == {"session": "abc", "theme": "dark"}


def test_named_stage_is_removed_from_raw_path(app: App) -> None:
    event = events.apigw_http("GET", "/items/5", stage="prod")
    assert event["rawPath"] == "/prod/items/5"
    _, data = _call(app, event)
    assert data["path"] == "/items/5" and data["item_id"] == "5"


def test_default_stage_keeps_the_path(app: App) -> None:
    event = events.apigw_http("GET", "/prod/items/5")  # "$default" stage: "prod" is a real segment
    out, _ = _call(app, event)
    assert out["statusCode"] == 404


def test_percent_encoded_path_parameters_are_decoded(app: App) -> None:
    event = events.apigw_http("GET", "/items/caf\u00e9 au lait")
    assert event["rawPath"] == "/items/caf\u00e9 au lait"  # (API Gateway passes the path on decoded)
    _, data = _call(app, event)
    assert (data["item_id"], data["path"]) == ("caf\u00e9 au lait", "/items/caf\u00e9 au lait")


@pytest.mark.parametrize(
    ("sent", "raw_path", "item_id"),
    [
        ("/items/100%2541", "/items/100%41", "100%41"),  # a client's doubly-encoded "%41": decoded once
        ("/items/%2525", "/items/%25", "%25"),
        ("/items/a%25", "/items/a%", "a%"),
        ("/items/a%2Fb", "/items/a%2Fb", "a/b"),  # (an escaped "/" stays escaped, and in its parameter)
        ("/items/50%25%2Fcaf%C3%A9", "/items/50%%2Fcaf\u00e9", "50%/caf\u00e9"),
    ],
)
def test_an_http_apis_decoded_path_gives_each_parameter_decoded_exactly_once(
    app: App, sent: str, raw_path: str, item_id: str
) -> None:
    """API Gateway HTTP APIs decode the path but for `%2F`: a "%" left in `rawPath` is the client's
    own `%25`, never the start of an escape to decode again. The same answer as the other sources."""
    event = events.apigw_http("GET", sent)
    assert event["rawPath"] == raw_path
    for source_event in (event, events.apigw_rest("GET", sent), events.function_url("GET", sent)):
        _, data = _call(app, source_event)
        assert data["item_id"] == item_id, source_event


def test_base64_body(app: App) -> None:
    raw = b"\x89binary\x00"
    event = events.apigw_http("POST", "/items/1", body=raw, headers={"Content-Type": "application/octet-stream"})
    assert event["isBase64Encoded"] is True
    _, data = _call(app, event)
    assert data["body"].encode("latin-1") == raw


def test_response_shape_and_cookies_list(app: App) -> None:
    out = app.handler(events.apigw_http("GET", "/cookies"), lambda_context())
    assert out["statusCode"] == 200
    assert out["cookies"] == [
        "a=1; Path=/; Secure; HttpOnly; SameSite=Lax",
        "b=2; Max-Age=5; Path=/; Secure; HttpOnly; SameSite=Lax",
    ]
    assert out["headers"] == {"X-One": "1", "Content-Type": "application/json"}
    assert "multiValueHeaders" not in out
    assert not any(k.lower() == "set-cookie" for k in out["headers"])
    plain = app.handler(events.apigw_http("GET", "/items/1"), lambda_context())
    assert "cookies" not in plain


def test_binary_response_is_base64(app: App) -> None:
    out = app.handler(events.apigw_http("GET", "/file"), lambda_context())
    assert out["isBase64Encoded"] is True
    assert base64.b64decode(out["body"]) == b"%PDF-1.7\n\xe2\xe3\xcf\xd3"


def test_route_key_with_custom_domain_mapping() -> None:
    """Behind a custom domain, the route key's template rebuilds the API-relative path."""
    app = App()
    app.get("/orders/{order_id}")(lambda ctx, order_id: {"order_id": order_id, "path": ctx.path})
    event = events.apigw_http("GET", "/orders/12", route_key="GET /orders/{order_id}")
    event["pathParameters"] = {"order_id": "12"}
    event["requestContext"]["domainName"] = "api.example.com"
    out, data = _call(app, event)
    assert out["statusCode"] == 200 and data == {"order_id": "12", "path": "/orders/12"}


def test_client_helpers_for_http(app: App) -> None:
    client = TestClient(app, source="http")
    res = client.get("/items/3?x=1", cookies={"s": "v"})
    assert client.last_event["cookies"] == ["s=v"]
    assert res.json()["cookies"] == {"s": "v"}
    cookies = client.get("/cookies").cookies
    assert [c.split(";")[0] for c in cookies] == ["a=1", "b=2"]


def test_content_type_header_in_any_case() -> None:
    app = App()

    def form(body) -> dict:
        return {"name": body["name"]}

    form.__annotations__ = {"body": dict}
    app.post("/form")(form)
    event = events.apigw_http("POST", "/form", body="name=ada")
    event["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
    out = app.handler(event, lambda_context())
    assert out["statusCode"] == 200 and json.loads(out["body"]) == {"name": "ada"}
