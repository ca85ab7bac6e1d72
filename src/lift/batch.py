"""Running records: one handler call per record, partial batch failures, ordering rules.

- A record whose handler (or middleware) raises is failed and logged with its id; the rest
  of the batch still runs. Nothing is dropped: a failed record is reported back to Lambda.
- `lane_of(record)` names an ordering lane (an SQS FIFO message group, a stream shard):
  after a failure in a lane, the lane's later records are failed without being run.
- Async handlers with `concurrency=N` run N lanes at a time on the shared event loop;
  each record's sync middleware runs on a worker thread while its coroutine runs on the loop.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lift.context import Context, Response
from lift.errors import find_lift_error
from lift.errors import lift_logger as _log

if TYPE_CHECKING:
    from lift.app import App
    from lift.sources.record import Record

__all__ = [
    "MadeResult",
    "RecordResult",
    "SHARING_THREAD",
    "UNCHANGED",
    "UnchangedResult",
    "await_result",
    "is_refusal",
    "log_record_failure",
    "id_of",
    "lane",
    "log_refusal",
    "process_batch",
    "run_context",
    "run_or_raise",
    "run_record",
    "skip_record",
]

_R = TypeVar("_R", bound="Record")  # a batch holds records of one source
_worker = _thread._local()  # threading.local without importing threading
_run_async: Any = None


_HEADERS = Response.__dict__["headers"]  # the slots of Response, read and set by RecordResult's properties
_COOKIES = Response.__dict__["cookies"]


class RecordResult(Response):
    """What `call_next(ctx)` returns for a record: an empty 200 Response carrying `value`,
    the handler's own return value (not encoded: nobody sends it over HTTP).

    One is made per record that runs through middleware, so it is cheap to make: slots only,
    and the headers dict and cookies list are made when first read."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.status = 200
        self.body = b""
        self.value = value

    @property  # the slot of Response, filled on first read here
    def headers(self) -> dict[str, str]:
        try:
            return _HEADERS.__get__(self)
        except AttributeError:
            headers: dict[str, str] = {}
            _HEADERS.__set__(self, headers)
            return headers

    @headers.setter
    def headers(self, value: dict[str, str]) -> None:
        _HEADERS.__set__(self, value)

    @property
    def cookies(self) -> list[str]:
        try:
            return _COOKIES.__get__(self)
        except AttributeError:
            cookies: list[str] = []
            _COOKIES.__set__(self, cookies)
            return cookies

    @cookies.setter
    def cookies(self, value: list[str]) -> None:
        _COOKIES.__set__(self, value)


class MadeResult(RecordResult):
    """The RecordResult the innermost link of a record chain makes, once per record: `MadeResult()`
    is built by C code (no Python `__init__` call, about 450 instructions fewer), then its
    status, body and value are set."""

    __slots__ = ()
    __init__ = object.__init__


_STATUS, _BODY, _VALUE = Response.__dict__["status"], Response.__dict__["body"], RecordResult.__dict__["value"]


def _claim(result: RecordResult) -> None:
    """Make a shared `UnchangedResult` the own `RecordResult` of the record whose middleware is
    changing it; the records after it get a new shared one."""
    if result.__class__ is UnchangedResult:
        result.__class__ = RecordResult  # type: ignore[assignment]  # (same layout: allowed)
        if UNCHANGED[0] is result:
            UNCHANGED[0] = _unchanged()


def _claiming(slot: Any) -> property:
    """A slot read as is, whose first write claims the result (`_claim`)."""

    def write(result: RecordResult, value: Any) -> None:
        _claim(result)
        slot.__set__(result, value)

    return property(slot.__get__, write)


def _claimed_part(name: str) -> property:
    """`headers` or `cookies`: reading one may change it, so a read claims the result too."""

    def read(result: RecordResult) -> Any:
        _claim(result)
        return getattr(result, name)

    def write(result: RecordResult, value: Any) -> None:
        _claim(result)
        setattr(result, name, value)

    return property(read, write)


class UnchangedResult(RecordResult):
    """What `call_next(ctx)` returns for a record whose handler returned None: one empty 200
    `RecordResult` (value None) shared by such records, so the usual record under middleware
    makes no result object (one was about 900 instructions of each record's cost).

    Sharing is invisible to middleware: the first change (setting `status`, `body` or `value`,
    reading `headers` or `cookies`, which may be changed in place) turns this object into that
    record's own `RecordResult` (its class becomes `RecordResult`) and the records after it get
    a new shared one. Only batch sources (SQS, Kinesis, DynamoDB streams, Kafka) use it, and only
    on one thread (`SHARING_THREAD`): records that run at the same time elsewhere, and records of
    sources whose answer is the handler's value, each get their own `RecordResult`."""

    __slots__ = ()

    status = _claiming(_STATUS)
    body = _claiming(_BODY)
    value = _claiming(_VALUE)
    headers = _claimed_part("headers")
    cookies = _claimed_part("cookies")


def _unchanged() -> UnchangedResult:
    result = UnchangedResult.__new__(UnchangedResult)
    _STATUS.__set__(result, 200)
    _BODY.__set__(result, b"")
    _VALUE.__set__(result, None)
    return result


# The shared result of the records whose handler returned None (replaced when one is claimed);
# the innermost link of a record chain reads it here. Batch sources use it only on SHARING_THREAD,
# the thread that imported this module (Lambda's main thread), so no two records running at the
# same time (`concurrency=N` lanes, the dev server's workers) ever hold it; the other sources,
# whose answer is a record's value, never do.
UNCHANGED = [_unchanged()]
SHARING_THREAD = _thread.get_ident()


def await_result(coro: Any) -> Any:
    """Run an async handler's coroutine: on the batch's loop inside a concurrent batch,
    else on the process-wide loop."""
    loop = getattr(_worker, "loop", None)
    if loop is not None:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    global _run_async
    if _run_async is None:
        from lift.app import run_async

        _run_async = run_async
    return _run_async(coro)


def log_record_failure(ctx: Context, record: Record | None, exc: BaseException, record_id: Any = None) -> None:
    """One log line naming the source, record id and reason; a traceback for unexpected errors."""
    if record is not None:
        if record_id is None:
            record_id = id_of(record)
        if exc.__class__ is UnicodeEncodeError or record.raw.__class__ is not dict:  # the record's fault?
            exc = record.rejection(exc)
    try:  # a handler's failure (its own KeyError included) is never mistaken for a malformed event
        exc._lift_record_failure = True  # type: ignore[attr-defined]
    except AttributeError:  # (an exception class with __slots__)
        pass
    if ctx._failure_logged:  # RequestLogging's access line for this record says it: one line per record
        return
    extra = {"source": ctx.source, "record_id": record_id, "request_id": ctx.request_id, "lift_ctx": ctx}
    err = find_lift_error(exc)
    if err is not None and err.status < 500:
        reason = f"{err.code}: {err.message}" + (f" {err.details}" if err.details else "")
        _log().warning(
            "%s record %s rejected (request_id=%s): %s",
            ctx.source,
            record_id,
            ctx.request_id,
            reason,
            extra={**extra, "reason": reason},
        )
    else:
        _log().error(
            "%s record %s failed (request_id=%s): %s: %s",
            ctx.source,
            record_id,
            ctx.request_id,
            type(exc).__name__,
            exc,
            exc_info=exc,
            extra=extra,
        )


def is_refusal(result: Any) -> bool:
    """Middleware (or the handler) answered with an error Response: the record did not succeed."""
    return (
        result is not None
        and result.__class__ is not UnchangedResult
        and result.__class__ is not MadeResult
        and result.__class__ is not RecordResult
        and isinstance(result, Response)
        and result.status >= 400
    )


def log_refusal(ctx: Context, record: Record, status: int) -> None:
    if ctx._failure_logged:  # (said by RequestLogging's access line)
        return
    record_id = id_of(record)
    _log().warning(
        "%s record %s refused with status %s (request_id=%s)",
        ctx.source,
        record_id,
        status,
        ctx.request_id,
        extra={"source": ctx.source, "record_id": record_id, "request_id": ctx.request_id, "lift_ctx": ctx},
    )


def id_of(record: Record) -> Any:
    """The id a failed record is reported with; "" for a record without one (never sent by AWS),
    which makes Lambda retry the whole batch: a record nobody can name cannot fail alone."""
    try:
        record_id = record.record_id
    except Exception:
        return ""
    return record_id if record_id.__class__ is str else ""


def lane(lane_of: Callable[[_R], Any], record: _R) -> Any:
    """The ordering lane of a record, or None when its fields cannot say (a malformed record)."""
    try:
        key = lane_of(record)
        hash(key)
    except Exception:
        return None
    return key


def run_record(
    app: App, chain: Callable[[Context], Any], event: Any, context: Any, source: str, record: Record
) -> bool:
    """Run one record through its chain; False (after logging) when it failed."""
    ctx = app.new_context(event, context, source)
    ctx.record = record
    return run_context(chain, ctx)


def run_context(chain: Callable[[Context], Any], ctx: Context) -> bool:
    """Run a record's context through its chain; False (after logging) when it failed."""
    try:
        result = chain(ctx)
    except Exception as exc:
        log_record_failure(ctx, ctx.record, exc)
        return False
    if result is None or result.__class__ is UnchangedResult or result.__class__ is MadeResult:  # the usual answers
        return True
    if is_refusal(result):
        log_refusal(ctx, ctx.record, result.status)
        return False
    return True


def run_or_raise(
    app: App,
    chain: Callable[[Context], Any],
    event: Any,
    context: Any,
    source: str,
    record: Record | None,
    record_id: Any = None,
) -> Any:
    """Run one record of an asynchronous source: a failure is logged and raised, so Lambda retries
    the event and its DLQ or failure destination receives it. `record_id` overrides the id logged."""
    ctx = app.new_context(event, context, source)
    ctx.record = record
    try:
        result = chain(ctx)
    except Exception as exc:
        log_record_failure(ctx, record, exc, record_id)
        mask_cards_in(exc)
        raise
    if is_refusal(result):
        from lift.errors import LiftError

        refused = LiftError(
            result.status, "refused", f"{source} record refused by middleware with status {result.status}"
        )
        log_record_failure(ctx, record, refused, record_id)
        raise refused
    return result


def run_each_or_raise(
    app: App,
    items: Sequence[tuple[str, Callable[[Context], Any], Record]],
    event: Any,
    context: Any,
    check: Callable[[Any], Any] | None = None,
) -> list[Any]:
    """Run every record of a multi-record asynchronous event (SNS, S3, SES) once: a failing record is
    logged alone (one line with the request id and its id) and the others still run; then, if any
    failed, raise `RecordsFailed` naming them, chained to the first failure, so Lambda's retry, DLQ
    or on-failure destination still sees the invocation fail. `check(result)` may raise to fail a
    record after its handler returned. Returns each record's result, in order.

    A one-record event (what AWS sends in practice) is not wrapped: its own exception propagates."""
    if len(items) == 1:
        source, chain, record = items[0]
        result = run_or_raise(app, chain, event, context, source, record)
        if check is not None:
            check(result)
        return [result]
    results: list[Any] = []
    failures: list[tuple[str, BaseException]] = []
    for source, chain, record in items:
        record_id = async_id_of(record)
        try:
            result = run_or_raise(app, chain, event, context, source, record, record_id)
        except Exception as exc:
            failures.append((record_id, exc))
            results.append(None)
            continue
        if check is not None:
            try:
                check(result)
            except Exception as exc:  # a bad return value: this record fails, logged as a handler failure is
                ctx = app.new_context(event, context, source)
                ctx.record = record
                log_record_failure(ctx, record, exc, record_id)
                failures.append((record_id, exc))
                results.append(None)
                continue
        results.append(result)
    if failures:
        from lift.errors import RecordsFailed

        raise mask_cards_in(RecordsFailed(items[0][0], len(items), failures)) from failures[0][1]
    return results


_E = TypeVar("_E", bound=BaseException)


def mask_cards_in(exc: _E) -> _E:
    """`exc`, about to leave the app for Lambda's runtime, with card numbers in its text arguments
    masked: the runtime writes its message to the function's log and returns it to the caller
    (`errorMessage`), where Lift's own lines have them masked. (A message made otherwise than from
    its arguments, an OSError's file name, is left as it is.)"""
    args = exc.args
    for arg in args:
        if arg.__class__ is str and len(arg) >= 13:
            from lift.observability.redaction import mask_card_numbers

            try:
                exc.args = tuple(mask_card_numbers(a) if a.__class__ is str else a for a in args)
            except Exception:  # (an exception class that refuses new arguments)
                pass
            break
    return exc


def async_id_of(record: Record) -> str:
    """The id a failed record of a multi-record async event is named by: SNS MessageId, SES
    messageId, and for S3 `s3://bucket/key` plus the object's sequencer (one event can name the
    same key twice; the sequencer orders the two writes)."""
    record_id = id_of(record)
    sequencer = getattr(record, "sequencer", None)
    if isinstance(sequencer, str) and sequencer:
        return f"{record_id} (sequencer {sequencer})"
    return record_id


def process_batch(
    app: App,
    handler: Any,
    records: Sequence[_R],
    event: Any,
    context: Any,
    source: str,
    lane_of: Callable[[_R], Any] | None = None,
    concurrency: int | None = None,
) -> list[str]:
    """Run every record through `handler.chain`; return the ids of the failed ones, in batch order."""
    if concurrency and len(records) > 1:
        return _process_concurrently(app, handler, records, event, context, source, lane_of, concurrency)
    failed: list[str] = []
    blocked: set[Any] | None = None  # the lanes with a failure: asked of each record only once one exists
    # on the thread whose records share one result (SHARING_THREAD), the chain that gives it
    chain = handler.batch_chain if _thread.get_ident() == SHARING_THREAD else handler.chain
    cold = app._cold
    app._cold = False  # the first context is the cold start's
    for record in records:  # run_record, inlined: this loop is the per-record hot path
        if blocked is not None and (key := lane(lane_of, record)) in blocked:  # type: ignore[arg-type]
            skip_record(source, record, key, context)
            failed.append(id_of(record))
            continue
        ctx = Context(app, event, context, source, None, cold, None, record)
        cold = False
        try:
            result = chain(ctx)
            if result is None or result.__class__ is UnchangedResult or not is_refusal(result):
                continue
            log_refusal(ctx, record, result.status)
        except Exception as exc:
            log_record_failure(ctx, record, exc)
        failed.append(id_of(record))
        if lane_of is not None:
            if blocked is None:
                blocked = set()
            blocked.add(lane(lane_of, record))
    return failed


def skip_record(source: str, record: Record, lane: Any, context: Any = None) -> None:
    """Log a record failed unrun because an earlier one of its lane failed, with the invocation's
    request id (`context`: Lambda's context object)."""
    record_id = id_of(record)
    request_id = getattr(context, "aws_request_id", None)
    _log().warning(
        "%s record %s not run: an earlier record of %s failed (ordering kept) (request_id=%s)",
        source,
        record_id,
        lane,
        request_id,
        extra={"source": source, "record_id": record_id, "request_id": request_id},
    )


def _run_lane(
    app: App,
    chain: Callable[[Context], Any],
    lane: list[tuple[int, Record]],
    event: Any,
    context: Any,
    source: str,
    loop: Any,
) -> list[int]:
    """Run one lane in order on a worker thread; the indexes of its failed records."""
    _worker.loop = loop
    failed: list[int] = []
    try:
        for index, record in lane:
            if failed:
                skip_record(source, record, "its lane", context)
                failed.append(index)
            elif not run_record(app, chain, event, context, source, record):
                failed.append(index)
    finally:
        _worker.loop = None
    return failed


def _process_concurrently(
    app: App,
    handler: Any,
    records: Sequence[_R],
    event: Any,
    context: Any,
    source: str,
    lane_of: Callable[[_R], Any] | None,
    concurrency: int,
) -> list[str]:
    import asyncio

    from lift.app import run_async

    lanes: dict[Any, list[tuple[int, Record]]] = {}
    for index, record in enumerate(records):
        key = lane(lane_of, record) if lane_of is not None else None
        lanes.setdefault(key if key is not None else ("record", index), []).append((index, record))
    pool = _executor(concurrency)
    chain = handler.chain

    async def run_all() -> list[list[int]]:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(concurrency)

        async def one(lane: list[tuple[int, Record]]) -> list[int]:
            async with limit:
                return await loop.run_in_executor(pool, _run_lane, app, chain, lane, event, context, source, loop)

        return await asyncio.gather(*(one(lane) for lane in lanes.values()))

    failed = sorted(i for lane_failed in run_async(run_all()) for i in lane_failed)
    return [id_of(records[i]) for i in failed]


_executors: dict[int, Any] = {}
_executors_lock = _thread.allocate_lock()


def _executor(workers: int) -> Any:
    """A thread pool per concurrency level, created once for the execution environment."""
    with _executors_lock:
        pool = _executors.get(workers)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _executors[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lift-batch")
        return pool
