"""Log lines stay one valid JSON line whatever the logged values hold: exceptions whose str()
raises, objects whose repr() raises, lone surrogates, arguments that do not format, huge values.
Before, each of these lost the line (the logging module printed its own traceback on stderr)."""

from __future__ import annotations

import contextlib
import json
import logging

from lift import App
from lift.middleware.logging import RequestLogging
from lift.observability.logging import MAX_LINE_BYTES
from lift.testing import TestClient, events, lambda_context


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() of this error fails")


class Unrepresentable:
    def __repr__(self) -> str:
        raise RuntimeError("repr() fails")

    __str__ = __repr__


class ReprWithCard:
    def __repr__(self) -> str:
        return "<Charge card=4111 1111 1111 1111>"


@contextlib.contextmanager
def lift_handler_only():
    """Only Lift's handler on the root logger, as in Lambda: pytest's own capture handler makes
    a record that does not format raise out of the logging call, which Lambda's runtime never does."""
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "lift_handler", False)]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def every_line(out: str) -> list[dict]:
    """Every stdout line, each of which must be one JSON object."""
    return [json.loads(line) for line in out.splitlines()]


def make_app() -> App:
    app = App("hostile")
    app.use(RequestLogging())

    @app.get("/unprintable")
    def unprintable(ctx) -> dict:
        raise UnprintableError("x")

    @app.get("/surrogates")
    def surrogates(ctx) -> dict:
        ctx.logger.info("file \udcff.txt", name="caf\udce9", obj=Unrepresentable())
        return {}

    @app.get("/bad-args")
    def bad_args(ctx) -> dict:
        logging.getLogger("somelib").warning("retry %d of %d", "first")
        ctx.logger.info(Unrepresentable())
        return {}

    @app.get("/huge")
    def huge(ctx) -> dict:
        ctx.logger.info("payload", body="x" * 1_000_000, items=list(range(100_000)))
        ctx.logger.info("many", **{f"field{i}": "y" * 9000 for i in range(100)})
        return {}

    @app.get("/card-in-repr")
    def card_in_repr(ctx) -> dict:
        ctx.logger.info("charged", charge=ReprWithCard())
        return {}

    return app


def test_an_exception_whose_str_raises_is_one_error_line_with_the_request_id(capsys):
    context = lambda_context()
    with lift_handler_only():
        resp = TestClient(make_app()).get("/unprintable", context=context)
    assert resp.status_code == 500
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    lines = every_line(captured.out)
    failure = [x for x in lines if "exception" in x]
    assert len(failure) == 1
    assert failure[0]["level"] == "ERROR"
    assert failure[0]["request_id"] == context.aws_request_id
    assert failure[0]["exception"]["type"] == "UnprintableError"
    assert "UnprintableError" in failure[0]["exception"]["message"]
    assert "UnprintableError" in failure[0]["exception"]["traceback"]


def test_a_record_failing_with_an_exception_whose_str_raises_is_logged_readably(capsys):
    app = App("hostile")
    app.use(RequestLogging())

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        raise UnprintableError()

    context = lambda_context()
    with lift_handler_only():
        result = TestClient(app).invoke(events.sqs("orders", ["a"]), context)
    (failure,) = result["batchItemFailures"]
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    line = next(x for x in every_line(captured.out) if "exception" in x)
    assert line["level"] == "ERROR" and line["request_id"] == context.aws_request_id
    assert line["message"] == (
        f"sqs record {failure['itemIdentifier']} failed (request_id={context.aws_request_id}): "
        "UnprintableError: <UnprintableError str() failed: RuntimeError>"
    )


def test_lone_surrogates_and_unrepresentable_objects_still_make_a_json_line(capsys):
    with lift_handler_only():
        TestClient(make_app()).get("/surrogates")
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    line = next(x for x in every_line(captured.out) if x["logger"] == "lift.app")
    assert line["message"] == "file \\udcff.txt"
    assert line["name"] == "caf\\udce9"
    assert "Unrepresentable" in line["obj"] and "repr() failed" in line["obj"]


def test_arguments_that_do_not_format_keep_the_line_and_its_level(capsys):
    context = lambda_context()
    with lift_handler_only():
        TestClient(make_app()).get("/bad-args", context=context)
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    lines = every_line(captured.out)
    retry = next(x for x in lines if x["logger"] == "somelib")
    assert retry["level"] == "WARNING"
    assert retry["message"].startswith("retry %d of %d") and "'first'" in retry["message"]
    assert retry["request_id"] == context.aws_request_id
    unprintable = next(x for x in lines if x["logger"] == "lift.app")
    assert unprintable["level"] == "INFO" and "Unrepresentable" in unprintable["message"]


def test_a_huge_line_is_shrunk_to_what_cloudwatch_takes(capsys):
    context = lambda_context()
    TestClient(make_app()).get("/huge", context=context)
    out = capsys.readouterr().out
    assert all(len(raw.encode()) + 1 <= 256 * 1024 for raw in out.splitlines())
    lines = every_line(out)
    payload = next(x for x in lines if x["message"] == "payload")
    assert payload["request_id"] == context.aws_request_id
    assert payload["body"].startswith("xxxx") and payload["truncated"]["bytes"] > MAX_LINE_BYTES
    assert payload["items"][:3] == [0, 1, 2]
    many = next(x for x in lines if x["message"] == "many")
    assert many["request_id"] == context.aws_request_id and many["level"] == "INFO"
    assert "field0" in many["truncated"]["fields_dropped"]


def test_a_card_number_in_an_objects_repr_is_masked(capsys):
    TestClient(make_app()).get("/card-in-repr")
    line = next(x for x in every_line(capsys.readouterr().out) if x["message"] == "charged")
    assert "4111 1111 1111 1111" not in line["charge"]
    assert "411111******1111" in line["charge"]


def test_cycles_deep_nesting_and_huge_numbers_still_make_a_line(capsys):
    from lift.observability.logging import get_logger

    deep: list = []
    innermost = deep
    for _ in range(10_000):
        innermost.append([])
        innermost = innermost[0]
    cyclic: dict = {"a": 1}
    cyclic["self"] = cyclic
    log = get_logger()
    with lift_handler_only():
        log.info("deep", data=deep)
        log.info("cyclic", data=cyclic)
        log.info("huge", number=10**5000, nan=float("nan"))
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    lines = {x["message"]: x for x in every_line(captured.out)}
    assert set(lines) == {"deep", "cyclic", "huge"}
    assert lines["cyclic"]["data"]["a"] == 1
    assert lines["huge"]["number"] == "<int of 16610 bits>" and lines["huge"]["nan"] is None


def test_a_traceback_cut_to_fit_a_line_keeps_the_exception_that_was_raised(capsys):
    """Before, a line over 256 KB cut the traceback to its first 8192 characters: the end, which
    names the exception raised and the frame that raised it, was what got lost."""
    from lift.observability import logging as lift_logging

    def fail() -> None:
        try:
            raise ValueError("x" * 300_000)  # the cause: a huge first part of the traceback
        except ValueError as exc:
            raise RuntimeError("the final error") from exc

    with lift_handler_only():
        try:
            fail()
        except RuntimeError:
            lift_logging.get_logger().exception("it failed")
    (raw,) = capsys.readouterr().out.splitlines()
    assert len(raw.encode()) + 1 <= 256 * 1024
    line = json.loads(raw)
    traceback = line["exception"]["traceback"]
    assert line["truncated"]["bytes"] > 300_000 and len(traceback) <= 8192
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.rstrip().endswith("RuntimeError: the final error") and "characters]..." in traceback
