"""SQS: typed bodies, record fields, queue matching, envelopes (SNS raw/non-raw, EventBridge)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import msgspec
import pydantic
import pytest

from lift import App, Context
from lift.errors import UnmatchedEvent
from lift.sources.sqs import SQSRecord
from lift.testing import TestClient, events


class Order(msgspec.Struct):
    id: int
    qty: int


def test_typed_body_and_record_fields() -> None:
    app = App()
    seen = []

    @app.sqs("orders")
    def on_order(ctx: Context, body: Order) -> None:
        rec = ctx.record
        seen.append((ctx.source, body, rec.message_id, rec.receive_count, rec.attribute("kind"), rec.queue))

    event = events.sqs("orders", [{"id": 1, "qty": 2}], message_attributes={"kind": "new"}, receive_count=3)
    result = TestClient(app).invoke(event)
    assert result == {"batchItemFailures": []}
    message_id = event["Records"][0]["messageId"]
    assert seen == [("sqs", Order(1, 2), message_id, 3, "new", "orders")]


def test_verbatim_aws_sample_event_with_str_body(aws_event) -> None:
    app = App()
    bodies = []

    @app.sqs("my-queue")
    def on_message(ctx: Context, body: str) -> None:
        bodies.append((body, ctx.record.message_id, ctx.record.region, ctx.record.sent_timestamp))

    assert app.handler(aws_event("sqs"), None) == {"batchItemFailures": []}
    assert bodies == [
        ("Test message.", "059f36b4-87a3-44ab-83d2-661975830a7d", "us-east-2", 1545082649183),
        ("Test message.", "2e1424d4-f796-459a-8184-9c92662be6da", "us-east-2", 1545082650636),
    ]


def test_verbatim_fifo_sample_exposes_group(aws_event) -> None:
    app = App()
    groups = []

    @app.sqs("fifo.fifo")
    def on_message(ctx: Context) -> None:
        groups.append((ctx.record.group_id, ctx.record.deduplication_id))

    assert app.handler(aws_event("sqs_fifo"), None) == {"batchItemFailures": []}
    assert groups == [("1", "1")]


def test_bytes_and_untyped_bodies() -> None:
    app = App()
    got = []

    @app.sqs("raw")
    def raw(body: bytes) -> None:
        got.append(body)

    @app.sqs("any")
    def untyped(body) -> None:
        got.append(body)

    client = TestClient(app)
    client.sqs("raw", ["plain text"])
    client.sqs("any", [{"a": [1, 2]}, "not json"])
    assert got == [b"plain text", {"a": [1, 2]}, "not json"]


@dataclass
class Ship:
    order_id: int


class Bill(pydantic.BaseModel):
    amount: float


def test_dataclass_and_pydantic_bodies() -> None:
    app = App()
    got = []

    @app.sqs("ship")
    def ship(body: Ship) -> None:
        got.append(body)

    @app.sqs("bill")
    def bill(body: Bill) -> None:
        got.append(body)

    client = TestClient(app)
    assert client.sqs("ship", [{"order_id": 7}]) == {"batchItemFailures": []}
    assert client.sqs("bill", [{"amount": 9.5}, {"amount": "lots"}])["batchItemFailures"][0]["itemIdentifier"]
    assert got == [Ship(7), Bill(amount=9.5)]


def test_queue_glob_and_first_registration_wins() -> None:
    app = App()
    calls = []

    @app.sqs("orders-dlq")
    def dlq(ctx: Context) -> None:
        calls.append(("dlq", ctx.record.queue))

    @app.sqs("orders-*")
    def any_orders(ctx: Context) -> None:
        calls.append(("glob", ctx.record.queue))

    client = TestClient(app)
    client.sqs("orders-eu", ["{}"])
    client.sqs("orders-dlq", ["{}"])
    assert calls == [("glob", "orders-eu"), ("dlq", "orders-dlq")]


def test_unmatched_queue_raises_and_logs(lift_logs) -> None:
    app = App()

    @app.sqs("orders")
    def on_order(body: Order) -> None:
        pass

    with pytest.raises(UnmatchedEvent) as info:
        TestClient(app).sqs("payments", [{"id": 1, "qty": 1}])
    assert "payments" in info.value.message and "sqs" in info.value.message
    assert any("payments" in m for m in lift_logs.messages(logging.ERROR))


def test_sns_to_sqs_non_raw_delivery_is_unwrapped() -> None:
    app = App()
    got = []

    @app.sqs("orders")
    def on_order(ctx: Context, body: Order) -> None:
        got.append((body, ctx.record.inner.subject, ctx.record.inner.topic, ctx.record.inner.attribute("tenant")))

    event = events.sqs_from_sns(
        "orders", "order-events", [{"id": 5, "qty": 1}], subject="new order", message_attributes={"tenant": "acme"}
    )
    assert '"Type" : "Notification"' in event["Records"][0]["body"]  # the exact layout SNS writes
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert got == [(Order(5, 1), "new order", "order-events", "acme")]


def test_sns_to_sqs_raw_delivery_is_the_message() -> None:
    app = App()
    got = []

    @app.sqs("orders")
    def on_order(ctx: Context, body: Order) -> None:
        got.append((body, ctx.record.inner, ctx.record.attribute("tenant")))

    event = events.sqs_from_sns(
        "orders", "order-events", [{"id": 6, "qty": 2}], raw=True, message_attributes={"tenant": "acme"}
    )
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert got == [(Order(6, 2), None, "acme")]


def test_eventbridge_to_sqs_gives_detail() -> None:
    app = App()
    got = []

    @app.sqs("orders")
    def on_order(ctx: Context, body: Order) -> None:
        got.append((body, ctx.record.inner.detail_type, ctx.record.inner.event_source))

    ev = events.eventbridge("shop", "OrderPlaced", {"id": 8, "qty": 3})
    assert TestClient(app).invoke(events.sqs_from_eventbridge("orders", [ev])) == {"batchItemFailures": []}
    assert got == [(Order(8, 3), "OrderPlaced", "shop")]


def test_envelope_none_keeps_the_body_as_is() -> None:
    app = App()
    got = []

    @app.sqs("audit", envelope=None)
    def audit(body: dict) -> None:
        got.append(body["Type"])

    TestClient(app).invoke(events.sqs_from_sns("audit", "t", [{"x": 1}]))
    assert got == ["Notification"]


def test_a_body_that_only_mentions_envelope_keys_is_not_unwrapped() -> None:
    app = App()
    got = []

    @app.sqs("notes")
    def notes(body: dict) -> None:
        got.append(body)

    TestClient(app).sqs("notes", [{"text": 'says "TopicArn" and "detail-type"'}])
    assert got == [{"text": 'says "TopicArn" and "detail-type"'}]


def test_body_parameter_typed_as_the_record() -> None:
    app = App()
    got = []

    @app.sqs("orders")
    def on_order(body: SQSRecord) -> None:
        got.append(body.body)

    TestClient(app).sqs("orders", ["hello"])
    assert got == ["hello"]


def test_bad_envelope_and_sync_concurrency_are_registration_errors() -> None:
    app = App()
    with pytest.raises(ValueError):
        app.sqs("q", envelope="kafka")
    with pytest.raises(TypeError, match="async"):
        app.sqs("q", concurrency=4)(lambda body: None)


def test_message_attribute_values_follow_their_data_type() -> None:
    app = App()
    got = []

    @app.sqs("orders")
    def on_order(ctx: Context) -> None:
        rec = ctx.record
        got.append((rec.attribute("count"), rec.attribute("blob"), rec.attribute("missing", "-")))

    event = events.sqs("orders", [{"id": 1, "qty": 1}])
    event["Records"][0]["messageAttributes"] = {
        # a Number attribute that also carries a binaryValue (seen in published sample events)
        "count": {
            "stringValue": "100",
            "binaryValue": "base64Str",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "blob": {"binaryValue": "AAEC", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert got == [("100", b"\x00\x01\x02", "-")]


def test_a_binary_attribute_that_is_not_base64_fails_its_message_alone_with_a_warning(caplog) -> None:
    """It raised binascii.Error out of `ctx.record.attribute()`: an ERROR with a traceback, as if the handler
    had a bug; a corrupted attribute is the message's fault, logged at WARNING naming the attribute."""
    app = App()
    got = []

    @app.sqs("orders")
    def on_order(ctx: Context) -> None:
        got.append(ctx.record.attribute("blob"))

    event = events.sqs("orders", [{"id": 1}, {"id": 2}])
    for record, value in zip(event["Records"], ["AAEC", "AAE"], strict=True):  # (the second cut short)
        record["messageAttributes"] = {"blob": {"binaryValue": value, "dataType": "Binary.gzip"}}
    out = TestClient(app).invoke(event)
    assert out == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert got == [b"\x00\x01\x02"]
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.levelno == logging.WARNING and "messageAttributes.blob.binaryValue" in line.getMessage()


def test_an_eventbridge_pipes_batch_from_a_queue_runs_its_handler_with_partial_failures(caplog) -> None:
    """EventBridge Pipes hands a Lambda target its SQS source's messages as a JSON list (no `Records`)
    and takes `batchItemFailures` back, naming each failed message by its `messageId`: the list runs
    as an SQS batch (it used to reach only `@app.invoke`, with no partial failure)."""
    from lift.testing import lambda_context

    app = App()
    seen: list[int] = []

    @app.sqs("orders")
    def on_order(ctx: Context, body: Order) -> None:
        seen.append(body.id)
        if body.qty < 0:
            raise ValueError("negative quantity")

    pipe_batch = events.sqs("orders", [{"id": 1, "qty": 1}, {"id": 2, "qty": -1}, {"id": 3, "qty": 1}])["Records"]
    context = lambda_context()
    assert app.handler(pipe_batch, context) == {"batchItemFailures": [{"itemIdentifier": pipe_batch[1]["messageId"]}]}
    assert seen == [1, 2, 3]
    (line,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert pipe_batch[1]["messageId"] in line.getMessage() and context.aws_request_id in line.getMessage()

    invoked = App()  # an app without @app.sqs still gets the whole list in @app.invoke, as before
    invoked.invoke(lambda body: len(body))
    assert invoked.handler(pipe_batch, lambda_context()) == 3


class _Line(msgspec.Struct):
    id: str
    qty: int


@pytest.mark.parametrize(
    "options",
    [{}, {"envelope": "sns"}, {"envelope": "eventbridge"}, {"concurrency": 2}],
    ids=["auto", "sns", "eb", "n2"],
)
def test_a_fifo_batchs_failures_are_reported_in_the_order_of_the_batch(options: dict) -> None:
    from lift.testing import lambda_context

    app = App()
    ran: list[str] = []

    if "concurrency" in options:

        @app.sqs("orders.fifo", **options)
        async def handle_async(body: _Line) -> None:
            ran.append(body.id)
            if body.qty < 0:
                raise RuntimeError("refused")
    else:

        @app.sqs("orders.fifo", **options)
        def handle(body: _Line) -> None:
            ran.append(body.id)
            if body.qty < 0:
                raise RuntimeError("refused")

    bodies = [{"id": str(i), "qty": -1 if i == 1 else 1} for i in range(6)]
    event = events.sqs("orders.fifo", bodies, group_ids=["A", "A", "B", "C", "A", "B"])
    event["Records"][3]["attributes"]["MessageGroupId"] = 5  # unreadable: it and every message after it fail unrun
    ids = [r["messageId"] for r in event["Records"]]
    out = app.handler(event, lambda_context())
    # was [3, 4, 5, 1] with a fixed envelope or concurrency: the messages that could not run came first
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [ids[1], ids[3], ids[4], ids[5]]
    assert sorted(ran) == ["0", "1", "2"]
