"""Where a credential is read from a request: a header, a cookie or a query parameter.

A location is written "header:Authorization", "cookie:session" or "query:token". The
`Authorization` header carries a scheme ("Bearer <token>"); other headers carry the raw
value. WebSocket events have no `Request`, so their headers and query string are read
from the raw event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["InvalidCredentials", "CredentialLocation", "is_http_or_ws_connect", "parse_locations"]

_KINDS = ("header", "cookie", "query")


class InvalidCredentials(Exception):
    """Credentials were presented but do not verify; `reason` is for the log, never the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CredentialLocation:
    """One place a credential may be found, parsed once at configuration time."""

    kind: str
    name: str
    scheme: str | None = None

    @classmethod
    def parse(cls, spec: str, scheme: str = "Bearer") -> CredentialLocation:
        kind, sep, name = spec.partition(":")
        if not sep or kind not in _KINDS or not name:
            raise ValueError(f"credential location must be header:/cookie:/query:<name>, got {spec!r}")
        uses_scheme = kind == "header" and name.lower() == "authorization"
        return cls(kind, name, scheme if uses_scheme else None)

    def read(self, ctx: Any) -> str | None:
        """The credential at this location in `ctx`'s request (or raw WebSocket event), if any."""
        request = getattr(ctx, "request", None)
        if self.kind == "header":
            value = request.headers.get(self.name) if request is not None else _event_header(ctx, self.name)
            return self._strip_scheme(value)
        if self.kind == "query":
            value = request.query.get(self.name) if request is not None else _event_query(ctx, self.name)
        else:
            cookies = request.cookies if request is not None else _event_cookies(ctx)
            value = cookies.get(self.name)
        return value or None

    def _strip_scheme(self, value: str | None) -> str | None:
        if not value:
            return None
        if self.scheme is None:
            return value.strip() or None
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != self.scheme.lower():
            return None
        return token.strip() or None


def parse_locations(specs: str | list[str] | tuple[str, ...], scheme: str = "Bearer") -> tuple[CredentialLocation, ...]:
    """Parse one or more location specs, in the order they are tried."""
    if isinstance(specs, str):
        specs = (specs,)
    return tuple(CredentialLocation.parse(spec, scheme) for spec in specs)


def is_http_or_ws_connect(ctx: Any) -> bool:
    """An HTTP request or a WebSocket $connect: what carries a caller's credentials (and tenant). Later
    WebSocket messages and $disconnect carry neither; the connection was checked when it opened."""
    if ctx.request is not None:
        return True
    request_context = _event(ctx).get("requestContext") or {}
    return request_context.get("eventType") == "CONNECT" or request_context.get("routeKey") == "$connect"


def _event(ctx: Any) -> dict[str, Any]:
    event = getattr(ctx, "event", None)
    return event if isinstance(event, dict) else {}


def _event_header(ctx: Any, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (_event(ctx).get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    return None


def _event_query(ctx: Any, name: str) -> str | None:
    return (_event(ctx).get("queryStringParameters") or {}).get(name)


def _event_cookies(ctx: Any) -> dict[str, str]:
    raw = _event_header(ctx, "cookie")
    if not raw:
        return {}
    from http.cookies import CookieError, SimpleCookie

    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return {}
    return {key: morsel.value for key, morsel in jar.items()}
