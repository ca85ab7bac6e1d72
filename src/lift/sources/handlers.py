"""Registered record handlers: the `body` getters for records and direct invokes, the handler
object that holds a registration's binder and composed chain, and the matchers built once at
registration (names, globs, S3 filters)."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lift import app as _lift_app
from lift import serialization
from lift.batch import UNCHANGED, MadeResult, RecordResult, await_result
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
        if cls is sqs.SQSContext:  # a plain message: its body, without making its record (None: missing)
            text = ctx.raw.get("body")  # type: ignore[attr-defined]  # an SQSContext
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
    if text is None:  # a structured payload as JSON text; none at all (a Kafka tombstone) as ""
        payload = ctx.record.payload()
        return "" if payload is None else serialization.encode_json(payload).decode("utf-8")
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:  # binary data (gzip, protobuf...): never a lossy str
            problem = f"byte {exc.start} is not UTF-8 (declare `body: bytes` for binary data)"
            raise malformed_record("body", "UTF-8 text", None, problem) from None
    return text


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

        Without middleware the chain is the bare call: nobody needs the result wrapped. With it,
        up to three chains differ in their innermost link only (`_record_runner`): `chain` for every
        caller; `batch_chain` and (SQS) `outer` for batch sources, which read no record's result
        beyond its class, on the thread whose records share one (`lift.batch.SHARING_THREAD`).
        """
        middleware = [*self.app.middleware, *self.middleware]
        self._fast = self._direct_call()
        if middleware:
            compose = _lift_app.compose
            self.chain = compose(middleware, self._record_runner(plain=False, shared=False))
            self.batch_chain = compose(middleware, self._record_runner(plain=False, shared=True))
            # (outermost middleware, the chain inside it) for the SQS dispatcher, which calls
            # `mw(ctx, call_next)` itself (one call fewer per record than through `chain`) with
            # the context of a plain message (whose raw body its innermost link decodes first)
            self.outer = (
                (middleware[0], compose(middleware[1:], self._record_runner(plain=True, shared=True)))
                if self.source == "sqs"
                else None
            )
        else:
            self.chain = self.batch_chain = self._fast
            self.outer = None
        self.body_shortcut = None if middleware else self._body_shortcut()

    def _record_runner(self, plain: bool, shared: bool) -> Callable[[Context], Any]:
        """The innermost link under middleware: the handler called with its body (a typed one
        decoded in this frame), its value returned as a `RecordResult` for the middleware.

        `plain`: the link of the chain the SQS dispatcher runs a plain message's context
        through (an `SQSContext`): the body is decoded straight from the raw message, and the
        body getter reads it only when that fails (an envelope, an invalid body, a context
        middleware replaced), reporting every problem.
        `shared`: a handler's None comes back as the shared `UnchangedResult` (no object per
        record; it becomes the record's own when something changes it)."""
        fast = self._fast
        typed = getattr(fast, "typed", None)
        if typed is None:
            kind, fn, get_body, fast_decode = "call", fast, None, None
        else:
            fn, get_body, fast_decode, with_ctx = typed
            kind = ("plain_" if plain else "") + ("ctx_body" if with_ctx else "body")
        code = _runner_code.get((kind, shared))
        if code is None:
            code = _runner_code[kind, shared] = _compile_runner(kind, shared)
        namespace = {
            "fn": fn,
            "get_body": get_body,
            "decode": fast_decode,
            "unchanged": UNCHANGED,
            "MadeResult": MadeResult,
            "Exception": Exception,
        }
        runner: Callable[[Context], Any] = types.FunctionType(code, namespace, "run_record")
        return runner

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
            if g0 is _identity:
                return fn

            def call_with_body(ctx: Context) -> Any:
                return fn(g0(ctx))

            fast_decode = getattr(g0, "fast_decode", None)
            if fast_decode is not None:  # `fn(body: Model)`: under middleware, decoded in _record_runner's frame
                call_with_body.typed = (fn, g0, fast_decode, False)  # type: ignore[attr-defined]
            return call_with_body
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

    call_with_typed_body.typed = (fn, get_body, fast_decode, True)  # type: ignore[attr-defined]  # for _record_runner
    return call_with_typed_body


_runner_code: dict[tuple[str, bool], types.CodeType] = {}


def _compile_runner(kind: str, shared: bool) -> types.CodeType:
    """The code of a record handler's innermost link (`EventHandler._record_runner`), one per
    shape, so that no record pays a test of what registration knew. `kind`: "call" (`fn(ctx)`
    gathers the arguments itself), "ctx_body" (`fn(ctx, body)`) or "body" (`fn(body)`), the body
    from its getter, or with "plain_" decoded from a plain SQS message first; `shared`: a None
    comes back as the shared result."""
    lines = ["def run_record(ctx):"]
    if kind.startswith("plain_"):  # an SQSContext's raw body; an envelope, invalid body, no raw message: the getter
        lines += [
            "    try:",
            '        body = decode(ctx.raw["body"])',
            "    except Exception:",
            "        body = get_body(ctx)",
        ]
    elif kind != "call":
        lines.append("    body = get_body(ctx)")
    if kind == "call":
        lines.append("    value = fn(ctx)")
    else:
        lines.append("    value = fn(ctx, body)" if kind.endswith("ctx_body") else "    value = fn(body)")
    if shared:
        lines += ["    if value is None:", "        return unchanged[0]"]
    lines += [
        "    result = MadeResult()",  # RecordResult(value), made by C code
        "    result.status = 200",
        '    result.body = b""',
        "    result.value = value",
        "    return result",
    ]
    module = compile("\n".join(lines), "<lift record runner>", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


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
    bucket_ok = pattern_matcher(bucket, "bucket")
    event_tests = [pattern_matcher(s3.normalize_event_name(e)) for e in (events or ())]

    def matches(obj: S3Object) -> bool:
        if not bucket_ok(obj.bucket):
            return False
        # (lifecycle, tiering, replication and restore notifications name their event with S3's `s3:` prefix)
        if event_tests and not any(test(s3.normalize_event_name(obj.event_name)) for test in event_tests):
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
