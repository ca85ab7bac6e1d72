"""JSON encoding and decoding with msgspec, the one place that knows how values become bytes."""

from __future__ import annotations

import sys
from typing import Any

import msgspec

__all__ = ["encode_json", "decode_json", "decode_plain", "invalid_json", "jsonable", "to_builtins", "TOO_DEEP"]


def _enc_hook(obj: Any) -> Any:
    """Values msgspec does not encode natively: pydantic models, objects with `to_dict`."""
    dump = getattr(obj, "model_dump", None)
    if dump is not None and "pydantic" in sys.modules:
        return dump(mode="json")
    if isinstance(obj, set | frozenset):
        return list(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"Cannot encode a {type(obj).__name__} as JSON")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")
_decoder = msgspec.json.Decoder()

encode_json = _encoder.encode


def _text_hook(obj: Any) -> Any:
    try:
        return _enc_hook(obj)
    except TypeError:
        return str(obj)


def jsonable(value: Any) -> Any:
    """`value` with whatever JSON cannot hold replaced by its text (an exception object in an error's
    details), so that an error body always encodes."""
    return msgspec.json.decode(msgspec.json.Encoder(enc_hook=_text_hook, decimal_format="number").encode(value))


# msgspec stops at the interpreter's recursion limit (RecursionError): a document nested that deep
# (a ~2 KB body can nest 1,000 levels) is refused like malformed JSON, never a 500.
TOO_DEEP = "JSON nested too deeply"


def invalid_json(location: str, problem: str) -> Exception:
    """The 400 for JSON that cannot be parsed (syntax, or nesting past the parser's depth limit)."""
    from lift.errors import BadRequest

    return BadRequest(
        "Request body is not valid JSON", code="invalid_json", details=[{"location": location, "message": problem}]
    )


def decode_json(data: bytes | str) -> Any:
    """Parse JSON; invalid JSON (or JSON nested too deeply) is a `BadRequest` (400), never a 500. A
    UTF-8 byte order mark before it is ignored (RFC 8259), and UTF-16 or UTF-32 bytes are a 415."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        bom_free = without_bom(data)
        if bom_free is data:
            if data.__class__ is bytes and (wide := wide_encoding(data)) is not None:
                raise unsupported_charset(wide, declared=False) from None
            raise invalid_json("body", str(exc)) from exc
    except RecursionError:
        raise invalid_json("body", TOO_DEEP) from None
    return decode_json(bom_free)


def unsupported_charset(charset: str, declared: bool = True) -> Exception:
    """The 415 for a JSON body in another encoding than UTF-8: `declared` in its Content-Type, or
    found in the body (UTF-16 or UTF-32 bytes: `ModelCodec.report_for`)."""
    from lift.errors import LiftError

    where = {"location": "header", "path": "$.content-type"} if declared else {"location": "body", "path": "$"}
    return LiftError(
        415,
        "unsupported_charset",
        f"JSON bodies must be UTF-8 (RFC 8259), not {charset}",
        details=[{**where, "message": f"Unsupported charset {charset!r}"}],
    )


def without_bom(data: bytes | str) -> bytes | str:
    """`data` without a leading UTF-8 byte order mark (`data` itself when it has none)."""
    if data[:1] == "\ufeff":
        return data[1:]
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:]
    return data


def wide_encoding(data: bytes) -> str | None:
    """The encoding of JSON bytes in UTF-16 or UTF-32 ("UTF-16", "UTF-32": a byte order mark, or the
    NUL bytes ASCII text has in them, RFC 4627's detection), else None."""
    head = data[:4]
    if len(head) < 2:
        return None
    if head in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16"
    zeros = tuple(byte == 0 for byte in head)
    if zeros in ((True, True, True, False), (False, True, True, True)):
        return "UTF-32"
    if zeros in ((True, False, True, False), (False, True, False, True), (True, False), (False, True)):
        return "UTF-16"
    return None


decode_plain = _decoder.decode  # JSON to plain Python values (no BadRequest: for JSON Lift encoded itself)


def to_builtins(value: Any) -> Any:
    """A value as plain JSON-compatible Python objects."""
    return msgspec.to_builtins(value, enc_hook=_enc_hook)
