"""What `lift deploy` creates for the triggers of issue 15: API Gateway authorizers on the routes
that need them, Cognito triggers, Kafka and Amazon MQ mappings, log subscriptions, Object Lambda
access points, and least-privilege permissions for the services that invoke the function. The
renderers' equivalence, cfn-lint and checkov run on these apps through the `triggers*` variants
of test_cloudformation.VARIANTS; here each trigger's own wiring, and a deploy to moto."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

import pytest

from lift import App
from lift.deploy import ModelError, build_deployment, config_from_dict
from lift.deploy.cloudformation import render
from lift.deploy.config import ConfigError
from lift.deploy.model import HttpRoute, rest_resources
from tests.deploy.conftest import TRIGGERS_CONFIG, triggers_app

REGION = "eu-west-1"


def deployment(app: App | None = None, **settings: Any):
    config = config_from_dict({"region": REGION, **TRIGGERS_CONFIG, **settings}, "pyproject.toml")
    return build_deployment(app or triggers_app(), config, "dev")


def template(app: App | None = None, **settings: Any) -> dict:
    return render(deployment(app, **settings))


def of(t: dict, kind: str) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in t["Resources"].items() if v["Type"] == kind}


def policy(t: dict) -> dict[str, dict]:
    doc = t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    return {s["Sid"]: s for s in doc["Statement"]}


def permissions(t: dict) -> dict[str, dict]:
    return {p["Principal"] + " " + k: p for k, p in of(t, "AWS::Lambda::Permission").items()}


# -- API Gateway authorizers --------------------------------------------------------------------------
def test_http_api_routes_use_the_authorizer_except_public_and_health_routes() -> None:
    t = template()
    [(auth_id, auth)] = [(k, p) for k, p in of(t, "AWS::ApiGatewayV2::Authorizer").items() if k == "AuthorizerHttp"]
    assert auth["AuthorizerType"] == "REQUEST" and auth["AuthorizerPayloadFormatVersion"] == "2.0"
    assert auth["EnableSimpleResponses"] is True and auth["AuthorizerResultTtlInSeconds"] == 60
    assert auth["IdentitySource"] == ["$request.header.Authorization"]
    assert auth["ApiId"] == {"Ref": "HttpApi"}
    assert auth["AuthorizerUri"]["Fn::Sub"].endswith("/functions/${Function.Arn}/invocations")
    routes = {p["RouteKey"]: p for p in of(t, "AWS::ApiGatewayV2::Route").values()}
    guarded = sorted(k for k, r in routes.items() if r.get("AuthorizerId") == {"Ref": auth_id})
    open_ = sorted(k for k, r in routes.items() if "AuthorizerId" not in r)
    assert guarded == ["$default", "GET /orders/{order_id}"]  # unknown paths too: no way around it
    assert open_ == ["GET /docs/{page}", "GET /health", "GET /health/live", "GET /health/ready"]
    assert all(routes[k]["AuthorizationType"] == "CUSTOM" for k in guarded)
    # $connect of the WebSocket API has its own authorizer (no result cache: WebSocket has none)
    ws = of(t, "AWS::ApiGatewayV2::Authorizer")["AuthorizerWebSocket"]
    assert ws["IdentitySource"] == ["route.request.header.Authorization"] and "AuthorizerResultTtlInSeconds" not in ws
    assert routes["$connect"]["AuthorizerId"] == {"Ref": "AuthorizerWebSocket"}
    # API Gateway may call the function as an authorizer of these two APIs only
    sources = sorted(
        p["SourceArn"]["Fn::Sub"] for k, p in permissions(t).items() if k.startswith("apigateway") and "uthorizer" in k
    )
    assert sources == [
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/authorizers/*",
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/authorizers/*",
    ]


def test_policy_answers_turn_simple_responses_off_and_health_can_be_guarded() -> None:
    app = App(name="guarded")
    app.health.mount(app)

    @app.get("/me")
    def me() -> dict:
        return {}

    @app.authorizer(response="policy")
    def authorize(body: Any) -> str:
        return "user-1"

    t = template(app, authorizer={"public_health": False, "identity_source": ["$request.header.X-Api-Key"]})
    [auth] = of(t, "AWS::ApiGatewayV2::Authorizer").values()
    assert auth["EnableSimpleResponses"] is False and auth["IdentitySource"] == ["$request.header.X-Api-Key"]
    assert all(r["AuthorizationType"] == "CUSTOM" for r in of(t, "AWS::ApiGatewayV2::Route").values())


def test_rest_api_token_authorizer_and_explicit_resources_for_public_routes() -> None:
    t = template(http="rest", authorizer={"type": "TOKEN", "public_routes": ["/docs/{page}"]})
    [api] = of(t, "AWS::ApiGateway::RestApi").values()
    assert api["BinaryMediaTypes"] == ["*/*"]  # (else binary bodies are mangled both ways)
    [auth] = of(t, "AWS::ApiGateway::Authorizer").values()
    assert (auth["Type"], auth["IdentitySource"], auth["AuthorizerResultTtlInSeconds"]) == (
        "TOKEN",
        "method.request.header.Authorization",
        300,
    )
    resources = of(t, "AWS::ApiGateway::Resource")
    parts = sorted(p["PathPart"] for p in resources.values())
    assert parts == sorted(
        ["{proxy+}", "docs", "{page}", "{proxy+}", "health", "{proxy+}", "live", "{proxy+}", "ready", "{proxy+}"]
    )
    methods = [
        (m["ResourceId"], m["HttpMethod"], m["AuthorizationType"]) for m in of(t, "AWS::ApiGateway::Method").values()
    ]
    public = sorted((r["Ref"], verb) for r, verb, kind in methods if kind == "NONE" and isinstance(r, dict))
    assert public == [
        ("HttpApiResourceDocsPage", "GET"),
        ("HttpApiResourceHealth", "GET"),
        ("HttpApiResourceHealthLive", "GET"),
        ("HttpApiResourceHealthReady", "GET"),
    ]
    assert sum(kind == "CUSTOM" for _, _, kind in methods) == len(methods) - 4
    with pytest.raises(ModelError, match="public_routes: 'GET /nope' is not a route of the app"):
        deployment(authorizer={"public_routes": ["GET /nope"]})
    with pytest.raises(ModelError, match="TOKEN authorizer takes exactly one identity_source"):
        deployment(http="rest", authorizer={"type": "TOKEN", "identity_source": ["a", "b"]})


def test_rest_resources_keep_every_path_reaching_the_app() -> None:
    nodes = {
        n.path: n for n in rest_resources([HttpRoute("GET", "/files/{name}"), HttpRoute("ANY", "/files/{name}/raw")])
    }
    assert list(nodes) == ["/files", "/files/{name}", "/files/{name}/raw"]
    assert nodes["/files"].proxy_child is False  # a `{proxy+}` next to `{name}` is refused by API Gateway
    assert nodes["/files"].public_methods == () and nodes["/files/{name}"].public_methods == ("GET",)
    assert nodes["/files/{name}/raw"].public_methods == ("ANY",) and nodes["/files/{name}/raw"].proxy_child


def test_an_authorizer_without_an_api_gateway_front_is_an_output_to_plug_in() -> None:
    app = App(name="edge")

    @app.authorizer()
    def authorize(body: Any) -> str:
        return "user-1"

    t = template(app, http="none")
    assert not of(t, "AWS::ApiGatewayV2::Authorizer") and not of(t, "AWS::ApiGateway::Authorizer")
    assert t["Outputs"]["AuthorizerFunctionArn"]["Value"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert any("no API Gateway API" in w for w in deployment(app, http="none").warnings)


def test_an_authorizer_for_another_api_id_leaves_the_stages_api_open() -> None:
    app = App(name="other")

    @app.get("/me")
    def me() -> dict:
        return {}

    @app.authorizer("a1b2c3d4e5")
    def authorize(body: Any) -> str:
        return "user-1"

    d = deployment(app)
    t = render(d)
    assert not of(t, "AWS::ApiGatewayV2::Authorizer")
    assert all("AuthorizerId" not in r for r in of(t, "AWS::ApiGatewayV2::Route").values())
    assert "AuthorizerFunctionArn" in t["Outputs"] and any("serves APIs named by id" in w for w in d.warnings)


# -- Cognito --------------------------------------------------------------------------------------------
def test_a_created_user_pool_has_the_triggers_and_only_it_may_invoke() -> None:
    t = template()
    [(pool_id, pool)] = of(t, "AWS::Cognito::UserPool").items()
    assert t["Resources"][pool_id]["DeletionPolicy"] == "Retain"
    function = {"Fn::GetAtt": ["Function", "Arn"]}
    assert pool["LambdaConfig"] == {
        "PreSignUp": function,
        "PreTokenGenerationConfig": {"LambdaArn": function, "LambdaVersion": "V2_0"},
    }
    [cognito] = [p for k, p in permissions(t).items() if k.startswith("cognito-idp")]
    assert cognito["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${UserPool}"
    }


def test_an_existing_user_pool_is_only_allowed_to_invoke() -> None:
    arn = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf"
    d = deployment(cognito={"user_pool_arn": arn})
    t = render(d)
    assert not of(t, "AWS::Cognito::UserPool")
    [cognito] = [p for k, p in permissions(t).items() if k.startswith("cognito-idp")]
    assert cognito["SourceArn"] == arn
    assert any("PreSignUp, PreTokenGenerationConfig" in w for w in d.warnings)
    assert "CognitoTriggerFunctionArn" in t["Outputs"]


def test_cognito_needs_its_pool_and_senders_need_a_key() -> None:
    config = {k: v for k, v in TRIGGERS_CONFIG.items() if k != "cognito"}
    with pytest.raises(ModelError, match=r"\[tool.lift.cognito\] user_pool_arn = "):
        build_deployment(triggers_app(), config_from_dict({"region": REGION, **config}), "dev")
    app = App(name="mail")

    @app.cognito("custom_email_sender")
    def send(body: dict) -> None: ...

    with pytest.raises(ModelError, match="need a KMS key"):
        template(app, cognito={"create": True})
    key = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
    t = template(app, cognito={"create": True, "kms_key_arn": key})
    [pool] = of(t, "AWS::Cognito::UserPool").values()
    assert pool["LambdaConfig"]["KMSKeyID"] == key
    assert pool["LambdaConfig"]["CustomEmailSender"]["LambdaVersion"] == "V1_0"
    assert policy(t)["CognitoSenderKey"] == {
        "Sid": "CognitoSenderKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": key,
    }


# -- Kafka and Amazon MQ ----------------------------------------------------------------------------------
def test_msk_mapping_reads_with_iam_scoped_to_its_cluster_topic_and_group() -> None:
    t = template()
    mappings = {p["Topics"][0]: p for p in of(t, "AWS::Lambda::EventSourceMapping").values() if "Topics" in p}
    cluster = TRIGGERS_CONFIG["kafka"]["orders"]["cluster_arn"]
    msk = mappings["orders"]
    assert msk["EventSourceArn"] == cluster and msk["StartingPosition"] == "LATEST"
    assert msk["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "hooks-orders"}
    assert msk["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert msk["ProvisionedPollerConfig"] == {"MinimumPollers": 1, "MaximumPollers": 10}
    statements = policy(t)
    read = statements["KafkaReadOrders"]
    assert "kafka-cluster:ReadData" in read["Action"]
    assert read["Resource"] == [
        cluster,
        cluster.replace(":cluster/", ":topic/") + "/orders",
        cluster.replace(":cluster/", ":group/") + "/hooks-orders",
    ]
    assert statements["KafkaClusterOrders"]["Resource"] == cluster
    assert statements["EventSourceNetwork"]["Resource"] == "*"  # EC2 ENI actions take no resource


def test_self_managed_kafka_uses_its_brokers_secret_and_vpc() -> None:
    t = template()
    [audit] = [p for p in of(t, "AWS::Lambda::EventSourceMapping").values() if p.get("Topics") == ["audit"]]
    assert "EventSourceArn" not in audit
    assert audit["SelfManagedEventSource"] == {
        "Endpoints": {"KafkaBootstrapServers": ["kafka1.example.com:9096", "kafka2.example.com:9096"]}
    }
    secret = TRIGGERS_CONFIG["kafka"]["audit"]["secret_arn"]
    assert audit["SourceAccessConfigurations"] == [
        {"Type": "SASL_SCRAM_512_AUTH", "URI": secret},
        {"Type": "VPC_SUBNET", "URI": "subnet:subnet-0a1b2c3d"},
        {"Type": "VPC_SECURITY_GROUP", "URI": "security_group:sg-0a1b2c3d"},
    ]
    assert policy(t)["KafkaSecretAudit"]["Resource"] == secret
    assert not any(s.startswith("KafkaReadAudit") for s in policy(t))  # no IAM auth to a self-managed cluster


def test_msk_with_a_secret_authenticates_with_sasl_scram_not_iam() -> None:
    cluster = TRIGGERS_CONFIG["kafka"]["orders"]["cluster_arn"]
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_orders-AbCdEf"
    t = template(kafka={**TRIGGERS_CONFIG["kafka"], "orders": {"cluster_arn": cluster, "secret_arn": secret}})
    [msk] = [p for p in of(t, "AWS::Lambda::EventSourceMapping").values() if p.get("Topics") == ["orders"]]
    assert msk["SourceAccessConfigurations"] == [{"Type": "SASL_SCRAM_512_AUTH", "URI": secret}]
    assert "KafkaReadOrders" not in policy(t) and policy(t)["KafkaSecretOrders"]["Resource"] == secret


def test_mq_mapping_logs_in_with_its_secret_and_has_no_partial_failures() -> None:
    t = template()
    [mq] = [p for p in of(t, "AWS::Lambda::EventSourceMapping").values() if "Queues" in p]
    broker, secret = TRIGGERS_CONFIG["mq"]["jobs"]["broker_arn"], TRIGGERS_CONFIG["mq"]["jobs"]["secret_arn"]
    assert mq["EventSourceArn"] == broker and mq["Queues"] == ["jobs"]
    assert mq["SourceAccessConfigurations"] == [{"Type": "BASIC_AUTH", "URI": secret}]
    assert "FunctionResponseTypes" not in mq
    assert policy(t)["MqBrokerJobs"]["Resource"] == broker and policy(t)["MqSecretJobs"]["Resource"] == secret


def test_a_kafka_mapping_without_partial_failures_needs_a_handler_that_fails_the_batch() -> None:
    """A mapping without ReportBatchItemFailures ignores `batchItemFailures`: a handler answering there
    would lose its failed records. `lift synth` refuses that pairing, naming the fix; with the handler
    registered `partial_failures=False` (a failure fails the invocation) the mapping has neither
    ReportBatchItemFailures nor provisioned pollers (before, a warning and the records lost)."""
    off = {**TRIGGERS_CONFIG["kafka"], "orders": {**TRIGGERS_CONFIG["kafka"]["orders"], "partial_failures": False}}
    config = config_from_dict({"region": REGION, **TRIGGERS_CONFIG, "kafka": off})
    with pytest.raises(ModelError, match=r"partial_failures=False\), so a failure retries the batch"):
        build_deployment(triggers_app(), config, "dev")
    app = App(name="hooks")
    app.kafka("orders", partial_failures=False)(lambda body: None)
    app.kafka("audit")(lambda body: None)
    (orders,) = [m for m in build_deployment(app, config, "dev").event_source_mappings if m.topics == ("orders",)]
    assert not orders.report_batch_item_failures and orders.pollers is None


def test_kafka_and_mq_need_their_cluster_and_broker() -> None:
    with pytest.raises(ModelError, match=r"\[tool.lift.kafka.orders\] cluster_arn = "):
        build_deployment(triggers_app(), config_from_dict({"region": REGION, **TRIGGERS_CONFIG, "kafka": {}}), "dev")
    with pytest.raises(ModelError, match=r"\[tool.lift.mq.jobs\] broker_arn = "):
        build_deployment(triggers_app(), config_from_dict({"region": REGION, **TRIGGERS_CONFIG, "mq": {}}), "dev")
    with pytest.raises(ConfigError, match="one of them"):
        config_from_dict({"kafka": {"t": {"cluster_arn": "arn:aws:kafka:x", "bootstrap_servers": ["b:1"]}}}).stage()
    with pytest.raises(ConfigError, match="IAM authentication is Amazon MSK's"):
        config_from_dict({"kafka": {"t": {"bootstrap_servers": ["b:1"], "auth": "iam"}}}).stage()
    with pytest.raises(ConfigError, match="needs the credentials' secret_arn"):
        config_from_dict({"kafka": {"t": {"bootstrap_servers": ["b:1"], "auth": "sasl_scram_256"}}}).stage()
    with pytest.raises(ConfigError, match=r"\[tool.lift.mq.jobs\]: missing required key 'secret_arn'"):
        config_from_dict({"mq": {"jobs": {"broker_arn": "arn:aws:mq:x"}}})


# -- logs, Object Lambda, Firehose ----------------------------------------------------------------------------
def test_a_log_subscription_filter_after_its_permission() -> None:
    t = template()
    [(fid, sub)] = of(t, "AWS::Logs::SubscriptionFilter").items()
    assert (sub["LogGroupName"], sub["FilterPattern"]) == ("/aws/lambda/payments", "ERROR")
    assert sub["DestinationArn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    [(pid, logs)] = [(k.split(" ", 1)[1], p) for k, p in permissions(t).items() if k.startswith("logs.")]
    assert t["Resources"][fid]["DependsOn"] == [pid]
    assert logs["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/payments:*"
    }


def test_object_lambda_access_point_and_write_get_object_response(monkeypatch: pytest.MonkeyPatch) -> None:
    t = template(http="rest", snapstart=True)
    [point] = of(t, "AWS::S3::AccessPoint").values()
    assert point == {"Bucket": "hooks-documents", "Name": "redacted-dev-source"}  # each stage its own
    [ol] = of(t, "AWS::S3ObjectLambda::AccessPoint").values()
    assert ol["Name"] == "redacted-dev"
    [transform] = ol["ObjectLambdaConfiguration"]["TransformationConfigurations"]
    assert transform["Actions"] == ["GetObject"]
    assert transform["ContentTransformation"]["AwsLambda"]["FunctionArn"] == {"Ref": "FunctionAlias"}  # SnapStart
    assert policy(t)["ObjectLambdaRedacted"] == {
        "Sid": "ObjectLambdaRedacted",
        "Effect": "Allow",
        "Action": ["s3-object-lambda:WriteGetObjectResponse"],
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:s3-object-lambda:${AWS::Region}:${AWS::AccountId}:accesspoint/redacted-dev"
        },
    }
    # the deployed function (its stage's suffix) takes the GetObject of its stage's access point, not another's
    monkeypatch.setenv("LIFT_RESOURCE_SUFFIX", "-dev")
    app = App(name="hooks")
    app.s3_object_lambda("redacted")(lambda body: body)
    [handler] = [h for h in app.event_handlers if h.source == "s3_object_lambda"]
    assert [handler.match(p) for p in ("redacted-dev", "redacted", "redacted-prod")] == [True, True, False]


def test_firehose_role_may_invoke_the_processor_or_a_warning_says_how() -> None:
    t = template()
    [rp] = of(t, "AWS::IAM::RolePolicy").values()
    assert rp["RoleName"] == "hooks-clicks-firehose"
    [statement] = rp["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"]
    assert t["Outputs"]["FirehoseProcessorArn"]["Value"] == {"Fn::GetAtt": ["Function", "Arn"]}
    d = deployment(firehose={})
    assert not render(d)["Resources"].keys() & {"FirehoseInvokeHooksClicks"}
    assert any(w.startswith("firehose hooks-clicks: set the delivery stream's processor") for w in d.warnings)


# -- services invoking the function, and outputs ----------------------------------------------------------------
def test_service_permissions_are_scoped_to_the_account_and_the_named_sources() -> None:
    t = template()
    found = {k.split(" ")[0]: p for k, p in permissions(t).items()}
    assert found["ses.amazonaws.com"]["SourceArn"]["Fn::Sub"].endswith(":receipt-rule-set/hooks-inbound:receipt-rule/*")
    assert found["bedrock.amazonaws.com"]["SourceArn"]["Fn::Sub"].endswith(":agent/*")
    assert found["appsync.amazonaws.com"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert all(
        found[s]["SourceAccount"] == {"Ref": "AWS::AccountId"} for s in ("ses.amazonaws.com", "bedrock.amazonaws.com")
    )
    rotation = found["secretsmanager.amazonaws.com"]["SourceArn"]["Fn::Sub"]
    assert rotation.endswith(":secret:hooks-db-*-??????")
    statements = policy(t)
    assert statements["RotateSecrets"]["Resource"]["Fn::Sub"] == rotation.replace(
        "${AWS::Partition}", "${AWS::Partition}"
    )
    assert statements["RotateSecrets"]["Action"] == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ]
    assert statements["CodePipelineResults"]["Action"] == [
        "codepipeline:PutJobFailureResult",
        "codepipeline:PutJobSuccessResult",
    ]


def test_outputs_to_plug_the_function_in_and_the_appsync_role() -> None:
    t = template()
    outputs = t["Outputs"]
    assert outputs["CustomResourceServiceToken"]["Value"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert outputs["AppSyncDataSourceRoleArn"]["Value"] == {"Fn::GetAtt": ["AppSyncRole", "Arn"]}
    role = t["Resources"]["AppSyncRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "appsync.amazonaws.com"}
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert statement["Resource"][0] == {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:hooks-dev"
    }
    rest = template(http="rest", snapstart=True)["Outputs"]
    assert rest["CustomResourceServiceToken"]["Value"] == {"Ref": "FunctionAlias"}  # SnapStart: the alias
    assert {"RotationFunctionArn", "CodePipelineFunctionArn", "BedrockActionGroupFunctionArn"} <= set(outputs)


def test_without_the_new_triggers_nothing_changes() -> None:
    from tests.deploy.conftest import full_app

    d = build_deployment(full_app(), config_from_dict({"region": REGION}), "dev")
    assert (d.authorizers, d.permissions, d.subscription_filters, d.user_pools, d.outputs) == ((), (), (), (), ())
    assert d.http is not None and d.http.authorizer_id is None


# -- deployed to moto's CloudFormation ----------------------------------------------------------------------
def test_the_triggers_stack_deploys_to_moto(moto_endpoint: str) -> None:
    """moto's CloudFormation creates the function, its permissions and the REST API's resources and
    methods; it records but does not create API Gateway authorizers, HTTP/WebSocket APIs, user pools,
    subscription filters or access points, and refuses Kafka/MQ mappings (so they are left out)."""
    import boto3

    suffix = uuid.uuid4().hex[:6]
    d = deployment(name=f"hooks{suffix}", http="rest", object_lambda={"redacted": {"bucket": f"docs-{suffix}"}})
    t = render(d)
    for key in [k for k, r in t["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"]:
        del t["Resources"][key]
    kw = {"endpoint_url": moto_endpoint, "region_name": REGION}
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket=f"code-{suffix}", CreateBucketConfiguration={"LocationConstraint": REGION})
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "app = None\n")
    s3.put_object(Bucket=f"code-{suffix}", Key="code.zip", Body=code.getvalue())
    cfn = boto3.client("cloudformation", **kw)
    cfn.create_stack(
        StackName=d.stack_name,
        TemplateBody=json.dumps(t),
        Parameters=[
            {"ParameterKey": "CodeS3Bucket", "ParameterValue": f"code-{suffix}"},
            {"ParameterKey": "CodeS3Key", "ParameterValue": "code.zip"},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    for _ in range(120):
        stack = cfn.describe_stacks(StackName=d.stack_name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(0.5)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    statements = json.loads(boto3.client("lambda", **kw).get_policy(FunctionName=d.function.name)["Policy"])[
        "Statement"
    ]
    principals = sorted(s["Principal"]["Service"] for s in statements)
    assert principals == sorted(
        ["apigateway.amazonaws.com"] * 4  # the REST API, the WebSocket API, their authorizers
        + [
            "appsync.amazonaws.com",
            "bedrock.amazonaws.com",
            "cognito-idp.amazonaws.com",
            "logs.amazonaws.com",
            "secretsmanager.amazonaws.com",
            "ses.amazonaws.com",
        ]
    )
    ses = next(s for s in statements if s["Principal"]["Service"] == "ses.amazonaws.com")
    assert ses["Condition"]["StringEquals"]["AWS:SourceAccount"] and "hooks-inbound" in str(ses["Condition"])
    api = boto3.client("apigateway", **kw)
    [rest] = [a for a in api.get_rest_apis()["items"] if a["name"] == f"{d.stack_name}-rest"]
    methods = {
        r["path"]: {m: v["authorizationType"] for m, v in (r.get("resourceMethods") or {}).items()}
        for r in api.get_resources(restApiId=rest["id"], embed=["methods"])["items"]
    }
    assert methods["/"] == {"ANY": "CUSTOM"} and methods["/{proxy+}"] == {"ANY": "CUSTOM"}
    assert methods["/docs/{page}"] == {"ANY": "CUSTOM", "GET": "NONE"}
    assert methods["/health/ready"] == {"ANY": "CUSTOM", "GET": "NONE"}
    assert methods["/health/ready/{proxy+}"] == {"ANY": "CUSTOM"}


def test_terraform_outputs_match_the_cloudformation_ones() -> None:
    from lift.deploy.terraform import render as render_tf

    d = deployment()
    outputs = render_tf(d)["outputs.tf.json"]["output"]
    assert outputs["custom_resource_service_token"]["value"] == "${aws_lambda_function.function.arn}"
    assert outputs["app_sync_data_source_role_arn"]["value"] == "${aws_iam_role.app_sync_role.arn}"
    assert outputs["user_pool_id"]["value"] == "${aws_cognito_user_pool.user_pool.id}"
    named = {o.name for o in d.outputs}
    assert named <= set(render(d)["Outputs"]) and len(named) == 8


def test_an_app_with_more_routes_than_an_http_api_takes_keeps_default_and_public_routes() -> None:
    """API Gateway takes 300 routes per HTTP API: a 400-route app got 400 Route resources (and a
    deploy AWS refuses). $default reaches the App through the same integration and authorizer."""
    from lift.deploy import terraform

    app = triggers_app()
    for i in range(400):

        @app.get(f"/items{i}/{{item_id}}")
        def item(item_id: str) -> dict:
            return {}

    d = deployment(app)
    cfn_routes = {
        p["RouteKey"]: p for k, p in of(render(d), "AWS::ApiGatewayV2::Route").items() if k.startswith("HttpApi")
    }
    assert sorted(cfn_routes) == [
        "$default",
        "GET /docs/{page}",
        "GET /health",
        "GET /health/live",
        "GET /health/ready",
    ]
    assert cfn_routes["$default"]["AuthorizerId"] == {"Ref": "AuthorizerHttp"}
    assert all("AuthorizerId" not in r for k, r in cfn_routes.items() if k != "$default")
    tf_routes = terraform.render(d)["main.tf.json"]["resource"]["aws_apigatewayv2_route"]
    assert sorted(r["route_key"] for k, r in tf_routes.items() if k.startswith("http_api")) == sorted(cfn_routes)
    plain = App(name="plain")  # no authorizer: every route is $default's
    for i in range(300):
        plain.get(f"/items{i}")(lambda: {})
    unguarded = build_deployment(plain, config_from_dict({"region": REGION}, "pyproject.toml"), "dev")
    assert unguarded.http is not None and unguarded.http.route_keys() == ["$default"]
    assert len(deployment().http.route_keys()) == 6  # type: ignore[union-attr]  # a small app keeps every route


def test_routes_whose_names_collapse_alike_each_get_a_resource_in_every_format() -> None:
    """/a-b and /a_b (or /café and /caf) made the same logical id and resource name: lift synth and
    lift deploy failed with 'duplicate logical id HttpApiRouteGetAB' (Terraform: a duplicate resource)."""
    from lift.deploy import terraform

    app = App(name="alike")
    for path in ("/a-b", "/a_b", "/café/{name}", "/caf/{name}"):
        app.get(path)(lambda: {})
    for key in ("send-message", "send_message"):
        app.websocket(key)(lambda: None)
    d = build_deployment(app, config_from_dict({"region": REGION}, "pyproject.toml"), "dev")
    expected = {
        "$default",
        "GET /a-b",
        "GET /a_b",
        "GET /café/{name}",
        "GET /caf/{name}",
        "send-message",
        "send_message",
    }
    cfn = of(render(d), "AWS::ApiGatewayV2::Route")
    assert sorted(p["RouteKey"] for p in cfn.values()) == sorted(expected)
    assert {"HttpApiRouteGetAB", "HttpApiRouteGetAB2", "WebSocketApiRouteSendMessage2"} <= set(cfn)
    tf = terraform.render(d)["main.tf.json"]["resource"]["aws_apigatewayv2_route"]
    assert sorted(r["route_key"] for r in tf.values()) == sorted(expected)
