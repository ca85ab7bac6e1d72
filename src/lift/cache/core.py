"""`Cache`: an in-process L1 (LRU) in front of an optional L2 store (Redis, DynamoDB, memory).

- Reads try L1, then L2 (an L2 hit is promoted to L1). Writes go to both.
- Invalidation by key, by tag and by name prefix. L1 entries are removed at once; for L2 an
  invalidation writes a marker (tag or prefix -> time) into one small record, and an L2 read
  ignores any entry stored before a marker that matches it. The record is bounded: past
  `max_markers` the oldest markers fold into a floor time before which every entry is void.
  Other execution environments' L1 copies live at most `l1_ttl` seconds (default 5 with an
  L2), the price of serving L1 hits without a round trip.
- Stampede protection: one computation per key at a time in this process (single-flight:
  the others wait for it and read its result), and with an L2 a short lock (`put_if_absent`
  with a TTL) so other processes wait for the first one's result instead of recomputing.
- Stale-while-revalidate: an entry past its TTL but within `swr` seconds is served (state
  "stale") while one caller refreshes it, in a background thread off Lambda, inline on Lambda
  (a frozen execution environment would never finish a background refresh).
- A failing L2 never fails the caller: the operation is skipped (served uncached), logged as
  a warning and counted in `stats()["l2_errors"]`.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from lift.cache.lru import LRU, Entry
from lift.stores.base import StoreUnavailable

__all__ = ["Cache", "Entry", "default_cache"]

_MAX_KEY = 400  # longer keys are shortened with a hash (DynamoDB keys are at most 2 KB)
_MARKER_BYTES = 64 * 1024  # the invalidation markers record stays about this small (one read per L2 hit)
_WARN_EVERY = 10.0  # seconds between two warnings about the same failing store operation
_L2_PAUSE = 5.0  # seconds L2 reads and writes are skipped once the store was unreachable or timed out
_monotonic = time.monotonic  # the clock of that pause (one place, so tests can move it)
_MARKER_TRIES = 20  # compare-and-set attempts of an invalidation racing others on the markers record
_FLOOR_MARGIN = 1.0  # seconds past now an invalidation that lost every race voids (covers clock skew)
current_request = threading.local()  # `request_id` of the request this thread serves (set by the middleware)


class _Flight:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


def _log() -> Any:
    from lift.errors import lift_logger

    return lift_logger()


class Cache:
    """A two-tier cache. `store` is the optional L2 (a `lift.stores.Store` or a store URL)."""

    def __init__(
        self,
        store: Any = None,
        *,
        namespace: str = "cache",
        max_entries: int = 1024,
        max_bytes: int = 32 * 1024 * 1024,
        l1: bool = True,
        l1_ttl: float | None = None,
        lock_ttl: float = 10.0,
        lock_wait: float = 5.0,
        max_markers: int = 500,
        refresh: str = "auto",
    ) -> None:
        if isinstance(store, str):
            from lift.stores import store_from_url

            store = store_from_url(store)
        self.store = store
        self.namespace = namespace
        self.l1 = LRU(max_entries, max_bytes) if l1 else None
        self.l1_ttl = l1_ttl if l1_ttl is not None else (5.0 if store is not None else None)
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self.max_markers = max_markers
        if refresh == "auto":
            refresh = "inline" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "background"
        if refresh not in ("inline", "background"):
            raise ValueError(f"refresh must be 'auto', 'inline' or 'background', not {refresh!r}")
        self.refresh = refresh
        self._flights: dict[str, _Flight] = {}
        self._lock_tokens: dict[str, str] = {}  # key -> the token of the L2 lock this process holds
        self._flights_lock = threading.Lock()
        self._local_markers: dict[str, Any] = {"t": {}, "p": {}, "f": 0.0}
        self._markers_lock = threading.Lock()
        self.stale = 0
        self.l2_hits = 0
        self.l2_errors = 0
        self.l2_skipped = 0
        self.invalidations = 0
        self._warned: dict[str, tuple[float, int]] = {}
        self._l2_paused_until = 0.0  # (_monotonic) L2 reads and writes are skipped until then
        self._l2_outage: Exception | None = None  # the error that started the pause

    # -- keys ---------------------------------------------------------------------------
    def _store_key(self, kind: str, key: str) -> str:
        if len(key) > _MAX_KEY:
            key = key[:200] + "#h:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
        return f"{self.namespace}#{kind}#{key}"

    # -- L2 access that never raises ------------------------------------------------------
    def _l2(self, operation: str, *args: Any, always: bool = False, **kwargs: Any) -> Any:
        """The store's `operation`. For `_L2_PAUSE` seconds after the store was unreachable or timed out,
        reads and writes are skipped at once (counted as failures): each would wait out the store's
        timeout again, so a request made several (read, lock, write) and took seconds per operation
        during an outage. Invalidations and lock releases (`always`) are still tried."""
        outage = self._l2_outage
        if outage is not None and not always and _monotonic() < self._l2_paused_until:
            self.l2_errors += 1
            self._warn(operation, outage)
            raise _StoreFailed from outage
        try:
            return getattr(self.store, operation)(*args, **kwargs)
        except Exception as exc:
            self.l2_errors += 1
            if isinstance(exc, StoreUnavailable):
                self._l2_outage, self._l2_paused_until = exc, _monotonic() + _L2_PAUSE
            self._warn(operation, exc)
            raise _StoreFailed from exc

    def _warn(self, operation: str, exc: Exception) -> None:
        """One warning per operation every `_WARN_EVERY` seconds during an outage (with the number
        of failures since the last one), carrying the request id when a request is running."""
        now = time.monotonic()
        with self._markers_lock:
            last, suppressed = self._warned.get(operation, (-_WARN_EVERY, 0))
            if now - last < _WARN_EVERY:
                self._warned[operation] = (last, suppressed + 1)
                return
            self._warned[operation] = (now, 0)
        request_id = getattr(current_request, "request_id", None)
        more = f" ({suppressed} more failures since the last warning)" if suppressed else ""
        _log().warning(
            "cache store %s failed, serving without it: %s: %s (request_id=%s)%s",
            operation,
            type(exc).__name__,
            exc,
            request_id,
            more,
            extra={"cache_operation": operation, "request_id": request_id},
        )

    # -- reading ----------------------------------------------------------------------------
    def lookup(self, key: str) -> Entry | None:
        """A servable entry (fresh or within its stale window), from L1 or else L2."""
        now = time.time()
        if self.l1 is not None:
            entry = self.l1.get(key, now)
            if entry is not None:
                return entry
        if self.store is None:
            return None
        try:
            record = self._l2("get", self._store_key("e", key))
            if record is None:
                return None
            entry = Entry.from_record(record)
            if entry.stale_until <= now:
                return None
            markers = self._l2("get", self._store_key("m", "markers"))
        except _StoreFailed:
            return None
        if markers and _voided(entry, markers):
            return None
        self.l2_hits += 1
        if self.l1 is not None and not _voided(entry, self._local_markers):
            self.l1.put(key, self._for_l1(entry, now))
        return entry

    def _for_l1(self, entry: Entry, now: float) -> Entry:
        if self.l1_ttl is None or entry.stale_until <= now + self.l1_ttl:
            return entry
        limit = now + self.l1_ttl
        copy = Entry(
            entry.value,
            entry.stored_at,
            min(entry.fresh_until, limit),
            limit,
            entry.name,
            entry.tags,
            entry.etag,
            entry.size,
        )
        copy.from_l2 = entry.from_l2
        return copy

    # -- writing ----------------------------------------------------------------------------
    def put(self, key: str, entry: Entry) -> None:
        """Keep `entry` in L1 and L2, unless an invalidation since `entry.stored_at` voids it."""
        now = time.time()
        if entry.stale_until <= now or _voided(entry, self._local_markers):
            return
        if self.l1 is not None:
            self.l1.put(key, self._for_l1(entry, now))
        if self.store is not None:
            store_key, record = self._store_key("e", key), entry.to_record()
            if not self._fits_l2(store_key, record):
                self.l2_skipped += 1  # kept in L1 only: the store refuses it (not a failure to warn about)
                return
            try:
                self._l2("put", store_key, record, ttl=max(1.0, entry.stale_until - now))
            except _StoreFailed:
                pass

    def _fits_l2(self, store_key: str, record: dict[str, Any]) -> bool:
        """Whether the store takes `record` (a DynamoDB item stops at 400 KB; Redis and memory take any)."""
        limit_of = getattr(self.store, "value_limit", None)
        limit = limit_of(store_key) if limit_of is not None else None
        if limit is None:
            return True
        from lift.stores.base import encode_value

        try:
            return len(encode_value(record)) <= limit
        except Exception:  # not JSON: the store's put says why (logged and counted as a failure)
            return True

    def set(
        self, key: str, value: Any, ttl: float, *, swr: float = 0, tags: tuple[str, ...] = (), name: str | None = None
    ) -> Entry:
        """Cache `value` under `key` for `ttl` seconds (servable stale `swr` seconds more)."""
        entry = new_entry(value, ttl, swr=swr, name=key if name is None else name, tags=tags)
        self.put(key, entry)
        return entry

    def get(self, key: str, default: Any = None) -> Any:
        """The fresh value at `key`, else `default`."""
        entry = self.lookup(key)
        if entry is None or entry.fresh_until <= time.time():
            return default
        return entry.value

    # -- invalidation -------------------------------------------------------------------------
    def invalidate(self, key: str | None = None, *, tags: Any = (), prefix: str | None = None) -> None:
        """Drop the entry at `key`, every entry carrying one of `tags`, every entry whose name
        (an HTTP entry's path, a `@cached` entry's key) starts with `prefix`."""
        if isinstance(tags, str):
            tags = (tags,)
        tags = tuple(tags)
        self.invalidations += 1
        if key is not None:
            if self.l1 is not None:
                self.l1.delete(key)
            if self.store is not None:
                try:
                    self._l2("delete", self._store_key("e", key), always=True)
                except _StoreFailed:
                    pass
        if not tags and prefix is None:
            return
        now = time.time()
        with self._markers_lock:
            _add_markers(self._local_markers, tags, prefix, now, self.max_markers)
        if self.l1 is not None:
            wanted = set(tags)
            self.l1.delete_where(
                lambda _k, e: bool(wanted.intersection(e.tags)) or (prefix is not None and e.name.startswith(prefix))
            )
        if self.store is not None:
            self._write_markers(tags, prefix, now)

    def _write_markers(self, tags: tuple[str, ...], prefix: str | None, now: float) -> None:
        key = self._store_key("m", "markers")
        try:
            for attempt in range(_MARKER_TRIES):
                current = self._l2("get", key, always=True)
                updated = {"t": {}, "p": {}, "f": 0.0} if current is None else _copy_markers(current)
                _add_markers(updated, tags, prefix, now, self.max_markers)
                if current is None:
                    if self._l2("put_if_absent", key, updated, always=True):
                        return
                elif self._l2("compare_and_set", key, current, updated, always=True):
                    return
                # Another invalidation changed the record first: try again after a random pause, so that
                # many concurrent writers do not keep colliding.
                time.sleep(random.uniform(0, min(0.1, 0.005 * 2**attempt)))
            # Still losing the race: void everything stored until a moment from now (the invalidations of
            # every concurrent writer included, whatever its clock's skew) instead of losing this one.
            # Entries are recomputed early, none is served stale. (Before, it gave up: its entries kept
            # being served from L2 by every other environment until they expired.)
            floor = time.time() + _FLOOR_MARGIN
            self._l2("put", key, {"t": {}, "p": {}, "f": floor}, always=True)
            _log().warning(
                "cache invalidation markers kept changing (%d tries): every entry stored until now is void",
                _MARKER_TRIES,
            )
        except _StoreFailed:
            pass

    def clear(self) -> None:
        """Void every entry (L1 at once; L2 through a floor marker)."""
        now = time.time()
        with self._markers_lock:
            self._local_markers["f"] = now
        if self.l1 is not None:
            self.l1.clear()
        if self.store is not None:
            key = self._store_key("m", "markers")
            try:
                self._l2("put", key, {"t": {}, "p": {}, "f": now}, always=True)
            except _StoreFailed:
                pass

    # -- computing once -----------------------------------------------------------------------
    def fetch(
        self,
        key: str,
        compute: Callable[[float], tuple[Any, Entry | None]],
        *,
        bypass: bool = False,
    ) -> tuple[str, Entry | None, Any]:
        """The cached entry or a computed result, computing at most once per key at a time.

        `compute(started_at)` returns (result, entry to keep or None). Returns ("hit", entry,
        None), ("stale", entry, None) or ("miss", entry or None, result). `bypass` skips the
        read (a client's `no-cache`) but keeps what is computed.
        """
        entry = None if bypass else self.lookup(key)
        if entry is not None:
            if time.time() < entry.fresh_until:
                return "hit", entry, None
            self.stale += 1
            if self._start_refresh(key):
                if self.refresh == "inline":
                    return self._compute_holding(key, compute, lock_held=True)
                threading.Thread(
                    target=self._compute_holding, args=(key, compute, True), name="lift-cache-refresh", daemon=True
                ).start()
            return "stale", entry, None
        with self._flights_lock:
            running = self._flights.get(key)
            flight = running if running is not None else _Flight()
            if running is None:
                self._flights[key] = flight
        if running is not None:
            flight.done.wait(self.lock_wait)
            entry = self.lookup(key)
            if entry is not None and time.time() < entry.stale_until:
                return "hit", entry, None
            result, entry = compute(time.time())  # the first one's result was not cacheable
            if entry is not None:
                self.put(key, entry)
            return "miss", entry, result
        return self._compute_holding(key, compute, lock_held=False, flight=flight)

    def _start_refresh(self, key: str) -> bool:
        """True when this caller should refresh a stale entry (nobody else here or elsewhere is)."""
        with self._flights_lock:
            if key in self._flights:
                return False
            self._flights[key] = _Flight()
        if self.store is not None and not self._lock(key):
            self._finish_flight(key)
            return False
        return True

    def _lock(self, key: str) -> bool:
        token = uuid.uuid4().hex
        try:
            wrote, holder = self._l2("put_if_absent_or_get", self._store_key("l", key), token, ttl=self.lock_ttl)
        except _StoreFailed:
            return True  # no store: compute here
        # (our token: our own write, its answer lost and the store client's retry refused)
        taken = bool(wrote) or holder == token
        if taken:
            self._lock_tokens[key] = token  # one flight per key in this process: never overwritten
        return taken

    def _unlock(self, key: str) -> None:
        """Release this process's lock, never another's: one that expired during a long computation
        may have been taken by another process, whose followers must keep waiting for its result."""
        token = self._lock_tokens.pop(key, None)
        if token is None:
            return
        try:
            self._l2("delete", self._store_key("l", key), expected=token, always=True)
        except _StoreFailed:
            pass

    def _finish_flight(self, key: str) -> None:
        with self._flights_lock:
            flight = self._flights.pop(key, None)
        if flight is not None:
            flight.done.set()

    def _compute_holding(
        self,
        key: str,
        compute: Callable[[float], tuple[Any, Entry | None]],
        lock_held: bool,
        flight: _Flight | None = None,
    ) -> tuple[str, Entry | None, Any]:
        locked = lock_held
        try:
            if not lock_held and self.store is not None:
                locked = self._lock(key)
                if not locked:  # another process computes it: wait for its result
                    entry = self._wait_for_l2(key)
                    if entry is not None:
                        return "hit", entry, None
            result, entry = compute(time.time())
            if entry is not None:
                self.put(key, entry)
            return "miss", entry, result
        finally:
            if locked and self.store is not None:
                self._unlock(key)
            self._finish_flight(key)

    def _wait_for_l2(self, key: str) -> Entry | None:
        deadline = time.monotonic() + self.lock_wait
        delay = 0.01
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            entry = self.lookup(key)
            if entry is not None and time.time() < entry.fresh_until:
                return entry
            try:
                if self._l2("get", self._store_key("l", key)) is None:
                    # The holder let its lock go: after keeping its result (put, then unlock), or uncached.
                    # Its result may have landed between the read above and this one: read once more.
                    entry = self.lookup(key)
                    return entry if entry is not None and time.time() < entry.fresh_until else None
            except _StoreFailed:
                return None
        return None

    def stats(self) -> dict[str, Any]:
        """Counters: L1 entries/bytes/hits/misses/evictions, L2 hits and errors, stale serves."""
        out: dict[str, Any] = dict(self.l1.stats()) if self.l1 is not None else {}
        out.update(
            stale=self.stale,
            l2_hits=self.l2_hits,
            l2_errors=self.l2_errors,
            l2_skipped=self.l2_skipped,
            invalidations=self.invalidations,
        )
        return out


class _StoreFailed(Exception):
    """An L2 operation failed (already logged and counted)."""


def new_entry(
    value: Any,
    ttl: float,
    *,
    swr: float = 0,
    name: str = "",
    tags: tuple[str, ...] = (),
    etag: str | None = None,
    size: int = 0,
    started_at: float | None = None,
) -> Entry:
    """An entry fresh for `ttl` seconds from now, servable stale `swr` seconds more.

    `started_at` (when its computation began) is what invalidations are compared with, so a
    value computed from data read before an invalidation is void even if stored after it.
    """
    now = time.time()
    return Entry(value, started_at or now, now + ttl, now + ttl + swr, name, tuple(tags), etag, size)


def _voided(entry: Entry, markers: dict[str, Any]) -> bool:
    stored = entry.stored_at
    if stored <= markers.get("f", 0.0):
        return True
    tag_marks = markers.get("t") or {}
    if tag_marks:
        for tag in entry.tags:
            at = tag_marks.get(tag)
            if at is not None and at >= stored:
                return True
    prefixes = markers.get("p") or {}
    return any(at >= stored and entry.name.startswith(prefix) for prefix, at in prefixes.items())


def _copy_markers(record: dict[str, Any]) -> dict[str, Any]:
    return {"t": dict(record.get("t") or {}), "p": dict(record.get("p") or {}), "f": record.get("f", 0.0)}


def _add_markers(markers: dict[str, Any], tags: tuple[str, ...], prefix: str | None, now: float, limit: int) -> None:
    for tag in tags:
        markers["t"][tag] = now
    if prefix is not None:
        markers["p"][prefix] = now
    # Fold the oldest half into the floor (entries older than it are void anyway) while there are more
    # than `limit` markers or their names pass _MARKER_BYTES: tags and prefixes can be as long as a
    # client's path, and the record is read with every L2 entry and must fit one store item.
    while True:
        total = len(markers["t"]) + len(markers["p"])
        if total == 0 or (total <= limit and _marker_bytes(markers) <= _MARKER_BYTES):
            return
        times = sorted([*markers["t"].values(), *markers["p"].values()])
        floor = times[total // 2]
        markers["f"] = max(markers.get("f", 0.0), floor)
        markers["t"] = {k: v for k, v in markers["t"].items() if v > floor}
        markers["p"] = {k: v for k, v in markers["p"].items() if v > floor}


def _marker_bytes(markers: dict[str, Any]) -> int:
    """About what the markers take encoded: each name and its time (at most 4 bytes per character)."""
    return sum(len(name) * 4 + 24 for kind in ("t", "p") for name in markers[kind])


_default: Cache | None = None
_default_lock = threading.Lock()


def default_cache() -> Cache:
    """The process-wide in-memory cache used when no cache or store is given."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Cache()
        return _default
