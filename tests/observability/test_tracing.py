"""Tracing: trace headers, OpenTelemetry spans (in-memory exporter) and X-Ray subsegments (real UDP)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from lift import App
from lift.middleware.tracing import Tracing
from lift.observability import tracing
from lift.testing import TestClient

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
LAMBDA_TRACE = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"


def test_parse_xray_header_any_order_and_case():
    h = tracing.parse_xray_header("sampled=0; parent=53995c3f42cd8ad8 ;Root=" + ROOT)
    assert h == tracing.TraceHeader(ROOT, "53995c3f42cd8ad8", False)
    assert tracing.parse_xray_header("Parent=abc") is None
    assert tracing.parse_xray_header(f"Root={ROOT};Sampled=?").sampled is None


def test_traceparent_round_trips_with_xray_ids():
    h = tracing.parse_traceparent("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
    assert h == tracing.TraceHeader(ROOT, "53995c3f42cd8ad8", True)
    assert h.to_traceparent() == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
    assert tracing.parse_traceparent("00-" + "0" * 32 + "-53995c3f42cd8ad8-01") is None
    assert tracing.parse_traceparent("garbage") is None


def test_outgoing_headers_follow_the_lambda_trace(monkeypatch):
    assert tracing.outgoing_headers() == {}
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    headers = tracing.inject_trace_headers({"Accept": "application/json"})
    assert headers["X-Amzn-Trace-Id"] == LAMBDA_TRACE
    assert headers["traceparent"] == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
    assert headers["Accept"] == "application/json"
    # headers the caller already set are kept
    assert tracing.inject_trace_headers({"x-amzn-trace-id": "mine"}) == {
        "x-amzn-trace-id": "mine",
        "traceparent": headers["traceparent"],
    }
    assert tracing.current_trace_id() == ROOT


def test_headers_mode_continues_an_incoming_trace_outside_lambda():
    app = App("svc")
    app.use(Tracing(mode="headers"))
    seen = {}

    @app.get("/call")
    def call(ctx) -> dict:
        seen.update(tracing.outgoing_headers())
        return {}

    TestClient(app).get("/call", headers={"traceparent": "00-5759e988bd862e3fe1be46a994272793-1111111111111111-01"})
    assert seen["X-Amzn-Trace-Id"] == f"Root={ROOT};Parent=1111111111111111;Sampled=1"
    assert tracing.outgoing_headers() == {}  # reset after the request


def test_otel_span_per_request_with_route_status_tenant_and_lambda_parent(otel_exporter, monkeypatch):
    provider, exporter = otel_exporter
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    app = App("svc")

    def tenant(ctx, call_next):
        ctx.tenant_id = "acme"
        return call_next(ctx)

    app.use(Tracing(tracer_provider=provider), tenant)
    downstream = {}

    @app.get("/orders/{order_id}")
    def get_order(ctx, order_id: int) -> dict:
        downstream.update(tracing.outgoing_headers())
        return {}

    @app.get("/fail")
    def fail(ctx) -> dict:
        raise RuntimeError("x")

    TestClient(app).get("/orders/9")
    TestClient(app).get("/fail")
    ok, failed = exporter.get_finished_spans()
    assert ok.name == "GET /orders/{order_id}"
    assert ok.kind.name == "SERVER"
    assert ok.attributes["http.route"] == "/orders/{order_id}"
    assert ok.attributes["http.response.status_code"] == 200
    assert ok.attributes["lift.tenant_id"] == "acme"
    assert ok.attributes["faas.trigger"] == "http"
    assert ok.attributes["faas.coldstart"] is True and failed.attributes["faas.coldstart"] is False
    assert format(ok.context.trace_id, "032x") == "5759e988bd862e3fe1be46a994272793"
    assert format(ok.parent.span_id, "016x") == "53995c3f42cd8ad8"
    assert ok.status.status_code.name == "UNSET"
    assert failed.attributes["http.response.status_code"] == 500
    assert failed.status.status_code.name == "ERROR"
    # calls made inside the handler continue from the request's span
    assert downstream["traceparent"] == f"00-5759e988bd862e3fe1be46a994272793-{ok.context.span_id:016x}-01"


def test_otel_parent_from_incoming_traceparent(otel_exporter):
    provider, exporter = otel_exporter
    app = App("svc")
    app.use(Tracing(tracer_provider=provider))
    app.get("/")(lambda ctx: {})
    TestClient(app, source="http").get(
        "/", headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"


def receive_segments(sock, count):
    docs = []
    for _ in range(count):
        data = sock.recv(65536)
        header, _, body = data.partition(b"\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        docs.append(json.loads(body))
    return docs


def test_xray_mode_sends_subsegments_of_the_function_segment(xray_daemon, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    port = xray_daemon.getsockname()[1]
    app = App("svc")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{port}"))
    seen = {}

    @app.get("/items/{item_id}")
    def item(ctx, item_id: int) -> dict:
        seen.update(tracing.outgoing_headers())
        if item_id == 0:
            raise RuntimeError("broken")
        return {}

    client = TestClient(app)
    client.get("/items/5")
    client.get("/items/0")
    ok, failed = receive_segments(xray_daemon, 2)
    for doc in (ok, failed):
        assert doc["type"] == "subsegment"
        assert doc["trace_id"] == ROOT
        assert doc["parent_id"] == "53995c3f42cd8ad8"
        assert doc["end_time"] >= doc["start_time"]
        assert len(doc["id"]) == 16
    assert ok["name"] == "GET /items/_item_id_"  # (X-Ray names take no braces: see test_xray_names)
    assert ok["annotations"]["route"] == "/items/{item_id}"
    assert ok["annotations"]["cold_start"] is True and failed["annotations"]["cold_start"] is False
    assert ok["http"]["response"]["status"] == 200 and "fault" not in ok
    assert failed["http"]["response"]["status"] == 500 and failed["fault"] is True
    assert seen["X-Amzn-Trace-Id"] == f"Root={ROOT};Parent={failed['id']};Sampled=1"


def test_xray_mode_sends_nothing_when_not_sampled(xray_daemon, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0")
    port = xray_daemon.getsockname()[1]
    app = App("svc")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{port}"))
    app.get("/")(lambda ctx: {})
    TestClient(app).get("/")
    xray_daemon.settimeout(0.2)
    with pytest.raises(socket.timeout):
        xray_daemon.recv(65536)


def test_tracing_without_otel_imports_nothing_extra():
    code = (
        "import sys, lift, lift.middleware.tracing as t\n"
        "from lift.testing import TestClient\n"
        "app = lift.App('x'); app.use(t.Tracing(mode='xray')); app.get('/')(lambda ctx: {})\n"
        "TestClient(app).get('/')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('opentelemetry', 'aws_xray_sdk', 'botocore', 'boto3')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_invalid_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="otel"):
        Tracing(mode="zipkin")


@pytest.mark.parametrize("raw", ["localhost", "127.0.0.1:70000", "127.0.0.1:", "udp:127.0.0.1:x tcp:127.0.0.1:2000"])
def test_a_malformed_daemon_address_in_the_environment_warns_and_serves(raw, monkeypatch, caplog):
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", raw)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    app = App("svc")
    with caplog.at_level("WARNING", logger="lift.tracing"):
        app.use(Tracing(mode="xray"))
    app.get("/")(lambda ctx: {"ok": True})
    assert TestClient(app).get("/").status_code == 200
    warnings = [r for r in caplog.records if r.name == "lift.tracing"]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert repr(raw) in warnings[0].getMessage() and "127.0.0.1:2000" in warnings[0].getMessage()


@pytest.mark.parametrize("raw", ["localhost", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:٢٠٠٠"])
def test_a_malformed_daemon_address_argument_is_refused_at_start(raw):
    with pytest.raises(ValueError, match="X-Ray daemon address"):
        Tracing(mode="xray", daemon_address=raw)
