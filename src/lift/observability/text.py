"""The text of any object for logs and traces: never raises, and always encodable as UTF-8 JSON.

A log line or a trace must not be lost because the thing it describes misbehaves: an exception
whose `__str__` raises, an object whose `__repr__` raises, a string holding lone surrogates
(what `os.fsdecode` or `surrogateescape` makes of bytes that are not UTF-8).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["safe_str", "safe_repr", "utf8_text", "well_formed_id"]

_SAFE_ID = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")


def well_formed_id(value: str) -> bool:
    """True for a caller's id (request or correlation id) safe to log, echo and pass on:
    1-128 characters of `A-Za-z0-9._:/=+-`, nothing after them (not even a line break)."""
    return _SAFE_ID.fullmatch(value) is not None


def utf8_text(text: str) -> str:
    """`text` with any lone surrogate written as its escape (`\\udcff`), so it encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def safe_str(value: Any) -> str:
    """`str(value)`, or a description of `value` when its `__str__` raises."""
    try:
        text = value if value.__class__ is str else str(value)
    except Exception as exc:
        return f"<{_type_name(value)} str() failed: {_type_name(exc)}>"
    return utf8_text(text) if isinstance(text, str) else f"<{_type_name(value)}>"


def safe_repr(value: Any) -> str:
    """`repr(value)`, or a description of `value` when its `__repr__` raises."""
    try:
        text = repr(value)
    except Exception as exc:
        return f"<{_type_name(value)} repr() failed: {_type_name(exc)}>"
    return utf8_text(text) if isinstance(text, str) else f"<{_type_name(value)}>"


def _type_name(value: Any) -> str:
    return getattr(type(value), "__qualname__", "object")
