"""A caller's request or correlation id is taken only when it is an id: 1-128 characters of
`A-Za-z0-9._:/=+-` and nothing after them. Before, a trailing line break passed the check
(`re.match` with `$`), so `request_id()` echoed `X-Request-Id: abc\\n` in the response and
lift.services passed it on; and log lines took any text as `correlation_id` (non-ASCII, 5000
characters), unlike the id lift.services sends downstream, so one request's lines in two
services did not share it."""

from __future__ import annotations

import pytest

from lift import App
from lift.middleware.logging import RequestLogging
from lift.middleware.request_id import request_id, well_formed_id
from lift.testing import TestClient, lambda_context
from observability.emf_spec import log_lines

MALFORMED = ["abc\n", "abc\r\n", "caf\u00e9", "x" * 5000, "a b", "", "id\x00"]


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_caller_id_is_not_an_id(value):
    assert not well_formed_id(value)


def make_app() -> App:
    app = App("svc")
    app.use(RequestLogging(), request_id())

    @app.get("/x")
    def x(ctx) -> dict:
        ctx.logger.info("handled")
        return {}

    return app


@pytest.mark.parametrize("value", ["abc\n", "caf\u00e9", "x" * 5000])
def test_a_malformed_x_request_id_is_neither_echoed_nor_logged(capsys, value):
    context = lambda_context()
    resp = TestClient(make_app()).get("/x", headers={"X-Request-Id": value}, context=context)
    assert resp.headers["X-Request-Id"] == context.aws_request_id
    line = next(x for x in log_lines(capsys.readouterr().out) if x["message"] == "handled")
    assert line["request_id"] == context.aws_request_id
    assert line["correlation_id"] == context.aws_request_id


@pytest.mark.parametrize("value", ["abc\n", "caf\u00e9", "x" * 5000])
def test_a_malformed_correlation_id_is_not_logged_as_one(capsys, value):
    app = App("svc")
    app.use(RequestLogging())
    app.get("/x")(lambda ctx: ctx.logger.info("handled") or {})
    context = lambda_context()
    TestClient(app).get("/x", headers={"X-Correlation-Id": value, "X-Request-Id": "upstream-7"}, context=context)
    TestClient(app).get("/x", headers={"X-Correlation-Id": value}, context=context)
    first, second = (x for x in log_lines(capsys.readouterr().out) if x["message"] == "handled")
    assert first["correlation_id"] == "upstream-7"  # the well-formed one, as lift.services passes on
    assert second["correlation_id"] == context.aws_request_id


def test_a_well_formed_caller_id_is_kept(capsys):
    context = lambda_context()
    resp = TestClient(make_app()).get("/x", headers={"X-Request-Id": "req-1:a/b=c+d.e_f"}, context=context)
    assert resp.headers["X-Request-Id"] == "req-1:a/b=c+d.e_f"
    line = next(x for x in log_lines(capsys.readouterr().out) if x["message"] == "handled")
    assert line["request_id"] == line["correlation_id"] == "req-1:a/b=c+d.e_f"
