"""Inbound load shedding: answer 503 + `Retry-After` early instead of timing out late.

    shed = LoadShedder(max_in_flight=64, max_queue_ms=200, min_remaining_ms=500)
    app.use(shed)                          # Lambda and ASGI: queue time and remaining time
    asgi = shed.wrap_asgi(app.asgi)        # ASGI: also counts requests in flight before the thread pool

- `max_in_flight` (ASGI wrapper): requests being served at once in this process, counted the moment
  they arrive, before they wait for a handler thread; one more is refused at once.
- `max_queue_ms` (middleware): a request that waited this long for a thread is refused, not served
  after its caller has given up. The arrival time is stamped by the ASGI wrapper.
- `min_remaining_ms` (middleware, Lambda): an invocation with less time left than this is refused,
  since it would be killed mid-way (a retry elsewhere is cheaper than a timeout here).

A shed request gets the error contract's 503 `overloaded` body with `Retry-After`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lift.resilience.errors import Overloaded
from lift.resilience.timeouts import checked_number

__all__ = ["LoadShedder", "ARRIVAL_KEY"]

ARRIVAL_KEY = "lift.arrived_at"


class LoadShedder:
    def __init__(
        self,
        *,
        max_in_flight: int | None = None,
        max_queue_ms: float | None = None,
        min_remaining_ms: float | None = None,
        retry_after: float = 1.0,
        skip: tuple[str, ...] = ("/health",),
    ) -> None:
        if max_in_flight is not None and (max_in_flight.__class__ is not int or max_in_flight < 1):
            raise ValueError(f"LoadShedder max_in_flight must be an integer >= 1, not {max_in_flight!r}")
        self.max_in_flight = max_in_flight
        # (a NaN limit shed nothing: every comparison with it is false)
        self.max_queue_ms = None if max_queue_ms is None else checked_number("LoadShedder max_queue_ms", max_queue_ms)
        self.min_remaining_ms = (
            None if min_remaining_ms is None else checked_number("LoadShedder min_remaining_ms", min_remaining_ms)
        )
        self.retry_after = checked_number("LoadShedder retry_after", retry_after)
        self.skip = skip
        self.in_flight = 0
        self.shed = 0  # requests refused, for metrics and tests
        self._lock = threading.Lock()

    def _refuse(self, reason: str, ctx: Any = None) -> Overloaded:
        self.shed += 1
        if ctx is not None:
            try:
                ctx.metrics.add("RequestsShed", 1, "Count", dimensions={"reason": reason})
            except Exception:
                pass
        return Overloaded(details={"reason": reason}, retry_after=self.retry_after)

    def _skipped(self, path: str | None) -> bool:
        """`path` is one of `skip` or below one (`/health/ready`; `/healthcare` is not `/health`)."""
        if path is None:
            return False
        for prefix in self.skip:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return True
        return False

    # -- Lift middleware --------------------------------------------------------------
    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if self.min_remaining_ms is not None:
            get = getattr(ctx.lambda_context, "get_remaining_time_in_millis", None)
            if get is not None and get() < self.min_remaining_ms and not self._skipped(ctx.path):
                raise self._refuse("remaining_time", ctx)
        if self.max_queue_ms is not None and ctx.request is not None:
            scope = ctx.request.event
            arrived = scope.get(ARRIVAL_KEY) if isinstance(scope, dict) else None
            late = arrived is not None and (time.monotonic() - arrived) * 1000 > self.max_queue_ms
            if late and not self._skipped(ctx.path):
                raise self._refuse("queue_time", ctx)
        return call_next(ctx)

    # -- ASGI wrapper -------------------------------------------------------------------
    def wrap_asgi(self, asgi: Any) -> Any:
        """`asgi` behind an in-flight limit; stamps each request's arrival for `max_queue_ms`."""
        from lift.serialization import encode_json

        shedder = self

        async def shedding_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await asgi(scope, receive, send)
                return
            scope[ARRIVAL_KEY] = time.monotonic()
            limit = shedder.max_in_flight
            if limit is not None and not shedder._skipped(scope.get("path")):
                with shedder._lock:
                    admitted = shedder.in_flight < limit
                    if admitted:
                        shedder.in_flight += 1
                if not admitted:
                    err = shedder._refuse("in_flight")
                    body = encode_json(err.to_dict(None))
                    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                    headers += [(k.lower().encode(), v.encode()) for k, v in (err.headers or {}).items()]
                    await send({"type": "http.response.start", "status": err.status, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
                try:
                    await asgi(scope, receive, send)
                finally:
                    with shedder._lock:
                        shedder.in_flight -= 1
                return
            await asgi(scope, receive, send)

        return shedding_asgi
