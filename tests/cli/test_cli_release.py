"""`lift release`, `lift rollback` and `lift slo report` against moto server, as a user runs them."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile

import boto3
import pytest

from tests.deploy.conftest import gate_alarm

APP = """
from lift import App

app = App("{service}")
app.slo("orders", availability=99.5, routes=["POST /orders"])

@app.post("/orders", status=201)
def create(body: dict) -> dict:
    return body
"""

PYPROJECT = """
[tool.lift]
app = "app:app"

[tool.lift.stages.prod]
region = "us-east-1"

[tool.lift.stages.prod.release]
strategy = "canary"
percent = 20
interval = 1
poll_seconds = 0.2
alarms = ["{alarm}"]
"""


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", text)
    return buf.getvalue()


def make_project(tmp_path, moto_endpoint):
    service = f"shop{uuid.uuid4().hex[:6]}"
    alarm = f"{service}-errors"
    (tmp_path / "app.py").write_text(textwrap.dedent(APP.format(service=service)))
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(alarm=alarm))
    iam = boto3.client("iam", endpoint_url=moto_endpoint)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    role = iam.create_role(RoleName=f"{service}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    lam = boto3.client("lambda", endpoint_url=moto_endpoint)
    function = f"{service}-prod"
    lam.create_function(
        FunctionName=function, Runtime="python3.12", Role=role, Handler="app.app", Code={"ZipFile": _zip("v1")}
    )
    old = lam.publish_version(FunctionName=function)["Version"]
    lam.create_alias(FunctionName=function, Name="live", FunctionVersion=old)
    lam.update_function_code(FunctionName=function, ZipFile=_zip("v2"))
    cw = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    gate_alarm(cw, alarm)
    return service, function, alarm, old, lam, cw


def test_release_promotes_then_rollback_goes_back(cli, tmp_path, moto_endpoint):
    service, function, _alarm, old, lam, _cw = make_project(tmp_path, moto_endpoint)
    result = cli("release", "prod", "--endpoint-url", moto_endpoint, "--json", cwd=tmp_path)
    assert result.code == 0, result
    out = result.json()
    assert out["verdict"] == "promoted"
    assert [e["percent"] for e in out["events"] if e["kind"] == "shift"] == [20, 100]
    new = lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
    assert new != old and "20% of traffic" in result.stderr and "promoted" in result.stderr
    back = cli("rollback", "prod", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert back.code == 0, back
    assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == old


def test_release_with_a_firing_gate_exits_1_and_keeps_the_old_version(cli, tmp_path, moto_endpoint):
    _service, function, alarm, old, lam, cw = make_project(tmp_path, moto_endpoint)
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5xx spike")
    result = cli("release", "prod", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert result.code == 1 and "rolled_back" in result.stderr and "5xx spike" in result.stderr
    assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == old


def test_slo_report_as_markdown(cli, tmp_path, moto_endpoint):
    service, *_rest, cw = make_project(tmp_path, moto_endpoint)
    dims = [  # what the prod function writes (its LIFT_STAGE is the stage dimension)
        {"Name": "service", "Value": service},
        {"Name": "stage", "Value": "prod"},
        {"Name": "route", "Value": "/orders"},
        {"Name": "method", "Value": "POST"},
    ]
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    cw.put_metric_data(
        Namespace=service,
        MetricData=[
            {"MetricName": "Requests", "Dimensions": dims, "Value": 2000, "Timestamp": at},
            {"MetricName": "ServerErrors", "Dimensions": dims, "Value": 20, "Timestamp": at},
        ],
    )
    result = cli("slo", "report", "prod", "--endpoint-url", moto_endpoint, "--markdown", cwd=tmp_path)
    # 1% errors against a 0.5% budget: the budget is overspent twice over, releases freeze (exit 1)
    assert result.code == 1, result
    assert "| orders | 99.5% | 99.000% | -100.0% |" in result.stdout and "FREEZE: error budget spent" in result.stdout
    for window in ("0d", "91d"):  # 0d was read as the SLO's own 30 days, silently
        refused = cli("slo", "report", "prod", "--endpoint-url", moto_endpoint, "--window", window, cwd=tmp_path)
        assert refused.code == 2 and f"--window takes 1 to 90 days (an SLO's windows), e.g. 30d, not '{window}'" in (
            " ".join(refused.stderr.split())
        )


# SIGINT as a terminal's Ctrl-C delivers it, even under a runner started with SIGINT ignored
LIFT = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('lift.cli', run_name='__main__')",
]


def release_in_the_background(tmp_path, moto_endpoint) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.Popen(
        [*LIFT, "release", "prod", "--endpoint-url", moto_endpoint],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_the_canary(proc: subprocess.Popen, *lambdas) -> None:
    """Until every alias sends part of its traffic to the new version (the canary step is on)."""
    deadline = time.monotonic() + 60
    while True:
        weights = [lam.get_alias(FunctionName=fn, Name="live").get("RoutingConfig") for lam, fn in lambdas]
        if all(w and w.get("AdditionalVersionWeights") for w in weights):
            return
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the canary step never started"
        time.sleep(0.1)


def interrupt(proc: subprocess.Popen, signum: int = signal.SIGINT) -> tuple[int, str]:
    proc.send_signal(signum)
    try:
        _out, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, " ".join(stderr.split())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm-of-a-cancelled-ci-job"])
def test_ctrl_c_mid_shift_puts_the_alias_back_on_the_old_version(tmp_path, moto_endpoint, signum):
    _service, function, _alarm, old, lam, _cw = make_project(tmp_path, moto_endpoint)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("interval = 1", "interval = 120"))  # a canary step to interrupt
    proc = release_in_the_background(tmp_path, moto_endpoint)
    wait_for_the_canary(proc, (lam, function))
    code, stderr = interrupt(proc, signum)
    assert code == 130, stderr
    assert f"rolled back to version {old}: interrupted (Ctrl-C)" in stderr and "Release interrupted" in stderr
    assert f"[us-east-1] {function}:live is on version {old}" in stderr
    alias = lam.get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == old and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_ctrl_c_mid_rollout_puts_every_region_back(tmp_path, moto_endpoint):
    """Two regions released in parallel, each release in its own thread: Ctrl-C reaches the main
    thread only, which must stop both shifts and put both aliases back."""
    _service, function, alarm, old, lam, cw = make_project(tmp_path, moto_endpoint)
    west = boto3.client("lambda", endpoint_url=moto_endpoint, region_name="eu-west-1")
    role = lam.get_function(FunctionName=function)["Configuration"]["Role"]
    west.create_function(
        FunctionName=function, Runtime="python3.12", Role=role, Handler="app.app", Code={"ZipFile": _zip("v1")}
    )
    west_old = west.publish_version(FunctionName=function)["Version"]
    west.create_alias(FunctionName=function, Name="live", FunctionVersion=west_old)
    west.update_function_code(FunctionName=function, ZipFile=_zip("v2"))
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text().replace("interval = 1", 'interval = 120\nrollout = "parallel"')
    pyproject.write_text(
        text.replace('region = "us-east-1"', 'region = "us-east-1"\nregions = ["us-east-1", "eu-west-1"]')
    )
    # the gate alarm has to exist in each region (alarms are regional)
    gate_alarm(boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="eu-west-1"), alarm, ok=False)
    proc = release_in_the_background(tmp_path, moto_endpoint)
    wait_for_the_canary(proc, (lam, function), (west, function))
    code, stderr = interrupt(proc)
    assert code == 130, stderr
    assert "interrupted (Ctrl-C): every region released is back on its old version" in stderr
    for client, version in ((lam, old), (west, west_old)):
        alias = client.get_alias(FunctionName=function, Name="live")
        assert alias["FunctionVersion"] == version
        assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert f"[eu-west-1] {function}:live is on version {west_old}" in stderr
    assert f"[eu-west-1] rolled back to version {west_old}: interrupted (Ctrl-C)" in stderr
    assert f"[us-east-1] rolled back to version {old}: interrupted (Ctrl-C)" in stderr
    assert "version None" not in stderr


def test_lift_dr_setup_makes_the_front_door_and_failover_needs_it(cli, tmp_path, moto_endpoint):
    """`lift dr failover` on a stage whose front door was never made ended in botocore's traceback
    (a record with HealthCheckId None), and no command made it; `lift dr setup` does, idempotently."""
    from lift.deploy import dr

    route53 = boto3.client("route53", endpoint_url=moto_endpoint)
    zone = route53.create_hosted_zone(Name=f"{uuid.uuid4().hex[:6]}.example.com", CallerReference=uuid.uuid4().hex)
    zone_id, record = zone["HostedZone"]["Id"], f"api.{zone['HostedZone']['Name']}".rstrip(".")
    (tmp_path / "app.py").write_text(textwrap.dedent(APP.format(service=f"dr{uuid.uuid4().hex[:6]}")))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lift]\napp = "app:app"\n\n[tool.lift.stages.prod]\nregions = ["us-east-1", "eu-west-1"]\n\n'
        f'[tool.lift.stages.prod.dr]\nzone_id = "{zone_id}"\nrecord = "{record}"\n'
        'hosts = { "us-east-1" = "use1.example.com", "eu-west-1" = "euw1.example.com" }\n'
    )
    early = cli("dr", "failover", "prod", "--to", "eu-west-1", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert early.code == 2 and "no failover record for us-east-1, eu-west-1" in early.stderr.replace("\n", " ")
    assert "lift dr setup" in early.stderr and "Traceback" not in early.stderr
    made = cli("dr", "setup", "prod", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert made.code == 0, made
    out = made.json()
    assert out["serving"] == "us-east-1" and [r["role"] for r in out["regions"]] == ["PRIMARY", "SECONDARY"]
    checks = out["health_checks"]
    listed = route53.list_health_checks()["HealthChecks"]
    assert {c["HealthCheckConfig"]["FullyQualifiedDomainName"] for c in listed if c["Id"] in checks.values()} == {
        "use1.example.com",
        "euw1.example.com",
    }
    door = dr.FrontDoor(zone_id, record, [dr.Region("us-east-1", "use1.example.com"), dr.Region("eu-west-1", "euw1")])
    dr.failover(route53, door, "eu-west-1", verify=lambda region: True)
    again = cli("dr", "setup", "prod", "--endpoint-url", moto_endpoint, cwd=tmp_path).json()
    assert again["serving"] == "eu-west-1" and again["health_checks"] == checks  # the failover stays, no new check
    assert len(route53.list_health_checks()["HealthChecks"]) == len(listed)


def test_lift_dr_failover_notifies_the_stages_topic_from_its_own_region(cli, tmp_path, moto_endpoint):
    """docs/disaster-recovery.md's stage: the topic in us-east-1, a failover to eu-west-1. The SNS
    client was the target region's, SNS refused the topic's ARN there, and the command died with a
    traceback after flipping the records, the incident entry lost. A front door in a zone that does
    not hold its record is AWS's refusal in one line (exit 1), not a traceback."""
    route53 = boto3.client("route53", endpoint_url=moto_endpoint)
    zone = route53.create_hosted_zone(Name=f"{uuid.uuid4().hex[:6]}.example.com", CallerReference=uuid.uuid4().hex)
    zone_id, record = zone["HostedZone"]["Id"], f"api.{zone['HostedZone']['Name']}".rstrip(".")
    sns = boto3.client("sns", region_name="us-east-1", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_endpoint)
    topic = sns.create_topic(Name=f"dr-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"dr-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    (tmp_path / "app.py").write_text(textwrap.dedent(APP.format(service=f"dr{uuid.uuid4().hex[:6]}")))
    config = (
        '[tool.lift]\napp = "app:app"\n\n[tool.lift.stages.prod.dr]\n'
        f'zone_id = "{zone_id}"\nrecord = "{record}"\nnotify_topic_arn = "{topic}"\n'
        # closed local ports: the check of the new primary is refused at once, no DNS, no wait
        'hosts = { "us-east-1" = "127.0.0.1:9", "eu-west-1" = "127.0.0.1:19" }\n'
    )
    (tmp_path / "pyproject.toml").write_text(config)
    assert cli("dr", "setup", "prod", "--endpoint-url", moto_endpoint, cwd=tmp_path).code == 0
    moved = cli("dr", "failover", "prod", "--to", "eu-west-1", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert moved.code == 1 and "Traceback" not in moved.stderr, moved  # 1: the new primary does not answer
    entry = moved.json()
    assert (entry["from"], entry["to"], entry["new_primary_answers"]) == ("us-east-1", "eu-west-1", False)
    assert "notify_error" not in entry and "not notified" not in moved.stderr
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"])["to"] == "eu-west-1"
    (tmp_path / "pyproject.toml").write_text(config.replace(record, "api.elsewhere.example.org"))
    refused = cli("dr", "setup", "prod", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert refused.code == 1 and "Traceback" not in refused.stderr, refused
    assert "InvalidChangeBatch" in refused.stderr and "api.elsewhere.example.org" in refused.stderr


def test_release_and_rollback_of_a_stage_never_deployed_say_so_in_one_line(cli, tmp_path, moto_endpoint):
    """Both were a botocore traceback (PublishVersion / GetAlias: function not found)."""
    service = f"gone{uuid.uuid4().hex[:6]}"
    (tmp_path / "app.py").write_text(textwrap.dedent(APP.format(service=service)))
    (tmp_path / "pyproject.toml").write_text('[tool.lift]\napp = "app:app"\nregion = "us-east-1"\n')
    for command in ("release", "rollback"):
        result = cli(command, "qa", "--endpoint-url", moto_endpoint, cwd=tmp_path)
        assert result.code == 1 and "Traceback" not in result.stderr, result
        message = " ".join(result.stderr.split())
        assert f"[us-east-1] {service}-qa:live: " in message and "Function not found" in message
        assert "is the stage deployed there? lift deploy STAGE" in message


def test_slo_report_of_a_stage_in_two_regions_measures_each(cli, tmp_path, moto_endpoint):
    """Only the first region's CloudWatch was read: eu-west-1 burning its whole budget showed
    nowhere, and releases were not frozen."""
    service = f"shop{uuid.uuid4().hex[:6]}"
    (tmp_path / "app.py").write_text(textwrap.dedent(APP.format(service=service)))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lift]\napp = "app:app"\n\n[tool.lift.stages.prod]\nregions = ["us-east-1", "eu-west-1"]\n'
    )
    dims = [
        {"Name": "service", "Value": service},
        {"Name": "stage", "Value": "prod"},
        {"Name": "route", "Value": "/orders"},
        {"Name": "method", "Value": "POST"},
    ]
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    for region, errors in (("us-east-1", 0), ("eu-west-1", 20)):  # 1% in eu-west-1, over the 0.5% budget
        boto3.client("cloudwatch", region_name=region, endpoint_url=moto_endpoint).put_metric_data(
            Namespace=service,
            MetricData=[
                {"MetricName": "Requests", "Dimensions": dims, "Value": 2000, "Timestamp": at},
                {"MetricName": "ServerErrors", "Dimensions": dims, "Value": errors, "Timestamp": at},
            ],
        )
    result = cli("slo", "report", "prod", "--endpoint-url", moto_endpoint, "--markdown", cwd=tmp_path)
    assert result.code == 1, result  # eu-west-1's budget is spent: releases freeze
    assert "| orders [us-east-1] | 99.5% | 100.000% | 100.0% |" in result.stdout
    assert "| orders [eu-west-1] | 99.5% | 99.000% | -100.0% |" in result.stdout
