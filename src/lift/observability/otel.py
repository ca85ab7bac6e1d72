"""OpenTelemetry spans per request or record (needs `pip install "lift-lambda[tracing]"`).

The parent comes from the caller's W3C `traceparent` header when there is one, else from
Lambda's `_X_AMZN_TRACE_ID`, so the span joins the trace the function is already part of.
"""

from __future__ import annotations

from typing import Any

from lift.observability.redaction import mask_card_numbers, mask_path_card_numbers
from lift.observability.text import safe_str
from lift.observability.tracing import (
    TraceHeader,
    current_trace_header,
    parse_traceparent,
    parse_xray_header,
    xray_to_w3c_trace_id,
)

__all__ = ["OTelTracer", "require_otel", "FAAS_TRIGGERS"]

FAAS_TRIGGERS = {
    "rest": "http",
    "http": "http",
    "alb": "http",
    "url": "http",
    "websocket": "http",
    "sqs": "pubsub",
    "sns": "pubsub",
    "eventbridge": "pubsub",
    "kinesis": "pubsub",
    "s3": "datasource",
    "dynamodb": "datasource",
    "schedule": "timer",
}


def require_otel() -> Any:
    """Import `opentelemetry.trace`, or fail with the extra to install."""
    try:
        from opentelemetry import trace
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('OpenTelemetry tracing needs the tracing extra: pip install "lift-lambda[tracing]"') from exc
    return trace


class OTelTracer:
    """Creates one span per request/record with route, status, source and tenant attributes."""

    def __init__(self, tracer_provider: Any = None, tracer_name: str = "lift") -> None:
        trace = require_otel()
        self._trace = trace
        self.tracer = trace.get_tracer(tracer_name, tracer_provider=tracer_provider)

    def producer_context(self, ctx: Any) -> Any:
        """The trace of the producer of an SQS message (its `AWSTraceHeader` system attribute,
        which SQS carries from the sender), for the record's span to link to; None without a valid one."""
        raw = getattr(ctx.record, "raw", None)
        attributes = raw.get("attributes") if raw.__class__ is dict else None
        value = attributes.get("AWSTraceHeader") if attributes.__class__ is dict else None
        header = parse_xray_header(value) if value.__class__ is str else None
        return self._span_context(header) if header is not None else None

    def _span_context(self, header: TraceHeader) -> Any:
        """`header` (with a parent) as a remote OpenTelemetry SpanContext; None when it has no parent."""
        if not header.parent:
            return None
        trace_hex = xray_to_w3c_trace_id(header.root)
        try:
            span_id = int(header.parent, 16)
        except ValueError:
            return None
        if trace_hex is None or not span_id:
            return None
        trace = self._trace
        return trace.SpanContext(
            trace_id=int(trace_hex, 16),
            span_id=span_id,
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if header.sampled else trace.TraceFlags.DEFAULT),
        )

    def parent_context(self, ctx: Any) -> Any:
        """The OpenTelemetry context to parent the span on (None: a new root)."""
        header: TraceHeader | None = None
        if ctx.request is not None:
            header = parse_traceparent(ctx.request.headers.get("traceparent"))
        if header is None:
            header = current_trace_header()
        span_ctx = self._span_context(header) if header is not None else None
        if span_ctx is None:
            return None
        trace = self._trace
        return trace.set_span_in_context(trace.NonRecordingSpan(span_ctx))

    def start(self, ctx: Any) -> Any:
        """A context manager: the span for `ctx`, current while the handler runs."""
        trace = self._trace
        request = ctx.request
        attributes: dict[str, Any] = {
            "faas.trigger": FAAS_TRIGGERS.get(ctx.source, "other"),
            "faas.invocation_id": ctx.request_id,
            "faas.coldstart": bool(ctx.cold_start),
            "lift.source": ctx.source,
            "cloud.provider": "aws",
        }
        if request is not None:
            name = f"{request.method} {ctx.route or mask_path_card_numbers(request.path)}"
            kind = trace.SpanKind.SERVER
            attributes["http.request.method"] = request.method
            attributes["url.path"] = mask_path_card_numbers(request.path)  # (also one the client encoded)
            if ctx.route:
                attributes["http.route"] = ctx.route
        else:
            name = f"{ctx.source} process"
            kind = trace.SpanKind.CONSUMER
        producer = self.producer_context(ctx) if ctx.source == "sqs" else None
        return self.tracer.start_as_current_span(
            name,
            context=self.parent_context(ctx),
            kind=kind,
            attributes=attributes,
            links=[trace.Link(producer)] if producer is not None else None,
            record_exception=False,  # recorded by record_exception, with card numbers masked
            set_status_on_exception=False,
        )

    def record_exception(self, span: Any, exc: BaseException) -> None:
        """The exception event OpenTelemetry would record, with card numbers masked in its text."""
        import traceback

        message = mask_card_numbers(safe_str(exc))
        span.add_event(
            "exception",
            {
                "exception.type": type(exc).__qualname__,
                "exception.message": message,
                "exception.stacktrace": mask_card_numbers("".join(traceback.format_exception(exc))),
                "exception.escaped": True,
            },
        )
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, f"{type(exc).__name__}: {message}"))

    def finish(self, span: Any, ctx: Any, status: int | None) -> None:
        """Attributes known only at the end: status, tenant, user, the matched route."""
        if ctx.route:
            span.set_attribute("http.route", ctx.route)
        if ctx.tenant_id is not None:
            span.set_attribute("lift.tenant_id", str(ctx.tenant_id))
        if ctx.user_id is not None:
            span.set_attribute("enduser.id", str(ctx.user_id))
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, f"HTTP {status}"))
