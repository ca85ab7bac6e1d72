"""How a failed call to another service becomes an error of Lift's contract.

| what happened                         | raised                  | status | code                    |
|---------------------------------------|-------------------------|--------|-------------------------|
| the callee answered 404               | `UpstreamNotFound`      | 404    | `not_found`             |
| the callee answered 409               | `UpstreamConflict`      | 409    | `conflict`              |
| the callee refused the call (4xx)     | `ServiceError`          | 502    | `upstream_rejected`     |
| the callee failed (5xx)               | `ServiceError`          | 502    | `upstream_error`        |
| the callee answered 503 or 429        | `ServiceError`          | 503    | `upstream_unavailable`  |
| no connection could be made           | `ServiceError`          | 503    | `upstream_unavailable`  |
| discovery found no instance           | `ServiceError`          | 503    | `no_instances`          |
| the callee's answer is not the type, or not HTTP | `ServiceError` | 502 | `upstream_invalid_response` |
| it did not answer in time             | `UpstreamTimeout`       | 504    | `upstream_timeout`      |
| the circuit is open / bulkhead full   | `CircuitOpen` / `BulkheadFull` (lift.resilience) | 503 | `circuit_open` / `bulkhead_full` |

`details` carries `service`, `status` (the callee's), and `upstream` (the callee's own error body:
its code, message and request id), never an exception's text. NotFound and Conflict stay what
they are for the caller (`except NotFound:` works); the others say the dependency failed, not
the caller's client.
"""

from __future__ import annotations

from typing import Any

from lift.errors import Conflict, LiftError, NotFound
from lift.resilience.errors import DeadlineExceeded, retry_after_header

__all__ = ["ServiceError", "UpstreamNotFound", "UpstreamConflict", "UpstreamTimeout", "error_for_response"]


class ServiceError(LiftError):
    """A call to another service failed; `service`, `upstream_status`, `upstream` say how."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        service: str,
        upstream_status: int | None = None,
        upstream: Any = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        details = {"service": service, "status": upstream_status, "attempts": attempts}
        if upstream is not None:
            details["upstream"] = upstream
        LiftError.__init__(self, status, code, message, details, retry_after_header(retry_after))
        self.service = service
        self.upstream_status = upstream_status
        self.upstream = upstream
        self.retry_after = retry_after
        self.attempts = attempts


class UpstreamNotFound(ServiceError, NotFound):
    """404 from the callee: a `NotFound` for the caller, the callee's error in `details`."""


class UpstreamConflict(ServiceError, Conflict):
    """409 from the callee: a `Conflict` for the caller."""


class UpstreamTimeout(ServiceError, DeadlineExceeded):
    """504: the callee did not answer within the call's deadline."""


def _upstream_error(body: bytes) -> Any:
    """The callee's `{"error": {...}}` body (code, message, request_id), if it sent one."""
    if not body or body[:1] != b"{":
        return None
    import msgspec

    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return None
    # what the caller's own client will read: only text where the contract has text, nothing huge
    out = {k: v[:MAX_UPSTREAM_TEXT] for k in ("code", "message", "request_id") if isinstance(v := err.get(k), str)}
    details = err.get("details")
    if details is not None and len(msgspec.json.encode(details)) <= MAX_UPSTREAM_DETAILS:
        out["details"] = details
    return out or None


MAX_UPSTREAM_TEXT = 1024  # characters of the callee's code, message and request id passed on
MAX_UPSTREAM_DETAILS = 8192  # bytes of the callee's details (as JSON) passed on; larger are left out


def error_for_response(
    service: str, status: int, body: bytes, retry_after: float | None = None, attempts: int = 1
) -> ServiceError:
    """The error a caller sees for the callee's final non-2xx answer."""
    upstream = _upstream_error(body)
    message = upstream.get("message") if upstream else None
    common = {"service": service, "upstream_status": status, "upstream": upstream, "attempts": attempts}
    if status == 404:
        return UpstreamNotFound(404, "not_found", message or f"Not found by service {service}", **common)
    if status == 409:
        return UpstreamConflict(409, "conflict", message or f"Conflict reported by service {service}", **common)
    if status in (429, 503):
        return ServiceError(
            503, "upstream_unavailable", f"Service {service} is unavailable", retry_after=retry_after, **common
        )
    if status >= 500:
        return ServiceError(502, "upstream_error", f"Service {service} failed ({status})", **common)
    return ServiceError(502, "upstream_rejected", f"Service {service} refused the call ({status})", **common)
