"""An EMF document checker written from the CloudWatch Embedded Metric Format specification.

Independent of lift's own validation: tests run what lift printed through this.
Spec points checked: the root is an object with `_aws` {Timestamp (ms number), CloudWatchMetrics
[MetricDirective]}; a MetricDirective has Namespace (string), Dimensions (array of DimensionSets,
each an array of at most 30 strings naming root members whose values are strings) and Metrics
(array of at most 100 MetricDefinitions: Name (required, names a root member), Unit (optional,
a CloudWatch unit), StorageResolution (optional, 1 or 60)); a metric's root member is a number or
an array of at most 100 numbers. No other members are allowed in the spec's own objects.
"""

from __future__ import annotations

import json
import time
from typing import Any

CLOUDWATCH_UNITS = {
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


def validate_emf(doc: dict[str, Any]) -> list[str]:
    """The spec violations in `doc` (empty when valid)."""
    problems: list[str] = []
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return ["root has no _aws object"]
    if set(aws) - {"Timestamp", "CloudWatchMetrics"}:
        problems.append(f"_aws has unknown members {set(aws) - {'Timestamp', 'CloudWatchMetrics'}}")
    ts = aws.get("Timestamp")
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        problems.append("_aws.Timestamp must be a number")
    else:
        now_ms = time.time() * 1000
        if not (now_ms - 14 * 86400_000 <= ts <= now_ms + 2 * 3600_000):
            problems.append("_aws.Timestamp is outside the accepted window (14 days back, 2 hours ahead)")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return problems + ["_aws.CloudWatchMetrics must be an array"]
    for d in directives:
        problems += _validate_directive(doc, d)
    return problems


def _validate_directive(doc: dict[str, Any], d: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(d, dict):
        return ["a MetricDirective must be an object"]
    if set(d) - {"Namespace", "Dimensions", "Metrics"}:
        problems.append(f"MetricDirective has unknown members {set(d) - {'Namespace', 'Dimensions', 'Metrics'}}")
    ns = d.get("Namespace")
    if not isinstance(ns, str) or not ns.strip() or len(ns) > 255:
        problems.append(f"bad Namespace {ns!r}")
    dims = d.get("Dimensions")
    if not isinstance(dims, list):
        problems.append("Dimensions must be an array of DimensionSets")
        dims = []
    for dim_set in dims:
        if not isinstance(dim_set, list):
            problems.append("a DimensionSet must be an array")
            continue
        if len(dim_set) > 30:
            problems.append(f"DimensionSet has {len(dim_set)} keys (max 30)")
        for key in dim_set:
            if not isinstance(key, str) or key not in doc:
                problems.append(f"dimension {key!r} does not name a root member")
            elif not isinstance(doc[key], str):
                problems.append(f"dimension {key!r} value must be a string")
    metrics = d.get("Metrics")
    if not isinstance(metrics, list) or not metrics:
        return problems + ["Metrics must be a non-empty array"]
    if len(metrics) > 100:
        problems.append(f"{len(metrics)} MetricDefinitions (max 100)")
    for m in metrics:
        if not isinstance(m, dict) or set(m) - {"Name", "Unit", "StorageResolution"}:
            problems.append(f"bad MetricDefinition {m!r}")
            continue
        name = m.get("Name")
        if not isinstance(name, str) or not (1 <= len(name) <= 255):
            problems.append(f"bad metric Name {name!r}")
            continue
        if "Unit" in m and m["Unit"] not in CLOUDWATCH_UNITS:
            problems.append(f"metric {name} has unknown Unit {m['Unit']!r}")
        if "StorageResolution" in m and m["StorageResolution"] not in (1, 60):
            problems.append(f"metric {name} StorageResolution must be 1 or 60")
        value = doc.get(name)
        values = value if isinstance(value, list) else [value]
        if len(values) > 100:
            problems.append(f"metric {name} has {len(values)} values (max 100)")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            problems.append(f"metric {name} value must be a number or an array of numbers: {value!r}")
    return problems


def emf_lines(text: str) -> list[dict[str, Any]]:
    """Every printed JSON line that is an EMF document."""
    docs = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            if "_aws" in obj:
                docs.append(obj)
    return docs


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every printed JSON line that is a log record (not EMF)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            if "_aws" not in obj:
                out.append(obj)
    return out


def metric_values(docs: list[dict[str, Any]], name: str, **dimensions: str) -> list[float]:
    """All values of metric `name` across `docs` whose dimensions include `dimensions`."""
    found: list[float] = []
    for doc in docs:
        for d in doc["_aws"]["CloudWatchMetrics"]:
            if any(m["Name"] == name for m in d["Metrics"]) and all(doc.get(k) == v for k, v in dimensions.items()):
                value = doc[name]
                found.extend(value if isinstance(value, list) else [value])
    return found
