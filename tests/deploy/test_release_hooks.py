"""Pre/post-traffic hooks: the hook function's handler (a CodeDeploy lifecycle event or a
`lift release` request) and the Lift engine running the hooks around the shift, against moto.

moto 5.x has no CodeDeploy `PutLifecycleEventHookExecutionStatus` (its server answers 500), so
the CodeDeploy path is checked on the real boto3 call sent to the moto endpoint: the parameters
botocore serialized (`before-call`), then moto's refusal. moto runs Lambda code only in Docker
(absent here), so `lift release` invoking a deployed hook function is not run end to end: the
Release tests run the hooks through `lift.release_hooks.run_hook`, the code the hook function runs.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
import botocore.config
import pytest

from lift import App, release_hooks
from lift.deploy.releases import Release, plan_for
from lift.release_hooks import HOOK_EVENT_KEY, ReleaseCheck, run_hook
from tests.deploy.test_releases import Service, role_arn  # noqa: F401 (role_arn is a fixture)

CORPUS = Path("/work/shared/corpus/events/powertools-lambda-python/codeDeployLifecycleHookEvent.json")
CONTEXT = SimpleNamespace(aws_request_id="5f9a0d7e-1111-2222-3333-444455556666")

APP_MODULE = """
from lift import App

app = App(name="hooked")

@app.release_hook("smoke")
def smoke(check):
    return check.version == "7"

@app.release_hook
def explodes(check):
    raise RuntimeError("database unreachable from the new version")
"""


def codedeploy_event() -> dict:
    """CodeDeploy's lifecycle hook event (the AWS sample when the corpus is here; it has two keys)."""
    if CORPUS.exists():
        return json.loads(CORPUS.read_text())
    return {"DeploymentId": "d-ABCDEF", "LifecycleEventHookExecutionId": "xxxxxxxxxxxxxxxxxxxxxxxx"}


@pytest.fixture
def hook_env(tmp_path, monkeypatch):
    """A deployed hook function's environment: its app module importable, LIFT_RELEASE_* set."""
    module = f"hookapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(APP_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    env = {
        "LIFT_RELEASE_APP": f"{module}.app",
        "LIFT_RELEASE_HOOK": "smoke",
        "LIFT_RELEASE_PHASE": "pre",
        "LIFT_RELEASE_FUNCTION": "hooked-prod",
        "LIFT_RELEASE_ALIAS": "live",
        "LIFT_RELEASE_VERSION": "arn:aws:lambda:us-east-1:123456789012:function:hooked-prod:7",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    sys.modules.pop(module, None)


@pytest.fixture
def codedeploy_calls(moto_endpoint, monkeypatch):
    """The hook handler's CodeDeploy client on the moto endpoint; every call's parameters, as sent."""
    client = boto3.client(
        "codedeploy",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )
    calls: list[dict] = []
    client.meta.events.register(
        "before-call.codedeploy.PutLifecycleEventHookExecutionStatus",
        lambda params, **_: calls.append(json.loads(params["body"])),
    )
    monkeypatch.setattr(release_hooks, "_codedeploy", client)
    return calls


def test_a_lift_release_request_gets_the_hooks_verdict(hook_env) -> None:
    ok = release_hooks.handler({HOOK_EVENT_KEY: {"hook": "smoke", "phase": "pre", "version": "7"}}, CONTEXT)
    assert ok == {"status": "Succeeded", "reason": "hook smoke passed on version 7"}
    refused = release_hooks.handler({HOOK_EVENT_KEY: {"hook": "smoke", "phase": "pre", "version": "8"}}, CONTEXT)
    assert refused == {"status": "Failed", "reason": "hook smoke returned False for version 8"}


def test_an_exception_or_an_unknown_hook_is_a_failure_with_its_reason(hook_env, caplog) -> None:
    raised = release_hooks.handler({HOOK_EVENT_KEY: {"hook": "explodes", "phase": "post", "version": "7"}}, CONTEXT)
    assert raised == {"status": "Failed", "reason": "RuntimeError: database unreachable from the new version"}
    assert "Traceback" in caplog.text and CONTEXT.aws_request_id in caplog.text
    unknown = release_hooks.handler({HOOK_EVENT_KEY: {"hook": "smok", "version": "7"}}, CONTEXT)
    assert unknown["status"] == "Failed" and "registered: explodes, smoke" in unknown["reason"]
    with pytest.raises(ValueError, match="CodeDeploy lifecycle event or a lift release request"):
        release_hooks.handler({"Records": []}, CONTEXT)


def test_codedeploy_is_told_the_outcome_with_the_events_ids(hook_env, codedeploy_calls, monkeypatch) -> None:
    event = codedeploy_event()
    monkeypatch.setenv("LIFT_RELEASE_VERSION", "7")
    with pytest.raises(Exception, match="PutLifecycleEventHookExecutionStatus"):
        release_hooks.handler(event, CONTEXT)
    monkeypatch.setenv("LIFT_RELEASE_HOOK", "explodes")
    with pytest.raises(Exception, match="PutLifecycleEventHookExecutionStatus"):
        release_hooks.handler(event, CONTEXT)
    ids = {
        "deploymentId": event["DeploymentId"],
        "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
    }
    assert codedeploy_calls == [{**ids, "status": "Succeeded"}, {**ids, "status": "Failed"}]


def test_an_app_that_fails_to_import_still_answers_codedeploy(hook_env, codedeploy_calls, monkeypatch) -> None:
    monkeypatch.setenv("LIFT_RELEASE_APP", "no_such_module_here.app")
    with pytest.raises(Exception, match="PutLifecycleEventHookExecutionStatus"):
        release_hooks.handler(codedeploy_event(), CONTEXT)
    assert [c["status"] for c in codedeploy_calls] == ["Failed"]  # never an hour of CodeDeploy waiting


def test_release_hook_registration() -> None:
    app = App(name="reg")

    @app.release_hook
    def smoke(check: ReleaseCheck) -> bool:
        return True

    assert app.release_hooks == {"smoke": smoke} and App(name="other").release_hooks == {}
    with pytest.raises(ValueError, match="already registered"):
        app.release_hook("smoke")(smoke)
    with pytest.raises(ValueError, match="letters, digits"):
        app.release_hook("no spaces")(smoke)


# -- the Lift engine runs the hooks ------------------------------------------------------------------
class HookedService(Service):
    """A function on moto with the hooks of an app that checks the new version's own configuration."""

    def __init__(self, endpoint: str, role: str) -> None:
        super().__init__(endpoint, role)
        self.app = App(name="hooked")
        self.seen: list[tuple] = []

        @self.app.release_hook("code-is-new")
        def code_is_new(check: ReleaseCheck) -> bool:  # reads the version being released from Lambda
            alias = self.alias()
            weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights") or {}
            self.seen.append((check.phase, alias["FunctionVersion"], weights))
            config = check.lambda_client.get_function_configuration(
                FunctionName=check.function, Qualifier=check.version
            )
            return config["Version"] == check.version and check.version != self.old

        @self.app.release_hook("refuses")
        def refuses(check: ReleaseCheck) -> bool:
            self.seen.append((check.phase, "refused", {}))
            return False

    def runner(self, name: str, phase: str):
        return lambda version: run_hook(
            self.app, name, ReleaseCheck(self.name, version, "live", phase, lambda_client=self.lam)
        )

    def hooked_release(self, pre: str = "code-is-new", post: str = "code-is-new") -> Release:
        plan = plan_for("canary", percent=10, interval=0, alarms=[self.alarm], poll_seconds=1)
        hooks = {"pre": self.runner(pre, "pre"), "post": self.runner(post, "post")}
        return Release(self.lam, self.cw, self.name, "live", plan, hooks=hooks, sleep=lambda s: None)


@pytest.fixture
def hooked(moto_endpoint, role_arn) -> HookedService:
    return HookedService(moto_endpoint, role_arn)


def test_hooks_pass_before_any_traffic_and_after_all_of_it(hooked) -> None:
    result = hooked.hooked_release().run()
    assert result.ok
    # the pre hook ran before any traffic moved; the post hook once the new version had all of it
    assert hooked.seen == [("pre", hooked.old, {}), ("post", result.new_version, {})]
    kinds = [(e["kind"], e.get("phase") or e.get("percent")) for e in result.events if e["kind"] in ("hook", "shift")]
    assert kinds == [("hook", "pre"), ("shift", 10), ("shift", 100), ("hook", "post")]
    assert hooked.alias()["FunctionVersion"] == result.new_version


def test_a_failing_pre_traffic_hook_moves_no_traffic(hooked) -> None:
    result = hooked.hooked_release(pre="refuses").run()
    assert result.verdict == "rolled_back" and "pre-traffic hook failed" in result.reason
    assert not [e for e in result.events if e["kind"] == "shift"]
    alias = hooked.alias()
    assert alias["FunctionVersion"] == hooked.old and not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")


def test_a_failing_post_traffic_hook_rolls_back_to_the_old_version(hooked) -> None:
    result = hooked.hooked_release(post="refuses").run()
    assert result.verdict == "rolled_back" and "post-traffic hook failed" in result.reason
    assert [e["percent"] for e in result.events if e["kind"] == "shift"] == [10, 100]
    assert hooked.alias()["FunctionVersion"] == hooked.old
    assert [e["kind"] for e in result.events][-3:] == ["hook", "rollback", "verdict"]


def test_hook_invoker_reads_a_failed_invocation_as_a_failed_hook(moto_endpoint) -> None:
    from lift.deploy.releases import hook_invoker

    lam = boto3.client("lambda", endpoint_url=moto_endpoint, region_name="us-east-1")
    run = hook_invoker(
        lam, "CodeDeployHook_missing-prod-pre", hook="smoke", phase="pre", function="missing", alias="live"
    )
    outcome = run("3")
    assert not outcome.ok and "could not invoke CodeDeployHook_missing-prod-pre" in outcome.reason
    assert "ResourceNotFound" in outcome.reason or "not found" in outcome.reason.lower()
