"""A Redis store (redis-py, imported when the store is created).

Each key is `<prefix><key>` holding the JSON-encoded value; expiry is Redis's own (PX).
Single commands (GET, SET NX PX, DEL) are atomic by themselves; read-modify-write operations
(compare-and-set, conditional delete, increment-with-expiry, token bucket) run as Lua scripts,
which Redis executes atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lift.stores.base import (
    NotACounter,
    Store,
    StoreConfigurationError,
    StoreError,
    StoreUnavailable,
    check_ttl,
    decode_value,
    encode_value,
)

__all__ = ["RedisStore"]

_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""

_PUT_IF_ABSENT_OR_GET = """
local current = redis.call('GET', KEYS[1])
if current then return current end
if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return false
"""

_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

_INCREMENT = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""

# Token bucket: KEYS[1] holds "tokens:updated_ms"; ARGV = capacity, refill per second, cost, now_ms.
# Returns {allowed (0/1), tokens left * 1000 (integer), ms until `cost` tokens are available}.
_TOKEN_BUCKET = """
local capacity, rate, cost, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('GET', KEYS[1])
local tokens, updated = capacity, now
if state then
  local sep = string.find(state, ':')
  tokens, updated = tonumber(string.sub(state, 1, sep - 1)), tonumber(string.sub(state, sep + 1))
  tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate / 1000)
end
local allowed = 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 end
local wait = 0
if tokens < cost then wait = math.ceil((cost - tokens) * 1000 / rate) end
local full_ms = math.ceil((capacity - tokens) * 1000 / rate) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', tokens) .. ':' .. now, 'PX', full_ms)
return {allowed, math.floor(tokens * 1000), wait}
"""


def _ttl_ms(ttl: float | None) -> str:
    if ttl is None:
        return ""
    check_ttl(ttl)
    return str(max(1, int(ttl * 1000)))


def redis_client(url: str, timeout: float) -> Any:
    """A redis-py client whose every wait is bounded by `timeout` seconds, retrying once on a lost
    connection or a timeout (a restarted server, a stale pooled connection)."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('RedisStore and RedisConnections need redis-py: pip install "lift-lambda[redis]"') from exc
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # One retry, as botocore does for DynamoDBStore (from_url alone gives none). A retried write may
    # find its own first attempt applied: the features built on the store recognise their own writes
    # (the idempotency lock's token).
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    )


class RedisStore(Store):
    """A store on one Redis server (or a cluster endpoint with single-key operations)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "lift:",
        timeout: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock  # epoch seconds of the token bucket's refills (expiry itself is the server's)
        self.client = client if client is not None else redis_client(url or "redis://127.0.0.1:6379/0", timeout)
        self.prefix = prefix
        self._scripts: dict[str, Any] = {}

    def _script(self, source: str) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return script

    def _call(self, operation: Any, *args: Any, **kwargs: Any) -> Any:
        import redis.exceptions as errors

        try:
            return operation(*args, **kwargs)
        except (errors.ConnectionError, errors.TimeoutError, errors.BusyLoadingError) as exc:
            raise StoreUnavailable(f"redis unavailable: {exc}") from exc
        except (errors.AuthenticationError, errors.AuthorizationError) as exc:
            raise StoreConfigurationError(f"redis refused the credentials: {exc}") from exc
        except errors.ResponseError as exc:
            if "not an integer" in str(exc):
                raise NotACounter(f"redis: {exc}") from exc
            raise StoreError(f"redis error: {exc}") from exc
        except errors.RedisError as exc:
            raise StoreError(f"redis error: {exc}") from exc

    def get(self, key: str) -> Any:
        data = self._call(self.client.get, self.prefix + key)
        return None if data is None else decode_value(data)

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        px = _ttl_ms(ttl)
        self._call(self.client.set, self.prefix + key, encode_value(value), px=int(px) if px else None)

    def put_if_absent(self, key: str, value: Any, ttl: float | None = None) -> bool:
        px = _ttl_ms(ttl)
        written = self._call(
            self.client.set, self.prefix + key, encode_value(value), nx=True, px=int(px) if px else None
        )
        return bool(written)

    def put_if_absent_or_get(self, key: str, value: Any, ttl: float | None = None) -> tuple[bool, Any]:
        script = self._script(_PUT_IF_ABSENT_OR_GET)
        current = self._call(script, keys=[self.prefix + key], args=[encode_value(value), _ttl_ms(ttl)])
        return (True, None) if current is None else (False, decode_value(current))

    def compare_and_set(self, key: str, expected: Any, value: Any, ttl: float | None = None) -> bool:
        args = [encode_value(expected), encode_value(value), _ttl_ms(ttl)]
        return self._call(self._script(_COMPARE_AND_SET), keys=[self.prefix + key], args=args) == 1

    def increment(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        args = [int(amount), _ttl_ms(ttl)]
        return int(self._call(self._script(_INCREMENT), keys=[self.prefix + key], args=args))

    def delete(self, key: str, expected: Any = None) -> bool:
        if expected is None:
            return self._call(self.client.delete, self.prefix + key) == 1
        script = self._script(_DELETE_IF_EQUAL)
        return self._call(script, keys=[self.prefix + key], args=[encode_value(expected)]) == 1

    def ttl(self, key: str) -> float | None:
        ms = self._call(self.client.pttl, self.prefix + key)
        return None if ms is None or ms < 0 else ms / 1000

    def take_tokens(
        self, key: str, capacity: float, refill_per_second: float, cost: float = 1, now: float | None = None
    ) -> tuple[bool, float, float]:
        """Atomically take `cost` tokens from a bucket; (allowed, tokens left, seconds until enough)."""
        now_ms = int((self.clock() if now is None else now) * 1000)
        args = [capacity, refill_per_second, cost, now_ms]
        allowed, left, wait_ms = self._call(self._script(_TOKEN_BUCKET), keys=[self.prefix + key], args=args)
        return allowed == 1, left / 1000, wait_ms / 1000

    def close(self) -> None:
        self._call(self.client.close)
