"""Lambda function URLs: payload 2.0 events on a `lambda-url` domain, 2.0 responses."""

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

    @app.route("/hooks/{name}", methods=["GET", "POST"])
    def hook(ctx: Context, name: str) -> dict:
        return {
            "name": name,
            "source": ctx.source,
            "query": ctx.query.to_dict(),
            "cookies": ctx.request.cookies,
            "body": ctx.body.decode("latin-1"),
            "ip": ctx.request.source_ip,
        }

    @app.get("/cookies")
    def cookies() -> Response:
        return Response.json({}).set_cookie("a", "1").set_cookie("b", "2")

    @app.get("/bin")
    def binary() -> Response:
        return Response(b"\xff\xfe\xfd")

    return app


def test_detected_as_function_url() -> None:
    event = events.function_url("GET", "/x")
    assert ".lambda-url." in event["requestContext"]["domainName"]
    assert source_of(event) == "url"


def test_request_fields(app: App) -> None:
    event = events.function_url(
        "POST",
        "/hooks/github?tag=a&tag=b",
        body='{"x": 1}',
        headers={"Content-Type": "application/json"},
        cookies=["k=v"],
    )
    out = app.handler(event, lambda_context())
    data = json.loads(out["body"])
    assert data == {
        "name": "github",
        "source": "url",
        "query": {"tag": ["a", "b"]},
        "cookies": {"k": "v"},
        "body": '{"x": 1}',
        "ip": events.SOURCE_IP,
    }


def test_response_uses_cookies_list_and_base64(app: App) -> None:
    out = app.handler(events.function_url("GET", "/cookies"), lambda_context())
    assert [c.split(";")[0] for c in out["cookies"]] == ["a=1", "b=2"]
    assert "multiValueHeaders" not in out
    binary = app.handler(events.function_url("GET", "/bin"), lambda_context())
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\xff\xfe\xfd"


def test_base64_request_body(app: App) -> None:
    event = events.function_url("POST", "/hooks/x", body=b"\x00\xff", headers={"Content-Type": "image/png"})
    assert event["isBase64Encoded"] is True
    data = json.loads(app.handler(event, lambda_context())["body"])
    assert data["body"].encode("latin-1") == b"\x00\xff"


def test_client_for_function_urls(app: App) -> None:
    client = TestClient(app, source="url")
    assert client.get("/hooks/a").json()["source"] == "url"
    assert client.get("/nope").status_code == 404
    assert client.post("/cookies").status_code == 405
