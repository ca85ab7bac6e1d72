"""Resilience as route middleware: a breaker and/or bulkhead around a handler.

    @app.get("/report", middleware=[guard(bulkhead=Bulkhead("report", limit=4),
                                          breaker=CircuitBreaker("report"))])

The breaker counts a 5xx response or an exception as a failure; while it is open (or the bulkhead
is full) the route answers 503 with `Retry-After` without running the handler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lift.resilience.breaker import CircuitBreaker
from lift.resilience.bulkhead import Bulkhead

__all__ = ["guard"]


def guard(*, breaker: CircuitBreaker | None = None, bulkhead: Bulkhead | None = None) -> Callable[..., Any]:
    if breaker is None and bulkhead is None:
        raise ValueError("guard() needs a breaker, a bulkhead or both")

    def guard_middleware(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        probe = breaker.acquire(ctx) if breaker is not None else False
        if bulkhead is not None:
            try:
                bulkhead.acquire()
            except BaseException:  # refused: a half-open trial slot goes back, the handler never ran
                if breaker is not None:
                    breaker.abandon(probe)
                raise
        start = time.monotonic()
        failed = True
        try:
            response = call_next(ctx)
            failed = getattr(response, "status", 200) >= 500
            return response
        finally:
            if bulkhead is not None:
                bulkhead.release()
            if breaker is not None:
                breaker.record(probe, time.monotonic() - start, failed, ctx)

    return guard_middleware
