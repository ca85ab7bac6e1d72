"""Lambda's advanced logging controls: with the JSON log format (`AWS_LAMBDA_LOG_FORMAT=JSON`)
Lambda filters stdout lines by their "level", which it reads by its own names (TRACE, DEBUG,
INFO, WARN, ERROR, FATAL; anything else counts as INFO). Before, Lift wrote WARNING and
CRITICAL, which an application log level of WARN or ERROR would have dropped as INFO lines."""

from __future__ import annotations

import logging

import pytest

from lift import App
from lift.errors import BadRequest
from lift.middleware.logging import RequestLogging
from lift.observability import logging as lift_logging
from lift.testing import TestClient
from observability.emf_spec import log_lines

LAMBDA_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}


def make_app() -> App:
    app = App("svc")
    app.use(RequestLogging())

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        ctx.logger.info("info line")
        ctx.logger.warning("warning line")
        ctx.logger.critical("critical line")
        raise BadRequest("rejected")

    return app


def test_json_log_format_writes_the_levels_lambda_filters_on(capsys, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")
    TestClient(make_app()).sqs("orders", ["a"])
    lines = log_lines(capsys.readouterr().out)
    levels = {x["message"]: x["level"] for x in lines}
    assert "info line" not in levels  # below the function's application log level
    assert levels["warning line"] == "WARN"
    assert levels["critical line"] == "FATAL"
    (rejected,) = [x for x in lines if x["logger"] == "lift.access"]  # the record's one line
    assert rejected["level"] == "WARN" and rejected["outcome"] == "error"
    assert {x["level"] for x in lines} <= LAMBDA_LEVELS


@pytest.mark.parametrize("log_format", [None, "Text"])
def test_other_formats_keep_pythons_level_names(capsys, monkeypatch, log_format):
    if log_format is None:
        monkeypatch.delenv("AWS_LAMBDA_LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", log_format)
    lift_logging.configure(level="WARNING", force=True)
    lift_logging.get_logger().warning("careful")
    lift_logging.get_logger().critical("stop")
    assert [x["level"] for x in log_lines(capsys.readouterr().out)] == ["WARNING", "CRITICAL"]


def test_the_runtimes_json_handler_is_replaced_too(capsys):
    # Under the advanced logging controls (JSON format, or an application log level), the Python
    # runtime (awslambdaric) puts a LambdaLoggerHandlerWithFrameType with its JsonFormatter on the
    # root logger, not a LambdaLoggerHandler. Before, Lift removed only the latter: every line
    # came out twice, once without the request's fields.
    bootstrap = pytest.importorskip("awslambdaric.bootstrap")
    from awslambdaric.lambda_runtime_log_utils import JsonFormatter

    runtime_handler = bootstrap.LambdaLoggerHandlerWithFrameType(bootstrap.StandardLogSink())
    runtime_handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(runtime_handler)
    try:
        lift_logging.configure(force=True)
        logging.getLogger("somelib").warning("only once")
        assert runtime_handler not in root.handlers
    finally:
        root.removeHandler(runtime_handler)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and '"message":"only once"' in lines[0]


@pytest.mark.parametrize(
    "log_format,log_level,expected",
    [("JSON", "WARN", "WARN"), ("json", "error", "ERROR"), ("JSON", "INFO", None), ("Text", "ERROR", None)],
)
def test_metrics_pass_lambdas_application_log_level(log_format, log_level, expected, capsys, monkeypatch):
    """Lambda takes a JSON line without `level` for INFO and, with the JSON format and an application
    log level of WARN or above, drops it: before, every EMF line (metrics included) was lost there."""
    from lift.observability import metrics as lift_metrics
    from observability.emf_spec import emf_lines, validate_emf

    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", log_format)
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", log_level)
    lift_metrics.configure()
    app = App("svc")

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        ctx.metrics.add("Orders", 1, unit="Count")
        ctx.metrics.add("Big", 1, dimensions={"k": "v" * 1000})

    TestClient(app).sqs("orders", ["a"] * 300)  # (values past 100 per metric: split documents)
    docs = emf_lines(capsys.readouterr().out)
    assert len(docs) > 2 and all(validate_emf(doc) == [] for doc in docs)
    assert [doc.get("level") for doc in docs] == [expected] * len(docs)
