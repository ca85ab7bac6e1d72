"""Deploy-model pieces of issues 16-18: the WebSocket connections table with its GSIs, the jobs
worker function, the RESPONSE_STREAM function URL and the Cloud Map registration."""

from __future__ import annotations

from lift import App
from lift.deploy import ModelError, build_deployment, config_from_dict
from lift.deploy.model import Expr

REGION, ACCOUNT = "eu-west-1", "123456789012"


def fmt(value: object, **refs: str) -> str:
    return value.format(region=REGION, account=ACCOUNT, refs=refs) if isinstance(value, Expr) else str(value)


def statements_of(d) -> dict:
    return {s.sid: s for s in d.role(d.function.role_id).statements}


# -- the WebSocket connections table ---------------------------------------------------------------
def test_tracked_connections_get_their_table_with_ttl_and_a_gsi_per_user_and_tenant(app: App) -> None:
    d = build_deployment(app, config_from_dict({"region": REGION}, "pyproject.toml"), "dev")
    table = next(t for t in d.tables if t.name == "shop-connections-dev")
    assert (table.partition_key, table.sort_key, table.ttl_attribute) == (("connection_id", "S"), None, "expires_at")
    assert [(i.name, i.partition_key, i.projection) for i in table.indexes] == [
        ("by-user", ("user_id", "S"), "ALL"),
        ("by-tenant", ("tenant_id", "S"), "ALL"),
    ]
    assert table.attributes == [("connection_id", "S"), ("user_id", "S"), ("tenant_id", "S")]
    assert table.used_by == "websocket connections"
    assert not [w for w in d.warnings if "Connections" in w]  # the tracking middleware's store is this table


def test_the_functions_get_exactly_the_calls_the_connections_store_makes(app: App) -> None:
    d = build_deployment(app, config_from_dict({"region": REGION}, "pyproject.toml"), "dev")
    statements = statements_of(d)
    items = statements["ConnectionsShopConnections"]
    assert items.actions == ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan")
    assert [fmt(r) for r in items.resources] == [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-connections-dev"]
    query = statements["ConnectionsShopConnectionsIndexes"]
    assert query.actions == ("dynamodb:Query",)
    assert [fmt(r) for r in query.resources] == [
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-connections-dev/index/by-user",
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-connections-dev/index/by-tenant",
    ]
    assert statements["WebSocketSend"].actions == ("execute-api:ManageConnections",)
    # no other statement touches the connections table
    others = [s.sid for s in statements.values() if any("shop-connections" in str(r) for r in s.resources)]
    assert others == ["ConnectionsShopConnections", "ConnectionsShopConnectionsIndexes"]


def test_an_existing_connections_table_is_granted_not_created() -> None:
    from lift.websocket.connections import DynamoDBConnections, track_connections

    app = App(name="chat")
    track_connections(app, DynamoDBConnections("chat-conns"))
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/chat-conns"
    d = build_deployment(app, config_from_dict({"tables": {"chat-conns": {"arn": arn}}}, "pyproject.toml"))
    assert d.tables == ()
    query = statements_of(d)["ConnectionsChatConnsIndexes"]
    assert [str(r) for r in query.resources] == [f"{arn}/index/by-user", f"{arn}/index/by-tenant"]
    assert d.websocket is not None and d.websocket.route_keys == ("$connect", "$disconnect")


def test_connections_sharing_a_store_table_are_refused_and_memory_connections_warn() -> None:
    import pytest

    from lift.stores.dynamodb import DynamoDBStore
    from lift.websocket.connections import DynamoDBConnections, MemoryConnections, track_connections

    app = App(name="chat")
    app.add_store(DynamoDBStore("chat-state"))
    track_connections(app, DynamoDBConnections("chat-state"))
    with pytest.raises(ModelError, match="give the connections their own table"):
        build_deployment(app, config_from_dict({}, "pyproject.toml"))
    memory = App(name="chat")
    track_connections(memory, MemoryConnections())
    d = build_deployment(memory, config_from_dict({}, "pyproject.toml"))
    assert d.tables == () and any("MemoryConnections" in w for w in d.warnings)


# -- the jobs worker ---------------------------------------------------------------------------------
def jobs_app(queue: str = "svc-jobs", max_attempts: int = 3) -> App:
    app = App(name="svc")
    app.jobs.configure(queue=queue)

    @app.get("/reports")
    def reports() -> dict:
        return {}

    @app.job("report", max_attempts=max_attempts)
    def report(body: dict) -> dict:
        return {}

    return app


def test_jobs_run_in_a_worker_function_with_its_own_limits_and_the_http_function_keeps_its_own() -> None:
    config = config_from_dict(
        {
            "timeout": 10,
            "memory": 256,
            "stages": {"prod": {"jobs": {"timeout": 600, "memory": 2048, "reserved_concurrency": 4}}},
        },
        "pyproject.toml",
    )
    d = build_deployment(jobs_app(), config, "prod")
    app_fn, worker = d.functions
    assert (app_fn.name, app_fn.timeout, app_fn.memory, app_fn.reserved_concurrency) == ("svc-prod", 10, 256, None)
    assert (worker.name, worker.timeout, worker.memory, worker.reserved_concurrency) == ("svc-prod-jobs", 600, 2048, 4)
    assert (worker.handler, worker.role_id, worker.environment) == (app_fn.handler, app_fn.role_id, app_fn.environment)
    assert worker.log_group_id != app_fn.log_group_id
    assert [g.name for g in d.log_groups] == ["/aws/lambda/svc-prod", "/aws/lambda/svc-prod-jobs"]
    [mapping] = d.event_source_mappings
    queue = d.by_id(mapping.source_id)
    assert (mapping.function_id, mapping.batch_size, queue.name) == (worker.id, 1, "svc-jobs-prod")
    assert queue.visibility_timeout == 3600 >= worker.timeout  # 6x the worker's timeout, not the HTTP one's
    assert queue.max_receive_count == 5  # above max_attempts (3): the job is `failed` before its DLQ
    logs = statements_of(d)["WriteLogs"]
    assert [fmt(r) for r in logs.resources] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/svc-prod:*",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/svc-prod-jobs:*",
    ]
    # the default stage: 900 s, the stage's memory
    dev = build_deployment(jobs_app(), config, "dev")
    assert (dev.functions[1].timeout, dev.functions[1].memory) == (900, 256)


def test_the_jobs_queue_outlives_the_worker_timeout_and_the_job_attempts() -> None:
    import pytest

    d = build_deployment(jobs_app(max_attempts=9), config_from_dict({}, "pyproject.toml"))
    queue = next(q for q in d.queues if q.name == "svc-jobs-dev")
    assert (queue.visibility_timeout, queue.max_receive_count) == (5400, 10)
    too_short = {"queues": {"svc-jobs": {"visibility_timeout": 300}}, "jobs": {"timeout": 900}}
    with pytest.raises(ModelError, match="below the jobs worker's timeout 900 s"):
        build_deployment(jobs_app(), config_from_dict(too_short, "pyproject.toml"))


def test_jobs_can_stay_in_the_app_function_and_the_worker_settings_are_checked() -> None:
    import pytest

    from lift.deploy.config import ConfigError

    d = build_deployment(jobs_app(), config_from_dict({"jobs": {"worker": False}}, "pyproject.toml"))
    assert len(d.functions) == 1 and d.event_source_mappings[0].function_id == d.function.id
    for bad, key in (({"timeout": 901}, "jobs.timeout"), ({"batch_size": 11}, "jobs.batch_size")):
        with pytest.raises(ConfigError, match=key):
            build_deployment(jobs_app(), config_from_dict({"jobs": bad}, "pyproject.toml"))
    with pytest.raises(ConfigError, match="unknown key 'jobs.timout'"):
        config_from_dict({"jobs": {"timout": 5}}, "pyproject.toml").stage()


def test_large_job_results_may_be_written_to_their_bucket_only() -> None:
    app = jobs_app()
    app.jobs.configure(result_bucket="svc-results")
    statement = statements_of(build_deployment(app, config_from_dict({}, "pyproject.toml")))["JobResults"]
    assert statement.actions == ("s3:GetObject", "s3:PutObject")
    assert [fmt(r) for r in statement.resources] == ["arn:aws:s3:::svc-results/lift-jobs/*"]


# -- the RESPONSE_STREAM function URL -----------------------------------------------------------------
def streaming_app() -> App:
    app = App(name="feed")

    @app.get("/events")
    def events() -> dict:
        return {}

    @app.sqs("feed-in")
    def on_in(body: dict) -> None: ...

    return app


def test_streaming_is_a_function_behind_the_web_adapter_with_a_response_stream_url() -> None:
    config = {"app": "feed.app:app", "region": REGION, "streaming": {"timeout": 300, "auth": "NONE", "port": 8000}}
    d = build_deployment(streaming_app(), config_from_dict(config, "pyproject.toml"))
    app_fn, stream = d.functions
    assert (stream.name, stream.handler, stream.timeout, stream.memory) == (
        "feed-dev-stream",
        "lift/run_asgi.sh",
        300,
        512,
    )
    env = dict(stream.environment)
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap" and env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert (env["AWS_LWA_PORT"], env["LIFT_ASGI_APP"]) == ("8000", "feed.app:app.asgi")
    assert [fmt(layer) for layer in stream.layers] == [
        f"arn:aws:lambda:{REGION}:753240598075:layer:LambdaAdapterLayerArm64:26"
    ]
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in dict(app_fn.environment) and app_fn.handler == "feed.app.app"
    [url] = d.function_urls
    assert (url.function_id, url.auth_type, url.invoke_mode) == (stream.id, "NONE", "RESPONSE_STREAM")
    # the queue's records stay with the app's function: under the adapter every event goes to uvicorn
    assert [m.function_id for m in d.event_source_mappings] == [app_fn.id]
    assert any("uvicorn" in w for w in d.warnings)


def test_the_adapter_layer_follows_the_architecture_and_the_region() -> None:
    import pytest

    def layer(**settings: object) -> str:
        d = build_deployment(streaming_app(), config_from_dict({"streaming": {}, **settings}, "pyproject.toml"))
        return fmt(d.functions[1].layers[0]).replace(REGION, str(settings.get("region", REGION)))

    assert layer(architecture="x86_64") == f"arn:aws:lambda:{REGION}:753240598075:layer:LambdaAdapterLayerX86:26"
    china = layer(region="cn-northwest-1", architecture="x86_64")
    assert ":069767869989:layer:LambdaAdapterLayerX86:26" in china
    with pytest.raises(ModelError, match="no arm64 build in cn-north-1"):
        layer(region="cn-north-1")
    with pytest.raises(ModelError, match=r"us-gov-west-1: \[tool.lift.streaming\] layer"):
        layer(region="us-gov-west-1")
    own = "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:layer:Adapter:3"
    assert layer(region="us-gov-west-1", streaming={"layer": own}) == own


def test_streaming_settings_are_checked() -> None:
    import pytest

    from lift.deploy.config import ConfigError

    for bad, key in (({"port": 9001}, "streaming.port"), ({"layer": "adapter"}, "streaming.layer")):
        with pytest.raises(ConfigError, match=key):
            build_deployment(streaming_app(), config_from_dict({"streaming": bad}, "pyproject.toml"))
    with pytest.raises(ModelError, match="needs HTTP routes"):
        build_deployment(App(name="empty"), config_from_dict({"streaming": {}}, "pyproject.toml"))


def test_templates_give_the_stream_function_its_url_layer_and_output() -> None:
    from lift.deploy.cloudformation import render as render_cfn
    from lift.deploy.terraform import render as render_tf

    d = build_deployment(streaming_app(), config_from_dict({"streaming": {}}, "pyproject.toml"))
    t = render_cfn(d)
    url = t["Resources"]["StreamUrl"]["Properties"]
    assert url == {
        "TargetFunctionArn": {"Fn::GetAtt": ["StreamFunction", "Arn"]},
        "AuthType": "AWS_IAM",
        "InvokeMode": "RESPONSE_STREAM",
    }
    assert "StreamUrlPermission" not in t["Resources"]  # IAM auth: callers need lambda:InvokeFunctionUrl themselves
    assert t["Outputs"]["StreamUrl"] == {"Value": {"Fn::GetAtt": ["StreamUrl", "FunctionUrl"]}}
    assert t["Resources"]["StreamFunction"]["Properties"]["Layers"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:753240598075:layer:LambdaAdapterLayerArm64:26"}
    ]
    main = render_tf(d)["main.tf.json"]
    [tf_url] = main["resource"]["aws_lambda_function_url"].values()
    assert tf_url["invoke_mode"] == "RESPONSE_STREAM" and tf_url["authorization_type"] == "AWS_IAM"
    assert main["resource"]["aws_lambda_function"]["stream_function"]["layers"] == [
        "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:753240598075:layer:LambdaAdapterLayerArm64:26"
    ]


# -- Cloud Map registration and the callers' discovery grants -------------------------------------------
def test_a_stage_registers_its_url_in_cloud_map_with_its_stage_region_and_function() -> None:
    from lift.deploy.cloudformation import render as render_cfn

    config = {"region": REGION, "cloud_map": {"namespace": "shop", "attributes": {"weight": "3"}}}
    d = build_deployment(streaming_app(), config_from_dict(config, "pyproject.toml"), "prod")
    reg = d.cloud_map
    assert (reg.namespace, reg.service, reg.instance_id, reg.url_source, reg.namespace_id) == (
        "shop",
        "feed",
        "feed-prod",
        "api",
        None,
    )
    attributes = {k: fmt(v) for k, v in reg.attributes}
    assert attributes == {
        "FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:feed-prod",
        "region": REGION,
        "stage": "prod",
        "weight": "3",
    }
    t = render_cfn(d)
    instance = t["Resources"]["CloudMapServiceInstance"]["Properties"]
    assert instance["InstanceAttributes"]["URL"] == t["Outputs"]["ApiUrl"]["Value"]  # what CloudMapDiscovery reads
    assert instance["ServiceId"] == {"Ref": "CloudMapService"} and instance["InstanceId"] == "feed-prod"
    service = t["Resources"]["CloudMapService"]["Properties"]
    assert service["NamespaceId"] == {"Ref": "CloudMapNamespaceId"} and service["Type"] == "HTTP"
    assert "CloudMapNamespaceId" in t["Parameters"]  # lift deploy looks the id up by the name
    given = {"cloud_map": {"namespace": "shop", "namespace_id": "ns-0123456789abcdef"}, "domain": "feed.example.com"}
    given["region"] = REGION  # the certificate's: a regional domain needs one of its own region
    given["certificate_arn"] = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    t2 = render_cfn(build_deployment(streaming_app(), config_from_dict(given, "pyproject.toml")))
    assert t2["Resources"]["CloudMapService"]["Properties"]["NamespaceId"] == "ns-0123456789abcdef"
    assert (
        t2["Resources"]["CloudMapServiceInstance"]["Properties"]["InstanceAttributes"]["URL"]
        == "https://feed.example.com/"
    )
    assert "CloudMapNamespaceId" not in t2["Parameters"]


def caller_app() -> App:
    from lift.services import CloudMapDiscovery, StackOutputDiscovery

    app = App(name="orders")
    app.service("payments", discovery=CloudMapDiscovery("shop", "payments"))
    app.service("users", discovery=StackOutputDiscovery.for_service("users", "prod"))
    app.service("static", base_url="http://static.internal")

    @app.get("/orders")
    def orders() -> dict:
        return {}

    return app


def test_callers_may_discover_exactly_the_services_they_call() -> None:
    d = build_deployment(caller_app(), config_from_dict({"region": REGION}, "pyproject.toml"))
    statements = statements_of(d)
    cloud_map = statements["DiscoverPayments"]
    assert (cloud_map.actions, cloud_map.resources) == (("servicediscovery:DiscoverInstances",), ("*",))
    assert cloud_map.condition == {
        "StringEquals": {"servicediscovery:NamespaceName": "shop", "servicediscovery:ServiceName": "payments"}
    }
    stack = statements["DiscoverUsers"]
    assert stack.actions == ("cloudformation:DescribeStacks",)
    assert [fmt(r) for r in stack.resources] == [f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/users-prod/*"]
    assert not any("static" in s.sid.lower() for s in statements.values())
    from lift.deploy.cloudformation import render as render_cfn
    from lift.deploy.cloudformation import summary

    iam = {row["sid"]: row for row in summary(d, render_cfn(d))["iam"]}  # what lift synth prints
    assert iam["DiscoverPayments"]["condition"] == cloud_map.condition and "condition" not in iam["DiscoverUsers"]


def test_the_discovery_condition_reaches_every_template_and_lints_clean() -> None:
    import json

    from cfnlint.api import ManualArgs, lint

    from lift.deploy.cloudformation import render as render_cfn
    from lift.deploy.cloudformation import to_yaml
    from lift.deploy.terraform import render as render_tf

    d = build_deployment(caller_app(), config_from_dict({"region": REGION}, "pyproject.toml"))
    t = render_cfn(d)
    policy = t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [statement] = [s for s in policy["Statement"] if s["Sid"] == "DiscoverPayments"]
    assert statement["Condition"]["StringEquals"]["servicediscovery:ServiceName"] == "payments"
    assert [str(m) for m in lint(to_yaml(t), config=ManualArgs(regions=[REGION]))] == []
    [tf_policy] = render_tf(d)["main.tf.json"]["resource"]["aws_iam_role_policy"].values()
    [tf_statement] = [s for s in json.loads(tf_policy["policy"])["Statement"] if s["Sid"] == "DiscoverPayments"]
    assert tf_statement["Condition"] == statement["Condition"]


# -- Cloud Map health from the readiness checks (lift.cloud_map_health) -----------------------------------
def cloud_map_deployment(**cloud_map: object):
    config = {"region": REGION, "cloud_map": {"namespace": "shop", **cloud_map}}
    return build_deployment(streaming_app(), config_from_dict(config, "pyproject.toml"), "prod")


def test_registration_reports_health_by_default_on_a_schedule_with_exactly_its_grant() -> None:
    from lift.cloud_map_health import INSTANCE_ENV, SCHEDULE_ENV, SERVICE_ENV

    d = cloud_map_deployment()
    reg = d.cloud_map
    assert reg.health is True
    [schedule] = [s for s in d.schedules if s.id == reg.health_schedule_id]
    assert (schedule.name, schedule.expression, schedule.function_id) == (
        "feed-prod-cloudmap-health",
        "rate(1 minute)",
        d.function.id,
    )
    scheduler = d.role(schedule.role_id)  # Scheduler's role may invoke this function and nothing else
    assert scheduler.service == "scheduler.amazonaws.com"
    assert [(s.actions, [fmt(r) for r in s.resources]) for s in scheduler.statements] == [
        (("lambda:InvokeFunction",), [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:feed-prod"])
    ]
    env = dict(d.function.environment)
    assert env[SCHEDULE_ENV] == schedule.name and env[INSTANCE_ENV] == "feed-prod" == reg.instance_id
    assert fmt(env[SERVICE_ENV], CloudMapService="srv-0123") == "srv-0123"
    grant = statements_of(d)["ReportCloudMapHealth"]
    assert grant.actions == ("servicediscovery:UpdateInstanceCustomHealthStatus",)
    assert [fmt(r, CloudMapService="srv-0123") for r in grant.resources] == [
        f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-0123"
    ]
    health_actions = [a for s in statements_of(d).values() for a in s.actions if "CustomHealth" in a]
    assert health_actions == ["servicediscovery:UpdateInstanceCustomHealthStatus"]


def test_health_can_be_turned_off_or_reported_less_often_and_a_bad_rate_is_refused() -> None:
    from lift.cloud_map_health import SCHEDULE_ENV

    off = cloud_map_deployment(health=False)
    assert off.cloud_map.health is False and off.cloud_map.health_schedule_id is None
    assert off.schedules == () and SCHEDULE_ENV not in dict(off.function.environment)
    assert "ReportCloudMapHealth" not in statements_of(off)
    assert [r.service for r in off.roles] == ["lambda.amazonaws.com"]
    slow = cloud_map_deployment(health_rate="5 minutes")
    assert [s.expression for s in slow.schedules] == ["rate(5 minutes)"]
    for bad in ("5 minute", "1 minutes", "0 minutes", "1 week", "rate(1 minute)", "30 seconds"):
        try:
            cloud_map_deployment(health_rate=bad)
        except Exception as exc:
            assert "cloud_map.health_rate" in str(exc) and repr(bad) in str(exc)
        else:
            raise AssertionError(f"health_rate {bad!r} was accepted")


def test_the_health_schedule_shares_the_scheduler_role_with_the_apps_own_schedules() -> None:
    app = streaming_app()

    @app.schedule("nightly-report", rate="1 day")
    def nightly() -> None: ...

    config = {"region": REGION, "cloud_map": {"namespace": "shop"}}
    d = build_deployment(app, config_from_dict(config, "pyproject.toml"), "prod")
    assert sorted(s.name for s in d.schedules) == ["feed-prod-cloudmap-health", "nightly-report-prod"]
    assert len({s.role_id for s in d.schedules}) == 1
    assert [r.service for r in d.roles].count("scheduler.amazonaws.com") == 1


def test_every_renderer_creates_the_custom_health_check_and_points_the_function_at_it() -> None:
    import json

    from cfnlint.api import ManualArgs, lint

    from lift.cloud_map_health import INSTANCE_ENV, SCHEDULE_ENV, SERVICE_ENV
    from lift.deploy.cloudformation import render as render_cfn
    from lift.deploy.cloudformation import to_yaml
    from lift.deploy.terraform import render as render_tf
    from lift.sources.eventbridge import rule_of

    d = cloud_map_deployment()
    t = render_cfn(d)
    res = t["Resources"]
    assert res["CloudMapService"]["Properties"]["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    env = res["Function"]["Properties"]["Environment"]["Variables"]
    assert env[SERVICE_ENV] in ({"Ref": "CloudMapService"}, {"Fn::Sub": "${CloudMapService}"})
    assert env[INSTANCE_ENV] == "feed-prod"
    schedule = res["CloudMapHealthSchedule"]["Properties"]
    assert schedule["Name"] == env[SCHEDULE_ENV] and schedule["ScheduleExpression"] == "rate(1 minute)"
    # what Scheduler sends at each run, its context attributes filled in, is the event the app recognises
    payload = schedule["Target"]["Input"]["Fn::Sub"].replace("${AWS::AccountId}", ACCOUNT)
    payload = payload.replace("${AWS::Region}", REGION).replace(
        "<aws.scheduler.schedule-arn>", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule['Name']}"
    )
    event = json.loads(payload)
    assert event["detail-type"] == "Scheduled Event" and rule_of(event) == env[SCHEDULE_ENV]
    policy = res["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [grant] = [s for s in policy["Statement"] if s["Sid"] == "ReportCloudMapHealth"]
    assert grant["Action"] == ["servicediscovery:UpdateInstanceCustomHealthStatus"]
    assert grant["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:servicediscovery:${AWS::Region}:${AWS::AccountId}:service/${CloudMapService}"
    }
    assert [str(m) for m in lint(to_yaml(t), config=ManualArgs(regions=[REGION]))] == []

    main = render_tf(d)["main.tf.json"]
    [service] = main["resource"]["aws_service_discovery_service"].values()
    assert service["health_check_custom_config"] == {}  # failure_threshold is deprecated: AWS always uses 1
    [function] = [f for f in main["resource"]["aws_lambda_function"].values() if f["function_name"] == "feed-prod"]
    variables = function["environment"]["variables"]
    assert "aws_service_discovery_service.cloud_map_service.id" in variables
    assert "feed-prod-cloudmap-health" in variables
    [tf_policy] = [p for p in main["resource"]["aws_iam_role_policy"].values() if "CustomHealth" in p["policy"]]
    [tf_grant] = [s for s in json.loads(tf_policy["policy"])["Statement"] if s["Sid"] == "ReportCloudMapHealth"]
    assert tf_grant["Resource"] == [
        "arn:${data.aws_partition.current.partition}:servicediscovery:${data.aws_region.current.name}:"
        "${data.aws_caller_identity.current.account_id}:service/${aws_service_discovery_service.cloud_map_service.id}"
    ]
    off = render_cfn(cloud_map_deployment(health=False))
    assert "HealthCheckCustomConfig" not in off["Resources"]["CloudMapService"]["Properties"]
    assert SERVICE_ENV not in off["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    off_tf = render_tf(cloud_map_deployment(health=False))["main.tf.json"]["resource"]
    assert "health_check_custom_config" not in next(iter(off_tf["aws_service_discovery_service"].values()))


def test_reporting_health_without_any_check_is_a_warning() -> None:
    d = cloud_map_deployment()  # streaming_app registers no health check
    [warning] = [w for w in d.warnings if "health checks" in w]
    assert "app.health.add" in warning and "health = false" in warning
    app = streaming_app()
    app.health.add("orders-table", lambda: True)
    config = {"region": REGION, "cloud_map": {"namespace": "shop"}}
    checked = build_deployment(app, config_from_dict(config, "pyproject.toml"), "prod")
    assert not [w for w in checked.warnings if "health checks" in w]
    assert not [w for w in cloud_map_deployment(health=False).warnings if "health checks" in w]
