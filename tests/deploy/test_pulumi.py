"""Pulumi from the deployment model: `LiftService` runs under Pulumi's documented unit-test mocks
(`pulumi.runtime.set_mocks`, no engine or CLI), and the resources it registers describe the same
infrastructure as the CloudFormation template (the inventory of test_terraform.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pulumi  # the test extra installs it (and pulumi_aws)
import pytest

from lift.deploy.cloudformation import render as render_cfn
from lift.deploy.model import Expr
from tests.deploy.test_cloudformation import REGION, VARIANTS
from tests.deploy.test_terraform import EXAMPLES, _cfn_inventory, _dims, deployment_for, example_deployment
from tests.services import ROOT

ACCOUNT = "123456789012"


class Recorder(pulumi.runtime.Mocks):
    """Records every registered resource (type, logical name, resolved inputs) and answers the
    provider's functions (partition, region, caller identity) like AWS would."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        kind = args.typ.split(":")[1].split("/")[0]
        physical = args.inputs.get("name") or args.inputs.get("bucket") or args.name
        outputs = {
            **args.inputs,
            "arn": f"arn:aws:{kind}:{REGION}:{ACCOUNT}:{physical}",
            "invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/functions/{physical}/invocations",
            "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{args.name}",
            "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}",
            "rootResourceId": "root0",
            "version": "1",
            "invokeUrl": f"https://{args.name}.execute-api.{REGION}.amazonaws.com/",
            "functionUrl": f"https://{args.name}.lambda-url.{REGION}.on.aws/",
            "regionalDomainName": f"d-{args.name}.execute-api.{REGION}.amazonaws.com",
        }
        if args.typ == "aws:apigatewayv2/domainName:DomainName":
            outputs["domainNameConfiguration"] = {
                **args.inputs["domainNameConfiguration"],
                "targetDomainName": f"d-{args.name}.execute-api.{REGION}.amazonaws.com",
            }
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        return {
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com"},
            "aws:index/getRegion:getRegion": {"name": REGION, "region": REGION},
            "aws:index/getCallerIdentity:getCallerIdentity": {"accountId": ACCOUNT, "arn": "", "userId": ""},
            "aws:servicediscovery/getHttpNamespace:getHttpNamespace": {
                "id": "ns-fromlookup000000",
                "name": "shop",
                "arn": f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-fromlookup000000",
                "description": "",
                "httpName": "shop",
                "tags": {},
            },
        }[args.token]


def run(deployment, **kwargs) -> tuple[Recorder, dict]:
    """Runs `LiftService` under the mocks; returns the recorder and the component's resolved outputs."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False)
    from lift.deploy.pulumi import LiftService

    outputs: dict = {}

    @pulumi.runtime.test
    def program():
        layer = "dist/shop-dev-layer.zip" if deployment.layers else None
        service = LiftService(
            "shop", deployment, artifact_path="dist/shop-dev.zip", layer_artifact_path=layer, **kwargs
        )
        names = ("function_name", "api_url", "websocket_url", "domain_target")
        named = {n: getattr(service, n) for n in names if getattr(service, n) is not None}
        waits = [r.urn for r in service.resources.values()] + list(named.values())
        return pulumi.Output.all(*waits).apply(lambda values: outputs.update(zip(named, values[-len(named) :])))

    program()
    return recorder, outputs


def run_written_program(out, project: str, stack: str, config: dict) -> Recorder:
    """Runs the program `lift synth --format pulumi` wrote to `out` as the engine runs stack `stack`
    of `project` with `config` (its Pulumi.<stack>.yaml), under the mocks."""
    import runpy

    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config)

    @pulumi.runtime.test
    def program():
        namespace = runpy.run_path(str(out / "__main__.py"), run_name="__main__")
        return pulumi.Output.all(*(r.urn for r in namespace["service"].resources.values()))

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    return recorder


def of(recorder: Recorder, typ: str) -> list[dict]:
    return [r.inputs for r in recorder.resources if r.typ == typ]


def _pulumi_inventory(recorder: Recorder) -> dict:
    aliases = {a["name"]: a["functionName"] for a in of(recorder, "aws:lambda/alias:Alias")}  # (mocked ARNs end in it)
    return {
        "functions": sorted(p["name"] for p in of(recorder, "aws:lambda/function:Function")),
        "tables": sorted(
            (p["name"], p["hashKey"], (p.get("ttl") or {}).get("attributeName"))
            for p in of(recorder, "aws:dynamodb/table:Table")
        ),
        "indexes": sorted(
            (p["name"], i["name"], i["hashKey"], i["projectionType"], tuple(sorted(a["name"] for a in p["attributes"])))
            for p in of(recorder, "aws:dynamodb/table:Table")
            for i in p.get("globalSecondaryIndexes", ())
        ),
        "mappings": sorted(
            (
                p["batchSize"],
                p.get("maximumBatchingWindowInSeconds", 0),
                tuple(p.get("functionResponseTypes", ())),
                p.get("startingPosition"),
            )
            for p in of(recorder, "aws:lambda/eventSourceMapping:EventSourceMapping")
        ),
        "mapping_targets": sorted(
            (
                aliases.get(p["functionName"].rsplit(":", 1)[-1], p["functionName"].rsplit(":", 1)[-1]),
                p["batchSize"],
                (p.get("scalingConfig") or {}).get("maximumConcurrency"),
            )
            for p in of(recorder, "aws:lambda/eventSourceMapping:EventSourceMapping")
        ),
        "function_limits": sorted(
            (p["name"], p["timeout"], p["memorySize"], p.get("reservedConcurrentExecutions"))
            for p in of(recorder, "aws:lambda/function:Function")
        ),
        "function_urls": sorted(
            (
                p["functionName"],
                p["authorizationType"],
                p.get("invokeMode", "BUFFERED"),
            )
            for p in of(recorder, "aws:lambda/functionUrl:FunctionUrl")
        ),
        "function_layers": sorted(
            (
                p["name"],
                p["handler"],
                len(p.get("layers", ())),
                p.get("environment", {}).get("variables", {}).get("AWS_LWA_INVOKE_MODE"),
            )
            for p in of(recorder, "aws:lambda/function:Function")
        ),
        "cloud_map": sorted(
            (
                p["name"],
                p["type"],
                p["namespaceId"] if p["namespaceId"].startswith("ns-abc") else "lookup",
                "custom health" if "healthCheckCustomConfig" in p else "",
            )
            for p in of(recorder, "aws:servicediscovery/service:Service")
        )
        + sorted(
            (p["instanceId"], tuple(sorted(p["attributes"])), p["attributes"].get("URL", "")[:8])
            for p in of(recorder, "aws:servicediscovery/instance:Instance")
        ),
        "schedules": sorted(
            (p["name"], p["scheduleExpression"]) for p in of(recorder, "aws:scheduler/schedule:Schedule")
        ),
        "routes": sorted(p["routeKey"] for p in of(recorder, "aws:apigatewayv2/route:Route")),
        "queues": sorted(p["name"] for p in of(recorder, "aws:sqs/queue:Queue")),
        "rules": sorted(p["name"] for p in of(recorder, "aws:cloudwatch/eventRule:EventRule")),
        "iam": sorted(
            (a, s["Sid"], _arns(s["Resource"]))
            for p in of(recorder, "aws:iam/rolePolicy:RolePolicy")
            for s in json.loads(p["policy"])["Statement"]
            for a in s["Action"]
        ),
        "alarms": sorted(_alarm_row(p) for p in of(recorder, "aws:cloudwatch/metricAlarm:MetricAlarm")),
        "composite_alarms": sorted(  # the rule as resolved from the window alarms' name outputs
            (p["alarmName"], p["alarmRule"], len(p.get("alarmActions", ())))
            for p in of(recorder, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
        ),
        "dashboards": sorted(
            (p["dashboardName"], json.dumps(json.loads(p["dashboardBody"]), sort_keys=True))
            for p in of(recorder, "aws:cloudwatch/dashboard:Dashboard")
        ),
        "authorizers": sorted(
            [
                (p["type"], p["identitySource"], p["authorizerResultTtlInSeconds"])
                for p in of(recorder, "aws:apigateway/authorizer:Authorizer")
            ]
            + [
                (
                    p["authorizerType"],
                    ", ".join(p["identitySources"]),
                    p.get("authorizerResultTtlInSeconds"),
                    p.get("enableSimpleResponses"),
                )
                for p in of(recorder, "aws:apigatewayv2/authorizer:Authorizer")
            ]
        ),
        "guarded": sorted(
            [
                p["routeKey"]
                for p in of(recorder, "aws:apigatewayv2/route:Route")
                if p.get("authorizationType") == "CUSTOM"
            ]
            + [f"{p['httpMethod']} {p['authorization']}" for p in of(recorder, "aws:apigateway/method:Method")]
        ),
        "permissions": sorted(p["principal"] for p in of(recorder, "aws:lambda/permission:Permission")),
        "subscription_filters": sorted(
            (p["logGroup"], p["filterPattern"])
            for p in of(recorder, "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
        ),
        "user_pools": sorted(
            (p["name"], tuple(sorted(k.lower() for k in p["lambdaConfig"])))
            for p in of(recorder, "aws:cognito/userPool:UserPool")
        ),
        "brokers": sorted(
            (
                tuple(p.get("topics", ())),
                (p["queues"],) if "queues" in p else (),
                tuple(sorted(c["type"] for c in p.get("sourceAccessConfigurations", ()))),
                tuple(
                    int(v) if v is not None else None
                    for v in (
                        (p.get("provisionedPollerConfig") or {}).get(k) for k in ("minimumPollers", "maximumPollers")
                    )
                ),
            )
            for p in of(recorder, "aws:lambda/eventSourceMapping:EventSourceMapping")
            if "topics" in p or "queues" in p
        ),
        "object_lambda": sorted(
            p["name"] for p in of(recorder, "aws:s3control/objectLambdaAccessPoint:ObjectLambdaAccessPoint")
        ),
        "role_policies": sorted(
            p["role"] for p in of(recorder, "aws:iam/rolePolicy:RolePolicy") if not p["role"].endswith("-id")
        ),
    }


def _arns(resources) -> tuple[str, ...]:
    """A policy's resources as resolved under the mocks, a resource created here (its id output,
    `NAME-id`) written {ref} as test_terraform's `_arns` writes it."""
    resources = resources if isinstance(resources, list) else [resources]
    return tuple(sorted(re.sub(r"\bshop-[A-Za-z0-9]+-id\b", "{ref}", r) for r in resources))


def _alarm_row(p: dict) -> tuple:
    """A registered MetricAlarm's inputs as the row of test_terraform's `_alarm_row`."""
    queries = tuple(
        (
            q["id"],
            q.get("expression"),
            q.get("returnData", True),
            *(
                (
                    q["metric"]["namespace"],
                    q["metric"]["metricName"],
                    _dims(q["metric"].get("dimensions")),
                    q["metric"]["stat"],
                    q["metric"]["period"],
                )
                if "metric" in q
                else (None,) * 5
            ),
        )
        for q in p.get("metricQueries", ())
    )
    return (
        p["name"],
        p["comparisonOperator"],
        p["threshold"],
        p["evaluationPeriods"],
        p.get("datapointsToAlarm"),
        p.get("namespace"),
        p.get("metricName"),
        _dims(p.get("dimensions")),
        p.get("statistic"),
        p.get("extendedStatistic"),
        p.get("period"),
        p.get("treatMissingData"),
        queries,
        len(p.get("alarmActions", ())),
    )


@pytest.fixture(autouse=True, scope="module")
def _pulumi_loop(event_loop_for_pulumi):
    """Every test here runs Pulumi's runtime (tests/deploy/conftest.py: event_loop_for_pulumi)."""


@pytest.fixture(scope="module")
def runs(event_loop_for_pulumi) -> dict:
    return {variant: (deployment_for(variant), *run(deployment_for(variant))) for variant in VARIANTS}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_pulumi_and_cloudformation_describe_the_same_infrastructure(runs, variant):
    deployment, recorder, _ = runs[variant]
    cfn = _cfn_inventory(render_cfn(deployment))
    assert _pulumi_inventory(recorder) == cfn
    assert cfn["indexes"] or variant.startswith("triggers")  # full_app's connections table was compared
    assert len(cfn["composite_alarms"]) == 4 and cfn["dashboards"]  # the SLOs' alarms were compared too
    assert cfn["functions"] and cfn["mappings"] and cfn["iam"] and cfn["routes"]  # it compared something


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_the_example_apps_are_the_same_infrastructure_in_pulumi(example):
    deployment = example_deployment(example)
    recorder, _ = run(deployment)
    cfn = _cfn_inventory(render_cfn(deployment))
    assert _pulumi_inventory(recorder) == cfn
    assert cfn["functions"] and cfn["routes"] and cfn["iam"]  # it compared something


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_resource_type_matches_the_cloudformation_count(runs, variant):
    """Resource for resource: each kind the template creates is registered as many times."""
    deployment, recorder, _ = runs[variant]
    cfn = render_cfn(deployment)["Resources"]
    pairs = {
        "AWS::Lambda::Function": "aws:lambda/function:Function",
        "AWS::IAM::Role": "aws:iam/role:Role",
        "AWS::Logs::LogGroup": "aws:cloudwatch/logGroup:LogGroup",
        "AWS::SQS::Queue": "aws:sqs/queue:Queue",
        "AWS::SNS::Topic": "aws:sns/topic:Topic",
        "AWS::SNS::Subscription": "aws:sns/topicSubscription:TopicSubscription",
        "AWS::DynamoDB::Table": "aws:dynamodb/table:Table",
        "AWS::Kinesis::Stream": "aws:kinesis/stream:Stream",
        "AWS::Lambda::EventSourceMapping": "aws:lambda/eventSourceMapping:EventSourceMapping",
        "AWS::Events::Rule": "aws:cloudwatch/eventRule:EventRule",
        "AWS::Scheduler::Schedule": "aws:scheduler/schedule:Schedule",
        "AWS::Lambda::Permission": "aws:lambda/permission:Permission",
        "AWS::CloudWatch::Alarm": "aws:cloudwatch/metricAlarm:MetricAlarm",
        "AWS::CloudWatch::CompositeAlarm": "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        "AWS::CloudWatch::Dashboard": "aws:cloudwatch/dashboard:Dashboard",
        "AWS::Lambda::Alias": "aws:lambda/alias:Alias",
        "AWS::Lambda::Url": "aws:lambda/functionUrl:FunctionUrl",
        "AWS::ServiceDiscovery::Service": "aws:servicediscovery/service:Service",
        "AWS::ServiceDiscovery::Instance": "aws:servicediscovery/instance:Instance",
        "AWS::Lambda::LayerVersion": "aws:lambda/layerVersion:LayerVersion",
        "AWS::ApiGateway::Authorizer": "aws:apigateway/authorizer:Authorizer",
        "AWS::ApiGatewayV2::Authorizer": "aws:apigatewayv2/authorizer:Authorizer",
        "AWS::ApiGateway::Resource": "aws:apigateway/resource:Resource",
        "AWS::ApiGateway::Method": "aws:apigateway/method:Method",
        "AWS::Cognito::UserPool": "aws:cognito/userPool:UserPool",
        "AWS::Logs::SubscriptionFilter": "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "AWS::S3::AccessPoint": "aws:s3/accessPoint:AccessPoint",
        "AWS::S3ObjectLambda::AccessPoint": "aws:s3control/objectLambdaAccessPoint:ObjectLambdaAccessPoint",
    }
    for cfn_type, pulumi_type in pairs.items():
        expected = sum(1 for r in cfn.values() if r["Type"] == cfn_type)
        assert len(of(recorder, pulumi_type)) == expected, (cfn_type, pulumi_type)


def test_function_properties_and_its_iam_policy_document(runs):
    deployment, recorder, outputs = runs["http"]
    fn = deployment.function
    [function] = [f for f in of(recorder, "aws:lambda/function:Function") if f["name"] == fn.name]
    assert function["handler"] == fn.handler and function["runtime"] == fn.runtime
    assert function["memorySize"] == fn.memory and function["timeout"] == fn.timeout
    assert function["architectures"] == [fn.architecture]
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["role"] == f"arn:aws:iam:{REGION}:{ACCOUNT}:shop-{fn.role_id}"  # the role's arn output
    assert function["loggingConfig"]["logGroup"] == deployment.log_groups[0].name
    assert function["tags"] == dict(deployment.tags)
    # every model placeholder resolved: queue URLs of the environment are the queues' outputs
    env = function["environment"]["variables"]
    assert env and not any("{" in v for v in env.values())
    # the role's inline policy: the model's statements with account/region/partition filled in
    policies = {p["name"]: json.loads(p["policy"]) for p in of(recorder, "aws:iam/rolePolicy:RolePolicy")}
    document = policies[f"{fn.role_id}Policy"]
    assert document["Version"] == "2012-10-17"
    statements = {s["Sid"]: s for s in document["Statement"]}
    model = {s.sid: s for s in deployment.role(fn.role_id).statements}
    assert set(statements) == set(model)
    for sid, statement in model.items():
        got = statements[sid]
        assert got["Effect"] == statement.effect and got["Action"] == list(statement.actions)
        assert len(got["Resource"]) == len(statement.resources)
        for resource, model_resource in zip(got["Resource"], statement.resources):
            if isinstance(model_resource, Expr) and not model_resource.refs:
                assert resource == model_resource.format(region=REGION, account=ACCOUNT)
            elif isinstance(model_resource, Expr):  # names a resource created here: its output, resolved
                assert "{" not in resource and resource.startswith(model_resource.template.split("{", 1)[0])
            else:
                assert resource == model_resource
    log_statement = statements["WriteLogs"]
    assert log_statement["Resource"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:*" for name in (fn.name, f"{fn.name}-jobs")
    ]
    # the WebSocket statement names the API created here (its id output)
    [ws_statement] = [s for s in document["Statement"] if "execute-api:ManageConnections" in s["Action"]]
    assert ws_statement["Resource"][0].startswith(f"arn:aws:execute-api:{REGION}:{ACCOUNT}:shop-")
    services = sorted(
        json.loads(r["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
        for r in of(recorder, "aws:iam/role:Role")
    )
    assert services == ["lambda.amazonaws.com", "scheduler.amazonaws.com"]
    assert outputs["function_name"] == fn.name and outputs["api_url"].startswith("https://")
    assert outputs["websocket_url"].startswith("https://")
    assert set(recorder.calls) >= {"aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getRegion:getRegion"}


def test_queues_mappings_tables_and_schedules_carry_the_model_settings(runs):
    deployment, recorder, _ = runs["http"]
    queues = {q["name"]: q for q in of(recorder, "aws:sqs/queue:Queue")}
    jobs_queue = next(q for q in deployment.queues if q.name == "shop-jobs-dev")
    for q in deployment.queues:
        assert queues[q.name]["visibilityTimeoutSeconds"] == q.visibility_timeout
        assert queues[q.name]["messageRetentionSeconds"] == q.retention_seconds
        assert queues[q.name].get("fifoQueue", False) == q.fifo
        if q.dlq_id:
            redrive = json.loads(queues[q.name]["redrivePolicy"])
            dlq = deployment.by_id(q.dlq_id)
            assert redrive == {
                "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dlq.name}",
                "maxReceiveCount": 7 if q is jobs_queue else 5,  # more than the job's max_attempts (6)
            }
    mappings = of(recorder, "aws:lambda/eventSourceMapping:EventSourceMapping")
    kinesis = [m for m in mappings if m.get("startingPosition")]
    assert kinesis and all(
        m["destinationConfig"]["onFailure"]["destinationArn"].startswith("arn:aws:sqs:") for m in kinesis
    )
    worker = next(f for f in deployment.functions if f.name.endswith("-jobs"))
    assert all(
        m["functionName"].endswith(
            worker.name if m["eventSourceArn"].endswith(":shop-jobs-dev") else deployment.function.name
        )
        for m in mappings
    )
    tables = {t["name"]: t for t in of(recorder, "aws:dynamodb/table:Table")}
    assert set(tables) == {"shop-state-dev", "shop-limits-dev", "shop-connections-dev"}
    gsis = tables["shop-connections-dev"]["globalSecondaryIndexes"]
    assert [(i["name"], i["hashKey"], i["projectionType"]) for i in gsis] == [
        ("by-user", "user_id", "ALL"),
        ("by-tenant", "tenant_id", "ALL"),
    ]
    table = tables["shop-state-dev"]
    assert table["billingMode"] == "PAY_PER_REQUEST" and table["pointInTimeRecovery"] == {"enabled": True}
    assert table["attributes"] == [{"name": "pk", "type": "S"}] and table["ttl"]["enabled"] is True
    [schedule] = of(recorder, "aws:scheduler/schedule:Schedule")
    event = json.loads(schedule["target"]["input"])
    assert event["detail-type"] == "Scheduled Event" and event["account"] == ACCOUNT and event["region"] == REGION
    assert schedule["target"]["roleArn"].startswith(f"arn:aws:iam:{REGION}:{ACCOUNT}:")


def test_snapstart_triggers_invoke_the_alias_and_rest_routes_everything(runs):
    deployment, recorder, outputs = runs["rest-snapstart"]
    [function] = [f for f in of(recorder, "aws:lambda/function:Function") if f["name"] == deployment.function.name]
    assert function["snapStart"] == {"applyOn": "PublishedVersions"} and function["publish"] is True
    assert function["reservedConcurrentExecutions"] == 5
    [alias] = of(recorder, "aws:lambda/alias:Alias")
    assert alias["name"] == "dev"
    [rest_api] = of(recorder, "aws:apigateway/restApi:RestApi")
    assert rest_api["binaryMediaTypes"] == ["*/*"]  # (binary bodies both ways, as lift dev and the ALB pass them)
    permissions = of(recorder, "aws:lambda/permission:Permission")
    assert permissions and all(p["qualifier"] == "dev" for p in permissions)
    mappings = of(recorder, "aws:lambda/eventSourceMapping:EventSourceMapping")
    app_mappings = [m for m in mappings if not m["eventSourceArn"].endswith(":shop-jobs-dev")]
    assert app_mappings and all(m["functionName"].endswith(":dev") for m in app_mappings)  # the alias's arn
    [jobs] = [m for m in mappings if m not in app_mappings]
    assert jobs["functionName"].endswith(":shop-dev-jobs")  # the worker (no SnapStart, no alias)
    methods = of(recorder, "aws:apigateway/method:Method")
    assert sorted(m["httpMethod"] for m in methods) == ["ANY", "ANY"]
    [proxy] = of(recorder, "aws:apigateway/resource:Resource")
    assert proxy["pathPart"] == "{proxy+}"
    [domain] = of(recorder, "aws:apigateway/domainName:DomainName")
    assert domain["domainName"] == "api.example.com" and domain["securityPolicy"] == "TLS_1_2"
    assert outputs["api_url"].endswith("/") and outputs["domain_target"].startswith("d-")


def test_stage_settings_are_arguments_like_terraform_variables():
    deployment = deployment_for("url")
    recorder, outputs = run(deployment, memory_size=2048, environment={"FEATURE_X": "on"}, tags={"team": "a"})
    [function, worker] = of(recorder, "aws:lambda/function:Function")
    assert function["memorySize"] == 2048 and function["timeout"] == deployment.function.timeout
    assert (worker["name"], worker["memorySize"], worker["timeout"]) == ("shop-dev-jobs", 512, 900)  # its own
    assert function["environment"]["variables"]["FEATURE_X"] == "on"
    assert function["tags"] == {"team": "a"} and function["tracingConfig"] == {"mode": "PassThrough"}
    [url] = of(recorder, "aws:lambda/functionUrl:FunctionUrl")
    assert url["authorizationType"] == "NONE" and outputs["api_url"].startswith("https://")
    # dependencies_layer = true: the layer is created from its own zip and comes first on the function
    [layer] = of(recorder, "aws:lambda/layerVersion:LayerVersion")
    assert layer["code"].path == "dist/shop-dev-layer.zip" and layer["layerName"] == deployment.layers[0].name
    assert layer["compatibleRuntimes"] == [deployment.function.runtime]
    assert function["layers"] == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:shop-{deployment.layers[0].id}"]


def test_a_layer_stage_without_its_zip_is_a_clear_error():
    from lift.deploy.pulumi import LiftService

    pulumi.runtime.set_mocks(Recorder(), preview=False)
    with pytest.raises(ValueError, match="layer_artifact_path"):
        LiftService("shop", deployment_for("url"), artifact_path="dist/shop-dev.zip")


def test_alb_permission_is_limited_to_the_account(runs):
    _, recorder, _ = runs["alb"]
    [permission] = [
        p for p in of(recorder, "aws:lambda/permission:Permission") if "elasticloadbalancing" in p["principal"]
    ]
    assert permission["sourceAccount"] == ACCOUNT and "sourceArn" not in permission
    [rule] = of(recorder, "aws:lb/listenerRule:ListenerRule")
    assert rule["conditions"][0]["pathPattern"]["values"] == ["/*"] and rule["priority"] == 100


def test_import_lift_does_not_import_pulumi():
    code = "import sys, lift, lift.deploy; print('pulumi' in sys.modules, 'pulumi_aws' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_docs_example_program_runs(tmp_path, monkeypatch):
    """The worked example of docs/deploy.md, on a project directory, as stack `prod`."""
    from tests.deploy.test_cli_synth import CONFIG, project

    section = (ROOT / "docs" / "deploy.md").read_text().split("\n## Pulumi\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    root = project(tmp_path, CONFIG)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="notes", stack="prod", preview=False)

    @pulumi.runtime.test
    def program():
        namespace: dict = {}
        exec(compile(code.replace("from orders import app", "from notes import app"), "deploy.md", "exec"), namespace)
        return pulumi.Output.all(*(r.urn for r in namespace["service"].resources.values()))

    try:
        program()
    finally:
        sys.modules.pop("notes", None)
    [function] = of(recorder, "aws:lambda/function:Function")
    assert function["name"] == "notes-prod" and function["handler"] == "notes.app"
    assert function["memorySize"] == 1024 and function["environment"]["variables"]["FEATURE_X"] == "off"
    assert function["code"].path == "dist/orders-prod.zip"
    assert [s["scheduleExpression"] for s in of(recorder, "aws:scheduler/schedule:Schedule")] == ["rate(1 day)"]


def test_lift_synth_writes_a_pulumi_project_whose_program_runs_per_stack(tmp_path, monkeypatch):
    """`lift synth --format pulumi`: Pulumi.yaml, the program and a stack config per stage; the
    program runs under the mocks as stack `prod` with that stack's config, as the engine runs it."""

    import yaml

    from tests.deploy.test_cli_synth import CONFIG, lift, project

    root = project(tmp_path, CONFIG)
    result = lift("synth", "prod", "--format", "pulumi", "-o", "infra/pulumi", cwd=root)
    assert result.returncode == 0, result.stderr
    out = root / "infra" / "pulumi"
    assert sorted(p.name for p in out.iterdir()) == [
        "Pulumi.dev.yaml",
        "Pulumi.prod.yaml",
        "Pulumi.yaml",
        "__main__.py",
        "requirements.txt",
    ]
    assert "Pulumi.prod.yaml" in result.stdout and "sqs:ReceiveMessage" in result.stdout
    assert yaml.safe_load((out / "Pulumi.yaml").read_text()) | {"description": ""} == {
        "name": "notes",
        "runtime": {"name": "python"},
        "description": "",
    }
    prod = yaml.safe_load((out / "Pulumi.prod.yaml").read_text())["config"]
    dev = yaml.safe_load((out / "Pulumi.dev.yaml").read_text())["config"]
    assert prod["aws:region"] == dev["aws:region"] == "eu-west-1"
    assert prod["lift:memory_size"] == "1024" and dev["lift:memory_size"] != "1024"  # [tool.lift.stages.prod]
    assert prod["lift:artifact_path"] == ".lift/prod/package.zip"
    again = lift("synth", "prod", "--format", "pulumi", "-o", "infra/again", cwd=root)
    assert again.returncode == 0
    assert all((out / f).read_bytes() == (root / "infra" / "again" / f).read_bytes() for f in ("__main__.py",))

    prod["lift:timeout"] = "25"  # what `pulumi config set lift:timeout 25 -s prod` writes
    monkeypatch.chdir(out)  # the engine runs the program in its project directory
    try:
        recorder = run_written_program(out, "notes", "prod", prod)
    finally:
        sys.modules.pop("notes", None)
    [function] = of(recorder, "aws:lambda/function:Function")
    assert function["name"] == "notes-prod" and function["handler"] == "notes.app"
    assert function["memorySize"] == 1024 and function["timeout"] == 25
    assert function["code"].path == str(root / ".lift" / "prod" / "package.zip")
    assert [q["name"] for q in of(recorder, "aws:sqs/queue:Queue")] == ["notes-imports-prod-dlq", "notes-imports-prod"]
    assert [s["scheduleExpression"] for s in of(recorder, "aws:scheduler/schedule:Schedule")] == ["rate(1 day)"]


def test_the_written_program_imports_an_app_from_a_src_layout(tmp_path, monkeypatch):
    """`[tool.lift] app = "notes.api:service.app"` under src/: the program puts src/ on sys.path and
    reaches the App through its dotted attribute."""

    from lift.deploy import build_deployment, load_config
    from lift.deploy.projects import pulumi_project

    (tmp_path / "src" / "notes").mkdir(parents=True)
    (tmp_path / "src" / "notes" / "__init__.py").write_text("")
    (tmp_path / "src" / "notes" / "api.py").write_text(
        "from lift import App\n\n\nclass service:\n    app = App(name='notes')\n\n\n"
        "@service.app.get('/notes')\ndef notes() -> list:\n    return []\n"
    )
    (tmp_path / "pyproject.toml").write_text('[tool.lift]\napp = "notes.api:service.app"\nregion = "eu-west-1"\n')
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    from notes.api import service

    out = tmp_path / "deploy" / "pulumi"
    deployment = build_deployment(service.app, load_config(tmp_path), "dev", handler="notes.api.service.app")
    files = pulumi_project(
        [deployment], project=tmp_path, out=out, app_root=tmp_path / "src", module="notes.api", attr="service.app"
    )
    out.mkdir(parents=True)
    for name, text in files.items():
        (out / name).write_text(text)

    def forget_notes() -> None:  # not monkeypatch.delitem: its undo would put this `notes` back for later tests
        for name in [m for m in sys.modules if m == "notes" or m.startswith("notes.")]:
            del sys.modules[name]

    forget_notes()  # the program imports it itself
    monkeypatch.chdir(out)
    try:
        recorder = run_written_program(out, "notes", "dev", {"lift:artifact_path": ".lift/dev/package.zip"})
    finally:
        forget_notes()
    [function] = of(recorder, "aws:lambda/function:Function")
    assert function["handler"] == "notes.api.service.app" and function["name"] == "notes-dev"
    assert function["code"].path == str(tmp_path / ".lift" / "dev" / "package.zip")
    assert "GET /notes" in [r["routeKey"] for r in of(recorder, "aws:apigatewayv2/route:Route")]


def test_the_cloud_map_health_check_and_the_reporters_environment_and_grant(runs):
    """The Cloud Map service is made before the function: its id is in the function's environment
    (lift.cloud_map_health) and in the one statement that may update its instances' health."""
    from lift.cloud_map_health import INSTANCE_ENV, SCHEDULE_ENV, SERVICE_ENV

    deployment, recorder, _ = runs["url"]
    [service] = [
        r for r in recorder.resources if r.typ == "aws:servicediscovery/service:Service"
    ]  # failure_threshold is deprecated: AWS always uses 1
    assert service.inputs["healthCheckCustomConfig"] == {}
    [function] = [f for f in of(recorder, "aws:lambda/function:Function") if f["name"] == deployment.function.name]
    variables = function["environment"]["variables"]
    assert variables[SERVICE_ENV] == f"{service.name}-id"  # the mocked service's id
    assert variables[INSTANCE_ENV] == deployment.cloud_map.instance_id
    [schedule] = [s for s in of(recorder, "aws:scheduler/schedule:Schedule") if s["name"] == variables[SCHEDULE_ENV]]
    assert schedule["scheduleExpression"] == "rate(1 minute)"
    statements = [
        s for p in of(recorder, "aws:iam/rolePolicy:RolePolicy") for s in json.loads(p["policy"])["Statement"]
    ]
    [grant] = [s for s in statements if s["Sid"] == "ReportCloudMapHealth"]
    assert grant["Action"] == ["servicediscovery:UpdateInstanceCustomHealthStatus"]
    assert grant["Resource"] == [f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/{service.name}-id"]
