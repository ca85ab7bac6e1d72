"""The base of every event-source record, and the small helpers record modules share.

A record wraps one raw AWS record dict and decodes fields only when they are read. Two
hooks feed typed handler bodies: `json_text()` (the payload as JSON text, when it is text)
and `payload()` (the payload as parsed Python values, when it is already structured).
"""

from __future__ import annotations

import binascii
import os
import re
from collections.abc import Callable
from typing import Any, ClassVar

import msgspec

from lift import serialization

__all__ = [
    "Record",
    "arn_of",
    "base64_field",
    "decode_json_or_text",
    "name_from_arn",
    "malformed_record",
    "pattern_matcher",
]


class Record(msgspec.Struct, eq=False):
    """One record of an event: `raw` is the dict AWS sent for it.

    A msgspec Struct (compared by identity): built by C code, it is cheap enough to make one per
    record of every batch. Subclasses add their lazily filled caches as fields with defaults.
    """

    raw: dict[str, Any]

    kind: ClassVar[str] = ""  # the source name: "sqs", "s3", ...

    @property
    def record_id(self) -> str | None:
        """The id used in logs and in `batchItemFailures`."""
        return None

    def json_text(self) -> str | bytes | None:
        """The payload as JSON text (decoded straight into a typed body), or None."""
        return None

    def payload(self) -> Any:
        """The payload as Python values (what an untyped `body` parameter receives)."""
        text = self.json_text()
        return None if text is None else decode_json_or_text(text)

    def model_input(self) -> Any:
        """The builtins a typed body is validated from when there is no JSON text."""
        return self.payload()

    def to_dict(self) -> dict[str, Any]:
        return self.raw

    def rejection(self, exc: BaseException) -> BaseException:
        """What a failure of this record is reported as: when the record is not an object, or holds text
        UTF-8 cannot carry (a lone surrogate) and its run raised UnicodeEncodeError (neither ever sent by
        AWS), its malformed-record rejection (a WARNING naming where), not a crash; else `exc`."""
        if self.raw.__class__ is not dict:
            from lift.errors import BadRequest

            problem = f"expected an object, got {type(self.raw).__name__}"
            return BadRequest(
                f"The record is not an object: {problem}",
                code="malformed_record",
                details=[{"location": "record", "message": problem}],
            )
        if exc.__class__ is UnicodeEncodeError:
            from lift.sources.event_shape import lone_surrogate

            where = lone_surrogate(self.raw)
            if where is not None:
                return not_utf8(where)
        return exc

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.record_id}>"


def decode_json_or_text(text: str | bytes) -> Any:
    """JSON text parsed, or the text itself when it is not JSON (plain string messages).

    JSON nested past the parser's depth limit is a `BadRequest`: that record fails alone.
    """
    try:
        return _decode(text)
    except RecursionError:
        raise serialization.invalid_json("body", serialization.TOO_DEEP) from None
    except Exception:
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


_decode = msgspec.json.Decoder().decode


def malformed_record(field: str, expected: str, value: Any, problem: str | None = None) -> Exception:
    """The 400 for a record field that is not what AWS sends (`field` of a hand-made or corrupted
    event): raised while that record runs, so it fails alone."""
    from lift.errors import BadRequest

    problem = problem or f"expected {expected}, got {type(value).__name__}"
    return BadRequest(
        f"The record's {field} is not {expected}: {problem}",
        code="malformed_record",
        details=[{"location": field, "message": problem}],
    )


def not_utf8(field: str = "body") -> Exception:
    """The rejection of a record `field` holding text UTF-8 cannot carry (a lone surrogate, which the
    event's JSON can escape as "\\udcff"): no AWS service sends one; it fails alone, logged at WARNING."""
    return malformed_record(field, "UTF-8 text", None, "it holds a lone surrogate, which UTF-8 cannot carry")


def base64_field(value: Any, field: str) -> bytes:
    """A record's base64 `field` decoded strictly (alphabet, padding, nothing after it): anything else
    is a malformed record, failed alone, never altered bytes handed on as if they were the payload."""
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (ValueError, TypeError):  # binascii.Error is a ValueError; a value that is no text: TypeError
        raise malformed_record(field, "base64", value) from None


def arn_of(raw: Any) -> str:
    """A record's `eventSourceARN`; "" when it has none, or not as text (a record Lambda never sends)."""
    arn = raw.get("eventSourceARN") if raw.__class__ is dict else None
    return arn if arn.__class__ is str else ""


def name_from_arn(arn: str | None) -> str:
    """The resource name in an ARN: `...:queue-name`, `...:table/Name/stream/...`, `...:stream/Name`."""
    if not arn:
        return ""
    parts = arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else arn
    if "/" in resource:
        parts = resource.split("/")
        return parts[1] if len(parts) > 1 else parts[0]
    return resource


_GLOB_CHARS = frozenset("*?[")


def pattern_matcher(pattern: str | None, kind: str | None = None) -> Callable[[str], bool]:
    """A precompiled test for `pattern`: exact text, or an fnmatch glob (`orders-*`); None matches all.
    With `kind` (a `lift.stage_names` kind), an exact name also matches the stage's physical name of it."""
    if pattern is None or pattern == "*":
        return _always
    if pattern.__class__ is not str:  # (`@app.sqs` or `@app.firehose` above a function, without parentheses)
        from lift.errors import needs_arguments

        raise needs_arguments(
            pattern,
            "An event-source decorator takes its name or glob",
            '@app.sqs("orders") above it (@app.firehose() for every stream)',
        )
    if not _GLOB_CHARS.intersection(pattern):
        if kind is not None and os.environ.get("LIFT_RESOURCE_SUFFIX"):
            from lift.stage_names import physical_name

            physical = physical_name(pattern, kind)
            if physical != pattern:
                return frozenset((pattern, physical)).__contains__
        return pattern.__eq__
    import fnmatch  # only for glob patterns: an app of exact names never loads it

    match = re.compile(fnmatch.translate(pattern)).match
    return lambda value: match(value) is not None


def _always(value: str) -> bool:
    return True
