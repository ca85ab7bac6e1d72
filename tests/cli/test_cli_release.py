"""`lift release`, `lift rollback` and `lift slo report` against moto server, as a user runs them."""

from __future__ import annotations

import datetime as dt
import io
import json
import textwrap
import uuid
import zipfile

import boto3

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
    cw.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="quiet")
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
    dims = [
        {"Name": "service", "Value": service},
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
