"""A cached JSON Web Key Set fetched from an identity provider (Cognito, Auth0, Okta, ...).

Keys are fetched on first use and kept for `cache_ttl` seconds (10 minutes by default: with the
verifier's 5-minute verified-token cache, a key withdrawn from the set stops working within 15
minutes at most). A token signed with a key
id the cache does not know triggers a refetch (the provider rotated its keys), but at most
once per `min_refetch_interval`, so tokens with made-up key ids cannot flood the provider.
When a refetch fails the keys already cached keep working.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "JWKSClient",
    "JWKSUnavailable",
    "KeyNotFound",
    "check_key_url",
    "fetch_bytes",
    "fetch_json",
    "fetch_json_urllib",
]

logger = logging.getLogger("lift.auth")

MAX_JWKS_BYTES = 1 << 20
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class JWKSUnavailable(Exception):
    """The key set could not be fetched and nothing usable is cached."""


class KeyNotFound(LookupError):
    """No key in the (freshly checked) key set matches the token's key id."""


def fetch_bytes_urllib(url: str, timeout: float) -> bytes:
    """GET `url` with the standard library: its body (at most MAX_JWKS_BYTES), within `timeout` in all."""
    import urllib.request  # lazily: it pulls in http.client, email and ssl

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json, */*"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return _read_bounded(iter(lambda: response.read1(65536), b""), deadline)


def fetch_bytes_httpx(url: str, timeout: float) -> bytes:
    """GET `url` with httpx: its body (at most MAX_JWKS_BYTES), within `timeout` in all."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, timeout=timeout, headers={"Accept": "application/json, */*"}) as response:
        response.raise_for_status()
        return _read_bounded(response.iter_bytes(), deadline)


def fetch_json_urllib(url: str, timeout: float) -> Any:
    """GET `url` with the standard library and decode its JSON body, within `timeout` in all."""
    return json.loads(fetch_bytes_urllib(url, timeout))


def fetch_json_httpx(url: str, timeout: float) -> Any:
    """GET `url` with httpx and decode its JSON body, within `timeout` in all."""
    return json.loads(fetch_bytes_httpx(url, timeout))


def _read_bounded(chunks: Iterable[bytes], deadline: float) -> bytes:
    """The body, refused past MAX_JWKS_BYTES or once `deadline` has passed (the HTTP client's timeout
    bounds each read, not the whole: a provider sending a byte at a time held every request)."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("JWKS response too large")
        if time.monotonic() > deadline:
            raise TimeoutError("JWKS response not complete within the timeout")
    return bytes(body)


def fetch_bytes(url: str, timeout: float) -> bytes:
    """GET a body with httpx when it is installed, else with urllib."""
    try:
        import httpx  # noqa: F401
    except ImportError:
        return fetch_bytes_urllib(url, timeout)
    return fetch_bytes_httpx(url, timeout)


def fetch_json(url: str, timeout: float) -> Any:
    """GET JSON with httpx when it is installed, else with urllib."""
    return json.loads(fetch_bytes(url, timeout))


def check_key_url(url: str) -> None:
    """A ValueError unless `url` is https (http only on localhost): keys fetched in clear could be forged."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return
    raise ValueError(f"key URL must be https (http only on localhost), got {url!r}")


class JWKSClient:
    """Signing keys from a JWKS URL, cached, refetched on rotation with a rate limit."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 3.0,
        cache_ttl: float = 600.0,
        min_refetch_interval: float = 30.0,
        fetch: Callable[[str, float], Any] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_key_url(url)
        self.url = url
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self.min_refetch_interval = min_refetch_interval
        self.fetch_count = 0
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str | None, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = threading.Lock()

    def get(self, kid: str | None) -> dict[str, Any]:
        """The JWK for `kid` (or the only key, when the token names none)."""
        if not self._lock.acquire(blocking=False):  # another request is fetching (the first time, a
            key = self._lookup(kid)  # rotation or an expired set): a key already cached serves meanwhile,
            if key is not None:  # instead of every request waiting up to the fetch's timeout
                return key
            self._lock.acquire()
        try:
            if self._fetched_at is None or self._clock() - self._fetched_at >= self.cache_ttl:
                self._refresh(reason="expired" if self._fetched_at is not None else "initial")
            key = self._lookup(kid)
            if key is None and self._may_refetch():
                self._refresh(reason=f"unknown kid {kid!r}")
                key = self._lookup(kid)
        finally:
            self._lock.release()
        if key is None:
            raise KeyNotFound(f"no key with kid {kid!r} in {self.url}")
        return key

    def _lookup(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if kid is not None else None

    def _may_refetch(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self.min_refetch_interval

    def _refresh(self, reason: str) -> None:
        if self._attempted_at is not None and not self._may_refetch():
            if not self._keys:  # the last attempt failed moments ago: do not hammer the provider
                raise JWKSUnavailable(f"JWKS from {self.url} unavailable (retry after backoff)")
            return
        self._attempted_at = self._clock()
        self.fetch_count += 1
        try:
            keys = _signing_keys(self._fetch(self.url, self.timeout))
        except Exception as exc:  # any transport or format problem: keep what we have
            if not self._keys:
                logger.error("JWKS fetch from %s failed (%s): %s", self.url, reason, exc)
                raise JWKSUnavailable(f"cannot fetch JWKS from {self.url}: {exc}") from exc
            logger.warning("JWKS refetch from %s failed (%s), keeping cached keys: %s", self.url, reason, exc)
            return
        self._keys = keys
        self._fetched_at = self._attempted_at
        logger.info("JWKS fetched from %s (%s): %d keys", self.url, reason, len(keys))


def _signing_keys(document: Any) -> dict[str | None, dict[str, Any]]:
    """The signature keys of a JWKS document, by kid; encryption keys are left out."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    keys: dict[str | None, dict[str, Any]] = {}
    for jwk in document["keys"]:
        if isinstance(jwk, dict) and jwk.get("kty") and jwk.get("use", "sig") == "sig":
            keys[jwk.get("kid")] = jwk
    if not keys:
        raise ValueError("JWKS document has no signing keys")
    return keys
