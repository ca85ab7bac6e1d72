"""cors: CORS preflight answers and response headers, with a correct `Vary`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from lift.context import Context, Response
from lift.middleware.recover import response_or_error

__all__ = ["cors"]

_SIMPLE_HEADERS = ("Content-Type", "Authorization", "X-Request-Id", "Idempotency-Key")


def cors(
    allow_origins: Iterable[str] | str = "*",
    *,
    allow_origin_regex: str | None = None,
    allow_methods: Iterable[str] = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    allow_headers: Iterable[str] = _SIMPLE_HEADERS,
    expose_headers: Iterable[str] = (),
    allow_credentials: bool = False,
    max_age: int = 600,
) -> Callable[[Context, Callable[[Context], Response]], Response]:
    """Allow cross-origin calls from `allow_origins` (a list, `"*"`) or `allow_origin_regex`.

    Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here, also on
    paths with no route. With credentials the origin is echoed, never `*`, and `"*"` is refused:
    it would let every site make calls with the user's cookies; `allow_methods="*"` and
    `allow_headers="*"` echo what the preflight asks for (a credentialed request reads `*` there
    as a name, per the Fetch standard). An error raised further in (a
    401 from auth, a 413 from limits) is answered here with the CORS headers, so a browser can
    read it.
    """
    origins = {allow_origins} if isinstance(allow_origins, str) else set(allow_origins)
    for origin in origins:
        _check_origin(origin)
    if allow_credentials and "*" in origins:
        raise ValueError(
            'cors("*", allow_credentials=True) would let any site call with the user\'s credentials: '
            "list the origins (or use allow_origin_regex)"
        )
    any_origin = "*" in origins and not allow_credentials
    pattern = re.compile(allow_origin_regex) if allow_origin_regex else None
    methods = ", ".join(m.upper() for m in allow_methods)
    # with credentials, browsers read `*` as a method named "*" (Fetch): the asked-for method is echoed
    echo_method = allow_credentials and methods == "*"
    headers_allowed = ", ".join(allow_headers)
    exposed = ", ".join(expose_headers)
    echo_origin = not any_origin or pattern is not None or len(origins) > 1

    def allowed(origin: str) -> bool:
        return "*" in origins or origin in origins or bool(pattern and pattern.fullmatch(origin))

    def add_vary(response: Response) -> None:
        current = response.header("Vary")
        if current is None:
            response.headers["Vary"] = "Origin"
        elif not {v.strip().lower() for v in current.split(",")} & {"origin", "*"}:
            response.headers["Vary"] = f"{current}, Origin"

    def cors_middleware(ctx: Context, call_next: Callable[[Context], Response]) -> Response:
        req = ctx.request
        if req is None:
            return call_next(ctx)
        origin = req.headers.get("origin")
        if req.method == "OPTIONS" and origin and "access-control-request-method" in req.headers:
            response = Response(None, 204)
            if allowed(origin):
                response.headers["Access-Control-Allow-Origin"] = origin if echo_origin else "*"
                response.headers["Access-Control-Allow-Methods"] = (
                    req.headers.get("access-control-request-method", methods) if echo_method else methods
                )
                requested = req.headers.get("access-control-request-headers")
                response.headers["Access-Control-Allow-Headers"] = (
                    requested if requested and headers_allowed == "*" else headers_allowed
                )
                response.headers["Access-Control-Max-Age"] = str(max_age)
                if allow_credentials:
                    response.headers["Access-Control-Allow-Credentials"] = "true"
            if echo_origin:
                add_vary(response)
            return response
        response = response_or_error(ctx, call_next)  # an inner 401/403/413/429 gets the headers too
        if origin and allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin if echo_origin else "*"
            if allow_credentials:
                response.headers["Access-Control-Allow-Credentials"] = "true"
            if exposed:
                response.headers["Access-Control-Expose-Headers"] = exposed
        if echo_origin:
            add_vary(response)
        return response

    return cors_middleware


def _check_origin(origin: str) -> None:
    """An allowed origin is compared exactly with what browsers send: `scheme://host[:port]`, in
    lower case, no path (so no trailing `/`). One written otherwise would never match: refused here."""
    if origin in ("*", "null"):
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(origin)
        valid = bool(parts.scheme and parts.hostname) and "@" not in parts.netloc and (parts.port or 0) >= 0
    except ValueError:  # (a port that is not a number)
        valid = False
    if not valid or origin != f"{parts.scheme}://{parts.netloc}" or origin != origin.lower():
        raise ValueError(
            f"CORS origin {origin!r} would never match: write it as browsers send it, "
            "scheme://host[:port] in lower case without a path or trailing slash"
        )
