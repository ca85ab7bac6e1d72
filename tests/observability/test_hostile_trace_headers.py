"""Hostile trace headers: a client's `X-Amzn-Trace-Id` / `traceparent` (and a malformed
`_X_AMZN_TRACE_ID`) never crash a request, never reach a log line or an outgoing call unless
they are a valid trace, and an exception whose str() raises still closes its span."""

from __future__ import annotations

import json

import pytest

from lift import App
from lift.middleware.logging import RequestLogging
from lift.middleware.tracing import Tracing
from lift.observability import tracing
from lift.testing import TestClient
from observability.emf_spec import log_lines

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"

HOSTILE_XRAY = [
    f"Root={ROOT}\r\nX-Injected: 1;Parent={PARENT};Sampled=1",
    f"Root={ROOT}x;Parent={PARENT};Sampled=1",
    "Root=" + "1" * 100_000,
    "Root=1-zzzzzzzz-bd862e3fe1be46a994272793;Sampled=1",
    'Root=1-5759e988-bd862e3fe1be46a99427279"',
    "Root=<script>alert(1)</script>",
    "Root=;Parent=;Sampled=",
    ";;;=;=",
    "\x00",
]
HOSTILE_TRACEPARENT = [
    "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-extra",
    "ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
    "00-0x59e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
    "00-5759e988bd862e3fe1be46a994272793-+3995c3f42cd8ad8-01",
    "00-5759e988bd862e3fe1be46a994272793-0000000000000000-01",
    "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-\n1",
]


def make_app(mode: str = "headers") -> tuple[App, dict]:
    app = App("svc")
    app.use(RequestLogging(), Tracing(mode=mode))
    seen: dict = {}

    @app.get("/call")
    def call(ctx) -> dict:
        seen["outgoing"] = tracing.outgoing_headers()
        ctx.logger.info("calling")
        return {}

    return app, seen


@pytest.mark.parametrize("header", HOSTILE_XRAY)
def test_a_hostile_x_amzn_trace_id_is_not_taken_up(capsys, header):
    app, seen = make_app()
    resp = TestClient(app).get("/call", headers={"X-Amzn-Trace-Id": header})
    assert resp.status_code == 200
    assert seen["outgoing"] == {}
    assert all("trace_id" not in line for line in log_lines(capsys.readouterr().out))


@pytest.mark.parametrize("header", HOSTILE_TRACEPARENT)
def test_a_hostile_traceparent_is_not_taken_up(capsys, header):
    app, seen = make_app()
    resp = TestClient(app).get("/call", headers={"traceparent": header})
    assert resp.status_code == 200
    # (the client also sends an X-Amzn-Trace-Id of its own, as API Gateway does: that one is valid)
    assert "5759e988" not in json.dumps(seen["outgoing"]) and "\n" not in json.dumps(seen["outgoing"])
    assert all(line.get("trace_id") != ROOT for line in log_lines(capsys.readouterr().out))


def test_a_valid_root_with_a_hostile_parent_keeps_the_root_only(capsys):
    app, seen = make_app()
    TestClient(app).get("/call", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Parent=+x\r\nEvil: 1;Sampled=yes"})
    xray_header = seen["outgoing"]["X-Amzn-Trace-Id"]
    assert xray_header == f"Root={ROOT}"
    w3c = seen["outgoing"]["traceparent"].split("-")
    assert w3c[1] == ROOT[2:].replace("-", "") and len(w3c[2]) == 16 and w3c[3] == "00"
    line = next(x for x in log_lines(capsys.readouterr().out) if x["message"] == "calling")
    assert line["trace_id"] == ROOT


@pytest.mark.parametrize("env", HOSTILE_XRAY[:4])
def test_a_malformed_lambda_trace_variable_reaches_no_line_and_no_call(capsys, monkeypatch, env):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", env)
    app, seen = make_app()
    assert TestClient(app).get("/call").status_code == 200
    assert seen["outgoing"] == {}
    assert all("trace_id" not in line for line in log_lines(capsys.readouterr().out))


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() of this error fails")


def test_an_exception_whose_str_raises_still_closes_the_xray_subsegment(xray_daemon, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=1")
    app = App("svc")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{xray_daemon.getsockname()[1]}"))

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        raise UnprintableError()

    result = TestClient(app).sqs("orders", ["a"])
    assert len(result["batchItemFailures"]) == 1
    doc = json.loads(xray_daemon.recv(65536).partition(b"\n")[2])
    assert doc["fault"] is True
    (exc,) = doc["cause"]["exceptions"]
    assert exc["type"] == "UnprintableError" and "str() failed" in exc["message"]


def test_an_exception_whose_str_raises_still_ends_the_otel_span(otel_exporter):
    provider, exporter = otel_exporter
    app = App("svc")
    app.use(Tracing(tracer_provider=provider))

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        raise UnprintableError()

    assert len(TestClient(app).sqs("orders", ["a"])["batchItemFailures"]) == 1
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    assert event.attributes["exception.type"] == "UnprintableError"
    assert "str() failed" in event.attributes["exception.message"]
