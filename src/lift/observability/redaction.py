"""Masking of secrets in log fields: sensitive keys and card numbers, in nested data too."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["Redactor", "MASK", "DEFAULT_SENSITIVE_KEYS"]

MASK = "***"

# A key is sensitive when its normalized form (lower case, no '-', '_' or spaces) contains one of these...
DEFAULT_SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "authorization",
        "apikey",
        "cookie",
        "credential",
        "privatekey",
        "cardnumber",
        "creditcard",
        "ccnumber",
        "sessionid",
        "signature",
    }
)
# ...or equals one of these short ones (too short to match as a substring).
_EXACT_SENSITIVE_KEYS = frozenset({"pan", "cvv", "cvc", "cvv2", "ssn", "pin", "pwd", "auth", "otp"})

_CARD_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")
_MAX_DEPTH = 10
_SCALARS = frozenset({int, float, bool})


def _normalize(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "").replace(" ", "")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = "".join(ch for ch in match.group(0) if ch.isdigit())
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return f"****{digits[-4:]}"
    return match.group(0)


class Redactor:
    """Masks values of sensitive keys, and card numbers found in any string value."""

    __slots__ = ("_substrings", "_exact", "_cards", "_cache")

    def __init__(
        self, keys: Iterable[str] | None = None, *, extra_keys: Iterable[str] = (), card_numbers: bool = True
    ) -> None:
        base = DEFAULT_SENSITIVE_KEYS if keys is None else frozenset(_normalize(k) for k in keys)
        self._substrings = tuple(base | {_normalize(k) for k in extra_keys})
        self._exact = _EXACT_SENSITIVE_KEYS if keys is None else frozenset()
        self._cards = card_numbers
        self._cache: dict[str, bool] = {}

    def is_sensitive(self, key: str) -> bool:
        """True when values under `key` must be masked."""
        hit = self._cache.get(key)
        if hit is None:
            norm = _normalize(key)
            hit = norm in self._exact or any(s in norm for s in self._substrings)
            if len(self._cache) < 4096:
                self._cache[key] = hit
        return hit

    def redact(self, value: Any, depth: int = 0) -> Any:
        """A copy of `value` with sensitive entries masked; untouched values are returned as is."""
        if isinstance(value, str):
            return self._redact_text(value)
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if v is None:
                    out[k] = v
                elif isinstance(k, str) and self.is_sensitive(k):
                    out[k] = MASK
                elif v.__class__ in _SCALARS:
                    out[k] = v
                elif isinstance(v, str):
                    out[k] = self._redact_text(v)
                else:
                    out[k] = self.redact(v, depth + 1)
            return out
        if isinstance(value, list | tuple):
            return [self.redact(v, depth + 1) for v in value]
        return value

    def _redact_text(self, value: str) -> str:
        if self._cards and len(value) >= 13 and _has_enough_digits(value):
            return _CARD_CANDIDATE.sub(_mask_card, value)
        return value

    def redact_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Redact a flat mapping of log fields (the top level of a log line)."""
        return self.redact(fields)


def _has_enough_digits(text: str) -> bool:
    count = 0
    for ch in text:
        if "0" <= ch <= "9":
            count += 1
            if count >= 13:
                return True
    return False
