"""The function's VPC, ephemeral storage and provisioned concurrency: settings checked against
Lambda's limits, rendered in every format (provisioned concurrency on the alias the triggers and a
release use), and passed by cfn-lint and checkov."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lift import App, Context
from lift.deploy import ConfigError, build_deployment, config_from_dict
from lift.deploy.cloudformation import render, to_json
from lift.deploy.terraform import render as render_terraform
from tests.deploy.checks import cfn_lint, checkov_failed
from tests.deploy.conftest import resources_of

SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d"]
GROUPS = ["sg-0a1b2c3d4e5f60718"]
SETTINGS: dict[str, Any] = {
    "region": "eu-west-1",
    "reserved_concurrency": 20,
    "provisioned_concurrency": 5,
    "ephemeral_storage": 2048,
    "vpc": {"subnets": SUBNETS, "security_groups": GROUPS},
}


def settings_app() -> App:
    app = App(name="shop")

    @app.get("/orders")
    def orders() -> dict[str, Any]:
        return {}

    @app.sqs("orders")
    def order(ctx: Context, body: dict[str, Any]) -> None: ...

    return app


def deployment(**changes: Any) -> Any:
    return build_deployment(settings_app(), config_from_dict({**SETTINGS, **changes}, "pyproject.toml"), "prod")


@pytest.mark.parametrize(
    "changes, key, why",
    [
        ({"ephemeral_storage": 256}, "ephemeral_storage", "512-10240"),
        ({"ephemeral_storage": 10241}, "ephemeral_storage", "512-10240"),
        ({"provisioned_concurrency": 0}, "provisioned_concurrency", ">= 1"),
        ({"provisioned_concurrency": 21}, "provisioned_concurrency", "above reserved_concurrency 20"),
        ({"vpc": {"subnets": ["subnet-1"], "security_groups": GROUPS}}, "vpc.subnets", "is not an id"),
        ({"vpc": {"subnets": [], "security_groups": GROUPS}}, "vpc.subnets", "1-16 subnets, not 0"),
        (
            {"vpc": {"subnets": [f"subnet-{i:08x}" for i in range(17)], "security_groups": GROUPS}},
            "vpc.subnets",
            "not 17",
        ),
        (
            {"vpc": {"subnets": SUBNETS, "security_groups": [f"sg-{i:08x}" for i in range(6)]}},
            "vpc.security_groups",
            "1-5",
        ),
        ({"vpc": {"subnets": SUBNETS, "security_groups": GROUPS * 2}}, "vpc.security_groups", "twice"),
        ({"vpc": {"subnets": SUBNETS}}, "vpc", "missing required field `security_groups`"),
    ],
)
def test_settings_outside_lambda_s_limits_are_clear_errors(changes: dict[str, Any], key: str, why: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_dict({**SETTINGS, **changes}, "pyproject.toml").stage("prod")
    assert key in str(error.value) and why in str(error.value), str(error.value)


def test_cloudformation_puts_the_function_in_the_vpc_and_provisions_the_alias_triggers_invoke() -> None:
    template = render(deployment())
    function = template["Resources"]["Function"]["Properties"]
    assert function["EphemeralStorage"] == {"Size": 2048}
    assert function["VpcConfig"] == {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS}
    assert function["ReservedConcurrentExecutions"] == 20
    [alias] = resources_of(template, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "prod"
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 5}
    [mapping] = resources_of(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionName"] == {"Ref": "FunctionAlias"}  # the provisioned instances serve it
    policy = json.dumps(template["Resources"]["FunctionRole"]["Properties"]["Policies"])
    assert "ec2:CreateNetworkInterface" in policy and "ec2:DeleteNetworkInterface" in policy
    assert cfn_lint(to_json(template)) == []
    sam = render(deployment(), "sam")["Resources"]["Function"]["Properties"]
    assert sam["AutoPublishAlias"] == "prod"
    assert sam["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 5}
    # none of it unless configured: a stage without these settings renders as before
    plain = build_deployment(settings_app(), config_from_dict({"region": "eu-west-1"}, "pyproject.toml"), "prod")
    props = render(plain)["Resources"]["Function"]["Properties"]
    assert not {"EphemeralStorage", "VpcConfig"} & set(props) and plain.traffic_alias is None


def test_a_canary_release_keeps_the_provisioned_concurrency_on_its_alias() -> None:
    release = {"strategy": "canary", "percent": 10, "interval": 300, "alias": "live"}
    d = deployment(release=release)
    assert d.traffic_alias == "live"
    [alias] = resources_of(render(d), "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 5}
    resources = render_terraform(d)["main.tf.json"]["resource"]
    [provisioned] = resources["aws_lambda_provisioned_concurrency_config"].values()
    [(alias_name, tf_alias)] = resources["aws_lambda_alias"].items()
    assert tf_alias["name"] == "live" and provisioned["qualifier"] == f"${{aws_lambda_alias.{alias_name}.name}}"
    assert provisioned["provisioned_concurrent_executions"] == 5


def test_terraform_renders_the_settings_and_checkov_passes_the_vpc_and_concurrency(tmp_path: Path) -> None:
    from lift.deploy.terraform import to_files

    d = deployment()
    resources = render_terraform(d)["main.tf.json"]["resource"]
    [function] = [f for f in resources["aws_lambda_function"].values() if f["function_name"] == "shop-prod"]
    assert function["ephemeral_storage"] == {"size": 2048}
    assert function["vpc_config"] == {"subnet_ids": SUBNETS, "security_group_ids": GROUPS}
    [provisioned] = resources["aws_lambda_provisioned_concurrency_config"].values()
    assert provisioned["provisioned_concurrent_executions"] == 5
    for name, text in to_files(render_terraform(d)).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "template.json").write_text(to_json(render(d)))
    failed = checkov_failed(tmp_path, "cloudformation terraform_json", 20)  # one run reads both
    assert not {"CKV_AWS_115", "CKV_AWS_117"} & failed, failed
    # findings docs/deploy.md justifies: checkov read both (CKV_AWS_272 is a Terraform check only)
    assert {"CKV_AWS_173", "CKV_AWS_272"} <= failed


def test_pulumi_creates_the_settings_and_the_alias_s_provisioned_concurrency(event_loop_for_pulumi: Any) -> None:
    from tests.deploy.test_pulumi import of, run

    recorder, _ = run(deployment())
    [function] = [f for f in of(recorder, "aws:lambda/function:Function") if f["name"] == "shop-prod"]
    assert function["ephemeralStorage"] == {"size": 2048}
    assert function["vpcConfig"] == {"subnetIds": SUBNETS, "securityGroupIds": GROUPS}
    [provisioned] = of(recorder, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert provisioned["provisionedConcurrentExecutions"] == 5 and provisioned["qualifier"] == "prod"
