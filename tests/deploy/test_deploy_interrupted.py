"""Ctrl-C during `lift deploy`, for real: `lift` runs in a subprocess against moto server and gets
SIGINT while it waits on CloudFormation.

moto executes a change set inside ExecuteChangeSet, so there is no wait to interrupt; an HTTP proxy
(tests/deploy/aws_proxy.py) forwards every call to moto and holds moto's answer to the first
DescribeStacks (or DescribeChangeSet) until the test has pressed Ctrl-C. What moto received is
asserted from the proxy's record; the stack's state from moto itself.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from tests.deploy.aws_proxy import AwsProxy
from tests.deploy.test_deploy_moto import APP, lift, project_with_package

# SIGINT as a terminal's Ctrl-C delivers it, even when the test runner was started with SIGINT
# ignored (a background job), which a child would inherit and Python would then keep
LIFT = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('lift.cli', run_name='__main__')",
]


@pytest.fixture
def proxy(moto_endpoint: str):
    proxy = AwsProxy(moto_endpoint)
    yield proxy
    proxy.close()


@pytest.fixture
def project(tmp_path: Path, packaged_app: Path) -> tuple[Path, str]:
    """A project of its own app name (its own stack on the shared moto server) and its package.zip."""
    name = f"int{uuid.uuid4().hex[:8]}"
    project_with_package(tmp_path, APP.format(name=name), packaged_app)
    return tmp_path, f"{name}-dev"


def run_held(cwd: Path, proxy: AwsProxy, args: list[str], hold: str, after: str, act) -> tuple[int, str]:
    """Run `lift *args` through the proxy; while moto's answer to the first `hold` after `after` is
    held, `act(proc)` (a signal, or the network going), then release it. (exit code, stderr)."""
    proxy.hold(hold, after=after)
    env = {**os.environ, "AWS_ENDPOINT_URL": proxy.url, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.Popen([*LIFT, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proxy.held.wait(90), f"lift never waited on {hold}: {proc.communicate(timeout=30)}"
        act(proc)
        proxy.release()
        _out, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, " ".join(stderr.split())  # rich wraps long lines


def interrupted_deploy(
    cwd: Path, proxy: AwsProxy, hold: str, after: str, signum: int = signal.SIGINT
) -> tuple[int, str]:
    """`lift deploy dev --yes` pressed Ctrl-C (or sent `signum`) while moto's answer to the first
    `hold` after `after` is held: (exit code, stderr)."""
    deploy = ["deploy", "dev", "--yes", "--package", "package.zip"]
    return run_held(cwd, proxy, deploy, hold, after, lambda proc: proc.send_signal(signum))


def stack_status(moto_endpoint: str, stack: str) -> str | None:
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == stack]
    live = [s["StackStatus"] for s in live if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def history(cwd: Path, moto_endpoint: str) -> list[dict]:
    shown = lift("deploy", "history", "dev", "--json", cwd=cwd, env={"AWS_ENDPOINT_URL": moto_endpoint})
    return json.loads(shown.stdout)


def test_ctrl_c_while_the_change_set_is_made_deletes_it_and_deploys_nothing(project, proxy, moto_endpoint):
    cwd, stack = project
    code, stderr = interrupted_deploy(cwd, proxy, "DescribeChangeSet", after="CreateChangeSet")
    assert code == 130, stderr
    assert "Interrupted before anything was deployed" in stderr and f"{stack} is as it was" in stderr
    names = proxy.names()
    assert "ExecuteChangeSet" not in names
    assert names.index("DeleteChangeSet") > names.index("CreateChangeSet") and "DeleteStack" in names
    assert stack_status(moto_endpoint, stack) is None  # not even the empty REVIEW_IN_PROGRESS stack


def test_ctrl_c_during_a_create_says_what_state_the_stack_is_in_and_records_it(project, proxy, moto_endpoint):
    cwd, stack = project
    code, stderr = interrupted_deploy(cwd, proxy, "DescribeStacks", after="ExecuteChangeSet")
    assert code == 130, stderr
    assert "Deploy interrupted (CREATE_COMPLETE): CloudFormation cannot cancel a stack create" in stderr
    # moto had finished the create inside ExecuteChangeSet: that is the state reported
    assert f"The create had already finished: {stack} is CREATE_COMPLETE" in stderr
    assert "Resume with `lift deploy dev`" in stderr
    assert "CancelUpdateStack" not in proxy.names()
    assert stack_status(moto_endpoint, stack) == "CREATE_COMPLETE"
    [record] = history(cwd, moto_endpoint)
    assert (record["outcome"], record["stack_status"]) == ("interrupted", "CREATE_COMPLETE")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm-of-a-cancelled-ci-job"])
def test_ctrl_c_during_an_update_cancels_it(project, proxy, moto_endpoint, signum):
    cwd, stack = project
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    first = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=cwd, env=env)
    assert first.returncode == 0, first.stderr
    app = (cwd / "app.py").read_text()
    (cwd / "app.py").write_text(app + '\n\n@app.get("/pong")\ndef pong() -> dict:\n    return {}\n')
    code, stderr = interrupted_deploy(cwd, proxy, "DescribeStacks", after="ExecuteChangeSet", signum=signum)
    assert code == 130, stderr
    assert f"Interrupted: cancelling the update of {stack}" in stderr
    names = proxy.names()
    assert names.index("CancelUpdateStack") > names.index("ExecuteChangeSet")
    [cancel] = [params for name, params in proxy.actions if name == "CancelUpdateStack"]
    assert cancel["StackName"] == stack
    # moto 5 has no CancelUpdateStack (it answers 500) and had finished the update anyway: Lift
    # says the cancel did not happen and what the stack is, instead of claiming a rollback
    assert "CloudFormation did not cancel the update: 500 Internal Server Error" in stderr
    assert f"The update had already finished: {stack} is UPDATE_COMPLETE and runs this deploy" in stderr
    assert stack_status(moto_endpoint, stack) == "UPDATE_COMPLETE"
    assert [r["outcome"] for r in history(cwd, moto_endpoint)] == ["created", "interrupted"]


def test_ctrl_c_at_the_confirmation_question_deletes_the_change_set(project, moto_endpoint):
    cwd, stack = project
    controller, terminal = pty.openpty()  # a terminal on stdin, so lift asks before deploying
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*LIFT, "deploy", "dev", "--package", "package.zip"],
        cwd=cwd,
        env=env,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(terminal)
    try:
        seen = ""
        while "Deploy these changes" not in seen:
            chunk = proc.stdout.readline()
            assert chunk or proc.poll() is None, f"lift ended without asking: {seen} {proc.stderr.read()}"
            seen += chunk
            if "Deploy these changes" in chunk or chunk.startswith("└"):
                break
        assert stack_status(moto_endpoint, stack) == "REVIEW_IN_PROGRESS"  # the change set waits for the answer
        proc.send_signal(signal.SIGINT)
        _out, stderr = proc.communicate(timeout=60)
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Not deployed; the change set was deleted." in stderr
    assert stack_status(moto_endpoint, stack) is None


def test_ctrl_c_during_destroy_says_where_the_delete_stands(project, proxy, moto_endpoint):
    cwd, stack = project
    first = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=cwd, env={"AWS_ENDPOINT_URL": moto_endpoint})
    assert first.returncode == 0, first.stderr
    ctrl_c = lambda proc: proc.send_signal(signal.SIGINT)  # noqa: E731
    code, stderr = run_held(cwd, proxy, ["destroy", "dev", "--yes"], "DescribeStacks", "DeleteStack", ctrl_c)
    assert code == 130, stderr
    # moto deletes inside DeleteStack: by the time lift looks, the delete has finished
    assert f"Interrupted: the delete had finished; {stack} is deleted." in stderr
    assert stack_status(moto_endpoint, stack) is None


def test_losing_aws_mid_deploy_says_what_is_known_instead_of_a_traceback(project, proxy, moto_endpoint):
    """The network (or the session's credentials) goes while lift follows the stack."""
    cwd, stack = project
    deploy = ["deploy", "dev", "--yes", "--package", "package.zip"]
    code, said = run_held(cwd, proxy, deploy, "DescribeStacks", "ExecuteChangeSet", lambda proc: proxy.cut())
    assert code == 1, said
    assert "Traceback" not in said
    assert f"Deploy outcome unknown (no status): lost contact with CloudFormation while following {stack}" in said
    assert "Its state cannot be read now; the create goes on in CloudFormation without lift" in said
    assert "The deployment record was not written" in said
    assert stack_status(moto_endpoint, stack) == "CREATE_COMPLETE"  # what moto had done meanwhile


def test_a_dropped_read_while_following_the_stack_is_retried_not_an_unknown_outcome(project, proxy, moto_endpoint):
    """One DescribeStacks lost on the network while lift follows the create: lift asks again (reads
    retry with backoff; the calls that change the stack never do) and reports the deploy as done."""
    cwd, stack = project
    proxy.drop("DescribeStacks", after="ExecuteChangeSet", times=2)
    env = {"AWS_ENDPOINT_URL": proxy.url, "COLUMNS": "200", "NO_COLOR": "1"}
    done = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=cwd, env=env)
    said = " ".join(done.stderr.split())
    assert done.returncode == 0, said
    assert "outcome unknown" not in said
    after = proxy.names()[proxy.names().index("ExecuteChangeSet") :]
    assert after.count("DescribeStacks") >= 3  # the two dropped, then the one answered
    assert proxy.names().count("ExecuteChangeSet") == 1
    assert stack_status(moto_endpoint, stack) == "CREATE_COMPLETE"
    assert [entry["outcome"] for entry in history(cwd, moto_endpoint)] == ["created"]
