"""security_headers: the standard protective response headers for APIs."""

from __future__ import annotations

from collections.abc import Callable

from lift.context import Context, Response
from lift.middleware.recover import response_or_error

__all__ = ["security_headers", "DEFAULT_SECURITY_HEADERS"]

DEFAULT_SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(
    overrides: dict[str, str | None] | None = None,
) -> Callable[[Context, Callable[[Context], Response]], Response]:
    """Add the default headers (an override of None drops one); a handler's own value wins.

    Errors raised further in (a 401 from auth, a 413 from limits) are answered here, with the
    headers, like any other response.
    """
    headers = {**DEFAULT_SECURITY_HEADERS, **(overrides or {})}
    pairs = [(k, v) for k, v in headers.items() if v is not None]

    def security_headers_middleware(ctx: Context, call_next: Callable[[Context], Response]) -> Response:
        if ctx.request is None:
            return call_next(ctx)
        response = response_or_error(ctx, call_next)  # an inner 401/403/413/429 gets the headers too
        present = {k.lower() for k in response.headers}
        for name, value in pairs:
            if name.lower() not in present:
                response.headers[name] = value
        return response

    return security_headers_middleware
