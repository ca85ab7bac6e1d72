"""Local SQS semantics with a real App: what Lambda returns to the queue, redrive and the DLQ."""

from __future__ import annotations

import threading
import time
from typing import Any

from lift import App, Context
from lift.dev.queues import LocalQueues
from lift.testing import events, lambda_context


def make_queues(max_receive: int = 2) -> tuple[App, LocalQueues, list[tuple[str, int]]]:
    app = App(name="q")
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    @app.sqs("jobs")
    def job(ctx: Context, body: dict) -> None:
        with lock:
            seen.append((body["id"], ctx.record.receive_count))
        if body.get("fail"):
            raise ValueError("nope")

    def invoke(event: dict[str, Any]) -> tuple[Any, str | None]:
        try:
            return app.handler(event, lambda_context()), None
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"

    return app, LocalQueues(invoke, max_receive_count=max_receive, visibility_timeout=0.01), seen


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met")


def test_only_reported_failures_come_back_and_then_go_to_the_dlq() -> None:
    _, queues, seen = make_queues(max_receive=2)
    queues.deliver(events.sqs("jobs", [{"id": "ok"}, {"id": "bad", "fail": True}]))
    wait_until(lambda: queues.snapshot()[0]["dlq"])
    assert sorted(seen) == [("bad", 1), ("bad", 2), ("ok", 1)]
    [state] = queues.snapshot()
    assert (state["received"], state["succeeded"], state["redelivered"]) == (3, 1, 1)
    assert state["dlq"][0]["receiveCount"] == 2


def test_a_failed_invocation_returns_every_record() -> None:
    _, queues, _ = make_queues(max_receive=2)
    result, error = queues.deliver(events.sqs("unknown-queue", [{"id": "a"}, {"id": "b"}]))
    assert result is None and "UnmatchedEvent" in error
    wait_until(lambda: len(queues.snapshot()[0]["dlq"]) == 2)
    assert queues.snapshot()[0]["redelivered"] == 2


def test_redrive_sends_dead_letters_back_from_receive_one() -> None:
    _, queues, seen = make_queues(max_receive=1)
    queues.deliver(events.sqs("jobs", [{"id": "bad", "fail": True}]))
    assert queues.snapshot()[0]["dlq"]
    assert queues.redrive("jobs") == 1
    wait_until(lambda: len(seen) == 2 and queues.snapshot()[0]["dlq"])
    assert seen == [("bad", 1), ("bad", 1)]


def test_an_invalid_failure_report_fails_the_whole_batch_as_lambda_does() -> None:
    from lift.dev.queues import failed_ids

    records = events.sqs("jobs", [{"id": 1}, {"id": 2}])["Records"]
    ids = {r["messageId"] for r in records}
    first = records[0]["messageId"]
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": first}]}, None, records) == {first}
    assert failed_ids({"batchItemFailures": []}, None, records) == set()
    assert failed_ids(None, None, records) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, None, records) == ids
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, None, records) == ids
    assert failed_ids(None, "RuntimeError: boom", records) == ids


def test_an_eventbridge_pipes_list_gets_queue_semantics_too() -> None:
    """A pipe from a queue hands the function a list of messages (the dev server's run_event sends every
    SQS-sourced event here): its failed message comes back, as a list again, then goes to the DLQ.
    A list used to crash the delivery (AttributeError: 'list' object has no attribute 'get')."""
    _, queues, seen = make_queues(max_receive=2)
    result, error = queues.deliver(events.sqs("jobs", [{"id": "ok"}, {"id": "bad", "fail": True}])["Records"])
    assert error is None and len(result["batchItemFailures"]) == 1
    wait_until(lambda: queues.snapshot()[0]["dlq"])
    assert sorted(seen) == [("bad", 1), ("bad", 2), ("ok", 1)]
