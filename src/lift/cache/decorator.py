"""`@cached(ttl=...)`: cache any function's result (a downstream call, a slow query).

The key is the function's qualified name and its arguments (JSON-encoded), or what `key=`
returns for them. Values kept in an L2 store go through JSON: when the function has a return
annotation, a value read back from L2 is converted to that type (msgspec), so callers get
the same type from L1 and L2. Sync and async functions; one computation per key at a time.
"""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable
from typing import Any

from lift.cache.core import Cache, default_cache, new_entry

__all__ = ["cached"]


def cached(
    ttl: float = 60,
    *,
    cache: Cache | None = None,
    key: Callable[..., str] | None = None,
    tags: tuple[str, ...] | Callable[..., Any] = (),
    swr: float = 0,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Cache `fn(*args, **kwargs)` for `ttl` seconds in `cache` (default: the process's L1).

    `key(*args, **kwargs)` names an entry (default: the arguments); `tags` (or a function of the
    arguments returning tags) let `cache.invalidate(tags=...)` drop it; `swr` serves a stale
    value that long while it is refreshed. The wrapper has `.invalidate(*args, **kwargs)` and
    `.key_for(*args, **kwargs)`.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        prefix = name or f"{fn.__module__}.{fn.__qualname__}"
        convert = _converter(fn)

        def key_for(*args: Any, **kwargs: Any) -> str:
            if key is not None:
                return f"{prefix}:{key(*args, **kwargs)}"
            return f"{prefix}:{_args_key(args, kwargs)}"

        def tags_for(*args: Any, **kwargs: Any) -> tuple[str, ...]:
            found = tags(*args, **kwargs) if callable(tags) else tags
            return (found,) if isinstance(found, str) else tuple(found)

        def the_cache() -> Cache:
            return cache if cache is not None else default_cache()

        def value_of(entry: Any) -> Any:
            value = entry.value
            return convert(value) if convert is not None and entry.from_l2 else value

        if inspect.iscoroutinefunction(fn):
            flights: dict[tuple[int, str], Any] = {}

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                import asyncio

                store = the_cache()
                k = key_for(*args, **kwargs)
                entry = store.lookup(k)
                now = time.time()
                if entry is not None:  # fresh, or stale within `swr`
                    if now >= entry.fresh_until:  # stale: refresh once, in the background
                        store.stale += 1
                        flight_key = (id(asyncio.get_running_loop()), k)
                        if flight_key not in flights:
                            flights[flight_key] = asyncio.ensure_future(_compute_async(flight_key, args, kwargs))
                    return value_of(entry)
                flight_key = (id(asyncio.get_running_loop()), k)
                running = flights.get(flight_key)
                if running is not None:
                    return await asyncio.shield(running)
                task = flights[flight_key] = asyncio.ensure_future(_compute_async(flight_key, args, kwargs))
                return await asyncio.shield(task)

            async def _compute_async(flight_key: tuple[int, str], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                started = time.time()
                try:
                    value = await fn(*args, **kwargs)
                    _keep(the_cache(), flight_key[1], value, started, args, kwargs)
                    return value
                finally:
                    flights.pop(flight_key, None)

            wrapper: Any = async_wrapper
        else:

            @functools.wraps(fn)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                store = the_cache()
                k = key_for(*args, **kwargs)

                def compute(started: float) -> tuple[Any, Any]:
                    value = fn(*args, **kwargs)
                    return value, _entry(k, value, started, args, kwargs)

                state, entry, result = store.fetch(k, compute)
                if state == "miss":
                    return result
                return value_of(entry)

            wrapper = sync_wrapper

        def _entry(k: str, value: Any, started: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return new_entry(value, ttl, swr=swr, name=k, tags=tags_for(*args, **kwargs), started_at=started)

        def _keep(store: Cache, k: str, value: Any, started: float, args: tuple[Any, ...], kwargs: dict) -> None:
            store.put(k, _entry(k, value, started, args, kwargs))

        def invalidate(*args: Any, **kwargs: Any) -> None:
            the_cache().invalidate(key_for(*args, **kwargs))

        wrapper.invalidate = invalidate
        wrapper.key_for = key_for
        wrapper.cache_info = lambda: the_cache().stats()
        return wrapper

    return decorate


def _args_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    from lift import serialization

    try:
        return serialization.encode_json([list(args), sorted(kwargs.items())]).decode("utf-8")
    except TypeError:
        return repr((args, sorted(kwargs.items())))


def _converter(fn: Callable[..., Any]) -> Callable[[Any], Any] | None:
    """msgspec's conversion to the return annotation, for values read back from an L2 store."""
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:
        return None
    if hint is None or hint is Any or hint is type(None):
        return None
    import msgspec

    def convert(value: Any) -> Any:
        try:
            return msgspec.convert(value, hint, strict=False)
        except (msgspec.ValidationError, TypeError):
            return value

    return convert
