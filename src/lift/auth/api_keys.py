"""API keys for service-to-service calls, configured as SHA-256 hashes and compared in constant time.

Only hashes live in configuration, so a leaked config or log does not leak a key. API keys
are long random strings (generate them with `secrets.token_urlsafe(32)`), so a fast hash
is enough; a password hash would only add latency to every call.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lift.auth.credentials import InvalidCredentials
from lift.auth.principal import Principal

__all__ = ["APIKey", "APIKeyVerifier", "hash_api_key"]

_PREFIX = "sha256:"


def hash_api_key(key: str) -> str:
    """The value to put in configuration for `key`: "sha256:<hex digest>"."""
    return _PREFIX + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class APIKey:
    """One configured key: its hash and the principal it authenticates as."""

    hash: str
    name: str
    tenant_id: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def digest(self) -> bytes:
        """The raw SHA-256 digest from `hash` ("sha256:<hex>" or bare hex)."""
        text = self.hash.removeprefix(_PREFIX).lower()
        if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
            raise ValueError(f"API key {self.name!r}: expected a SHA-256 hash (use hash_api_key), not a key")
        return bytes.fromhex(text)

    def principal(self) -> Principal:
        return Principal(
            user_id=self.name,
            tenant_id=self.tenant_id,
            roles=frozenset(self.roles),
            scopes=frozenset(self.scopes),
            claims={"api_key": self.name},
            method="api_key",
        )


class APIKeyVerifier:
    """Finds the configured key matching a presented one without revealing which comparison failed."""

    def __init__(self, keys: Iterable[APIKey] | Mapping[str, str | Mapping[str, Any]]) -> None:
        configured = _from_mapping(keys) if isinstance(keys, Mapping) else list(keys)
        if not configured:
            raise ValueError("APIKeyVerifier needs at least one key")
        self._entries = [(key.digest(), key.principal()) for key in configured]

    def verify(self, presented: str) -> Principal:
        """The principal for `presented`; every configured hash is compared, match or not."""
        digest = hashlib.sha256(presented.encode()).digest()
        found: Principal | None = None
        for expected, principal in self._entries:
            if hmac.compare_digest(digest, expected) and found is None:
                found = principal
        if found is None:
            raise InvalidCredentials("unknown API key")
        return found


def _from_mapping(keys: Mapping[str, str | Mapping[str, Any]]) -> list[APIKey]:
    """{hash: name} or {hash: {"name": ..., "tenant_id": ..., "roles": [...], "scopes": [...]}}."""
    result = []
    for key_hash, info in keys.items():
        if isinstance(info, str):
            result.append(APIKey(hash=key_hash, name=info))
        else:
            result.append(
                APIKey(
                    hash=key_hash,
                    name=str(info["name"]),
                    tenant_id=info.get("tenant_id"),
                    roles=tuple(info.get("roles", ())),
                    scopes=tuple(info.get("scopes", ())),
                )
            )
    return result
