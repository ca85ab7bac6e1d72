"""A 204 or 304 goes out without a body on every HTTP source (HTTP forbids one, as app.asgi already
answers), whether the handler returned a Response with a body or a route declared `status=204`
returned a dict; a HEAD answer to them carries no Content-Length. Driven through `app.handler`."""

from __future__ import annotations

import base64

import pytest

from lift import App, Context, Response
from lift.testing import lambda_context

from .http_events import VARIANTS, answer_headers

SOURCES = ["rest", "http", "url", "alb", "alb-multi", "lattice"]


def _event(source: str, method: str, path: str) -> dict:
    return VARIANTS[source](method, path)


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/fresh")
    def fresh(ctx: Context) -> Response:
        return Response.text("unchanged", status=304, headers={"ETag": '"v1"'})

    @app.get("/gone")
    def gone(ctx: Context) -> Response:
        return Response.json({"deleted": True}, status=204)

    @app.delete("/items/{item}", status=204)
    def delete_item(ctx: Context, item: int) -> dict:
        return {"deleted": item}

    @app.get("/full")
    def full(ctx: Context) -> dict:
        return {"ok": True}

    return app


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/fresh", 304), ("GET", "/gone", 204), ("DELETE", "/items/3", 204)]
)
def test_no_body_for_204_and_304(app: App, source: str, method: str, path: str, status: int) -> None:
    out = app.handler(_event(source, method, path), lambda_context())
    assert out["statusCode"] == status
    assert out["body"] == ""
    assert out["isBase64Encoded"] is False
    assert "content-length" not in answer_headers(out)


@pytest.mark.parametrize("source", SOURCES)
def test_head_of_a_304_has_no_content_length(app: App, source: str) -> None:
    out = app.handler(_event(source, "HEAD", "/fresh"), lambda_context())
    assert (out["statusCode"], out["body"]) == (304, "")
    headers = answer_headers(out)
    assert "content-length" not in headers
    assert headers["etag"] == '"v1"'


@pytest.mark.parametrize("source", SOURCES)
def test_other_statuses_keep_their_body_and_head_its_length(app: App, source: str) -> None:
    out = app.handler(_event(source, "GET", "/full"), lambda_context())
    body = base64.b64decode(out["body"]) if out["isBase64Encoded"] else out["body"].encode()
    assert (out["statusCode"], body) == (200, b'{"ok":true}')
    out = app.handler(_event(source, "HEAD", "/full"), lambda_context())
    assert (out["statusCode"], out["body"]) == (200, "")
    assert answer_headers(out)["content-length"] == "11"
