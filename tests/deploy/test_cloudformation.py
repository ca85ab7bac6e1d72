"""CloudFormation/SAM templates from the model: deterministic, cfn-lint clean, checkov findings justified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lift.deploy import build_deployment, config_from_dict
from lift.deploy.cloudformation import render, to_json, to_yaml
from tests.deploy.checks import cfn_lint, checkov_failed, justified_checks
from tests.deploy.conftest import TRIGGERS_CONFIG, app_for, resources_of

REGION = "eu-west-1"
VARIANTS = {
    "http": {},
    "rest-snapstart": {
        "http": "rest",
        "snapstart": True,
        "reserved_concurrency": 5,
        "domain": "api.example.com",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666",
    },
    "alarms-domain": {
        "streaming": {"memory": 1024, "timeout": 120},  # a RESPONSE_STREAM function URL (IAM auth)
        "cloud_map": {"namespace": "shop", "attributes": {"weight": "2"}},  # the namespace looked up by name
        "alarms_email": "oncall@example.com",
        "domain": "shop.example.com",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666",
    },
    "url": {
        "http": "url",
        "tracing": False,
        "dependencies_layer": True,
        "cloud_map": {"namespace": "shop", "namespace_id": "ns-abcdef0123456789", "service": "shop-api"},
    },
    "release": {
        "release": {
            "strategy": "linear",
            "percent": 20,
            "interval": 60,
            "alarms": ["shop-dev-errors"],
            "pre_traffic": "smoke",
            "post_traffic": "settled",
        }
    },
    "alb": {
        "http": "alb",
        "alb": {
            "listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
        },
    },
    # tests.deploy.conftest.triggers_app: every trigger of issue 15, behind an HTTP API or a REST API
    "triggers": TRIGGERS_CONFIG,
    "triggers-rest": {**TRIGGERS_CONFIG, "http": "rest", "snapstart": True},
}


def template_for(variant: str, fmt: str = "cloudformation", stage: str = "dev") -> dict:
    config = config_from_dict({"region": REGION, **VARIANTS[variant]}, "pyproject.toml")
    return render(build_deployment(app_for(variant), config, stage), fmt)


def test_the_same_app_gives_byte_identical_templates() -> None:
    first, second = template_for("http"), template_for("http")
    assert to_json(first) == to_json(second) and to_yaml(first) == to_yaml(second)
    assert yaml.safe_load(to_yaml(first)) == json.loads(to_json(first))


def test_queues_mappings_and_tables_carry_the_model_settings() -> None:
    t = template_for("http")
    queues = resources_of(t, "AWS::SQS::Queue")
    orders = queues["QueueShopOrders"]["Properties"]
    assert orders["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["QueueShopOrdersDlq", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queues["QueueShopPayments"]["Properties"]["FifoQueue"] is True
    mapping = t["Resources"]["MappingShopOrders"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["QueueShopOrders", "Arn"]}
    clicks = t["Resources"]["MappingShopClicks"]["Properties"]
    assert (clicks["BisectBatchOnFunctionError"], clicks["MaximumRetryAttempts"], clicks["StartingPosition"]) == (
        True,
        3,
        "LATEST",
    )
    assert clicks["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["QueueShopClicksFailed", "Arn"]}
    table = t["Resources"]["TableShopState"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    schedule = t["Resources"]["ScheduleShopNightly"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert json.loads(schedule["Target"]["Input"]["Fn::Sub"])["detail-type"] == "Scheduled Event"
    routes = sorted(r["Properties"]["RouteKey"] for r in resources_of(t, "AWS::ApiGatewayV2::Route").values())
    assert routes == ["$connect", "$default", "$disconnect", "GET /orders/{order_id}", "POST /orders", "chat"]


def test_iam_names_every_resource_it_can() -> None:
    policy = template_for("http")["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    star = [s["Sid"] for s in policy["Statement"] if s["Resource"] == "*"]
    assert star == ["Tracing"]
    ws = next(s for s in policy["Statement"] if s["Sid"] == "WebSocketSend")
    assert ws["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/dev/*/@connections/*"
    }


def test_alarms_email_the_errors_throttles_and_waiting_dlq_messages() -> None:
    t = template_for("alarms-domain")
    alarms = {r["Properties"]["AlarmName"]: r["Properties"] for r in resources_of(t, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {
        "shop-dev-errors",
        "shop-dev-throttles",
        "shop-orders-dev-dlq-not-empty",
        "shop-payments-dev-dlq.fifo-not-empty",
        "shop-dev-shop-clicks-failed-not-empty",
        "shop-jobs-dev-dlq-not-empty",
        "shop-dev-jobs-errors",  # the jobs worker and the streaming function alarm like the app's function
        "shop-dev-jobs-throttles",
        "shop-dev-stream-errors",
        "shop-dev-stream-throttles",
    }
    worker = alarms["shop-dev-jobs-errors"]
    assert (worker["MetricName"], worker["Dimensions"]) == (
        "Errors",
        [{"Name": "FunctionName", "Value": "shop-dev-jobs"}],
    )
    assert alarms["shop-dev-errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": "shop-dev"}]
    assert alarms["shop-orders-dev-dlq-not-empty"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    email = t["Resources"]["AlarmTopicEmail"]["Properties"]
    assert (email["Protocol"], email["Endpoint"]) == ("email", "oncall@example.com")
    assert "AlarmTopic" not in template_for("http")["Resources"]


def test_a_custom_domain_maps_to_the_api() -> None:
    t = template_for("alarms-domain")
    assert t["Resources"]["HttpApiDomain"]["Properties"]["DomainName"] == "shop.example.com"
    assert t["Resources"]["HttpApiMapping"]["Properties"]["Stage"] == {"Ref": "HttpApiStage"}
    assert t["Outputs"]["DomainTarget"]["Value"] == {"Fn::GetAtt": ["HttpApiDomain", "RegionalDomainName"]}
    rest = template_for("rest-snapstart")
    assert rest["Resources"]["HttpApiMapping"]["Type"] == "AWS::ApiGateway::BasePathMapping"


def test_a_dependencies_layer_is_its_own_code_location() -> None:
    t = template_for("url")
    layer = t["Resources"]["DependenciesLayer"]["Properties"]
    assert layer["Content"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "LayerS3Key"}}
    assert (layer["CompatibleRuntimes"], layer["CompatibleArchitectures"]) == (["python3.12"], ["arm64"])
    assert t["Resources"]["Function"]["Properties"]["Layers"] == [{"Ref": "DependenciesLayer"}]
    assert "LayerS3Key" in t["Parameters"] and "LayerS3Key" not in template_for("http")["Parameters"]


def test_every_service_principal_permission_names_the_account() -> None:
    """Each invoke permission for an AWS service is scoped to this account (SourceAccount) or to one
    source (SourceArn), so no other account's load balancer, bucket or rule can invoke the function;
    the ALB's permission has no source ARN to give, so it names the account, as Terraform and Pulumi do."""
    for variant in VARIANTS:
        resources = template_for(variant)["Resources"]
        for logical_id, r in resources.items():
            if (
                r["Type"] != "AWS::Lambda::Permission"
                or r["Properties"]["Principal"].endswith(".amazonaws.com") is False
            ):
                continue
            props = r["Properties"]
            assert "SourceArn" in props or "SourceAccount" in props, (variant, logical_id, props)
    alb = [r["Properties"] for r in template_for("alb")["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert [p["SourceAccount"] for p in alb if p["Principal"] == "elasticloadbalancing.amazonaws.com"] == [
        {"Ref": "AWS::AccountId"}
    ]


def test_snapstart_triggers_invoke_the_published_alias() -> None:
    t = template_for("rest-snapstart")
    assert t["Resources"]["Function"]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert t["Resources"]["FunctionAlias"]["Properties"]["FunctionVersion"] == {
        "Fn::GetAtt": ["FunctionVersion", "Version"]
    }
    assert t["Resources"]["MappingShopOrders"]["Properties"]["FunctionName"] == {"Ref": "FunctionAlias"}


@pytest.mark.parametrize(
    "variant, fmt",
    [(v, "cloudformation") for v in VARIANTS] + [("http", "sam"), ("rest-snapstart", "sam"), ("triggers-rest", "sam")],
)
def test_cfn_lint_finds_nothing(variant: str, fmt: str) -> None:
    """cfn-lint (errors and warnings); SAM templates are linted after aws-sam-translator's transform."""
    assert cfn_lint(to_yaml(template_for(variant, fmt)), REGION) == []


def test_sam_output_translates_to_plain_cloudformation() -> None:
    from samtranslator.translator.transform import transform

    out = transform(template_for("rest-snapstart", "sam"), {}, None)
    kinds = {r["Type"] for r in out["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::Version", "AWS::Lambda::Alias"} <= kinds
    assert "Transform" not in out


def test_checkov_findings_are_all_justified_in_the_docs(tmp_path: Path) -> None:
    for variant in VARIANTS:
        (tmp_path / f"{variant}.json").write_text(to_json(template_for(variant)))
    failed = checkov_failed(tmp_path, "cloudformation", min_passed=50)
    assert failed - justified_checks() == set(), "checkov findings without a justification in docs/deploy.md"
    assert justified_checks() - failed == set(), "docs/deploy.md justifies checks that no longer fail"


def test_an_iam_policy_variable_stays_literal_in_fn_sub() -> None:
    """`arn:{partition}:s3:::docs-{region}/${aws:username}/*` in [[tool.lift.iam]]: the Fn::Sub the
    placeholders need read `${aws:username}` as a reference to a resource of that name, and
    CloudFormation refused the stack (cfn-lint E1019)."""
    from lift import App

    app = App(name="shop")
    app.get("/x")(lambda: {})
    resource = "arn:{partition}:s3:::docs-{region}/${aws:username}/*"
    config = config_from_dict(
        {"region": REGION, "iam": [{"actions": ["s3:GetObject"], "resources": [resource]}]}, "pyproject.toml"
    )
    template = render(build_deployment(app, config, "dev"))
    statements = template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [granted] = [s["Resource"] for s in statements if s["Action"] == ["s3:GetObject"]]
    assert granted == {"Fn::Sub": "arn:${AWS::Partition}:s3:::docs-${AWS::Region}/${!aws:username}/*"}
    assert cfn_lint(to_json(template), REGION) == []
