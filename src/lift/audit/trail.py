"""The audit trail of an app: `ctx.audit(...)`, automatic entries, and the hash-chained writer."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from lift.audit.entry import GENESIS, AuditEntry, entry_hash
from lift.audit.sinks import AuditSink, ConflictError
from lift.observability.redaction import mask_card_numbers
from lift.observability.text import utf8_text

__all__ = ["AuditTrail", "trail_for", "trails_for", "SYSTEM_TENANT"]

SYSTEM_TENANT = "-"  # entries without a tenant (configuration changes, unauthenticated callers)
_log = logging.getLogger("lift.audit")
_trails: weakref.WeakKeyDictionary[Any, list[AuditTrail]] = weakref.WeakKeyDictionary()
_trail_numbers = itertools.count(1)  # each trail of this process: its own chain on a stream sink


def trail_for(app: Any) -> AuditTrail:
    """The trail registered for `app` (`AuditTrail(sink, app=app)`; the first, when there are several)."""
    return trails_for(app)[0]


def trails_for(app: Any) -> list[AuditTrail]:
    """Every trail registered for `app`, in order: `ctx.audit` appends to each."""
    trails = _trails.get(app)
    if not trails:
        raise RuntimeError("ctx.audit needs an audit trail: lift.audit.AuditTrail(sink, app=app)")
    return trails


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


class AuditTrail:
    """Appends hash-chained entries to `sink`.

    `fail_closed=True` makes a failed write raise (the request fails rather than go unaudited);
    by default the failure is logged at ERROR with the request id and the request goes on.
    `config_changes=True` records an entry whenever a `lift.config.Settings` refresh changes
    values (field names only, never values).
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        app: Any = None,
        fail_closed: bool = False,
        config_changes: bool = True,
        retries: int = 50,
    ) -> None:
        self.sink = sink
        self.fail_closed = fail_closed
        self.retries = retries
        self._heads: dict[tuple[str, str], tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._number = next(_trail_numbers)
        if app is not None:  # a second trail (say CloudWatch Logs next to DynamoDB) receives entries too
            _trails.setdefault(app, []).append(self)
        if config_changes:
            from lift.config.settings import on_change

            # A trail of an app lives as long as the app (`_trails`), a free-standing one for good
            on_change(_weak_listener(self) if app is not None else self._config_changed)

    # -- writing --------------------------------------------------------------------------
    def record(
        self,
        action: str,
        *,
        ctx: Any = None,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        outcome: str = "success",
        admin: bool = False,
        tenant: str | None = None,
        principal: str | None = None,
    ) -> AuditEntry | None:
        """Append one entry; who/where come from `ctx` (principal, tenant, source IP, request id).

        Every text is made UTF-8-encodable (a lone surrogate written as its escape) and every id a
        string: a caller's hostile path or header never keeps its own failure from being recorded."""
        from lift.observability.redaction import default_redactor

        fields = {name: _text(value) for name, value in _who(ctx).items()}
        action = utf8_text(str(action))
        if target is not None:
            # `card:4111...` -> `card:411111******1111`; `/login?token=abc` -> `/login?token=***`
            target = _text(_cut(default_redactor.redact_query(default_redactor.redact_text(str(target)))))
        if tenant is not None:
            fields["tenant"] = _text(tenant)
        if principal is not None:
            fields["principal"] = _text(principal)
        if details:
            import msgspec

            # Plain JSON first (a SecretStr becomes its mask, any other object its str()), then
            # masked: card numbers, CVV, secrets never reach the trail, and the entry always encodes.
            # Bytes stay bytes until masked (to_builtins would write them in base64, which hides a
            # card number from nobody): text holding a card number is masked, other bytes base64.
            plain = msgspec.to_builtins(details, enc_hook=str, str_keys=True, builtin_types=_BLOBS)
            details = _bounded(_utf8_tree(default_redactor.redact(plain)))
        try:
            return self._append(action, outcome, target, details, admin, fields)
        except Exception as exc:
            if self.fail_closed:
                raise
            _log.error(
                "Audit entry %s could not be written (request_id=%s): %s",
                action,
                fields.get("request_id"),
                exc,
                exc_info=exc,
            )
            return None

    def _append(
        self, action: str, outcome: str, target: str | None, details: Any, admin: bool, fields: dict[str, Any]
    ) -> AuditEntry:
        tenant = str(fields.pop("tenant", None) or SYSTEM_TENANT)
        chain = self.sink.chain_id()
        if not self.sink.shared_chain:
            # A stream sink's head lives in this trail's memory only: another trail writing to the same
            # stream (one made per invocation, two in one app) continues a chain of its own, never this one.
            chain = f"{chain}.{self._number}"
        key = (tenant, chain)
        with self._lock:
            for attempt in range(self.retries):
                seq, prev = self._head(key)
                entry = AuditEntry(
                    tenant=tenant,
                    chain=chain,
                    seq=seq + 1,
                    id=str(uuid.uuid4()),
                    at=_now_iso(),
                    action=action,
                    outcome=outcome,
                    target=target,
                    details=details,
                    admin=admin,
                    prev_hash=prev,
                    **fields,
                )
                entry.hash = entry_hash(entry)
                try:
                    self.sink.append(entry)
                except ConflictError:  # another execution environment appended first: re-read the head
                    self._heads.pop(key, None)
                    # Jittered backoff, so that of many environments writing one chain at once each gets
                    # its turn instead of all racing for the same next seq again (8 writers lost 12 of 40).
                    time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))
                    continue
                self._heads[key] = (entry.seq, entry.hash)
                return entry
        raise ConflictError(f"could not append to the audit chain of tenant {tenant!r} after {self.retries} tries")

    def _head(self, key: tuple[str, str]) -> tuple[int, str]:
        head = self._heads.get(key)
        if head is None:
            last = self.sink.head(*key) if self.sink.shared_chain else None
            head = (last.seq, last.hash) if last is not None else (0, GENESIS)
        return head

    def _config_changed(self, settings_cls: type, fields: list[str]) -> None:
        self.record(
            "config.changed",
            target=settings_cls.__name__,
            details={"fields": list(fields)},
            principal="system",
        )

    # -- automatic entries ----------------------------------------------------------------------
    def middleware(self, *, admin: Iterable[str] = ()) -> Callable[[Any, Any], Any]:
        """Middleware: an entry for every 401 (`auth.failed`) and 403 (`authz.denied`), and for
        every request to a route under one of the `admin` prefixes (`admin.request`, marked admin).
        Put it first in `app.use(...)` so it sees what the auth middleware decides."""
        prefixes = tuple(p.rstrip("/") for p in admin)

        def audit_requests(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
            try:
                response = call_next(ctx)
            except Exception as exc:
                status = getattr(exc, "status", 500)
                self._after(ctx, status, prefixes, getattr(exc, "code", None))
                raise
            self._after(ctx, getattr(response, "status", 200), prefixes, None)
            return response

        return audit_requests

    def _after(self, ctx: Any, status: int, prefixes: tuple[str, ...], code: str | None) -> None:
        if ctx.request is None:
            return
        where = f"{ctx.request.method} {ctx.route or ctx.request.path}"
        details = {"status": status, "code": code} if code else {"status": status}
        if status == 401:
            self.record("auth.failed", ctx=ctx, target=where, details=details, outcome="failure")
        elif status == 403:
            self.record("authz.denied", ctx=ctx, target=where, details=details, outcome="denied")
        route = ctx.route or ctx.request.path
        if prefixes and any(route == p or route.startswith(p + "/") for p in prefixes):
            outcome = "success" if status < 400 else ("denied" if status in (401, 403) else "failure")
            self.record("admin.request", ctx=ctx, target=where, details=details, outcome=outcome, admin=True)


def _weak_listener(trail: AuditTrail) -> Callable[[type, list[str]], None]:
    """`trail`'s config-change hook, holding the trail weakly: the trail of an app that is gone (a
    finished test's, a reloaded module's) is freed with it and stops writing, rather than record
    every later change into its sink for the life of the process."""
    ref = weakref.ref(trail)

    def config_changed(settings_cls: type, fields: list[str]) -> None:
        alive = ref()
        if alive is None:
            from lift.config.settings import _change_listeners

            if config_changed in _change_listeners:
                _change_listeners.remove(config_changed)
            return
        alive._config_changed(settings_cls, fields)

    return config_changed


def _text(value: Any) -> str | None:
    return None if value is None else utf8_text(value if isinstance(value, str) else str(value))


_BLOBS = (bytes, bytearray, memoryview)
# An entry must fit every sink (a CloudWatch Logs event 256 KB, a DynamoDB item 400 KB): details over
# this many bytes of JSON have their long texts cut, and are replaced whole if that is not enough.
_MAX_DETAILS_BYTES = 32 * 1024
_MAX_TEXT = 1024


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else f"{text[:_MAX_TEXT]}...[{len(text)} characters]"


def _bounded(details: Any) -> Any:
    """`details` (plain JSON) small enough to be written: a huge value a caller sent (a body, a
    header) must not make the sink refuse the entry, which would leave the action unaudited."""
    import msgspec

    size = len(msgspec.json.encode(details))
    if size <= _MAX_DETAILS_BYTES:
        return details
    shorter = _cut_texts(details, 0)
    if len(msgspec.json.encode(shorter)) <= _MAX_DETAILS_BYTES:
        return shorter
    return {"truncated": True, "bytes": size}


def _cut_texts(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return _cut(value)
    if depth > 32:
        return "***"
    if isinstance(value, dict):
        return {_cut(k): _cut_texts(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_texts(v, depth + 1) for v in value]
    return value


def _utf8_tree(value: Any) -> Any:
    """Plain JSON data (`details`, redacted) with every string, key included, encodable as UTF-8, and
    card numbers masked in keys too (`{"4111...": "refunded"}`: the redactor masks values only);
    bytes as base64 text, as JSON writes them."""
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, _BLOBS):
        import base64

        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {utf8_text(mask_card_numbers(k)): _utf8_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utf8_tree(v) for v in value]
    return value


def _who(ctx: Any) -> dict[str, Any]:
    if ctx is None:
        return {}
    principal = getattr(ctx, "principal", None)
    request = getattr(ctx, "request", None)
    return {
        "tenant": getattr(ctx, "tenant_id", None) or getattr(principal, "tenant_id", None),
        "principal": getattr(ctx, "user_id", None) or getattr(principal, "user_id", None),
        "auth_method": getattr(principal, "method", None),
        "source_ip": getattr(request, "source_ip", None) if request is not None else None,
        "request_id": ctx.request_id,
        "route": getattr(ctx, "route", None),
        "source": getattr(ctx, "source", None),
    }
