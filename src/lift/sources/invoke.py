"""Direct invocation: the whole event is the payload; the handler's result goes back as is."""

from __future__ import annotations

from typing import Any

from lift import serialization
from lift.context import Response

__all__ = ["encode_result"]

_SCALARS = (str, int, float, bool, type(None))


def encode_result(value: Any) -> Any:
    """A handler's return value as something the Lambda runtime can serialize to JSON."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Response):
        if getattr(value, "chunks", None) is not None:  # a stream: collected, as a buffered HTTP source does
            from lift.sources.http import MAX_RESPONSE_BYTES
            from lift.streaming import collect

            value = collect(value, MAX_RESPONSE_BYTES)  # type: ignore[arg-type]
        if not value.body:
            return None
        ctype = (value.content_type or "").split(";", 1)[0].strip().lower()
        if ctype == "application/json" or ctype.endswith("+json"):  # not application/x-ndjson: lines
            return value.json_body()
        return value.body.decode("utf-8", "replace")
    # As an HTTP response body encodes it (a Decimal, what DynamoDB reads numbers as, is a number, not
    # the text msgspec.to_builtins makes of it; NaN and infinities are null, which JSON can hold), then
    # read back into the plain values Lambda's runtime serializes
    return serialization.decode_plain(serialization.encode_json(value))
