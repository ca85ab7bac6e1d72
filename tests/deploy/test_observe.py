"""`lift logs`, `lift metrics` and `lift health` read what is really there (moto's CloudWatch, a live app)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from tests.servers import Served

APP = """
from lift import App

app = App(name="{name}")
app.health.add("database", lambda: {healthy}, critical=True)
app.health.mount(app)
"""


def lift(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args], cwd=cwd, capture_output=True, text=True, env=full, timeout=120
    )


def project(root: Path, name: str, healthy: str = "True") -> Path:
    (root / "app.py").write_text(APP.format(name=name, healthy=healthy))
    (root / "pyproject.toml").write_text('[tool.lift]\napp = "app:app"\nregion = "us-east-1"\n')
    return root


@pytest.fixture
def service(tmp_path: Path, moto_endpoint: str) -> tuple[Path, str, dict[str, str]]:
    name = f"obs{uuid.uuid4().hex[:8]}"
    return project(tmp_path, name), name, {"AWS_ENDPOINT_URL": moto_endpoint}


def test_logs_render_lift_json_lines_and_filter(service: tuple[Path, str, dict[str, str]], moto_endpoint: str) -> None:
    root, name, env = service
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    group = f"/aws/lambda/{name}-dev"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/04/[$LATEST]abc")
    now = int(time.time() * 1000)
    line = {
        "timestamp": "2026-12-04T10:00:00Z",
        "level": "ERROR",
        "message": "payment failed",
        "logger": "lift",
        "request_id": "req-123",
        "order_id": "o-1",
    }
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/12/04/[$LATEST]abc",
        logEvents=[
            {"timestamp": now - 2000, "message": "START RequestId: req-123 Version: $LATEST\n"},
            {"timestamp": now - 1000, "message": json.dumps(line) + "\n"},
        ],
    )
    shown = lift("logs", "dev", "--since", "1h", cwd=root, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "START RequestId: req-123" in shown.stdout
    assert "ERROR    [req-123] payment failed order_id=o-1" in shown.stdout
    raw = lift("logs", "dev", "--since", "1h", "--json", "--filter", "payment", cwd=root, env=env)
    assert [json.loads(x) for x in raw.stdout.splitlines()] == [line]
    assert lift("logs", "dev", "--since", "ten minutes", cwd=root, env=env).returncode == 2


def test_metrics_read_lambda_and_app_metrics(service: tuple[Path, str, dict[str, str]], moto_endpoint: str) -> None:
    root, name, env = service
    cw = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1")
    now = datetime.now(UTC)
    dims = [{"Name": "FunctionName", "Value": f"{name}-dev"}]
    cw.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[{"MetricName": "Invocations", "Dimensions": dims, "Value": 5, "Timestamp": now}]
        + [{"MetricName": "Errors", "Dimensions": dims, "Value": 1, "Timestamp": now}]
        + [
            {"MetricName": "Duration", "Dimensions": dims, "Value": v, "Unit": "Milliseconds", "Timestamp": now}
            for v in (10, 20, 90)
        ],
    )
    cw.put_metric_data(Namespace=name, MetricData=[{"MetricName": "OrdersCreated", "Value": 3, "Timestamp": now}])
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    group = f"/aws/lambda/{name}-dev"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    ts = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": ts - 20, "message": "REPORT RequestId: a Duration: 10.0 ms Init Duration: 120.5 ms"},
            {"timestamp": ts - 10, "message": "REPORT RequestId: b Duration: 20.0 ms"},
        ],
    )
    result = lift("metrics", "dev", "--json", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout)
    assert (numbers["invocations"], numbers["errors"], numbers["throttles"], numbers["cold_starts"]) == (5, 1, 0, 1)
    assert (numbers["duration_avg_ms"], numbers["duration_max_ms"]) == (40.0, 90.0)
    assert numbers["app_metrics"] == {"OrdersCreated": 3.0}
    table = lift("metrics", "dev", cwd=root, env=env)
    assert "invocations" in table.stdout and "app: OrdersCreated" in table.stdout


@pytest.mark.parametrize("healthy, code", [(True, 0), (False, 1)])
def test_health_calls_the_deployed_ready_endpoint(tmp_path: Path, healthy: bool, code: int) -> None:
    from lift import App

    app = App(name="svc")
    app.health.add("database", lambda: healthy, critical=True)
    app.health.mount(app)
    served = Served(app.asgi, log_level="error")
    url = served.url
    try:
        root = project(tmp_path, "svc", str(healthy))
        result = lift("health", "dev", "--url", url, cwd=root)
        report = json.loads(lift("health", "dev", "--url", url, "--json", cwd=root).stdout)
    finally:
        served.stop()
    assert result.returncode == code, result.stdout + result.stderr
    assert "database" in result.stdout and "/health/ready" in result.stdout
    assert report["status_code"] == (200 if healthy else 503)
    assert report["checks"]["database"]["status"] == ("ok" if healthy else "fail")


def test_the_health_invoke_event_reaches_the_ready_route_of_a_lift_app() -> None:
    """Without an HTTP front `lift health` invokes the function with this event: Lift must route it."""
    from lift import App
    from lift.deploy.observe import health_event

    app = App(name="svc")
    app.health.add("queue", lambda: True, critical=True)
    app.health.mount(app)
    answer = app.handler(health_event("dev"), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["checks"]["queue"]["status"] == "ok"
