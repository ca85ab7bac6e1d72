"""What a deployed stage is doing: its logs (Lift's JSON lines made readable), its metrics and its health.

All through boto3 (CloudWatch Logs, CloudWatch, Lambda) and the stack's outputs.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["parse_since", "fetch_logs", "render_line", "lambda_metrics", "check_health"]

_SINCE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LEVEL_STYLES = {
    "DEBUG": "dim",
    "INFO": "green",
    "WARNING": "yellow",
    "WARN": "yellow",  # (Lambda's JSON log format names)
    "ERROR": "red",
    "CRITICAL": "bold red",
    "FATAL": "bold red",
}
_SHOWN = ("timestamp", "level", "message", "logger", "request_id")


def parse_since(text: str) -> int:
    """`"10m"` -> 600 (seconds); s, m, h, d, w."""
    match = _SINCE.match(text.strip())
    if not match:
        raise ValueError(f"Invalid duration {text!r}: use a number and a unit, e.g. 30s, 10m, 2h, 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def fetch_logs(
    aws: Any, log_group: str, start_ms: int, filter_pattern: str | None = None, end_ms: int | None = None
) -> list[dict[str, Any]]:
    """Every event of `log_group` from `start_ms` (matching `filter_pattern`), oldest first."""
    logs = aws.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": log_group, "startTime": start_ms}
    if end_ms is not None:
        kwargs["endTime"] = end_ms
    if filter_pattern:
        kwargs["filterPattern"] = filter_pattern
    events: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        events.extend(page.get("events", []))
    return sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))


def render_line(message: str) -> tuple[str | None, str]:
    """A log message as (level, readable text). Lift's JSON lines become
    `LEVEL [request id] message key=value ...`; anything else (the runtime's START/REPORT) stays as is."""
    text = message.rstrip("\n")
    try:
        data = json.loads(text)
    except ValueError:
        return None, text
    if not isinstance(data, dict) or "message" not in data:
        return None, text
    level = str(data.get("level") or "")
    parts = [f"{level:<8}"]
    if data.get("request_id"):
        parts.append(f"[{data['request_id']}]")
    parts.append(str(data.get("message", "")))
    extras = [
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
        for k, v in data.items()
        if k not in _SHOWN and v is not None
    ]
    if extras:
        parts.append(" ".join(extras))
    return level or None, " ".join(parts)


def lambda_metrics(
    aws: Any, function_name: str, namespace: str, window_s: int, log_group: str, *, stage: str | None = None
) -> dict[str, Any]:
    """The function's numbers over the last `window_s` seconds: invocations, errors, throttles,
    duration (average, max, p50, p99), cold starts (REPORT lines with an Init Duration) and every
    metric the app itself emitted (EMF) in `namespace`, summed (with `stage`: only that stage's,
    not another stage's of the same app writing to the same namespace)."""
    cw = aws.client("cloudwatch")
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(seconds=window_s + 60)
    period = max(60, ((window_s + 60) // 60) * 60)
    dims = [{"Name": "FunctionName", "Value": function_name}]

    def query(metric: str, stat: str, ns: str = "AWS/Lambda", dimensions: list[dict[str, str]] = dims) -> float | None:
        result = cw.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "q",
                    "MetricStat": {
                        "Metric": {"Namespace": ns, "MetricName": metric, "Dimensions": dimensions},
                        "Period": period,
                        "Stat": stat,
                    },
                }
            ],
            StartTime=start,
            EndTime=end,
        )["MetricDataResults"][0]["Values"]
        if not result:
            return None
        return sum(result) if stat == "Sum" else (max(result) if stat == "Maximum" else result[0])

    out: dict[str, Any] = {
        "function": function_name,
        "window_seconds": window_s,
        "invocations": query("Invocations", "Sum") or 0,
        "errors": query("Errors", "Sum") or 0,
        "throttles": query("Throttles", "Sum") or 0,
        "duration_avg_ms": query("Duration", "Average"),
        "duration_max_ms": query("Duration", "Maximum"),
    }
    for label, stat in (("duration_p50_ms", "p50"), ("duration_p99_ms", "p99")):
        try:
            out[label] = query("Duration", stat)
        except Exception:  # an endpoint without percentile statistics (moto)
            out[label] = None
    start_ms = int((time.time() - window_s) * 1000)
    try:
        out["cold_starts"] = len(fetch_logs(aws, log_group, start_ms, '"Init Duration"'))
    except Exception:
        out["cold_starts"] = None
    app_metrics: dict[str, float] = {}
    paginator = cw.get_paginator("list_metrics")
    for page in paginator.paginate(Namespace=namespace):
        for metric in page.get("Metrics", []):
            name = metric["MetricName"]
            dimensions = metric.get("Dimensions", [])
            if stage and any(d["Name"] == "stage" and d["Value"] != stage for d in dimensions):
                continue  # another stage's
            value = query(name, "Sum", namespace, dimensions)
            if value is not None:
                label = name + "".join(
                    f" {d['Name']}={d['Value']}" for d in dimensions if d["Name"] not in ("service", "stage")
                )
                app_metrics[label] = app_metrics.get(label, 0) + value
    out["app_metrics"] = dict(sorted(app_metrics.items()))
    return out


def check_health(url: str, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    """GET the deployed `/health/ready`: (status, the report Lift's health registry returns)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "lift-health"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    try:
        report = json.loads(body or b"{}")
    except ValueError:
        report = {"status": "unreadable", "body": body[:500].decode("utf-8", "replace")}
    return status, report


def health_event(stage: str, path: str = "/health/ready") -> dict[str, Any]:
    """An API Gateway HTTP API (v2) GET of `path`, to invoke a function that has no HTTP front."""
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "user-agent": "lift-health"},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "lift-health",
            "domainName": "lift-health.local",
            "domainPrefix": "lift-health",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "lift-health",
            },
            "requestId": f"lift-health-{int(now.timestamp())}",
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
