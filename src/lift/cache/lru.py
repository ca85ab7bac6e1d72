"""The in-process L1: an LRU bounded by entries and by bytes, with per-entry expiry.

One per execution environment (a module-level cache survives between Lambda invocations in
the same environment) and safe across threads (ASGI worker threads): every operation holds
one lock, and the lock is never held while a value is computed.

Written here rather than taken from `cachetools`: the byte bound, the stale window and the
eviction counter are what the cache needs, and `OrderedDict` gives the LRU in a few lines.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["LRU", "Entry"]


class Entry:
    """A cached value and what decides its life: fresh until `fresh_until`, servable stale
    until `stale_until`; `name` (what prefixes match) and `tags` (what tags match)."""

    __slots__ = ("value", "stored_at", "fresh_until", "stale_until", "name", "tags", "etag", "size", "from_l2")

    def __init__(
        self,
        value: Any,
        stored_at: float,
        fresh_until: float,
        stale_until: float,
        name: str = "",
        tags: tuple[str, ...] = (),
        etag: str | None = None,
        size: int = 0,
    ) -> None:
        self.value = value
        self.stored_at = stored_at
        self.fresh_until = fresh_until
        self.stale_until = stale_until
        self.name = name
        self.tags = tags
        self.etag = etag
        self.size = size
        self.from_l2 = False  # read back from an L2 store: JSON values, not the original objects

    def age(self, now: float | None = None) -> int:
        return max(0, int((time.time() if now is None else now) - self.stored_at))

    def to_record(self) -> dict[str, Any]:
        """The JSON form kept in an L2 store."""
        return {
            "v": self.value,
            "t": self.stored_at,
            "f": self.fresh_until,
            "s": self.stale_until,
            "n": self.name,
            "g": list(self.tags),
            "e": self.etag,
            "z": self.size,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Entry:
        entry = cls(
            record["v"],
            record["t"],
            record["f"],
            record["s"],
            record.get("n", ""),
            tuple(record.get("g") or ()),
            record.get("e"),
            record.get("z", 0),
        )
        entry.from_l2 = True
        return entry


class LRU:
    """Least-recently-used entries, at most `max_entries` of them and `max_bytes` in total."""

    def __init__(self, max_entries: int = 1024, max_bytes: int = 32 * 1024 * 1024) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be positive")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: str, now: float | None = None) -> Entry | None:
        """The entry if it is still servable (fresh or within its stale window), else None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                self.misses += 1
                return None
            if entry.stale_until <= (time.time() if now is None else now):
                self._remove(key)
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, entry: Entry) -> bool:
        """Keep `entry`, evicting the least recently used ones; False when it alone is too big."""
        if entry.size > self.max_bytes:
            return False
        with self._lock:
            if key in self._data:
                self._remove(key)
            self._data[key] = entry
            self._bytes += entry.size
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                old_key = next(iter(self._data))
                self._remove(old_key)
                self.evictions += 1
            return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._remove(key)

    def delete_where(self, test: Callable[[str, Entry], bool]) -> int:
        """Remove every entry for which `test(key, entry)` is true; how many were removed."""
        with self._lock:
            doomed = [k for k, e in self._data.items() if test(k, e)]
            for key in doomed:
                self._remove(key)
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def _remove(self, key: str) -> bool:
        entry = self._data.pop(key, None)
        if entry is None:
            return False
        self._bytes -= entry.size
        return True

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._data))

    @property
    def bytes(self) -> int:
        return self._bytes

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self._data),
            "bytes": self._bytes,
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
        }
