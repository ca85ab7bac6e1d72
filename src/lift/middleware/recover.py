"""recover: turn any exception from the inner chain into the error contract.

The core already converts handler errors; `recover` also catches errors raised by inner
middleware, so outer middleware (request ids, CORS, logging) always see a Response.
For event-source records the exception is re-raised: the batch must report the failure.
"""

from __future__ import annotations

from collections.abc import Callable

from lift.context import Context, Response

__all__ = ["recover", "response_or_error"]


def response_or_error(ctx: Context, call_next: Callable[[Context], Response]) -> Response:
    """`call_next(ctx)`, or the error contract's response for what it raised (records re-raise)."""
    try:
        return call_next(ctx)
    except Exception as exc:
        if ctx.request is None:
            raise
        return ctx.app.error_response(ctx, exc)


def recover() -> Callable[[Context, Callable[[Context], Response]], Response]:
    def recover_middleware(ctx: Context, call_next: Callable[[Context], Response]) -> Response:
        return response_or_error(ctx, call_next)

    return recover_middleware
