"""An in-process store: the default for local development and for tests of user apps.

Thread-safe (one lock around a dict). State lives in one process only, so in Lambda each
execution environment has its own: use DynamoDB or Redis when limits or idempotency must
hold across instances.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lift.stores.base import (
    NotACounter,
    Store,
    decode_value,
    encode_value,
    ttl_to_deadline,
)

__all__ = ["MemoryStore"]

_SWEEP_EVERY = 1024


class MemoryStore(Store):
    """A dict of JSON-encoded values with per-key expiry, guarded by a lock."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # epoch seconds every expiry is judged by; tests move it instead of sleeping
        self._items: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def _live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= now:
            del self._items[key]
            return None
        return item

    def _write(self, key: str, data: bytes, deadline: float | None) -> None:
        self._items[key] = (data, deadline)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._sweep(self.clock())

    def _sweep(self, now: float) -> None:
        expired = [k for k, (_, deadline) in self._items.items() if deadline is not None and deadline <= now]
        for key in expired:
            del self._items[key]

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._live(key, self.clock())
        return None if item is None else decode_value(item[0])

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        data, deadline = encode_value(value), ttl_to_deadline(ttl, self.clock())
        with self._lock:
            self._write(key, data, deadline)

    def put_if_absent(self, key: str, value: Any, ttl: float | None = None) -> bool:
        data = encode_value(value)
        with self._lock:
            now = self.clock()
            if self._live(key, now) is not None:
                return False
            self._write(key, data, ttl_to_deadline(ttl, now))
            return True

    def put_if_absent_or_get(self, key: str, value: Any, ttl: float | None = None) -> tuple[bool, Any]:
        data = encode_value(value)
        with self._lock:
            now = self.clock()
            item = self._live(key, now)
            if item is None:
                self._write(key, data, ttl_to_deadline(ttl, now))
                return True, None
        return False, decode_value(item[0])

    def compare_and_set(self, key: str, expected: Any, value: Any, ttl: float | None = None) -> bool:
        old, data = encode_value(expected), encode_value(value)
        with self._lock:
            now = self.clock()
            item = self._live(key, now)
            if item is None or item[0] != old:
                return False
            self._write(key, data, ttl_to_deadline(ttl, now))
            return True

    def increment(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._lock:
            now = self.clock()
            item = self._live(key, now)
            if item is None:
                current, deadline = 0, ttl_to_deadline(ttl, now)
            else:
                current, deadline = decode_value(item[0]), item[1]
                if type(current) is not int:
                    raise NotACounter(f"key {key!r} does not hold an integer")
            current += amount
            self._write(key, encode_value(current), deadline)
            return current

    def delete(self, key: str, expected: Any = None) -> bool:
        old = None if expected is None else encode_value(expected)
        with self._lock:
            item = self._live(key, self.clock())
            if item is None or (old is not None and item[0] != old):
                return False
            del self._items[key]
            return True

    def ttl(self, key: str) -> float | None:
        with self._lock:
            now = self.clock()
            item = self._live(key, now)
        if item is None or item[1] is None:
            return None
        return max(0.0, item[1] - now)

    def clear(self) -> None:
        """Forget every key (handy between tests of a user app)."""
        with self._lock:
            self._items.clear()
