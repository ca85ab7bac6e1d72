"""Access logging: one JSON line per request or record, with the request bound to every log line.

    from lift.middleware.logging import RequestLogging
    app.use(RequestLogging())

While the request runs, every log line (from `ctx.logger` or any stdlib logger) carries its
request id, correlation id, tenant/user and trace id. At the end one access line is written:
method, path, route template, status and duration for HTTP; source, record id, outcome and
duration for event records. The first invocation's line also carries `init_duration_ms`.

Its place in the chain does not change what is logged: an error raised by a middleware after
it (a 401 from `jwt_auth`) is answered with the status the client gets, and logged by it:
4xx at INFO, 5xx at ERROR, one access line either way. A failed record's line is WARNING
when a LiftError 4xx rejected it, ERROR otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from lift.errors import find_lift_error
from lift.observability import logging as lift_logging
from lift.observability.coldstart import init_duration_ms
from lift.observability.redaction import MASK, Redactor, mask_path_card_numbers

__all__ = ["RequestLogging", "request_logging", "record_id_of"]

_HELD = lift_logging.HELD  # (how many requests have lines held for their access line)

_RECORD_ID_ATTRS = ("record_id", "message_id", "event_id", "id", "sequence_number")
_RECORD_ID_KEYS = ("messageId", "MessageId", "eventID", "id", "eventId")


def record_id_of(record: Any) -> str | None:
    """The id of an event record (SQS messageId, SNS MessageId, stream eventID, ...)."""
    if record is None:
        return None
    for attr in _RECORD_ID_ATTRS:
        value = getattr(record, attr, None)
        if isinstance(value, str) and value:
            return value
    raw = getattr(record, "raw", record)
    if isinstance(raw, dict):
        for key in _RECORD_ID_KEYS:
            value = raw.get(key)
            if isinstance(value, str) and value:
                return value
        sns = raw.get("Sns")
        if isinstance(sns, dict) and isinstance(sns.get("MessageId"), str):
            return sns["MessageId"]
    return None


class RequestLogging:
    """Middleware: binds the request to log lines and writes an access line per request/record.

    Options: `service`, `level`, `sample_rate` and redaction settings go to
    `lift.observability.logging.configure`; `log_event=True` logs the raw (redacted) event at
    DEBUG; `access_log=False` keeps the binding but skips the access line.
    """

    def __init__(
        self,
        *,
        service: str | None = None,
        level: int | str | None = None,
        sample_rate: float | None = None,
        redact: bool = True,
        extra_redact_keys: tuple[str, ...] | list[str] = (),
        log_event: bool = False,
        access_log: bool = True,
        logger_name: str = "lift.access",
    ) -> None:
        lift_logging.configure(
            service=service,
            level=level,
            sample_rate=sample_rate,
            redact=redact,
            extra_redact_keys=extra_redact_keys,
            force=True,
        )
        self.log_event = log_event
        self.access_log = access_log
        self.logger = logging.getLogger(logger_name)

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        token = lift_logging.bind_context(ctx)
        if not self.access_log:
            ctx._held_lines = None  # no access line to fold the event's failure line into
        start = time.perf_counter()
        try:
            if self.log_event and self.logger.isEnabledFor(logging.DEBUG):
                self.logger.debug("event received", extra={"event": _event_for_log(ctx.event)})
            try:
                response = call_next(ctx)
            except Exception as exc:
                if ctx.request is None:
                    if self.access_log:
                        self._log_failure(ctx, start, exc)
                    raise
                # Raised by a middleware further in (a 401 from auth, say): answered here as the
                # core would, so the access line has the status the client gets, whatever the order.
                response = ctx.app.error_response(ctx, exc)
            if self.access_log:
                self._log_success(ctx, response, start)
            return response
        except BaseException:
            held = lift_logging.take_held(ctx)
            if held:  # (no access line was written: the lines held for it go out as they are)
                _write_held(held)
            raise
        finally:
            lift_logging.reset_context(token)

    def _common(self, ctx: Any, start: float) -> dict[str, Any]:
        fields: dict[str, Any] = {"duration_ms": round((time.perf_counter() - start) * 1000, 3)}
        if ctx.cold_start:
            init_ms = init_duration_ms()
            if init_ms is not None:
                fields["init_duration_ms"] = init_ms
        return fields

    def _log_success(self, ctx: Any, response: Any, start: float) -> None:
        fields = self._common(ctx, start)
        request = ctx.request
        if request is not None:
            status = getattr(response, "status", 200)
            path = request.path
            if path.__class__ is str:  # the path as sent: a card number in it masked, also one the client encoded
                path = mask_path_card_numbers(path)
            fields.update(
                method=request.method,
                path=path,
                route=ctx.route,
                status=status,
                source_ip=request.source_ip,
                user_agent=request.headers.get("user-agent"),
            )
            level = logging.ERROR if status >= 500 else logging.INFO
            message = f"{request.method} {ctx.route or path} {status}"
        else:
            status = getattr(response, "status", 200)
            if status.__class__ is int and status >= 400 and _batch().is_refusal(response):
                # a middleware further in answered with an error: the record failed, and this is its line
                _batch().log_refusal(ctx, ctx.record, status)
                ctx._failure_logged = True  # (the batch's own call after this writes no second line)
                fields.update(record_id=record_id_of(ctx.record), outcome="error", status=status)
                level, message = logging.WARNING, f"{ctx.source} record refused"
            else:
                fields.update(record_id=record_id_of(ctx.record), outcome="ok")
                level, message = logging.INFO, f"{ctx.source} record processed"
        if _HELD[0] and ctx._held_lines:
            self._write(ctx, level, message, fields)
            return
        logger = self.logger
        if logger.isEnabledFor(level):  # built directly: no stack walk for a fixed location
            extra = {"lift_fields": fields}
            logger.handle(logger.makeRecord(logger.name, level, __file__, 0, message, (), None, "access_log", extra))

    def _log_failure(self, ctx: Any, start: float, exc: Exception) -> None:
        """The access line of a failed record: WARNING for a client error (a LiftError 4xx: the
        record was rejected), ERROR otherwise, with the core's failure line folded in (its
        message as `error`, the traceback of an unexpected error): one line for the record."""
        _batch().log_record_failure(ctx, ctx.record, exc)  # held for this line
        ctx._failure_logged = True  # (the batch's own call after this writes no second line)
        fields = self._common(ctx, start)
        fields.update(record_id=record_id_of(ctx.record), outcome="error")
        err = find_lift_error(exc)
        status = err.status if err is not None else 500
        fields.update(status=status, error_code=err.code if err is not None else type(exc).__name__)
        if status < 500:
            self._write(ctx, logging.WARNING, f"{ctx.source} record rejected", fields)
        else:
            self._write(ctx, logging.ERROR, f"{ctx.source} record failed", fields)

    def _write(self, ctx: Any, level: int, message: str, fields: dict[str, Any]) -> None:
        """The access line, with the event's own failure lines held while it ran (the core's 4xx/5xx
        or record line, auth's reason) folded in: their fields, the first traceback, and the most
        severe line's level when higher and its message (a request's as `error`: its own message
        stays `GET /route status`; a record's as the message). One line per event."""
        held = lift_logging.take_held(ctx)
        exc_info = clean = None
        if held:
            level, exc_info, clean, error = _fold(held, fields, level)
            if ctx.request is None:
                message = error
            else:
                fields["error"] = error
        logger = self.logger
        if logger.isEnabledFor(level):  # built directly: no stack walk for a fixed location
            extra: dict[str, Any] = {"lift_fields": fields}
            if clean is not None:
                extra["lift_clean"] = clean
            logger.handle(
                logger.makeRecord(logger.name, level, __file__, 0, message, (), exc_info, "access_log", extra)
            )
        elif held:  # access lines are off at this level: the event's own lines are still written
            _write_held(held)


def _batch() -> Any:
    from lift import batch  # (failures and refusals only)

    return batch


def _fold(held: list[logging.LogRecord], fields: dict[str, Any], level: int) -> tuple[int, Any, Any, str]:
    """Fold the held lines into the access line's `fields` (the access line's own fields win;
    `errors` lists the messages when there are several): the level, the first exception, a
    validator's card-free `details` (see JsonFormatter) and the most severe line's message."""
    exc_info = clean = None
    top = held[0]
    messages = []
    for record in held:
        for key, value in lift_logging.record_fields(record).items():
            fields.setdefault(key, value)
        if exc_info is None and record.exc_info and record.exc_info[0] is not None:
            exc_info = record.exc_info
        if (
            clean is None
            and (found := record.__dict__.get("lift_clean")) is not None
            and fields.get("details") is found
        ):
            clean = found
        if record.levelno > top.levelno:
            top = record
        try:
            messages.append(record.getMessage())
        except Exception as exc:  # (an argument whose str() raises): as the line itself would say it
            messages.append(lift_logging.unformatted_message(record, exc))
    if len(messages) > 1:
        fields["errors"] = messages
    return max(level, top.levelno), exc_info, clean, messages[held.index(top)]


def _write_held(held: list[logging.LogRecord]) -> None:
    handler = lift_logging._config.handler
    if handler is not None:
        for record in held:
            handler.handle(record)


def _event_for_log(event: Any) -> Any:
    """The event with the secrets inside its text masked too (the formatter masks those under
    sensitive keys): JSON and form bodies (also base64), query strings, JSON record bodies."""
    handler = lift_logging._config.handler
    redactor = getattr(handler.formatter, "redactor", None) if handler is not None else None
    return event if redactor is None else _masked_values(event, redactor, 0)


def _masked_values(value: Any, redactor: Redactor, depth: int) -> Any:
    if depth > 20:
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, str) and isinstance(key, str):
                if key == "body" and value.get("isBase64Encoded") is True:
                    item = _masked_base64(item, redactor)
                elif not redactor.is_sensitive(key):
                    item = _masked_text(item, redactor, form=key in _FORM_KEYS)
            elif isinstance(item, dict | list):
                item = _masked_values(item, redactor, depth + 1)
            out[key] = item
        return out
    if isinstance(value, list):
        return [_masked_values(item, redactor, depth + 1) for item in value]
    return value


# Event fields that may hold `a=1&b=2` text: a body sent as a form, a query string
_FORM_KEYS = frozenset({"body", "rawQueryString", "querystring", "queryString"})


def _masked_text(text: str, redactor: Redactor, form: bool) -> str:
    """`text` with the values of its sensitive keys masked, when it is a JSON document or a form."""
    start = text[:1] if text[:1] not in " \t\r\n" else text.lstrip()[:1]
    if start in ("{", "["):
        try:
            parsed = msgspec.json.decode(text)
        except msgspec.DecodeError:
            return text
        masked = redactor.redact(parsed)
        return text if masked == parsed else msgspec.json.encode(masked).decode("utf-8")
    if form and "=" in text:
        from urllib.parse import parse_qsl, urlencode

        pairs = parse_qsl(text, keep_blank_values=True)
        if any(redactor.is_sensitive(k) for k, _ in pairs):
            return urlencode([(k, MASK if redactor.is_sensitive(k) else v) for k, v in pairs], safe="*")
    return text


def _masked_base64(text: str, redactor: Redactor) -> str:
    import base64  # (log_event only: not imported by every function that logs)

    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except ValueError:  # (binascii.Error and UnicodeDecodeError are ValueErrors): not text, kept as sent
        return text
    masked = _masked_text(decoded, redactor, form=True)
    return text if masked is decoded else base64.b64encode(masked.encode("utf-8")).decode("ascii")


def request_logging(**options: Any) -> RequestLogging:
    """The `RequestLogging` middleware (the lower-case factory style of `lift.middleware`)."""
    return RequestLogging(**options)
