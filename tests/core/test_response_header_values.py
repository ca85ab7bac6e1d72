"""Response header values on every Lambda HTTP source are what AWS can send, as app.asgi sends them:
a value that is not text (`{"X-Count": 5}`) goes out as its text (AWS wants strings: a number there
made API Gateway or ALB answer 502); a header or cookie holding a line break or NUL (a client's
`%0d%0a` echoed into a Location) is the error contract's 500 with one ERROR line carrying the
request id, never a response AWS refuses (502) with no line of the app's saying why."""

from __future__ import annotations

import json
import logging
from urllib.parse import unquote

import pytest

from lift import App, Context, Response
from lift.testing import lambda_context

from .http_events import VARIANTS, answer_headers

SOURCES = ["rest", "http", "url", "alb", "alb-multi", "lattice"]


def _event(source: str, path: str, query: dict | None = None) -> dict:
    return VARIANTS[source]("GET", path, query=query)


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/counted")
    def counted(ctx: Context) -> Response:
        return Response.json({"ok": True}, headers={"X-Count": 5, "X-Ratio": 0.5})  # type: ignore[dict-item]

    @app.get("/go")
    def go(ctx: Context) -> Response:
        return Response.redirect(unquote(ctx.request.query.get("next", "/")))

    @app.get("/remember")
    def remember(ctx: Context) -> Response:
        return Response.json({"ok": True}).set_cookie("name", unquote(ctx.request.query.get("name", "x")))

    @app.get("/tab")
    def tab(ctx: Context) -> Response:
        return Response.json({"ok": True}, headers={"X-Note": "a\tb", "X-City": "Zürich"})

    return app


@pytest.mark.parametrize("source", SOURCES)
def test_header_values_that_are_not_text_go_out_as_text(app: App, source: str) -> None:
    out = app.handler(_event(source, "/counted"), lambda_context())
    assert out["statusCode"] == 200
    headers = answer_headers(out)
    assert (headers["x-count"], headers["x-ratio"]) == ("5", "0.5")


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/go", {"next": "/home%0d%0aSet-Cookie: admin=1"}),
        ("/go", {"next": "/a%00b"}),
        ("/remember", {"name": "x%0aInjected: 1"}),
    ],
)
def test_a_line_break_or_nul_in_a_header_is_a_500_and_one_error_line(
    app: App, source: str, path: str, query: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lift")
    out = app.handler(_event(source, path, query), lambda_context(aws_request_id="req-split"))
    assert out["statusCode"] == 500
    assert json.loads(out["body"])["error"] == {
        "code": "internal_error",
        "message": "Internal server error",
        "request_id": "req-split",
        "details": None,
    }
    assert all("\n" not in v and "\r" not in v for v in answer_headers(out).values())
    assert not out.get("cookies") and "location" not in answer_headers(out)
    lines = [r for r in caplog.records if r.name == "lift" and r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert "req-split" in lines[0].getMessage()


@pytest.mark.parametrize("source", SOURCES)
def test_tabs_and_non_ascii_text_are_sent_as_they_are(app: App, source: str) -> None:
    out = app.handler(_event(source, "/tab"), lambda_context())
    assert out["statusCode"] == 200
    headers = answer_headers(out)
    assert (headers["x-note"], headers["x-city"]) == ("a\tb", "Zürich")
