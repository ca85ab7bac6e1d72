"""The deployable example: its behaviour on DynamoDB Local, its template, and its deploy to moto."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from examples.orders_service import app as module
from lift.deploy import build_deployment, load_config
from lift.stores.dynamodb import create_table
from lift.testing import TestClient, events

HERE = Path(__file__).resolve().parent


@pytest.fixture
def client(dynamodb_local: Any, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The example's store on DynamoDB Local (its own table for this test)."""
    table = f"orders-{uuid.uuid4().hex[:8]}"
    ddb = dynamodb_local.client()
    create_table(table, client=ddb)
    monkeypatch.setattr(module.store, "client", ddb)
    monkeypatch.setattr(module.store, "table", table)
    return TestClient(module.app, source="http")


def test_orders_are_created_read_and_paid_through_the_queue(client: TestClient) -> None:
    created = client.post("/orders", json={"item": "book", "quantity": 2}, headers={"Idempotency-Key": "k1"})
    assert created.status_code == 201
    order = created.json()
    again = client.post("/orders", json={"item": "book", "quantity": 2}, headers={"Idempotency-Key": "k1"})
    assert again.json() == order and again.headers.get("Idempotent-Replayed") == "true"
    event = events.sqs(
        "orders-service-payments",
        [{"order_id": order["id"], "amount_cents": 500}, {"order_id": "missing", "amount_cents": 1}],
    )
    result = module.app.handler(event, None)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [event["Records"][1]["messageId"]]
    assert client.get(f"/orders/{order['id']}").json()["status"] == "paid"
    assert client.get("/orders/nope").status_code == 404


def test_the_model_has_http_sqs_schedule_and_the_store_table() -> None:
    d = build_deployment(module.app, load_config(HERE), "prod", handler="app.app")
    assert (d.function.memory, d.log_groups[0].retention_days, d.http.kind) == (1024, 90, "http")
    # each stage's own queue, schedule and table (docs/deploy.md, "Stages in one account")
    assert [q.name for q in d.queues] == ["orders-service-payments-prod", "orders-service-payments-prod-dlq"]
    assert d.queues[0].max_receive_count == 3
    assert [s.name for s in d.schedules] == ["orders-service-nightly-prod"]
    assert [t.name for t in d.tables] == ["orders-service-state-prod"]


def lift(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=600
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example as its own project, packaged once (for arm64, as configured)."""
    root = tmp_path_factory.mktemp("orders-service")
    for name in ("app.py", "pyproject.toml"):
        shutil.copy(HERE / name, root / name)
    built = lift("package", "-o", "package.zip", cwd=root)
    assert built.returncode == 0, built.stderr
    return root


def test_deploy_to_moto_creates_updates_reports_and_destroys(project: Path, moto_server: Any) -> None:
    """First deploy creates every resource, a repeat is "no changes", a new route updates in place,
    the history lists each deploy, destroy keeps the retained table."""
    moto_endpoint = moto_server.endpoint
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_REGION": "us-east-1"}
    stage = f"t{uuid.uuid4().hex[:6]}"
    first = lift("deploy", stage, "--yes", "--package", "package.zip", cwd=project, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created" in first.stdout and "MappingOrdersServicePayments" in first.stdout

    session = boto3.session.Session(region_name="us-east-1")
    aws = {
        name: session.client(name, endpoint_url=moto_endpoint)
        for name in ("lambda", "sqs", "dynamodb", "iam", "cloudformation")
    }
    fn = aws["lambda"].get_function(FunctionName=f"orders-service-{stage}")["Configuration"]
    assert (fn["Handler"], fn["Runtime"], fn["MemorySize"]) == (
        "app.app",
        "python3.12",
        512,
    )  # moto drops Architectures
    assert fn["Environment"]["Variables"]["LIFT_STAGE"] == stage
    queue_url = aws["sqs"].get_queue_url(QueueName=f"orders-service-payments-{stage}")["QueueUrl"]
    redrive = json.loads(
        aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    assert redrive["maxReceiveCount"] == 3 and redrive["deadLetterTargetArn"].endswith(
        f":orders-service-payments-{stage}-dlq"
    )
    mappings = aws["lambda"].list_event_source_mappings(FunctionName=f"orders-service-{stage}")["EventSourceMappings"]
    assert [m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings] == [f"orders-service-payments-{stage}"]
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    table = aws["dynamodb"].describe_table(TableName=f"orders-service-state-{stage}")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    resources = {
        r["LogicalResourceId"]: r["ResourceStatus"]
        for r in aws["cloudformation"].list_stack_resources(StackName=f"orders-service-{stage}")[
            "StackResourceSummaries"
        ]
    }
    assert {"Function", "FunctionRole", "FunctionLogs", "QueueOrdersServicePayments", "TableOrdersServiceState"} <= set(
        resources
    )

    again = lift("deploy", stage, "--yes", "--package", "package.zip", cwd=project, env=env)
    assert again.returncode == 0 and "no changes" in again.stdout

    source = (project / "app.py").read_text()
    (project / "app.py").write_text(
        source
        + '\n\n@app.delete("/orders/{order_id}")\ndef delete_order(order_id: str) -> None:\n    store.delete(f"order:{order_id}")\n'
    )
    updated = lift("deploy", stage, "--yes", "--package", "package.zip", cwd=project, env=env)
    (project / "app.py").write_text(source)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "HttpApiRouteDeleteOrdersOrderId" in updated.stdout and "updated" in updated.stdout

    history = json.loads(lift("deploy", "history", stage, "--json", cwd=project, env=env).stdout)
    assert [r["outcome"] for r in history] == ["created", "updated"]
    assert all(len(r["artifact_sha256"]) == 64 and r["who"].startswith("arn:aws:") for r in history)

    destroyed = lift("destroy", stage, "--yes", cwd=project, env=env)
    assert destroyed.returncode == 0, destroyed.stderr
    # the table it keeps, by the name to find it under (orders-service-state-<stage>)
    assert f"retained (delete it yourself if it should go): orders-service-state-{stage}" in destroyed.stdout
