"""The Cloud Map health reporter end to end on moto's Cloud Map: the deployment's schedule invokes
the real app's handler with a Scheduled Event, the app's readiness checks decide, the instance's
custom health status flips in Cloud Map, and CloudMapDiscovery follows it."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lift import App, Context
from lift.cloud_map_health import INSTANCE_ENV, SCHEDULE_ENV, SERVICE_ENV
from lift.services import CachedDiscovery, CloudMapDiscovery, ServiceClient, ServiceError
from lift.testing import events
from lift.testing.context import lambda_context

REGION = "us-east-1"
SCHEDULE = "users-prod-cloudmap-health"  # the name the deploy model gives it (tests/deploy checks that)


def cloud_map(endpoint: str) -> Any:
    return boto3.client(
        "servicediscovery", endpoint_url=endpoint, region_name=REGION, config=Config(inject_host_prefix=False)
    )


@pytest.fixture
def registered(moto_endpoint: str) -> dict[str, Any]:
    """A namespace, a service with a custom health check and the stage's instance, as the stack makes them."""
    sd = cloud_map(moto_endpoint)
    namespace = f"shop-{uuid.uuid4().hex[:8]}"
    op = sd.create_http_namespace(Name=namespace)["OperationId"]
    namespace_id = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    service_id = sd.create_service(
        Name="users", NamespaceId=namespace_id, Type="HTTP", HealthCheckCustomConfig={"FailureThreshold": 1}
    )["Service"]["Id"]
    sd.register_instance(
        ServiceId=service_id,
        InstanceId="users-prod",
        Attributes={"URL": "https://users.example.com/", "stage": "prod"},
    )
    return {"sd": sd, "namespace": namespace, "service_id": service_id, "endpoint": moto_endpoint}


@pytest.fixture
def deployed_env(monkeypatch: pytest.MonkeyPatch, registered: dict[str, Any]) -> dict[str, Any]:
    """The environment every renderer gives the function, with boto3 pointed at moto."""
    monkeypatch.setenv(SCHEDULE_ENV, SCHEDULE)
    monkeypatch.setenv(SERVICE_ENV, registered["service_id"])
    monkeypatch.setenv(INSTANCE_ENV, "users-prod")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICEDISCOVERY", registered["endpoint"])
    return registered


def users_app(state: dict[str, bool]) -> App:
    app = App(name="users")
    app.health.add("orders-table", lambda: state["table"])
    app.health.add("cache", lambda: state["cache"], critical=False)  # not a readiness check
    app.health.mount(app)

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    return app


def health_status(registered: dict[str, Any]) -> str:
    answer = registered["sd"].get_instances_health_status(ServiceId=registered["service_id"])
    return answer["Status"]["users-prod"]


def scheduled_event() -> dict[str, Any]:
    """What the deployment's EventBridge Scheduler schedule sends (Lift's schedules use Scheduler)."""
    return events.schedule(SCHEDULE, scheduler=True, region=REGION)


def test_the_instance_health_follows_the_readiness_checks_and_discovery_follows_it(
    deployed_env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    state = {"table": True, "cache": False}  # a failing non-critical check does not make it unhealthy
    app = users_app(state)
    discovery = CachedDiscovery(
        CloudMapDiscovery(deployed_env["namespace"], "users", endpoint_url=deployed_env["endpoint"], region=REGION),
        ttl=0.05,
    )

    with caplog.at_level(logging.INFO, logger="lift.cloud_map"):
        result = app.handler(scheduled_event(), lambda_context())
    assert result == {"status": "HEALTHY", "failing": [], "reported": True}
    assert health_status(deployed_env) == "HEALTHY"
    assert [i.id for i in discovery.instances()] == ["users-prod"]
    [line] = [r for r in caplog.records if r.name == "lift.cloud_map"]
    assert line.levelno == logging.INFO and "users-prod" in line.getMessage() and "HEALTHY" in line.getMessage()

    state["table"] = False  # the readiness check fails: /health/ready says 503 ...
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lift.cloud_map"):
        result = app.handler(scheduled_event(), lambda_context(aws_request_id="req-unhealthy"))
    assert result["status"] == "UNHEALTHY" and result["reported"] is True
    assert result["failing"] == ["orders-table (check returned False)"]
    assert health_status(deployed_env) == "UNHEALTHY"  # ... and Cloud Map says so
    [line] = [r for r in caplog.records if r.name == "lift.cloud_map"]
    assert line.levelno == logging.WARNING
    assert "UNHEALTHY" in line.getMessage() and "orders-table" in line.getMessage()
    assert "req-unhealthy" in line.getMessage() and "cache" not in line.getMessage()

    time.sleep(0.06)  # the cached answer expires: the next lookup leaves the instance out
    assert discovery.instances() == []
    client = ServiceClient(
        "users",
        discovery=CloudMapDiscovery(deployed_env["namespace"], "users", endpoint_url=deployed_env["endpoint"]),
    )
    with pytest.raises(ServiceError) as caught:  # every instance unhealthy: a 503 no_instances, no call made
        client.get("/users/1")
    assert caught.value.code == "no_instances"
    client.close()

    state["table"] = True  # it recovers on the next run
    assert app.handler(scheduled_event(), lambda_context())["status"] == "HEALTHY"
    assert health_status(deployed_env) == "HEALTHY"
    time.sleep(0.06)
    assert [i.id for i in discovery.instances()] == ["users-prod"]


def test_the_report_runs_the_checks_fresh_not_the_cached_ready_answer(deployed_env: dict[str, Any]) -> None:
    state = {"table": True, "cache": True}
    app = users_app(state)
    app.health.cache_ttl = 3600.0
    assert app.handler(events.apigw_http("GET", "/health/ready"), lambda_context())["statusCode"] == 200  # cached
    state["table"] = False
    assert app.handler(scheduled_event(), lambda_context())["status"] == "UNHEALTHY"
    assert health_status(deployed_env) == "UNHEALTHY"


def test_a_cloud_map_error_is_logged_and_the_invocation_still_succeeds(
    deployed_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(SERVICE_ENV, "srv-doesnotexist000")  # e.g. the service was deleted by hand
    app = users_app({"table": True, "cache": True})
    with caplog.at_level(logging.INFO, logger="lift.cloud_map"):
        result = app.handler(scheduled_event(), lambda_context(aws_request_id="req-refused"))
    assert result == {"status": "HEALTHY", "failing": [], "reported": False}
    [line] = [r for r in caplog.records if r.name == "lift.cloud_map"]
    assert line.levelno == logging.ERROR
    assert "srv-doesnotexist000" in line.getMessage() and "req-refused" in line.getMessage()
    assert "HEALTHY" in line.getMessage()
    assert health_status(deployed_env) == "HEALTHY"  # untouched


def test_a_check_that_raises_is_unhealthy_with_its_error_in_the_log(
    deployed_env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = App(name="users")

    def table() -> None:
        raise ConnectionError("connect timeout on dynamodb.us-east-1.amazonaws.com")

    app.health.add("orders-table", table)
    with caplog.at_level(logging.INFO, logger="lift.cloud_map"):
        result = app.handler(scheduled_event(), lambda_context())
    assert result["status"] == "UNHEALTHY"
    assert result["failing"] == ["orders-table (ConnectionError: connect timeout on dynamodb.us-east-1.amazonaws.com)"]
    assert health_status(deployed_env) == "UNHEALTHY"
    assert "ConnectionError" in next(r for r in caplog.records if r.name == "lift.cloud_map").getMessage()


def test_an_app_schedule_handler_never_receives_the_health_event_and_still_gets_its_own(
    deployed_env: dict[str, Any],
) -> None:
    app = users_app({"table": False, "cache": True})
    seen: list[str] = []

    @app.schedule("*")  # a catch-all schedule handler of the app's own
    def every_schedule(ctx: Context) -> None:
        seen.append(ctx.record.rule)

    assert app.handler(scheduled_event(), lambda_context())["status"] == "UNHEALTHY"
    app.handler(events.schedule("nightly-report"), lambda_context())
    assert seen == ["nightly-report"]


def test_without_the_deployments_variables_the_schedule_name_is_an_ordinary_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Locally (`lift dev`, tests) nothing names a health schedule: no Cloud Map call is ever made."""
    monkeypatch.delenv(SCHEDULE_ENV, raising=False)
    app = users_app({"table": True, "cache": True})
    seen: list[str] = []

    @app.schedule(SCHEDULE)
    def mine(ctx: Context) -> None:
        seen.append(ctx.record.rule)

    assert app.handler(scheduled_event(), lambda_context()) is None
    assert seen == [SCHEDULE]


def test_missing_ids_are_logged_not_raised(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(SCHEDULE_ENV, SCHEDULE)
    monkeypatch.delenv(SERVICE_ENV, raising=False)
    monkeypatch.delenv(INSTANCE_ENV, raising=False)
    app = users_app({"table": True, "cache": True})
    with caplog.at_level(logging.INFO, logger="lift.cloud_map"):
        assert app.handler(scheduled_event(), lambda_context())["reported"] is False
    [line] = [r for r in caplog.records if r.name == "lift.cloud_map"]
    assert line.levelno == logging.ERROR and SERVICE_ENV in line.getMessage()


CHILD = """
import json, os, sys
from lift import App, Context
from lift.testing import events
app = App(name="users")
app.health.add("table", lambda: True)

@app.get("/ping")
def ping() -> dict:
    return {"ok": True}

app.handler(events.apigw_http("GET", "/ping"), None)
before = "boto3" in sys.modules
result = app.handler(events.schedule(os.environ["LIFT_CLOUD_MAP_HEALTH_SCHEDULE"], scheduler=True), None)
tooling = sorted(m for m in sys.modules if m.split(".")[1:2] and m.split(".")[0] == "lift"
                 and m.split(".")[1] in ("deploy", "cli", "dev"))
print(json.dumps({"before": before, "after": "boto3" in sys.modules, "tooling": tooling, "result": result}))
"""


def test_the_runtime_side_stays_light(deployed_env: dict[str, Any]) -> None:
    """boto3 only once a health event arrives; nothing of lift.deploy/cli/dev in a deployed function."""
    import json
    import os

    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=dict(os.environ), timeout=60
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"before": False, "after": True, "tooling": [], "result": seen["result"]}
    assert seen["result"]["reported"] is True


def test_healthy_or_else_all_gives_every_instance_back_when_none_is_healthy(deployed_env: dict[str, Any]) -> None:
    app = users_app({"table": False, "cache": True})
    assert app.handler(scheduled_event(), lambda_context())["status"] == "UNHEALTHY"
    namespace, endpoint = deployed_env["namespace"], deployed_env["endpoint"]
    assert CloudMapDiscovery(namespace, "users", endpoint_url=endpoint, region=REGION).instances() == []
    [last_resort] = CloudMapDiscovery(
        namespace, "users", health="HEALTHY_OR_ELSE_ALL", endpoint_url=endpoint, region=REGION
    ).instances()
    assert (last_resort.id, last_resort.healthy) == ("users-prod", False)
