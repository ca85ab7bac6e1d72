"""CloudWatch metrics as Embedded Metric Format (EMF) JSON lines on stdout.

`ctx.metrics.add("OrdersCreated", 1, unit="Count")` records a value; everything recorded
during one Lambda invocation is printed as EMF at its end (`flush`). Inputs are checked
against the EMF specification when they are added, so a mistake fails loudly at the call
that made it rather than silently in CloudWatch: units, storage resolution (1 or 60), name
lengths, at most 30 dimensions per set. Past the per-object limits (100 metrics, 100 values
per metric) the flush splits into several EMF objects, so no value is lost.
"""

from __future__ import annotations

import _thread
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import msgspec

from lift.observability.redaction import redact_cards
from lift.observability.text import safe_repr

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lift.context import Context

__all__ = [
    "Metrics",
    "MetricsError",
    "UNITS",
    "MAX_METRICS_PER_OBJECT",
    "MAX_DIMENSIONS",
    "MAX_VALUES_PER_METRIC",
    "metrics_for",
    "metric_identity",
    "flush_invocation",
    "dimension_value",
    "pending_invocations",
    "invocation_event",
]

MAX_METRICS_PER_OBJECT = 100
MAX_DIMENSIONS = 30
MAX_VALUES_PER_METRIC = 100
MAX_NAME_LENGTH = 255
MAX_DIMENSION_VALUE_LENGTH = 1024
# The longest EMF line printed: Lambda's log delivery and CloudWatch Logs cut events at 256 KB
# (CloudWatch takes 1 MB since 2025), and a cut document's metrics are lost
MAX_EMF_BYTES = 256 * 1024 - 1

UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
_UNITS_BY_LOWER = {u.lower(): u for u in UNITS}
_RESERVED_KEYS = frozenset({"_aws"})


# (a metadata value changed after it was added into something JSON cannot hold: its text, not a lost flush)
_encoder = msgspec.json.Encoder(enc_hook=safe_repr)


class MetricsError(ValueError):
    """A metric, dimension or namespace that CloudWatch EMF would reject."""


def _check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise MetricsError(f"{kind} name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise MetricsError(f"{kind} name {name[:40]!r}... is {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
    if not name.isascii() or not name.isprintable():
        raise MetricsError(f"{kind} name {name!r} must be printable ASCII")
    if name in _RESERVED_KEYS:
        raise MetricsError(f"{kind} name {name!r} is reserved by EMF")
    return name


def _check_dimension(name: Any, value: Any) -> tuple[str, str]:
    _check_name("Dimension", name)
    if name.startswith(":"):
        raise MetricsError(f"Dimension name {name!r} must not start with ':'")
    text = value if isinstance(value, str) else str(value)
    if not text.strip():
        raise MetricsError(f"Dimension {name!r} needs a non-empty value")
    if len(text) > MAX_DIMENSION_VALUE_LENGTH:
        raise MetricsError(
            f"Dimension {name!r} value is {len(text)} characters; the limit is {MAX_DIMENSION_VALUE_LENGTH}"
        )
    if not text.isascii() or not text.isprintable():
        raise MetricsError(f"Dimension {name!r} value {text[:40]!r} must be ASCII without control characters")
    return name, text


def _check_namespace(namespace: Any) -> str:
    _check_name("Namespace", namespace)
    if namespace.startswith(":") or namespace.startswith("AWS/"):
        raise MetricsError(f"Namespace {namespace!r} is not allowed (':' prefix or reserved 'AWS/')")
    return namespace


def _check_unit(unit: str) -> str:
    canonical = _UNITS_BY_LOWER.get(unit.lower()) if isinstance(unit, str) else None
    if canonical is None:
        raise MetricsError(f"Unknown unit {unit!r}; use one of: {', '.join(sorted(UNITS))}")
    return canonical


def _check_value(name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricsError(f"Metric {name!r} value must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise MetricsError(f"Metric {name!r} value must be finite, got {value!r}")
    if value and not _SMALLEST <= abs(value) <= _LARGEST:
        raise MetricsError(
            f"Metric {name!r} value {safe_repr(value)[:40]} is outside what CloudWatch takes (0, or 2^-360 to 2^360)"
        )
    return value


# CloudWatch rejects values too small or too large: magnitudes from 2^-360 to 2^360 (and 0)
_SMALLEST, _LARGEST = 2.0**-360, 2.0**360
_PLAIN = (str, int, float, bool, type(None))


class _MetricSet:
    """Metrics sharing one dimension set (one or more EMF objects)."""

    __slots__ = ("dimensions", "metrics")

    def __init__(self, dimensions: dict[str, str]) -> None:
        self.dimensions = dimensions
        self.metrics: dict[str, tuple[str, int, list[float | int]]] = {}


class Metrics:
    """Collects metric values for one invocation and prints them as EMF on `flush()`."""

    def __init__(
        self,
        namespace: str | None = None,
        service: str | None = None,
        default_dimensions: dict[str, Any] | None = None,
        stream: Any = None,
    ) -> None:
        namespace = namespace or os.environ.get("LIFT_METRICS_NAMESPACE") or service or "Lift"
        self.namespace = _check_namespace(namespace)
        self.default_dimensions: dict[str, str] = {}
        if service:
            self.default_dimensions["service"] = _check_dimension("service", service)[1]
        for key, value in (default_dimensions or {}).items():
            self.set_default_dimension(key, value)
        self.metadata: dict[str, Any] = {}
        self._sets: dict[tuple[tuple[str, str], ...], _MetricSet] = {}
        self._extra_dimensions: dict[str, str] = {}
        self._stream = stream
        self._lock = _thread.allocate_lock()  # (a flush may come from the timeout watch's thread)

    # -- recording -------------------------------------------------------------------
    def set_default_dimension(self, name: str, value: Any) -> None:
        name, text = _check_dimension(name, value)
        self.default_dimensions[name] = text
        self._check_dimension_count(self.default_dimensions)

    def add_dimension(self, name: str, value: Any) -> None:
        """A dimension for every metric added in this invocation (after the defaults)."""
        name, text = _check_dimension(name, value)
        merged = {**self.default_dimensions, **self._extra_dimensions, name: text}
        self._check_dimension_count(merged)
        self._extra_dimensions[name] = text

    def add_metadata(self, key: str, value: Any) -> None:
        """A field printed with the metrics (searchable in Logs Insights) that is not a dimension."""
        if key in _RESERVED_KEYS:
            raise MetricsError(f"Metadata key {key!r} is reserved by EMF")
        if value.__class__ not in _PLAIN:
            try:
                msgspec.json.encode(value)
            except Exception as exc:  # printed at the flush: refused here, not with every metric of the invocation
                raise MetricsError(f"Metadata {key!r} must be JSON-encodable: {exc}") from None
        self.metadata[key] = value

    def add(
        self,
        name: str,
        value: float | int | list[float | int] = 1,
        unit: str = "None",
        *,
        resolution: int = 60,
        dimensions: dict[str, Any] | None = None,
    ) -> None:
        """Record `value` (or several values) for metric `name`.

        `resolution=1` stores it as a high-resolution metric. `dimensions` puts this metric in
        its own dimension set (on top of the default dimensions).
        """
        _check_name("Metric", name)
        unit = _check_unit(unit)
        if resolution not in (1, 60):
            raise MetricsError(f"Metric {name!r} storage resolution must be 1 or 60, got {resolution!r}")
        values = value if isinstance(value, list | tuple) else [value]
        checked = [_check_value(name, v) for v in values]
        dims = {**self.default_dimensions, **self._extra_dimensions}
        if dimensions:
            for key, val in dimensions.items():
                key, text = _check_dimension(key, val)
                dims[key] = text
        self._check_dimension_count(dims)
        if name in dims:
            raise MetricsError(f"Metric {name!r} has the same name as a dimension")
        key = tuple(sorted(dims.items()))
        with self._lock:
            metric_set = self._sets.get(key)
            if metric_set is None:
                metric_set = self._sets[key] = _MetricSet(dims)
            existing = metric_set.metrics.get(name)
            if existing is None:
                metric_set.metrics[name] = (unit, resolution, checked)
                return
            if existing[0] != unit or existing[1] != resolution:
                raise MetricsError(
                    f"Metric {name!r} was added with unit {existing[0]}/resolution {existing[1]}; "
                    f"it cannot change to {unit}/{resolution} in the same invocation"
                )
            existing[2].extend(checked)

    @staticmethod
    def _check_dimension_count(dims: dict[str, str]) -> None:
        if len(dims) > MAX_DIMENSIONS:
            raise MetricsError(f"{len(dims)} dimensions; an EMF dimension set holds at most {MAX_DIMENSIONS}")

    @property
    def has_metrics(self) -> bool:
        return any(s.metrics for s in self._sets.values())

    # -- output ------------------------------------------------------------------------
    def to_emf(self, timestamp_ms: int | None = None) -> list[dict[str, Any]]:
        """The EMF objects for everything recorded (split to stay within the spec's limits)."""
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        docs: list[dict[str, Any]] = []
        for metric_set in self._sets.values():
            for chunk in _chunks(metric_set.metrics):
                doc: dict[str, Any] = {**self.metadata, **metric_set.dimensions}
                definitions = []
                for name, (unit, resolution, values) in chunk.items():
                    definition: dict[str, Any] = {"Name": name, "Unit": unit}
                    if resolution == 1:
                        definition["StorageResolution"] = 1
                    definitions.append(definition)
                    doc[name] = values[0] if len(values) == 1 else values
                doc["_aws"] = {
                    "Timestamp": ts,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [list(metric_set.dimensions)],
                            "Metrics": definitions,
                        }
                    ],
                }
                docs.append(doc)
        return docs

    def flush(self) -> list[dict[str, Any]]:
        """Print the EMF lines and start over. Returns what was printed."""
        with self._lock:
            return self._flush()

    def _flush(self) -> list[dict[str, Any]]:
        docs = self.to_emf()
        if docs:
            stream = self._stream or sys.stdout
            docs = redact_cards(docs)  # dimension values and metadata are free text: no card number in them
            level = _settings["lambda_level"]
            if level is None:
                level = _settings["lambda_level"] = _lambda_application_level()
            if level:
                for doc in docs:
                    doc.setdefault("level", level)
            parts = [part for doc in docs for part in _fitting(doc)]
            docs = [doc for doc, _ in parts]
            stream.write("".join(line.decode("utf-8") + "\n" for _, line in parts))
            stream.flush()
        self._sets.clear()
        self._extra_dimensions.clear()
        self.metadata.clear()
        return docs

    def __repr__(self) -> str:
        count = sum(len(s.metrics) for s in self._sets.values())
        return f"<Metrics {self.namespace} {count} metrics>"


def _fitting(doc: dict[str, Any]) -> list[tuple[dict[str, Any], bytes]]:
    """`doc` and its line, split in documents whose lines CloudWatch Logs takes whole (at most
    `MAX_EMF_BYTES`: a longer line is cut, and its metrics lost): its metrics in halves, each with
    the dimensions and metadata; a single metric too long with its metadata goes without it."""
    line = _encoder.encode(doc)
    if len(line) <= MAX_EMF_BYTES:
        return [(doc, line)]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    definitions = directive["Metrics"]
    names = {d["Name"] for d in definitions}
    if len(definitions) > 1:
        half = len(definitions) // 2
        return [part for kept in (definitions[:half], definitions[half:]) for part in _fitting(_with(doc, names, kept))]
    dimensions = {name for dimension_set in directive["Dimensions"] for name in dimension_set}
    bare = {k: v for k, v in doc.items() if k in names or k in dimensions or k == "_aws" or k == "level"}
    return [(bare, _encoder.encode(bare))] if len(bare) < len(doc) else [(doc, line)]


def _with(doc: dict[str, Any], names: set[str], kept: list[dict[str, Any]]) -> dict[str, Any]:
    """`doc` with only the metrics `kept` (of all its `names`)."""
    keep = {d["Name"] for d in kept}
    out = {k: v for k, v in doc.items() if k not in names or k in keep}
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    out["_aws"] = {**doc["_aws"], "CloudWatchMetrics": [{**directive, "Metrics": kept}]}
    return out


def _chunks(metrics: dict[str, tuple[str, int, list[float | int]]]) -> list[dict[str, Any]]:
    """Split into objects of at most 100 metrics, each with at most 100 values per metric."""
    rounds: list[dict[str, Any]] = []
    for name, (unit, resolution, values) in metrics.items():
        for i in range(0, len(values), MAX_VALUES_PER_METRIC):
            part = (unit, resolution, values[i : i + MAX_VALUES_PER_METRIC])
            index = i // MAX_VALUES_PER_METRIC
            # Put the n-th slice of each metric in the n-th round, then cut rounds at 100 metrics.
            while len(rounds) <= index:
                rounds.append({})
            rounds[index][name] = part
    chunks: list[dict[str, Any]] = []
    for round_ in rounds:
        items = list(round_.items())
        for i in range(0, len(items), MAX_METRICS_PER_OBJECT):
            chunks.append(dict(items[i : i + MAX_METRICS_PER_OBJECT]))
    return chunks


# -- one collector per invocation ----------------------------------------------------------
# Keyed by the invocation's event object: every record of a batch shares it, and concurrent
# requests (ASGI) each have their own.
_open: dict[int, Metrics] = {}
_settings: dict[str, Any] = {"namespace": None, "default_dimensions": None, "lambda_level": None}


def _lambda_application_level() -> str:
    """The `level` EMF lines need under Lambda's advanced logging controls ("" when none): with the
    JSON log format Lambda drops stdout lines below the function's application log level, and takes
    a line without a `level` for INFO, so at WARN, ERROR or FATAL every metric would be lost."""
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() != "JSON":
        return ""
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    return level if level in ("WARN", "ERROR", "FATAL") else ""


def configure(namespace: str | None = None, default_dimensions: dict[str, Any] | None = None) -> None:
    """Process-wide defaults for `ctx.metrics` (namespace, default dimensions), checked here: a
    `MetricsError` now, at init, rather than in every invocation that records a metric."""
    if namespace is not None:
        _check_namespace(namespace)
    elif environ_namespace := os.environ.get("LIFT_METRICS_NAMESPACE"):
        _check_namespace(environ_namespace)
    dimensions = dict(default_dimensions) if default_dimensions else None
    if dimensions:
        Metrics._check_dimension_count({name: _check_dimension(name, value)[1] for name, value in dimensions.items()})
    _settings["namespace"] = namespace
    _settings["default_dimensions"] = dimensions
    _settings["lambda_level"] = None  # (read again from the environment at the next flush)


def _derived_name(name: str) -> str:
    """An app's name as a namespace and `service` dimension value CloudWatch takes: characters
    other than printable ASCII written `_`, at most 255 (`café` -> `caf_`)."""
    if name.isascii() and name.isprintable() and len(name) <= MAX_NAME_LENGTH and not name.startswith((":", "AWS/")):
        return name
    clean = _printable_ascii(name, MAX_NAME_LENGTH)
    return "_" + clean[1:] if clean.startswith((":", "AWS/")) else clean or "lift"


def dimension_value(value: str) -> str:
    """`value` as a dimension value CloudWatch takes, for the dimensions Lift fills from what it
    did not choose (a route template, a client's method): characters other than printable ASCII
    written `_`, at most 1024 (`/café/{id}` -> `/caf_/{id}`)."""
    return _printable_ascii(value, MAX_DIMENSION_VALUE_LENGTH) or "_"


def _printable_ascii(text: str, limit: int) -> str:
    return "".join(c if " " <= c <= "~" else "_" for c in text[:limit]).strip()


def metric_identity(app: Any, environ: Mapping[str, Any] | None = None) -> tuple[str, str | None, str | None]:
    """The namespace, `service` and `stage` dimension values `ctx.metrics` and `RequestMetrics` write
    `app`'s metrics under, in a function whose environment is `environ` (the process's by default):
    what SLO alarms, dashboards and `lift slo` must read. The stage is `LIFT_STAGE` (which `lift
    deploy` sets), so two stages of one app in one account and region never share a metric."""
    environ = os.environ if environ is None else environ
    stage = environ.get("LIFT_STAGE") or None
    if stage:
        stage = _derived_name(stage)
    service = getattr(app, "name", None) or environ.get("LIFT_SERVICE_NAME")
    if service:  # (an app named "café" must not fail every invocation's metrics)
        service = _derived_name(service)
    namespace = (
        _settings["namespace"]
        or getattr(app, "metrics_namespace", None)
        or environ.get("LIFT_METRICS_NAMESPACE")
        or service
        or "Lift"
    )
    return namespace, service, stage


def metrics_for(ctx: Context) -> Metrics:
    """The collector behind `ctx.metrics`, shared by every record of the invocation."""
    key = id(invocation_event(ctx))
    metrics = _open.get(key)
    if metrics is None:
        app = getattr(ctx, "app", None)
        namespace, service, stage = metric_identity(app)
        dimensions = _settings["default_dimensions"]
        if stage:
            dimensions = {"stage": stage, **(dimensions or {})}
        metrics = Metrics(namespace, service, dimensions)
        metrics.add_metadata("request_id", ctx.request_id)
        _open[key] = metrics
        hook = getattr(app, "on_invocation_end", None)
        if hook is not None:
            hook(flush_invocation)  # the app flushes once the invocation ends
        if _under_lambda_runtime is None or _under_lambda_runtime:
            _watch_timeout(key, metrics, ctx)
    return metrics


# -- the timeout watch (under a Lambda runtime) --------------------------------------------
# Lambda kills a function that runs into its timeout: what it had not printed is lost. So while an
# invocation's metrics wait for their flush, a thread (started with the first metrics) wakes shortly
# before its deadline and, if they are still waiting, logs one WARNING line with the request id and
# flushes what was recorded so far (values added later are flushed at the invocation's end, if it
# ends). One invocation runs at a time in a runtime process: the watch holds the latest.
_under_lambda_runtime: bool | None = None
_watched: list[Any] = [None]  # (wake-up time, key, metrics, request id) of the latest invocation
_watch_idle = [True]  # the thread waits for an invocation to watch (it is woken for the next one)
_watch_wake: Any = None  # a threading.Event, once the thread runs
_watch_margin: list[float | None] = [None]  # seconds before the deadline (LIFT_TIMEOUT_FLUSH_MS)


def _watch_timeout(key: int, metrics: Metrics, ctx: Context) -> None:
    global _under_lambda_runtime, _watch_wake
    if _under_lambda_runtime is None:
        _under_lambda_runtime = bool(os.environ.get("AWS_LAMBDA_RUNTIME_API"))
        if not _under_lambda_runtime:
            return
        _watch_margin[0] = _margin_setting()
    get = getattr(ctx.lambda_context, "get_remaining_time_in_millis", None)
    if get is None:
        return
    left = get() / 1000
    margin = _watch_margin[0]
    if margin is None:  # LIFT_TIMEOUT_FLUSH_MS, or a tenth of the time left, between 0.1 and 0.5 s
        margin = min(0.5, max(0.1, left / 10))
    _watched[0] = (time.monotonic() + left - margin, key, metrics, ctx.request_id)
    if _watch_wake is None:
        import threading

        _watch_wake = threading.Event()
        _watch_idle[0] = False
        threading.Thread(target=_watch_loop, name="lift-timeout-watch", daemon=True).start()
    elif _watch_idle[0]:
        _watch_idle[0] = False
        _watch_wake.set()


def _margin_setting() -> float | None:
    text = os.environ.get("LIFT_TIMEOUT_FLUSH_MS", "").strip()
    try:
        value = float(text) / 1000 if text else None
    except ValueError:
        value = None
    if value is None or not (0 < value < 900):
        if text:
            from lift.errors import lift_logger

            lift_logger().warning("LIFT_TIMEOUT_FLUSH_MS=%r is not a number of milliseconds: ignored", text)
        return None
    return value


def _watch_loop() -> None:
    handled = None
    while True:
        entry = _watched[0]
        if entry is None or entry is handled:
            _watch_idle[0] = True
            if _watched[0] is entry:  # (nothing new came while it said so)
                _watch_wake.wait()
            _watch_wake.clear()
            _watch_idle[0] = False
            continue
        wake_at, key, metrics, request_id = entry
        delay = wake_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if _watched[0] is not entry:  # a later invocation: watch that one
            continue
        handled = entry
        if _open.get(key) is not metrics:  # flushed at its end, in time
            continue
        try:
            from lift.errors import lift_logger

            lift_logger().warning(
                "Invocation about to time out (request_id=%s): its metrics so far are flushed now",
                request_id,
                extra={"request_id": request_id},
            )
            metrics.flush()
            metrics.add_metadata("request_id", request_id)
        except Exception:  # (nothing here may end the watch)
            pass


def invocation_event(ctx: Context) -> Any:
    """The object that identifies `ctx`'s invocation: the Lambda event (shared by a batch's
    records), or the ASGI scope when there is no event."""
    event = ctx.event
    if event is None and ctx.request is not None:
        event = ctx.request.event
    return ctx if event is None else event


def pending_invocations() -> int:
    """How many invocations have metrics waiting for their flush."""
    return len(_open)


def flush_invocation(event: Any) -> list[dict[str, Any]]:
    """Print the metrics of the invocation that received `event`. Called once it ends."""
    metrics = _open.pop(id(event), None)
    return metrics.flush() if metrics is not None else []
