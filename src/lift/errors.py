"""The LiftError family and how an error becomes an HTTP response.

A `LiftError` carries everything a client needs (status, a stable code, a message and
optional details); `error_response` turns any exception into the error contract
`{"error": {"code", "message", "request_id", "details"}}` without leaking internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (made on first use: see __getattr__ below)
    from lift.error_classes import (
        BadRequest,
        Conflict,
        Forbidden,
        InternalError,
        MethodNotAllowed,
        NotFound,
        PayloadTooLarge,
        RecordsFailed,
        ServiceUnavailable,
        TooManyRequests,
        Unauthorized,
        UnmatchedEvent,
    )

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
    "final_status",
    "http_status",
    "is_final_status",
    "is_http_status",
    "lift_logger",
    "needs_arguments",
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


def is_final_status(value: Any) -> bool:
    """Whether `value` is a status a handler can answer with: an HTTP status (`is_http_status`) from
    200 to 599. A 1xx is informational, never a final answer: API Gateway answers 502 for one, an
    ASGI server drops the connection (101 switches protocols, which only an upgrade may do)."""
    return is_http_status(value) and value >= 200


def final_status(value: Any) -> int:
    """`value` as a final HTTP status (`http_status`, then a ValueError naming a 1xx)."""
    status = http_status(value)
    if status < 200:
        raise ValueError(f"HTTP status {status} is informational (1xx): a handler's answer must be from 200 to 599")
    return status


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
    # True on a 5xx whose maker has already written its one ERROR line (a response that failed its
    # validation names each wrong field): `App.error_response` writes no second one.
    logged: bool = False
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


# The other error classes are made on first use (PEP 562), in lift.error_classes: `import lift` does not
# create 12 classes (about 1.4M instructions of a cold start) that an app's first request does not
# need. `from lift.errors import NotFound` and `lift.errors.NotFound` work as before, the same class.
_LAZY_CLASSES = frozenset(
    {
        "BadRequest",
        "Conflict",
        "Forbidden",
        "InternalError",
        "MethodNotAllowed",
        "NotFound",
        "PayloadTooLarge",
        "RecordsFailed",
        "ServiceUnavailable",
        "TooManyRequests",
        "Unauthorized",
        "UnmatchedEvent",
    }
)

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY_CLASSES:
            from lift import error_classes

            for lazy_name in _LAZY_CLASSES:
                globals()[lazy_name] = getattr(error_classes, lazy_name)
            return globals()[name]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def needs_arguments(given: Any, takes: str, usage: str) -> TypeError:
    """The error for a decorator written without its arguments (`@app.get` above a function, where
    `@app.get("/users")` was meant): it would have received the function as its path or name,
    registered nothing and replaced the function with its inner `register`."""
    name = getattr(given, "__name__", None) or type(given).__name__
    return TypeError(f"{takes} in parentheses, not the function {name!r}: write {usage}")


_lift_logger: Any = None


def lift_logger() -> Any:
    """The "lift" logger that error and failure lines go to; `logging` is imported on first
    use so an app that never logs does not pay for it at cold start."""
    global _lift_logger
    if _lift_logger is None:
        import logging

        if any(type(h).__name__.startswith("LambdaLoggerHandler") for h in logging.getLogger().handlers):
            # Under Lambda's runtime client, whose root handler would write these lines in its own
            # text (card numbers in clear, a traceback's last line run into the next print): Lift's
            # JSON handler takes its place, as it does at the first `ctx.logger`
            from lift.observability.logging import configure

            configure()
        _lift_logger = logging.getLogger("lift")
    return _lift_logger
