"""The deployment model derived from an App's registrations (what renderers read)."""

from __future__ import annotations

import json
import re

import pytest

from lift import App, Context
from lift.deploy import ModelError, build_deployment, config_from_dict
from lift.deploy.model import Expr

CONFIG = config_from_dict(
    {
        "app": "shop.app:app",
        "region": "eu-west-1",
        "queues": {"shop-orders": {"batch_size": 25, "batching_window": 2}},
        "stages": {
            "prod": {
                "memory": 1024,
                "reserved_concurrency": 20,
                "secrets": {"DB_PASSWORD": "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/db"},
            }
        },
    },
    "pyproject.toml",
)


def fmt(value: object, **refs: str) -> str:
    return (
        value.format(region="eu-west-1", account="123456789012", refs=refs) if isinstance(value, Expr) else str(value)
    )


def test_every_registration_becomes_a_resource(app: App) -> None:
    d = build_deployment(app, CONFIG, "prod")
    assert (d.service, d.stage, d.stack_name, d.region) == ("shop", "prod", "shop-prod", "eu-west-1")
    fn = d.function
    assert (fn.name, fn.handler, fn.memory, fn.reserved_concurrency, fn.architecture) == (
        "shop-prod",
        "shop.app.app",
        1024,
        20,
        "arm64",
    )
    assert fn.resources == ("clock",)
    assert d.http is not None and d.http.kind == "http"
    assert [(r.method, r.path) for r in d.http.routes] == [("POST", "/orders"), ("GET", "/orders/{order_id}")]
    assert {q.name for q in d.queues} == {
        "shop-orders-prod",  # each stage's own (resource_suffix "-{stage}")
        "shop-orders-prod-dlq",
        "shop-payments-prod.fifo",
        "shop-payments-prod-dlq.fifo",
        "shop-prod-shop-clicks-failed",
        "shop-jobs-prod",
        "shop-jobs-prod-dlq",
    }
    assert [t.name for t in d.topics] == ["shop-alerts-prod"]
    assert [s.name for s in d.streams] == ["shop-clicks-prod"]
    assert sorted(t.name for t in d.tables) == ["shop-connections-prod", "shop-limits-prod", "shop-state-prod"]
    assert [s.name for s in d.schedules] == ["shop-nightly-prod"]
    assert d.websocket is not None and d.websocket.route_keys == ("$connect", "$disconnect", "chat")
    assert [(m.kind, m.source_id) for m in d.event_source_mappings] == [
        ("sqs", "QueueShopOrders"),
        ("sqs", "QueueShopPayments"),
        ("sqs", "QueueShopJobs"),
        ("kinesis", "StreamShopClicks"),
    ]
    ids = [r.id for r in d.resources()]
    assert len(ids) == len(set(ids)) and all(i.isalnum() for i in ids)


def test_queues_get_a_dlq_and_batch_settings_from_config(app: App) -> None:
    d = build_deployment(app, CONFIG, "prod")
    orders = d.by_id("QueueShopOrders")
    dlq = d.by_id(orders.dlq_id)
    assert dlq.is_dlq and dlq.name == "shop-orders-prod-dlq" and orders.max_receive_count == 5
    assert orders.visibility_timeout == 6 * d.function.timeout
    mapping = next(m for m in d.event_source_mappings if m.source_id == orders.id)
    assert (mapping.batch_size, mapping.batching_window, mapping.report_batch_item_failures) == (25, 2, True)
    fifo = d.by_id("QueueShopPayments")
    assert fifo.fifo and d.by_id(fifo.dlq_id).name == "shop-payments-prod-dlq.fifo"
    clicks = next(m for m in d.event_source_mappings if m.kind == "kinesis")
    assert (clicks.bisect_on_error, clicks.retry_attempts, clicks.max_record_age, clicks.starting_position) == (
        True,
        3,
        3600,
        "LATEST",
    )
    assert fmt(clicks.on_failure_arn) == "arn:aws:sqs:eu-west-1:123456789012:shop-prod-shop-clicks-failed"


def test_store_tables_have_ttl_pitr_and_are_kept(app: App) -> None:
    table = next(t for t in build_deployment(app, CONFIG, "prod").tables if t.name == "shop-state-prod")
    assert (table.partition_key, table.ttl_attribute, table.pitr, table.retain) == (
        ("pk", "S"),
        "expires_at",
        True,
        True,
    )
    assert table.used_by == "IdempotencyMiddleware"


def test_iam_is_least_privilege_on_named_resources(app: App) -> None:
    d = build_deployment(app, CONFIG, "prod")
    statements = {s.sid: s for s in d.role(d.function.role_id).statements}
    consume = statements["ConsumeShopOrders"]
    assert consume.actions == (
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    )
    assert [fmt(r) for r in consume.resources] == ["arn:aws:sqs:eu-west-1:123456789012:shop-orders-prod"]
    store = statements["StoreShopState"]
    assert [fmt(r) for r in store.resources] == ["arn:aws:dynamodb:eu-west-1:123456789012:table/shop-state-prod"]
    ws = statements["WebSocketSend"]
    assert ws.actions == ("execute-api:ManageConnections",)
    assert [fmt(r, WebSocketApi="abc123") for r in ws.resources] == [
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/@connections/*"
    ]
    assert [fmt(r) for r in statements["ReadParameters"].resources] == [
        "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/db"
    ]
    wildcard = [s.sid for s in statements.values() if "*" in s.resources]
    assert wildcard == ["Tracing"]  # X-Ray's actions take no resource; everything else is named
    assert "sqs:SendMessage" not in statements["ConsumeShopOrders"].actions


def test_secrets_are_references_in_the_environment_never_values(app: App) -> None:
    env = dict(build_deployment(app, CONFIG, "prod").function.environment)
    assert env["DB_PASSWORD"] == "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/db"
    assert (env["LIFT_NAME"], env["LIFT_STAGE"]) == ("shop", "prod")
    assert (
        fmt(env["LIFT_WEBSOCKET_ENDPOINT"], WebSocketApi="abc123")
        == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    )


def test_the_schedule_input_reaches_the_handler_as_a_scheduled_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Scheduler sends (its context attributes filled in) is dispatched to @app.schedule, in the
    deployed function (its environment) whose schedule is the stage's own `shop-nightly-prod`."""
    from tests.deploy.conftest import full_app

    d = build_deployment(full_app(), CONFIG, "prod")
    for name, value in d.function.environment:
        monkeypatch.setenv(name, str(value))
    app = full_app()
    schedule = d.schedules[0]
    assert schedule.expression == "cron(0 3 * * ? *)"
    role = d.role(schedule.role_id)
    assert role.service == "scheduler.amazonaws.com" and role.statements[0].actions == ("lambda:InvokeFunction",)
    text = fmt(schedule.input)
    for attribute, value in {
        "<aws.scheduler.execution-id>": "c1d2e3",
        "<aws.scheduler.scheduled-time>": "2026-12-04T03:00:00Z",
        "<aws.scheduler.schedule-arn>": "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/shop-nightly-prod",
    }.items():
        text = text.replace(attribute, value)
    seen = []
    app.use(lambda ctx, call_next: seen.append(ctx.record.rule) or call_next(ctx))
    app.handler(json.loads(text), None)
    assert seen == ["shop-nightly-prod"]


def test_the_same_app_gives_an_equal_model_and_stages_differ() -> None:
    from tests.deploy.conftest import full_app

    assert build_deployment(full_app(), CONFIG, "prod") == build_deployment(full_app(), CONFIG, "prod")
    assert build_deployment(full_app(), CONFIG, "dev").function.memory == 512


def test_a_pattern_queue_needs_the_arns_it_stands_for() -> None:
    app = App(name="svc")

    @app.sqs("orders-*")
    def on(body: dict) -> None: ...

    with pytest.raises(
        ModelError, match=r"@app.sqs\('orders-\*'\) is a pattern.*\[tool.lift.queues.\"orders-\*\"\] arns"
    ):
        build_deployment(app, config_from_dict({}, "pyproject.toml"))
    arn = "arn:aws:sqs:us-east-1:123456789012:orders-eu"
    d = build_deployment(app, config_from_dict({"queues": {"orders-*": {"arns": [arn]}}}, "pyproject.toml"))
    assert [str(m.source_arn) for m in d.event_source_mappings] == [arn] and d.queues == ()
    assert any("existing queue" in w for w in d.warnings)


def test_a_dynamodb_stream_needs_its_arn() -> None:
    app = App(name="svc")

    @app.dynamodb_stream("orders")
    def on(body: dict) -> None: ...

    with pytest.raises(ModelError, match=r"streams.orders\] arn = "):
        build_deployment(app, config_from_dict({}, "pyproject.toml"))
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    d = build_deployment(app, config_from_dict({"streams": {"orders": {"arn": arn}}}, "pyproject.toml"))
    statement = next(s for s in d.roles[0].statements if s.sid == "ReadStreamOrders")
    assert [str(r) for r in statement.resources] == [arn]


def test_an_http_only_app_has_only_its_function_front_and_logs() -> None:
    app = App(name="Tiny API")

    @app.get("/")
    def root() -> dict:
        return {}

    d = build_deployment(app, config_from_dict({"http": "url", "tracing": False}, ""))
    assert d.service == "tiny-api" and d.http.kind == "url"
    assert [type(r).__name__ for r in d.resources()] == ["Function", "Role", "LogGroup", "HttpFront"]
    assert [s.sid for s in d.roles[0].statements] == ["WriteLogs"]
    assert d.log_groups[0].retention_days == 30


def test_inspection_api_lists_stores_and_resources_without_creating_them() -> None:
    from lift.middleware.idempotency import idempotency
    from lift.stores.memory import MemoryStore

    app = App(name="svc")
    made = []
    assert app.resource_names == [] and app.stores == []
    app.resource("db", lambda: made.append(1), prewarm=False)
    shared, own = MemoryStore(), MemoryStore()
    app.use(idempotency(store=shared))
    app.add_store(own)
    api = app.group("/api", middleware=[idempotency(store=shared)])

    @api.get("/x")
    def x(ctx: Context) -> None: ...

    assert app.resource_names == ["db"] and made == []
    assert app.stores == [own, shared]


def test_provider_names_respell_cloudformation_data_for_terraform_and_pulumi() -> None:
    from lift.deploy.model import ObjectLambdaAccessPoint, UserPool, provider_names

    pool = UserPool("Pool", "shop", (("PreSignUp", None), ("CustomSMSSender", "V1_0")), kms_key_arn="arn:key")
    assert provider_names(pool.lambda_config("fn")) == {
        "pre_sign_up": "fn",
        "custom_sms_sender": {"lambda_arn": "fn", "lambda_version": "V1_0"},
        "kms_key_id": "arn:key",
    }
    point = ObjectLambdaAccessPoint("Olap", "redacted", "docs", "Ap", "redacted-source")
    assert provider_names(
        point.configuration("ap", "fn"), {"TransformationConfigurations": "transformation_configuration"}
    ) == {
        "supporting_access_point": "ap",
        "transformation_configuration": [
            {"actions": ["GetObject"], "content_transformation": {"aws_lambda": {"function_arn": "fn"}}}
        ],
    }


def test_names_aws_refuses_fail_the_build_each_named_with_aws_rule() -> None:
    app = App(name="names")

    @app.sqs("orders.v2")  # '.' only in a FIFO queue's '.fifo'
    def on_order(body: dict) -> None: ...

    @app.sqs("q" * 81)
    def on_long(body: dict) -> None: ...

    @app.sns("alerts.topic")
    def on_alert(body: str) -> None: ...

    @app.schedule("nightly report", cron="0 3 * * ? *")
    def nightly(ctx: Context) -> None: ...

    with pytest.raises(ModelError) as refused:
        build_deployment(app, config_from_dict({"region": "eu-west-1"}, "pyproject.toml"), "dev")
    message = str(refused.value)
    assert "SQS queue 'orders.v2' (9 characters): letters, digits, '-' and '_'" in message
    assert f"SQS queue '{'q' * 81}' (81 characters)" in message and "at most 80 characters" in message
    assert "SNS topic 'alerts.topic'" in message
    assert "EventBridge Scheduler schedule 'nightly report'" in message
    assert "dlq" not in message  # the names Lift derives from them are not reported again


def test_names_lift_derives_fit_aws_limits_and_stay_distinct() -> None:
    app = App(name="names")
    longest = "q" * 76  # 80 with '-dlq': the DLQ's name would be 84
    for name in (longest + "aaaa", longest + "bbbb", "p" * 75 + ".fifo"):

        @app.sqs(name)
        def on_message(body: dict) -> None: ...

    @app.kinesis("clicks.v2")  # a valid stream name, not a valid queue name for its failure queue
    def on_click(body: dict) -> None: ...

    d = build_deployment(app, config_from_dict({"region": "eu-west-1"}, "pyproject.toml"), "dev")
    dlqs = sorted(q.name for q in d.queues if q.is_dlq)
    import re

    assert len(set(dlqs)) == 4
    for name in dlqs:
        assert len(name) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+(\.fifo)?", name), name
    assert next(n for n in dlqs if n.endswith(".fifo")).endswith("-dlq.fifo")
    assert "names-dev-clicks-v2-failed" in dlqs


def test_two_long_stage_names_sharing_a_beginning_get_distinct_function_names(app: App) -> None:
    """A 40-character service and two 32-character stages that differ only at the end: cut at Lambda's 64
    characters, every function of one stage (the app's, the jobs worker, the release hooks) was named
    like the other stage's, so deploying the second stage failed or clashed with the first."""
    release = {"strategy": "linear", "percent": 20, "interval": 60, "pre_traffic": "smoke", "post_traffic": "settled"}
    stages = {"a" * 31 + "x": {"release": release}, "a" * 31 + "y": {"release": release}}
    config = config_from_dict({"name": "s" * 40, "region": "eu-west-1", "stages": stages}, "pyproject.toml")
    names = {}
    for stage in stages:
        d = build_deployment(app, config, stage)
        assert d.release is not None
        names[stage] = [f.name for f in d.functions] + [h.name for h in d.release.hooks]
    first, second = names.values()
    assert len(first) == len(second) == 4  # the app's function, the jobs worker, two release hooks
    for name in first + second:
        assert len(name) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", name), name
    assert not set(first) & set(second)
    assert all(name.startswith("CodeDeployHook_") for name in first[2:])  # CodeDeploy's policy needs the prefix
    short = build_deployment(app, config_from_dict({"region": "eu-west-1"}, "pyproject.toml"), "prod")
    assert short.function.name == "shop-prod"  # a name that fits is unchanged


def test_a_custom_domain_certificate_from_another_region_is_refused() -> None:
    app = App(name="shop")

    @app.get("/ping")
    def ping() -> dict:
        return {}

    config = config_from_dict(
        {
            "region": "eu-west-1",
            "domain": "api.example.com",
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111",
        },
        "pyproject.toml",
    )
    with pytest.raises(ModelError, match="a certificate in us-east-1, but stage dev deploys to eu-west-1"):
        build_deployment(app, config, "dev")
    assert build_deployment(app, config, "dev", region="us-east-1").http.certificate_arn  # type: ignore[union-attr]


def test_a_secrets_manager_secret_given_by_its_partial_arn_is_readable() -> None:
    """The secret's full ARN ends in '-' and 6 random characters (…:secret:shop/db-AbCdEf): a policy on
    the partial ARN users often copy (…:secret:shop/db) matched no secret, and GetSecretValue failed
    with AccessDenied in the deployed function. AWS's advice: grant the partial ARN + '-??????'."""
    app = App(name="shop")
    partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db"
    config = config_from_dict({"region": "eu-west-1", "secrets": {"DB_SECRET": partial}}, "pyproject.toml")
    d = build_deployment(app, config, "dev")
    role = d.role(d.function.role_id)
    [statement] = [s for s in role.statements if "secretsmanager:GetSecretValue" in s.actions]
    assert [fmt(r) for r in statement.resources] == [partial, partial + "-??????"]
    assert dict(d.function.environment)["DB_SECRET"] == partial


def _slo_app(routes: int) -> App:
    app = App(name="shop")
    for number in range(routes):
        app.get(f"/items{number}")(lambda: {})
    return app


@pytest.mark.parametrize(
    "declare, expected",
    [
        # no routes = every route of the app: five are more than one alarm's 10 metrics
        (lambda app: app.slo("all", availability=99.9), "SLO 'all' covers 5 routes"),
        (lambda app: app.slo("lost", availability=99.9, routes=["GET /nowhere"]), "no route GET /nowhere in the app"),
        (
            lambda app: (
                app.slo("check-out", availability=99.9, routes=["/items1"]),
                app.slo("check_out", latency_p99_ms=300, routes=["/items2"]),
            ),
            "SLOs 'check-out' and 'check_out' would give their alarms the same ids",
        ),
    ],
    ids=["every-route", "unknown-route", "same-ids"],
)
def test_an_slo_no_alarm_can_measure_is_a_model_error_in_every_format(declare, expected) -> None:
    """These were a ValueError traceback out of the renderer (`lift synth` exit 1, any format)."""
    app = _slo_app(5)
    declare(app)
    with pytest.raises(ModelError, match=re.escape(expected)):
        build_deployment(app, config_from_dict({"region": "eu-west-1"}, "pyproject.toml"), "dev")


def test_an_slo_on_routes_that_write_no_route_metrics_is_a_warning() -> None:
    """The SLO's alarms watch Requests/ServerErrors per route; without RequestMetrics(route_metrics=
    True) on those routes nothing writes them, and the alarms (missing data: not breaching) never fire."""
    from lift.middleware.metrics import RequestMetrics

    config = config_from_dict({"region": "eu-west-1"}, "pyproject.toml")
    bare = _slo_app(2)
    bare.slo("items", availability=99.9, routes=["GET /items0"])
    [warning] = [w for w in build_deployment(bare, config, "dev").warnings if "SLO" in w]
    assert (
        "SLO routes GET /items0 write no route metrics" in warning and "RequestMetrics(route_metrics=True)" in warning
    )
    grouped = App(name="shop")  # a group's RequestMetrics measures its routes as well as a global one
    api = grouped.group("/api", middleware=[RequestMetrics(route_metrics=True)])
    api.get("/items")(lambda: {})
    grouped.slo("items", availability=99.9, routes=["GET /api/items"])
    assert not [w for w in build_deployment(grouped, config, "dev").warnings if "SLO" in w]
    measured = _slo_app(2)
    measured.use(RequestMetrics(route_metrics=True))
    measured.slo("items", availability=99.9, routes=["/items1"])
    assert not [w for w in build_deployment(measured, config, "dev").warnings if "SLO" in w]


@pytest.mark.parametrize(
    "topics", [{}, {"alerts.fifo": {"arn": "arn:aws:sns:us-east-1:123456789012:alerts.fifo"}}], ids=["created", "given"]
)
def test_an_sns_fifo_topic_is_refused_since_it_cannot_invoke_a_function(topics: dict) -> None:
    """SNS FIFO topics deliver to SQS queues only: the template's topic (without FifoTopic) and the
    function's subscription failed in CloudFormation, after the upload."""
    app = App(name="svc")
    app.sns("alerts.fifo")(lambda body: None)
    with pytest.raises(ModelError, match=r"@app.sns\('alerts.fifo'\): an SNS FIFO topic delivers only to SQS"):
        build_deployment(app, config_from_dict({"region": "us-east-1", "topics": topics}, "pyproject.toml"), "prod")


def test_registrations_that_make_the_same_sid_still_get_a_policy_iam_takes() -> None:
    """IAM refuses a policy whose statement ids repeat ("Statement IDs (SID) in a single policy must be
    unique"): a Kinesis stream and a table stream both called "orders", or queues "orders" and "Orders",
    made the role's policy twice ReadStreamOrders / ConsumeOrders, and the deploy failed on the role."""
    from lift.deploy.cloudformation import render

    app = App(name="svc")
    app.kinesis("orders")(lambda body: None)
    app.dynamodb_stream("orders")(lambda body: None)
    app.sqs("orders")(lambda body: None)
    app.sqs("Orders")(lambda body: None)
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    config = config_from_dict({"region": "us-east-1", "streams": {"orders": {"arn": arn}}}, "pyproject.toml")
    d = build_deployment(app, config, "prod")
    [role] = [r for r in d.roles if r.id == d.function.role_id]
    sids = [s.sid for s in role.statements]
    assert len(sids) == len(set(sids)) and {"ReadStreamOrders", "ReadStreamOrders2", "ConsumeOrders2"} <= set(sids)
    [policy] = render(d)["Resources"][role.id]["Properties"]["Policies"]
    assert [s["Sid"] for s in policy["PolicyDocument"]["Statement"]] == sids  # every renderer reads the model's
