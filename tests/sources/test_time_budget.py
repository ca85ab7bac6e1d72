"""lift.middleware.time_budget.stop_near_timeout: a batch record that would start too close to Lambda's
timeout fails unrun, alone, so the records already run are kept and the rest are redelivered (without
it, a batch running past the timeout fails whole and every record of it runs again). The Lambda context
below reports a time left that each record's handler uses up: deterministic, no clock, no sleep."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from lift import App, Context
from lift.middleware.time_budget import stop_near_timeout
from lift.testing import events
from lift.testing.context import LambdaContext


@dataclass
class SpendingContext(LambdaContext):
    """A Lambda context whose time left is what the handlers have not spent yet."""

    left_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return max(self.left_ms, 0)


def _spending_app(source: str, ran: list, cost_ms: int = 3_000) -> App:
    app = App()

    def spend(ctx: Context) -> None:
        ran.append(ctx.record.record_id)
        ctx.lambda_context.left_ms -= cost_ms

    guard = [stop_near_timeout(margin_ms=2_500)]
    decorators = {
        "sqs": app.sqs("orders*", middleware=guard),
        "kinesis": app.kinesis("clicks", middleware=guard),
        "kafka": app.kafka("orders", middleware=guard),
    }
    decorators[source](spend)
    return app


def test_the_records_a_standard_queue_has_no_time_for_fail_alone_and_the_rest_are_kept(caplog) -> None:
    ran: list = []
    event = events.sqs("orders", [{"n": i} for i in range(5)])
    ids = [r["messageId"] for r in event["Records"]]
    context = SpendingContext(left_ms=10_000)  # 10 s, 3 s a record: the fourth would start with 1 s left
    out = _spending_app("sqs", ran).handler(event, context)
    assert ran == ids[:3]
    assert out == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[3:]]}
    lines = [r for r in caplog.records if r.name.startswith("lift") and r.levelno >= logging.WARNING]
    assert [r.levelno for r in lines] == [logging.WARNING] * 2
    assert all(context.aws_request_id in r.getMessage() and "time_budget" in r.getMessage() for r in lines)
    assert ids[3] in lines[0].getMessage() and "1000 ms left" in lines[0].getMessage()


def test_a_fifo_group_and_a_stream_keep_their_order() -> None:
    ran: list = []
    event = events.sqs("orders.fifo", [{"n": i} for i in range(4)], group_ids=["a", "b", "a", "b"])
    ids = [r["messageId"] for r in event["Records"]]
    out = _spending_app("sqs", ran, cost_ms=4_000).handler(event, SpendingContext(left_ms=10_000))
    assert ran == ids[:2]  # the third would start with 2 s left: it and the group's later message fail
    assert out == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[2:]]}

    ran.clear()
    event = events.kinesis("clicks", [{"n": i} for i in range(4)])
    sequence = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    out = _spending_app("kinesis", ran, cost_ms=4_000).handler(event, SpendingContext(left_ms=10_000))
    assert ran == sequence[:2]
    assert out == {"batchItemFailures": [{"itemIdentifier": s} for s in sequence[2:]]}


def test_kafka_records_without_time_are_named_by_partition_and_offset() -> None:
    ran: list = []
    event = events.kafka("orders", [{"n": i} for i in range(3)])
    out = _spending_app("kafka", ran, cost_ms=6_000).handler(event, SpendingContext(left_ms=10_000))
    assert len(ran) == 2
    assert out == {"batchItemFailures": [{"itemIdentifier": {"topic-partition": "orders-0", "offset": 17}}]}


def test_with_time_enough_or_outside_lambda_every_record_runs() -> None:
    ran: list = []
    event = events.sqs("orders", [{"n": i} for i in range(3)])
    assert _spending_app("sqs", ran).handler(event, SpendingContext(left_ms=60_000)) == {"batchItemFailures": []}
    assert len(ran) == 3
    app = App()
    app.sqs("orders", middleware=[stop_near_timeout(margin_ms=60_000)])(lambda ctx: ran.append(ctx.source))
    assert app.handler(events.sqs("orders", [{"n": 1}]), None) == {"batchItemFailures": []}  # (no context)
    sns = App()
    sns.sns("alerts", middleware=[stop_near_timeout(margin_ms=60_000)])(lambda ctx: ran.append(ctx.source))
    sns.handler(events.sns("alerts", "hi"), SpendingContext(left_ms=1))  # not a batch source: it runs
    assert ran[-2:] == ["sqs", "sns"]


@pytest.mark.parametrize("margin", [0, -1, 1.5, "5s", None])
def test_a_margin_that_is_no_positive_int_is_refused(margin: object) -> None:
    with pytest.raises(ValueError, match="margin_ms"):
        stop_near_timeout(margin_ms=margin)  # type: ignore[arg-type]
