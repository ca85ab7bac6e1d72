"""The errors resilience policies raise: each one a LiftError with a stable code.

Uncaught in a handler they become the error contract's 503/504 bodies (with `Retry-After`
when the policy knows when to try again); callers that can do better catch them by class.
"""

from __future__ import annotations

from typing import Any

from lift.errors import LiftError

__all__ = ["ResilienceError", "CircuitOpen", "BulkheadFull", "DeadlineExceeded", "Overloaded", "retry_after_header"]


MAX_RETRY_AFTER = 86400
"""The longest `Retry-After` Lift answers with (a day): a callee's absurd one (`99999999999999999999`,
a date in year 9999) is not passed on to clients as is."""


def retry_after_header(seconds: float | None) -> dict[str, str] | None:
    """`{"Retry-After": "<whole seconds, at least 1, at most a day>"}`, or None when unknown."""
    if seconds is None or seconds != seconds:  # None or NaN
        return None
    return {"Retry-After": str(max(1, int(min(seconds, MAX_RETRY_AFTER) + 0.999)))}


class ResilienceError(LiftError):
    """Base of the errors a resilience policy raises instead of making (or finishing) a call."""

    status = 503
    code = "service_unavailable"
    message = "Service unavailable"

    def __init__(self, message: str | None = None, details: Any = None, *, retry_after: float | None = None) -> None:
        super().__init__(None, None, message, details, retry_after_header(retry_after))
        self.retry_after = retry_after


class CircuitOpen(ResilienceError):
    """503 `circuit_open`: the breaker for a dependency is open; no call was made."""

    code = "circuit_open"
    message = "A dependency is unavailable (circuit open)"


class BulkheadFull(ResilienceError):
    """503 `bulkhead_full`: too many calls to a dependency are already in flight."""

    code = "bulkhead_full"
    message = "Too many concurrent calls to a dependency"


class DeadlineExceeded(ResilienceError):
    """504 `upstream_timeout`: the call (or the time left to make it) ran out."""

    status = 504
    code = "upstream_timeout"
    message = "A dependency did not answer in time"


class Overloaded(ResilienceError):
    """503 `overloaded`: inbound load shedding rejected the request before it ran."""

    code = "overloaded"
    message = "The service is overloaded; try again later"
