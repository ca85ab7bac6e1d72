"""Idempotency: a retried request or redelivered record runs its handler at most once.

    from lift.middleware.idempotency import idempotency, idempotent
    app.use(idempotency(store=DynamoDBStore("lift")))          # HTTP: the Idempotency-Key header

    @app.sqs("orders")
    @idempotent(store=store, key="order_id")                   # records, invokes, any function
    def charge(ctx: Context, body: Order) -> dict: ...

How: the first call takes a real lock, a conditional put of an IN_PROGRESS record that
expires when the Lambda invocation would time out (`ctx.remaining_ms()`), so a crashed
invocation never blocks the key for longer than its own lifetime. A concurrent duplicate
sees the lock: HTTP answers 409, a record or function raises `IdempotencyInProgress` (the
record fails and its source delivers it again later). When the handler finishes, the lock
is swapped (compare-and-set on the lock's own token) for a COMPLETED record, replayed to
later duplicates (HTTP: status, headers and body, plus `Idempotent-Replayed: true`).
Failures are not kept: a 5xx (or a raised error) releases the lock so a retry runs again;
4xx responses are kept only with `cache_client_errors=True`. The same key with a different
payload is a 422. Records are scoped by tenant (`ctx.tenant_id`) and by route or function.

As middleware, records and direct invokes are covered too when asked (`key=` an expression
over the record's payload, or `records=True` to key on the whole payload): a duplicate record
is skipped and its first result returned, one still in progress fails (and is redelivered).

Store failure: fails CLOSED by default (HTTP 503 with `Retry-After`, a record fails and is
retried), since running a payment twice is worse than asking for a retry; `fail_open=True`
runs the handler unprotected instead, with an error log and the
`IdempotencyStoreErrors` metric.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
import uuid
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from lift.context import Context, Response
from lift.errors import BadRequest, Conflict, ServiceUnavailable, ValidationFailed
from lift.stores.base import Store, StoreError, encode_value, scoped_key

__all__ = [
    "IdempotencyInProgress",
    "IdempotencyKeyMissing",
    "IdempotencyKeyReused",
    "IdempotencyLedger",
    "IdempotencyMiddleware",
    "IdempotencyOutcomeNotKept",
    "idempotency",
    "idempotent",
    "key_from_expression",
]

_log = logging.getLogger("lift.idempotency")
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_LOCK_MARGIN_S = 1.0
_PACK_OVER = 64 * 1024  # bytes of JSON above which a completed record's outcome is kept zlib-compressed
NOT_KEPT = object()  # the outcome of a completed call that was too large for the store to keep


class IdempotencyInProgress(Conflict):
    """409: another call with the same idempotency key is running right now."""

    code = "idempotency_in_progress"
    message = "A request with this idempotency key is already in progress"


class IdempotencyKeyReused(ValidationFailed):
    """422: the idempotency key was already used with a different payload."""

    code = "idempotency_key_reused"
    message = "This idempotency key was already used with a different payload"


class IdempotencyOutcomeNotKept(Conflict):
    """409: a request with this key already completed, but its response was too large to keep for a
    replay (over the store's item limit, DynamoDB's 400 KB, even compressed); it is not run again."""

    code = "idempotency_outcome_not_kept"
    message = "A request with this idempotency key already completed; its response was too large to keep for a replay"


class IdempotencyKeyMissing(BadRequest):
    """400: an idempotency key is required and none was given (or it is malformed)."""

    code = "idempotency_key_missing"
    message = "An idempotency key is required"


# -- the ledger: lock, complete, release, on any store -------------------------------------


class IdempotencyLedger:
    """The records behind idempotency on one store: a lock per key, then the stored outcome."""

    def __init__(self, store: Store, expires_after: float = 3600.0) -> None:
        self.store = store
        self.expires_after = expires_after

    def begin(self, key: str, payload_hash: str | None, lock_ttl: float) -> tuple[dict[str, Any] | None, Any]:
        """Take the lock: (lock, None) when this call must run, (None, outcome) to replay.

        Raises IdempotencyKeyReused for a different payload, IdempotencyInProgress while another
        call holds the lock. A lock with this call's own token is this call's: the write reached
        the store but its answer was lost, and the store client's retry found it.
        """
        lock = {"status": IN_PROGRESS, "hash": payload_hash, "token": uuid.uuid4().hex}
        written, record = self.store.put_if_absent_or_get(key, lock, ttl=lock_ttl)
        if written or (isinstance(record, dict) and record.get("token") == lock["token"]):
            return lock, None
        if payload_hash is not None and record.get("hash") not in (None, payload_hash):
            raise IdempotencyKeyReused()
        if record.get("status") == COMPLETED:
            return None, _kept_outcome(record)
        raise IdempotencyInProgress(headers={"Retry-After": "1"})

    def complete(self, key: str, lock: dict[str, Any], outcome: Any) -> bool:
        """Swap our own lock for the completed record; False when the lock was lost meanwhile.

        A large outcome is kept compressed; one still over the store's item limit is not kept, but the
        record still says COMPLETED, so a duplicate is refused (never run again, never held as in progress)."""
        done = self._completed(key, lock["hash"], outcome)
        if self.store.compare_and_set(key, lock, done, ttl=self.expires_after):
            return True
        _log.warning("idempotency lock for %s expired before the handler finished; outcome not stored", key)
        return False

    def _completed(self, key: str, payload_hash: str | None, outcome: Any) -> dict[str, Any]:
        done = {"status": COMPLETED, "hash": payload_hash, "outcome": outcome}
        data = encode_value(outcome)
        if len(data) <= _PACK_OVER:
            return done
        packed = base64.b64encode(zlib.compress(data, 1)).decode("ascii")
        value_limit = getattr(self.store, "value_limit", None)
        limit = value_limit(key) if value_limit is not None else None
        if limit is not None and len(packed) + 256 > limit:
            _log.warning(
                "idempotency outcome for %s is %d bytes (%d compressed), over the store's limit of %d: "
                "not kept, a duplicate is refused with 409 idempotency_outcome_not_kept",
                key,
                len(data),
                len(packed),
                limit,
            )
            return {"status": COMPLETED, "hash": payload_hash, "kept": False}
        return {"status": COMPLETED, "hash": payload_hash, "packed": packed}

    def release(self, key: str, lock: dict[str, Any]) -> None:
        """Drop our lock (never someone else's) so that a retry runs again."""
        try:
            self.store.delete(key, expected=lock)
        except StoreError as exc:
            _log.error("could not release idempotency lock %s (it expires on its own): %s", key, exc)


def _kept_outcome(record: dict[str, Any]) -> Any:
    """The outcome a completed record holds (unpacked), or NOT_KEPT."""
    packed = record.get("packed")
    if packed is not None:
        return msgspec.json.decode(zlib.decompress(base64.b64decode(packed)))
    if record.get("kept") is False:
        return NOT_KEPT
    return record.get("outcome")


def _lock_ttl(ctx: Any, lambda_context: Any, default: float) -> float:
    """The lock lives as long as the invocation may: Lambda's remaining time plus a margin."""
    if ctx is not None and getattr(ctx, "lambda_context", None) is not None:
        return ctx.remaining_ms() / 1000 + _LOCK_MARGIN_S
    get = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if get is not None:
        return get() / 1000 + _LOCK_MARGIN_S
    return default


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _request_digest(request: Any) -> str:
    """What a request asks for: its path, its query (when it has one; in any order) and its body."""
    data = request.path.encode() + b"\n" + request.body
    query = request.query
    if len(query):
        data += b"\n?" + msgspec.json.encode(sorted(query.to_dict().items()))
    return _digest(data)


def _report_store_error(ctx: Any, exc: StoreError, fail_open: bool) -> None:
    """The one line that says why: failing closed, the 503 or the failed record that follows writes no other."""
    request_id = getattr(ctx, "request_id", None)
    _log.error(
        "idempotency store failed%s (request_id=%s, fail_%s): %s",
        _which_record(ctx),
        request_id,
        "open" if fail_open else "closed",
        exc,
        extra={"request_id": request_id},
    )
    if ctx is not None and not fail_open:
        ctx._failure_logged = True
    if ctx is not None:
        try:
            ctx.metrics.add("IdempotencyStoreErrors", 1, "Count")
        except Exception:
            _log.debug("could not add the IdempotencyStoreErrors metric", exc_info=True)


def _which_record(ctx: Any) -> str:
    """' for sqs record <id>' when `ctx` is a record's, so its one failure line names it."""
    record = getattr(ctx, "record", None)
    if record is None:
        return ""
    from lift.batch import id_of

    return f" for {ctx.source} record {id_of(record)}"


# -- HTTP middleware ---------------------------------------------------------------------------


class IdempotencyMiddleware:
    """Middleware: requests carrying an `Idempotency-Key` run once per key, route and tenant."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        header: str = "Idempotency-Key",
        required: bool = False,
        methods: Iterable[str] = ("POST", "PUT", "PATCH", "DELETE"),
        expires_after: float = 3600.0,
        hash_payload: bool = True,
        cache_client_errors: bool = False,
        fail_open: bool = False,
        lock_timeout: float = 60.0,
        key: str | Callable[[Any], Any] | None = None,
        records: bool | None = None,
        name: str = "idem",
    ) -> None:
        if store is None:
            from lift.stores.memory import MemoryStore

            store = MemoryStore()
        self.ledger = IdempotencyLedger(store, expires_after)
        self.record_key_of = key_from_expression(key) if isinstance(key, str) else key
        self.records = records if records is not None else key is not None
        self.header = header
        self.required = required
        self.methods = frozenset(m.upper() for m in methods)
        self.hash_payload = hash_payload
        self.cache_client_errors = cache_client_errors
        self.fail_open = fail_open
        self.lock_timeout = lock_timeout
        self.name = name

    def record_key(self, ctx: Any, idempotency_key: str) -> str:
        """The store key: tenant, then method and route template, then the user (when auth set one),
        then the client's key. Keys are not secrets: one user sending another's key (and body) must
        not get the other's response replayed."""
        request = ctx.request
        where = f"{request.method} {ctx.route or request.path}"
        user = ctx.user_id
        if user is not None:
            return scoped_key(self.name, where, f"u:{user}", idempotency_key, tenant_id=ctx.tenant_id)
        return scoped_key(self.name, where, idempotency_key, tenant_id=ctx.tenant_id)

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        request = ctx.request
        if request is None:
            return self._record(ctx, call_next) if self.records and ctx.source != "websocket" else call_next(ctx)
        if request.method not in self.methods:
            return call_next(ctx)
        client_key = request.headers.get(self.header)
        if client_key is None:
            if self.required:
                return ctx.app.error_response(ctx, IdempotencyKeyMissing(f"The {self.header} header is required"))
            return call_next(ctx)
        if not _KEY_RE.match(client_key):
            return ctx.app.error_response(
                ctx, IdempotencyKeyMissing(f"The {self.header} header must be 1-255 visible ASCII characters")
            )
        key = self.record_key(ctx, client_key)
        payload_hash = _request_digest(request) if self.hash_payload else None
        try:
            lock, outcome = self.ledger.begin(key, payload_hash, _lock_ttl(ctx, None, self.lock_timeout))
        except (IdempotencyInProgress, IdempotencyKeyReused) as exc:
            return ctx.app.error_response(ctx, exc)
        except StoreError as exc:
            _report_store_error(ctx, exc, self.fail_open)
            if self.fail_open:
                return call_next(ctx)
            return ctx.app.error_response(
                ctx, ServiceUnavailable("Idempotency store unavailable, retry later", headers={"Retry-After": "1"})
            )
        if lock is None:
            if outcome is NOT_KEPT:
                return ctx.app.error_response(ctx, IdempotencyOutcomeNotKept())
            return _replay(outcome)
        try:
            response = call_next(ctx)
        except BaseException:
            self.ledger.release(key, lock)
            raise
        self._settle(ctx, key, lock, response)
        return response

    def _record(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        """A record or direct invoke: the key from its payload; a duplicate is skipped."""
        from lift.batch import RecordResult

        data = _builtins(ctx.record.payload() if ctx.record is not None else ctx.event)
        encoded = msgspec.json.encode(data)
        value = self.record_key_of(data) if self.record_key_of is not None else data
        if value is None or value == "":
            _log.warning(
                "no idempotency key in the %s payload (request_id=%s): processed without idempotency",
                ctx.source,
                ctx.request_id,
            )
            return call_next(ctx)
        key = scoped_key(
            self.name,
            f"{ctx.source}:{_origin(ctx.record)}",
            _digest(msgspec.json.encode(value)),
            tenant_id=ctx.tenant_id,
        )
        payload_hash = _digest(encoded) if self.hash_payload else None
        try:
            lock, outcome = self.ledger.begin(key, payload_hash, _lock_ttl(ctx, None, self.lock_timeout))
        except StoreError as exc:
            _report_store_error(ctx, exc, self.fail_open)
            if self.fail_open:
                return call_next(ctx)
            raise
        if lock is None:
            _log.info("duplicate %s record skipped (request_id=%s)", ctx.source, ctx.request_id)
            return RecordResult(_decode_outcome(outcome))
        try:
            result = call_next(ctx)
        except BaseException:
            self.ledger.release(key, lock)
            raise
        try:
            self.ledger.complete(key, lock, _encode_outcome(getattr(result, "value", result)))
        except StoreError as exc:
            _report_store_error(ctx, exc, True)
        return result

    def _settle(self, ctx: Any, key: str, lock: dict[str, Any], response: Response) -> None:
        status = response.status
        keep = status < 400 or (status < 500 and self.cache_client_errors)
        try:
            if keep:
                self.ledger.complete(key, lock, _response_record(response))
            else:
                self.ledger.release(key, lock)
        except StoreError as exc:
            # The handler ran; its lock expires on its own. Never turn a success into an error.
            _report_store_error(ctx, exc, True)


def _origin(record: Any) -> str:
    """Where a record came from (queue, topic, table, stream, rule), so that the same payload
    on two queues is two different keys."""
    for attribute in ("queue", "topic", "table", "stream", "rule", "bucket"):
        value = getattr(record, attribute, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _response_record(response: Response) -> dict[str, Any]:
    return {
        "status": response.status,
        "headers": dict(response.headers),
        "cookies": list(response.cookies),
        "body": base64.b64encode(response.body).decode("ascii"),
    }


def _replay(outcome: dict[str, Any]) -> Response:
    response = Response(
        base64.b64decode(outcome["body"]), outcome["status"], outcome["headers"], cookies=outcome.get("cookies")
    )
    response.headers[REPLAYED_HEADER] = "true"
    return response


def idempotency(store: Store | None = None, **options: Any) -> IdempotencyMiddleware:
    """Idempotency middleware for HTTP; see `IdempotencyMiddleware` for the options."""
    return IdempotencyMiddleware(store, **options)


# -- keys from payloads ----------------------------------------------------------------------

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def key_from_expression(expression: str) -> Callable[[Any], Any]:
    """A key function from a dotted expression: `order_id`, `body.order.id`, `items[0].sku`,
    or several joined by commas (`customer_id, order_id`). A JSON string met on the way (an SQS
    body, say) is decoded. Missing values give None."""
    paths = [_compile_path(part.strip()) for part in expression.split(",")]
    if len(paths) == 1:
        return paths[0]

    def extract_all(payload: Any) -> list[Any] | None:
        values = [path(payload) for path in paths]
        return None if any(value is None for value in values) else values

    return extract_all


def _compile_path(path: str) -> Callable[[Any], Any]:
    steps: list[str | int] = []
    position = 0
    for match in _PATH_PART.finditer(path):
        between = path[position : match.start()]
        if between not in ("", "."):
            raise ValueError(f"bad idempotency key expression {path!r}")
        steps.append(int(match.group(2)) if match.group(2) is not None else match.group(1))
        position = match.end()
    if not steps or position != len(path):
        raise ValueError(f"bad idempotency key expression {path!r}")

    def extract(payload: Any) -> Any:
        value = payload
        for step in steps:
            value = _step(value, step)
            if value is None:
                return None
        return value

    return extract


def _step(value: Any, step: str | int) -> Any:
    if isinstance(value, str | bytes) and value[:1] in ("{", "[", b"{", b"["):
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            return None
    if isinstance(step, int):
        return value[step] if isinstance(value, list) and -len(value) <= step < len(value) else None
    if isinstance(value, dict):
        return value.get(step)
    return getattr(value, step, None)


def _builtins(value: Any) -> Any:
    if isinstance(value, Context):
        return None
    if hasattr(value, "payload") and hasattr(value, "raw"):  # an event-source Record: its content
        value = value.payload()
    try:
        return msgspec.to_builtins(value, enc_hook=_enc_hook)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"idempotency needs a JSON-like payload, got {type(value).__name__}: {exc}") from exc


def _enc_hook(value: Any) -> Any:
    if hasattr(value, "model_dump"):  # pydantic
        return value.model_dump(mode="json")
    raise TypeError(f"cannot encode {type(value).__name__}")


# -- the decorator: records, direct invokes, any function ------------------------------------


class _Idempotent:
    """Wraps one function: the key from its payload, the lock around its call."""

    def __init__(
        self,
        fn: Callable[..., Any],
        store: Store,
        key: str | Callable[[Any], Any] | None,
        payload: str | None,
        scope: str | None,
        expires_after: float,
        hash_payload: bool | str,
        fail_open: bool,
        lock_timeout: float,
        required: bool,
    ) -> None:
        self.fn = fn
        self.ledger = IdempotencyLedger(store, expires_after)
        self.key = key_from_expression(key) if isinstance(key, str) else key
        self.scope = scope or f"{fn.__module__}.{fn.__qualname__}"
        self.hash_payload = bool(hash_payload)
        self.hashed_part = key_from_expression(hash_payload) if isinstance(hash_payload, str) else None
        self.fail_open = fail_open
        self.lock_timeout = lock_timeout
        self.required = required
        import inspect

        self.params = [p.name for p in inspect.signature(fn).parameters.values()]
        self.payload_name = payload or _payload_param(fn)

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
        """(ctx, lambda context, payload) among the call's arguments."""
        ctx = lambda_context = payload = None
        named = dict(zip(self.params, args))
        named.update(kwargs)
        for value in named.values():
            if isinstance(value, Context):
                ctx = value
            elif hasattr(value, "get_remaining_time_in_millis"):
                lambda_context = value
        if self.payload_name is not None and self.payload_name in named:
            payload = named[self.payload_name]
        elif ctx is not None:
            payload = ctx.record.payload() if ctx.record is not None else ctx.event
        return ctx, lambda_context, payload

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any, Any, Any]:
        """("run", key, lock, ctx), ("replay", outcome, ..) or ("unprotected", ..) for this call."""
        ctx, lambda_context, payload = self._arguments(args, kwargs)
        data = _builtins(payload)
        encoded = msgspec.json.encode(data)
        if self.key is None:
            identity = _digest(encoded)
        else:
            value = self.key(data)
            if value is None or value == "":
                if self.required:
                    raise IdempotencyKeyMissing(f"no idempotency key in the payload of {self.scope}")
                _log.warning("no idempotency key in the payload of %s: running without idempotency", self.scope)
                return "unprotected", None, None, ctx
            identity = _digest(msgspec.json.encode(value))
        tenant = ctx.tenant_id if ctx is not None else None
        key = scoped_key("fn", self.scope, identity, tenant_id=tenant)
        payload_hash = None
        if self.hashed_part is not None:
            payload_hash = _digest(msgspec.json.encode(self.hashed_part(data)))
        elif self.hash_payload:
            payload_hash = _digest(encoded)
        try:
            lock, outcome = self.ledger.begin(key, payload_hash, _lock_ttl(ctx, lambda_context, self.lock_timeout))
        except StoreError as exc:
            _report_store_error(ctx, exc, self.fail_open)
            if self.fail_open:
                return "unprotected", None, None, ctx
            raise
        if lock is None:
            _log.info("duplicate call of %s skipped: returning the stored result", self.scope)
            return "replay", outcome, None, ctx
        return "run", key, lock, ctx

    def finish(self, key: str, lock: dict[str, Any], ctx: Any, result: Any) -> None:
        try:
            self.ledger.complete(key, lock, _encode_outcome(result))
        except StoreError as exc:
            _report_store_error(ctx, exc, True)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        action, key, lock, ctx = self.begin(args, kwargs)
        if action == "replay":
            return _decode_outcome(key)
        if action == "unprotected":
            return self.fn(*args, **kwargs)
        try:
            result = self.fn(*args, **kwargs)
        except BaseException:
            self.ledger.release(key, lock)
            raise
        self.finish(key, lock, ctx, result)
        return result

    async def call_async(self, *args: Any, **kwargs: Any) -> Any:
        action, key, lock, ctx = self.begin(args, kwargs)
        if action == "replay":
            return _decode_outcome(key)
        if action == "unprotected":
            return await self.fn(*args, **kwargs)
        try:
            result = await self.fn(*args, **kwargs)
        except BaseException:
            self.ledger.release(key, lock)
            raise
        self.finish(key, lock, ctx, result)
        return result


def _payload_param(fn: Callable[..., Any]) -> str | None:
    """`body` when the function takes one, else its first parameter that is not a context."""
    import inspect

    params = list(inspect.signature(fn).parameters.values())
    names = [p.name for p in params]
    if "body" in names:
        return "body"
    for param in params:
        if param.name in ("ctx", "context", "lambda_context", "self") or param.annotation in (Context, "Context"):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        return param.name
    return None


def _encode_outcome(result: Any) -> dict[str, Any]:
    if isinstance(result, Response):
        return {"response": _response_record(result)}
    return {"value": _builtins(result)}


def _decode_outcome(outcome: Any) -> Any:
    if outcome is NOT_KEPT:  # the first call completed; it does not run again, its result is gone
        _log.warning("duplicate call skipped: the first call's result was too large to keep, returning None")
        return None
    if "response" in outcome:
        return _replay(outcome["response"])
    return outcome.get("value")


def idempotent(
    fn: Callable[..., Any] | None = None,
    *,
    store: Store | None = None,
    key: str | Callable[[Any], Any] | None = None,
    payload: str | None = None,
    scope: str | None = None,
    expires_after: float = 3600.0,
    hash_payload: bool | str = True,
    fail_open: bool = False,
    lock_timeout: float = 60.0,
    required: bool = False,
) -> Any:
    """Make `fn` run at most once per key: a record handler, a direct-invoke handler, any function.

    `key` is a dotted expression over the payload (`"order_id"`, `"detail.payment.id"`) or a
    function of it; without one the whole payload is the key. The payload is the `body`
    parameter, else the first parameter that is not a context, else `ctx.record`.
    `hash_payload` (True: the whole payload; an expression: that part, e.g. `"body"` of a raw
    SQS record, whose receipt handle changes on every delivery) detects key reuse. A
    duplicate returns the first call's (JSON-converted) result without running `fn`; one
    that arrives while the first still runs raises `IdempotencyInProgress`.
    """
    if store is None:
        from lift.stores.memory import MemoryStore

        store = MemoryStore()

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = _Idempotent(
            function, store, key, payload, scope, expires_after, hash_payload, fail_open, lock_timeout, required
        )

        import inspect

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                return await wrapped.call_async(*args, **kwargs)
        else:

            @functools.wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return wrapped.call(*args, **kwargs)

        wrapper.idempotency = wrapped  # type: ignore[attr-defined]
        return wrapper

    return decorate(fn) if fn is not None else decorate
