"""Local SQS semantics for the dev server: failed records come back, then go to a DLQ.

A record reported in `batchItemFailures` (or every record, when the invocation raised) is
redelivered after the visibility timeout with `ApproximateReceiveCount` incremented, until it
has been received `max_receive_count` times; then it is moved to the queue's local DLQ.
Tunable with `LIFT_DEV_MAX_RECEIVE_COUNT` (default 3) and `LIFT_DEV_VISIBILITY_TIMEOUT`
(seconds, default 1).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from lift.dev.settings import env_number

__all__ = ["LocalQueues", "queue_name"]

_log = logging.getLogger("lift.dev")
Invoke = Callable[[dict[str, Any]], tuple[Any, str | None]]


def queue_name(record: dict[str, Any]) -> str:
    arn = record.get("eventSourceARN") or ""
    return arn.rsplit(":", 1)[-1] or "queue"


def failed_ids(result: Any, error: str | None, records: list[dict[str, Any]]) -> set[str]:
    """The message ids Lambda would return to the queue for this invocation's outcome."""
    every = {r.get("messageId", "") for r in records}
    if error is not None:
        return every
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return set()
    failures = result.get("batchItemFailures") or []
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if not ids <= every or None in ids or "" in ids:
        return every  # an invalid report fails the whole batch, as Lambda does
    return ids  # type: ignore[return-value]


class _QueueState:
    def __init__(self) -> None:
        self.received = 0
        self.succeeded = 0
        self.redelivered = 0
        self.dead: list[dict[str, Any]] = []


class LocalQueues:
    """Tracks every SQS queue the app received from, its redrives and its dead letters."""

    def __init__(
        self, invoke: Invoke, max_receive_count: int | None = None, visibility_timeout: float | None = None
    ) -> None:
        self.invoke = invoke
        self.max_receive_count = max_receive_count or int(env_number("LIFT_DEV_MAX_RECEIVE_COUNT", 3, integer=True))
        self.visibility_timeout = (
            visibility_timeout
            if visibility_timeout is not None
            else env_number("LIFT_DEV_VISIBILITY_TIMEOUT", 1.0, allow_zero=True)
        )
        self._queues: dict[str, _QueueState] = {}
        self._lock = threading.Lock()
        self.on_change: Callable[[], None] = lambda: None

    def deliver(self, event: Any) -> tuple[Any, str | None]:
        """Run an SQS event through the app and schedule redelivery of what failed. A list of messages
        (what EventBridge Pipes hands a Lambda target from a queue) is redelivered as a list."""
        pipe = isinstance(event, list)
        records: list[dict[str, Any]] = list(event) if pipe else list(event.get("Records") or [])
        result, error = self.invoke(event)
        failed = failed_ids(result, error, records)
        retry: list[dict[str, Any]] = []
        with self._lock:
            for record in records:
                state = self._queues.setdefault(queue_name(record), _QueueState())
                state.received += 1
                if record.get("messageId") not in failed:
                    state.succeeded += 1
                    continue
                count = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
                if count >= self.max_receive_count:
                    state.dead.append(
                        {
                            "messageId": record.get("messageId"),
                            "body": record.get("body"),
                            "receiveCount": count,
                            "error": error,
                            "at": time.time(),
                            "record": record,
                        }
                    )
                    _log.warning(
                        "SQS message %s moved to the local DLQ of %s after %d receives",
                        record.get("messageId"),
                        queue_name(record),
                        count,
                    )
                else:
                    state.redelivered += 1
                    retry.append(_received_again(record))
        if retry:
            again = retry if pipe else {**event, "Records": retry}
            timer = threading.Timer(self.visibility_timeout, self._redeliver, args=(again,))
            timer.daemon = True
            timer.start()
        self.on_change()
        return result, error

    def _redeliver(self, event: Any) -> None:
        try:
            self.deliver(event)
        except Exception:
            _log.exception("SQS redelivery failed")

    def snapshot(self) -> list[dict[str, Any]]:
        """Per-queue counters and dead letters, for the dashboard."""
        with self._lock:
            return [
                {
                    "queue": name,
                    "received": s.received,
                    "succeeded": s.succeeded,
                    "redelivered": s.redelivered,
                    "dlq": [{k: v for k, v in d.items() if k != "record"} for d in s.dead],
                }
                for name, s in sorted(self._queues.items())
            ]

    def redrive(self, queue: str) -> int:
        """Send a queue's dead letters back through the app (a DLQ redrive); returns how many."""
        with self._lock:
            state = self._queues.get(queue)
            dead, state.dead = (state.dead, []) if state else ([], [])
        records = [_fresh(d["record"]) for d in dead]
        for record in records:
            threading.Thread(target=self._redeliver, args=({"Records": [record]},), daemon=True).start()
        return len(records)


def _received_again(record: dict[str, Any]) -> dict[str, Any]:
    again = copy.deepcopy(record)
    attributes = again.setdefault("attributes", {})
    attributes["ApproximateReceiveCount"] = str(int(attributes.get("ApproximateReceiveCount") or 1) + 1)
    again["receiptHandle"] = f"{record.get('receiptHandle', 'rh')[:40]}-{attributes['ApproximateReceiveCount']}"
    return again


def _fresh(record: dict[str, Any]) -> dict[str, Any]:
    again = copy.deepcopy(record)
    again.setdefault("attributes", {})["ApproximateReceiveCount"] = "1"
    return again
