"""Safe releases on one region: shift a Lambda alias from the old version to the new one step by
step, watch the gates between steps, promote or roll back.

The shift is Lambda's own weighted alias (`RoutingConfig.AdditionalVersionWeights`), so what a
step promises is what Lambda routes. Between steps the orchestrator polls the gates: the
CloudWatch alarms named in the release config (any in `ALARM` fails the release) and, when set,
the new version's own error rate (`AWS/Lambda` `Errors`/`Invocations` by `ExecutedVersion`).
A failed gate, an error or Ctrl-C puts the alias back on the old version at 100%. The alias
description records the version it replaced, so `lift rollback` can go back after a promotion.

Strategies (the same names as the template-native engine, SAM `DeploymentPreference`):
- `all-at-once`: 100% at once, gates watched for the bake time.
- `canary`: `percent` for `interval` seconds, then 100%.
- `linear`: `percent` more every `interval` seconds until 100%.
- `blue-green`: the new version is checked by `health_check` before any traffic, then 100% at
  once; the old version stays published for an instant `lift rollback`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Release", "ReleasePlan", "ReleaseResult", "Step", "hook_invoker", "plan_for", "rollback_alias"]

Strategy = Literal["all-at-once", "canary", "linear", "blue-green"]
STRATEGIES = ("all-at-once", "canary", "linear", "blue-green")


@dataclass(frozen=True)
class Step:
    """Send `percent` of the alias's traffic to the new version and watch the gates for `seconds`."""

    percent: float
    seconds: float


@dataclass(frozen=True)
class ReleasePlan:
    strategy: Strategy
    steps: tuple[Step, ...]
    alarms: tuple[str, ...] = ()
    max_error_rate: float | None = None  # of the new version, e.g. 0.01
    poll_seconds: float = 10.0


def plan_for(
    strategy: str,
    *,
    percent: float = 10,
    interval: float = 300,
    bake: float = 0,
    alarms: tuple[str, ...] | list[str] = (),
    max_error_rate: float | None = None,
    poll_seconds: float = 10.0,
) -> ReleasePlan:
    """The steps of `strategy`: canary `percent` for `interval` s then 100%; linear `percent` more
    every `interval` s; all-at-once and blue-green 100% and `bake` seconds of watching."""
    if strategy not in STRATEGIES:
        raise ValueError(f"release strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if not 0 < percent < 100:
        raise ValueError(f"release percent must be between 0 and 100, not {percent}")
    if strategy == "canary":
        steps = (Step(percent, interval), Step(100, bake))
    elif strategy == "linear":
        points = []  # i x percent, not a running sum: 0.1 added 1000 times is 99.99999999999986, a 100% step early
        while (current := round((len(points) + 1) * percent, 4)) < 100:
            points.append(Step(current, interval))
        steps = (*points, Step(100, bake))
    else:
        steps = (Step(100, bake),)
    return ReleasePlan(strategy, steps, tuple(alarms), max_error_rate, poll_seconds)  # type: ignore[arg-type]


@dataclass
class ReleaseResult:
    """How a release ended: `promoted`, `rolled_back`, `interrupted` or `refused` (the alias was mid-shift:
    another release's, left alone), why, and what happened when."""

    verdict: str
    reason: str
    function: str
    alias: str
    old_version: str | None
    new_version: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == "promoted"


class GateFailed(Exception):
    """A gate failed: an alarm in ALARM, an error rate over the limit, a failed health check."""


class Release:
    """One release of `function`'s `alias` to a new version, following `plan`."""

    def __init__(
        self,
        lambda_client: Any,
        cloudwatch: Any,
        function: str,
        alias: str,
        plan: ReleasePlan,
        *,
        health_check: Callable[[str], bool] | None = None,
        hooks: dict[str, Callable[[str], Any]] | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lambda_client, self.cloudwatch = lambda_client, cloudwatch
        self.function, self.alias, self.plan = function, alias, plan
        self.health_check = health_check
        self.hooks = hooks or {}  # "pre"/"post" -> fn(new version) -> an outcome with .ok and .reason
        self.on_event = on_event
        self._stop = threading.Event()  # set by interrupt(): wakes the wait between gate checks
        self.sleep, self.clock = sleep or self._stop.wait, clock
        self.old_version: str | None = None
        self.new_version: str | None = None
        self.events: list[dict[str, Any]] = []

    def _event(self, kind: str, **data: Any) -> None:
        event = {"at": time.time(), "kind": kind, "region": self._region(), **data}
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _region(self) -> str | None:
        return getattr(getattr(self.lambda_client, "meta", None), "region_name", None)

    # -- the alias ----------------------------------------------------------------------------------
    def _current(self) -> dict[str, Any] | None:
        try:
            return dict(self.lambda_client.get_alias(FunctionName=self.function, Name=self.alias))
        except Exception as exc:
            if type(exc).__name__ == "ResourceNotFoundException" or "ResourceNotFound" in str(exc):
                return None
            raise

    def _route(self, percent: float) -> None:
        assert self.new_version is not None
        if self.old_version is None or percent >= 100:
            self.lambda_client.update_alias(
                FunctionName=self.function,
                Name=self.alias,
                FunctionVersion=self.new_version,
                RoutingConfig={"AdditionalVersionWeights": {}},
                Description=f"lift: previous version {self.old_version}" if self.old_version else "lift",
            )
        else:
            self.lambda_client.update_alias(
                FunctionName=self.function,
                Name=self.alias,
                FunctionVersion=self.old_version,
                RoutingConfig={"AdditionalVersionWeights": {self.new_version: round(percent / 100, 4)}},
            )
        self._event("shift", percent=percent, new_version=self.new_version, old_version=self.old_version)

    def rollback(self, reason: str) -> None:
        """Put the alias back on the old version at 100% (a Ctrl-C meanwhile does not cut it short)."""
        from lift.deploy.interrupts import holding_interrupts

        if self.old_version is None:
            return
        with holding_interrupts():
            self.lambda_client.update_alias(
                FunctionName=self.function,
                Name=self.alias,
                FunctionVersion=self.old_version,
                RoutingConfig={"AdditionalVersionWeights": {}},
            )
        self._event("rollback", reason=reason, version=self.old_version)

    def interrupt(self) -> None:
        """Ctrl-C from another thread (a multi-region rollout): the release rolls back at its next
        gate check and ends `interrupted`, as if it had been interrupted itself."""
        self._stop.set()

    # -- gates ------------------------------------------------------------------------------------------
    def check_gates(self) -> None:
        """Raise GateFailed when a gating alarm is in ALARM or the new version errs too often."""
        if self.plan.alarms:
            alarms = self._gate_alarms()
            missing = sorted(set(self.plan.alarms) - {alarm["AlarmName"] for alarm in alarms})
            if missing:  # a typo, another region, a stack not deployed yet: a gate that could never fire
                raise GateFailed(
                    f"gate alarm {', '.join(missing)} does not exist in {self._region() or 'this region'}: "
                    "the release would be watched by nothing"
                )
            for alarm in alarms:
                if alarm.get("StateValue") == "ALARM":
                    raise GateFailed(f"alarm {alarm['AlarmName']} is in ALARM: {alarm.get('StateReason', '')}")
        if self.plan.max_error_rate is not None and self.new_version is not None:
            rate = self.error_rate()
            if rate is not None and rate > self.plan.max_error_rate:
                raise GateFailed(
                    f"version {self.new_version} error rate {rate:.2%} is over {self.plan.max_error_rate:.2%}"
                )

    def _gate_alarms(self) -> list[dict[str, Any]]:
        """The plan's alarms as CloudWatch describes them, metric and composite ones: DescribeAlarms
        without AlarmTypes answers metric alarms only, so an SLO burn-rate (composite) alarm would
        never be seen, however it fired."""
        pages = self.cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=list(self.plan.alarms), AlarmTypes=["CompositeAlarm", "MetricAlarm"]
        )
        return [alarm for page in pages for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])]

    def error_rate(self, minutes: int = 10) -> float | None:
        """The new version's Errors/Invocations over the last `minutes` (None without invocations)."""
        import datetime as dt

        end = dt.datetime.now(dt.UTC)
        dims = [
            {"Name": "FunctionName", "Value": self.function},
            {"Name": "Resource", "Value": f"{self.function}:{self.alias}"},
            {"Name": "ExecutedVersion", "Value": str(self.new_version)},
        ]
        queries = [
            {
                "Id": name.lower(),
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for name in ("Errors", "Invocations")
        ]
        data = self.cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=end - dt.timedelta(minutes=minutes), EndTime=end
        )
        sums = {r["Id"]: sum(r["Values"]) for r in data["MetricDataResults"]}
        invocations = sums.get("invocations", 0)
        return sums.get("errors", 0) / invocations if invocations else None

    def _hook(self, phase: str) -> None:
        """Run the `phase` hook (pre/post-traffic) on the new version; GateFailed when it fails."""
        run = self.hooks.get(phase)
        if run is None:
            return
        assert self.new_version is not None
        outcome = run(self.new_version)
        self._event("hook", phase=phase, ok=outcome.ok, reason=outcome.reason)
        if not outcome.ok:
            raise GateFailed(f"{phase}-traffic hook failed: {outcome.reason}")

    def _watch(self, seconds: float) -> None:
        deadline = self.clock() + seconds
        while True:
            if self._stop.is_set():
                raise KeyboardInterrupt
            self.check_gates()
            left = deadline - self.clock()
            if left <= 0:
                return
            self.sleep(min(self.plan.poll_seconds, left))

    # -- the release --------------------------------------------------------------------------------------
    def run(self, new_version: str | None = None) -> ReleaseResult:
        """Publish a version (unless `new_version` is given) and shift the alias to it."""
        current = self._current()
        shifting = ((current or {}).get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if current is not None and shifting:  # another release's shift: never take it over or undo it
            self.new_version = new_version or ""  # (old_version stays None: rollback() must not touch it)
            weights = ", ".join(f"{round(w * 100, 2):g}% to version {v}" for v, w in sorted(shifting.items()))
            return self._result(
                "refused",
                f"{self.function}:{self.alias} is mid-shift ({weights}, the rest on version "
                f"{current['FunctionVersion']}): another release is under way. Wait for its verdict; if none runs "
                f"(one was killed mid-shift), put the alias on one version (aws lambda update-alias --function-name "
                f"{self.function} --name {self.alias} --function-version {current['FunctionVersion']} "
                "--routing-config AdditionalVersionWeights={}) and release again",
            )
        if new_version is None:
            new_version = str(self.lambda_client.publish_version(FunctionName=self.function)["Version"])
        self.new_version = new_version
        self.old_version = current["FunctionVersion"] if current else None
        self._event("start", strategy=self.plan.strategy, old_version=self.old_version, new_version=new_version)
        if current is None:
            self.lambda_client.create_alias(FunctionName=self.function, Name=self.alias, FunctionVersion=new_version)
            self._event("shift", percent=100, new_version=new_version, old_version=None)
            return self._result("promoted", "first release: the alias now points at the new version")
        if self.old_version == new_version:
            return self._result("promoted", "no change: the alias already points at this version")
        try:
            self.check_gates()  # a gate already failing before any traffic moves stops the release
            if self.plan.strategy == "blue-green" and self.health_check is not None:
                if not self.health_check(new_version):
                    raise GateFailed(f"version {new_version} failed its health check before taking traffic")
                self._event("health", version=new_version, ok=True)
            self._hook("pre")  # before any traffic: a failure leaves the alias untouched
            for step in self.plan.steps:
                self._route(step.percent)
                self._watch(step.seconds)
            self._hook("post")  # the new version has all the traffic: a failure rolls it back
        except GateFailed as exc:
            self.rollback(str(exc))
            return self._result("rolled_back", str(exc))
        except KeyboardInterrupt:
            self.rollback("interrupted (Ctrl-C)")
            return self._result("interrupted", "interrupted (Ctrl-C): the alias is back on the old version")
        except Exception as exc:
            self.rollback(f"{type(exc).__name__}: {exc}")
            raise
        return self._result("promoted", f"{self.alias} now serves version {new_version} at 100%")

    def _result(self, verdict: str, reason: str) -> ReleaseResult:
        self._event("verdict", verdict=verdict, reason=reason)
        assert self.new_version is not None
        return ReleaseResult(
            verdict, reason, self.function, self.alias, self.old_version, self.new_version, self.events
        )


def hook_invoker(lambda_client: Any, hook_function: str, *, hook: str, phase: str, function: str, alias: str) -> Any:
    """A `Release` hook that invokes the deployed hook function (`lift.release_hooks.handler`)
    with the new version and reads its outcome; a function error is a failed hook."""
    import json

    from lift.release_hooks import HOOK_EVENT_KEY, HookOutcome

    def run(version: str) -> HookOutcome:
        request = {"hook": hook, "phase": phase, "function": function, "alias": alias, "version": version}
        try:
            response = lambda_client.invoke(
                FunctionName=hook_function, Payload=json.dumps({HOOK_EVENT_KEY: request}).encode()
            )
            body = response["Payload"].read()
            answer = json.loads(body) if body else {}
        except Exception as exc:
            return HookOutcome("Failed", f"could not invoke {hook_function}: {type(exc).__name__}: {exc}")
        if response.get("FunctionError") or not isinstance(answer, dict):
            return HookOutcome("Failed", f"{hook_function} failed: {answer}")
        return HookOutcome(str(answer.get("status", "Failed")), str(answer.get("reason", "")))

    return run


def rollback_alias(lambda_client: Any, function: str, alias: str) -> tuple[str, str]:
    """Point `alias` back at the version its last promotion replaced (recorded in its description);
    returns (from version, to version)."""
    current = lambda_client.get_alias(FunctionName=function, Name=alias)
    description = current.get("Description") or ""
    marker = "lift: previous version "
    if marker not in description:
        raise ValueError(f"{function}:{alias} records no previous version to roll back to")
    previous = description.split(marker, 1)[1].split()[0]
    lambda_client.update_alias(
        FunctionName=function,
        Name=alias,
        FunctionVersion=previous,
        RoutingConfig={"AdditionalVersionWeights": {}},
        Description=f"lift: rolled back from {current['FunctionVersion']}",
    )
    return str(current["FunctionVersion"]), previous
