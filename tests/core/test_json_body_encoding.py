"""JSON bodies are UTF-8 (RFC 8259) on every HTTP source and over ASGI, with or without middleware:
a UTF-8 byte order mark before the JSON is ignored (the RFC lets a parser do so; Windows tools
write one), a body in UTF-16 or UTF-32 and a Content-Type whose charset is not UTF-8 are a 415
`unsupported_charset`, never a misread body or a 400 that blames the JSON; `ctx.request.json()` reads
bodies alike."""

from __future__ import annotations

import asyncio
import base64
import json

import msgspec
import pytest

from lift import App, Context
from lift.testing import lambda_context

from .asgi_get import asgi_request
from .http_events import VARIANTS

SOURCES = ["rest", "http", "url", "alb", "lattice"]
JSON = {"Content-Type": "application/json"}


class Item(msgspec.Struct):
    name: str


def _app(middleware: bool) -> App:
    app = App()
    if middleware:  # (no direct path: the body is read by the getter, not the generated call)
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.post("/items")
    def add(ctx: Context, body: Item) -> dict:
        return {"name": body.name}

    @app.post("/any")
    def any_body(ctx: Context, body: dict) -> dict:
        return body

    @app.post("/read")
    def read(ctx: Context) -> dict:
        return ctx.request.json()  # type: ignore[no-any-return]

    return app


APPS = {"direct": _app(False), "middleware": _app(True)}


def _post(app: App, source: str, path: str, body: bytes, headers: dict, as_base64: bool) -> tuple[int, dict]:
    event = VARIANTS[source]("POST", path, body=body.decode() if not as_base64 else "", headers=headers)
    if as_base64:  # (how every source passes a body that is not text)
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        if source == "lattice" and "is_base64_encoded" in event:
            event["is_base64_encoded"] = True
    out = app.handler(event, lambda_context())
    return out["statusCode"], json.loads(out["body"])


@pytest.mark.parametrize("kind", sorted(APPS))
@pytest.mark.parametrize("source", SOURCES)
def test_a_utf8_byte_order_mark_is_ignored(kind: str, source: str) -> None:
    app = APPS[kind]
    body = '\ufeff{"name": "café"}'.encode()
    for as_base64 in (False, True):
        for path in ("/items", "/any", "/read"):
            assert _post(app, source, path, body, JSON, as_base64) == (200, {"name": "café"}), (path, as_base64)
    status, answer = _post(app, source, "/items", '\ufeff{"name": 5}'.encode(), JSON, False)
    assert status == 422
    assert answer["error"]["details"] == [
        {"location": "body", "path": "$.name", "message": "Expected `str`, got `int`"}
    ]


@pytest.mark.parametrize("kind", sorted(APPS))
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_utf16_or_utf32_body_is_a_415(kind: str, source: str, encoding: str) -> None:
    for path in ("/items", "/read"):
        status, answer = _post(APPS[kind], source, path, '{"name": "a"}'.encode(encoding), JSON, True)
        assert status == 415
        assert answer["error"]["code"] == "unsupported_charset"
        assert answer["error"]["message"] == f"JSON bodies must be UTF-8 (RFC 8259), not {encoding[:6].upper()}"


@pytest.mark.parametrize("kind", sorted(APPS))
@pytest.mark.parametrize("source", SOURCES)
def test_a_charset_other_than_utf8_is_a_415(kind: str, source: str) -> None:
    app = APPS[kind]
    for ctype, ok in (
        ("application/json; charset=utf-8", True),
        ('application/json;charset="UTF-8"', True),
        ("application/json; charset=us-ascii", True),
        ("application/json; charset=utf-16", False),
        ("application/json; charset=ISO-8859-1", False),
        ("application/problem+json; charset=windows-1252", False),
    ):
        status, answer = _post(app, source, "/items", b'{"name": "a"}', {"Content-Type": ctype}, False)
        if ok:
            assert (status, answer) == (200, {"name": "a"}), ctype
        else:
            assert (status, answer["error"]["code"]) == (415, "unsupported_charset"), ctype
            assert answer["error"]["details"][0]["path"] == "$.content-type"


def test_asgi_reads_json_bodies_alike() -> None:
    app = APPS["direct"]
    ctype = [(b"content-type", b"application/json")]
    status, _, sent = asyncio.run(
        asgi_request(app, b"/items", "POST", headers=ctype, body=b'\xef\xbb\xbf{"name": "a"}')
    )
    assert (status, json.loads(sent)) == (200, {"name": "a"})
    body = '{"name": "a"}'.encode("utf-16")
    status, _, sent = asyncio.run(asgi_request(app, b"/items", "POST", headers=ctype, body=body))
    assert (status, json.loads(sent)["error"]["code"]) == (415, "unsupported_charset")
    latin = [(b"content-type", b"application/json; charset=latin-1")]
    status, _, sent = asyncio.run(asgi_request(app, b"/items", "POST", headers=latin, body=b'{"name": "a"}'))
    assert (status, json.loads(sent)["error"]["code"]) == (415, "unsupported_charset")
