"""Two stages of one app in one account: each stack creates its own queues, topics and tables
(`<name><resource_suffix>`, "-{stage}" by default), and each deployed function is wired to its own
stage's resources; destroying one stage leaves the other working."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from lift import App, Context
from lift.deploy import ConfigError, ModelError, build_deployment, config_from_dict
from lift.stage_names import physical_name
from tests.deploy.test_deploy_moto import lift, project_with_package

REGION = "us-east-1"

STAGED_APP = """
from lift import App
from lift.stores.dynamodb import DynamoDBStore

app = App(name="{name}")
app.add_store(DynamoDBStore("{name}-state", region="us-east-1"))


@app.get("/ping")
def ping() -> dict:
    return {{"ok": True}}


@app.sqs("{name}-orders")
def order(body: dict) -> None:
    app.stores[0].put("last-order", body["id"])


@app.sns("{name}-alerts")
def alert(body: str) -> None: ...
"""


def load_app(source: str) -> App:
    """The app module `source` as the deployed function imports it (in the current environment)."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "app.py", "exec"), namespace)
    return namespace["app"]


def sqs_event(queue_arn: str, body: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1701820800000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1701820800001",
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }


def stage_wiring(name: str, stage: str, endpoint: str) -> dict[str, Any]:
    """What AWS holds for one stage: its function's environment, the queue its mapping consumes,
    the resources its role may use."""
    aws = boto3.session.Session(region_name=REGION)
    function = aws.client("lambda", endpoint_url=endpoint).get_function(FunctionName=f"{name}-{stage}")
    config = function["Configuration"]
    mappings = aws.client("lambda", endpoint_url=endpoint).list_event_source_mappings(FunctionName=f"{name}-{stage}")
    role = config["Role"].rsplit("/", 1)[1]
    iam = aws.client("iam", endpoint_url=endpoint)
    policies = [
        iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"]
        for p in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    return {
        "environment": config["Environment"]["Variables"],
        "consumes": sorted(m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings["EventSourceMappings"]),
        "policy": json.dumps(policies),
    }


def test_two_stages_in_one_account_each_get_and_use_their_own_resources(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"st{uuid.uuid4().hex[:8]}"
    source = STAGED_APP.format(name=name)
    project_with_package(tmp_path, source, packaged_app)
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    for stage in ("dev", "prod"):
        deployed = lift("deploy", stage, "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    aws = boto3.session.Session(region_name=REGION)
    sqs, sns = aws.client("sqs", endpoint_url=moto_endpoint), aws.client("sns", endpoint_url=moto_endpoint)
    dynamodb = aws.client("dynamodb", endpoint_url=moto_endpoint)
    queues = {url.rsplit("/", 1)[1] for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])}
    assert queues == {f"{name}-orders-{s}{dlq}" for s in ("dev", "prod") for dlq in ("", "-dlq")}
    for stage in ("dev", "prod"):  # each queue's DLQ is its own stage's
        url = sqs.get_queue_url(QueueName=f"{name}-orders-{stage}")["QueueUrl"]
        redrive = json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
        )
        assert redrive["deadLetterTargetArn"].endswith(f":{name}-orders-{stage}-dlq")
    topics = {t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]}
    assert {f"{name}-alerts-dev", f"{name}-alerts-prod"} <= topics
    tables = set(dynamodb.list_tables()["TableNames"])
    assert {f"{name}-state-dev", f"{name}-state-prod"} <= tables
    for stage, other in (("dev", "prod"), ("prod", "dev")):
        wiring = stage_wiring(name, stage, moto_endpoint)
        assert wiring["environment"]["LIFT_RESOURCE_SUFFIX"] == f"-{stage}"
        assert wiring["consumes"] == [f"{name}-orders-{stage}"]
        assert f"table/{name}-state-{stage}" in wiring["policy"] and f"{name}-orders-{stage}" in wiring["policy"]
        assert f"-{other}" not in wiring["policy"].replace(f"{name}-{stage}", "")  # nothing of the other stage

    def run_as_deployed(stage: str, order_id: str) -> None:
        """The stage's function as Lambda runs it: its environment, a message of its own queue; the
        handler writes to the stage's table."""
        for key, value in stage_wiring(name, stage, moto_endpoint)["environment"].items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        app = load_app(source)
        arn = f"arn:aws:sqs:{REGION}:123456789012:{name}-orders-{stage}"
        assert app.handler(sqs_event(arn, json.dumps({"id": order_id})), None) == {"batchItemFailures": []}
        assert app.stores[0].get("last-order") == order_id
        assert repr(dynamodb.scan(TableName=f"{name}-state-{stage}")["Items"]).count(order_id) == 1

    run_as_deployed("dev", "d-1")
    assert dynamodb.scan(TableName=f"{name}-state-prod")["Count"] == 0  # dev wrote to its own table only
    run_as_deployed("prod", "p-1")
    gone = lift("destroy", "dev", "--yes", cwd=tmp_path, env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    queues = {url.rsplit("/", 1)[1] for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])}
    assert queues == {f"{name}-orders-prod", f"{name}-orders-prod-dlq"}
    cfn = aws.client("cloudformation", endpoint_url=moto_endpoint)
    assert cfn.describe_stacks(StackName=f"{name}-prod")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    run_as_deployed("prod", "p-2")  # prod still works after dev is gone


def suffixed_app(name: str = "svc") -> App:
    app = App(name=name)

    @app.sqs("orders")
    def orders(ctx: Context, body: dict) -> None: ...

    @app.sqs("payments.fifo")
    def payments(ctx: Context, body: dict) -> None: ...

    @app.schedule("nightly", rate="1 day")
    def nightly(ctx: Context) -> None: ...

    @app.s3("uploads", events=["ObjectCreated:*"])
    def upload(ctx: Context, body: Any) -> None: ...

    return app


def test_physical_names_keep_aws_limits_and_the_fifo_suffix() -> None:
    long_queue = "q" * 78
    assert physical_name("orders", "queue", "-prod") == "orders-prod"
    assert physical_name("payments.fifo", "queue", "-prod") == "payments-prod.fifo"
    fitted = physical_name(long_queue, "queue", "-prod")
    assert len(fitted) == 80 and fitted.endswith("-prod") and fitted != physical_name("q" * 77, "queue", "-prod")
    fifo = physical_name("f" * 76 + ".fifo", "queue", "-staging")
    assert len(fifo) == 80 and fifo.endswith("-staging.fifo")
    bucket = physical_name("b" * 60, "bucket", "-prod")
    assert len(bucket) == 63 and bucket.endswith("-prod")
    assert len(physical_name("s" * 62, "schedule", "-prod")) == 64
    assert physical_name("orders-*", "queue", "-prod") == "orders-*"  # a pattern names queues that exist


def test_every_renderer_names_the_stage_s_own_resources() -> None:
    from lift.deploy.cloudformation import render
    from lift.deploy.terraform import render as render_module

    config = config_from_dict({"region": REGION, "buckets": {"uploads": {"create": True}}}, "pyproject.toml")
    d = build_deployment(suffixed_app(), config, "prod")
    template = json.dumps(render(d))
    module = json.dumps(render_module(d))
    for physical in ("orders-prod", "orders-prod-dlq", "payments-prod.fifo", "nightly-prod", "uploads-prod"):
        assert f'"{physical}"' in template and f'"{physical}"' in module, physical
    assert '"orders"' not in template and '"uploads"' not in template
    # the S3 rule matches the stage's bucket and the role reads from it
    assert '{"name": ["uploads-prod"]}' in template.replace('\\"', '"') or "uploads-prod" in template
    kept = build_deployment(
        suffixed_app(), config_from_dict({"region": REGION, "resource_suffix": ""}, "pyproject.toml"), "prod"
    )
    assert sorted(q.name for q in kept.queues if not q.is_dlq) == ["orders", "payments.fifo"]
    assert "LIFT_RESOURCE_SUFFIX" not in dict(kept.function.environment)


def test_the_deployed_function_matches_its_stage_s_names_and_the_app_s(monkeypatch: pytest.MonkeyPatch) -> None:
    from lift.testing import events

    monkeypatch.setenv("LIFT_RESOURCE_SUFFIX", "-prod")
    app = suffixed_app()
    seen: list[str] = []
    app.use(lambda ctx, call_next: seen.append(ctx.record.queue) or call_next(ctx))
    for queue in ("orders-prod", "orders", "payments-prod.fifo"):
        event = events.sqs(queue, [{"id": 1}])
        assert app.handler(event, None) == {"batchItemFailures": []}
    assert seen == ["orders-prod", "orders", "payments-prod.fifo"]
    other = events.sqs("orders-dev", [{"id": 1}])  # another stage's queue is not this function's
    with pytest.raises(Exception, match="orders-dev"):
        app.handler(other, None)


def test_tables_the_stack_did_not_create_keep_their_names_in_the_function() -> None:
    from lift.stores.dynamodb import DynamoDBStore

    app = App(name="svc")
    app.add_store(DynamoDBStore("legacy", region=REGION))
    app.add_store(DynamoDBStore("fresh", region=REGION))
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/legacy"
    d = build_deployment(
        app, config_from_dict({"region": REGION, "tables": {"legacy": {"arn": arn}}}, "pyproject.toml"), "prod"
    )
    assert [t.name for t in d.tables] == ["fresh-prod"]
    env = {k: str(v) for k, v in d.function.environment}
    assert env["LIFT_STAGE_TABLES"] == "fresh"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        assert DynamoDBStore("legacy", region=REGION).table_name == "legacy"
        assert DynamoDBStore("not-the-app-s", region=REGION).table_name == "not-the-app-s"  # made elsewhere
        store = DynamoDBStore("fresh", region=REGION)
        assert store.table_name == "fresh-prod"
        store.table = "legacy"  # a table set later is looked up again
        assert (store.table, store.table_name) == ("legacy", "legacy")
        store.table = "fresh"
        assert store.table_name == "fresh-prod"


@pytest.mark.parametrize("suffix", ["-Prod", "_prod", "-prod-", "x" * 41])
def test_a_resource_suffix_aws_would_refuse_is_a_config_error(suffix: str) -> None:
    with pytest.raises(ConfigError, match="resource_suffix"):
        config_from_dict({"resource_suffix": suffix}, "pyproject.toml").stage("prod")


def test_an_app_name_aws_refuses_is_still_refused_before_the_suffix() -> None:
    app = App(name="svc")

    @app.sqs("q" * 81)
    def orders(ctx: Context, body: dict) -> None: ...

    with pytest.raises(ModelError, match="81 characters"):
        build_deployment(app, config_from_dict({"region": REGION}, "pyproject.toml"), "prod")


def test_a_deploy_that_renames_an_older_stack_s_resources_says_how_to_keep_them() -> None:
    """The change set of a stack deployed before per-stage names replaces its queues: lift deploy
    says why, and how to keep the old names, before it asks."""
    from rich.console import Console

    from lift.cli.deploy import print_changes
    from lift.deploy.aws import Change, Plan

    plan = Plan(
        "svc-prod",
        "cs-1",
        "UPDATE",
        [
            Change("Modify", "QueueOrders", "AWS::SQS::Queue", "True"),
            Change("Modify", "Function", "AWS::Lambda::Function"),
        ],
    )
    for suffix, hinted in (("-{stage}", True), ("", False)):
        d = build_deployment(
            suffixed_app(), config_from_dict({"region": REGION, "resource_suffix": suffix}, "pyproject.toml"), "prod"
        )
        console = Console(record=True, width=300)
        print_changes(console, plan, d)
        said = console.export_text()
        assert "replaced (data in them is lost unless retained): QueueOrders" in said
        assert ("QueueOrders now carry the stage in their names" in said) is hinted
        assert ('set resource_suffix = "" in [tool.lift.stages.prod]' in said) is hinted


def test_long_stream_names_get_failure_queues_of_their_own() -> None:
    """Each stream's failure queue is `<function>-<stream>-failed`, cut to SQS's 80 characters: two
    streams whose names share their first 80 characters got one queue name (CloudFormation refuses
    the second queue)."""
    app = App(name="svc")
    common = "clickstream-" + "x" * 70
    for stream in (f"{common}-web", f"{common}-mobile"):
        app.kinesis(stream)(lambda body: None)
    app.dynamodb_stream("orders")(lambda body: None)
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    d = build_deployment(app, config_from_dict({"region": REGION, "streams": {"orders": {"arn": arn}}}, "x"), "prod")
    failed = [q.name for q in d.queues if q.is_dlq]
    assert len(failed) == len(set(failed)) == 3
    assert all(len(name) <= 80 and name.startswith("svc-prod-") and name.endswith("-failed") for name in failed)
    assert "svc-prod-orders-failed" in failed  # a name that fits is as before
