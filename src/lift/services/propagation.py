"""What an outgoing call carries from the request that makes it.

For the current request (`ctx=` given to the call, else the one `bind_current` made current):
`X-Request-Id` (the caller's request id), `X-Correlation-Id` (the caller's caller's correlation
id, else the request id: one id across the whole chain), the trace (`X-Amzn-Trace-Id` and W3C
`traceparent`, see lift.observability.tracing, with the caller's W3C `tracestate` when the call
continues the caller's trace), `X-Tenant-Id` (when tenancy set one) and, when
the client forwards it, the caller's `Authorization`. A header the call sets itself wins.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from lift.observability.tracing import W3C_HEADER, parse_traceparent, parse_tracestate, xray_to_w3c_trace_id
from lift.observability.tracing import outgoing_headers as _trace_headers

__all__ = ["current_context", "bind_current", "headers_for", "PROPAGATED_HEADERS"]

PROPAGATED_HEADERS = (
    "X-Request-Id",
    "X-Correlation-Id",
    "X-Amzn-Trace-Id",
    "traceparent",
    "tracestate",
    "X-Tenant-Id",
)

_current: ContextVar[Any] = ContextVar("lift_service_ctx", default=None)


def current_context() -> Any:
    """The request or record being handled in this thread or task (set by `bind_current`, else
    by the logging middleware)."""
    ctx = _current.get()
    if ctx is None:
        ctx = _logged_context()
    return ctx


def _logged_context() -> Any:
    global _logged_context
    from lift.observability.logging import current_context as logged

    _logged_context = logged  # imported once
    return logged()


def bind_current(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
    """Middleware (added by `app.service`): makes `ctx` current for the calls its handler makes."""
    token = _current.set(ctx)
    try:
        return call_next(ctx)
    finally:
        _current.reset(token)


def _correlation_id(ctx: Any) -> str:
    """The id a callee gets as X-Correlation-Id: the one this request's log lines carry (the caller's
    well-formed X-Correlation-Id / X-Request-Id, else the request id), so a trace across services
    shares it."""
    from lift.observability.logging import correlation_id_for

    return correlation_id_for(ctx)


def _add_tracestate(out: dict[str, str], headers: Any) -> None:
    """The caller's `tracestate`, passed on (W3C Trace Context) when the outgoing `traceparent`
    continues the trace the caller's `traceparent` named; a malformed one is dropped whole."""
    state = headers.get("tracestate")
    if not state:
        return
    incoming = parse_traceparent(headers.get(W3C_HEADER))
    if incoming is not None and xray_to_w3c_trace_id(incoming.root) == out[W3C_HEADER][3:35]:
        state = parse_tracestate(state)
        if state:
            out["tracestate"] = state


def headers_for(ctx: Any, forward_authorization: bool = False) -> dict[str, str]:
    """The propagated headers for a call made on behalf of `ctx` (None: only the trace)."""
    out = _trace_headers()
    if ctx is None:
        return out
    out["X-Request-Id"] = ctx.request_id
    out["X-Correlation-Id"] = _correlation_id(ctx)
    if ctx.request is not None and W3C_HEADER in out:
        _add_tracestate(out, ctx.request.headers)
    tenant = ctx.tenant_id
    if tenant:
        out["X-Tenant-Id"] = str(tenant)
    if forward_authorization and ctx.request is not None:
        auth = ctx.request.headers.get("authorization")
        if auth:
            if not (auth.isascii() and auth.isprintable()):
                # the caller's client sent a credential HTTP cannot carry on (a JSON event can hold
                # any text): its 401, not a UnicodeEncodeError in httpx and a 500
                from lift.errors import Unauthorized

                raise Unauthorized("Invalid credentials")
            out["Authorization"] = auth
    return out
