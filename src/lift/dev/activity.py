"""What the dashboard shows: recent invocations, per-route statistics and captured log records.

Everything is kept in bounded in-memory buffers; each new item is pushed to the live
subscribers (the dashboard's Server-Sent Events streams) on the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import Any

from lift.observability.redaction import mask_card_numbers

__all__ = ["Activity", "Invocation", "LogCapture", "percentile"]


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Invocation(dict):  # type: ignore[type-arg]
    """One request or record run through the app, as the dashboard lists it (JSON-ready)."""


class _RouteStats:
    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.durations: deque[float] = deque(maxlen=1000)

    def to_dict(self, key: str) -> dict[str, Any]:
        ordered = sorted(self.durations)
        return {
            "key": key,
            "count": self.count,
            "errors": self.errors,
            "p50": round(percentile(ordered, 50), 2),
            "p90": round(percentile(ordered, 90), 2),
            "p99": round(percentile(ordered, 99), 2),
        }


class Activity:
    """Bounded buffers of invocations and logs, route statistics, and live subscribers."""

    def __init__(self, max_items: int = 500) -> None:
        self.invocations: deque[dict[str, Any]] = deque(maxlen=max_items)
        self.logs: deque[dict[str, Any]] = deque(maxlen=max_items)
        self.stats: dict[str, _RouteStats] = {}
        self.details: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._seq = 0

    def record(
        self,
        *,
        kind: str,
        method: str,
        target: str,
        status: int | str,
        duration_ms: float,
        request_id: str | None,
        stats_key: str,
        error: str | None = None,
        event: Any = None,
        result: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add an invocation (HTTP request, record, schedule, WebSocket frame) and publish it.

        The event and the handler's result are kept apart (for the detail view), not broadcast.
        """
        failed = error is not None or (isinstance(status, int) and status >= 500) or status == "failed"
        with self._lock:
            self._seq += 1
            item = {
                "id": self._seq,
                "at": time.time(),
                "kind": kind,
                "method": method,
                "target": target,
                "status": status,
                "duration_ms": round(duration_ms, 2),
                "request_id": request_id,
                "route": stats_key,
                "error": error,
                **extra,
            }
            self.invocations.append(item)
            self.details[self._seq] = {"event": event, "result": result, "error": error}
            while len(self.details) > self.invocations.maxlen:
                del self.details[next(iter(self.details))]
            stats = self.stats.setdefault(stats_key, _RouteStats())
            stats.count += 1
            stats.errors += failed
            stats.durations.append(duration_ms)
            summary = stats.to_dict(stats_key)
        self.publish({"type": "invocation", "item": item, "stats": summary})
        return item

    def detail(self, invocation_id: int) -> dict[str, Any] | None:
        """The event and result of one recent invocation."""
        with self._lock:
            return self.details.get(invocation_id)

    def detail_json(self, invocation_id: int) -> str | None:
        """`detail` as the dashboard shows it: JSON with card numbers masked and track data removed
        (the kept event stays whole, so a replay sends what was received)."""
        import json

        detail = self.detail(invocation_id)
        return None if detail is None else mask_card_numbers(json.dumps(detail, default=str))

    def log(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.logs.append(item)
        self.publish({"type": "log", "item": item})

    def route_stats(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.to_dict(k) for k, s in sorted(self.stats.items())]

    # -- live subscribers -----------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def publish(self, message: dict[str, Any]) -> None:
        """Push `message` to every subscriber; callable from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed() or not self._subscribers:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(message)
        else:
            try:
                loop.call_soon_threadsafe(self._deliver, message)
            except RuntimeError:  # the loop closed while shutting down
                pass

    def _deliver(self, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if not queue.full():
                queue.put_nowait(message)


class LogCapture(logging.Handler):
    """A logging handler feeding records (level, logger, message, request id) to the dashboard."""

    def __init__(self, activity: Activity) -> None:
        super().__init__(logging.DEBUG)
        self.activity = activity

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("uvicorn", "watchfiles", "asyncio", "lift.dev.console")):
            return
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[0] is not None:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            message = mask_card_numbers(message)
            self.activity.log(
                {
                    "at": record.created,
                    "level": record.levelname,
                    "logger": record.name,
                    "message": message[:8000],
                    "request_id": getattr(record, "request_id", None),
                }
            )
        except Exception:
            self.handleError(record)
