"""Tracing middleware: a span (OpenTelemetry) or subsegment (X-Ray) per request or record.

    from lift.middleware.tracing import Tracing
    app.use(Tracing())               # OpenTelemetry: pip install "lift-lambda[tracing]"
    app.use(Tracing(mode="xray"))    # X-Ray subsegments of the function's segment, stdlib only

In every mode, an incoming `X-Amzn-Trace-Id` / `traceparent` header (ASGI, local server) or
Lambda's `_X_AMZN_TRACE_ID` becomes the current trace, so logs carry its id and outgoing
calls made through `lift.observability.tracing.inject_trace_headers` continue it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from lift.observability import tracing
from lift.observability.redaction import mask_path_card_numbers

__all__ = ["Tracing", "tracing_middleware"]


class Tracing:
    """Middleware. `mode`: "otel" (default), "xray", or "headers" (propagation only)."""

    def __init__(
        self,
        mode: str = "otel",
        *,
        tracer_provider: Any = None,
        daemon_address: str | None = None,
        segment_name: str | None = None,
    ) -> None:
        if mode not in ("otel", "xray", "headers"):
            raise ValueError(f'Tracing mode must be "otel", "xray" or "headers", not {mode!r}')
        self.mode = mode
        self.segment_name = segment_name
        self._otel: Any = None
        self._xray: Any = None
        if mode == "otel":
            from lift.observability.otel import OTelTracer

            self._otel = OTelTracer(tracer_provider)
        elif mode == "xray":
            from lift.observability.xray import XRayEmitter

            self._xray = XRayEmitter(daemon_address)

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        incoming = _incoming_header(ctx)
        token = tracing.set_current(incoming) if incoming is not None else None
        try:
            if self._otel is not None:
                return self._call_otel(ctx, call_next)
            if self._xray is not None:
                return self._call_xray(ctx, call_next)
            return call_next(ctx)
        finally:
            if token is not None:
                tracing.reset_current(token)

    def _call_otel(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        with self._otel.start(ctx) as span:
            span_ctx = span.get_span_context()
            header = tracing.TraceHeader(
                tracing.w3c_to_xray_trace_id(format(span_ctx.trace_id, "032x")),
                format(span_ctx.span_id, "016x"),
                bool(span_ctx.trace_flags & 1),
            )
            token = tracing.set_current(header)
            try:
                response = call_next(ctx)
            except BaseException as exc:
                self._otel.record_exception(span, exc)
                self._otel.finish(span, ctx, None)
                raise
            finally:
                tracing.reset_current(token)
            self._otel.finish(span, ctx, getattr(response, "status", None) if ctx.request is not None else None)
            return response

    def _call_xray(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        request = ctx.request
        name = self.segment_name or (
            f"{request.method} {ctx.route or mask_path_card_numbers(request.path)}"
            if request is not None
            else f"{ctx.source} record"
        )
        sub = self._xray.begin(name)
        if sub is None:
            return call_next(ctx)
        header = tracing.current_trace_header()
        token = tracing.set_current(tracing.TraceHeader(header.root, sub.id, True)) if header else None
        try:
            response = call_next(ctx)
        except BaseException as exc:
            sub.record_exception(exc)
            _annotate(sub, ctx)
            sub.close()
            raise
        finally:
            if token is not None:
                tracing.reset_current(token)
        _annotate(sub, ctx)
        if request is not None:
            sub.set_http(request.method, mask_path_card_numbers(request.path), getattr(response, "status", None))
        sub.close()
        return response


def _annotate(sub: Any, ctx: Any) -> None:
    sub.annotate("source", ctx.source)
    sub.annotate("cold_start", bool(ctx.cold_start))
    if ctx.route:
        sub.annotate("route", ctx.route)
    if ctx.tenant_id is not None:
        sub.annotate("tenant_id", str(ctx.tenant_id))
    sub.annotate("request_id", ctx.request_id)


def _incoming_header(ctx: Any) -> tracing.TraceHeader | None:
    """A trace carried by the HTTP request itself (outside Lambda, where no env var is set)."""
    request = ctx.request
    if request is None or tracing.XRAY_ENV in os.environ:
        return None
    headers = request.headers
    return tracing.parse_traceparent(headers.get("traceparent")) or tracing.parse_xray_header(
        headers.get("x-amzn-trace-id")
    )


def tracing_middleware(**options: Any) -> Tracing:
    """The `Tracing` middleware (the lower-case factory style of `lift.middleware`)."""
    return Tracing(**options)
