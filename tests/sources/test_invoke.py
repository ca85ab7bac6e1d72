"""Direct invocation: the whole event is the body; the result goes back as is."""

from __future__ import annotations

import logging

import msgspec
import pytest

from lift import App, Context
from lift.errors import UnmatchedEvent
from lift.testing import TestClient


class Resize(msgspec.Struct):
    image: str
    width: int


class Done(msgspec.Struct):
    image: str
    ok: bool


def test_typed_payload_and_struct_result() -> None:
    app = App()

    @app.invoke
    def resize(ctx: Context, body: Resize) -> Done:
        assert ctx.source == "invoke" and ctx.record is None
        return Done(body.image, body.width > 0)

    assert TestClient(app).invoke({"image": "a.png", "width": 10}) == {"image": "a.png", "ok": True}


def test_any_payload_and_async_handler() -> None:
    app = App()

    @app.invoke()
    async def echo(body) -> list:
        return [body]

    client = TestClient(app)
    assert client.invoke([1, 2]) == [[1, 2]]
    assert client.invoke("text") == ["text"]
    assert client.invoke({"Records": [{"eventSource": "aws:kafka"}]}) == [{"Records": [{"eventSource": "aws:kafka"}]}]


def test_invalid_payload_and_errors_raise_after_logging(lift_logs) -> None:
    app = App()

    @app.invoke
    def resize(body: Resize) -> None:
        raise RuntimeError("no space")

    client = TestClient(app)
    with pytest.raises(Exception) as info:
        client.invoke({"image": "a.png"})
    assert getattr(info.value, "status", None) == 422
    with pytest.raises(RuntimeError, match="no space"):
        client.invoke({"image": "a.png", "width": 3})
    assert any("invoke record" in m and "validation_failed" in m for m in lift_logs.messages(logging.WARNING))
    assert any("invoke record" in m and "no space" in m for m in lift_logs.messages(logging.ERROR))


def test_no_invoke_handler_is_unmatched_and_only_one_allowed() -> None:
    app = App()
    with pytest.raises(UnmatchedEvent, match="invoke"):
        TestClient(app).invoke({"hello": "world"})

    @app.invoke
    def first(body: dict) -> None:
        pass

    with pytest.raises(ValueError, match="already"):
        app.invoke(lambda body: None)


def test_middleware_sees_invoke_source() -> None:
    app = App()
    sources = []
    app.use(lambda ctx, nxt: (sources.append(ctx.source), nxt(ctx))[1])

    @app.invoke
    def handle(body: dict) -> dict:
        return body

    assert TestClient(app).invoke({"a": 1}) == {"a": 1}
    assert sources == ["invoke"]
