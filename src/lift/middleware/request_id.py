"""request_id: one id per request, taken from the caller when given, echoed in the response."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lift.context import Context, Response
from lift.observability.text import well_formed_id

__all__ = ["request_id", "well_formed_id"]


def request_id(
    header: str = "X-Request-Id",
    accept: Sequence[str] = ("X-Request-Id", "X-Correlation-Id"),
) -> Callable[[Context, Callable[[Context], Response]], Response]:
    """Use the caller's `X-Request-Id`/`X-Correlation-Id` (if well-formed) or Lambda's request id.

    The id becomes `ctx.request_id` (so logs and error bodies carry it) and is echoed in `header`.
    A record keeps Lambda's request id (one per invocation: every record of a batch shares it).
    """

    def request_id_middleware(ctx: Context, call_next: Callable[[Context], Response]) -> Response:
        req = ctx.request
        if req is not None:
            for name in accept:
                value = req.headers.get(name)
                if value and well_formed_id(value):
                    ctx.request_id = value
                    break
        response = call_next(ctx)
        if req is not None and isinstance(response, Response):
            response.headers[header] = ctx.request_id
        return response

    return request_id_middleware
