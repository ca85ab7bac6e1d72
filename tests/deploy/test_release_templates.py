"""Releases in the generated infrastructure: every trigger invokes the release alias; the
template-native engine (CodeDeploy through SAM DeploymentPreference, or the raw CloudFormation
resources) checked by cfn-lint, aws-sam-translator and checkov; the Lift engine's alias left to
`lift release`; hook functions; and what moto's CloudFormation makes of it."""

from __future__ import annotations

import io
import json
import os
import uuid
import warnings
import zipfile
from pathlib import Path

import boto3
import pytest

from lift import App
from lift.deploy import build_deployment, config_from_dict
from lift.deploy.cloudformation import render, to_json, to_yaml
from lift.deploy.config import ConfigError
from lift.deploy.model import ModelError
from tests.deploy.checks import cfn_lint, checkov_failed, justified_checks
from tests.deploy.conftest import full_app, resources_of
from tests.deploy.test_cloudformation import REGION

CANARY = {
    "strategy": "canary",
    "engine": "codedeploy",
    "percent": 10,
    "interval": 300,
    "alarms": ["shop-prod-errors", "shop-prod-slo-fast-burn"],
    "pre_traffic": "smoke",
    "post_traffic": "settled",
}


def template(release: dict | None, fmt: str = "cloudformation", **settings) -> dict:
    config = config_from_dict({"region": REGION, **settings, **({"release": release} if release else {})})
    return render(build_deployment(full_app(), config, "prod"), fmt)


def sam_translated(t: dict) -> dict:
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return transform(json.loads(json.dumps(t)), {}, None)


_TRIGGERS = (
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Url",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGateway::Method",
    "AWS::SNS::Subscription",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
)


def trigger_targets(t: dict, alias_id: str) -> tuple[int, list[str]]:
    """How many triggers reference `alias_id`, and those that reference the bare function instead."""
    aliased, bare = 0, []
    for logical, resource in t["Resources"].items():
        if resource["Type"] not in _TRIGGERS:
            continue
        text = json.dumps(resource["Properties"])
        if '"Protocol": "email"' in text:
            continue
        if f'"Ref": "{alias_id}"' in text or "${" + alias_id + "}" in text:
            aliased += 1
        if '["Function", "Arn"]' in text or "${Function.Arn}" in text or '"Ref": "Function"' in text:
            bare.append(logical)
    return aliased, bare


# -- every trigger invokes the alias -------------------------------------------------------------
@pytest.mark.parametrize("http", ["http", "rest", "url", "alb"])
@pytest.mark.parametrize("engine", ["lift", "codedeploy"])
def test_every_trigger_invokes_the_release_alias(http: str, engine: str) -> None:
    settings = {"http": http}
    if http == "alb":
        settings["alb"] = {"listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/w/1/2"}
    release = {"strategy": "canary", "engine": engine, "interval": 300}
    plain = template(None, **settings)
    assert trigger_targets(plain, "FunctionAlias")[0] == 0  # no release, no SnapStart: the function itself
    for fmt, alias_id in (
        ("cloudformation", "FunctionAlias"),
        ("sam", "FunctionAliaslive" if engine == "codedeploy" else "FunctionAlias"),
    ):
        t = template(release, fmt, **settings)
        aliased, bare = trigger_targets(t, alias_id)
        assert bare == [], f"{fmt}: these triggers invoke the function, not the alias"
        # HTTP front, SQS x2 + FIFO + Kinesis mappings, SNS, S3 + EventBridge rules, schedule, WebSocket
        assert aliased >= 9
        assert t["Outputs"]["AliasArn"] == {"Value": {"Ref": alias_id}}


def test_terraform_triggers_invoke_the_alias_and_leave_it_to_lift_release() -> None:
    from lift.deploy.terraform import render as render_tf

    config = config_from_dict({"region": REGION, "release": {"strategy": "linear", "alias": "prod-live"}})
    main = render_tf(build_deployment(full_app(), config, "prod"))["main.tf.json"]["resource"]
    alias = main["aws_lambda_alias"]["function_alias"]
    assert alias["name"] == "prod-live" and alias["function_version"] == "${aws_lambda_function.function.version}"
    assert alias["lifecycle"] == {"ignore_changes": ["function_version", "routing_config", "description"]}
    assert main["aws_lambda_function"]["function"]["publish"] is True
    arn = "${aws_lambda_alias.function_alias.arn}"
    targets = [m["function_name"] for m in main["aws_lambda_event_source_mapping"].values()]
    assert targets.count(arn) == len(targets) - 1 >= 3  # all but the jobs worker, a function of its own
    assert not any("aws_lambda_function.function." in t for t in targets)
    permissions = main["aws_lambda_permission"].values()
    assert permissions and all(p["qualifier"] == "${aws_lambda_alias.function_alias.name}" for p in permissions)
    integration = next(iter(main["aws_apigatewayv2_integration"].values()))
    assert "function_alias" in integration["integration_uri"]


def test_terraform_and_pulumi_refuse_the_codedeploy_engine_with_the_reason() -> None:
    from lift.deploy.terraform import render as render_tf

    deployment = build_deployment(full_app(), config_from_dict({"region": REGION, "release": CANARY}), "prod")
    with pytest.raises(ValueError, match="template-native in CloudFormation and SAM.*Terraform"):
        render_tf(deployment)


# -- the template-native engine ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "strategy, percent, interval, expected",
    [
        ("canary", 10, 300, "Canary10Percent5Minutes"),
        ("canary", 10, 1800, "Canary10Percent30Minutes"),
        ("linear", 10, 60, "Linear10PercentEvery1Minute"),
        ("linear", 10, 600, "Linear10PercentEvery10Minutes"),
        ("all-at-once", 10, 300, "AllAtOnce"),
        ("blue-green", 10, 300, "AllAtOnce"),
    ],
)
def test_strategies_map_to_codedeploys_predefined_configurations(strategy, percent, interval, expected) -> None:
    release = {"strategy": strategy, "engine": "codedeploy", "percent": percent, "interval": interval}
    sam = template(release, "sam")
    assert sam["Resources"]["Function"]["Properties"]["DeploymentPreference"]["Type"] == expected
    cfn = template(release)
    (group,) = resources_of(cfn, "AWS::CodeDeploy::DeploymentGroup").values()
    assert group["Properties"]["DeploymentConfigName"] == f"CodeDeployDefault.Lambda{expected}"
    assert resources_of(cfn, "AWS::CodeDeploy::DeploymentConfig") == {}


def test_custom_steps_get_a_deployment_config_of_their_own() -> None:
    release = {"strategy": "linear", "engine": "codedeploy", "percent": 25, "interval": 120}
    for fmt in ("cloudformation", "sam"):
        t = template(release, fmt)
        config = t["Resources"]["ReleaseConfig"]
        assert config["Type"] == "AWS::CodeDeploy::DeploymentConfig"
        assert config["Properties"] == {
            "ComputePlatform": "Lambda",
            "TrafficRoutingConfig": {
                "Type": "TimeBasedLinear",
                "TimeBasedLinear": {"LinearPercentage": 25, "LinearInterval": 2},
            },
        }
    sam = sam_translated(template(release, "sam"))
    assert sam["Resources"]["FunctionDeploymentGroup"]["Properties"]["DeploymentConfigName"] == {"Ref": "ReleaseConfig"}
    canary = template({"strategy": "canary", "engine": "codedeploy", "percent": 20, "interval": 2700})
    assert canary["Resources"]["ReleaseConfig"]["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {"CanaryPercentage": 20, "CanaryInterval": 45},
    }


def test_codedeploy_steps_must_be_whole_minutes_and_percents() -> None:
    for bad, key in (({"interval": 90}, "interval"), ({"percent": 12.5}, "percent")):
        with pytest.raises(ConfigError, match=f"release.{key}"):
            template({"strategy": "canary", "engine": "codedeploy", **bad})
    template({"strategy": "canary", "engine": "lift", "interval": 90, "percent": 12.5})  # lift release shifts anything


def test_sam_publishes_the_alias_and_codedeploy_shifts_it_gated_and_hooked() -> None:
    t = template(CANARY, "sam")
    props = t["Resources"]["Function"]["Properties"]
    assert props["AutoPublishAlias"] == "live"
    assert props["DeploymentPreference"] == {
        "Type": "Canary10Percent5Minutes",
        "Role": {"Fn::GetAtt": ["ReleaseRole", "Arn"]},
        "Alarms": ["shop-prod-errors", "shop-prod-slo-fast-burn"],
        "Hooks": {"PreTraffic": {"Ref": "ReleaseHookPre"}, "PostTraffic": {"Ref": "ReleaseHookPost"}},
    }
    out = sam_translated(t)["Resources"]
    alias = out["FunctionAliaslive"]
    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"] == {
        "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
        "DeploymentGroupName": {"Ref": "FunctionDeploymentGroup"},
        "BeforeAllowTrafficHook": {"Ref": "ReleaseHookPre"},
        "AfterAllowTrafficHook": {"Ref": "ReleaseHookPost"},
    }
    group = out["FunctionDeploymentGroup"]["Properties"]
    assert group["ServiceRoleArn"] == {"Fn::GetAtt": ["ReleaseRole", "Arn"]}
    assert group["AlarmConfiguration"]["Alarms"] == [{"Name": "shop-prod-errors"}, {"Name": "shop-prod-slo-fast-burn"}]
    assert "CodeDeployServiceRole" not in out  # our least-privilege role, not SAM's managed-policy one
    # the hooks report to SAM's generated application and group
    policy = json.dumps(out["ReleaseHookRole"]["Properties"]["Policies"])
    assert "deploymentgroup:${ServerlessDeploymentApplication}/${FunctionDeploymentGroup}" in policy
    env = out["ReleaseHookPre"]["Properties"]["Environment"]["Variables"]
    version_id = next(k for k, r in out.items() if r["Type"] == "AWS::Lambda::Version")
    assert env["LIFT_RELEASE_VERSION"] == {"Ref": version_id}


def test_plain_cloudformation_gets_the_equivalent_raw_resources() -> None:
    t = template(CANARY)
    r = t["Resources"]
    version = r["FunctionVersion"]
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")  # the rollback target
    assert r["FunctionAlias"]["UpdatePolicy"] == {
        "CodeDeployLambdaAliasUpdate": {
            "ApplicationName": {"Ref": "ReleaseApplication"},
            "DeploymentGroupName": {"Ref": "ReleaseGroup"},
            "BeforeAllowTrafficHook": {"Ref": "ReleaseHookPre"},
            "AfterAllowTrafficHook": {"Ref": "ReleaseHookPost"},
        }
    }
    assert r["FunctionAlias"]["Properties"]["Name"] == "live"
    assert r["ReleaseApplication"]["Properties"] == {"ComputePlatform": "Lambda"}
    group = r["ReleaseGroup"]["Properties"]
    assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    assert group["AlarmConfiguration"]["Alarms"] == [{"Name": "shop-prod-errors"}, {"Name": "shop-prod-slo-fast-burn"}]
    role = r["ReleaseRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ShiftAlias", "ReadGatingAlarms", "InvokeHooks"}
    assert "*" not in json.dumps([s["Resource"] for s in statements.values()]).replace(":*", "")
    assert statements["InvokeHooks"]["Resource"][0] == {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:CodeDeployHook_shop-prod-pre"
    }


def test_each_code_or_configuration_change_publishes_a_version_only_when_the_template_moves_the_alias() -> None:
    def description(engine: str, memory: int) -> object:
        release = {"strategy": "canary", "engine": engine, "interval": 300}
        return template(release, memory=memory)["Resources"]["FunctionVersion"]["Properties"]["Description"]

    code_desc = description("codedeploy", 512)
    assert "${CodeS3Key}" in code_desc["Fn::Sub"]  # a new artifact is a new version
    assert description("codedeploy", 1024) != code_desc  # so is a new configuration
    # lift release moves the alias: CloudFormation publishes the first version and never moves it
    assert description("lift", 512) == description("lift", 1024) == "first version: lift release moves the alias"
    assert "UpdatePolicy" not in template({"strategy": "canary"})["Resources"]["FunctionAlias"]


def test_hook_functions_run_the_app_package_with_lifts_handler() -> None:
    t = template(CANARY)
    hook = t["Resources"]["ReleaseHookPre"]["Properties"]
    fn = t["Resources"]["Function"]["Properties"]
    assert hook["FunctionName"] == "CodeDeployHook_shop-prod-pre"  # the prefix CodeDeploy's Lambda role may invoke
    assert hook["Handler"] == "lift.release_hooks.handler"
    assert hook["Code"] == fn["Code"] and hook["Runtime"] == fn["Runtime"]
    env = hook["Environment"]["Variables"]
    assert env["LIFT_RELEASE_APP"] == fn["Handler"] and env["LIFT_RELEASE_HOOK"] == "smoke"
    assert (env["LIFT_RELEASE_PHASE"], env["LIFT_RELEASE_FUNCTION"], env["LIFT_RELEASE_ALIAS"]) == (
        "pre",
        "shop-prod",
        "live",
    )
    assert env["LIFT_RELEASE_VERSION"] == {"Ref": "FunctionVersion"}
    assert t["Resources"]["ReleaseHookPost"]["Properties"]["Environment"]["Variables"]["LIFT_RELEASE_HOOK"] == "settled"
    policy = t["Resources"]["ReleaseHookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy}
    assert actions["ReportHookStatus"] == (
        ["codedeploy:PutLifecycleEventHookExecutionStatus"],
        {
            "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
            "${ReleaseApplication}/${ReleaseGroup}"
        },
    )
    assert actions["InvokeNewVersion"][0] == ["lambda:InvokeFunction"]
    # under lift release the hook reports to nobody but its caller
    lift = template({**CANARY, "engine": "lift"})
    statements = lift["Resources"]["ReleaseHookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert "ReportHookStatus" not in {s["Sid"] for s in statements}
    assert "LIFT_RELEASE_VERSION" not in lift["Resources"]["ReleaseHookPre"]["Properties"]["Environment"]["Variables"]


def test_a_hook_the_app_does_not_register_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match=r"pre_traffic = 'smok'.*@app.release_hook\('smok'\).*settled, smoke"):
        template({**CANARY, "pre_traffic": "smok"})


@pytest.mark.parametrize("fmt", ["cloudformation", "sam"])
@pytest.mark.parametrize(
    "release",
    [CANARY, {**CANARY, "strategy": "linear", "percent": 25, "interval": 120}, {**CANARY, "engine": "lift"}],
    ids=["canary", "custom-linear", "lift"],
)
def test_cfn_lint_finds_nothing_in_release_templates(release: dict, fmt: str) -> None:
    assert cfn_lint(to_yaml(template(release, fmt, snapstart=True)), REGION) == []


def test_checkov_finds_nothing_unjustified_in_codedeploy_templates(tmp_path: Path) -> None:
    (tmp_path / "canary.json").write_text(to_json(template(CANARY)))
    (tmp_path / "linear.json").write_text(
        to_json(template({**CANARY, "strategy": "linear", "percent": 25, "interval": 120}))
    )
    assert checkov_failed(tmp_path, "cloudformation", min_passed=20) - justified_checks() == set()


# -- moto's CloudFormation ------------------------------------------------------------------------
def test_moto_cloudformation_creates_the_function_and_its_first_version(moto_endpoint: str) -> None:
    """moto 5.x's CloudFormation creates the function, the published Version, the roles and log
    groups of a CodeDeploy-engine template; it does not implement AWS::Lambda::Alias nor the
    AWS::CodeDeploy::* types (skipped with a warning), resolves `Ref` of a Version to an object
    (so a hook function's LIFT_RELEASE_VERSION breaks its GetFunction) and fails a Permission whose
    FunctionName is an alias. So this deploys an app without triggers or hooks."""
    name = f"rel{uuid.uuid4().hex[:8]}"
    app = App(name=name)

    @app.invoke
    def run(body: dict) -> dict:
        return body

    config = config_from_dict({"region": "us-east-1", "release": {**CANARY, "pre_traffic": None, "post_traffic": None}})
    t = render(build_deployment(app, config, "prod"))
    assert {"FunctionAlias", "ReleaseApplication", "ReleaseGroup", "FunctionVersion"} <= set(t["Resources"])
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    s3.put_object(Bucket=name, Key="code.zip", Body=buf.getvalue())
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfn.create_stack(
            StackName=name,
            TemplateBody=to_json(t),
            Parameters=[
                {"ParameterKey": "CodeS3Bucket", "ParameterValue": name},
                {"ParameterKey": "CodeS3Key", "ParameterValue": "code.zip"},
            ],
            Capabilities=["CAPABILITY_IAM"],
        )
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    created = {
        r["LogicalResourceId"]: r["ResourceType"]
        for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    }
    assert {"Function", "FunctionVersion", "ReleaseRole", "FunctionRole"} <= set(created)
    lam = boto3.client("lambda", endpoint_url=moto_endpoint, region_name="us-east-1")
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=f"{name}-prod")["Versions"]]
    assert versions == ["$LATEST", "1"]
    role = boto3.client("iam", endpoint_url=moto_endpoint).list_roles()["Roles"]
    assert any(
        "codedeploy.amazonaws.com" in json.dumps(r["AssumeRolePolicyDocument"]) and name in r["RoleName"] for r in role
    )
