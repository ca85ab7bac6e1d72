"""Caching: `Cache` (an L1 LRU in front of an optional Redis/DynamoDB L2), `@cached` for any
function, and the HTTP middleware in `lift.middleware.cache`. See docs/caching.md.

Imported only by apps that cache.
"""

from __future__ import annotations

from lift.cache.core import Cache, default_cache, new_entry
from lift.cache.decorator import cached
from lift.cache.lru import LRU, Entry

__all__ = ["Cache", "Entry", "LRU", "cached", "default_cache", "new_entry"]
