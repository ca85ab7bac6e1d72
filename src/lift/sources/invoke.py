"""Direct invocation: the whole event is the payload; the handler's result goes back as is."""

from __future__ import annotations

from typing import Any

from lift import serialization
from lift.context import Response

__all__ = ["encode_result", "ResponseSizeTooLarge", "LAMBDA_RESPONSE_BYTES"]

_SCALARS = (str, int, float, bool, type(None))
# The largest result Lambda delivers (the size its Function.ResponseSizeTooLarge error names)
LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024 + 100


class ResponseSizeTooLarge(RuntimeError):
    """A handler's result is over Lambda's response limit. Raised rather than returned: handed to the
    runtime client, the result is refused (413) and awslambdaric exits, so the next invocation is a cold
    start. Its type name is the error type Lambda reports for such a result."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(
            f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({LAMBDA_RESPONSE_BYTES} bytes)."
        )


ResponseSizeTooLarge.__name__ = ResponseSizeTooLarge.__qualname__ = "Function.ResponseSizeTooLarge"


def encode_result(value: Any) -> Any:
    """A handler's return value as something the Lambda runtime can serialize to JSON."""
    if isinstance(value, _SCALARS):
        if value.__class__ is str and len(value) > LAMBDA_RESPONSE_BYTES // 6:  # (then its JSON may be over)
            size = len(serialization.encode_json(value))
            if size > LAMBDA_RESPONSE_BYTES:
                raise ResponseSizeTooLarge(size)
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
    data = serialization.encode_json(value)
    if len(data) > LAMBDA_RESPONSE_BYTES:
        raise ResponseSizeTooLarge(len(data))
    return serialization.decode_plain(data)
