"""A client's percent-escape that is not UTF-8 (`%FF`, a lone `%C3`) in a path parameter or a query
string is a structured 400 on every source that passes them as sent (REST and function URL paths,
ALB, VPC Lattice, an HTTP API's `rawQueryString`, `app.asgi`), never a silent U+FFFD in the
handler's argument. API Gateway decodes an HTTP API's path and a REST API's query itself: what it
passes on is what the handler gets."""

from __future__ import annotations

import asyncio
import json

import pytest

from lift import App, Context
from lift.testing import lambda_context

from .asgi_get import asgi_request
from .http_events import VARIANTS

PATH_SOURCES = ["rest", "url", "alb", "alb-multi", "lattice"]


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/files/{name}")
    def file(ctx: Context, name: str) -> dict:
        return {"name": name}

    @app.get("/files/{name}/meta")
    def meta(ctx: Context, name: str) -> dict:
        return {"name": name}

    @app.get("/search")
    def search(ctx: Context) -> dict:
        return {"query": ctx.request.query.to_dict()}

    @app.get("/deep/{rest+}")
    def deep(ctx: Context, rest: str) -> dict:
        return {"rest": rest}

    return app


def _answer(app: App, event: dict) -> tuple[int, dict]:
    out = app.handler(event, lambda_context())
    return out["statusCode"], json.loads(out["body"])


@pytest.mark.parametrize("source", PATH_SOURCES)
@pytest.mark.parametrize("escape", ["%FF", "%C3", "a%C3%28", "%ED%A0%80"])
def test_a_path_parameter_that_is_not_utf8_is_a_400(app: App, source: str, escape: str) -> None:
    for path in (f"/files/{escape}", f"/files/{escape}/meta"):
        status, body = _answer(app, VARIANTS[source]("GET", path))
        assert status == 400, path
        assert body["error"]["code"] == "invalid_path_encoding"
        assert body["error"]["details"] == [{"location": "path", "message": "Percent-escapes must encode UTF-8 text"}]


@pytest.mark.parametrize("source", PATH_SOURCES)
def test_utf8_escapes_and_an_escaped_slash_are_decoded_once(app: App, source: str) -> None:
    for path, name in (("/files/caf%C3%A9", "café"), ("/files/a%2Fb/meta", "a/b"), ("/files/100%2541", "100%41")):
        assert _answer(app, VARIANTS[source]("GET", path)) == (200, {"name": name}), path


# where each source carries the query as the client sent it
RAW_QUERY = {
    "http": lambda event, raw: event.update(rawQueryString=raw),
    "url": lambda event, raw: event.update(rawQueryString=raw),
    "alb": lambda event, raw: event.update(queryStringParameters=dict(p.split("=") for p in raw.split("&"))),
    "alb-multi": lambda event, raw: event.update(
        multiValueQueryStringParameters={k: [v] for k, v in (p.split("=") for p in raw.split("&"))}
    ),
}


@pytest.mark.parametrize("source", sorted(RAW_QUERY))
def test_a_query_that_is_not_utf8_is_a_400(app: App, source: str) -> None:
    event = VARIANTS[source]("GET", "/search", query={"q": "x"})
    RAW_QUERY[source](event, "q=%FF&tag=ok")
    status, body = _answer(app, event)
    assert status == 400
    assert body["error"]["code"] == "invalid_query_encoding"
    assert body["error"]["details"] == [{"location": "query", "message": "Percent-escapes must encode UTF-8 text"}]
    event = VARIANTS[source]("GET", "/search", query={"q": "x"})
    RAW_QUERY[source](event, "q=caf%C3%A9&tag=a%2Bb")
    assert _answer(app, event) == (200, {"query": {"q": ["café"], "tag": ["a+b"]}})


def test_asgi_answers_the_same(app: App) -> None:
    status, _, body = asyncio.run(asgi_request(app, b"/files/%FF/meta"))
    assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_path_encoding")
    status, _, body = asyncio.run(asgi_request(app, b"/search", query_string=b"q=%FF"))
    assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_query_encoding")
    status, _, body = asyncio.run(asgi_request(app, b"/files/caf%C3%A9", query_string=b"q=caf%C3%A9"))
    assert (status, json.loads(body)) == (200, {"name": "café"})


NUL_PATHS = ["/files/%00", "/files/a%00b", "/files/a%00b/meta", "/deep/x/%00/y"]


@pytest.mark.parametrize("source", [*PATH_SOURCES, "http"])
def test_a_nul_in_a_path_parameter_is_a_400(app: App, source: str) -> None:
    """`%00` decodes to a NUL no name holds (it ends a C string: the OS, a driver below the handler's
    checks): a 400, as for `%FF`; an HTTP API decodes it into its `rawPath` itself, refused alike."""
    for path in NUL_PATHS:
        status, body = _answer(app, VARIANTS[source]("GET", path))
        assert status == 400, path  # (was 200, the handler given "a\x00b")
        assert body["error"]["code"] == "invalid_path_encoding"
        assert body["error"]["message"] == "Path holds a NUL character (%00)"
    assert _answer(app, VARIANTS[source]("GET", "/files/%2500")) == (200, {"name": "%00"})  # (an escaped "%": text)


def test_asgi_refuses_a_nul_alike(app: App) -> None:
    for path in NUL_PATHS[:3]:
        status, _, body = asyncio.run(asgi_request(app, path.encode()))
        assert (status, json.loads(body)["error"]["message"]) == (400, "Path holds a NUL character (%00)"), path
