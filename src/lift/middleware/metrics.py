"""Metrics middleware: ColdStart, optional per-route metrics, and the flush of `ctx.metrics`.

    from lift.middleware.metrics import RequestMetrics
    app.use(RequestMetrics(namespace="Shop", route_metrics=True))

The first invocation of an execution environment adds `ColdStart` (and `InitDuration`) with
the `service` and `function_name` dimensions. With `route_metrics=True` every request adds
`Requests`, `Latency`, `ClientErrors` and `ServerErrors` under `service`/`route`/`method`
(zeros included, so averages give error rates); every record adds `Records`,
`RecordFailures` and `Latency` under `service`/`source`. Everything is printed once, when the
app finishes the invocation (so metrics added by outer middleware are not lost).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from lift.observability import metrics as lift_metrics
from lift.observability.coldstart import claim_cold_start, init_duration_ms

__all__ = ["RequestMetrics", "request_metrics"]


class RequestMetrics:
    """Middleware that records ColdStart and, optionally, per-route/per-record metrics."""

    def __init__(
        self,
        *,
        namespace: str | None = None,
        default_dimensions: dict[str, Any] | None = None,
        route_metrics: bool = False,
        cold_start: bool = True,
    ) -> None:
        if namespace or default_dimensions or os.environ.get("LIFT_METRICS_NAMESPACE"):
            lift_metrics.configure(namespace, default_dimensions)  # (a MetricsError here, at init)
        self.route_metrics = route_metrics
        self.cold_start = cold_start

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if self.cold_start and ctx.cold_start and claim_cold_start():
            self._add_cold_start(ctx, ctx.metrics)
        start = time.perf_counter()
        try:
            response = call_next(ctx)
        except Exception as exc:
            if ctx.request is None:
                if self.route_metrics:
                    self._add_record(ctx, ctx.metrics, start, failed=True)
                raise
            # An inner middleware raised (a 401 from auth, say): answered here as the core would,
            # so the request is counted by the status the client gets (4xx ClientErrors, 5xx ServerErrors).
            response = ctx.app.error_response(ctx, exc)
        if self.route_metrics:
            if ctx.request is not None:
                self._add_request(ctx, ctx.metrics, start, getattr(response, "status", 200))
            else:
                self._add_record(ctx, ctx.metrics, start, failed=False)
        return response

    @staticmethod
    def _add_cold_start(ctx: Any, metrics: lift_metrics.Metrics) -> None:
        function_name = (
            getattr(ctx.lambda_context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "local"
        )
        dims = {"function_name": function_name}
        metrics.add("ColdStart", 1, "Count", dimensions=dims)
        init_ms = init_duration_ms()
        if init_ms is not None:
            metrics.add("InitDuration", init_ms, "Milliseconds", dimensions=dims)

    @staticmethod
    def _add_request(ctx: Any, metrics: lift_metrics.Metrics, start: float, status: int) -> None:
        dims = {"route": ctx.route or "unmatched", "method": ctx.request.method}
        try:
            metrics.add("Requests", 1, "Count", dimensions=dims)
        except lift_metrics.MetricsError:  # a route `/café` or a client's method CloudWatch would refuse
            dims = {name: lift_metrics.dimension_value(str(value)) for name, value in dims.items()}
            metrics.add("Requests", 1, "Count", dimensions=dims)
        metrics.add("Latency", round((time.perf_counter() - start) * 1000, 3), "Milliseconds", dimensions=dims)
        metrics.add("ClientErrors", 1 if 400 <= status < 500 else 0, "Count", dimensions=dims)
        metrics.add("ServerErrors", 1 if status >= 500 else 0, "Count", dimensions=dims)

    @staticmethod
    def _add_record(ctx: Any, metrics: lift_metrics.Metrics, start: float, failed: bool) -> None:
        dims = {"source": ctx.source}
        metrics.add("Records", 1, "Count", dimensions=dims)
        metrics.add("RecordFailures", 1 if failed else 0, "Count", dimensions=dims)
        metrics.add("Latency", round((time.perf_counter() - start) * 1000, 3), "Milliseconds", dimensions=dims)


def request_metrics(**options: Any) -> RequestMetrics:
    """The `RequestMetrics` middleware (the lower-case factory style of `lift.middleware`)."""
    return RequestMetrics(**options)
