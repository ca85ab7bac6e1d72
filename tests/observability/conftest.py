"""Fresh logging/metrics/tracing state for every observability test."""

from __future__ import annotations

import logging
import socket

import pytest

from lift.observability import coldstart
from lift.observability import logging as lift_logging
from lift.observability import metrics as lift_metrics

_ENV = (
    "_X_AMZN_TRACE_ID",
    "LIFT_LOG_LEVEL",
    "AWS_LAMBDA_LOG_LEVEL",
    "LIFT_LOG_SAMPLE_RATE",
    "LIFT_METRICS_NAMESPACE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "LIFT_SERVICE_NAME",
)


@pytest.fixture(autouse=True)
def fresh_observability(monkeypatch: pytest.MonkeyPatch):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    # (configure sets the root level and replaces the handler it finds: both put back as they were, so
    # a handler installed before this test, by whatever ran before it in this process, is kept)
    level, handlers, handler = root.level, list(root.handlers), lift_logging._config.handler
    lift_logging.configure(force=True)
    lift_metrics.configure()
    lift_metrics._open.clear()
    monkeypatch.setattr(coldstart, "_claimed", False)
    yield
    root.handlers[:] = handlers
    lift_logging._config.handler = handler
    root.setLevel(level)
    lift_metrics._open.clear()


@pytest.fixture
def xray_daemon():
    """A UDP socket standing in for the X-Ray daemon (a recv waits at most 20 s: only when a
    subsegment the test expects was never sent)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(20)
    yield sock
    sock.close()


@pytest.fixture
def otel_exporter():
    """An OpenTelemetry SDK provider recording finished spans in memory: (provider, exporter)."""
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
