"""Masking of secrets in what Lift writes: sensitive keys, card numbers (PAN), track data, PII fields.

Card numbers (13-19 digits, spaces or dashes allowed between them, a brand's first digit,
passing the Luhn check) are
masked to the first six and last four digits (`411111******1111`), the most PCI-DSS allows to
be shown. Magnetic-stripe track data is masked whole, and CVV/CVC/PIN/track keys always. The
scan is hand-written rather than a library's: one C-level regex test decides for ordinary
lines (fewer than 13 digits in a row) that there is nothing to do, which keeps the cost per
log line small (measured in bench/bench_security.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "Redactor",
    "MASK",
    "DEFAULT_SENSITIVE_KEYS",
    "PII",
    "mask_card_numbers",
    "mask_path_card_numbers",
    "may_hold_card",
    "mask_pan",
    "redact_cards",
    "pii_fields",
    "default_redactor",
]

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
        "securitycode",  # card security code (CVV2/CVC2/CID)
        "cardverification",
        "trackdata",
        "magstripe",
        "pinblock",
    }
)
# ...or equals one of these short ones (too short to match as a substring).
_EXACT_SENSITIVE_KEYS = frozenset(
    {
        "pan",
        "cvv",
        "cvc",
        "cvv2",
        "cvc2",
        "cav2",
        "csc",
        "ssn",
        "pin",
        "pwd",
        "auth",
        "otp",
        "track",
        "track1",
        "track2",
    }
)

# A run of 13 or more digits, one space or dash allowed between two: a card number, or a longer run
# that may hold one between its groups (`qty 2 4111 1111 1111 1111`: `_mask_card` looks inside)
_CARD_CANDIDATE = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,}[0-9](?![0-9])")
_SEPARATED = re.compile(r"([ -])")
# A run of 13+ digits, spaces and dashes from digit to digit: every card number is inside one.
# (An ASCII character-class run is what `re` scans fastest: 9k instructions on a 58-character
# line against 15k for the same with `\d`, which tests Unicode categories, and 16k for the exact
# card pattern.)
_QUICK_CHECK = re.compile(r"[0-9][0-9 -]{11,}[0-9]")
# Before it, a cheaper test that is true of every string it finds: each byte mapped to `d` (a digit,
# space or dash) or `x`, then a search for 13 `d` in a row, all three steps C loops over bytes (about
# 1k instructions for a 100-character log message holding a request id, against 10k for the regex).
_RUN_BYTES = bytes(0x64 if 0x30 <= i <= 0x39 or i in (0x20, 0x2D) else 0x78 for i in range(256))
_RUN_OF_13 = b"d" * 13
# Track 1 (%B<PAN>^NAME^YYMM...?) and track 2 (;<PAN>=YYMM...?) as read from a magnetic stripe.
_TRACK_DATA = re.compile(r"%?B\d{13,19}\^[^^]{0,26}\^\d{4}[^?\s]*\??|;?\d{13,19}=\d{4}[^?\s]*\??")
_TRACK_MASK = "[track data]"
# Card brands' numbers start with 2-6 (Mastercard, Amex/Diners/JCB, Visa, Mastercard, Discover/
# UnionPay) or 8 (UnionPay): leaving out 0, 1, 7 and 9 keeps epoch timestamps in milliseconds or
# microseconds (13 or 16 digits starting with 1) from being masked when they pass the Luhn check.
_CARD_FIRST_DIGITS = frozenset("234568")
_MAX_DEPTH = 16  # past it, a container is written as MASK (its contents unseen)
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


def mask_pan(digits: str) -> str:
    """`4111111111111111` -> `411111******1111` (first six and last four kept)."""
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"


# Generated ids whose digits can read as a card number by chance, never written around one: a uuid
# (`0f9eddb5-0836-4ba7-af61-999884723221` holds `61-999884723221`, one uuid4 in ~800), an X-Ray trace
# id, a W3C traceparent, and a hex token of 24 to 128 characters holding a letter (uuid.hex, md5/sha
# digests, ETags, X-Ray's 24-hex part, OpenTelemetry trace ids; one 32-hex token in ~700). A card
# number inside one of these is part of an id another system must match (a request or message id in
# a log line, an X-Ray annotation, an audit target), so it is kept, and the id is one opaque word: its
# digits never join the ones after it (`<uuid> 5 items`) into a card number. A number next to letters
# that are not all hex (`card4111...`), or in a shorter hex token, is still masked.
_ID_TOKEN = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|1-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{24}"
    r"|[0-9A-Fa-f]{2}-[0-9A-Fa-f]{32}-[0-9A-Fa-f]{16}-[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]*[A-Fa-f][0-9A-Fa-f]*"
    r")(?![0-9A-Za-z])"
)


# What every id `_ID_TOKEN` keeps whole holds (a uuid's first groups, a run of 24 hex characters):
# a text without it has no id to keep, and its first masking pass stands (a log line with a card)
_ID_HINT = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-|[0-9A-Fa-f]{24}")


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and _luhn_ok(digits)


def _mask_card(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = "".join(ch for ch in text if ch.isdigit())
    if _is_card(digits):
        return mask_pan(digits)
    if len(digits) == len(text):
        return text  # one unbroken run that is no card number (a longer one is an id or a timestamp)
    return _mask_groups(_SEPARATED.split(text))


def _mask_groups(parts: list[str]) -> str:
    """A run of digit groups (`parts`: group, separator, group, ...) that is no card number as a
    whole, with each card number written as groups inside it masked: the longest run of whole
    groups of 3 or more digits (how cards are grouped: 4-4-4-4, 4-6-5, ...) from each group on,
    so a count or a list of small numbers next to a card neither hides it nor reads as one."""
    groups = parts[::2]
    out: list[str] = []
    i = 0
    while i < len(groups):
        found = 0
        if len(groups[i]) >= 3:
            j = i
            digits = ""
            while j < len(groups) and len(groups[j]) >= 3 and len(digits) + len(groups[j]) <= 19:
                digits += groups[j]
                j += 1
                if _is_card(digits):
                    found = j
        if found:
            out.append(mask_pan("".join(groups[i:found])))
            i = found
        else:
            out.append(groups[i])
            i += 1
        if i < len(groups):
            out.append(parts[2 * i - 1])
    return "".join(out)


def _mask_outside_ids(text: str) -> str:
    """`text` with card numbers masked in everything but its generated ids (`_ID_TOKEN`), each
    kept whole as one opaque word: neither masked inside nor joined to the digits next to it."""
    out = []
    pos = 0
    for found in _ID_TOKEN.finditer(text):
        token = found.group(0)
        if "-" not in token and not 24 <= len(token) <= 128:
            continue  # a short hex word (`cafe`, `a4111...`) or a blob longer than any digest: not an id
        out.append(_CARD_CANDIDATE.sub(_mask_card, text[pos : found.start()]))
        out.append(token)
        pos = found.end()
    out.append(_CARD_CANDIDATE.sub(_mask_card, text[pos:]))
    return "".join(out)


def may_hold_card(text: str) -> bool:
    """False when `text` cannot hold a card number or track data: no run of 13 or more digits,
    spaces and dashes from digit to digit (every card number, split or not, is inside one)."""
    return (
        len(text) >= 13
        and _RUN_OF_13 in text.encode("utf-8", "surrogatepass").translate(_RUN_BYTES)
        and _QUICK_CHECK.search(text) is not None
    )


def mask_card_numbers(text: str) -> str:
    """`text` with every card number masked to first-6/last-4 and track data removed."""
    if not may_hold_card(text):
        return text
    if "=" in text or "^" in text:
        text = _TRACK_DATA.sub(_TRACK_MASK, text)
    masked = _CARD_CANDIDATE.sub(_mask_card, text)
    if masked == text or _ID_HINT.search(text) is None:
        return masked
    # something read as a card number in a text that may hold a generated id: again, with the ids
    # kept whole (rare: a card number next to an id, or one id in several hundred)
    return _mask_outside_ids(text)


# A `+` between two digits: a space as an HTML form (and many clients) write it in a URL.
_PLUS_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])\+(?=[0-9])")
# "1" for an ASCII digit or a non-ASCII byte (another script's digits), "0" for the rest: a path with
# fewer than 13 of them holds no card number in any form (mask_path_card_numbers' quick test)
_PATH_DIGIT_MARKS = b"0" * 48 + b"1" * 10 + b"0" * 70 + b"1" * 128


def mask_path_card_numbers(text: str) -> str:
    """`text` (a URL path, or a message quoting one as sent) with every card number masked, also
    one a client encoded: percent-escapes (`4111%201111...`, `%2D` or `%2d` between groups, escaped
    digits, escapes of escapes such as `%2520`, decoded up to four times), `+` between digits, and
    digits of other scripts (full-width `４１１１`, which NFKC folds, Arabic-Indic, ...). When the
    decoded text holds a card number, that text is returned masked (the digits never come back
    in any form); otherwise `text` as it was, with plain card numbers masked."""
    if len(text) < 13 or text.encode("utf-8", "surrogatepass").translate(_PATH_DIGIT_MARKS).count(49) < 13:
        return text
    decoded = text
    if "%" in decoded:
        from urllib.parse import unquote

        for _ in range(4):
            step = unquote(decoded)
            if step == decoded:
                break
            decoded = step
    if "+" in decoded:
        decoded = _PLUS_BETWEEN_DIGITS.sub(" ", decoded)
    if not decoded.isascii():
        import unicodedata

        decoded = "".join(
            str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch
            for ch in unicodedata.normalize("NFKC", decoded)
        )
    if decoded != text:
        masked = mask_card_numbers(decoded)
        if masked != decoded:
            return masked
    return mask_card_numbers(text)


class PII:
    """Marks a model field as personal data: `email: Annotated[str, PII]` (or `PII(roles={"support"})`).

    Lift masks such fields in log lines always, and in responses passed through
    `lift.pii.visible(value, ctx)` unless the caller has one of `roles`."""

    __slots__ = ("roles",)

    def __init__(self, roles: Iterable[str] = ()) -> None:
        self.roles = frozenset(roles)

    def __repr__(self) -> str:
        return f"PII(roles={sorted(self.roles)!r})"


_pii_cache: dict[type, dict[str, PII]] = {}


def pii_fields(model: type) -> dict[str, PII]:
    """`{field name: PII marker}` for the fields of a Struct, dataclass or TypedDict type (cached)."""
    found = _pii_cache.get(model)
    if found is None:
        from typing import Annotated, get_args, get_origin, get_type_hints

        try:
            hints = get_type_hints(model, include_extras=True)
        except Exception:
            hints = {}
        found = {}
        for name, hint in hints.items():
            if get_origin(hint) is Annotated:
                for meta in get_args(hint)[1:]:
                    if meta is PII:
                        found[name] = PII()
                    elif isinstance(meta, PII):
                        found[name] = meta
        if len(_pii_cache) < 1024:
            _pii_cache[model] = found
    return found


def _as_fields(value: Any) -> dict[str, Any] | None:
    """A Struct, dataclass or pydantic model instance as a dict of its fields (None for anything else)."""
    cls = type(value)
    struct_fields = getattr(cls, "__struct_fields__", None)
    if struct_fields is not None:
        return {name: getattr(value, name) for name in struct_fields}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    model_fields = getattr(cls, "model_fields", None)  # a pydantic model
    if model_fields is not None and not isinstance(value, type) and isinstance(model_fields, dict):
        return {name: getattr(value, name) for name in model_fields}
    return None


class Redactor:
    """Masks values of sensitive keys and PII fields, and card numbers found in any string value."""

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
        if depth >= _MAX_DEPTH:  # fail closed: what is too deep to look into is not shown at all
            return value if value is None or value.__class__ in _SCALARS else MASK
        if isinstance(value, dict):
            # (the commonest cases inline: a key seen before, a scalar, a string too short or with no
            # run of digits long enough for a card number; anything else as before)
            out = {}
            known = self._cache
            cards = self._cards
            for k, v in value.items():
                if v is None:
                    out[k] = v
                elif isinstance(k, str) and (hit if (hit := known.get(k)) is not None else self.is_sensitive(k)):
                    out[k] = MASK
                elif v.__class__ in _SCALARS:
                    out[k] = v
                elif v.__class__ is str:
                    out[k] = mask_card_numbers(v) if cards and may_hold_card(v) else v
                elif isinstance(v, str):
                    out[k] = self._redact_text(v)
                else:
                    out[k] = self.redact(v, depth + 1)
            return out
        if isinstance(value, list | tuple | set | frozenset):  # (a set is written as a JSON array)
            return [self.redact(v, depth + 1) for v in value]
        if value.__class__ in _SCALARS:
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return self._redact_bytes(value)
        fields = _as_fields(value)
        if fields is not None:  # a model: its PII fields are masked, the rest redacted as a dict
            for name in pii_fields(type(value)):
                if fields.get(name) is not None:
                    fields[name] = MASK
            return self.redact(fields, depth)
        return value

    def _redact_bytes(self, value: bytes | bytearray | memoryview) -> Any:
        """Bytes as they are (JSON writes them in base64), or, when their text holds a card number,
        that text masked: base64 hides a card number from nobody."""
        if not self._cards or len(value) < 13:
            return value
        text = bytes(value).decode("utf-8", "replace")
        masked = mask_card_numbers(text)
        return value if masked == text else masked

    def redact_text(self, value: str) -> str:
        """`value` with card numbers masked (when card masking is on)."""
        return self._redact_text(value)

    def _redact_text(self, value: str) -> str:
        if self._cards and may_hold_card(value):
            return mask_card_numbers(value)
        return value

    def redact_query(self, text: str) -> str:
        """`text` with the values of sensitive query parameters masked in every URL it holds
        (`?token=abc&page=2` -> `?token=***&page=2`; a presigned URL's X-Amz-Security-Token and
        X-Amz-Signature too)."""
        return _QUERY_PARAM.sub(self._masked_param, text)

    def _masked_param(self, match: re.Match[str]) -> str:
        key = match.group(2)
        name = key
        if "%" in key or "+" in key:  # (urllib only then: not imported by every function that logs)
            from urllib.parse import unquote_plus

            name = unquote_plus(key)
        if self.is_sensitive(name) and match.group(3):
            return f"{match.group(1)}{key}={MASK}"
        return match.group(0)

    def redact_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Redact a flat mapping of log fields (the top level of a log line)."""
        return self.redact(fields)


default_redactor = Redactor()
# A query parameter in a URL: after `?` (or `&`/`;` following one), up to the next separator
_QUERY_PARAM = re.compile(r"""([?&;])([^=&;?#\s"'<>]+)=([^&;#\s"'<>]*)""")


def redact_cards(value: Any, depth: int = 0) -> Any:
    """`value` (str, dict, list, nested) with card numbers masked in every string and key-less
    structure kept as is: for documents whose keys are fixed by a format (trace segments)."""
    if isinstance(value, str):
        return mask_card_numbers(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: redact_cards(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_cards(v, depth + 1) for v in value]
    return value
