"""SNS, S3 (direct, via SNS, via EventBridge), EventBridge and schedules: asynchronous invokes
whose failures raise so Lambda retries and the DLQ/destination receives them."""

from __future__ import annotations

import logging

import msgspec
import pytest

from lift import App, Context
from lift.errors import UnmatchedEvent
from lift.sources.s3 import S3Object
from lift.testing import TestClient, events, lambda_context


class Alert(msgspec.Struct):
    level: str


class Payment(msgspec.Struct):
    payment_id: str
    amount: int


class Upload(msgspec.Struct):
    bucket: str
    key: str
    size: int


# -- SNS -----------------------------------------------------------------------------------
def test_sns_typed_message_and_record_fields() -> None:
    app = App()
    got = []

    @app.sns("alerts")
    def alert(ctx: Context, body: Alert) -> None:
        rec = ctx.record
        got.append((ctx.source, body, rec.subject, rec.topic, rec.attribute("severity"), rec.timestamp[:4]))

    event = events.sns("alerts", {"level": "high"}, subject="disk", message_attributes={"severity": 3})
    assert TestClient(app).invoke(event) is None
    assert got == [("sns", Alert("high"), "disk", "alerts", "3", event["Records"][0]["Sns"]["Timestamp"][:4])]


def test_sns_attributes_of_every_type_are_given_as_documented() -> None:
    app = App()
    got = []
    names = ("s", "n", "arr", "bin", "missing")
    app.sns("alerts")(lambda ctx: got.append([ctx.record.attribute(name, "-") for name in names]))
    event = events.sns("alerts", "hi")
    event["Records"][0]["Sns"]["MessageAttributes"] = {
        "s": {"Type": "String", "Value": "x"},
        "n": {"Type": "Number", "Value": "100.5"},
        "arr": {"Type": "String.Array", "Value": '["a",1,true]'},
        "bin": {"Type": "Binary", "Value": "AAEC"},
    }
    assert TestClient(app).invoke(event) is None
    assert got == [["x", "100.5", '["a",1,true]', b"\x00\x01\x02", "-"]]


def test_sns_verbatim_aws_sample(aws_event) -> None:
    app = App()
    got = []

    @app.sns("sns-lambda")
    def on_message(ctx: Context, body: str) -> None:
        rec = ctx.record
        got.append(
            (body, rec.message_id, rec.subject, rec.attribute("Test"), rec.attribute("TestBinary"), rec.timestamp)
        )

    app.handler(aws_event("sns"), None)
    assert got == [
        (
            "Hello from SNS!",
            "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TestInvoke",
            "TestString",
            b"TestBinary",
            "2019-01-02T12:45:07.000Z",
        )
    ]


def test_sns_failure_raises_after_logging(lift_logs) -> None:
    app = App()

    @app.sns("alerts")
    def alert(body: Alert) -> None:
        raise RuntimeError("pager down")

    event = events.sns("alerts", {"level": "low"})
    with pytest.raises(RuntimeError, match="pager down"):
        TestClient(app).invoke(event)
    message_id = event["Records"][0]["Sns"]["MessageId"]
    assert any(r.levelno == logging.ERROR and r.record_id == message_id for r in lift_logs.records)


def test_sns_invalid_message_raises_validation_error(lift_logs) -> None:
    app = App()

    @app.sns("alerts")
    def alert(body: Alert) -> None:
        pass

    with pytest.raises(Exception) as info:
        TestClient(app).sns("alerts", {"lvl": "x"})
    assert getattr(info.value, "status", None) == 422
    assert any("rejected" in m and "level" in m for m in lift_logs.messages(logging.WARNING))


def test_sns_unmatched_topic_raises() -> None:
    app = App()

    @app.sns("alerts")
    def alert(body: str) -> None:
        pass

    with pytest.raises(UnmatchedEvent, match="billing"):
        TestClient(app).sns("billing", "x")


# -- S3 ------------------------------------------------------------------------------------
def test_s3_record_fields_with_decoded_key() -> None:
    app = App()
    got = []

    @app.s3("uploads", events=["ObjectCreated:*"], prefix="in/", suffix=".csv")
    def uploaded(ctx: Context, body: S3Object) -> None:
        got.append((ctx.source, body.bucket, body.key, body.size, body.etag, body.version_id, body.event_name))

    event = events.s3("uploads", "in/my report+final (1).csv", size=77, version_id="v1")
    assert "%2B" in event["Records"][0]["s3"]["object"]["key"]  # `+` in a key is sent encoded
    TestClient(app).invoke(event)
    assert got == [
        (
            "s3",
            "uploads",
            "in/my report+final (1).csv",
            77,
            "0123456789abcdef0123456789abcdef",
            "v1",
            "ObjectCreated:Put",
        )
    ]


def test_s3_verbatim_aws_sample_key_is_url_decoded(aws_event) -> None:
    app = App()
    got = []

    @app.s3("example-bucket")
    def uploaded(body: Upload) -> None:
        got.append(body)

    app.handler(aws_event("s3"), None)
    assert got == [Upload("example-bucket", "test/key", 1024)]


def test_s3_filters_by_event_prefix_and_suffix() -> None:
    app = App()
    got = []

    @app.s3("uploads", events=["s3:ObjectRemoved:*"])
    def removed(body: S3Object) -> None:
        got.append(("removed", body.key))

    @app.s3("uploads", prefix="img/", suffix=".png")
    def images(body: S3Object) -> None:
        got.append(("image", body.key))

    @app.s3("up*")
    def rest(body: S3Object) -> None:
        got.append(("rest", body.key))

    client = TestClient(app)
    client.s3("uploads", "img/a.png")
    client.s3("uploads", "img/a.png", event_name="ObjectRemoved:Delete")
    client.s3("uploads", "img/a.jpg")
    client.s3("upstream", "x")
    assert got == [("image", "img/a.png"), ("removed", "img/a.png"), ("rest", "img/a.jpg"), ("rest", "x")]


def test_s3_unmatched_key_raises() -> None:
    app = App()

    @app.s3("uploads", prefix="in/")
    def uploaded(body: S3Object) -> None:
        pass

    with pytest.raises(UnmatchedEvent, match="out/x"):
        TestClient(app).s3("uploads", "out/x")


def test_s3_via_sns_reaches_the_s3_handler() -> None:
    app = App()
    got = []

    @app.s3("uploads", events=["ObjectCreated:*"])
    def uploaded(ctx: Context, body: S3Object) -> None:
        got.append((ctx.source, body.bucket, body.key))

    TestClient(app).invoke(events.s3_via_sns("uploads-topic", "uploads", "in/a b.txt"))
    assert got == [("s3", "uploads", "in/a b.txt")]


def test_s3_via_sqs_reaches_the_s3_handler_with_sqs_batch_semantics(lift_logs) -> None:
    app = App()
    got = []
    seen_sources = []
    app.use(lambda ctx, call_next: (seen_sources.append(ctx.source), call_next(ctx))[1])

    @app.s3("uploads", events=["ObjectCreated:*"], prefix="in/")
    def uploaded(ctx: Context, body: S3Object) -> None:
        if body.key.endswith("bad.txt"):
            raise RuntimeError("cannot read it")
        got.append((ctx.source, body.bucket, body.key, body.size))

    event = events.s3_via_sqs("uploads-queue", "uploads", ["in/a b.txt", "in/bad.txt", "out/c.txt", "in/d.txt"])
    message_ids = [r["messageId"] for r in event["Records"]]
    result = TestClient(app).invoke(event)
    # the failed object and the unmatched one fail their own message (redelivered, then the DLQ); the rest succeed
    assert result == {"batchItemFailures": [{"itemIdentifier": message_ids[1]}, {"itemIdentifier": message_ids[2]}]}
    assert got == [("s3", "uploads", "in/a b.txt", 1024), ("s3", "uploads", "in/d.txt", 1024)]
    assert seen_sources == ["s3"] * 3  # middleware runs around each S3 record, not around the SQS message
    assert any("ObjectCreated:Put s3://uploads/out/c.txt" in r.getMessage() for r in lift_logs.records)


S3_TEST_EVENT = {
    "Service": "Amazon S3",
    "Event": "s3:TestEvent",
    "Time": "2026-12-01T10:00:00.000Z",
    "Bucket": "uploads",
    "RequestId": "5582815E1AEA5ADF",
    "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
}


def test_s3_via_sns_via_sqs_and_the_s3_test_event_are_handled() -> None:
    app = App()
    got = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        got.append(body.key)

    sns_body = events.sns_notification("uploads-topic", events.s3("uploads", "in/x.txt"))
    result = TestClient(app).invoke(events.sqs("uploads-queue", [sns_body, S3_TEST_EVENT]))
    assert result == {"batchItemFailures": []}
    assert got == ["in/x.txt"]


def test_the_s3_test_event_through_an_sns_topic_is_acknowledged(lift_logs) -> None:
    """S3 -> SNS -> Lambda: S3 publishes its test event to the topic when the notification is configured.
    It used to be an UnmatchedEvent (an ERROR line and a failed invocation, retried twice by Lambda)."""
    app = App()
    got = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        got.append(body.key)

    event = events.sns("uploads-topic", msgspec.json.encode(S3_TEST_EVENT).decode())
    assert TestClient(app).invoke(event) is None
    assert got == []
    assert not [r for r in lift_logs.records if r.levelno >= logging.WARNING]
    assert any("S3's test event: acknowledged" in m for m in lift_logs.messages(logging.INFO))
    # the topic's real notifications still run, and a message that is neither still fails the invocation
    assert TestClient(app).invoke(events.s3_via_sns("uploads-topic", "uploads", "in/x.txt")) is None
    assert got == ["in/x.txt"]
    with pytest.raises(UnmatchedEvent):
        TestClient(app).invoke(events.sns("uploads-topic", '{"Event": "s3:TestEvent"}'))


def test_a_message_that_only_mentions_the_s3_test_event_is_not_acknowledged() -> None:
    """A queue relayed to @app.s3 handlers: only S3's own test document is acknowledged unrun. A message of
    someone else's that merely holds the text "s3:TestEvent" was deleted as if it were one (lost unrun)."""
    app = App()
    app.s3("uploads")(lambda body: None)
    event = events.s3_via_sqs("uploads-queue", "uploads", ["in/x.txt"])
    for body in ({"kind": "s3:TestEvent", "order": 1}, {**S3_TEST_EVENT, "Service": "Billing"}, S3_TEST_EVENT):
        event["Records"] += events.sqs("uploads-queue", [body])["Records"]
    ids = [r["messageId"] for r in event["Records"]]
    result = TestClient(app).invoke(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]}


@pytest.mark.parametrize("event_name", ["s3:ObjectRestore:Completed", "s3:LifecycleTransition", "ObjectCreated:Put"])
def test_s3_event_filters_match_event_names_with_or_without_the_s3_prefix(event_name: str) -> None:
    """Restore, lifecycle, tiering and replication notifications name their event with S3's `s3:` prefix
    (`s3:ObjectRestore:Completed`): no `events=` filter matched them, not even that exact name, so the event
    failed as unmatched, was retried and went to the DLQ."""
    bare = event_name.removeprefix("s3:")
    family = bare.split(":")[0]
    for events_filter in ([bare], [f"s3:{bare}"], [f"{family}*"], [f"s3:{family}*"]):
        app = App()
        got = []
        app.s3("uploads", events=["ObjectRemoved:*", *events_filter])(
            lambda ctx, got=got: got.append(ctx.record.event_name)
        )
        app.handler(events.s3("uploads", "in/x.txt", event_name=event_name), lambda_context())
        assert got == [event_name], events_filter
    other = App()
    other.s3("uploads", events=["ObjectRemoved:*"])(lambda ctx: None)
    with pytest.raises(UnmatchedEvent):  # a filter that names another family still leaves it unmatched
        other.handler(events.s3("uploads", "in/x.txt", event_name=event_name), lambda_context())


def test_sqs_handler_for_the_queue_wins_over_s3_routing() -> None:
    app = App()
    got = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        got.append(("s3", body.key))

    @app.sqs("uploads-queue")
    def queued(body: dict) -> None:
        got.append(("sqs", body["Records"][0]["s3"]["object"]["key"]))

    TestClient(app).invoke(events.s3_via_sqs("uploads-queue", "uploads", ["in/x.txt"]))
    assert got == [("sqs", "in/x.txt")]


def test_queue_nobody_claims_with_other_messages_is_still_an_unmatched_event(lift_logs) -> None:
    app = App()
    got = []

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        got.append(body.key)

    with pytest.raises(UnmatchedEvent, match="uploads-queue"):  # no S3 notification at all: no S3 queue
        TestClient(app).invoke(events.sqs("uploads-queue", [{"not": "an s3 notification"}]))
    # a stray message among S3 notifications fails alone (it used to fail the whole batch, every time it
    # was delivered, so the notifications with it reached the dead-letter queue unhandled)
    mixed = events.sqs("uploads-queue", ["plain"])
    mixed["Records"] += events.s3_via_sqs("uploads-queue", "uploads", ["in/x.txt"])["Records"]
    context = lambda_context()
    lift_logs.records.clear()
    assert app.handler(mixed, context) == {"batchItemFailures": [{"itemIdentifier": mixed["Records"][0]["messageId"]}]}
    assert got == ["in/x.txt"]
    (line,) = [r.getMessage() for r in lift_logs.records if r.levelno >= logging.WARNING]
    assert "no S3 notification" in line and context.aws_request_id in line


def test_s3_via_eventbridge_reaches_the_s3_handler(aws_event) -> None:
    app = App()
    got = []

    @app.s3("*", events=["ObjectCreated:*"])
    def uploaded(ctx: Context, body: S3Object) -> None:
        got.append((ctx.source, body.bucket, body.key, body.size, body.etag, body.event_name))

    @app.s3("uploads", events=["ObjectRemoved:*"])
    def removed(body: S3Object) -> None:
        got.append(("removed", body.key, body.event_name))

    client = TestClient(app)
    client.invoke(aws_event("s3_eventbridge"))
    client.invoke(events.s3_via_eventbridge("uploads", "old.txt", detail_type="Object Deleted"))
    assert got == [
        ("s3", "example-bucket", "IMG_m7fzo3.jpg", 184662, "4e68adba0abe2dc8653dc3354e14c01d", "ObjectCreated:Put"),
        ("removed", "old.txt", "ObjectRemoved:Delete"),
    ]


def test_explicit_eventbridge_handler_wins_over_s3_routing() -> None:
    app = App()
    got = []

    @app.eventbridge(source="aws.s3", detail_type="Object Created")
    def raw(body: dict) -> None:
        got.append(body["object"]["key"])

    TestClient(app).invoke(events.s3_via_eventbridge("uploads", "k.txt"))
    assert got == ["k.txt"]


# -- EventBridge and schedules ----------------------------------------------------------------
def test_eventbridge_typed_detail_and_fields() -> None:
    app = App()
    got = []

    @app.eventbridge(source="payments", detail_type="PaymentSettled")
    def settled(ctx: Context, body: Payment) -> None:
        rec = ctx.record
        got.append(
            (ctx.source, body, rec.id, rec.event_source, rec.detail_type, rec.account, rec.region, rec.resources)
        )

    event = events.eventbridge(
        "payments", "PaymentSettled", {"payment_id": "p1", "amount": 5}, resources=["arn:aws:payments:::p1"]
    )
    TestClient(app).invoke(event)
    assert got == [
        (
            "eventbridge",
            Payment("p1", 5),
            event["id"],
            "payments",
            "PaymentSettled",
            "123456789012",
            "us-east-1",
            ["arn:aws:payments:::p1"],
        )
    ]


def test_eventbridge_globs_and_verbatim_sample(aws_event) -> None:
    app = App()
    got = []

    @app.eventbridge(source="aws.ec2", detail_type="EC2 Instance *")
    def ec2(ctx: Context, body: dict) -> None:
        got.append((body["state"], ctx.record.time))

    @app.eventbridge(source="payments.*")
    def payments(ctx: Context) -> None:
        got.append(ctx.record.detail_type)

    client = TestClient(app)
    client.invoke(aws_event("eventbridge"))
    client.eventbridge("payments.eu", "Refunded", {})
    assert got == [("terminated", "2017-12-22T18:43:48Z"), "Refunded"]
    with pytest.raises(UnmatchedEvent, match="shipping"):
        client.eventbridge("shipping", "Sent", {})


def test_eventbridge_failure_raises() -> None:
    app = App()

    @app.eventbridge(source="payments")
    def settled(body: Payment) -> None:
        raise RuntimeError("ledger down")

    with pytest.raises(RuntimeError, match="ledger down"):
        TestClient(app).eventbridge("payments", "PaymentSettled", {"payment_id": "p", "amount": 1})


def test_schedule_by_rule_name_and_expression() -> None:
    app = App()
    got = []

    @app.schedule("nightly-report", cron="0 3 * * ? *")
    def nightly(ctx: Context) -> None:
        got.append((ctx.source, ctx.record.rule, ctx.record.time is not None))

    @app.schedule("every-5", rate="5 minutes")
    def every5(ctx: Context) -> None:
        got.append((ctx.source, ctx.record.rule))

    client = TestClient(app)
    client.schedule("nightly-report")
    client.schedule("every-5", scheduler=True)  # EventBridge Scheduler sends the same shape
    assert got == [("schedule", "nightly-report", True), ("schedule", "every-5")]
    assert app.schedules == {"nightly-report": "cron(0 3 * * ? *)", "every-5": "rate(5 minutes)"}
    with pytest.raises(UnmatchedEvent, match="weekly"):
        client.schedule("weekly")
    with pytest.raises(ValueError):
        app.schedule("both", cron="0 1 * * ? *", rate="1 day")


def test_schedule_verbatim_aws_sample(aws_event) -> None:
    app = App()
    got = []

    @app.schedule("my-schedule")
    def tick(ctx: Context) -> None:
        got.append((ctx.record.rule, ctx.record.time, ctx.record.id))

    app.handler(aws_event("schedule"), None)
    assert got == [("my-schedule", "2019-03-01T01:23:45Z", "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c")]


def test_schedule_failure_raises(lift_logs) -> None:
    app = App()

    @app.schedule("nightly")
    def nightly() -> None:
        raise RuntimeError("report failed")

    with pytest.raises(RuntimeError):
        TestClient(app).schedule("nightly")
    assert any("schedule record" in m for m in lift_logs.messages(logging.ERROR))


def test_eventbridge_record_source_is_the_events_source(aws_event) -> None:
    app = App()
    got = []

    @app.eventbridge(source="aws.ec2")
    def ec2(ctx: Context) -> None:
        got.append((ctx.source, ctx.record.source, ctx.record.event_source))

    @app.schedule("every-5")
    def tick(ctx: Context) -> None:
        got.append((ctx.source, ctx.record.source))

    client = TestClient(app)
    client.invoke(aws_event("eventbridge"))
    client.schedule("every-5")
    client.schedule("every-5", scheduler=True)
    assert got == [("eventbridge", "aws.ec2", "aws.ec2"), ("schedule", "aws.events"), ("schedule", "aws.scheduler")]


def test_scheduler_detail_sent_as_json_text_is_parsed() -> None:
    app = App()
    got = []

    @app.schedule("cleanup")
    def cleanup(ctx: Context, body: dict) -> None:  # EventBridge Scheduler sends "detail": "{}"
        got.append((body, ctx.record.detail))

    @app.eventbridge(source="billing")
    def billing(body: Payment) -> None:
        got.append(body)

    client = TestClient(app)
    event = events.schedule("cleanup", scheduler=True)
    assert event["detail"] == "{}"
    client.invoke(event)
    client.invoke(events.eventbridge("billing", "Charged", '{"payment_id": "p9", "amount": 3}'))
    assert got == [({}, {}), Payment("p9", 3)]


def test_s3_via_eventbridge_via_sqs_reaches_the_s3_handler() -> None:
    app = App()
    got = []

    @app.s3("uploads", events=["ObjectCreated:*"])
    def uploaded(ctx: Context, body: S3Object) -> None:
        got.append((ctx.source, body.key, body.event_name))

    event = events.sqs_from_eventbridge("uploads-queue", [events.s3_via_eventbridge("uploads", "in/a.txt")])
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert got == [("s3", "in/a.txt", "ObjectCreated:Put")]


def test_a_queue_whose_messages_only_mention_an_s3_arn_is_not_taken_for_s3() -> None:
    app = App()

    @app.s3("uploads")
    def uploaded(body: S3Object) -> None:
        pass

    with pytest.raises(UnmatchedEvent):
        TestClient(app).invoke(events.sqs("audit-queue", [{"resource": "arn:aws:s3:::uploads/in/a.txt"}]))
