"""Envelope encryption of single values: AES-256-GCM under a KMS (or local) data key.

A sealed value is `lift1:` + base64url of
`0x01 | len(wrapped key) (2 bytes) | wrapped key | nonce (12) | ciphertext+tag`, and the
associated data is the encryption context plus that header: a changed byte anywhere, or the
right bytes under another tenant or field, fails the GCM tag check or KMS's unwrap.

Data keys are cached (`DataKeyCache`): one key seals many values until it reaches `max_uses`
or `max_age` seconds, and unwrapped keys are kept for `max_age`, so a warm function calls KMS
only when a key rotates out. Why not the AWS Encryption SDK: see docs/compliance.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from typing import Any

from lift.crypto.keys import KeyProvider, KeyProviderError, aesgcm, canonical_context

__all__ = ["DataKeyCache", "DecryptionError", "FieldCipher", "PREFIX"]

PREFIX = "lift1:"
TOKEN_PREFIX = "hmac1:"
_VERSION = 1
_STR, _BYTES = 0, 1


class DecryptionError(Exception):
    """A sealed value could not be opened. The message names tenant and field, never a value."""


class DataKeyCache:
    """Data keys kept in memory: each sealing key for at most `max_age` seconds and `max_uses`
    values, each unwrapped key for `max_age` seconds; at most `max_entries` of each."""

    def __init__(self, max_age: float = 300.0, max_uses: int = 10_000, max_entries: int = 1000) -> None:
        self.max_age, self.max_uses, self.max_entries = max_age, max_uses, max_entries
        self._sealing: dict[bytes, list[Any]] = {}  # context -> [key, wrapped, created, uses]
        self._opening: dict[tuple[bytes, bytes], tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def sealing_key(self, context: bytes, make: Any) -> tuple[bytes, bytes]:
        now = time.monotonic()
        with self._lock:
            entry = self._sealing.get(context)
            if entry is not None and entry[3] < self.max_uses and now - entry[2] < self.max_age:
                entry[3] += 1
                return entry[0], entry[1]
        key, wrapped = make()
        with self._lock:
            if len(self._sealing) >= self.max_entries:
                self._sealing.pop(next(iter(self._sealing)))
            self._sealing[context] = [key, wrapped, now, 1]
            self._remember(wrapped, context, key, now)
        return key, wrapped

    def opening_key(self, wrapped: bytes, context: bytes, unwrap: Any) -> bytes:
        now = time.monotonic()
        hit = self._opening.get((wrapped, context))
        if hit is not None and now - hit[1] < self.max_age:
            return hit[0]
        key = unwrap()
        with self._lock:
            self._remember(wrapped, context, key, now)
        return key

    def _remember(self, wrapped: bytes, context: bytes, key: bytes, now: float) -> None:
        if len(self._opening) >= self.max_entries:
            self._opening.pop(next(iter(self._opening)))
        self._opening[(wrapped, context)] = (key, now)

    def clear(self) -> None:
        with self._lock:
            self._sealing.clear()
            self._opening.clear()


class FieldCipher:
    """Seals and opens field values bound to a tenant and a field name.

    `index_key` (32+ secret bytes) enables `search_token`: a deterministic HMAC-SHA256 of a
    value, per tenant and field, for equality lookups of encrypted fields (e.g. by email)."""

    def __init__(
        self,
        provider: KeyProvider,
        *,
        cache: DataKeyCache | None = None,
        context: dict[str, str] | None = None,
        index_key: bytes | Any = None,
    ) -> None:
        aesgcm()  # fail at construction, naming the extra, when cryptography is missing
        self.provider = provider
        self.cache = cache if cache is not None else DataKeyCache()
        self.base_context = dict(context or {})
        if index_key is not None and hasattr(index_key, "get_secret_value"):
            index_key = index_key.get_secret_value()
        if isinstance(index_key, str):
            index_key = index_key.encode("utf-8")
        if index_key is not None and len(index_key) < 32:
            raise ValueError("index_key must be at least 32 bytes of secret material")
        self._index_key: bytes | None = index_key
        self._contexts: dict[tuple[str, str], tuple[dict[str, str], bytes]] = {}

    def _context(self, tenant: str, field: str) -> tuple[dict[str, str], bytes]:
        """The context of (tenant, field) and its canonical bytes, built and checked once."""
        hit = self._contexts.get((tenant, field))
        if hit is None:
            context = self.context_for(tenant, field)
            hit = (context, canonical_context(context))
            if len(self._contexts) >= 4096:
                self._contexts.clear()
            self._contexts[(tenant, field)] = hit
        return hit

    def context_for(self, tenant: str, field: str) -> dict[str, str]:
        return {**self.base_context, "lift:tenant": str(tenant), "lift:field": field}

    def encrypt(self, value: str | bytes, *, tenant: str, field: str) -> str:
        """`value` sealed under a data key bound to (`tenant`, `field`): a `lift1:` string."""
        AESGCM = aesgcm()
        context, ctx_bytes = self._context(tenant, field)
        key, wrapped = self.cache.sealing_key(ctx_bytes, lambda: self.provider.generate_data_key(context))
        if isinstance(value, str):
            kind, data = _STR, value.encode("utf-8", "surrogatepass")
        elif isinstance(value, bytes | bytearray | memoryview):
            kind, data = _BYTES, bytes(value)
        else:  # bytes(5) would be five zero bytes: the value lost without a word
            raise TypeError(f"encrypt needs str or bytes, not {type(value).__name__}")
        header = bytes([_VERSION]) + len(wrapped).to_bytes(2, "big") + wrapped
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, bytes([kind]) + data, ctx_bytes + header)
        return PREFIX + base64.urlsafe_b64encode(header + nonce + sealed).rstrip(b"=").decode("ascii")

    def decrypt(self, token: str, *, tenant: str, field: str) -> str | bytes:
        """The value sealed in `token`; `DecryptionError` if it was altered or is another tenant's or field's."""
        from cryptography.exceptions import InvalidTag

        AESGCM = aesgcm()
        where = f"field {field!r} of tenant {tenant!r}"
        if not isinstance(token, str) or not token.startswith(PREFIX):
            raise DecryptionError(f"{where}: not a Lift ciphertext")
        try:
            b64 = token[len(PREFIX) :]
            raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except ValueError:
            raise DecryptionError(f"{where}: the ciphertext is not valid base64") from None
        if len(raw) < 3 or raw[0] != _VERSION:
            raise DecryptionError(f"{where}: unknown ciphertext version")
        size = int.from_bytes(raw[1:3], "big")
        header, wrapped = raw[: 3 + size], raw[3 : 3 + size]
        nonce, sealed = raw[3 + size : 15 + size], raw[15 + size :]
        if len(nonce) != 12 or len(sealed) < 17:
            raise DecryptionError(f"{where}: the ciphertext is truncated")
        context, ctx_bytes = self._context(tenant, field)
        try:
            key = self.cache.opening_key(wrapped, ctx_bytes, lambda: self.provider.decrypt_data_key(wrapped, context))
            plain = AESGCM(key).decrypt(nonce, sealed, ctx_bytes + header)
        except KeyProviderError as exc:
            raise DecryptionError(f"{where}: {exc}") from None
        except InvalidTag:
            raise DecryptionError(
                f"{where}: authentication failed: the ciphertext was altered, or it belongs to another tenant or field"
            ) from None
        return plain[1:].decode("utf-8", "surrogatepass") if plain[0] == _STR else plain[1:]

    def search_token(self, value: str, *, tenant: str, field: str) -> str:
        """A deterministic HMAC of `value` for this tenant and field: equal values, equal tokens.

        It reveals equality (that two rows hold the same email), nothing else; keep its key
        apart from the data keys (`index_key`)."""
        if self._index_key is None:
            raise ValueError("search_token needs FieldCipher(index_key=...)")
        per_field = hmac.new(self._index_key, f"{tenant}\x00{field}".encode(), hashlib.sha256).digest()
        digest = hmac.new(per_field, value.encode("utf-8"), hashlib.sha256).digest()
        return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
