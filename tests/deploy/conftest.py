"""Apps to deploy: one using every trigger the model knows, built fresh for each test."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from lift import App, Context


def full_app(extra_route: bool = False) -> App:
    """HTTP + SQS (standard and FIFO) + SNS + S3 + EventBridge + schedule + Kinesis + WebSocket + stores,
    tracked WebSocket connections and a job (its worker function)."""
    import boto3

    from lift.middleware.idempotency import idempotency
    from lift.middleware.rate_limit import rate_limit
    from lift.stores.dynamodb import DynamoDBStore

    app = App(name="shop")
    client = boto3.client("dynamodb", region_name="eu-west-1")
    app.use(
        idempotency(store=DynamoDBStore("shop-state", client=client)),
        rate_limit("10/second", store=DynamoDBStore("shop-limits", client=client)),
    )
    app.resource("clock", lambda: object())

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, Any]:
        return {"id": order_id}

    @app.post("/orders", status=201)
    def create_order(ctx: Context) -> dict[str, Any]:
        return {}

    if extra_route:

        @app.delete("/orders/{order_id}")
        def delete_order(order_id: int) -> None:
            return None

    @app.sqs("shop-orders")
    def on_order(body: dict) -> None: ...

    @app.sqs("shop-payments.fifo")
    def on_payment(body: dict) -> None: ...

    @app.sns("shop-alerts")
    def on_alert(body: str) -> None: ...

    @app.s3("shop-uploads", events=["ObjectCreated:*"], prefix="in/")
    def on_upload(ctx: Context) -> None: ...

    @app.eventbridge(source="payments", detail_type="PaymentSettled")
    def on_settled(body: dict) -> None: ...

    @app.schedule("shop-nightly", cron="0 3 * * ? *")
    def nightly(ctx: Context) -> None:
        ctx.state["ran"] = True

    @app.kinesis("shop-clicks")
    def on_click(body: dict) -> None: ...

    @app.websocket("$connect")
    def connect(ctx: Context) -> None: ...

    @app.websocket("chat")
    def chat(ctx: Context, body: dict) -> None: ...

    from lift.websocket.connections import DynamoDBConnections, track_connections

    track_connections(app, DynamoDBConnections("shop-connections", client=client))
    app.jobs.configure(queue="shop-jobs", store=DynamoDBStore("shop-state", client=client))

    @app.job("report", max_attempts=6)
    def report(ctx: Context, body: dict, progress: Any) -> dict[str, Any]:
        return {}

    @app.release_hook("smoke")  # deployed only on stages whose release names it (pre_traffic/post_traffic)
    def smoke(check: Any) -> bool:
        return check.invoke({"ping": True}) is not None

    @app.release_hook
    def settled(check: Any) -> bool:
        return True

    return app


def app_for(variant: str) -> App:
    """The app a deploy test variant deploys: `triggers*` variants deploy `triggers_app`."""
    return triggers_app() if variant.startswith("triggers") else full_app()


def gate_alarm(cloudwatch: Any, name: str, ok: bool = True) -> None:
    """A release's gate alarm on the function's errors (a real alarm in moto's CloudWatch), set OK
    unless `ok` is false (then in the state a new alarm starts in)."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    if ok:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet")


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """A CloudFormation template's resources of type `kind`, by logical id."""
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture
def app() -> App:
    return full_app()


def triggers_app() -> App:
    """Every trigger of issue 15 next to HTTP and WebSocket routes (and the health routes)."""
    app = App(name="hooks")
    app.health.mount(app)

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, Any]:
        return {"id": order_id}

    @app.get("/docs/{page}")
    def docs_page(page: str) -> dict[str, Any]:
        return {"page": page}

    @app.websocket("$connect")
    def connect(ctx: Context) -> None: ...

    @app.authorizer()
    def authorize(body: Any) -> dict[str, Any]:
        return {"sub": "user-1"}

    @app.cognito("pre_sign_up")
    def pre_sign_up(body: dict) -> None: ...

    @app.cognito("pre_token_generation")
    def pre_token(body: dict) -> None: ...

    @app.firehose("hooks-clicks")
    def transform(body: dict) -> dict:
        return body

    @app.kafka("orders")
    def on_kafka_order(body: dict) -> None: ...

    @app.kafka("audit")
    def on_kafka_audit(body: dict) -> None: ...

    @app.mq("jobs")
    def on_job(body: dict) -> None: ...

    @app.cloudwatch_logs("/aws/lambda/payments")
    def on_log(body: Any) -> None: ...

    @app.ses("*@hooks.example.com")
    def on_mail(body: dict) -> None: ...

    @app.custom_resource("Custom::Seed")
    def seed(body: dict) -> dict:
        return {}

    @app.appsync("Query.*")
    def resolve(body: dict) -> dict:
        return {}

    @app.appsync_authorizer()
    def appsync_auth(ctx: Context) -> bool:
        return True

    @app.bedrock_agent("/claims/{id}", "GET")
    def claim(body: dict) -> dict:
        return {}

    @app.s3_object_lambda("redacted")
    def redact(body: bytes) -> bytes:
        return body

    @app.secrets_rotation(secret="hooks-db-*")
    def rotate(ctx: Context) -> None: ...

    @app.codepipeline()
    def pipeline_step(body: dict) -> None: ...

    return app


# the [tool.lift] a triggers_app deployment needs (the things its decorators cannot know)
TRIGGERS_CONFIG: dict[str, Any] = {
    "authorizer": {"public_routes": ["GET /docs/{page}"], "ttl": 60},
    "cognito": {"create": True, "pre_token_generation_version": "V2_0"},
    "kafka": {
        "orders": {
            "cluster_arn": "arn:aws:kafka:eu-west-1:123456789012:cluster/shop/5f1c8b7e-1111-2222-3333-444455556666-2",
            "consumer_group_id": "hooks-orders",
        },
        "audit": {
            "bootstrap_servers": ["kafka1.example.com:9096", "kafka2.example.com:9096"],
            "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks-kafka-AbCdEf",
            "subnets": ["subnet-0a1b2c3d"],
            "security_groups": ["sg-0a1b2c3d"],
        },
    },
    "mq": {
        "jobs": {
            "broker_arn": "arn:aws:mq:eu-west-1:123456789012:broker:jobs:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9",
            "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks-mq-AbCdEf",
        }
    },
    "log_groups": {"/aws/lambda/payments": {"filter_pattern": "ERROR"}},
    "firehose": {"hooks-clicks": {"role_name": "hooks-clicks-firehose"}},
    "object_lambda": {"redacted": {"bucket": "hooks-documents"}},
    "triggers": {"ses_rule_set": "hooks-inbound"},
}


@pytest.fixture(scope="module")
def event_loop_for_pulumi():
    """Pulumi's runtime awaits on the thread's current event loop; an earlier test of the suite
    may have left none set (asyncio.run clears it), so a test that runs Pulumi asks for this."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture(scope="session")
def packaged_app(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Path:
    """`lift package` of tests/deploy/test_deploy_moto.py's APP, built once for the session (each build
    pip-installs the runtime's wheels: seconds); `project_with_package` gives each test's project a copy
    holding the project's own app.py."""
    from tests.deploy.test_deploy_moto import APP, PYPROJECT, lift

    root = tmp_path_factory.mktemp("packaged")
    (root / "app.py").write_text(APP.format(name="packaged"))
    (root / "pyproject.toml").write_text(PYPROJECT)
    built = lift("package", "--no-compile", "-o", "package.zip", cwd=root, env={"AWS_ENDPOINT_URL": moto_endpoint})
    assert built.returncode == 0, built.stderr
    return root / "package.zip"
