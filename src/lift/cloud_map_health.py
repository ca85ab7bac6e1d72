"""The Cloud Map health reporter: a deployed service's instance is HEALTHY in Cloud Map exactly
while the app's readiness checks (the critical checks `/health/ready` runs) pass.

Cloud Map has no health checker of its own for HTTP namespaces, so the stage's Cloud Map service
is created with a custom health check (`HealthCheckCustomConfig`) and an EventBridge Scheduler
schedule (`[tool.lift.cloud_map] health_rate`, 1 minute by default) invokes the function with a
plain `Scheduled Event`. `App.handler` recognises that schedule by its name
(`LIFT_CLOUD_MAP_HEALTH_SCHEDULE`) and hands the event to `report`: it runs the checks in-process
and calls `servicediscovery:UpdateInstanceCustomHealthStatus` for the instance the stack
registered (`LIFT_CLOUD_MAP_SERVICE_ID`, `LIFT_CLOUD_MAP_INSTANCE_ID`). All three variables are set
by the deployment (every renderer); without them nothing here ever runs (`lift dev` sets none).

It logs one line per run (the verdict and the failing checks) and never raises: a Cloud Map error
is logged and the invocation still succeeds, so a throttled or denied call does not turn into
Lambda retries or error alarms. Only the standard library is imported here; boto3 on first report.
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = ["SCHEDULE_ENV", "SERVICE_ENV", "INSTANCE_ENV", "health_schedule", "report"]

SCHEDULE_ENV = "LIFT_CLOUD_MAP_HEALTH_SCHEDULE"  # the schedule's name: its events are health reports
SERVICE_ENV = "LIFT_CLOUD_MAP_SERVICE_ID"  # srv-...: the Cloud Map service the stack created
INSTANCE_ENV = "LIFT_CLOUD_MAP_INSTANCE_ID"  # the instance the stack registered (<service>-<stage>)

logger = logging.getLogger("lift.cloud_map")


def health_schedule() -> str | None:
    """The name of the schedule whose events are health reports (None when not deployed with one)."""
    return os.environ.get(SCHEDULE_ENV) or None


def report(app: Any, event: Any, context: Any) -> dict[str, Any]:
    """Run `app`'s critical health checks and set the instance's custom health status in Cloud Map.

    Returns `{"status": "HEALTHY"|"UNHEALTHY", "failing": [...], "reported": bool}` (EventBridge
    ignores it; tests and `lift invoke` read it)."""
    request_id = getattr(context, "aws_request_id", None)
    service_id = os.environ.get(SERVICE_ENV, "")
    instance_id = os.environ.get(INSTANCE_ENV, "")
    health = app.health.run(critical_only=True, use_cache=False)  # what /health/ready answers, fresh
    status = "HEALTHY" if health.healthy else "UNHEALTHY"
    failing = [f"{c.name} ({c.error or c.status})" for c in health.checks if c.critical and not c.ok]
    verdict = f"{status}, {len(health.checks)} checks" + (f", failing: {'; '.join(failing)}" if failing else "")
    extra = {"request_id": request_id, "cloud_map_status": status, "failing_checks": failing}
    problem = None
    if not service_id or not instance_id:
        problem = f"{SERVICE_ENV} and {INSTANCE_ENV} must name the service and instance"
    else:
        try:
            _client().update_instance_custom_health_status(ServiceId=service_id, InstanceId=instance_id, Status=status)
        except Exception as exc:  # throttled, denied, deleted, unreachable: logged, never a failed invocation
            problem = f"Cloud Map refused it: {type(exc).__name__}: {str(exc)[:300]}"
    if problem is not None:
        logger.error(
            "cloud map health: instance %s of %s is %s, not reported: %s (request %s)",
            instance_id or "(unset)",
            service_id or "(unset)",
            verdict,
            problem,
            request_id,
            extra=extra,
        )
        return {"status": status, "failing": failing, "reported": False}
    log = logger.info if health.healthy else logger.warning
    log(
        "cloud map health: instance %s of %s is %s (request %s)",
        instance_id,
        service_id,
        verdict,
        request_id,
        extra=extra,
    )
    return {"status": status, "failing": failing, "reported": True}


_cached: tuple[tuple[str | None, ...], Any] | None = None


def _client() -> Any:
    """One Cloud Map client per execution environment (remade if its region or endpoint changes:
    boto3 reads `AWS_ENDPOINT_URL_SERVICEDISCOVERY` / `AWS_ENDPOINT_URL` itself)."""
    global _cached
    env = os.environ
    key = (
        env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        env.get("AWS_ENDPOINT_URL_SERVICEDISCOVERY"),
        env.get("AWS_ENDPOINT_URL"),
    )
    if _cached is None or _cached[0] != key:
        import boto3
        from botocore.config import Config

        # short timeouts, two attempts: the next report comes within one schedule period anyway
        config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
        _cached = (key, boto3.client("servicediscovery", region_name=key[0], config=config))
    return _cached[1]
