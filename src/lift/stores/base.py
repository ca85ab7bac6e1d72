"""The small storage interface behind rate limiting and idempotency, and its typed errors.

Every backend (memory, DynamoDB, Redis) offers the same few atomic operations. Values are
anything msgspec encodes as JSON (dicts, lists, str, int, float, bool, None); a `ttl` is in
seconds and `None` means the key never expires. An expired key behaves exactly like a missing
one on every backend, even before the backend has physically removed it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "NotACounter",
    "Store",
    "StoreConfigurationError",
    "StoreError",
    "StoreUnavailable",
    "check_ttl",
    "decode_value",
    "encode_value",
    "scoped_key",
]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class StoreError(Exception):
    """A store operation failed; the base of every error a store raises."""


class StoreUnavailable(StoreError):
    """The store could not be reached or answered with a transient error (timeout, throttling, 5xx)."""


class StoreConfigurationError(StoreError):
    """The store is reachable but misconfigured: missing table, bad credentials, wrong permissions."""


class NotACounter(StoreError):
    """`increment` was called on a key that holds a non-integer value."""


def encode_value(value: Any) -> bytes:
    """The JSON bytes a store keeps for `value`."""
    try:
        return _encoder.encode(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise StoreError(f"value is not JSON-encodable: {exc}") from exc


def decode_value(data: bytes | str) -> Any:
    """The value from the JSON bytes a store kept."""
    return _decoder.decode(data)


def ttl_to_deadline(ttl: float | None, now: float | None = None) -> float | None:
    """The epoch time (seconds) at which a key written now with `ttl` expires."""
    if ttl is None:
        return None
    check_ttl(ttl)
    return (time.time() if now is None else now) + ttl


def check_ttl(ttl: float) -> None:
    """A ValueError unless `ttl` is a positive, finite number of seconds (every backend says the same)."""
    if not ttl > 0 or ttl == math.inf:  # (`not ttl > 0` is also true of NaN)
        raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")


def scoped_key(*parts: object, tenant_id: str | None = None) -> str:
    """A store key from its parts, prefixed with the tenant when one is set.

    `#` (the separator) and `%` are percent-escaped in every part, so no tenant id or key part
    can forge another tenant's key: `scoped_key("rl", "u1", tenant_id="acme")` -> `"t:acme#rl#u1"`.
    """
    body = "#".join(_escape(str(part)) for part in parts)
    if tenant_id is None or tenant_id == "":
        return "g#" + body
    return "t:" + _escape(str(tenant_id)) + "#" + body


def _escape(part: str) -> str:
    if "#" in part or "%" in part:
        return part.replace("%", "%25").replace("#", "%23")
    return part


class Store:
    """The interface every backend implements. All operations are atomic on the backend.

    `clock` gives the epoch seconds expiries are judged by (and the rate limiter's windows): the
    backends take `clock=` so that tests move time instead of sleeping through it.
    """

    clock: Callable[[], float] = staticmethod(time.time)

    def get(self, key: str) -> Any:
        """The value at `key`, or None when it is missing or expired."""
        raise NotImplementedError

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Write `value` unconditionally."""
        raise NotImplementedError

    def put_if_absent(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Write `value` only if `key` is missing or expired; True when this call wrote it."""
        raise NotImplementedError

    def put_if_absent_or_get(self, key: str, value: Any, ttl: float | None = None) -> tuple[bool, Any]:
        """`put_if_absent` that also returns what is there when it does not write: (True, None) when
        this call wrote `value`, else (False, current value). One round trip on DynamoDB and Redis."""
        for _ in range(10):
            if self.put_if_absent(key, value, ttl):
                return True, None
            current = self.get(key)
            if current is not None:
                return False, current
        raise StoreError(f"key {key!r} keeps expiring between put_if_absent and get")

    def compare_and_set(self, key: str, expected: Any, value: Any, ttl: float | None = None) -> bool:
        """Replace the value with `value` only if it currently equals `expected`; True when replaced.

        The new `ttl` replaces the old expiry (None: never expires).
        """
        raise NotImplementedError

    def increment(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add `amount` to the integer at `key` (a missing key counts as 0) and return the new value.

        `ttl` applies when this call creates the key; later increments keep that expiry, so a
        counter created for a time window disappears with the window.
        """
        raise NotImplementedError

    def delete(self, key: str, expected: Any = None) -> bool:
        """Remove `key` (only if its value equals `expected`, when given); True when removed."""
        raise NotImplementedError

    def ttl(self, key: str) -> float | None:
        """Seconds until `key` expires; None when it is missing or never expires."""
        raise NotImplementedError

    def value_limit(self, key: str) -> int | None:
        """The largest encoded value `key` can hold, in bytes; None when the backend has no practical limit."""
        return None

    def close(self) -> None:
        """Release connections; the store may not be used afterwards."""
