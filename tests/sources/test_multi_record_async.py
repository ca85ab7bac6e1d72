"""Multi-record asynchronous events (SNS, S3, SES): every record is handled once per attempt; a
failing record is logged alone and the invocation then fails naming the failed records."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import msgspec
import pytest

from lift import App, Context
from lift.errors import RecordsFailed, UnmatchedEvent
from lift.sources.s3 import S3Object
from lift.testing import events, lambda_context

CORPUS = Path("/work/shared/corpus/events")


class Alert(msgspec.Struct):
    level: str


def _errors(lift_logs) -> list[logging.LogRecord]:
    return [r for r in lift_logs.records if r.levelno >= logging.ERROR]


# -- SNS -----------------------------------------------------------------------------------
def test_sns_middle_record_raising_the_others_run_and_the_invocation_fails_naming_it(lift_logs) -> None:
    app = App()
    handled = []

    @app.sns("alerts")
    def alert(body: Alert) -> None:
        handled.append(body.level)
        if body.level == "mid":
            raise RuntimeError("pager down")

    event = events.sns("alerts", messages=[{"level": "low"}, {"level": "mid"}, {"level": "high"}])
    ids = [r["Sns"]["MessageId"] for r in event["Records"]]
    context = lambda_context()
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, context)
    assert handled == ["low", "mid", "high"]  # each once, the one after the failure included
    err = info.value
    assert err.record_ids == [ids[1]]
    assert str(err) == f"1 of 3 sns records failed: {ids[1]}"
    assert isinstance(err.__cause__, RuntimeError) and str(err.__cause__) == "pager down"
    errors = _errors(lift_logs)
    assert len(errors) == 1  # one line for the failed record, none for the others
    line = errors[0].getMessage()
    assert ids[1] in line and context.aws_request_id in line and "pager down" in line
    assert errors[0].record_id == ids[1] and errors[0].request_id == context.aws_request_id


def test_sns_every_record_raising_each_logged_once_and_all_named(lift_logs) -> None:
    app = App()
    handled = []

    @app.sns("alerts")
    def alert(body: str) -> None:
        handled.append(body)
        raise ValueError(f"bad {body}")

    event = events.sns("alerts", messages=["a", "b", "c"])
    ids = [r["Sns"]["MessageId"] for r in event["Records"]]
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert handled == ["a", "b", "c"]
    assert info.value.record_ids == ids
    assert str(info.value).startswith("3 of 3 sns records failed: ")
    assert str(info.value.__cause__) == "bad a"  # the first failure is the cause
    assert [type(e) for _, e in info.value.failures] == [ValueError] * 3
    errors = _errors(lift_logs)
    assert [e.record_id for e in errors] == ids


def test_sns_invalid_body_in_the_middle_is_a_warning_and_still_fails_the_invocation(lift_logs) -> None:
    app = App()
    handled = []

    @app.sns("alerts")
    def alert(body: Alert) -> None:
        handled.append(body.level)

    event = events.sns("alerts", messages=[{"level": "a"}, {"lvl": "x"}, {"level": "c"}])
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert handled == ["a", "c"]
    assert getattr(info.value.__cause__, "status", None) == 422
    assert info.value.record_ids == [event["Records"][1]["Sns"]["MessageId"]]
    assert not _errors(lift_logs)  # a validation failure stays a WARNING, as for one record
    assert sum("rejected" in m for m in lift_logs.messages(logging.WARNING)) == 1


def test_sns_with_middleware_every_record_passes_through_it_once(lift_logs) -> None:
    app = App()
    seen = []

    def mw(ctx: Context, call_next):
        seen.append(("before", ctx.record.record_id))
        try:
            return call_next(ctx)
        finally:
            seen.append(("after", ctx.record.record_id))

    app.use(mw)
    refuse = []

    @app.sns("alerts", middleware=[lambda ctx, nxt: refuse.append(ctx.record.record_id) or nxt(ctx)])
    def alert(body: str) -> None:
        if body == "b":
            raise RuntimeError("boom")

    event = events.sns("alerts", messages=["a", "b", "c"])
    ids = [r["Sns"]["MessageId"] for r in event["Records"]]
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert seen == [(w, i) for i in ids for w in ("before", "after")]
    assert refuse == ids
    assert info.value.record_ids == [ids[1]]
    assert len(_errors(lift_logs)) == 1


def test_sns_middleware_refusing_a_middle_record_fails_only_it() -> None:
    from lift.context import Response

    app = App()
    handled = []

    def guard(ctx: Context, call_next):
        if ctx.record.message == "b":
            return Response(status=403)
        return call_next(ctx)

    app.use(guard)

    @app.sns("alerts")
    def alert(body: str) -> None:
        handled.append(body)

    event = events.sns("alerts", messages=["a", "b", "c"])
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert handled == ["a", "c"]
    assert info.value.record_ids == [event["Records"][1]["Sns"]["MessageId"]]
    assert getattr(info.value.__cause__, "status", None) == 403


def test_sns_one_record_raises_its_own_exception_as_before(lift_logs) -> None:
    app = App()

    @app.sns("alerts")
    def alert(body: str) -> None:
        raise RuntimeError("pager down")

    event = events.sns("alerts", "x")
    with pytest.raises(RuntimeError, match="pager down") as info:
        app.handler(event, lambda_context())
    assert not isinstance(info.value, RecordsFailed)
    errors = _errors(lift_logs)
    assert len(errors) == 1 and errors[0].record_id == event["Records"][0]["Sns"]["MessageId"]


def test_sns_all_records_succeeding_returns_none() -> None:
    app = App()
    handled = []

    @app.sns("alerts")
    def alert(body: str) -> None:
        handled.append(body)

    assert app.handler(events.sns("alerts", messages=["a", "b"]), lambda_context()) is None
    assert handled == ["a", "b"]


def test_sns_unmatched_record_fails_before_any_record_runs() -> None:
    app = App()
    handled = []

    @app.sns("alerts")
    def alert(body: str) -> None:
        handled.append(body)

    event = events.sns("alerts", messages=["a", "b"])
    event["Records"].append(events.sns("billing", "c")["Records"][0])
    with pytest.raises(UnmatchedEvent, match="billing"):
        app.handler(event, lambda_context())
    assert handled == []  # nothing ran, so nothing runs twice on the retry


# -- S3 ------------------------------------------------------------------------------------
def _s3_event(keys: list[str]) -> dict:
    records = []
    for n, key in enumerate(keys):
        record = events.s3_record("uploads", key)
        record["s3"]["object"]["sequencer"] = f"0A1B2C3D4E5F67890{n}"
        records.append(record)
    return {"Records": records}


def test_s3_middle_record_raising_named_by_bucket_key_and_sequencer(lift_logs) -> None:
    app = App()
    handled = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        handled.append(body.key)
        if body.key == "in/b.txt":
            raise OSError("disk full")

    event = _s3_event(["in/a.txt", "in/b.txt", "in/c.txt"])
    context = lambda_context()
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, context)
    assert handled == ["in/a.txt", "in/b.txt", "in/c.txt"]
    expected = "s3://uploads/in/b.txt (sequencer 0A1B2C3D4E5F678901)"
    assert info.value.record_ids == [expected]
    assert str(info.value) == f"1 of 3 s3 records failed: {expected}"
    assert isinstance(info.value.__cause__, OSError)
    errors = _errors(lift_logs)
    assert len(errors) == 1
    assert expected in errors[0].getMessage() and context.aws_request_id in errors[0].getMessage()


def test_s3_same_key_twice_told_apart_by_sequencer() -> None:
    app = App()
    calls = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        calls.append(body.sequencer)
        raise RuntimeError("down")

    with pytest.raises(RecordsFailed) as info:
        app.handler(_s3_event(["in/a.txt", "in/a.txt"]), lambda_context())
    assert len(set(info.value.record_ids)) == 2 and calls == ["0A1B2C3D4E5F678900", "0A1B2C3D4E5F678901"]


@pytest.mark.skipif(not (CORPUS / "aws-lambda-go" / "s3-event.json").is_file(), reason="no event corpus here")
def test_s3_real_sample_records_all_handled_when_one_raises(lift_logs) -> None:
    sample = json.loads((CORPUS / "aws-lambda-go" / "s3-event.json").read_text())
    first = sample["Records"][0]
    bucket = first["s3"]["bucket"]["name"]
    records = []
    for n in range(3):
        record = copy.deepcopy(first)
        record["s3"]["object"]["key"] = f"key{n}"
        record["s3"]["object"]["sequencer"] = f"{n:016X}"
        records.append(record)
    app = App()
    handled = []

    @app.s3(bucket)
    def uploaded(body: S3Object) -> None:
        handled.append(body.key)
        if body.key == "key1":
            raise RuntimeError("thumbnailer down")

    with pytest.raises(RecordsFailed) as info:
        app.handler({"Records": records}, lambda_context())
    assert handled == ["key0", "key1", "key2"]
    assert info.value.record_ids == [f"s3://{bucket}/key1 (sequencer {1:016X})"]
    assert len(_errors(lift_logs)) == 1


def test_s3_via_sns_with_several_notifications_runs_them_all() -> None:
    app = App()
    handled = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        handled.append(body.key)
        if body.key == "in/1.txt":
            raise RuntimeError("down")

    first = events.s3_via_sns(key="in/1.txt")
    event = {"Records": first["Records"] + events.s3_via_sns(key="in/2.txt")["Records"]}
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert handled == ["in/1.txt", "in/2.txt"]
    assert info.value.record_ids[0].startswith("s3://uploads/in/1.txt (sequencer ")


# -- SES -----------------------------------------------------------------------------------
def _ses_event(recipients: list[str]) -> dict:
    return {"Records": [events.ses([r])["Records"][0] for r in recipients]}


def test_ses_middle_mail_raising_the_others_run_and_it_is_named(lift_logs) -> None:
    app = App()
    handled = []

    @app.ses("*@example.com")
    def mail(ctx: Context) -> str | None:
        to = ctx.record.recipients[0]
        handled.append(to)
        if to == "b@example.com":
            raise RuntimeError("mailbox down")
        return "STOP_RULE" if to == "c@example.com" else None

    event = _ses_event(["a@example.com", "b@example.com", "c@example.com"])
    message_id = event["Records"][1]["ses"]["mail"]["messageId"]
    context = lambda_context()
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, context)
    assert handled == ["a@example.com", "b@example.com", "c@example.com"]
    assert info.value.record_ids == [message_id]
    errors = _errors(lift_logs)
    assert len(errors) == 1 and message_id in errors[0].getMessage()
    assert context.aws_request_id in errors[0].getMessage()


def test_ses_several_mails_succeeding_keep_the_disposition() -> None:
    app = App()

    @app.ses("*@example.com")
    def mail(ctx: Context) -> str | None:
        return "STOP_RULE" if ctx.record.recipients[0] == "b@example.com" else None

    event = _ses_event(["a@example.com", "b@example.com", "c@example.com"])
    assert app.handler(event, lambda_context()) == {"disposition": "STOP_RULE"}


def test_ses_bad_return_value_fails_that_mail_only(lift_logs) -> None:
    app = App()
    handled = []

    @app.ses("*@example.com")
    def mail(ctx: Context) -> str | None:
        handled.append(ctx.record.recipients[0])
        return "BOGUS" if ctx.record.recipients[0] == "a@example.com" else None

    event = _ses_event(["a@example.com", "b@example.com"])
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert handled == ["a@example.com", "b@example.com"]
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.record_ids == [event["Records"][0]["ses"]["mail"]["messageId"]]
    assert len(_errors(lift_logs)) == 1


# -- CloudWatch Logs (several log events per delivery, the usual case) ----------------------
def test_cloudwatch_logs_middle_event_raising_the_others_run(lift_logs) -> None:
    app = App()
    handled = []

    @app.cloudwatch_logs(log_group="/aws/lambda/*")
    def on_log(ctx: Context, body: str) -> None:
        handled.append(body)
        if body == "two":
            raise RuntimeError("indexer down")

    event = events.cloudwatch_logs("/aws/lambda/orders", ["one", "two", "three"])
    with pytest.raises(RecordsFailed) as info:
        app.handler(event, lambda_context())
    assert handled == ["one", "two", "three"]
    assert info.value.record_ids == ["319531066069669833788090250798042111432896154242900001"]
    assert len(_errors(lift_logs)) == 1


def test_cloudwatch_logs_single_event_raises_its_own_exception() -> None:
    app = App()

    @app.cloudwatch_logs(log_group="/aws/lambda/*")
    def on_log(body: str) -> None:
        raise RuntimeError("indexer down")

    with pytest.raises(RuntimeError, match="indexer down") as info:
        app.handler(events.cloudwatch_logs("/aws/lambda/orders", ["one"]), lambda_context())
    assert not isinstance(info.value, RecordsFailed)
