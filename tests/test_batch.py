"""Batch semantics: partial failures, FIFO groups, stream checkpoints, validation failures,
middleware around every record, async handlers and concurrency."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import msgspec
import pytest

from lift import App, Context, Response
from lift.errors import Forbidden, UnmatchedEvent
from lift.testing import TestClient, events, lambda_context


class Job(msgspec.Struct):
    n: int


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs():
    logger = logging.getLogger("lift")
    handler, level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def ids(event: dict) -> list[str]:
    return [r["messageId"] for r in event["Records"]]


def failures(result: dict) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def test_mixed_batch_reports_only_failed_records(logs) -> None:
    app = App()
    done = []

    @app.sqs("jobs")
    def work(body: Job) -> None:
        if body.n % 2:
            raise RuntimeError(f"odd {body.n}")
        done.append(body.n)

    event = events.sqs("jobs", [{"n": i} for i in range(6)])
    result = TestClient(app).invoke(event)
    assert failures(result) == [ids(event)[1], ids(event)[3], ids(event)[5]]
    assert done == [0, 2, 4]
    errors = [r for r in logs.records if r.levelno == logging.ERROR]
    assert [r.record_id for r in errors] == failures(result)
    assert all(r.exc_info for r in errors)  # unexpected errors carry their traceback


def test_validation_failure_is_a_failed_record_with_a_log_line(logs) -> None:
    app = App()
    done = []

    @app.sqs("jobs")
    def work(body: Job) -> None:
        done.append(body.n)

    event = events.sqs("jobs", [{"n": 1}, {"n": "one"}, "{not json", {"n": 4}])
    result = TestClient(app).invoke(event)
    assert failures(result) == [ids(event)[1], ids(event)[2]]
    assert done == [1, 4]
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    assert [r.record_id for r in warnings] == failures(result)
    assert "$.n" in warnings[0].getMessage() and "validation_failed" in warnings[0].getMessage()
    assert "invalid_json" in warnings[1].getMessage()


def test_fifo_group_stops_after_first_failure_other_groups_continue(logs) -> None:
    app = App()
    ran = []

    @app.sqs("orders.fifo")
    def work(ctx: Context, body: Job) -> None:
        ran.append((ctx.record.group_id, body.n))
        if body.n == 1:
            raise RuntimeError("boom")

    groups = ["a", "a", "b", "a", "b"]
    event = events.sqs("orders.fifo", [{"n": i} for i in range(5)], group_ids=groups)
    result = TestClient(app).invoke(event)
    # record 1 (group a) fails: records 3 (group a) is failed without running; group b runs on
    assert failures(result) == [ids(event)[1], ids(event)[3]]
    assert ran == [("a", 0), ("a", 1), ("b", 2), ("b", 4)]
    assert any("not run" in r.getMessage() and r.record_id == ids(event)[3] for r in logs.records)


def test_standard_queue_with_group_ids_does_not_skip() -> None:
    app = App()
    ran = []

    @app.sqs("fair")
    def work(body: Job) -> None:
        ran.append(body.n)
        if body.n == 0:
            raise RuntimeError("boom")

    event = events.sqs("fair", [{"n": 0}, {"n": 1}], group_id="tenant-1")
    assert failures(TestClient(app).invoke(event)) == [ids(event)[0]]
    assert ran == [0, 1]


def test_kinesis_failure_checkpoints_the_rest_of_its_shard() -> None:
    app = App()
    ran = []

    @app.kinesis("clicks")
    def work(body: Job) -> None:
        ran.append(body.n)
        if body.n == 1:
            raise RuntimeError("boom")

    event = events.kinesis("clicks", [{"n": i} for i in range(4)])
    result = TestClient(app).invoke(event)
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert failures(result) == seqs[1:]
    assert ran == [0, 1]


def test_kinesis_shards_checkpoint_independently() -> None:
    app = App()
    ran = []

    @app.kinesis("clicks")
    def work(body: Job) -> None:
        ran.append(body.n)
        if body.n == 0:
            raise RuntimeError("boom")

    records = [
        events.kinesis_record({"n": 0}, shard_id="shardId-000000000001"),
        events.kinesis_record({"n": 1}, shard_id="shardId-000000000002"),
        events.kinesis_record({"n": 2}, shard_id="shardId-000000000001"),
    ]
    result = TestClient(app).invoke(events.kinesis("clicks", records=records))
    seqs = [r["kinesis"]["sequenceNumber"] for r in records]
    assert failures(result) == [seqs[0], seqs[2]]
    assert ran == [0, 1]


def test_dynamodb_failure_checkpoints_later_records() -> None:
    app = App()
    ran = []

    @app.dynamodb_stream("orders")
    def work(ctx: Context, body: Job) -> None:
        ran.append(body.n)
        if body.n == 1:
            raise RuntimeError("boom")

    event = events.dynamodb_stream(
        "orders", [{"keys": {"pk": str(i)}, "new_image": {"pk": str(i), "n": i}} for i in range(3)]
    )
    result = TestClient(app).invoke(event)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert failures(result) == seqs[1:]
    assert ran == [0, 1]


def test_global_middleware_runs_around_every_record_and_sees_the_source() -> None:
    app = App()
    seen = []

    def mw(ctx: Context, call_next):
        seen.append(("before", ctx.source, ctx.record.record_id if ctx.record else None, ctx.is_http))
        response = call_next(ctx)
        seen.append(("after", ctx.source))
        return response

    app.use(mw)

    @app.sqs("jobs")
    def work(body: Job) -> None:
        seen.append(("handler", body.n))

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    client = TestClient(app)
    event = events.sqs("jobs", [{"n": 1}, {"n": 2}])
    client.invoke(event)
    assert seen == [
        ("before", "sqs", ids(event)[0], False),
        ("handler", 1),
        ("after", "sqs"),
        ("before", "sqs", ids(event)[1], False),
        ("handler", 2),
        ("after", "sqs"),
    ]
    seen.clear()
    assert client.get("/ping").text == "pong"
    assert seen == [("before", "rest", None, True), ("after", "rest")]


def test_middleware_added_after_registration_wraps_records_too() -> None:
    app = App()
    order = []

    @app.sns("alerts", middleware=[lambda ctx, nxt: (order.append("own"), nxt(ctx))[1]])
    def alert(body: str) -> None:
        order.append(body)

    app.use(lambda ctx, nxt: (order.append("global"), nxt(ctx))[1])
    TestClient(app).sns("alerts", "hi")
    assert order == ["global", "own", "hi"]


def test_middleware_refusal_fails_the_record() -> None:
    app = App()
    ran = []

    def only_even(ctx: Context, call_next):
        if ctx.record.payload()["n"] % 2:
            return Response({"error": "refused"}, 429)
        return call_next(ctx)

    app.use(only_even)

    @app.sqs("jobs")
    def work(body: Job) -> None:
        ran.append(body.n)

    event = events.sqs("jobs", [{"n": 0}, {"n": 1}])
    assert failures(TestClient(app).invoke(event)) == [ids(event)[1]]
    assert ran == [0]


def test_middleware_raising_fails_only_that_record() -> None:
    app = App()

    def deny_second(ctx: Context, call_next):
        if ctx.record.payload()["n"] == 2:
            raise Forbidden("no")
        return call_next(ctx)

    app.use(deny_second)

    @app.sqs("jobs")
    def work(body: Job) -> None:
        pass

    event = events.sqs("jobs", [{"n": 1}, {"n": 2}, {"n": 3}])
    assert failures(TestClient(app).invoke(event)) == [ids(event)[1]]


def test_async_handler_runs_on_the_shared_loop() -> None:
    app = App()
    loops = []

    @app.sqs("jobs")
    async def work(body: Job) -> None:
        await asyncio.sleep(0)
        loops.append(id(asyncio.get_running_loop()))
        if body.n == 2:
            raise RuntimeError("boom")

    event = events.sqs("jobs", [{"n": 1}, {"n": 2}])
    client = TestClient(app)
    assert failures(client.invoke(event)) == [ids(event)[1]]
    client.sqs("jobs", [{"n": 3}])
    assert len(loops) == 3 and len(set(loops)) == 1


def test_an_async_handlers_failure_is_logged_with_its_own_traceback_only(logs) -> None:
    """The traceback operators read names the handler's exception alone: it was raised inside
    run_async's `except RuntimeError` and so carried "no running event loop" as its context."""
    app = App()

    @app.sqs("jobs")
    async def work(body: Job) -> None:
        raise ValueError(f"job {body.n} refused")

    event = events.sqs("jobs", [{"n": 1}])
    assert failures(TestClient(app).invoke(event)) == ids(event)
    (line,) = [r for r in logs.records if r.levelno == logging.ERROR]
    assert isinstance(line.exc_info[1], ValueError) and line.exc_info[1].__context__ is None
    text = logging.Formatter().formatException(line.exc_info)
    assert "job 1 refused" in text and "no running event loop" not in text and "During handling" not in text


def test_an_async_handler_whose_own_await_is_cancelled_fails_alone(logs) -> None:
    """asyncio.CancelledError is a BaseException: from a handler's coroutine it passed every `except
    Exception` and failed the whole batch (the records after it never ran), or escaped an HTTP request."""
    app = App()
    ran = []

    @app.sqs("jobs")
    async def work(body: Job) -> None:
        if body.n == 1:
            pending = asyncio.ensure_future(asyncio.sleep(10))
            pending.cancel()
            await pending
        ran.append(body.n)

    @app.get("/cancelled")
    async def cancelled() -> dict:
        await asyncio.sleep(0)
        raise asyncio.CancelledError

    event = events.sqs("jobs", [{"n": 0}, {"n": 1}, {"n": 2}])
    assert failures(TestClient(app).invoke(event)) == [ids(event)[1]]
    assert ran == [0, 2]
    (line,) = [r for r in logs.records if r.levelno == logging.ERROR]
    assert "cancelled" in line.getMessage() and ids(event)[1] in line.getMessage()
    response = TestClient(app).get("/cancelled")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    assert TestClient(app).invoke(events.sqs("jobs", [{"n": 3}])) == {"batchItemFailures": []}  # the loop lives on


def test_concurrency_runs_async_records_at_the_same_time() -> None:
    app = App()
    active, peak = [0], [0]
    lock = threading.Lock()

    deadline: list[float] = []

    @app.sqs("jobs", concurrency=4)
    async def work(body: Job) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            deadline[:] = deadline or [time.monotonic() + 10]
        # in flight until four are at once, however late a loaded machine starts the others (the wait,
        # bounded, only runs out when the records are not run at the same time)
        while peak[0] < 4 and time.monotonic() < deadline[0]:
            await asyncio.sleep(0.001)
        with lock:
            active[0] -= 1
        if body.n == 5:
            raise RuntimeError("boom")

    event = events.sqs("jobs", [{"n": i} for i in range(8)])
    result = TestClient(app).invoke(event)
    assert failures(result) == [ids(event)[5]]
    assert peak[0] == 4  # four records in flight at once, never more


def test_concurrency_keeps_fifo_group_order() -> None:
    app = App()
    ran: list[tuple[str, int]] = []

    @app.sqs("jobs.fifo", concurrency=3)
    async def work(ctx: Context, body: Job) -> None:
        await asyncio.sleep(0.01 * (3 - body.n % 3))
        ran.append((ctx.record.group_id, body.n))
        if body.n == 1:
            raise RuntimeError("boom")

    groups = ["a", "a", "b", "a", "b", "c"]
    event = events.sqs("jobs.fifo", [{"n": i} for i in range(6)], group_ids=groups)
    result = TestClient(app).invoke(event)
    assert failures(result) == [ids(event)[1], ids(event)[3]]
    assert [n for g, n in ran if g == "a"] == [0, 1]
    assert [n for g, n in ran if g == "b"] == [2, 4]
    assert [n for g, n in ran if g == "c"] == [5]


def test_concurrent_batch_with_middleware_and_context_per_record() -> None:
    app = App()
    seen = []

    def tag(ctx: Context, call_next):
        ctx.state["id"] = ctx.record.message_id
        return call_next(ctx)

    app.use(tag)

    @app.sqs("jobs", concurrency=2)
    async def work(ctx: Context, body: Job) -> None:
        await asyncio.sleep(0.01)
        seen.append(ctx.state["id"] == ctx.record.message_id)

    TestClient(app).sqs("jobs", [{"n": i} for i in range(4)])
    assert seen == [True] * 4


def test_handler_raising_a_msgspec_error_runs_once_and_fails() -> None:
    app = App()
    calls = []

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        calls.append(body.n)
        msgspec.json.decode(b"{broken")  # the handler's own bug, not the record's body

    event = events.sqs("jobs", [{"n": 1}])
    assert failures(TestClient(app).invoke(event)) == ids(event)
    assert calls == [1]


def test_empty_body_uses_the_default() -> None:
    app = App()
    got = []

    @app.sqs("jobs")
    def work(ctx: Context, body: Job | None = None) -> None:
        got.append(body)

    TestClient(app).sqs("jobs", ["", {"n": 2}])
    assert got == [None, Job(2)]


def test_body_only_handler_still_unwraps_envelopes_and_reports_refusals() -> None:
    app = App()
    got = []

    @app.sqs("jobs")
    def work(body: Job) -> Response | None:
        got.append(body.n)
        return Response({"error": "later"}, 503) if body.n == 3 else None

    event = events.sqs_from_sns("jobs", "job-events", [{"n": 1}, {"n": 3}])
    event["Records"] += events.sqs("jobs", [{"n": 2}, {"n": "bad"}])["Records"]
    result = TestClient(app).invoke(event)
    assert failures(result) == [ids(event)[1], ids(event)[3]]
    assert got == [1, 3, 2]


def test_body_only_batch_ends_the_cold_start() -> None:
    app = App()
    cold = []

    @app.sqs("jobs")
    def work(body: Job) -> None:
        pass

    @app.sns("alerts")
    def alert(ctx: Context) -> None:
        cold.append(ctx.cold_start)

    client = TestClient(app)
    client.sqs("jobs", [{"n": 1}])
    client.sns("alerts", "x")
    assert cold == [False]


def test_middleware_added_later_runs_for_body_only_handlers() -> None:
    app = App()
    seen = []

    @app.sqs("jobs")
    def work(body: Job) -> None:
        seen.append(body.n)

    client = TestClient(app)
    client.sqs("jobs", [{"n": 1}])
    app.use(lambda ctx, call_next: (seen.append(ctx.record.message_id[:0] + "mw"), call_next(ctx))[1])
    client.sqs("jobs", [{"n": 2}])
    assert seen == [1, "mw", 2]


# -- the short way for plain messages: one context per message, never shared ---------------------
def test_ctx_body_handler_gets_its_own_context_and_record_per_message() -> None:
    app = App()
    kept: list[tuple[Context, Job]] = []

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        kept.append((ctx, body))  # a handler may keep its context: later messages must not change it

    event = events.sqs("jobs", [{"n": i} for i in range(4)], receive_count=2)
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert len({id(ctx) for ctx, _ in kept}) == 4
    assert [(ctx.record.message_id, ctx.record.receive_count, body.n) for ctx, body in kept] == [
        (message_id, 2, n) for n, message_id in enumerate(ids(event))
    ]
    assert [ctx.source for ctx, _ in kept] == ["sqs"] * 4 and all(not ctx.is_http for ctx, _ in kept)


def test_ctx_state_and_identity_never_leak_to_the_next_message() -> None:
    app = App()
    seen = []

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        seen.append((dict(ctx.state), ctx.user_id))
        ctx.state["n"] = body.n
        ctx.user_id = f"user-{body.n}"

    TestClient(app).sqs("jobs", [{"n": 1}, {"n": 2}, {"n": 3}])
    assert seen == [({}, None)] * 3


def test_first_context_of_a_batch_is_the_cold_start() -> None:
    app = App()
    cold = []

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        cold.append(ctx.cold_start)

    client = TestClient(app)
    client.sqs("jobs", [{"n": 1}, {"n": 2}])
    client.sqs("jobs", [{"n": 3}])
    assert cold == [True, False, False]


def test_ctx_body_handler_refusal_and_exception_fail_only_their_message(logs) -> None:
    app = App()

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> Response | None:
        if body.n == 1:
            raise RuntimeError("boom")
        return Response({"error": "later"}, 503) if body.n == 2 else None

    event = events.sqs("jobs", [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}])
    assert failures(TestClient(app).invoke(event)) == [ids(event)[1], ids(event)[2]]
    failed_logs = {r.record_id: r.getMessage() for r in logs.records if getattr(r, "record_id", None)}
    assert "RuntimeError: boom" in failed_logs[ids(event)[1]]
    assert "503" in failed_logs[ids(event)[2]]


def test_batch_assembled_from_two_queues_runs_each_with_its_handler() -> None:
    app = App()
    ran = []

    @app.sqs("jobs")
    def job(ctx: Context, body: Job) -> None:
        ran.append(("jobs", body.n, ctx.record.queue))

    @app.sqs("other")
    def other(body: Job) -> None:
        ran.append(("other", body.n))

    client = TestClient(app)
    client.sqs("jobs", [{"n": 0}])  # the queue's plan is cached first: a mixed batch must not reuse it blindly
    event = events.sqs("jobs", [{"n": 1}, {"n": 2}])
    event["Records"] += events.sqs("other", [{"n": 3}])["Records"]
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert ran == [("jobs", 0, "jobs"), ("jobs", 1, "jobs"), ("jobs", 2, "jobs"), ("other", 3)]


@pytest.mark.parametrize("handled", [True, False], ids=["its-handler", "nobody"])
def test_a_message_of_another_queue_inside_a_known_queues_batch_goes_to_its_own_handler(handled, logs) -> None:
    """The queue's plan is cached and the batch's first and last messages are that queue's: a message of
    another queue between them runs with its own queue's handler, or fails alone when nobody handles
    its queue (it used to run with the first queue's handler)."""
    app = App()
    ran = []

    @app.sqs("jobs")
    def job(ctx: Context, body: Job) -> None:
        ran.append(("jobs", body.n, ctx.record.queue))

    if handled:

        @app.sqs("other")
        def other(ctx: Context, body: Job) -> None:
            ran.append(("other", body.n, ctx.record.queue))

    assert app.handler(events.sqs("jobs", [{"n": 0}]), lambda_context()) == {"batchItemFailures": []}
    event = events.sqs("jobs", [{"n": 1}, {"n": 3}])
    stray = events.sqs("other", [{"n": 2}])["Records"][0]
    event["Records"].insert(1, stray)
    context = lambda_context()
    answer = app.handler(event, context)
    jobs = [("jobs", 0, "jobs"), ("jobs", 1, "jobs"), ("jobs", 3, "jobs")]
    if handled:
        assert answer == {"batchItemFailures": []}
        assert ran == [*jobs, ("other", 2, "other")]
    else:
        assert answer == {"batchItemFailures": [{"itemIdentifier": stray["messageId"]}]}
        assert ran == jobs
        (line,) = [r for r in logs.records if r.levelno >= logging.WARNING]
        assert "other" in line.getMessage() and context.aws_request_id in line.getMessage()


@pytest.mark.parametrize("source", ["sqs", "kinesis", "dynamodb"])
def test_records_of_a_queue_or_stream_nobody_handles_fail_alone_in_a_mixed_batch(source, logs) -> None:
    """A record of another queue or stream slipped into a batch (Lambda never mixes them) is reported
    failed, logged once with the request id; it used to raise UnmatchedEvent and fail every record."""
    app = App()
    ran = []
    if source == "sqs":
        app.sqs("jobs")(lambda body: ran.append(body["n"]))
        event = events.sqs("jobs", [{"n": 1}, {"n": 2}])
        stray = events.sqs("elsewhere", [{"n": 3}])["Records"][0]
        stray_id = stray["messageId"]
    elif source == "kinesis":
        app.kinesis("jobs")(lambda body: ran.append(body["n"]))
        event = events.kinesis("jobs", [{"n": 1}, {"n": 2}])
        stray = events.kinesis("elsewhere", [{"n": 3}])["Records"][0]
        stray_id = stray["kinesis"]["sequenceNumber"]
    else:
        app.dynamodb_stream("jobs")(lambda body: ran.append(int(body["n"])))
        event = events.dynamodb_stream("jobs", [{"keys": {"n": 1}}, {"keys": {"n": 2}}])
        stray = events.dynamodb_stream("elsewhere", [{"keys": {"n": 3}}])["Records"][0]
        stray_id = stray["dynamodb"]["SequenceNumber"]
    event["Records"].insert(1, stray)
    context = lambda_context()
    assert app.handler(event, context) == {"batchItemFailures": [{"itemIdentifier": stray_id}]}
    assert ran == [1, 2]
    (line,) = [r for r in logs.records if r.levelno >= logging.WARNING]
    assert "elsewhere" in line.getMessage() and context.aws_request_id in line.getMessage()
    with pytest.raises(UnmatchedEvent, match="elsewhere"):  # a batch nobody handles at all: a clear error
        app.handler({"Records": [stray]}, lambda_context())


class Loose(msgspec.Struct):  # no required field: an SNS notification would decode into it
    n: int = -1
    Message: str = ""


def test_model_an_envelope_could_decode_into_still_gets_the_inner_message() -> None:
    app = App()
    got = []

    @app.sqs("jobs")
    def work(ctx: Context, body: Loose) -> None:
        got.append((body.n, body.Message, ctx.record.inner is not None))

    event = events.sqs_from_sns("jobs", "job-events", [{"n": 7}])
    event["Records"] += events.sqs("jobs", [{"n": 8}])["Records"]
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert got == [(7, "", True), (8, "", False)]


def test_which_models_no_envelope_can_decode_into() -> None:
    from dataclasses import dataclass
    from typing import Any, TypedDict

    from lift.sources.sqs import rejects_envelopes

    class Required(msgspec.Struct):
        order_id: str
        qty: int = 0

    class OnlyEnvelopeKeys(msgspec.Struct):  # both required names exist in an SNS notification
        Message: str
        TopicArn: str

    class Renamed(msgspec.Struct, rename="camel"):
        topic_arn: str  # encoded as topicArn, not an envelope key

    @dataclass
    class Data:
        detail: dict  # no SNS notification has it
        Message: str  # no EventBridge event has it

    class Typed(TypedDict):
        order_id: str

    assert rejects_envelopes(Required) and rejects_envelopes(Renamed) and rejects_envelopes(Typed)
    assert rejects_envelopes(list[int]) and rejects_envelopes(int)
    assert not rejects_envelopes(OnlyEnvelopeKeys)
    assert not rejects_envelopes(dict) and not rejects_envelopes(Any) and not rejects_envelopes(Required | None)
    assert rejects_envelopes(Data)  # `detail` is no SNS key and `Message` no EventBridge key


def test_typed_records_under_two_middlewares_get_their_own_empty_200_result(logs) -> None:
    app = App()
    seen = []

    def outer(ctx: Context, call_next):
        result = call_next(ctx)
        seen.append(("outer", result.status, dict(result.headers), list(result.cookies), result.body, result.value))
        result.headers["X-Seen"] = "1"  # each record's result is its own: the next one starts empty
        result.set_cookie("a", "b")
        return result

    def inner(ctx: Context, call_next):
        seen.append(("inner", ctx.record.payload()))
        return call_next(ctx)

    app.use(outer, inner)

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> int:
        return body.n * 10

    event = events.sqs("jobs", [{"n": 1}, {"n": "two"}, {"n": 3}])
    assert failures(TestClient(app).invoke(event)) == [ids(event)[1]]  # the invalid body fails alone
    assert seen == [
        ("inner", {"n": 1}),
        ("outer", 200, {}, [], b"", 10),
        ("inner", {"n": "two"}),
        ("inner", {"n": 3}),
        ("outer", 200, {}, [], b"", 30),
    ]
    lines = [r.getMessage() for r in logs.records if r.levelname in ("WARNING", "ERROR")]
    assert len(lines) == 1 and ids(event)[1] in lines[0] and "$.n" in lines[0]  # one line, naming the problem


# -- under middleware: envelopes unwrapped when the record is read, one result per record --------
def _envelope_batch() -> dict:
    """Plain, SNS-wrapped, EventBridge-wrapped and invalid messages of one queue."""
    event = events.sqs("jobs", [{"n": 1}])
    event["Records"] += events.sqs_from_sns("jobs", "job-events", [{"n": 2}])["Records"]
    bridged = events.eventbridge("shop", "JobPlaced", {"n": 3})
    event["Records"] += events.sqs_from_eventbridge("jobs", [bridged])["Records"]
    event["Records"] += events.sqs("jobs", [{"n": "four"}, {"n": 5}])["Records"]
    return event


@pytest.mark.parametrize("signature", ["ctx_body", "body", "loose", "untyped"])
def test_middleware_sees_unwrapped_envelopes_and_handlers_get_the_inner_message(signature, logs) -> None:
    app = App()
    seen, got = [], []

    def look(ctx: Context, call_next):
        inner = ctx.record.inner
        seen.append(type(inner).__name__ if inner is not None else None)
        return call_next(ctx)

    app.use(look)
    if signature == "ctx_body":  # a model no envelope decodes into: bodies decoded before any scan

        @app.sqs("jobs")
        def work(ctx: Context, body: Job) -> None:
            got.append(body.n)

    elif signature == "body":

        @app.sqs("jobs")
        def work_body(body: Job) -> None:
            got.append(body.n)

    elif signature == "loose":  # an SNS notification would decode into Loose: bodies are scanned first

        @app.sqs("jobs")
        def work_loose(ctx: Context, body: Loose) -> None:
            if body.n == -1:
                raise ValueError("no n")
            got.append(body.n)

    else:

        @app.sqs("jobs")
        def work_untyped(ctx: Context, body: dict) -> None:
            got.append(Job(**body).n if isinstance(body["n"], int) else int(body["n"]))

    event = _envelope_batch()
    result = TestClient(app).invoke(event)
    assert failures(result) == [ids(event)[3]]  # "four" fails alone
    assert got == [1, 2, 3, 5]
    assert seen == [None, "SNSRecord", "EventBridgeEvent", None, None]
    lines = [r for r in logs.records if r.levelname in ("WARNING", "ERROR")]
    assert len(lines) == 1 and lines[0].record_id == ids(event)[3]


def test_middleware_can_rewrite_the_body_before_the_typed_handler_decodes_it() -> None:
    app = App()
    got = []

    def upgrade(ctx: Context, call_next):  # e.g. a schema migration: v1 bodies carry "count"
        raw = ctx.record.raw
        if '"count"' in raw["body"]:
            raw["body"] = raw["body"].replace('"count"', '"n"')
        return call_next(ctx)

    app.use(upgrade)

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        got.append(body.n)

    assert TestClient(app).sqs("jobs", [{"count": 1}, {"n": 2}]) == {"batchItemFailures": []}
    assert got == [1, 2]


def test_record_result_is_an_empty_200_response_whose_parts_are_its_own() -> None:
    from lift.batch import RecordResult

    first, second = RecordResult(7), RecordResult()
    assert isinstance(first, Response) and (first.status, first.body, first.value) == (200, b"", 7)
    assert (first.headers, first.cookies, second.value) == ({}, [], None)
    first.headers["X-A"] = "1"
    first.set_cookie("a", "b")
    first.status = 503
    assert second.headers == {} and second.cookies == [] and second.status == 200
    assert first.headers == {"X-A": "1"} and len(first.cookies) == 1 and first.status == 503
    second.headers = {"X-B": "2"}
    assert second.headers == {"X-B": "2"}


# -- a handler's None under middleware: one shared result until something changes it ----------------
def app_keeping_results() -> tuple[App, list]:
    """An App whose one middleware keeps every record's result (in the list returned with it)."""
    app, kept = App(), []

    def keep(ctx: Context, call_next):
        result = call_next(ctx)
        kept.append(result)
        return result

    app.use(keep)
    return app, kept


@pytest.mark.parametrize("signature", ["ctx_body", "body", "untyped"])
def test_records_whose_handler_returns_none_share_one_result_until_middleware_changes_it(signature) -> None:
    app, kept = app_keeping_results()
    if signature == "ctx_body":

        @app.sqs("jobs")
        def work(ctx: Context, body: Job) -> None:
            pass

    elif signature == "body":

        @app.sqs("jobs")
        def work_body(body: Job) -> None:
            pass

    else:

        @app.sqs("jobs")
        def work_untyped(ctx: Context, body: dict) -> None:
            pass

    assert TestClient(app).sqs("jobs", [{"n": 1}, {"n": 2}, {"n": 3}]) == {"batchItemFailures": []}
    # no result object made per record: the three records got the same empty 200 result
    assert kept[0] is kept[1] is kept[2]
    assert isinstance(kept[0], Response) and (kept[0].status, kept[0].body, kept[0].value) == (200, b"", None)


def test_stream_records_share_the_result_too_and_a_failure_still_stops_its_shard(logs) -> None:
    app, kept = app_keeping_results()

    @app.kinesis("clicks")
    def click(ctx: Context, body: Job) -> None:
        if body.n == 3:
            raise ValueError("three")

    event = events.kinesis("clicks", [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}])
    result = TestClient(app).invoke(event)
    sequence = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert failures(result) == sequence[2:]  # the failed record and the rest of its shard
    assert len(kept) == 2 and kept[0] is kept[1] and (kept[0].status, kept[0].value) == (200, None)


def test_a_shared_result_changed_by_middleware_becomes_that_records_own(logs) -> None:
    app = App()
    seen = []

    def outer(ctx: Context, call_next):
        result = call_next(ctx)
        seen.append((result.status, dict(result.headers), list(result.cookies), result.value))
        return result

    def inner(ctx: Context, call_next):
        result = call_next(ctx)
        n = ctx.record.payload()["n"]
        if n == 1:
            result.headers["X-N"] = "1"  # read back below, and by `outer`
            assert result.headers == {"X-N": "1"}
        elif n == 2:
            result.status = 299
            result.set_cookie("n", "2")
            result.value = "two"
            assert (result.status, result.value, len(result.cookies)) == (299, "two", 1)
        return result

    app.use(outer, inner)

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        pass

    assert TestClient(app).sqs("jobs", [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]) == {"batchItemFailures": []}
    assert seen[0] == (200, {"X-N": "1"}, [], None)
    assert seen[1][0] == 299 and seen[1][1] == {} and len(seen[1][2]) == 1 and seen[1][3] == "two"
    assert seen[2] == seen[3] == (200, {}, [], None)  # the records after them start empty again
    assert not [r for r in logs.records if r.levelname in ("WARNING", "ERROR")]


def test_middleware_can_give_a_value_to_a_handler_that_returned_none() -> None:
    app = App()

    def default_answer(ctx: Context, call_next):
        result = call_next(ctx)
        if result.value is None:
            result.value = {"answer": "default"}
        return result

    app.use(default_answer)

    @app.invoke
    def run(body: dict) -> None:
        pass

    client = TestClient(app)
    assert client.invoke({"a": 1}) == {"answer": "default"}
    assert client.invoke({"a": 2}) == {"answer": "default"}


def test_middleware_may_run_the_chain_with_a_context_of_its_own() -> None:
    app = App()
    got = []

    def rebuild(ctx: Context, call_next):  # a new context: the typed body is read from its record
        return call_next(Context(ctx.app, ctx.event, ctx.lambda_context, "sqs", None, False, None, ctx.record))

    app.use(rebuild)

    @app.sqs("jobs")
    def work(ctx: Context, body: Job) -> None:
        got.append(body.n)

    event = events.sqs("jobs", [{"n": 1}, {"n": "two"}, {"n": 3}])
    assert failures(TestClient(app).invoke(event)) == [ids(event)[1]]
    assert got == [1, 3]


def test_records_running_at_the_same_time_each_get_their_own_result() -> None:
    app = App()
    both_answered = threading.Barrier(2, timeout=10)
    seen = {}

    def tag(ctx: Context, call_next):  # runs on the batch's worker threads, two records at once
        result = call_next(ctx)
        both_answered.wait()
        n = str(ctx.record.payload()["n"])
        result.headers["X-N"] = n
        both_answered.wait()
        seen[n] = dict(result.headers)
        return result

    app.use(tag)

    @app.sqs("jobs", concurrency=2)
    async def work(body: Job) -> None:
        await asyncio.sleep(0)

    assert TestClient(app).sqs("jobs", [{"n": 1}, {"n": 2}]) == {"batchItemFailures": []}
    assert seen == {"1": {"X-N": "1"}, "2": {"X-N": "2"}}


def test_an_http_only_app_never_loads_the_record_machinery_and_a_record_app_does() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        from lift import App, Context
        from lift.testing import TestClient, events

        app = App()

        @app.get("/items/{item_id}")
        def get_item(ctx: Context, item_id: int) -> dict:
            return {"id": item_id}

        assert TestClient(app).get("/items/7").json() == {"id": 7}
        machinery = ("lift.batch", "lift.sources.handlers", "lift.sources.record")
        print(sorted(m for m in machinery if m in sys.modules))

        @app.sqs("jobs")
        def work(body: dict) -> None:
            pass

        assert TestClient(app).invoke(events.sqs("jobs", [{"n": 1}])) == {"batchItemFailures": []}
        print(sorted(m for m in machinery if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "['lift.batch', 'lift.sources.handlers', 'lift.sources.record']"]


def test_event_handler_is_still_importable_from_the_registry() -> None:
    from lift.sources import handlers, registry

    assert registry.EventHandler is handlers.EventHandler


def test_a_message_delivered_twice_in_one_batch_is_reported_once() -> None:
    """SQS delivers at least once: one batch can hold the same message twice (one messageId, two receipt
    handles). When both copies fail, the answer names the id once (it named it twice)."""
    app = App()
    ran = []

    @app.sqs("jobs")
    def job(body: Job) -> None:
        ran.append(body.n)
        if body.n < 0:
            raise ValueError("negative")

    event = events.sqs("jobs", [{"n": -1}, {"n": 2}, {"n": -1}])
    event["Records"][2]["messageId"] = event["Records"][0]["messageId"]
    answer = app.handler(event, lambda_context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert ran == [-1, 2, -1]
