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


def two_region_project(root: Path, name: str) -> Path:
    (root / "app.py").write_text(APP.format(name=name, healthy="True"))
    (root / "pyproject.toml").write_text('[tool.lift]\napp = "app:app"\nregions = ["us-east-1", "eu-west-1"]\n')
    return root


def test_logs_and_metrics_read_every_region_of_the_stage(tmp_path: Path, moto_endpoint: str) -> None:
    """Each region's function logs and counts in its own region: both are read (the first region's
    alone were), in time order and marked with their region; `--region` reads one."""
    name = f"obs{uuid.uuid4().hex[:8]}"
    root, env = two_region_project(tmp_path, name), {"AWS_ENDPOINT_URL": moto_endpoint}
    now = int(time.time() * 1000)
    for region, invocations, age in (("us-east-1", 5, 1000), ("eu-west-1", 7, 3000)):
        logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name=region)
        group = f"/aws/lambda/{name}-prod"
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        # eu-west-1's line is the older one: the lines of both regions come in time order
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": now - age, "message": f"hello from {region}"}],
        )
        cw = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name=region)
        cw.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": f"{name}-prod"}],
                    "Value": invocations,
                    "Timestamp": datetime.now(UTC),
                }
            ],
        )
    shown = lift("logs", "prod", "--since", "1h", cwd=root, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "hello from" in line]
    assert [line.split()[1:] for line in lines] == [
        ["eu-west-1", "hello", "from", "eu-west-1"],
        ["us-east-1", "hello", "from", "us-east-1"],
    ]
    one = lift("logs", "prod", "--since", "1h", "--region", "eu-west-1", "--json", cwd=root, env=env)
    assert one.stdout.splitlines() == ["hello from eu-west-1"]
    numbers = json.loads(lift("metrics", "prod", "--json", cwd=root, env=env).stdout)
    assert [(n["region"], n["invocations"]) for n in numbers] == [("us-east-1", 5), ("eu-west-1", 7)]
    single = json.loads(lift("metrics", "prod", "--json", "--region", "eu-west-1", cwd=root, env=env).stdout)
    assert (single["region"], single["invocations"]) == ("eu-west-1", 7)


def test_health_checks_every_region_of_the_stage(tmp_path: Path, moto_endpoint: str) -> None:
    """Each region's stack has its own ApiUrl: a region that is not ready fails `lift health` even
    when the first one is."""
    from lift import App

    name = f"obs{uuid.uuid4().hex[:8]}"
    root, env = two_region_project(tmp_path, name), {"AWS_ENDPOINT_URL": moto_endpoint}
    served = []
    try:
        for region, healthy in (("us-east-1", True), ("eu-west-1", False)):
            app = App(name=name)
            app.health.add("database", lambda healthy=healthy: healthy, critical=True)
            app.health.mount(app)
            served.append(Served(app.asgi, log_level="error"))
            cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name=region)
            template = {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-{region}"}}},
                "Outputs": {"ApiUrl": {"Value": served[-1].url}},
            }
            cfn.create_stack(StackName=f"{name}-prod", TemplateBody=json.dumps(template))
        result = lift("health", "prod", cwd=root, env=env)
        reports = json.loads(lift("health", "prod", "--json", cwd=root, env=env).stdout)
    finally:
        for server in served:
            server.stop()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "(us-east-1)" in result.stdout and "(eu-west-1)" in result.stdout
    assert [(r["region"], r["status_code"]) for r in reports] == [("us-east-1", 200), ("eu-west-1", 503)]
