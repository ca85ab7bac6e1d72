"""Structured logs: what a user reads in CloudWatch, parsed from the printed JSON lines."""

from __future__ import annotations

import json
import logging

import pytest

from lift import App
from lift.errors import NotFound
from lift.middleware.logging import RequestLogging, request_logging
from lift.observability import logging as lift_logging
from lift.testing import TestClient, lambda_context
from observability.emf_spec import log_lines

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def make_app(**options) -> App:
    app = App("orders")
    app.use(RequestLogging(**options))

    @app.get("/orders/{order_id}")
    def get_order(ctx, order_id: int) -> dict:
        ctx.logger.info("looked up order", order_id=order_id, customer={"email": "a@b.c", "password": "hunter2"})
        return {"id": order_id}

    @app.get("/missing")
    def missing(ctx) -> dict:
        raise NotFound("no such thing")

    @app.get("/boom")
    def boom(ctx) -> dict:
        raise RuntimeError("database password is hunter2")

    return app


def test_handler_log_line_carries_request_fields(capsys):
    client = TestClient(make_app())
    context = lambda_context(function_name="orders-fn", memory_limit_in_mb=1024)
    resp = client.get("/orders/42", headers={"X-Correlation-Id": "corr-123"}, context=context)
    assert resp.status_code == 200
    lines = log_lines(capsys.readouterr().out)
    line = next(x for x in lines if x["message"] == "looked up order")
    assert line["level"] == "INFO"
    assert line["service"] == "orders"
    assert line["request_id"] == context.aws_request_id
    assert line["correlation_id"] == "corr-123"
    assert line["function_name"] == "orders-fn"
    assert line["function_memory_mb"] == 1024
    assert line["cold_start"] is True
    assert line["order_id"] == 42
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    # nested secrets are masked, other fields kept
    assert line["customer"] == {"email": "a@b.c", "password": "***"}


def test_access_line_per_request_with_route_template_status_and_duration(capsys):
    client = TestClient(make_app())
    client.get("/orders/7")
    client.get("/missing")
    lines = [x for x in log_lines(capsys.readouterr().out) if x["logger"] == "lift.access"]
    assert [(x["route"], x["path"], x["status"], x["method"]) for x in lines] == [
        ("/orders/{order_id}", "/orders/7", 200, "GET"),
        ("/missing", "/missing", 404, "GET"),
    ]
    assert all(isinstance(x["duration_ms"], float) and x["duration_ms"] >= 0 for x in lines)
    assert lines[0]["cold_start"] is True and lines[1]["cold_start"] is False
    assert "init_duration_ms" in lines[0] and "init_duration_ms" not in lines[1]


def test_unhandled_error_logged_with_structured_traceback_and_request_id(capsys):
    client = TestClient(make_app())
    context = lambda_context()
    resp = client.get("/boom", context=context)
    assert resp.status_code == 500
    assert "hunter2" not in resp.text
    lines = log_lines(capsys.readouterr().out)
    error = next(x for x in lines if "exception" in x)
    assert error["level"] == "ERROR"
    assert error["request_id"] == context.aws_request_id
    assert error["exception"]["type"] == "RuntimeError"
    assert "Traceback" in error["exception"]["traceback"] and "boom" in error["exception"]["traceback"]
    access = next(x for x in lines if x["logger"] == "lift.access")
    assert access["status"] == 500 and access["level"] == "ERROR"


def test_third_party_logger_comes_out_in_the_same_shape_with_request_fields(capsys):
    app = App("svc")
    app.use(request_logging())
    third_party = logging.getLogger("somelib.client")

    @app.get("/x")
    def x(ctx) -> dict:
        third_party.warning("retrying %s", "GET", extra={"attempt": 2})
        return {}

    context = lambda_context()
    TestClient(app).get("/x", context=context)
    line = next(x for x in log_lines(capsys.readouterr().out) if x["logger"] == "somelib.client")
    assert line["message"] == "retrying GET"
    assert line["level"] == "WARNING"
    assert line["attempt"] == 2
    assert line["request_id"] == context.aws_request_id


def test_tenant_and_user_set_by_later_middleware_appear(capsys):
    app = App("svc")

    def fake_auth(ctx, call_next):
        ctx.tenant_id, ctx.user_id = "acme", "u-1"
        return call_next(ctx)

    app.use(RequestLogging(), fake_auth)

    @app.get("/me")
    def me(ctx) -> dict:
        ctx.logger.info("hello")
        return {}

    TestClient(app).get("/me")
    lines = log_lines(capsys.readouterr().out)
    for line in lines:
        assert line["tenant_id"] == "acme" and line["user_id"] == "u-1"
    assert {x["message"] for x in lines} == {"hello", "GET /me 200"}


def test_trace_id_from_lambda_environment(capsys, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    TestClient(make_app()).get("/orders/1")
    lines = log_lines(capsys.readouterr().out)
    assert lines and all(x["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793" for x in lines)


@pytest.mark.parametrize(
    "env,value,debug_shown",
    [
        ("LIFT_LOG_LEVEL", "DEBUG", True),
        ("LIFT_LOG_LEVEL", "WARNING", False),
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE", True),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN", False),
    ],
)
def test_level_from_environment(capsys, monkeypatch, env, value, debug_shown):
    monkeypatch.setenv(env, value)
    lift_logging.configure(force=True)
    log = lift_logging.get_logger()
    log.debug("detail")
    log.warning("careful")
    messages = [x["message"] for x in log_lines(capsys.readouterr().out)]
    assert ("detail" in messages) is debug_shown
    assert "careful" in messages


def test_debug_sampling_is_decided_per_invocation(capsys):
    app = App("svc")
    app.use(RequestLogging(level="INFO", sample_rate=1.0))

    @app.get("/d")
    def d(ctx) -> dict:
        ctx.logger.debug("debug detail")
        return {}

    TestClient(app).get("/d")
    lines = log_lines(capsys.readouterr().out)
    debug = next(x for x in lines if x["message"] == "debug detail")
    assert debug["sampled"] is True
    # outside the invocation the configured level applies again
    lift_logging.get_logger().debug("after")
    assert log_lines(capsys.readouterr().out) == []

    app2 = App("svc")
    app2.use(RequestLogging(level="INFO", sample_rate=0.0))
    app2.get("/d")(d)
    TestClient(app2).get("/d")
    assert all(x["message"] != "debug detail" for x in log_lines(capsys.readouterr().out))


def test_redaction_of_keys_and_card_numbers_is_nested_and_configurable(capsys):
    lift_logging.configure(force=True, extra_redact_keys=["internal_note"])
    log = lift_logging.get_logger().bind(api_key="k-123")
    log.info(
        "payment",
        payment={
            "card": "4111 1111 1111 1111",
            "Authorization": "Bearer x",
            "items": [{"session-token": "t"}, {"sku": "A1"}],
        },
        internal_note="do not share",
        order_ref="1234567890123",
    )
    line = log_lines(capsys.readouterr().out)[0]
    assert line["api_key"] == "***"
    assert line["internal_note"] == "***"
    assert line["payment"]["card"] == "411111******1111"  # first six, last four (PCI DSS 3.4.1)
    assert line["payment"]["Authorization"] == "***"
    assert line["payment"]["items"] == [{"session-token": "***"}, {"sku": "A1"}]
    assert line["order_ref"] == "1234567890123"  # not a valid card number (Luhn), kept


def test_redaction_can_be_switched_off(capsys):
    lift_logging.configure(force=True, redact=False)
    lift_logging.get_logger().info("raw", password="p")
    assert log_lines(capsys.readouterr().out)[0]["password"] == "p"


def test_extras_never_override_the_fixed_fields(capsys):
    lift_logging.get_logger().info("real message", level="spoofed", message="spoofed")
    line = log_lines(capsys.readouterr().out)[0]
    assert line["message"] == "real message" and line["level"] == "INFO"


def test_every_line_is_one_json_object(capsys):
    log = lift_logging.get_logger()
    log.info("multi\nline message", data={"nested": ["a", 1, None]})
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        log.exception("failed")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2
    parsed = [json.loads(x) for x in out]
    assert parsed[0]["message"] == "multi\nline message"
    assert parsed[1]["exception"]["message"] == "bad\nvalue"


def test_bind_adds_fields_without_changing_the_parent(capsys):
    base = lift_logging.get_logger()
    child = base.bind(job="nightly")
    child.info("one")
    base.info("two")
    one, two = log_lines(capsys.readouterr().out)
    assert one["job"] == "nightly" and "job" not in two


def test_lambda_runtime_handler_is_replaced(capsys):
    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):  # pragma: no cover - must never be called
            raise AssertionError("the runtime's handler should have been removed")

    root = logging.getLogger()
    root.addHandler(LambdaLoggerHandler())
    lift_logging.configure(force=True)
    logging.getLogger("x").warning("only json")
    assert log_lines(capsys.readouterr().out)[0]["message"] == "only json"


def test_location_is_the_calling_line_for_every_method(capsys):
    log = lift_logging.get_logger()

    def caller():
        log.info("a")
        log.log(logging.WARNING, "b")
        try:
            raise KeyError("k")
        except KeyError:
            log.exception("c")
        log.error("d", exc_info=ValueError("v"))

    caller()
    lines = log_lines(capsys.readouterr().out)
    assert [x["location"].split(":")[0] for x in lines] == ["caller"] * 4
    numbers = [int(x["location"].split(":")[1]) for x in lines]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    assert lines[2]["exception"]["type"] == "KeyError"
    assert lines[3]["exception"] == {"type": "ValueError", "message": "v", "traceback": "ValueError: v\n"}


def test_unusual_field_values_still_produce_a_line(capsys):
    class Thing:
        def __repr__(self):
            return "<Thing 1>"

    lift_logging.get_logger().info("odd", thing=Thing(), by_pair={(1, 2): "x"}, tags={"a"})
    line = log_lines(capsys.readouterr().out)[0]
    assert line["thing"] == "<Thing 1>"
    assert line["by_pair"] == {"(1, 2)": "x"}
    assert line["tags"] == ["a"]


def test_log_event_at_debug_is_redacted_and_access_log_can_be_off(capsys):
    app = App("svc")
    app.use(RequestLogging(level="DEBUG", log_event=True, access_log=False))
    app.get("/e")(lambda ctx: {})
    TestClient(app, source="http").get("/e", headers={"Authorization": "Bearer secret-token"})
    lines = log_lines(capsys.readouterr().out)
    assert [x["message"] for x in lines] == ["event received"]
    event = lines[0]["event"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["headers"]["authorization"] == "***"
