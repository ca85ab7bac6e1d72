"""The LiftError subclasses besides ValidationFailed, and RecordsFailed: public as `lift.errors.<Name>`.

They are defined here, and imported by `lift.errors` on the first read of any of them (its module
`__getattr__`), so that `import lift` does not make 12 classes an app's first request does not need
(each class about 0.1M instructions of a cold start). Their `__module__` is `lift.errors`, where
users name them (reprs, pickling).
"""

from __future__ import annotations

from typing import Any

from lift.errors import _StatusError

__all__ = [
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "Conflict",
    "PayloadTooLarge",
    "TooManyRequests",
    "InternalError",
    "ServiceUnavailable",
    "UnmatchedEvent",
    "RecordsFailed",
]


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
    """Raised after every record of a multi-record asynchronous event (SNS, S3, SES) or an Amazon MQ
    batch has run, when some of them failed: names how many and their ids; `__cause__` is the first
    failure's exception. `failures` holds `(record_id, exception)` pairs in event order. Lambda's async
    retry (or the broker's redelivery) then re-sends the whole event, the records that succeeded
    included (make handlers idempotent)."""

    def __init__(self, source: str, total: int, failures: list[tuple[str, BaseException]]) -> None:
        self.source = source
        self.total = total
        self.failures = failures
        ids = ", ".join(record_id for record_id, _ in failures)
        super().__init__(f"{len(failures)} of {total} {source} records failed: {ids}")

    @property
    def record_ids(self) -> list[str]:
        return [record_id for record_id, _ in self.failures]


for _cls in (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    TooManyRequests,
    InternalError,
    ServiceUnavailable,
    UnmatchedEvent,
    RecordsFailed,
):
    _cls.__module__ = "lift.errors"
del _cls
