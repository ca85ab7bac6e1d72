"""The JSON log line's fast paths give the line the slow paths gave: the correlation id read from
the event's own header dict, the card-number pre-check, the redaction walk skipped for a
validator's clean report. Each case here would come out differently if a fast path were wrong."""

from __future__ import annotations

import io
import json
import random
import re

import msgspec
import pytest

from lift import App
from lift.middleware.logging import RequestLogging
from lift.observability import logging as lift_logging
from lift.observability.redaction import Redactor, may_hold_card
from lift.sources import alb as alb_source
from lift.sources import apigw_http, apigw_rest
from lift.testing import TestClient, events, lambda_context
from observability.emf_spec import log_lines


def correlated(event: dict) -> str | None:
    """What the log line's correlation id is made of, through `first_header` and through `headers`."""
    source = {"rest": apigw_rest, "http": apigw_http, "alb": alb_source}
    kind = "alb" if "elb" in event.get("requestContext", {}) else "http" if "rawPath" in event else "rest"
    fast = source[kind].request_from_event(event).first_header("x-correlation-id", "x-request-id")
    headers = source[kind].request_from_event(event).headers
    slow = headers.get("x-correlation-id") or headers.get("x-request-id") or None
    assert fast == slow
    return fast


@pytest.mark.parametrize(
    "build", [lambda h: events.apigw_rest("GET", "/a", headers=h), lambda h: events.apigw_http("GET", "/a", headers=h)]
)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Correlation-Id": "c-1"}, "c-1"),
        ({"x-correlation-id": "c-2"}, "c-2"),
        ({"X-Correlation-ID": "c-3"}, "c-3"),
        ({"X-CORRELATION-ID": "c-4"}, "c-4"),  # no probe matches: the case-insensitive lookup finds it
        ({"x-CoRrElAtIoN-iD": "c-5", "X-Request-Id": "r-5"}, "c-5"),  # the first name wins, any spelling
        ({"X-Request-Id": "r-6"}, "r-6"),
        ({"X-REQUEST-ID": "r-7"}, "r-7"),
        ({"X-Correlation-Id": "", "X-Request-Id": "r-8"}, "r-8"),  # an empty value is no id
        ({"X-Forwarded-Port": "443"}, None),
    ],
)
def test_the_correlation_id_is_what_the_case_insensitive_headers_give(build, headers, expected):
    assert correlated(build(headers)) == expected


def test_rest_reads_the_first_of_several_values_and_headers_only_in_the_single_value_dict():
    event = events.apigw_rest("GET", "/a")
    event["multiValueHeaders"]["X-Correlation-Id"] = ["first", "second"]
    event["headers"]["X-Correlation-Id"] = "second"  # API Gateway's `headers` holds the last value
    assert correlated(event) == "first"
    event = events.apigw_rest("GET", "/a")
    event["headers"]["x-request-id"] = "only-single"  # a hand-edited event: REST merges it in
    assert correlated(event) == "only-single"
    event = events.apigw_rest("GET", "/a")
    event["multiValueHeaders"]["X-Correlation-Id"] = []  # no value: not a header
    event["headers"]["X-Correlation-Id"] = "from-single"
    assert correlated(event) == "from-single"


def test_alb_with_and_without_multi_value_headers():
    event = events.alb("GET", "/a", headers={"x-correlation-id": "alb-1"})
    assert correlated(event) == "alb-1"
    event = events.alb("GET", "/a", headers={"X-Request-ID": "alb-2"})
    assert correlated(event) == "alb-2"


def test_probing_builds_no_headers_but_built_headers_are_read():
    event = events.apigw_rest("GET", "/a", headers={"X-Correlation-Id": "c-1"})
    request = apigw_rest.request_from_event(event)
    assert request.first_header("x-correlation-id") == "c-1"
    assert request._headers is None  # nothing built for one header
    request.headers._values["x-correlation-id"] = ["changed-by-middleware"]
    assert request.first_header("x-correlation-id") == "changed-by-middleware"


def test_the_log_line_carries_the_callers_correlation_id_under_any_spelling(capsys):
    app = App("orders")
    app.use(RequestLogging())

    @app.get("/orders/{order_id}")
    def get_order(ctx, order_id: int) -> dict:
        ctx.logger.info("read")
        return {"id": order_id}

    client = TestClient(app)
    for header, value in (("X-Correlation-Id", "a-1"), ("X-CORRELATION-ID", "a-2"), ("x-request-id", "a-3")):
        capsys.readouterr()
        client.get("/orders/1", headers={header: value})
        line = next(x for x in log_lines(capsys.readouterr().out) if x["message"] == "read")
        assert line["correlation_id"] == value
    context = lambda_context(function_name="orders-fn")
    client.get("/orders/1", context=context)
    line = next(x for x in log_lines(capsys.readouterr().out) if x["message"] == "read")
    assert line["correlation_id"] == context.aws_request_id


# -- the card-number pre-check ------------------------------------------------------------------
_QUICK = re.compile(r"[0-9][0-9 -]{11,}[0-9]")


def test_the_pre_check_agrees_with_the_regex_on_every_kind_of_string():
    rng = random.Random(7)
    alphabet = "0123456789 -ab\u00e9\u0663\ud800x"  # an Arabic-Indic digit and a lone surrogate too
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(4000)]
    samples += ["4111 1111 1111 1111", "4111-1111-1111-1111", "------------- 1", "1" * 12, "1" * 13, " " * 20]
    for text in samples:
        assert may_hold_card(text) == (len(text) >= 13 and _QUICK.search(text) is not None), repr(text)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("4111111111111111", "411111******1111"),
        ("4111 1111 1111 1111", "411111******1111"),
        ("4111-1111-1111-1111", "411111******1111"),
        ("paid with 5500-0000-0000-0004 today", "paid with 550000******0004 today"),
        ("ref 0c2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6 card 378282246310005.", None),
    ],
)
def test_card_numbers_are_masked_in_every_string_of_a_line(value, masked):
    redactor = Redactor()
    out = redactor.redact({"note": value, "nested": {"deeper": [{"text": value}]}, "n": 4111111111111111})
    expected = masked or value.replace("378282246310005", "378282*****0005")
    assert out["note"] == expected
    assert out["nested"]["deeper"][0]["text"] == expected
    assert out["n"] == 4111111111111111  # a number is no text: kept (as before)


def test_secrets_under_nested_keys_are_masked_whatever_the_value_type():
    redactor = Redactor(extra_keys=["internal-note"])
    out = redactor.redact(
        {"a": {"b": [{"Password": 1234, "pin": 0, "API_KEY": None, "x": {"Internal_Note": "short"}}]}, "ok": "kept"}
    )
    assert out == {
        "a": {"b": [{"Password": "***", "pin": "***", "API_KEY": None, "x": {"Internal_Note": "***"}}]},
        "ok": "kept",
    }


# -- the App's 4xx line ---------------------------------------------------------------------------
class NewUser(msgspec.Struct):
    email: str
    age: int
    tags: dict[str, int] = {}


def invalid_post_line(capsys, body: dict, **configure) -> dict:
    lift_logging.configure(force=True, level="INFO", **configure)
    app = App("users")

    @app.post("/users", status=201)
    def create(ctx, body: NewUser) -> dict:
        return {}

    capsys.readouterr()
    resp = TestClient(app).post("/users", json=body)
    assert resp.status_code == 422
    return next(x for x in log_lines(capsys.readouterr().out) if x["message"].startswith("422"))


def test_the_4xx_line_of_a_clean_report_is_the_report(capsys):
    line = invalid_post_line(capsys, {"age": "x"})
    assert line["details"] == [
        {"location": "body", "path": "$.email", "message": "Object missing required field `email`"},
        {"location": "body", "path": "$.age", "message": "Expected `int`, got `str`"},
    ]


def test_a_report_quoting_the_input_is_still_redacted(capsys):
    line = invalid_post_line(capsys, {"email": "a@b.c", "age": 1, "tags": {"4111 1111 1111 1111": "x"}})
    text = json.dumps(line)
    assert "4111 1111 1111 1111" not in text and "411111******1111" in text


def test_a_redactor_whose_keys_cover_the_problems_keys_masks_a_clean_report(capsys):
    line = invalid_post_line(capsys, {"age": "x"}, redact_keys=["path"])
    assert [p["path"] for p in line["details"]] == ["***", "***"]


def test_a_line_is_byte_identical_with_redaction_on_and_off_when_nothing_is_secret():
    stream = io.StringIO()
    for redact in (True, False):
        lift_logging.configure(force=True, stream=stream, redact=redact)
        log = lift_logging.get_logger(order="o-1")
        log.info("paid", amount=12.5, items=[{"sku": "A1", "qty": 2}], note="ref 0c2e3f4a-5b6c-4d7e-8f90", n=None)
    first, second = (json.loads(x) for x in stream.getvalue().splitlines())
    first.pop("timestamp"), second.pop("timestamp")
    assert first == second
    assert list(first) == list(second)


def test_the_trace_id_is_the_invocations_read_once_per_request_unless_a_middleware_set_one(monkeypatch):
    from lift.context import Context
    from lift.observability import tracing

    stream = io.StringIO()
    lift_logging.configure(force=True, stream=stream)
    first, second = "1-5759e988-bd862e3fe1be46a994272793", "1-6b136713-4d179ea2c40f428e8e85a7a9"
    app = App("orders")
    for root in (first, second):  # one invocation each: each request's lines carry its own trace
        monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1")
        ctx = Context(app, events.apigw_rest("GET", "/a"), lambda_context(), "rest")
        token = lift_logging.bind_context(ctx)
        log = lift_logging.logger_for(ctx)
        log.info("before")
        trace_token = tracing.set_current(tracing.parse_xray_header(f"Root=1-00000000-{'a' * 24};Sampled=1"))
        log.info("after")  # a middleware's trace wins, line by line
        tracing.reset_current(trace_token)
        lift_logging.reset_context(token)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [x["trace_id"] for x in lines] == [first, f"1-00000000-{'a' * 24}", second, f"1-00000000-{'a' * 24}"]
