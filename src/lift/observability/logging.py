"""Structured JSON logs on stdout, one object per line, built on the standard `logging` module.

`configure()` puts a JSON handler on the root logger, so third-party libraries' records come
out in the same shape. `ctx.logger` is a `BoundLogger` tied to the request: every line it
writes carries the request id, correlation id, tenant/user, trace id and cold-start flag.
Lines written through any other logger while a request is current carry them too.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from contextvars import ContextVar
from itertools import filterfalse
from typing import TYPE_CHECKING, Any

import msgspec

from lift.observability.redaction import Redactor, mask_card_numbers, may_hold_card
from lift.observability.text import safe_repr, safe_str, utf8_text, well_formed_id
from lift.observability.tracing import _current as _current_trace
from lift.observability.tracing import current_trace_id, invocation_trace_id

if TYPE_CHECKING:
    from lift.context import Context

__all__ = [
    "BoundLogger",
    "JsonFormatter",
    "JsonStreamHandler",
    "configure",
    "get_logger",
    "logger_for",
    "bind_context",
    "reset_context",
    "level_from_env",
    "hold_line",
    "take_held",
    "record_fields",
    "correlation_id_for",
]

APP_LOGGER_NAME = "lift.app"
CORRELATION_HEADERS = ("x-correlation-id", "x-request-id")

_current_ctx: ContextVar[Any] = ContextVar("lift_log_ctx", default=None)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "lift_ctx",
    "lift_fields",
    "lift_clean",
}
# The keys of a validator's problems (`lift.validation.Problem`)
_PROBLEM_KEYS = ("location", "path", "message")
_LAMBDA_LEVELS = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}
# CloudWatch Logs takes events of at most 256 KB: a longer line would be cut (and be no JSON)
MAX_LINE_BYTES = 256 * 1024 - 1
# In a line over that size, each string is cut to this many characters and each list to as many items
_SHRUNK_TEXT = 8192
_SHRUNK_ITEMS = 100
# The fields a line keeps when even its shrunk extras do not fit
_CORE_FIELDS = (
    "timestamp",
    "level",
    "message",
    "logger",
    "location",
    "service",
    "request_id",
    "correlation_id",
    "source",
    "tenant_id",
    "user_id",
    "trace_id",
    "exception",
)


def _unusual_value(value: Any) -> str:
    """How a value JSON has no form for is written: its repr (never raising), card numbers masked."""
    text = safe_repr(value)
    return mask_card_numbers(text) if may_hold_card(text) else text


_encoder = msgspec.json.Encoder(enc_hook=_unusual_value)


_LAMBDA_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def lambda_json_format() -> bool:
    """Whether the function is set to Lambda's JSON log format (`AWS_LAMBDA_LOG_FORMAT`)."""
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def _lambda_level(record: logging.LogRecord, names: dict[str, str]) -> str:
    return names.get(record.levelname, record.levelname)


def level_from_env(default: str = "INFO") -> int:
    """The level from `LIFT_LOG_LEVEL`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `default`."""
    raw = (os.environ.get("LIFT_LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL") or default).upper()
    raw = _LAMBDA_LEVELS.get(raw, raw)
    level = logging.getLevelName(raw)
    return level if isinstance(level, int) else logging.INFO


_second_cache: tuple[int, str] = (-1, "")


def _iso_utc(created: float) -> str:
    global _second_cache
    second = int(created)
    cached = _second_cache
    if second != cached[0]:
        cached = _second_cache = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int(created * 1000) % 1000:03d}Z"


def correlation_id_for(ctx: Context) -> str:
    """The caller's correlation id (`X-Correlation-Id` / `X-Request-Id`), else the request id."""
    return _caller_correlation_id(ctx) or ctx.request_id


def _caller_correlation_id(ctx: Context) -> str | None:
    """The caller's id when it is well formed (the one `lift.services` passes on, so a trace across
    services shares it): a client's free text (non-ASCII, a line break, 10 KB) is not an id."""
    state = ctx._state
    if state is not None and state.get("correlation_id"):
        return state["correlation_id"]  # type: ignore[no-any-return]
    request = ctx.request
    if request is not None:
        first_header = getattr(request, "first_header", None)
        if first_header is not None:  # a Request: the event's own header dict is probed first
            value = first_header(*CORRELATION_HEADERS)
        else:
            from lift.context import first_value

            value = first_value(request.headers, CORRELATION_HEADERS)
        if value and well_formed_id(value):
            return value  # type: ignore[no-any-return]
        if value:  # not an id: the other header
            headers = request.headers
            for name in CORRELATION_HEADERS:
                other = headers.get(name)
                if other and well_formed_id(other):
                    return other  # type: ignore[no-any-return]
    elif ctx.source in _ATTRIBUTED_SOURCES:
        return _attribute_correlation_id(ctx.record)
    return None


_ATTRIBUTED_SOURCES = frozenset({"sqs", "sns"})
_CORRELATION_ATTRIBUTES = ("correlationid", "requestid")  # (x-correlation-id, correlation_id, correlationId...)


def _attribute_correlation_id(record: Any) -> str | None:
    """An SQS or SNS message's correlation id: its message attribute named like the header
    (`X-Correlation-Id`, `correlation_id`, `correlationId`, any case; else `X-Request-Id`'s names),
    when it is a well-formed id, so one id follows a request across a queue or topic."""
    attributes = getattr(record, "message_attributes", None)
    if not attributes or attributes.__class__ is not dict:
        return None
    found: dict[str, str] = {}
    for name in attributes:
        if name.__class__ is str:
            key = name.lower().removeprefix("x-").replace("-", "").replace("_", "")
            if key in _CORRELATION_ATTRIBUTES and key not in found:
                try:
                    value = record.attribute(name)
                except Exception:  # (an attribute AWS would not send: not an id)
                    continue
                if value.__class__ is str and well_formed_id(value):
                    found[key] = value
    for key in _CORRELATION_ATTRIBUTES:
        if key in found:
            return found[key]
    return None


# The function fields of the last Lambda context seen, by the four values they are made of: the
# same for every invocation of an execution environment (Lambda makes a new context object each time)
_last_function: tuple[tuple[Any, ...], dict[str, Any]] | None = None


def _function_fields(ctx: Context | None) -> dict[str, Any]:
    """The function's name, version, memory and ARN (do not change the dict: it may be shared)."""
    global _last_function
    lc = getattr(ctx, "lambda_context", None) if ctx is not None else None
    if lc is not None and getattr(lc, "function_name", None):
        key = (
            lc.function_name,
            getattr(lc, "function_version", None),
            getattr(lc, "memory_limit_in_mb", None),
            getattr(lc, "invoked_function_arn", None),
        )
        last = _last_function
        if last is not None and last[0] == key:
            return last[1]
        fields = {
            "function_name": key[0],
            "function_version": key[1],
            "function_memory_mb": _int_or_none(key[2]),
            "function_arn": key[3],
        }
        _last_function = (key, fields)
        return fields
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not name:
        return {}
    return {
        "function_name": name,
        "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
        "function_memory_mb": _int_or_none(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")),
    }


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: fixed fields, request fields, then extras."""

    def __init__(self, service: str | None = None, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.service = service
        self.redactor = redactor
        # the last request's fields, made once per request: (its Context, the fields, the
        # invocation's trace id from `_X_AMZN_TRACE_ID`, which Lambda sets before each invocation)
        self._ctx_cache: tuple[Any, dict[str, Any], str | None] | None = None
        # Whether the `details` the App marks clean (`lift_clean`: a validator's report that quotes
        # nothing from the input, the same it sends unscanned in its 422) need no walk: none of its
        # problems' keys is sensitive to this redactor
        self._problems_clean = redactor is None or not any(redactor.is_sensitive(k) for k in _PROBLEM_KEYS)
        # Lambda's JSON log format filters stdout lines by their "level", known by Lambda's own names
        # only (TRACE DEBUG INFO WARN ERROR FATAL; any other is taken for INFO): WARNING and
        # CRITICAL lines would be dropped by an application log level of WARN or ERROR
        self._level_names = _LAMBDA_LEVEL_NAMES if lambda_json_format() else None

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """The dict that becomes the JSON line (useful to tests and other sinks)."""
        ctx = record.__dict__.get("lift_ctx") or _current_ctx.get()
        try:
            message = record.getMessage()
        except Exception as exc:  # a message or arguments that do not format: the line is still written
            message = unformatted_message(record, exc)
        out: dict[str, Any] = {
            "timestamp": _iso_utc(record.created),
            "level": record.levelname if self._level_names is None else _lambda_level(record, self._level_names),
            "message": message,
            "logger": record.name,
            "location": f"{record.funcName}:{record.lineno}",
        }
        if ctx is not None:
            cached = self._ctx_cache
            if cached is None or cached[0] is not ctx:
                cached = self._ctx_cache = (ctx, self._request_fields(ctx), invocation_trace_id())
                if _config.function_fields is None:  # (a request's line with no middleware binding it)
                    _remember_function(ctx)
            out.update(cached[1])
            out["request_id"] = ctx.request_id
            out["correlation_id"] = cached[1].get("correlation_id") or ctx.request_id
            if ctx.tenant_id is not None:
                out["tenant_id"] = ctx.tenant_id
            if ctx.user_id is not None:
                out["user_id"] = ctx.user_id
            if _sampled.get():
                out["sampled"] = True
            trace = _current_trace.get()  # a middleware's trace, else the invocation's
            trace_id = trace.root if trace is not None else cached[2]
        else:  # outside a request: the app and function of the last request seen, else the environment
            out["service"] = self.service or _config.app_service or _service_of(None)
            out.update(_config.function_fields or _function_fields(None))
            request_id = _runtime_request_id()
            if request_id:  # (a line of any logger during an invocation no middleware bound)
                out["request_id"] = request_id
            trace_id = current_trace_id()
        if trace_id:
            out["trace_id"] = trace_id
        attrs = record.__dict__
        if "lift_fields" in attrs:  # Lift's own loggers pass every field there
            extra = attrs["lift_fields"]
        else:  # the record's attributes past the standard ones (the names tested in C, not in a loop here)
            extra = {key: attrs[key] for key in filterfalse(_STANDARD_ATTRS.__contains__, attrs)}
        if extra:
            # the fixed fields above always win: a key they hold is neither redacted nor written
            extra = {key: value for key, value in extra.items() if key not in out}
            if extra:
                redactor = self.redactor
                if redactor is None:
                    out.update(extra)
                elif (clean := attrs.get("lift_clean")) is not None and self._problems_clean:
                    # the App's 4xx line: its details are a card-free report (see _problems_clean)
                    rest = redactor.redact({k: v for k, v in extra.items() if k != "details" or v is not clean})
                    for key, value in extra.items():
                        out[key] = value if key == "details" and value is clean else rest[key]
                else:
                    out.update(redactor.redact(extra))
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = _exception_fields(record.exc_info)
        if record.stack_info:
            out["stack"] = record.stack_info
        redactor = self.redactor
        if redactor is not None:  # card numbers in the text Lift writes: message, exception, stack
            message = out["message"]
            if len(message) >= 13:
                message = out["message"] = redactor.redact_text(message)
                if "?" in message and "=" in message:  # a URL's query (httpx, urllib3, botocore lines)
                    out["message"] = redactor.redact_query(message)
            if "exception" in out:
                out["exception"] = redactor.redact(out["exception"])
            if "stack" in out:
                out["stack"] = redactor.redact_text(out["stack"])
        return out

    def _request_fields(self, ctx: Any) -> dict[str, Any]:
        """Fields fixed for the life of one request/record, computed once per Context."""
        fields: dict[str, Any] = {"service": self.service or _service_of(ctx), "cold_start": ctx.cold_start}
        fields.update(_function_fields(ctx))
        fields["request_id"] = None  # placeholders keep the key order stable
        fields["correlation_id"] = _caller_correlation_id(ctx)
        if ctx.source:
            fields["source"] = ctx.source
        return fields

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line, whatever the record holds: values that do not encode (lone surrogates,
        objects whose repr raises) are written as safe text, and a line over `MAX_LINE_BYTES` is shrunk."""
        try:
            encoded = _encoder.encode(self.fields(record))
        except Exception:  # (the common line pays for none of this)
            try:
                encoded = _encoder.encode(_json_safe(self._safe_fields(record)))
            except Exception as exc:  # the last resort: what is known for certain
                encoded = _encoder.encode(_json_safe(_minimal_fields(record, exc)))
        if len(encoded) > MAX_LINE_BYTES:
            encoded = _shrink(self._safe_fields(record), len(encoded))
        return encoded.decode("utf-8")

    def _safe_fields(self, record: logging.LogRecord) -> dict[str, Any]:
        try:
            return self.fields(record)
        except Exception as exc:  # (a field that breaks the redaction walk, say): the line without its extras
            return _minimal_fields(record, exc)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record adds to its line: Lift's own loggers pass them as `lift_fields`, any
    other logger as `extra=` (the record's attributes past the standard ones; as `fields` reads them)."""
    attrs = record.__dict__
    if "lift_fields" in attrs:
        return attrs["lift_fields"]  # type: ignore[no-any-return]
    return {key: attrs[key] for key in filterfalse(_STANDARD_ATTRS.__contains__, attrs)}  # (the names tested in C)


# Lift's loggers whose lines say what became of the event itself: the core's error and
# record-failure lines, auth's and tenancy's refusals. While RequestLogging runs they are held and
# folded into its access line, so an event is one line (`hold_line`)
EVENT_LOGGERS = frozenset({"lift", "lift.auth", "lift.tenancy"})


# How many requests have lines held (HELD[0]): RequestLogging looks at its context's only when
# some have (a context's attribute costs more to read than this list's item)
HELD = [0]
_held_lock = threading.Lock()


def hold_line(record: logging.LogRecord) -> bool:
    """Keep `record` for the access line of the request RequestLogging is running (True), when it
    is that request's line (its `lift_ctx`, else the bound request) and the access line is written."""
    ctx = _current_ctx.get()
    if ctx is None or record.__dict__.get("lift_ctx", ctx) is not ctx:
        return False
    held = ctx._held_lines
    if held is None:  # RequestLogging(access_log=False), or its access line is written already
        return False
    if held:
        held.append(record)
    else:
        with _held_lock:
            HELD[0] += 1
        ctx._held_lines = [record]
    return True


def take_held(ctx: Any) -> list[logging.LogRecord] | None:
    """The lines held for `ctx`'s access line, no longer held (None when there are none)."""
    held = ctx._held_lines
    if not held:
        return None
    ctx._held_lines = None
    with _held_lock:
        HELD[0] -= 1
    return held  # type: ignore[no-any-return]


def _json_safe(value: Any, depth: int = 0, limit: int | None = None) -> Any:
    """`value` with dict keys as strings, text as UTF-8 and anything unusual as its repr; with
    `limit`, strings cut to that many characters and lists to `_SHRUNK_ITEMS` items."""
    if value is None or isinstance(value, float | bool):
        return value
    if isinstance(value, int):  # (one past 4300 digits has no text: int_max_str_digits)
        return value if value.bit_length() < 14_000 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, str):
        if limit is not None and len(value) > limit:
            value = f"{value[:limit]}...[{len(value) - limit} more characters]"
        return utf8_text(value)
    if depth > 20:
        return _json_safe(_unusual_value(value), depth, limit)
    if isinstance(value, dict):
        items = list(value.items())
        if limit is not None:
            items = items[:_SHRUNK_ITEMS]
        return {_json_safe(safe_str(k), depth + 1, limit): _json_safe(v, depth + 1, limit) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        values = list(value)
        if limit is not None:
            values = values[:_SHRUNK_ITEMS]
        return [_json_safe(v, depth + 1, limit) for v in values]
    if isinstance(value, bytes | bytearray | memoryview):  # (base64, as the line's first encoding writes them)
        return value if limit is None else bytes(value)[:limit]
    return _json_safe(_unusual_value(value), depth, limit)


def _shrink(fields: dict[str, Any], size: int) -> bytes:
    """A line over `MAX_LINE_BYTES` as one that fits: long strings and lists cut, else only the core
    fields. A traceback keeps its end (the exception raised, the frame that raised it) and its start."""
    shrunk = _json_safe(_traceback_cut(fields, _SHRUNK_TEXT), limit=_SHRUNK_TEXT)
    shrunk["truncated"] = {"bytes": size}
    encoded = _encoder.encode(shrunk)
    if len(encoded) <= MAX_LINE_BYTES:
        return encoded
    core = {key: shrunk[key] for key in _CORE_FIELDS if key in shrunk}
    core["truncated"] = {"bytes": size, "fields_dropped": sorted(set(shrunk) - set(core) - {"truncated"})[:100]}
    return _encoder.encode(_json_safe(_traceback_cut(core, 1024), limit=1024))


def _traceback_cut(fields: dict[str, Any], limit: int) -> dict[str, Any]:
    """`fields` with the exception's traceback at most `limit` characters: its first quarter and its end."""
    exception = fields.get("exception")
    text = exception.get("traceback") if isinstance(exception, dict) else None
    if not isinstance(text, str) or len(text) <= limit:
        return fields
    head = limit // 4
    tail = limit - head - 48
    text = f"{text[:head]}\n...[{len(text) - head - tail} characters]...\n{text[-tail:]}"
    return {**fields, "exception": {**exception, "traceback": text}}


def unformatted_message(record: logging.LogRecord, exc: Exception) -> str:
    """The text of a record whose `msg % args` (or `str(msg)`) raised: formatted with each
    argument's safe text (an exception whose str() raises, say), else the message as written
    with its arguments quoted."""
    msg, args = safe_str(record.msg), record.args
    if isinstance(args, tuple) and args:
        try:
            return msg % tuple(a if a.__class__ in (int, float) else safe_str(a) for a in args)
        except Exception:
            pass
    return f"{msg} (log arguments {safe_repr(args)} did not format: {safe_str(exc)})"


def _minimal_fields(record: logging.LogRecord, exc: Exception) -> dict[str, Any]:
    """The line of a record whose fields could not be made: what is known for certain."""
    try:
        message = record.getMessage()
    except Exception as format_exc:
        message = unformatted_message(record, format_exc)
    fields: dict[str, Any] = {
        "timestamp": _iso_utc(record.created),
        "level": record.levelname,
        "message": mask_card_numbers(utf8_text(message)),
        "logger": record.name,
        "location": f"{record.funcName}:{record.lineno}",
    }
    ctx = record.__dict__.get("lift_ctx") or _current_ctx.get()
    request_id = getattr(ctx, "request_id", None)
    if isinstance(request_id, str):
        fields["request_id"] = request_id
    fields["log_error"] = f"{type(exc).__name__}: {safe_str(exc)}"
    return fields


def _runtime_request_id() -> str | None:
    """The request id of the invocation Lambda's runtime client (awslambdaric) is running, which its
    own log handler, replaced by Lift's, wrote in every line; None elsewhere."""
    bootstrap = sys.modules.get("awslambdaric.bootstrap")
    request_id = getattr(bootstrap, "_GLOBAL_AWS_REQUEST_ID", None)
    return request_id if request_id.__class__ is str else None


def _service_of(ctx: Context | None) -> str:
    app = getattr(ctx, "app", None) if ctx is not None else None
    name = getattr(app, "name", None)
    return name or os.environ.get("LIFT_SERVICE_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "lift"


def _exception_fields(exc_info: Any) -> dict[str, Any]:
    etype, value, tb = exc_info
    return {
        "type": getattr(etype, "__qualname__", safe_str(etype)),
        "message": safe_str(value),
        "traceback": "".join(traceback.format_exception(etype, value, tb)),
    }


class JsonStreamHandler(logging.Handler):
    """Writes formatted lines to the current `sys.stdout` (looked up per line, so capture works)."""

    lift_handler = True

    def __init__(self, formatter: JsonFormatter, stream: Any = None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        if _sampled_open and record.levelno < _config.level and not _sampled.get():
            return  # below the level, let through only for the sampled requests running now
        if record.name in EVENT_LOGGERS and hold_line(record):
            return  # written as part of the request's access line
        try:
            line = self.format(record)
            stream = self._stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # never let logging break a request
            self.handleError(record)


class _Config:
    handler: JsonStreamHandler | None = None
    level: int = logging.INFO
    sample_rate: float = 0.0
    app_service: str | None = None  # the app's name, for lines written outside any request
    function_fields: dict[str, Any] | None = None


_config = _Config()
_sampled: ContextVar[bool] = ContextVar("lift_log_sampled", default=False)


# How many sampled requests are running: the root logger is at DEBUG while any is (requests run
# side by side in the ASGI thread pool), and the handler drops the others' lines below the level
_sampled_open = 0
_sampling_lock = threading.Lock()


def configure(
    *,
    service: str | None = None,
    level: int | str | None = None,
    sample_rate: float | None = None,
    redact: bool = True,
    redact_keys: list[str] | None = None,
    extra_redact_keys: list[str] | tuple[str, ...] = (),
    stream: Any = None,
    force: bool = False,
) -> JsonStreamHandler:
    """Install the JSON handler on the root logger (once; `force=True` reconfigures).

    `level` defaults to `LIFT_LOG_LEVEL`/`AWS_LAMBDA_LOG_LEVEL`; `sample_rate` (0..1, default
    `LIFT_LOG_SAMPLE_RATE`) is the share of invocations logged at DEBUG. Lambda's own root
    handler is replaced so every line is JSON.
    """
    _quiet_botocore()
    if _config.handler is not None and not force:
        return _config.handler
    root = logging.getLogger()
    if _config.handler is not None:
        root.removeHandler(_config.handler)
    for old in list(root.handlers):
        # the Python runtime's: LambdaLoggerHandler, or LambdaLoggerHandlerWithFrameType under
        # the advanced logging controls (JSON format or an application log level)
        if type(old).__name__.startswith("LambdaLoggerHandler") or getattr(old, "lift_handler", False):
            root.removeHandler(old)
    redactor = Redactor(redact_keys, extra_keys=extra_redact_keys) if redact else None
    handler = JsonStreamHandler(JsonFormatter(service, redactor), stream)
    root.addHandler(handler)
    if isinstance(level, str):
        level = logging.getLevelName(_LAMBDA_LEVELS.get(level.upper(), level.upper()))
    _config.level = level if isinstance(level, int) else level_from_env()
    root.setLevel(_config.level)
    if sample_rate is None:
        try:
            sample_rate = float(os.environ.get("LIFT_LOG_SAMPLE_RATE") or 0.0)
        except ValueError:
            sample_rate = 0.0
    # (clamped to 0..1; NaN, which min/max would have made 1.0, samples nothing)
    _config.sample_rate = sample_rate if 0.0 <= sample_rate <= 1.0 else 1.0 if sample_rate > 1.0 else 0.0
    _config.handler = handler
    _config.app_service = _config.function_fields = None
    return handler


def _quiet_botocore() -> None:
    """botocore logs at DEBUG every response body (a SecureString's value, a secret's SecretString, a
    KMS data key's plaintext), every request's parameters and the signed headers (the session
    token): at LIFT_LOG_LEVEL=DEBUG, or in an invocation sampled at DEBUG, they would reach the
    function's logs. Its loggers start at INFO, unless the app set the `botocore` level itself."""
    botocore = logging.getLogger("botocore")
    if botocore.level == logging.NOTSET:
        botocore.setLevel(logging.INFO)


def _remember_function(ctx: Any) -> None:
    """Once: lines outside a request name this app and function."""
    _config.app_service = getattr(getattr(ctx, "app", None), "name", None)
    _config.function_fields = _function_fields(ctx)


def bind_context(ctx: Any) -> tuple[Any, Any, int | None]:
    """Make `ctx` the current request for every log line; decides debug sampling.

    Returns a token for `reset_context`.
    """
    global _sampled_open
    if _config.handler is None:
        configure()
    if _config.function_fields is None:
        _remember_function(ctx)
    ctx_token = _current_ctx.set(ctx)
    rate = _config.sample_rate
    if rate and _sampled_invocation(ctx, rate):
        with _sampling_lock:
            _sampled_open += 1
            if _sampled_open == 1:
                logging.getLogger().setLevel(logging.DEBUG)
        return ctx_token, _sampled.set(True), None
    return ctx_token, None, None


def reset_context(token: tuple[Any, Any, int | None]) -> None:
    global _sampled_open
    ctx_token, sampled_token, _ = token
    _current_ctx.reset(ctx_token)
    if sampled_token is not None:
        _sampled.reset(sampled_token)
        with _sampling_lock:
            _sampled_open -= 1
            if _sampled_open == 0:  # the last sampled request running: the configured level again
                logging.getLogger().setLevel(_config.level)


# The last invocation's event and whether it was sampled: every record of a batch (each bound on
# its own, all sharing the invocation's event) gets the invocation's one draw
_last_draw: tuple[Any, bool] | None = None


def _sampled_invocation(ctx: Any, rate: float) -> bool:
    global _last_draw
    event = getattr(ctx, "event", None)
    last = _last_draw
    if last is not None and event is not None and last[0] is event:
        return last[1]
    sampled = _random() < rate
    _last_draw = (event, sampled) if ctx.request is None else None  # (an HTTP request is its own invocation)
    return sampled


def _random() -> float:
    import random  # only when sampling is on

    return random.random()


def current_context() -> Any:
    """The request bound by the logging middleware, if any."""
    return _current_ctx.get()


class BoundLogger:
    """A logger with fields attached: `log.info("created", order_id=7)`; `log.bind(k=v)`."""

    __slots__ = ("_logger", "_ctx", "_fields")

    def __init__(self, logger: logging.Logger, ctx: Any = None, fields: dict[str, Any] | None = None) -> None:
        self._logger = logger
        self._ctx = ctx
        self._fields = fields or {}

    def bind(self, **fields: Any) -> BoundLogger:
        """A new logger whose lines also carry `fields`."""
        return BoundLogger(self._logger, self._ctx, {**self._fields, **fields})

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self._fields)

    def is_enabled_for(self, level: int) -> bool:
        return self._logger.isEnabledFor(level)

    def log(
        self, level: int, msg: Any, /, *args: Any, exc_info: Any = None, stack_info: bool = False, **fields: Any
    ) -> None:
        if self._logger.isEnabledFor(level):
            self._emit(level, msg, args, exc_info, stack_info, fields)

    def _emit(
        self, level: int, msg: Any, args: tuple[Any, ...], exc_info: Any, stack_info: bool, fields: dict[str, Any]
    ) -> None:
        """Build the record directly: the caller's frame is known, no stack walk needed."""
        logger = self._logger
        caller = sys._getframe(2)  # the user's frame: user -> info()/log() -> _emit()
        code = caller.f_code
        if exc_info and not isinstance(exc_info, tuple):
            exc_info = (
                (type(exc_info), exc_info, exc_info.__traceback__)
                if isinstance(exc_info, BaseException)
                else sys.exc_info()
            )
        sinfo = None
        if stack_info:
            import traceback as tb

            sinfo = "Stack (most recent call last):\n" + "".join(tb.format_stack(caller)).rstrip("\n")
        if fields and type(fields.get("extra")) is dict:  # stdlib style: `extra=` fields at the top level
            fields = {**fields.pop("extra"), **fields}
        merged = {**self._fields, **fields} if fields else self._fields
        record = logger.makeRecord(
            logger.name,
            level,
            code.co_filename,
            caller.f_lineno,
            msg,
            args,
            exc_info,
            code.co_name,
            {"lift_ctx": self._ctx, "lift_fields": merged},
            sinfo,
        )
        logger.handle(record)

    def debug(self, msg: Any, /, *args: Any, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, msg, args, None, False, fields)

    def info(self, msg: Any, /, *args: Any, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, msg, args, None, False, fields)

    def warning(self, msg: Any, /, *args: Any, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, msg, args, None, False, fields)

    warn = warning

    def error(self, msg: Any, /, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, args, exc_info, False, fields)

    def exception(self, msg: Any, /, *args: Any, exc_info: Any = True, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, args, exc_info, False, fields)

    def critical(self, msg: Any, /, *args: Any, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.CRITICAL):
            self._emit(logging.CRITICAL, msg, args, None, False, fields)


def get_logger(name: str = APP_LOGGER_NAME, **fields: Any) -> BoundLogger:
    """A JSON logger outside any request (init code, background work)."""
    if _config.handler is None:
        configure()
    return BoundLogger(logging.getLogger(name), None, fields)


def logger_for(ctx: Context) -> BoundLogger:
    """The logger behind `ctx.logger`: bound to this request or record."""
    if _config.handler is None:
        configure()
    return BoundLogger(logging.getLogger(APP_LOGGER_NAME), ctx)
