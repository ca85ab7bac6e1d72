"""Pre- and post-traffic checks of a release: `@app.release_hook("smoke")`, named by the stage's
`[tool.lift.stages.S.release] pre_traffic = "smoke"` / `post_traffic = ...`.

    @app.release_hook("smoke")
    def smoke(check: ReleaseCheck) -> bool:
        result = check.invoke({"ping": True})       # the new version, before it takes traffic
        return result == {"pong": True}

A hook returns True (or None) for "go on" and False, or raises, for "roll back". It runs in a
Lambda function of its own (`CodeDeployHook_<function>-pre` / `-post`, same package as the app,
handler `lift.release_hooks.handler`), so it sees what the app sees (VPC, secrets) and needs no
operator credentials. Two callers, one code path (`run_hook`):
- CodeDeploy (`engine = "codedeploy"`) invokes it with `{"DeploymentId", "LifecycleEventHookExecutionId"}`;
  Lift runs the hook and reports its outcome with `PutLifecycleEventHookExecutionStatus` (always,
  even when the hook raises or the app fails to import: CodeDeploy would otherwise wait an hour).
- `lift release` (`engine = "lift"`) invokes it with `{"liftReleaseHook": {...}}` and reads the
  returned `{"status": "Succeeded"|"Failed", "reason": ...}`.
Only the standard library is imported here; boto3 (in the Lambda runtime) when a client is needed.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReleaseCheck", "HookOutcome", "register", "run_hook", "handler", "HOOK_EVENT_KEY"]

HOOK_EVENT_KEY = "liftReleaseHook"  # the payload `lift release` invokes a hook function with
PHASES = ("pre", "post")
logger = logging.getLogger("lift.release")


@dataclass
class ReleaseCheck:
    """What a hook is given: the function, the new version, the alias and the phase; `invoke` calls
    the new version directly (never the alias, so the check never depends on the traffic split)."""

    function: str
    version: str  # the new version's number ("7"), or its qualified ARN
    alias: str
    phase: str  # "pre" (before any traffic) or "post" (after 100%)
    deployment_id: str | None = None  # CodeDeploy's, when CodeDeploy runs the release
    lambda_client: Any = field(default=None, repr=False)

    @property
    def qualified_name(self) -> str:
        """`function:version`, or the version's ARN when that is what was given."""
        return self.version if self.version.startswith("arn:") else f"{self.function}:{self.version}"

    def invoke(self, event: Any) -> Any:
        """Invoke the new version with `event` and return its decoded result; raises RuntimeError when
        the function failed (`FunctionError`), with the error it reported."""
        if self.lambda_client is None:
            import boto3

            self.lambda_client = boto3.client("lambda")
        response = self.lambda_client.invoke(
            FunctionName=self.qualified_name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        body = response["Payload"].read()
        result = json.loads(body) if body else None
        if response.get("FunctionError"):
            raise RuntimeError(f"version {self.version} failed: {result}")
        return result


@dataclass(frozen=True)
class HookOutcome:
    """`Succeeded` or `Failed` (CodeDeploy's words) and why."""

    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "Succeeded"

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status, "reason": self.reason}


def register(app: Any, name: str, fn: Callable[[ReleaseCheck], Any]) -> None:
    """Add hook `name` to `app.release_hooks` (what `app.release_hook` calls)."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"release hook name {name!r}: letters, digits, '-' and '_' only")
    hooks = dict(getattr(app, "release_hooks", {}))
    if name in hooks:
        raise ValueError(f"release hook {name!r} is already registered")
    hooks[name] = fn
    app.release_hooks = hooks


def run_hook(app: Any, name: str, check: ReleaseCheck) -> HookOutcome:
    """Run hook `name` of `app` on `check`: True/None -> Succeeded; False or an exception -> Failed
    (the exception is logged with its traceback, its message is the reason)."""
    hooks = getattr(app, "release_hooks", {}) or {}
    fn = hooks.get(name)
    if fn is None:
        known = ", ".join(sorted(hooks)) or "none"
        return HookOutcome("Failed", f"no release hook named {name!r} (registered: {known})")
    try:
        result = fn(check)
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(_awaited(result))
    except Exception as exc:
        logger.error("release hook %s failed on %s\n%s", name, check.qualified_name, traceback.format_exc())
        return HookOutcome("Failed", f"{type(exc).__name__}: {exc}"[:500])
    if result is False:
        return HookOutcome("Failed", f"hook {name} returned False for version {check.version}")
    return HookOutcome("Succeeded", f"hook {name} passed on version {check.version}")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _load_app(ref: str) -> Any:
    """`module.attr` (the app function's Lambda handler string) -> the App."""
    module, _, attr = ref.rpartition(".")
    return getattr(importlib.import_module(module), attr)


_codedeploy: Any = None


def _codedeploy_client() -> Any:
    global _codedeploy
    if _codedeploy is None:
        import boto3

        _codedeploy = boto3.client("codedeploy")
    return _codedeploy


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """The Lambda entry point of a hook function. Its environment (set by the deployment) names
    the app (`LIFT_RELEASE_APP`), the hook (`LIFT_RELEASE_HOOK`), the phase, the function, the
    alias and, under CodeDeploy, the version being deployed (`LIFT_RELEASE_VERSION`)."""
    env = os.environ
    request = event.get(HOOK_EVENT_KEY) if isinstance(event, dict) else None
    codedeploy = isinstance(event, dict) and "DeploymentId" in event and "LifecycleEventHookExecutionId" in event
    if request is None and not codedeploy:
        raise ValueError("a release hook function takes a CodeDeploy lifecycle event or a lift release request")
    request = request or {}
    check = ReleaseCheck(
        function=request.get("function") or env.get("LIFT_RELEASE_FUNCTION", ""),
        version=str(request.get("version") or env.get("LIFT_RELEASE_VERSION", "")),
        alias=request.get("alias") or env.get("LIFT_RELEASE_ALIAS", ""),
        phase=request.get("phase") or env.get("LIFT_RELEASE_PHASE", ""),
        deployment_id=event.get("DeploymentId"),
    )
    name = request.get("hook") or env.get("LIFT_RELEASE_HOOK", "")
    try:
        outcome = run_hook(_load_app(env["LIFT_RELEASE_APP"]), name, check)
    except Exception as exc:  # the app failed to import: still an answer, never a silent hour of waiting
        logger.error("release hook %s: the app failed to load\n%s", name, traceback.format_exc())
        outcome = HookOutcome("Failed", f"the app failed to load: {type(exc).__name__}: {exc}"[:500])
    log = logger.info if outcome.ok else logger.error
    request_id = getattr(context, "aws_request_id", None)
    log(
        "release hook %s (%s) on %s: %s %s [request %s]",
        name,
        check.phase,
        check.qualified_name,
        *outcome.to_dict().values(),
        request_id,
    )
    if codedeploy:
        _codedeploy_client().put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"],
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status=outcome.status,
        )
    return outcome.to_dict()
