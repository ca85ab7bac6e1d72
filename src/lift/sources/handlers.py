"""Registered record handlers: the `body` getters for records and direct invokes, the handler
object that holds a registration's binder and composed chain, and the matchers built once at
registration (names, globs, S3 filters)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lift import app as _lift_app
from lift import serialization
from lift.batch import MadeResult, RecordResult, await_result
from lift.binding import _EMPTY, _identity, build_binder
from lift.context import Context, Response
from lift.sources import LazyModule
from lift.sources.record import Record, malformed_record, pattern_matcher
from lift.validation import codec_for

if TYPE_CHECKING:
    from lift.sources.s3 import S3Object

__all__ = [
    "EventHandler",
    "WebSocketHandler",
    "eventbridge_matcher",
    "invoke_body",
    "record_body",
    "s3_matcher",
    "schedule_expression",
]

s3 = LazyModule("lift.sources.s3", globals())
sqs = LazyModule("lift.sources.sqs", globals())
Getter = Callable[[Context], Any]
Middleware = Callable[[Context, Callable[[Context], Response]], Response]


# -- the `body` parameter of a record handler ---------------------------------------------
def record_body(hint: Any, has_default: bool, default: Any) -> Getter:
    """The getter for a record handler's `body`: the record payload decoded into `hint`."""
    if isinstance(hint, type) and issubclass(hint, Record):
        return _the_record
    if hint is str:
        return _record_text
    if hint is bytes:
        return _record_bytes
    if hint is _EMPTY or hint is Any:
        return _record_payload
    codec = codec_for(hint, "body")
    decode_json, convert = codec.decode_json, codec.convert
    # msgspec's decoder straight away; the codec (complete error report) only when it fails
    fast = getattr(codec, "_decoder", None) if codec.pydantic is None else None
    fast_decode = fast.decode if fast is not None else decode_json

    def get_record_body(ctx: Context) -> Any:
        cls = ctx.__class__
        if cls is sqs.SQSContext:  # a plain message: its body, without making its record
            text = ctx.raw["body"]  # type: ignore[attr-defined]  # an SQSContext
        elif cls is sqs.SQSEnvelopeContext:  # made only when `hint` rejects envelopes: one that decodes is plain
            try:
                return fast_decode(ctx.raw["body"])  # type: ignore[attr-defined]
            except Exception:  # an envelope, or invalid: from the (unwrapped) record
                text = ctx.record.json_text()
        else:
            text = ctx.record.json_text()
        if text is not None:
            if not text and has_default:
                return default
            try:
                return fast_decode(text)
            except Exception:
                if text.__class__ is not str and text.__class__ is not bytes:
                    raise malformed_record("body", "text", text) from None
                return decode_json(text)  # raises BadRequest/ValidationFailed with every problem
        value = ctx.record.model_input()
        if value is None and has_default:
            return default
        return convert(value)

    get_record_body.fast_decode = fast_decode if fast is not None else None  # type: ignore[attr-defined]
    get_record_body.model = hint  # type: ignore[attr-defined]
    return get_record_body


def _the_record(ctx: Context) -> Any:
    return ctx.record


def _record_payload(ctx: Context) -> Any:
    return ctx.record.payload()


def _record_bytes(ctx: Context) -> bytes:
    """The payload's bytes as they came (Kinesis data may be gzip or any binary)."""
    text = ctx.record.json_text()
    if isinstance(text, bytes):
        return text
    return _record_text(ctx).encode("utf-8")


def _record_text(ctx: Context) -> str:
    text = ctx.record.json_text()
    if text is None:
        return serialization.encode_json(ctx.record.payload()).decode("utf-8")
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def invoke_body(hint: Any, has_default: bool, default: Any) -> Getter:
    """The getter for a direct-invoke handler's `body`: the whole event decoded into `hint`."""
    if hint is _EMPTY or hint is Any or hint is dict:
        return lambda ctx: ctx.event
    if hint is str:
        return lambda ctx: ctx.event if isinstance(ctx.event, str) else serialization.encode_json(ctx.event).decode()
    if hint is bytes:
        return lambda ctx: serialization.encode_json(ctx.event)
    convert = codec_for(hint, "body").convert

    def get_invoke_body(ctx: Context) -> Any:
        if ctx.event is None and has_default:
            return default
        return convert(ctx.event)

    return get_invoke_body


# -- registered handlers ------------------------------------------------------------------
class EventHandler:
    """One registered record handler: what it matches, its binder and its composed chain."""

    outer: tuple[Middleware, Callable[[Context], Any]] | None = None

    def __init__(
        self,
        app: Any,
        source: str,
        fn: Callable[..., Any],
        name: str | None,
        match: Callable[[Any], bool],
        middleware: Iterable[Middleware],
        options: dict[str, Any],
        body_source: Callable[[Any, bool, Any], Getter] = record_body,
    ) -> None:
        self.app = app
        self.source = source
        self.fn = fn
        self.name = name
        self.match = match
        self.middleware = list(middleware)
        self.options = options
        self.binder = build_binder(fn, body_source=body_source)
        self.concurrency: int | None = options.get("concurrency")
        self.envelope: str | None = options.get("envelope")
        self.chain: Callable[[Context], Any] = self.run
        self.compose()

    def compose(self) -> None:
        """Global middleware, then the handler's own, around `run` (recomposed by `app.use`).

        Without middleware the chain is the bare call: nobody needs the result wrapped.
        """
        middleware = [*self.app.middleware, *self.middleware]
        self._fast = self._direct_call()
        if middleware:
            inner = self._record_runner()
            self.chain = _lift_app.compose(middleware, inner)
            # (outermost middleware, the chain inside it): a batch source calls `mw(ctx, call_next)`
            # itself, one call fewer per record than through `chain`
            self.outer = (
                middleware[0],
                _lift_app.compose(middleware[1:], inner),
            )
        else:
            self.chain = self._fast
            self.outer = None
        self.body_shortcut = None if middleware else self._body_shortcut()

    def _record_runner(self) -> Callable[[Context], Any]:
        """The innermost link under middleware: `run`, with a typed body decoded in the same frame."""
        fast = self._fast
        typed = getattr(fast, "typed", None)
        if typed is None:
            return lambda ctx: RecordResult(fast(ctx))
        fn, get_body, fast_decode = typed

        def run_typed_record(ctx: Context) -> Any:
            cls = ctx.__class__
            # a plain message (the dispatcher makes an SQSEnvelopeContext, which unwraps an envelope
            # only when its record is read, only when this model rejects envelopes: a body that
            # decodes into it is no envelope)
            if cls is sqs.SQSEnvelopeContext or cls is sqs.SQSContext:
                try:
                    body = fast_decode(ctx.raw["body"])  # type: ignore[attr-defined]  # an SQSContext
                except Exception:  # invalid, nested too deeply, not text, an envelope...
                    body = get_body(ctx)  # raises the complete error (or gives the default)
            else:
                body = get_body(ctx)
            result = MadeResult()  # RecordResult(value), made by C code
            result.status = 200
            result.body = b""
            result.value = fn(ctx, body)
            return result

        return run_typed_record

    def _body_shortcut(self) -> tuple[bool, Callable[[Any], Any], Any] | None:
        """For `def handler(body: Model)` and `def handler(ctx: Context, body: Model)` (sync, no
        middleware): (takes ctx, the msgspec decoder of the body, the model), so a batch source
        can decode a plain record's body and call the handler in its own loop; else None."""
        binder = self.binder
        if binder.is_async or getattr(getattr(self.fn, "__code__", None), "co_kwonlyargcount", 1) != 0:
            return None
        getters = binder.getters
        if len(getters) == 1 and binder.names == ["body"]:
            with_ctx, getter = False, getters[0]
        elif len(getters) == 2 and getters[0] is _identity and binder.names[1] == "body":
            with_ctx, getter = True, getters[1]
        else:
            return None
        decode = getattr(getter, "fast_decode", None)
        return (with_ctx, decode, getter.model) if decode is not None else None  # type: ignore[attr-defined]

    def call(self, ctx: Context) -> Any:
        """The handler's own return value."""
        if self.binder.is_async:
            return await_result(self.binder.call(ctx))
        return self.binder.call(ctx)

    def _direct_call(self) -> Callable[[Context], Any]:
        """`call` without the indirections: `ctx` passed straight through, the body getter called
        inline (the common record signatures); anything else goes through the binder."""
        binder, fn = self.binder, self.fn
        if binder.is_async or getattr(getattr(fn, "__code__", None), "co_kwonlyargcount", 1) != 0:
            return self.call
        getters = binder.getters
        if len(getters) == 1:
            (g0,) = getters
            return fn if g0 is _identity else lambda ctx: fn(g0(ctx))
        if len(getters) == 2:
            g0, g1 = getters
            fast_decode = getattr(g1, "fast_decode", None)
            if g0 is _identity and fast_decode is not None:
                return _ctx_and_typed_body(fn, g1, fast_decode)
            if g0 is _identity:
                return lambda ctx: fn(ctx, g1(ctx))
            if g1 is _identity:
                return lambda ctx: fn(g0(ctx), ctx)
        return binder.call

    def run(self, ctx: Context) -> Any:
        """The handler's return value as a Response for middleware (a `RecordResult`)."""
        return RecordResult(self._fast(ctx))

    def __repr__(self) -> str:
        return f"<EventHandler {self.source} {self.name!r} -> {getattr(self.fn, '__qualname__', self.fn)}>"


def _ctx_and_typed_body(
    fn: Callable[..., Any],
    get_body: Getter,
    fast_decode: Callable[[Any], Any],
) -> Callable[[Context], Any]:
    """`fn(ctx, body)` for a plain SQS message, decoded in the same frame (the hot path with middleware);
    everything else (envelopes, other sources, invalid bodies) through the body getter."""

    def call_with_typed_body(ctx: Context) -> Any:
        if ctx.__class__ is sqs.SQSContext:  # a plain message
            try:
                body = fast_decode(ctx.raw["body"])  # type: ignore[attr-defined]  # an SQSContext
            except Exception:  # invalid, nested too deeply, not text...
                body = get_body(ctx)  # raises the complete error (or gives the default)
            return fn(ctx, body)
        return fn(ctx, get_body(ctx))

    call_with_typed_body.typed = (fn, get_body, fast_decode)  # type: ignore[attr-defined]  # for _record_runner
    return call_with_typed_body


class WebSocketHandler(EventHandler):
    """A WebSocket route: like HTTP, results and errors become a status for API Gateway."""

    def compose(self) -> None:
        self.chain = _lift_app.compose([*self.app.middleware, *self.middleware], self.run)

    def run(self, ctx: Context) -> Response:
        try:
            result = self.binder.call(ctx)
            if self.binder.is_async:
                result = await_result(result)
            if result is None:
                return Response(None, 200)
            return _lift_app.to_response(result)
        except Exception as exc:
            from lift.sources.websocket import error_response

            return error_response(self.app, ctx, exc)


def s3_matcher(bucket: str, events: Iterable[str] | None, prefix: str, suffix: str) -> Callable[[Any], bool]:
    bucket_ok = pattern_matcher(bucket)
    event_tests = [pattern_matcher(s3.normalize_event_name(e)) for e in (events or ())]

    def matches(obj: S3Object) -> bool:
        if not bucket_ok(obj.bucket):
            return False
        if event_tests and not any(test(obj.event_name) for test in event_tests):
            return False
        key = obj.key
        return key.startswith(prefix) and key.endswith(suffix)

    return matches


def eventbridge_matcher(source: str | None, detail_type: str | None) -> Callable[[Any], bool]:
    source_ok, type_ok = pattern_matcher(source), pattern_matcher(detail_type)
    return lambda key: source_ok(key[0]) and type_ok(key[1])


def schedule_expression(kind: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if value.startswith(f"{kind}(") else f"{kind}({value})"
