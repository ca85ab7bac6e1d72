"""A handler's result JSON cannot hold (an object of no known type, a tuple key, a cycle) is the
handler's 500 on every HTTP source: the error contract's body (nothing of the value or the
exception's text) and one ERROR line naming the route and the request id, as under ASGI."""

from __future__ import annotations

import logging

import msgspec
import pytest

from lift import App
from lift.testing import TestClient


class Secretive:
    def __repr__(self) -> str:
        return "Secretive(password=hunter2)"


class Holder(msgspec.Struct):
    value: object


def _cyclic() -> dict:
    loop: dict = {}
    loop["self"] = loop
    return loop


RESULTS = {
    "dict": lambda: {"value": Secretive()},
    "list": lambda: [Secretive()],
    "tuple-key": lambda: {("a", "b"): 1},
    "cycle": _cyclic,
    "struct": lambda: Holder(Secretive()),
}


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb"])
@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_an_unencodable_result_is_a_500_with_one_line_naming_its_route(
    source: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(name="results")

    @app.get("/things/{thing_id}")
    def thing(thing_id: str) -> object:
        return RESULTS[kind]()

    with caplog.at_level(logging.ERROR, logger="lift"):
        resp = TestClient(app, source=source).get("/things/7")
    assert resp.status_code == 500
    error = resp.json()["error"]
    assert error["code"] == "internal_error" and "hunter2" not in resp.text and "Secretive" not in resp.text
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert f"in GET /things/{{thing_id}} (request_id={error['request_id']})" in lines[0].getMessage()
