"""SLO alarms and dashboards read the metrics the deployed app writes: same namespace, same dimensions."""

from __future__ import annotations

import json

import pytest

from lift import App, Context
from lift.deploy import build_deployment, config_from_dict
from lift.deploy.slo import stage_resources
from lift.middleware.metrics import RequestMetrics
from lift.observability import metrics as lift_metrics
from lift.testing import TestClient


def _written(out: str) -> set[tuple[str, str, frozenset]]:
    """(namespace, metric, dimensions) of every metric in the EMF lines `out` holds."""
    found = set()
    for line in out.splitlines():
        if not line.startswith("{") or "_aws" not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for names in directive["Dimensions"]:
                dims = frozenset((name, doc[name]) for name in names)
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dims))
    return found


def _watched(resources: dict) -> set[tuple[str, str, frozenset]]:
    """(namespace, metric, dimensions) of every metric the SLO alarms and dashboard read."""
    found = set()
    for resource in resources.values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            stats = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
            if "MetricName" in props:
                stats.append(props)
            for m in stats:
                dims = frozenset((d["Name"], d["Value"]) for d in m["Dimensions"])
                found.add((m["Namespace"], m["MetricName"], dims))
        elif resource["Type"] == "AWS::CloudWatch::Dashboard":
            for widget in json.loads(props["DashboardBody"])["widgets"]:
                for row in widget["properties"]["metrics"]:
                    if isinstance(row[0], str):
                        namespace, metric, *rest = (part for part in row if isinstance(part, str))
                        found.add((namespace, metric, frozenset(zip(rest[::2], rest[1::2], strict=True))))
    return found


def deployed_environment(deployment, monkeypatch) -> None:
    """This process takes the deployed function's environment (LIFT_STAGE, the stage's variables)."""
    environment = dict(deployment.function.environment)
    assert environment["LIFT_STAGE"] == deployment.stage
    for key, value in environment.items():
        if isinstance(value, str):
            monkeypatch.setenv(key, value)


@pytest.mark.parametrize(
    ("name", "in_code", "stage_environment"),
    [
        ("Payments API", None, {}),  # a name the stack's service name spells otherwise ('payments-api')
        ("orders_api", "Shop", {}),  # RequestMetrics(namespace=...), as its docstring shows
        ("billing", None, {"LIFT_METRICS_NAMESPACE": "Billing/Prod"}),  # the stage's environment
    ],
)
def test_slo_alarms_watch_the_metrics_the_app_writes(capsys, monkeypatch, name, in_code, stage_environment) -> None:
    """The alarms watched the app's name as namespace and the stack's service name as dimension: an app
    named 'Payments API', one whose RequestMetrics set a namespace, or a stage that set
    LIFT_METRICS_NAMESPACE got alarms on metrics nothing writes (they never fire)."""
    try:
        app = App(name=name)
        app.use(RequestMetrics(namespace=in_code, route_metrics=True))

        @app.post("/orders", status=201)
        def create(ctx: Context) -> dict:
            return {}

        app.slo("checkout", availability=99.9, latency_p99_ms=300, routes=["POST /orders"])
        config = config_from_dict(
            {"region": "eu-west-1", "stages": {"prod": {"environment": stage_environment}}}, "pyproject.toml"
        )
        deployment = build_deployment(app, config, "prod")
        resources = stage_resources(deployment)
        deployed_environment(deployment, monkeypatch)
        capsys.readouterr()
        assert TestClient(app).post("/orders", json={}).status_code == 201
        written = _written(capsys.readouterr().out)
    finally:
        lift_metrics.configure()
    watched = _watched(resources)
    assert {metric for _, metric, _ in watched} == {"Requests", "ServerErrors", "Latency"}
    assert watched <= written, watched - written


def test_two_stages_in_one_account_alarm_on_their_own_metrics_only(capsys, monkeypatch) -> None:
    """Staging and prod of one app in one account and region wrote the same metrics (same namespace,
    same dimensions), so a burst of staging errors counted against prod's SLO and paged. Each stage's
    function now writes its stage as a dimension and each stage's alarms read only their own."""
    app = App(name="orders")
    app.use(RequestMetrics(route_metrics=True))

    @app.post("/orders", status=201)
    def create(ctx: Context) -> dict:
        return {}

    app.slo("checkout", availability=99.9, latency_p99_ms=300, routes=["POST /orders"])
    config = config_from_dict({"region": "eu-west-1", "stages": {"staging": {}, "prod": {}}}, "pyproject.toml")
    watched, written = {}, {}
    for stage in ("staging", "prod"):
        deployment = build_deployment(app, config, stage)
        watched[stage] = _watched(stage_resources(deployment))
        with monkeypatch.context() as patch:
            deployed_environment(deployment, patch)
            capsys.readouterr()
            assert TestClient(app).post("/orders", json={}).status_code == 201
            written[stage] = _written(capsys.readouterr().out)
    assert watched["staging"] <= written["staging"] and watched["prod"] <= written["prod"]
    assert not watched["prod"] & written["staging"] and not watched["staging"] & written["prod"]
