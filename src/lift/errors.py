"""The LiftError family and how an error becomes an HTTP response.

A `LiftError` carries everything a client needs (status, a stable code, a message and
optional details); `error_response` turns any exception into the error contract
`{"error": {"code", "message", "request_id", "details"}}` without leaking internals.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LiftError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "Conflict",
    "PayloadTooLarge",
    "ValidationFailed",
    "TooManyRequests",
    "InternalError",
    "ServiceUnavailable",
    "UnmatchedEvent",
    "RecordsFailed",
    "find_lift_error",
    "http_status",
    "is_http_status",
    "lift_logger",
]


def is_http_status(value: Any) -> bool:
    """Whether `value` is a status API Gateway, ALB and ASGI servers can send: an int (not a bool;
    `http.HTTPStatus` is one) from 100 to 599. Anything else makes API Gateway answer 502."""
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def http_status(value: Any) -> int:
    """`value` as an HTTP status (a plain int), or a clear error naming it: TypeError for a value
    that is not an int, ValueError for one outside 100-599."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"HTTP status must be an int from 100 to 599, got {value!r} ({type(value).__name__})")
    if not 100 <= value <= 599:
        raise ValueError(f"HTTP status must be from 100 to 599, got {value!r}")
    return int(value)


class LiftError(Exception):
    """An error with an HTTP status, a stable machine-readable code and a safe message.

    `LiftError(status, code, message, details=None)`; subclasses fix the status and take
    `Sub(message=None, details=None, *, code=None, headers=None)`.
    """

    status: int = 500
    code: str = "internal_error"
    message: str = "Internal server error"
    details: Any = None
    headers: dict[str, str] | None = None
    # Set by `ValidationFailed.report` to `(details, message)` when Lift's validator built the
    # report from field names, indices and type-only messages (no text taken from the input): the
    # error body then skips the card-number scan while both are still those objects.
    _card_free: tuple[Any, str] | None = None

    def __init__(
        self,
        status: int | str | None = None,
        code: str | None = None,
        message: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(status, str) and not status.isdigit():  # LiftError("message")
            status, code, message = None, code, status if message is None else message
        if status is not None:
            self.status = http_status(int(status) if status.__class__ is str else status)
        if code is not None:
            self.code = code
        if message is not None:
            self.message = message
        self.details = details
        self.headers = headers
        super().__init__(self.message)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own `status` is checked once, when the class is made (`status = 999` fails here)."""
        super().__init_subclass__(**kwargs)
        if "status" in cls.__dict__:
            cls.status = http_status(cls.__dict__["status"])

    def to_dict(self, request_id: str | None = None) -> dict[str, Any]:
        """The error body of the contract."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "request_id": request_id,
                "details": self.details,
            }
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class _StatusError(LiftError):
    """Base of the fixed-status errors: `Sub(message=None, details=None, *, code=None, headers=None)`."""

    def __init__(
        self,
        message: str | None = None,
        details: Any = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        # LiftError.__init__(None, code, message, details, headers), without its two extra calls:
        # a 422 for an invalid body is built on the request path.
        if code is not None:
            self.code = code
        if message is not None:
            self.message = message
        self.details = details
        self.headers = headers
        self.args = (self.message,)


class BadRequest(_StatusError):
    """400: the request is malformed."""

    status = 400
    code = "bad_request"
    message = "Bad request"


class Forbidden(_StatusError):
    """403: the caller may not do this."""

    status = 403
    code = "forbidden"
    message = "Forbidden"


class NotFound(_StatusError):
    """404: no such resource."""

    status = 404
    code = "not_found"
    message = "Not found"


class Conflict(_StatusError):
    """409: the request conflicts with current state."""

    status = 409
    code = "conflict"
    message = "Conflict"


class PayloadTooLarge(_StatusError):
    """413: body over the limit."""

    status = 413
    code = "payload_too_large"
    message = "Request body too large"


class ValidationFailed(_StatusError):
    """422: input failed validation."""

    status = 422
    code = "validation_failed"
    message = "Validation failed"

    @classmethod
    def report(cls, problems: list[dict[str, Any]], *, echoes: bool = True) -> ValidationFailed:
        """The 422 listing a validator's `problems`, made without `__init__` (an invalid body is a
        request path). `echoes=False` says no problem quotes the input (paths of field names and
        indices, messages naming types only), so its error body needs no card-number scan."""
        exc: ValidationFailed = cls.__new__(cls, cls.message)
        exc.details = problems
        if not echoes:
            exc._card_free = (problems, exc.message)
        return exc


class InternalError(_StatusError):
    """500: an unexpected error (the body never carries its text)."""

    status = 500
    code = "internal_error"
    message = "Internal server error"


class ServiceUnavailable(_StatusError):
    """503: try again later."""

    status = 503
    code = "service_unavailable"
    message = "Service unavailable"


class Unauthorized(_StatusError):
    """401: missing or invalid credentials; carries a `WWW-Authenticate` challenge."""

    status = 401
    code = "unauthorized"
    message = "Unauthorized"

    def __init__(self, *args: Any, challenge: str = "Bearer", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = {"WWW-Authenticate": challenge, **(self.headers or {})}


class MethodNotAllowed(_StatusError):
    """405: the path exists but not for this method; carries the `Allow` header."""

    status = 405
    code = "method_not_allowed"
    message = "Method not allowed"

    def __init__(self, allow: str, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers = {"Allow": allow, **(self.headers or {})}


class TooManyRequests(_StatusError):
    """429: rate limited; `retry_after` seconds becomes the `Retry-After` header."""

    status = 429
    code = "too_many_requests"
    message = "Too many requests"

    def __init__(self, *args: Any, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if retry_after is not None:
            self.headers = {"Retry-After": str(max(0, int(retry_after))), **(self.headers or {})}


class UnmatchedEvent(_StatusError):
    """An event (or record) that no registered handler matches: never a silent success."""

    status = 404
    code = "unmatched_event"
    message = "No handler matches this event"


class RecordsFailed(Exception):
    """Raised after every record of a multi-record asynchronous event (SNS, S3, SES) has run, when
    some of them failed: names how many and their ids; `__cause__` is the first failure's exception.
    `failures` holds `(record_id, exception)` pairs in event order. Lambda's async retry then
    re-sends the whole event, the records that succeeded included (make handlers idempotent)."""

    def __init__(self, source: str, total: int, failures: list[tuple[str, BaseException]]) -> None:
        self.source = source
        self.total = total
        self.failures = failures
        ids = ", ".join(record_id for record_id, _ in failures)
        super().__init__(f"{len(failures)} of {total} {source} records failed: {ids}")

    @property
    def record_ids(self) -> list[str]:
        return [record_id for record_id, _ in self.failures]


def find_lift_error(exc: BaseException) -> LiftError | None:
    """The first LiftError in `exc`'s `raise ... from` / context chain, if any."""
    if isinstance(exc, LiftError):
        return exc
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, LiftError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_lift_logger: Any = None


def lift_logger() -> Any:
    """The "lift" logger that error and failure lines go to; `logging` is imported on first
    use so an app that never logs does not pay for it at cold start."""
    global _lift_logger
    if _lift_logger is None:
        import logging

        _lift_logger = logging.getLogger("lift")
    return _lift_logger
