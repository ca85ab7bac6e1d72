"""Terraform JSON from the deployment model: every resource checked against the AWS provider's
arguments, byte-identical output, the same infrastructure as the CloudFormation template, and
checkov's Terraform checks."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lift.deploy import build_deployment, config_from_dict, load_config
from lift.deploy.cloudformation import render as render_cfn
from lift.deploy.terraform import render, to_files
from tests.deploy.checks import checkov_failed, justified_checks
from tests.deploy.conftest import full_app, triggers_app
from tests.deploy.test_cloudformation import REGION, VARIANTS
from tests.services import ROOT

PROVIDER = json.loads((Path(__file__).parent / "data" / "terraform_aws_provider.json").read_text())
TERRAFORM = os.environ.get("LIFT_TEST_TERRAFORM") or shutil.which("terraform")
PROVIDER_MIRROR = Path(os.environ.get("LIFT_TEST_TERRAFORM_PLUGINS") or "/opt/tf-plugins")  # an unpacked mirror


EXAMPLES = {  # the example apps (module, project folder with its [tool.lift], if any)
    "orders_service": ("examples.orders_service.app", "examples/orders_service"),
    "shop_orders": ("examples.shop.orders", None),
    "shop_payments": ("examples.shop.payments", None),
    "shop_users": ("examples.shop.users", None),
    "users_api": ("examples.users_api.app", None),
}


def example_deployment(name: str):
    """Stage prod of an example app (its own [tool.lift] when it has one)."""
    module, folder = EXAMPLES[name]
    app = importlib.import_module(module).app
    config = load_config(ROOT / folder) if folder else config_from_dict({"region": REGION}, "pyproject.toml")
    return build_deployment(app, config, "prod", handler=f"{module.rsplit('.', 1)[-1]}.app")


def slo_app(app=None):
    """The full app (or `app`) with SLOs: burn-rate alarms over every route, and a latency objective on one."""
    routes = None if app is None else ["GET /orders/{order_id}", "GET /docs/{page}"]  # triggers_app: 5 routes
    app = app or full_app()
    app.slo("orders", availability=99.9, routes=routes)
    app.slo("reads", availability=99.5, latency_p99_ms=300, window_days=7, routes=["GET /orders/{order_id}"])
    return app


def deployment_for(variant: str):
    return build_deployment(
        slo_app(triggers_app() if variant.startswith("triggers") else None),
        config_from_dict({"region": REGION, **VARIANTS[variant]}, "pyproject.toml"),
        "dev",
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
            for path, block in PROVIDER[kind].get("blocks", {}).items():  # nested blocks, by dotted path
                for found in _blocks(body, path.split(".")):
                    where = f"{kind}.{name}.{path}"
                    problems += [f"{where}: unknown argument {a}" for a in sorted(set(found) - set(block["arguments"]))]
                    problems += [f"{where}: missing {a}" for a in sorted(set(block["required"]) - set(found))]
    assert problems == []


def _blocks(body: dict, path: list[str]) -> list[dict]:
    """The nested blocks at `path` (a block is a JSON object, or a list of them when repeated)."""
    value = body.get(path[0])
    found = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return found if len(path) == 1 else [b for f in found for b in _blocks(f, path[1:])]


def test_slo_alarms_use_metric_math_blocks_and_reference_their_windows():
    main = render(deployment_for("alarms-domain"))["main.tf.json"]
    alarms = main["resource"]["aws_cloudwatch_metric_alarm"]
    queries = [q for a in alarms.values() for q in a.get("metric_query", ())]
    assert queries and all(q["metric"]["stat"] == "Sum" for q in queries if "metric" in q)
    assert sum(1 for q in queries if q.get("return_data")) == sum(1 for a in alarms.values() if "metric_query" in a)
    composite = main["resource"]["aws_cloudwatch_composite_alarm"]["slo_orders_fast_burn_alarm"]
    assert composite["alarm_rule"] == (
        "ALARM(${aws_cloudwatch_metric_alarm.slo_orders_fast_long_alarm.alarm_name}) AND "
        "ALARM(${aws_cloudwatch_metric_alarm.slo_orders_fast_short_alarm.alarm_name})"
    )
    assert composite["alarm_actions"] == ["${aws_sns_topic.alarm_topic.arn}"]
    [dashboard] = main["resource"]["aws_cloudwatch_dashboard"].values()
    assert dashboard["dashboard_name"] == "shop-dev-slos" and json.loads(dashboard["dashboard_body"])["widgets"]


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


def test_a_rest_api_passes_binary_bodies_both_ways():
    """Without binary media types a REST API mangles a binary upload into UTF-8 text and sends a binary
    answer (base64 with isBase64Encoded, as Lift returns it) to the client as its base64 text."""
    [rest_api] = render(deployment_for("rest-snapstart"))["main.tf.json"]["resource"][
        "aws_api_gateway_rest_api"
    ].values()
    assert rest_api["binary_media_types"] == ["*/*"]


def test_a_dependencies_layer_comes_from_its_own_zip_and_comes_first():
    deployment = deployment_for("url")
    module = render(deployment)
    [(name, layer)] = module["main.tf.json"]["resource"]["aws_lambda_layer_version"].items()
    assert layer["filename"] == "${var.layer_artifact_path}" and layer["layer_name"] == deployment.layers[0].name
    functions = module["main.tf.json"]["resource"]["aws_lambda_function"].values()  # the app's and the jobs worker
    assert functions and all(f["layers"][0] == f"${{aws_lambda_layer_version.{name}.arn}}" for f in functions)
    assert "default" not in module["variables.tf.json"]["variable"]["layer_artifact_path"]
    assert "layer_artifact_path" not in render(deployment_for("http"))["variables.tf.json"]["variable"]


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
        "indexes": sorted(
            (
                p["TableName"],
                i["IndexName"],
                i["KeySchema"][0]["AttributeName"],
                i["Projection"]["ProjectionType"],
                tuple(sorted(a["AttributeName"] for a in p["AttributeDefinitions"])),
            )
            for p in of("AWS::DynamoDB::Table")
            for i in p.get("GlobalSecondaryIndexes", ())
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
        "mapping_targets": sorted(
            (
                res[_cfn_target(p["FunctionName"])]["Properties"]["FunctionName"],
                p["BatchSize"],
                (p.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            )
            for p in of("AWS::Lambda::EventSourceMapping")
        ),
        "function_limits": sorted(
            (p["FunctionName"], p["Timeout"], p["MemorySize"], p.get("ReservedConcurrentExecutions"))
            for p in of("AWS::Lambda::Function")
        ),
        "function_urls": sorted(
            (
                res[p["TargetFunctionArn"]["Fn::GetAtt"][0]]["Properties"]["FunctionName"]
                if "Fn::GetAtt" in p["TargetFunctionArn"]
                else None,
                p["AuthType"],
                p.get("InvokeMode", "BUFFERED"),
            )
            for p in of("AWS::Lambda::Url")
        ),
        "function_layers": sorted(
            (
                p["FunctionName"],
                p["Handler"],
                len(p.get("Layers", ())),
                (p.get("Environment") or {}).get("Variables", {}).get("AWS_LWA_INVOKE_MODE"),
            )
            for p in of("AWS::Lambda::Function")
        ),
        "cloud_map": sorted(
            (
                p["Name"],
                p["Type"],
                p["NamespaceId"] if isinstance(p["NamespaceId"], str) else "lookup",
                "custom health" if "HealthCheckCustomConfig" in p else "",
            )
            for p in of("AWS::ServiceDiscovery::Service")
        )
        + sorted(
            (
                p["InstanceId"],
                tuple(sorted(p["InstanceAttributes"])),
                "https://" if p["InstanceAttributes"].get("URL") else "",
            )
            for p in of("AWS::ServiceDiscovery::Instance")
        ),
        "schedules": sorted((p["Name"], p["ScheduleExpression"]) for p in of("AWS::Scheduler::Schedule")),
        "routes": sorted(p["RouteKey"] for p in of("AWS::ApiGatewayV2::Route")),
        "queues": sorted(p["QueueName"] for p in of("AWS::SQS::Queue")),
        "rules": sorted(p["Name"] for p in of("AWS::Events::Rule")),
        "iam": sorted(
            [
                (a, s["Sid"], _arns(s["Resource"], _CFN_PSEUDO, _CFN_REF))
                for p in of("AWS::IAM::Role")
                for pol in p["Policies"]
                for s in pol["PolicyDocument"]["Statement"]
                for a in s["Action"]
            ]
            + [
                (a, s["Sid"], _arns(s["Resource"], _CFN_PSEUDO, _CFN_REF))
                for p in of("AWS::IAM::RolePolicy")
                for s in p["PolicyDocument"]["Statement"]
                for a in s["Action"]
            ]
        ),
        "alarms": sorted(_alarm_row(p) for p in of("AWS::CloudWatch::Alarm")),
        "composite_alarms": sorted(
            (p["AlarmName"], p["AlarmRule"], len(p.get("AlarmActions", ())))
            for p in of("AWS::CloudWatch::CompositeAlarm")
        ),
        "dashboards": sorted(
            (p["DashboardName"], json.dumps(json.loads(p["DashboardBody"]), sort_keys=True))
            for p in of("AWS::CloudWatch::Dashboard")
        ),
        # the other triggers (issue 15)
        "authorizers": sorted(
            [
                (p["Type"], p["IdentitySource"], p["AuthorizerResultTtlInSeconds"])
                for p in of("AWS::ApiGateway::Authorizer")
            ]
            + [
                (
                    p["AuthorizerType"],
                    ", ".join(p["IdentitySource"]),
                    p.get("AuthorizerResultTtlInSeconds"),
                    p.get("EnableSimpleResponses"),
                )
                for p in of("AWS::ApiGatewayV2::Authorizer")
            ]
        ),
        "guarded": sorted(
            [p["RouteKey"] for p in of("AWS::ApiGatewayV2::Route") if p.get("AuthorizationType") == "CUSTOM"]
            + [f"{p['HttpMethod']} {p['AuthorizationType']}" for p in of("AWS::ApiGateway::Method")]
        ),
        "permissions": sorted(p["Principal"] for p in of("AWS::Lambda::Permission")),
        "subscription_filters": sorted(
            (p["LogGroupName"], p["FilterPattern"]) for p in of("AWS::Logs::SubscriptionFilter")
        ),
        "user_pools": sorted(
            (p["UserPoolName"], tuple(sorted(k.lower() for k in p["LambdaConfig"])))
            for p in of("AWS::Cognito::UserPool")
        ),
        "brokers": sorted(
            (
                tuple(p.get("Topics", ())),
                tuple(p.get("Queues", ())),
                tuple(sorted(c["Type"] for c in p.get("SourceAccessConfigurations", ()))),
                tuple((p.get("ProvisionedPollerConfig") or {}).get(k) for k in ("MinimumPollers", "MaximumPollers")),
            )
            for p in of("AWS::Lambda::EventSourceMapping")
            if "Topics" in p or "Queues" in p
        ),
        "object_lambda": sorted(p["Name"] for p in of("AWS::S3ObjectLambda::AccessPoint")),
        "role_policies": sorted(p["RoleName"] for p in of("AWS::IAM::RolePolicy")),
    }


ACCOUNT = "123456789012"  # the account the IAM comparison deploys to (the Pulumi mocks' too)
_CFN_PSEUDO = {
    "${AWS::Partition}": "aws",
    "${AWS::Region}": REGION,
    "${AWS::AccountId}": ACCOUNT,
    "${AWS::URLSuffix}": "amazonaws.com",
}
_CFN_REF = r"\$\{[A-Za-z0-9.]+\}"
_TF_PSEUDO = {
    "${data.aws_partition.current.partition}": "aws",
    "${data.aws_region.current.name}": REGION,
    "${data.aws_caller_identity.current.account_id}": ACCOUNT,
    "${data.aws_partition.current.dns_suffix}": "amazonaws.com",
}
_TF_REF = r"\$\{[^}]+\}"


def _arns(resources, pseudo: dict[str, str], ref: str) -> tuple[str, ...]:
    """A statement's resources as they would be once deployed (partition, region and account of the
    comparison filled in; a resource created in the same deployment: {ref}), so IAM is compared
    resource by resource across providers."""
    out = []
    for resource in resources if isinstance(resources, list) else [resources]:
        if isinstance(resource, dict):  # Fn::Sub keeps its text; Ref / Fn::GetAtt are the resource itself
            resource = resource["Fn::Sub"] if isinstance(resource.get("Fn::Sub"), str) else "{ref}"
        for placeholder, name in pseudo.items():
            resource = resource.replace(placeholder, name)
        out.append(re.sub(ref, "{ref}", resource))
    return tuple(sorted(out))


def _dims(dimensions) -> tuple:
    """CloudWatch dimensions as sorted (name, value) pairs, from a list of Name/Value or a map."""
    if isinstance(dimensions, dict):
        return tuple(sorted(dimensions.items()))
    return tuple(sorted((d["Name"], d["Value"]) for d in dimensions or ()))


def _alarm_row(p: dict) -> tuple:
    """A CloudFormation AWS::CloudWatch::Alarm's properties as a comparable row."""
    queries = tuple(
        (
            m["Id"],
            m.get("Expression"),
            m.get("ReturnData", True),
            *(
                (
                    m["MetricStat"]["Metric"]["Namespace"],
                    m["MetricStat"]["Metric"]["MetricName"],
                    _dims(m["MetricStat"]["Metric"].get("Dimensions")),
                    m["MetricStat"]["Stat"],
                    m["MetricStat"]["Period"],
                )
                if "MetricStat" in m
                else (None,) * 5
            ),
        )
        for m in p.get("Metrics", ())
    )
    return (
        p["AlarmName"],
        p["ComparisonOperator"],
        p["Threshold"],
        p["EvaluationPeriods"],
        p.get("DatapointsToAlarm"),
        p.get("Namespace"),
        p.get("MetricName"),
        _dims(p.get("Dimensions")),
        p.get("Statistic"),
        p.get("ExtendedStatistic"),
        p.get("Period"),
        p.get("TreatMissingData"),
        queries,
        len(p.get("AlarmActions", ())),
    )


def _tf_alarm_row(p: dict) -> tuple:
    """An aws_cloudwatch_metric_alarm's arguments as the row of `_alarm_row`."""
    queries = tuple(
        (
            q["id"],
            q.get("expression"),
            q.get("return_data", True),
            *(
                (
                    q["metric"]["namespace"],
                    q["metric"]["metric_name"],
                    _dims(q["metric"].get("dimensions")),
                    q["metric"]["stat"],
                    q["metric"]["period"],
                )
                if "metric" in q
                else (None,) * 5
            ),
        )
        for q in p.get("metric_query", ())
    )
    return (
        p["alarm_name"],
        p["comparison_operator"],
        p["threshold"],
        p["evaluation_periods"],
        p.get("datapoints_to_alarm"),
        p.get("namespace"),
        p.get("metric_name"),
        _dims(p.get("dimensions")),
        p.get("statistic"),
        p.get("extended_statistic"),
        p.get("period"),
        p.get("treat_missing_data"),
        queries,
        len(p.get("alarm_actions", ())),
    )


def _cfn_target(function_name: dict) -> str:
    """The function a mapping's FunctionName points at (`Ref` of the function or of its alias)."""
    target = function_name["Ref"]
    return target[: -len("Alias")] if target.endswith("Alias") else target


def _tf_number(module: dict, value: object) -> object:
    """A literal, or the default of the `${var.NAME}` it names."""
    found = re.fullmatch(r"\$\{var\.([a-z_]+)\}", str(value))
    return module["variables.tf.json"]["variable"][found[1]]["default"] if found else value


def _tf_inventory(module: dict) -> dict:
    res = module["main.tf.json"]["resource"]
    of = lambda kind: list(res.get(kind, {}).values())  # noqa: E731
    return {
        "functions": sorted(p["function_name"] for p in of("aws_lambda_function")),
        "tables": sorted(
            (p["name"], p["hash_key"], (p.get("ttl") or {}).get("attribute_name")) for p in of("aws_dynamodb_table")
        ),
        "indexes": sorted(
            (
                p["name"],
                i["name"],
                i["hash_key"],
                i["projection_type"],
                tuple(sorted(a["name"] for a in p["attribute"])),
            )
            for p in of("aws_dynamodb_table")
            for i in p.get("global_secondary_index", ())
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
        "mapping_targets": sorted(
            (
                res["aws_lambda_function"][
                    re.search(r"aws_lambda_(?:function|alias)\.([a-z0-9_]+?)(?:_alias)?\.", p["function_name"])[1]
                ]["function_name"],
                p["batch_size"],
                (p.get("scaling_config") or {}).get("maximum_concurrency"),
            )
            for p in of("aws_lambda_event_source_mapping")
        ),
        "function_limits": sorted(
            (
                p["function_name"],
                _tf_number(module, p["timeout"]),
                _tf_number(module, p["memory_size"]),
                p.get("reserved_concurrent_executions"),
            )
            for p in of("aws_lambda_function")
        ),
        "function_urls": sorted(
            (
                res["aws_lambda_function"][m[1]]["function_name"]
                if (m := re.search(r"aws_lambda_function\.([a-z0-9_]+)\.function_name", p["function_name"]))
                else None,
                p["authorization_type"],
                p.get("invoke_mode", "BUFFERED"),
            )
            for p in of("aws_lambda_function_url")
        ),
        "function_layers": sorted(
            (
                p["function_name"],
                p["handler"],
                len(p.get("layers", ())),
                json.loads(
                    p["environment"]["variables"].split("${merge(", 1)[1].rsplit(", var.environment)", 1)[0]
                ).get("AWS_LWA_INVOKE_MODE"),
            )
            for p in of("aws_lambda_function")
        ),
        "cloud_map": sorted(
            (
                p["name"],
                p["type"],
                p["namespace_id"] if p["namespace_id"].startswith("ns-") else "lookup",
                "custom health" if "health_check_custom_config" in p else "",
            )
            for p in of("aws_service_discovery_service")
        )
        + sorted(
            (p["instance_id"], tuple(sorted(p["attributes"])), "https://" if p["attributes"].get("URL") else "")
            for p in of("aws_service_discovery_instance")
        ),
        "schedules": sorted((p["name"], p["schedule_expression"]) for p in of("aws_scheduler_schedule")),
        "routes": sorted(p["route_key"] for p in of("aws_apigatewayv2_route")),
        "queues": sorted(p["name"] for p in of("aws_sqs_queue")),
        "rules": sorted(p["name"] for p in of("aws_cloudwatch_event_rule")),
        "iam": sorted(
            (a, s["Sid"], _arns(s["Resource"], _TF_PSEUDO, _TF_REF))
            for p in of("aws_iam_role_policy")
            for s in json.loads(p["policy"])["Statement"]
            for a in s["Action"]
        ),
        "alarms": sorted(_tf_alarm_row(p) for p in of("aws_cloudwatch_metric_alarm")),
        "composite_alarms": sorted(
            (p["alarm_name"], _resolve_alarm_names(p["alarm_rule"], res), len(p.get("alarm_actions", ())))
            for p in of("aws_cloudwatch_composite_alarm")
        ),
        "dashboards": sorted(
            (p["dashboard_name"], json.dumps(json.loads(p["dashboard_body"]), sort_keys=True))
            for p in of("aws_cloudwatch_dashboard")
        ),
        "authorizers": sorted(
            [
                (p["type"], p["identity_source"], p["authorizer_result_ttl_in_seconds"])
                for p in of("aws_api_gateway_authorizer")
            ]
            + [
                (
                    p["authorizer_type"],
                    ", ".join(p["identity_sources"]),
                    p.get("authorizer_result_ttl_in_seconds"),
                    p.get("enable_simple_responses"),
                )
                for p in of("aws_apigatewayv2_authorizer")
            ]
        ),
        "guarded": sorted(
            [p["route_key"] for p in of("aws_apigatewayv2_route") if p.get("authorization_type") == "CUSTOM"]
            + [f"{p['http_method']} {p['authorization']}" for p in of("aws_api_gateway_method")]
        ),
        "permissions": sorted(p["principal"] for p in of("aws_lambda_permission")),
        "subscription_filters": sorted(
            (p["log_group_name"], p["filter_pattern"]) for p in of("aws_cloudwatch_log_subscription_filter")
        ),
        "user_pools": sorted(
            (p["name"], tuple(sorted(k.replace("_", "") for k in p["lambda_config"])))
            for p in of("aws_cognito_user_pool")
        ),
        "brokers": sorted(
            (
                tuple(p.get("topics", ())),
                tuple(p.get("queues", ())),
                tuple(sorted(c["type"] for c in p.get("source_access_configuration", ()))),
                tuple(
                    (p.get("provisioned_poller_config") or {}).get(k) for k in ("minimum_pollers", "maximum_pollers")
                ),
            )
            for p in of("aws_lambda_event_source_mapping")
            if "topics" in p or "queues" in p
        ),
        "object_lambda": sorted(p["name"] for p in of("aws_s3control_object_lambda_access_point")),
        "role_policies": sorted(p["role"] for p in of("aws_iam_role_policy") if not p["role"].startswith("${")),
    }


def _resolve_alarm_names(rule: str, resources: dict) -> str:
    """A composite alarm's rule with its references (`${aws_cloudwatch_metric_alarm.X.alarm_name}`)
    replaced by the names of the alarms they point at (a wrong reference fails here)."""
    alarms = resources["aws_cloudwatch_metric_alarm"]
    return re.sub(
        r"\$\{aws_cloudwatch_metric_alarm\.([a-z0-9_]+)\.alarm_name\}", lambda m: alarms[m[1]]["alarm_name"], rule
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_terraform_and_cloudformation_describe_the_same_infrastructure(variant):
    deployment = deployment_for(variant)
    cfn, tf = _cfn_inventory(render_cfn(deployment)), _tf_inventory(render(deployment))
    assert tf == cfn
    assert cfn["indexes"] or variant.startswith("triggers")  # full_app's connections table was compared
    arns = {arn for row in cfn["iam"] for arn in row[2]}  # and IAM resource by resource, filled in
    assert any(arn.startswith("arn:aws:") and f":{REGION}:{ACCOUNT}:" in arn for arn in arns)
    assert len(cfn["composite_alarms"]) == 4 and cfn["dashboards"]  # two SLOs, a fast and a slow burn each
    assert any(row[12] for row in cfn["alarms"]) and any(row[9] == "p99" for row in cfn["alarms"])
    assert cfn["functions"] and cfn["mappings"] and cfn["iam"]  # the comparison compared something


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_the_example_apps_are_the_same_infrastructure_in_terraform(example):
    deployment = example_deployment(example)
    cfn = _cfn_inventory(render_cfn(deployment))
    assert _tf_inventory(render(deployment)) == cfn
    assert cfn["functions"] and cfn["routes"] and cfn["iam"]  # it compared something


def test_checkov_terraform_findings_are_all_justified_in_the_docs(tmp_path: Path) -> None:
    for variant in VARIANTS:
        folder = tmp_path / variant
        folder.mkdir()
        for name, text in to_files(render(deployment_for(variant))).items():
            (folder / name).write_text(text)
    failed = checkov_failed(tmp_path, "terraform_json", min_passed=50)
    justified = justified_checks("Terraform checkov findings")
    assert failed - justified == set(), "checkov findings without a justification in docs/deploy.md"
    assert justified - failed == set(), "docs/deploy.md justifies checks that no longer fail"


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


def test_terraform_validate_accepts_every_module(tmp_path: Path) -> None:
    """Where this machine has a terraform binary and an unpacked filesystem mirror of the
    hashicorp/aws provider (neither can be downloaded here; LIFT_TEST_TERRAFORM and
    LIFT_TEST_TERRAFORM_PLUGINS name them), `terraform validate` checks every module against the
    provider's own schema: a root module calls the module of every HTTP front."""
    if not TERRAFORM or not (PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(f"no terraform binary, or no hashicorp/aws provider under {PROVIDER_MIRROR}")
    root: dict = {"module": {}}
    for variant in VARIANTS:
        deployment = deployment_for(variant)
        (tmp_path / variant).mkdir()
        for name, text in to_files(render(deployment)).items():
            (tmp_path / variant / name).write_text(text)
        call = {"source": f"./{variant}", "artifact_path": "package.zip"}
        if deployment.layers:
            call["layer_artifact_path"] = "layer.zip"
        root["module"][variant.replace("-", "_")] = call
    (tmp_path / "main.tf.json").write_text(json.dumps(root))
    (tmp_path / "package.zip").write_bytes(b"")
    (tmp_path / "layer.zip").write_bytes(b"")
    config = tmp_path / "terraformrc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{PROVIDER_MIRROR}"\n  }}\n}}\n')
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TERRAFORM, *args, "-no-color"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    init = terraform("init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stdout + init.stderr
    report = json.loads(terraform("validate", "-json").stdout)
    assert [d["summary"] for d in report["diagnostics"]] == [] and report["valid"]


def test_user_text_is_literal_text_not_terraform_interpolation():
    """Every string of a Terraform JSON module is a template: an environment value `Hello ${NAME}`
    reached Terraform as an interpolation of an undeclared `NAME` (the module failed to plan), and an
    IAM policy variable `${aws:username}` in [[tool.lift.iam]] likewise. They are escaped now ($${, %%{)."""
    from lift import App

    app = App(name="shop")
    app.get("/x")(lambda: {})
    config = config_from_dict(
        {
            "region": REGION,
            "environment": {"GREETING": "Hello ${NAME} %{if x}! \U0001f600"},
            "iam": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::docs/${aws:username}/*"]}],
        },
        "pyproject.toml",
    )
    main = render(build_deployment(app, config, "dev"))["main.tf.json"]
    variables = main["resource"]["aws_lambda_function"]["function"]["environment"]["variables"]
    assert '"GREETING": "Hello $${NAME} %%{if x}! \U0001f600"' in variables  # the emoji as itself, not \\ud83d...
    [policy] = [p["policy"] for p in main["resource"]["aws_iam_role_policy"].values() if "docs/" in p["policy"]]
    assert "arn:aws:s3:::docs/$${aws:username}/*" in policy
    text = json.dumps(main)
    for name in ("NAME", "aws:username"):  # nowhere as an interpolation
        assert text.count("${" + name + "}") == text.count("$${" + name + "}") > 0
