"""Disaster recovery with Route 53: health checks on each region's `/health/ready`, failover
(active/passive) or latency (active/active) records, status, planned failover and drills.

AWS does the detecting: every region's health check asks `/health/ready` every 10 seconds and is
unhealthy after 3 failures in a row, so Route 53 stops answering with a dead region about 30
seconds after it dies (plus the record's TTL in resolvers' caches: 60 s here). Nothing in Lift
has to be running for that to happen. What Lift adds is the setup (`front_door_resources`, or
`ensure_front_door` through the API, `lift dr setup`), `status`, a planned `failover` (flip the records, check the
new primary answers, notify and record the incident) and `drill` (fail over and back, timed).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FrontDoor",
    "Region",
    "drill",
    "ensure_front_door",
    "failover",
    "front_door_resources",
    "status",
    "url_answers",
]

REQUEST_INTERVAL = 10  # seconds between Route 53 health checks (the "fast" interval)
FAILURE_THRESHOLD = 3  # consecutive failures before a region is unhealthy: ~30 s
RECORD_TTL = 60


@dataclass(frozen=True)
class Region:
    """One region's front: its API host name (e.g. the regional custom domain) and health path."""

    name: str
    host: str
    health_path: str = "/health/ready"


@dataclass
class FrontDoor:
    """`record` (e.g. api.example.com) in hosted zone `zone_id`, served by `regions`: the first is
    the primary in active/passive mode; active/active answers with the lowest-latency healthy one."""

    zone_id: str
    record: str
    regions: list[Region]
    mode: str = "active-passive"  # or "active-active"
    health_checks: dict[str, str] = field(default_factory=dict)  # region -> health check id

    def __post_init__(self) -> None:
        if self.mode not in ("active-passive", "active-active"):
            raise ValueError(f"front door mode must be active-passive or active-active, not {self.mode!r}")
        if len(self.regions) < 2:
            raise ValueError("a front door needs at least two regions")
        if self.mode == "active-passive" and len(self.regions) > 2:
            raise ValueError("active-passive failover records take one primary and one secondary region")


def _health_check_config(region: Region) -> dict[str, Any]:
    return {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": region.host,
        "Port": 443,
        "ResourcePath": region.health_path,
        "RequestInterval": REQUEST_INTERVAL,
        "FailureThreshold": FAILURE_THRESHOLD,
    }


def _record_set(door: FrontDoor, region: Region, role: str | None, health_check: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Name": door.record,
        "Type": "CNAME",
        "SetIdentifier": region.name,
        "TTL": RECORD_TTL,
        "ResourceRecords": [{"Value": region.host}],
        "HealthCheckId": health_check,
    }
    if door.mode == "active-passive":
        record["Failover"] = role
    else:
        record["Region"] = region.name
    return record


def front_door_resources(door: FrontDoor) -> dict[str, dict[str, Any]]:
    """The same setup as CloudFormation resources: a health check per region and the records."""
    resources: dict[str, dict[str, Any]] = {}
    for i, region in enumerate(door.regions):
        logical = "".join(p.capitalize() for p in region.name.split("-"))
        resources[f"HealthCheck{logical}"] = {
            "Type": "AWS::Route53::HealthCheck",
            "Properties": {
                "HealthCheckConfig": _health_check_config(region),
                "HealthCheckTags": [{"Key": "lift:region", "Value": region.name}],
            },
        }
        role = "PRIMARY" if i == 0 else "SECONDARY"
        record = _record_set(door, region, role, {"Ref": f"HealthCheck{logical}"})
        record["HostedZoneId"] = door.zone_id
        record["ResourceRecords"] = [r["Value"] for r in record["ResourceRecords"]]  # plain strings in templates
        resources[f"Record{logical}"] = {"Type": "AWS::Route53::RecordSet", "Properties": record}
    return resources


def ensure_front_door(route53: Any, door: FrontDoor) -> FrontDoor:
    """Create the health checks and upsert the records. Run again (`lift dr setup` after a change),
    it keeps each region's health check and failover role from its record: one health check per
    region however often it runs, and a failover stays where it was put."""
    existing = {r["SetIdentifier"]: r for r in _records(route53, door)}
    changes = []
    for i, region in enumerate(door.regions):
        found = existing.get(region.name, {})
        if region.name not in door.health_checks and found.get("HealthCheckId"):
            door.health_checks[region.name] = found["HealthCheckId"]
        if region.name in door.health_checks and not _aim_health_check(
            route53, door.health_checks[region.name], region
        ):
            del door.health_checks[region.name]  # deleted meanwhile (by hand): made again below
        if region.name not in door.health_checks:
            created = route53.create_health_check(
                CallerReference=_caller_reference(region), HealthCheckConfig=_health_check_config(region)
            )
            door.health_checks[region.name] = created["HealthCheck"]["Id"]
        role = found.get("Failover") or ("PRIMARY" if i == 0 else "SECONDARY")
        record = _record_set(door, region, role, door.health_checks[region.name])
        changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
    route53.change_resource_record_sets(HostedZoneId=door.zone_id, ChangeBatch={"Changes": changes})
    return door


def _caller_reference(region: Region) -> str:
    """CreateHealthCheck's CallerReference: one of its own for each check. Route 53 refuses a
    reference it has seen (HealthCheckAlreadyExists) unless the settings are the same, and always
    once that check is deleted; `lift-<record>-<region>` cut to 64 characters was one reference
    for every region of a long record name, and could never be used again after a check was deleted."""
    import uuid

    return f"lift-{region.name}-{uuid.uuid4().hex}"


def _aim_health_check(route53: Any, check_id: str, region: Region) -> bool:
    """Point a kept health check at the region's host and health path as configured now: a changed
    `hosts` entry moves the record, and the check must follow it, or Route 53 would fail over on
    the health of the old host. False when the check no longer exists."""
    try:
        current = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
    except Exception as exc:
        if type(exc).__name__ == "NoSuchHealthCheck" or "NoSuchHealthCheck" in str(exc):
            return False
        raise
    wanted = _health_check_config(region)
    keys = ("FullyQualifiedDomainName", "ResourcePath", "Port")
    if any(current.get(key) != wanted[key] for key in keys):
        route53.update_health_check(HealthCheckId=check_id, **{key: wanted[key] for key in keys})
    return True


def _records(route53: Any, door: FrontDoor) -> list[dict[str, Any]]:
    """The front door's records. DNS names are case-insensitive and Route 53 answers them in lower
    case: `record = "API.example.com"` must still find "api.example.com."."""
    name = door.record.rstrip(".").lower() + "."
    found = route53.list_resource_record_sets(HostedZoneId=door.zone_id, StartRecordName=name)["ResourceRecordSets"]
    return [r for r in found if r["Name"].lower() == name and r.get("SetIdentifier")]


def _healthy(route53: Any, health_check_id: str) -> bool:
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
    reports = [o["StatusReport"]["Status"] for o in observations]
    return bool(reports) and sum(r.startswith("Success") for r in reports) * 2 > len(reports)


def status(
    route53: Any, door: FrontDoor, *, cloudwatch_for: Callable[[str], Any] | None = None, table: str | None = None
) -> dict[str, Any]:
    """Each region's Route 53 health, which one is serving (the primary record's region in
    active/passive), and the global table's replication lag into each region when `table` is given."""
    records = _records(route53, door)
    by_region = {r["SetIdentifier"]: r for r in records}
    regions = []
    for region in door.regions:
        record = by_region.get(region.name, {})
        check = record.get("HealthCheckId") or door.health_checks.get(region.name)
        entry: dict[str, Any] = {
            "region": region.name,
            "host": region.host,
            "role": record.get("Failover") or ("LATENCY" if record.get("Region") else None),
            "healthy": _healthy(route53, check) if check else None,
        }
        if table and cloudwatch_for is not None:
            entry["replication_latency_ms"] = replication_latency(cloudwatch_for(region.name), table, region.name)
        regions.append(entry)
    primary = next((r for r in regions if r["role"] == "PRIMARY"), None)
    if door.mode == "active-passive":
        serving = (
            primary["region"]
            if primary and primary["healthy"] is not False
            else next((r["region"] for r in regions if r["role"] == "SECONDARY" and r["healthy"]), None)
        )
    else:
        serving = ", ".join(r["region"] for r in regions if r["healthy"]) or None
    return {"record": door.record, "mode": door.mode, "serving": serving, "regions": regions}


def replication_latency(cloudwatch: Any, table: str, receiving_region: str) -> float | None:
    """The latest `ReplicationLatency` (ms) of global table `table` into `receiving_region`."""
    import datetime as dt

    end = dt.datetime.now(dt.UTC)
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "lag",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/DynamoDB",
                        "MetricName": "ReplicationLatency",
                        "Dimensions": [
                            {"Name": "TableName", "Value": table},
                            {"Name": "ReceivingRegion", "Value": receiving_region},
                        ],
                    },
                    "Period": 60,
                    "Stat": "Average",
                },
            }
        ],
        StartTime=end - dt.timedelta(minutes=15),
        EndTime=end,
    )
    values = data["MetricDataResults"][0]["Values"]
    return float(values[0]) if values else None


def url_answers(url: str, timeout: float = 5.0) -> bool:
    """Whether a GET of `url` answers 2xx within `timeout` seconds (a health check: any error is no)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except Exception:
        return False


def failover(
    route53: Any,
    door: FrontDoor,
    to_region: str,
    *,
    verify: Callable[[Region], bool] | None = None,
    notify: Callable[[str, dict[str, Any]], None] | None = None,
    scheme: str = "https",
) -> dict[str, Any]:
    """A planned failover: `to_region` becomes PRIMARY, the old primary SECONDARY; then check the
    new primary answers its health path. Returns the incident entry (also sent to `notify`)."""
    if door.mode != "active-passive":
        raise ValueError("failover applies to active-passive front doors (active-active already spreads traffic)")
    target = next((r for r in door.regions if r.name == to_region), None)
    if target is None:
        raise ValueError(f"{to_region} is not one of the front door's regions: {[r.name for r in door.regions]}")
    started = time.monotonic()
    records = {r["SetIdentifier"]: r for r in _records(route53, door)}
    missing = [r.name for r in door.regions if r.name not in records]
    if missing:  # without its record (and health check) a region cannot take traffic, nor give it back
        raise ValueError(
            f"{door.record} has no failover record for {', '.join(missing)} in zone {door.zone_id}: "
            "set the front door up first (lift dr setup STAGE)"
        )
    previous = next((name for name, r in records.items() if r.get("Failover") == "PRIMARY"), None)
    changes = []
    for region in door.regions:
        record = dict(records[region.name])
        record["Failover"] = "PRIMARY" if region.name == to_region else "SECONDARY"
        changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
    route53.change_resource_record_sets(
        HostedZoneId=door.zone_id, ChangeBatch={"Comment": f"lift dr failover to {to_region}", "Changes": changes}
    )
    flipped = time.monotonic()
    check = verify or (lambda r: url_answers(f"{scheme}://{r.host}{r.health_path}"))
    answered = check(target)
    entry = {
        "event": "dr.failover",
        "record": door.record,
        "from": previous,
        "to": to_region,
        "records_seconds": round(flipped - started, 3),
        "verify_seconds": round(time.monotonic() - flipped, 3),
        "new_primary_answers": answered,
        "at": time.time(),
    }
    if notify is not None:
        try:
            notify(f"Failover of {door.record} to {to_region}", entry)
        except Exception as exc:  # the records are flipped: the incident entry outlives its message
            entry["notify_error"] = f"{type(exc).__name__}: {exc}"
    return entry


def drill(
    route53: Any,
    door: FrontDoor,
    *,
    verify: Callable[[Region], bool] | None = None,
    notify: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Fail over to the secondary and back, timing each step; the report says whether both answered."""
    records = {r["SetIdentifier"]: r for r in _records(route53, door)}
    primary = next((name for name, r in records.items() if r.get("Failover") == "PRIMARY"), door.regions[0].name)
    secondary = next(r.name for r in door.regions if r.name != primary)
    started = time.monotonic()
    out = failover(route53, door, secondary, verify=verify, notify=notify)
    back = failover(route53, door, primary, verify=verify, notify=notify)
    return {
        "event": "dr.drill",
        "record": door.record,
        "steps": [out, back],
        "total_seconds": round(time.monotonic() - started, 3),
        "passed": out["new_primary_answers"] and back["new_primary_answers"],
    }


def sns_notifier(sns: Any, topic_arn: str) -> Callable[[str, dict[str, Any]], None]:
    """A `notify` for failover/drill that publishes to the stage's SNS topic."""
    import json

    def notify(subject: str, entry: dict[str, Any]) -> None:
        sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(entry, sort_keys=True))

    return notify
