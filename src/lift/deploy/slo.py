"""SLOs as CloudWatch alarms (multi-window, multi-burn-rate) and as reports read from CloudWatch.

Burn-rate alerting follows the SRE workbook (chapter "Alerting on SLOs"): a burn rate of 1 spends
the error budget exactly over the SLO window. Two alerts, each firing only when a long and a short
window both burn too fast (the short window makes the alert reset quickly once the burn stops):

| alert | long window | short window | burn rate (30-day SLO) | budget spent when it fires | action |
|---|---|---|---|---|---|
| fast burn | 1 h | 5 min | 14.4 | 2% in an hour | page |
| slow burn | 6 h | 30 min | 6 | 5% in six hours | ticket |

For another window the rates keep those budget fractions: fast = 0.02 x window hours / 1 h, slow =
0.05 x window hours / 6 h. The error ratio is Lift's own route metrics (`RequestMetrics(route_metrics=
True)`: `ServerErrors` / `Requests` under service/route/method), summed over the SLO's routes with
metric math; a CloudWatch alarm takes at most 10 metrics, so an SLO names at most 4 routes.
Latency objectives alarm when a route's p99 stays above the target for three 5-minute periods.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lift.slo import SLO

__all__ = [
    "BurnAlert",
    "SLOReport",
    "alarm_resources",
    "burn_alerts",
    "burn_threshold",
    "check_slos",
    "dashboard_resource",
    "report",
    "stage_resources",
]

MAX_ROUTES = 4


@dataclass(frozen=True)
class BurnAlert:
    """One multi-window burn-rate alert."""

    name: str  # "fast" or "slow"
    long_seconds: int
    short_seconds: int
    burn_rate: float
    action: str  # "page" or "ticket"


def burn_alerts(slo: SLO) -> list[BurnAlert]:
    """The fast (page) and slow (ticket) alerts for `slo`'s window. A rate whose error ratio would
    pass 100% (a budget of 1/rate or more: 90% availability over 30 days pages at 14.4 x 10%) is
    capped at 1/budget, the rate of every request failing, so the alert can still fire."""
    hours = slo.window_days * 24
    budget = slo.error_budget
    alerts = []
    for name, long_seconds, short_seconds, rate, action in (
        ("fast", 3600, 300, 0.02 * hours / 1, "page"),
        ("slow", 6 * 3600, 1800, 0.05 * hours / 6, "ticket"),
    ):
        if budget and rate * budget >= 1:
            rate = 1 / budget
        alerts.append(BurnAlert(name, long_seconds, short_seconds, round(rate, 4), action))
    return alerts


def burn_threshold(slo: SLO, alert: BurnAlert) -> tuple[float, str]:
    """The error-ratio threshold of `alert` and CloudWatch's comparison: above `burn rate x budget`,
    or, for a rate capped at every request failing, an error ratio of 1 (>=, since none is above)."""
    threshold = round(alert.burn_rate * slo.error_budget, 12)  # 14.4 x 0.001 is 0.0144, not ...0001
    if threshold >= 0.9999:
        return 1.0, "GreaterThanOrEqualToThreshold"
    return threshold, "GreaterThanThreshold"


def _routes(slo: SLO, endpoints: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(method, route template) pairs the SLO covers, from the app's endpoints."""
    endpoints = sorted(set(endpoints))
    if not slo.routes:
        chosen = endpoints
    else:
        chosen = []
        for method, path in slo.route_keys():
            matched = [(m, p) for m, p in endpoints if p == path and (method is None or m == method)]
            if not matched:
                raise ValueError(f"SLO {slo.name!r}: no route {method or '*'} {path} in the app")
            chosen += matched
    if not chosen:
        raise ValueError(f"SLO {slo.name!r}: the app has no routes to measure")
    if len(chosen) > MAX_ROUTES:
        raise ValueError(
            f"SLO {slo.name!r} covers {len(chosen)} routes; a CloudWatch alarm takes at most 10 metrics, so name "
            f"at most {MAX_ROUTES} routes per SLO (routes=[...])"
        )
    return chosen


def check_slos(slos: Iterable[SLO], endpoints: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Each SLO's (method, route) pairs; ValueError, before any output is written, for an SLO no alarm
    can measure: routes the app does not have or more than an alarm takes, or two SLOs whose
    resources would share ids ("check-out" and "check_out")."""
    endpoints = list(endpoints)
    seen: dict[str, str] = {}
    covered = {}
    for slo in slos:
        covered[slo.name] = _routes(slo, endpoints)
        base = _logical("slo", slo.name)
        if base in seen:
            raise ValueError(
                f"SLOs {seen[base]!r} and {slo.name!r} would give their alarms the same ids ({base}...): rename one"
            )
        seen[base] = slo.name
    return covered


def _logical(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for part in parts for p in part.replace("_", "-").split("-") if p)


def _dimension_pairs(service: str, stage: str | None, route: str, method: str) -> list[tuple[str, str]]:
    """The dimensions `RequestMetrics(route_metrics=True)` writes a route's metrics under (`stage`
    when the function has `LIFT_STAGE`, as `lift deploy` sets it: see metrics.metric_identity)."""
    pairs = [("service", service), ("stage", stage), ("route", route), ("method", method)]
    return [(name, value) for name, value in pairs if value]


def _dimensions(service: str, stage: str | None, route: str, method: str) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in _dimension_pairs(service, stage, route, method)]


def _ratio_metrics(
    namespace: str, service: str, stage: str | None, routes: list[tuple[str, str]], period: int
) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = []
    for i, (method, route) in enumerate(routes):
        dims = _dimensions(service, stage, route, method)
        for kind, name in (("e", "ServerErrors"), ("r", "Requests")):
            metrics.append(
                {
                    "Id": f"{kind}{i}",
                    "MetricStat": {
                        "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                }
            )
    errors = "+".join(f"e{i}" for i in range(len(routes)))
    requests = "+".join(f"r{i}" for i in range(len(routes)))
    metrics.append(
        {"Id": "ratio", "Expression": f"({errors})/({requests})", "Label": "error ratio", "ReturnData": True}
    )
    return metrics


def alarm_resources(
    slo: SLO,
    *,
    service: str,
    namespace: str,
    metrics_service: str | None = None,
    metrics_stage: str | None = None,
    endpoints: Iterable[tuple[str, str]],
    page_actions: list[Any] | None = None,
    ticket_actions: list[Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """CloudFormation resources (logical id -> resource) for `slo`'s alerts: a metric-math alarm per
    window and a composite alarm per burn rate (long AND short), plus latency alarms. `service` names
    them; `metrics_service` (else `service`) and `metrics_stage` are the `service` and `stage`
    dimensions the app's metrics carry."""
    svc = metrics_service or service
    routes = _routes(slo, endpoints)
    resources: dict[str, dict[str, Any]] = {}
    base = _logical("slo", slo.name)
    if slo.availability is not None:
        for alert in burn_alerts(slo):
            threshold, comparison = burn_threshold(slo, alert)
            window_ids = []
            for label, seconds in (("long", alert.long_seconds), ("short", alert.short_seconds)):
                logical = f"{base}{_logical(alert.name, label)}Alarm"
                window_ids.append(logical)
                resources[logical] = {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "AlarmName": f"{service}-slo-{slo.name}-{alert.name}-{label}",
                        "AlarmDescription": (
                            f"SLO {slo.name}: error ratio over {seconds // 60} min above {alert.burn_rate}x the "
                            f"budget of {slo.availability}%"
                        ),
                        "Metrics": _ratio_metrics(namespace, svc, metrics_stage, routes, seconds),
                        "Threshold": threshold,
                        "ComparisonOperator": comparison,
                        "EvaluationPeriods": 1,
                        "DatapointsToAlarm": 1,
                        "TreatMissingData": "notBreaching",
                    },
                }
            actions = page_actions if alert.action == "page" else ticket_actions
            composite: dict[str, Any] = {
                "AlarmName": f"{service}-slo-{slo.name}-{alert.name}-burn",
                "AlarmDescription": (
                    f"SLO {slo.name}: {alert.name} burn ({alert.burn_rate}x over {alert.long_seconds // 3600} h and "
                    f"{alert.short_seconds // 60} min): {alert.action}"
                ),
                "AlarmRule": " AND ".join(f"ALARM({{{{{wid}}}}})" for wid in window_ids),
            }
            if actions:
                composite["AlarmActions"] = list(actions)
            resources[f"{base}{_logical(alert.name)}BurnAlarm"] = {
                "Type": "AWS::CloudWatch::CompositeAlarm",
                "Properties": composite,
            }
    if slo.latency_p99_ms is not None:
        for i, (method, route) in enumerate(routes):
            properties: dict[str, Any] = {
                "AlarmName": f"{service}-slo-{slo.name}-latency-{i}",
                "AlarmDescription": f"SLO {slo.name}: p99 of {method} {route} above {slo.latency_p99_ms} ms",
                "Namespace": namespace,
                "MetricName": "Latency",
                "Dimensions": _dimensions(svc, metrics_stage, route, method),
                "ExtendedStatistic": "p99",
                "Period": 300,
                "EvaluationPeriods": 3,
                "DatapointsToAlarm": 3,
                "Threshold": slo.latency_p99_ms,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            }
            if ticket_actions:
                properties["AlarmActions"] = list(ticket_actions)
            resources[f"{base}Latency{i}Alarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}
    # CloudFormation wants the composite's children by name: {{Logical}} -> the alarm's name
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::CompositeAlarm":
            rule = resource["Properties"]["AlarmRule"]
            for logical, child in resources.items():
                rule = rule.replace("{{" + logical + "}}", child["Properties"]["AlarmName"])
            resource["Properties"]["AlarmRule"] = rule
            resource["DependsOn"] = sorted(k for k, v in resources.items() if v["Properties"]["AlarmName"] in rule)
    return resources


def dashboard_resource(
    slos: list[SLO],
    *,
    service: str,
    stage: str,
    namespace: str,
    endpoints: Iterable[tuple[str, str]],
    region: str,
    metrics_service: str | None = None,
    metrics_stage: str | None = None,
) -> dict[str, Any]:
    """One CloudWatch dashboard per stage: each SLO's error ratio and p99 latency (`metrics_service`,
    else `service`, and `metrics_stage` are the `service` and `stage` dimensions the app's metrics carry)."""
    endpoints = list(endpoints)
    svc = metrics_service or service

    def line(metric: str, method: str, route: str) -> list[Any]:
        dims = [part for pair in _dimension_pairs(svc, metrics_stage, route, method) for part in pair]
        return [namespace, metric, *dims]

    widgets = []
    for row, slo in enumerate(slos):
        routes = _routes(slo, endpoints)
        ratio = [
            [*line("ServerErrors", m, r), {"id": f"e{i}", "visible": False}] for i, (m, r) in enumerate(routes)
        ] + [[*line("Requests", m, r), {"id": f"r{i}", "visible": False}] for i, (m, r) in enumerate(routes)]
        errors = "+".join(f"e{i}" for i in range(len(routes)))
        requests = "+".join(f"r{i}" for i in range(len(routes)))
        ratio.append([{"expression": f"({errors})/({requests})", "label": f"{slo.name} error ratio", "id": "ratio"}])
        widgets.append(
            {
                "type": "metric",
                "x": 0,
                "y": row * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": f"SLO {slo.name}: error ratio",
                    "region": region,
                    "metrics": ratio,
                    "stat": "Sum",
                    "period": 300,
                },
            }
        )
        latency = [line("Latency", m, r) for m, r in routes]
        widgets.append(
            {
                "type": "metric",
                "x": 12,
                "y": row * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": f"SLO {slo.name}: p99 latency (ms)",
                    "region": region,
                    "metrics": latency,
                    "stat": "p99",
                    "period": 300,
                },
            }
        )
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": f"{service}-{stage}-slos",
            "DashboardBody": json.dumps({"widgets": widgets}, sort_keys=True),
        },
    }


def stage_resources(deployment: Any, actions: list[Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every SLO alarm of `deployment` and its SLO dashboard (logical id -> CloudFormation resource),
    alarming to `actions`. The properties are CloudWatch's own API fields (PutMetricAlarm,
    PutCompositeAlarm, PutDashboard), which CloudFormation takes as they are: the Terraform and
    Pulumi renderers map these same resources to their provider's arguments, so every output
    describes the same alarms."""
    resources: dict[str, dict[str, Any]] = {}
    if not deployment.slos:
        return resources
    for slo in deployment.slos:
        found = alarm_resources(
            slo,
            # named per stage, as every other alarm of the stage (`orders-prod-slo-checkout-fast-burn`):
            # two stages in one account and region wrote each other's alarms, and the gate named
            # in docs/releases.md did not exist
            service=f"{deployment.service}-{deployment.stage}",
            namespace=deployment.metrics_namespace,
            metrics_service=deployment.metrics_service,
            metrics_stage=deployment.metrics_stage,
            endpoints=deployment.slo_routes,
            page_actions=actions,
            ticket_actions=actions,
        )
        for logical_id, resource in found.items():
            if logical_id in resources:
                raise ValueError(f"duplicate logical id {logical_id}")
            resources[logical_id] = resource
    resources["SloDashboard"] = dashboard_resource(
        list(deployment.slos),
        service=deployment.service,
        stage=deployment.stage,
        namespace=deployment.metrics_namespace,
        metrics_service=deployment.metrics_service,
        metrics_stage=deployment.metrics_stage,
        endpoints=deployment.slo_routes,
        region=deployment.region,
    )
    return resources


# -- reports -----------------------------------------------------------------------------------------


@dataclass
class SLOReport:
    """An SLO over a window as measured: the SLI, the budget left and whether releases should stop."""

    name: str
    objective: float | None
    window_days: int
    requests: float
    errors: float
    sli: float | None
    budget_remaining: float | None  # fraction of the error budget left (negative: overspent)
    burn_rate_1h: float | None
    latency_objective_ms: float | None
    latency_p99_ms: float | None
    freeze: bool
    reasons: list[str]
    region: str | None = None  # set when the stage has several regions: each is measured apart

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def label(self) -> str:
        return self.name if self.region is None else f"{self.name} [{self.region}]"


def _sum_series(results: list[dict[str, Any]], prefix: str) -> float:
    return float(sum(sum(r["Values"]) for r in results if r["Id"].startswith(prefix)))


def _query(
    cloudwatch: Any,
    namespace: str,
    service: tuple[str, str | None],
    routes: list[tuple[str, str]],
    start: dt.datetime,
    end: dt.datetime,
    period: int,
    stat: str,
    metrics: tuple[str, ...],
) -> list[dict[str, Any]]:
    queries = []
    for i, (method, route) in enumerate(routes):
        dims = _dimensions(*service, route, method)
        for name in metrics:
            queries.append(
                {
                    "Id": f"{name[0].lower()}{i}",
                    "MetricStat": {
                        "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                        "Period": period,
                        "Stat": stat,
                    },
                }
            )
    results: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        if token:
            kwargs["NextToken"] = token
        page = cloudwatch.get_metric_data(**kwargs)
        results += page["MetricDataResults"]
        token = page.get("NextToken")
        if not token:
            return results


def report(
    cloudwatch: Any,
    slo: SLO,
    *,
    service: str,
    namespace: str,
    endpoints: Iterable[tuple[str, str]],
    window_days: int | None = None,
    now: dt.datetime | None = None,
    stage: str | None = None,
) -> SLOReport:
    """Measure `slo` from CloudWatch over `window_days` (the SLO's own by default) ending `now`, from
    the metrics of `service` (and of `stage`, when the function writes a stage dimension)."""
    routes = _routes(slo, endpoints)
    owner = (service, stage)
    days = window_days or slo.window_days
    end = now or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=days)
    totals = _query(cloudwatch, namespace, owner, routes, start, end, 3600, "Sum", ("Requests", "ServerErrors"))
    requests, errors = _sum_series(totals, "r"), _sum_series(totals, "s")
    recent = _query(
        cloudwatch,
        namespace,
        owner,
        routes,
        end - dt.timedelta(hours=1),
        end,
        3600,
        "Sum",
        ("Requests", "ServerErrors"),
    )
    requests_1h, errors_1h = _sum_series(recent, "r"), _sum_series(recent, "s")
    reasons: list[str] = []
    sli = remaining = burn = None
    if slo.availability is not None:
        budget = slo.error_budget
        if requests:
            sli = 1 - errors / requests
            remaining = 1 - (errors / requests) / budget
            if remaining <= 0:
                reasons.append(f"error budget spent ({remaining:.0%} left)")
        if requests_1h:
            burn = (errors_1h / requests_1h) / budget
            fast_alert = burn_alerts(slo)[0]
            fast = fast_alert.burn_rate
            if errors_1h / requests_1h >= burn_threshold(slo, fast_alert)[0]:
                reasons.append(f"burning {burn:.1f}x the budget over the last hour (page at {fast}x)")
    p99 = None
    if slo.latency_p99_ms is not None:
        latency = _query(cloudwatch, namespace, owner, routes, start, end, 86400, "p99", ("Latency",))
        values = [v for r in latency for v in r["Values"]]
        p99 = max(values) if values else None  # the worst day's p99 (percentiles do not add up across days)
        if p99 is not None and p99 > slo.latency_p99_ms:
            reasons.append(f"p99 {p99:.0f} ms above the {slo.latency_p99_ms:.0f} ms objective")
    return SLOReport(
        name=slo.name,
        objective=slo.availability,
        window_days=days,
        requests=requests,
        errors=errors,
        sli=sli,
        budget_remaining=remaining,
        burn_rate_1h=burn,
        latency_objective_ms=slo.latency_p99_ms,
        latency_p99_ms=p99,
        freeze=bool(reasons),
        reasons=reasons,
    )


def markdown(reports: list[SLOReport], stage: str) -> str:
    """The weekly-report form of `lift slo report --markdown`."""
    lines = [
        f"# SLO report: {stage}",
        "",
        "| SLO | objective | SLI | budget left | burn (1 h) | p99 | release |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in reports:
        sli = f"{r.sli * 100:.3f}%" if r.sli is not None else "no traffic"
        left = f"{r.budget_remaining * 100:.1f}%" if r.budget_remaining is not None else "-"
        burn = f"{r.burn_rate_1h:.2f}x" if r.burn_rate_1h is not None else "-"
        p99 = f"{r.latency_p99_ms:.0f} ms" if r.latency_p99_ms is not None else "-"
        objective = f"{r.objective}%" if r.objective is not None else f"p99 {r.latency_objective_ms} ms"
        verdict = "FREEZE: " + "; ".join(r.reasons) if r.freeze else "ok"
        lines.append(f"| {r.label} | {objective} | {sli} | {left} | {burn} | {p99} | {verdict} |")
    return "\n".join(lines) + "\n"
