"""Stores: the small storage interface behind rate limiting and idempotency, and its backends.

`MemoryStore` (one process), `DynamoDBStore` (boto3) and `RedisStore` (redis-py). Backends
are imported on first use, so `import lift.stores` never imports boto3 or redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lift.stores.base import (
    NotACounter,
    Store,
    StoreConfigurationError,
    StoreError,
    StoreUnavailable,
    scoped_key,
)

if TYPE_CHECKING:
    from lift.stores.dynamodb import DynamoDBStore, create_table
    from lift.stores.memory import MemoryStore
    from lift.stores.redis import RedisStore

__all__ = [
    "DynamoDBStore",
    "MemoryStore",
    "NotACounter",
    "RedisStore",
    "Store",
    "StoreConfigurationError",
    "StoreError",
    "StoreUnavailable",
    "create_table",
    "scoped_key",
    "store_from_url",
]

_LAZY = {
    "MemoryStore": "lift.stores.memory",
    "DynamoDBStore": "lift.stores.dynamodb",
    "create_table": "lift.stores.dynamodb",
    "RedisStore": "lift.stores.redis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.stores' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def store_from_url(url: str) -> Store:
    """A store from a URL: `memory://`, `redis://host:6379/0` (or `rediss://`), `dynamodb://<table>`.

    `dynamodb://<table>?endpoint=http://127.0.0.1:8000&region=eu-west-1` points at another endpoint.
    """
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.scheme == "memory":
        from lift.stores.memory import MemoryStore

        return MemoryStore()
    if parts.scheme in ("redis", "rediss", "unix"):
        from lift.stores.redis import RedisStore

        return RedisStore(url)
    if parts.scheme == "dynamodb":
        from lift.stores.dynamodb import DynamoDBStore

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.netloc:
            raise ValueError(f"dynamodb store URL needs a table name: {url!r}")
        return DynamoDBStore(parts.netloc, endpoint_url=query.get("endpoint"), region=query.get("region"))
    raise ValueError(f"unknown store URL scheme {parts.scheme!r} in {url!r} (memory://, redis://, dynamodb://)")
