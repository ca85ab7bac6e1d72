"""Terraform JSON from the deployment model: every resource checked against the AWS provider's
arguments, byte-identical output, the same infrastructure as the CloudFormation template, and
checkov's Terraform checks."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from lift.deploy import build_deployment, config_from_dict
from lift.deploy.cloudformation import render as render_cfn
from lift.deploy.terraform import render, to_files
from tests.deploy.conftest import full_app
from tests.deploy.test_cloudformation import CHECKOV, INSTALL_HINT, REGION, VARIANTS
from tests.services import ROOT

PROVIDER = json.loads((Path(__file__).parent / "data" / "terraform_aws_provider.json").read_text())


def deployment_for(variant: str):
    return build_deployment(
        full_app(), config_from_dict({"region": REGION, **VARIANTS[variant]}, "pyproject.toml"), "dev"
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_resource_uses_only_the_providers_arguments_and_all_required_ones(variant):
    main = render(deployment_for(variant))["main.tf.json"]
    meta = set(PROVIDER["_meta"])
    problems = []
    for kind, resources in main["resource"].items():
        assert kind in PROVIDER, f"{kind} has no provider data: add it from the provider documentation"
        allowed, required = set(PROVIDER[kind]["arguments"]) | meta, set(PROVIDER[kind]["required"])
        for name, body in resources.items():
            assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name
            problems += [f"{kind}.{name}: unknown argument {a}" for a in sorted(set(body) - allowed)]
            problems += [f"{kind}.{name}: missing {a}" for a in sorted(required - set(body))]
    assert problems == []


def test_references_point_at_resources_of_the_module():
    module = render(deployment_for("rest-snapstart"))
    main = module["main.tf.json"]
    declared = {f"{kind}.{name}" for kind, items in main["resource"].items() for name in items}
    text = json.dumps(module)
    used = set(re.findall(r"(?<!data\.)\b(aws_[a-z0-9_]+\.[a-z0-9_]+)\.[a-z_]+", text))
    assert used - declared == set() and len(used) > 20
    data = set(re.findall(r"data\.(aws_[a-z_]+)\.current", text))
    assert data <= set(main["data"])
    variables = set(module["variables.tf.json"]["variable"])
    assert set(re.findall(r"var\.([a-z_]+)", text)) <= variables
    assert "artifact_path" in variables and "default" not in module["variables.tf.json"]["variable"]["artifact_path"]


def test_the_same_app_gives_byte_identical_files():
    assert to_files(render(deployment_for("http"))) == to_files(render(deployment_for("http")))


def _cfn_inventory(template: dict) -> dict:
    res = template["Resources"]
    of = lambda kind: [r["Properties"] for r in res.values() if r["Type"] == kind]  # noqa: E731
    return {
        "functions": sorted(p["FunctionName"] for p in of("AWS::Lambda::Function")),
        "tables": sorted(
            (
                p["TableName"],
                p["KeySchema"][0]["AttributeName"],
                (p.get("TimeToLiveSpecification") or {}).get("AttributeName"),
            )
            for p in of("AWS::DynamoDB::Table")
        ),
        "mappings": sorted(
            (
                p["BatchSize"],
                p.get("MaximumBatchingWindowInSeconds", 0),
                tuple(p.get("FunctionResponseTypes", ())),
                p.get("StartingPosition"),
            )
            for p in of("AWS::Lambda::EventSourceMapping")
        ),
        "schedules": sorted((p["Name"], p["ScheduleExpression"]) for p in of("AWS::Scheduler::Schedule")),
        "routes": sorted(p["RouteKey"] for p in of("AWS::ApiGatewayV2::Route")),
        "queues": sorted(p["QueueName"] for p in of("AWS::SQS::Queue")),
        "rules": sorted(p["Name"] for p in of("AWS::Events::Rule")),
        "iam": sorted(
            (a, s["Sid"])
            for p in of("AWS::IAM::Role")
            for pol in p["Policies"]
            for s in pol["PolicyDocument"]["Statement"]
            for a in s["Action"]
        ),
    }


def _tf_inventory(module: dict) -> dict:
    res = module["main.tf.json"]["resource"]
    of = lambda kind: list(res.get(kind, {}).values())  # noqa: E731
    return {
        "functions": sorted(p["function_name"] for p in of("aws_lambda_function")),
        "tables": sorted(
            (p["name"], p["hash_key"], (p.get("ttl") or {}).get("attribute_name")) for p in of("aws_dynamodb_table")
        ),
        "mappings": sorted(
            (
                p["batch_size"],
                p.get("maximum_batching_window_in_seconds", 0),
                tuple(p.get("function_response_types", ())),
                p.get("starting_position"),
            )
            for p in of("aws_lambda_event_source_mapping")
        ),
        "schedules": sorted((p["name"], p["schedule_expression"]) for p in of("aws_scheduler_schedule")),
        "routes": sorted(p["route_key"] for p in of("aws_apigatewayv2_route")),
        "queues": sorted(p["name"] for p in of("aws_sqs_queue")),
        "rules": sorted(p["name"] for p in of("aws_cloudwatch_event_rule")),
        "iam": sorted(
            (a, s["Sid"])
            for p in of("aws_iam_role_policy")
            for s in json.loads(p["policy"])["Statement"]
            for a in s["Action"]
        ),
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_terraform_and_cloudformation_describe_the_same_infrastructure(variant):
    deployment = deployment_for(variant)
    cfn, tf = _cfn_inventory(render_cfn(deployment)), _tf_inventory(render(deployment))
    assert tf == cfn
    assert cfn["functions"] and cfn["mappings"] and cfn["iam"]  # the comparison compared something


def _justified_checks() -> set[str]:
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text.split("## Terraform checkov findings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (CKV2?_AWS_\d+) \|", section, flags=re.M))


def test_checkov_terraform_findings_are_all_justified_in_the_docs(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}; {INSTALL_HINT}", pytrace=False)
    for variant in VARIANTS:
        folder = tmp_path / variant
        folder.mkdir()
        for name, text in to_files(render(deployment_for(variant))).items():
            (folder / name).write_text(text)
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(tmp_path),
            "--framework",
            "terraform_json",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = {c["check_id"] for r in reports for c in r["results"]["failed_checks"]}
    assert sum(r["summary"]["parsing_errors"] for r in reports) == 0
    assert sum(r["summary"]["passed"] for r in reports) > 50  # checkov really read the modules
    assert failed - _justified_checks() == set(), "checkov findings without a justification in docs/deploy.md"
    assert _justified_checks() - failed == set(), "docs/deploy.md justifies checks that no longer fail"


def test_lift_synth_writes_the_terraform_module(tmp_path: Path) -> None:
    from tests.deploy.test_cli_synth import CONFIG, lift, project

    root = project(tmp_path, CONFIG)
    result = lift("synth", "prod", "--format", "terraform", "-o", "infra", cwd=root)
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (root / "infra").iterdir())
    assert files == ["main.tf.json", "outputs.tf.json", "variables.tf.json"]
    main = json.loads((root / "infra" / "main.tf.json").read_text())
    [function] = main["resource"]["aws_lambda_function"].values()
    assert function["handler"] == "notes.app" and function["filename"] == "${var.artifact_path}"
    variables = json.loads((root / "infra" / "variables.tf.json").read_text())["variable"]
    assert variables["memory_size"]["default"] == 1024
    assert "sqs:ReceiveMessage" in result.stdout
    again = lift("synth", "prod", "--format", "terraform", "-o", "infra2", cwd=root)
    assert again.returncode == 0
    assert all((root / "infra" / f).read_bytes() == (root / "infra2" / f).read_bytes() for f in files)
