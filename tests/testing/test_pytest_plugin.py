"""The pytest plugin as a user's project meets it: a project with [tool.lift], tests using the
fixtures, run by a real pytest in a subprocess (the plugin is found through its entry point)."""

from __future__ import annotations

import os
import textwrap
import uuid

import pytest
import services as test_services

APP = """
import msgspec
from lift import App, Context
from lift.errors import NotFound

class Order(msgspec.Struct):
    id: int
    sku: str

app = App("orders")

@app.get("/orders/{order_id}")
def get_order(ctx: Context, order_id: int) -> dict:
    if order_id != 1:
        raise NotFound(f"order {order_id} not found")
    ctx.logger.info("order read", order_id=order_id)
    ctx.metrics.add("OrdersRead", 1, unit="Count")
    return {"id": order_id}

@app.sqs("orders")
def on_order(ctx: Context, body: Order) -> None:
    if body.sku == "bad":
        raise ValueError("bad sku")
    ctx.metrics.add("OrdersImported", 1, unit="Count")
"""

USER_TESTS = """
import redis
from lift.testing import assert_batch_failures, frozen_lambda_context


def test_client_and_logs(lift_client, lift_logs, lift_metrics):
    assert lift_client.get("/orders/1").json() == {"id": 1}
    assert lift_client.get("/orders/2").status_code == 404
    [line] = lift_logs.find(message="order read")
    assert line["order_id"] == 1 and line["service"] == "orders" and line["level"] == "INFO"
    assert lift_metrics.total("OrdersRead") == 1


def test_batch_failures(lift_app, lift_events, lift_metrics):
    event = lift_events.sqs("orders", [{"id": 1, "sku": "a"}, {"id": 2, "sku": "bad"}, {"id": 3}])
    ids = [r["messageId"] for r in event["Records"]]
    result = lift_app.handler(event, frozen_lambda_context(remaining_ms=1234))
    assert_batch_failures(result, [ids[1], ids[2]])
    assert lift_metrics.total("OrdersImported") == 1


def test_frozen_context():
    assert frozen_lambda_context(remaining_ms=250).get_remaining_time_in_millis() == 250


def test_redis(redis_server):
    client = redis_server.client()
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_dynamodb(dynamodb_local):
    dynamodb_local.create_store_table("orders-state")
    names = dynamodb_local.client().list_tables()["TableNames"]
    assert "orders-state" in names


def test_moto(moto_server):
    sqs = moto_server.client("sqs")
    url = sqs.create_queue(QueueName="plugin-test")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hi")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hi"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.lift]\napp = "app:app"\n')
    pytester.makepyfile(app=APP, test_user=USER_TESTS)
    return pytester


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIFT_TEST_REDIS_URL", "LIFT_TEST_DYNAMODB_ENDPOINT", "LIFT_TEST_MOTO_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def test_fixtures_start_real_services_and_capture_output(project, monkeypatch):
    _clean_env(monkeypatch)
    jar = test_services._services.dynamodb_local_jar([test_services.SERVICES_DIR])
    monkeypatch.setenv("LIFT_DYNAMODB_LOCAL_JAR", str(jar))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=6)


def test_a_missing_service_skips_with_the_reason(project, monkeypatch):
    _clean_env(monkeypatch)
    monkeypatch.setenv("LIFT_DYNAMODB_LOCAL_JAR", str(project.path / "nowhere.jar"))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rs", "-k", "dynamodb")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*nowhere.jar does not exist*--install-services*"])


def test_servers_given_by_environment_are_used(project, monkeypatch, redis_url):
    _clean_env(monkeypatch)
    monkeypatch.setenv("LIFT_TEST_REDIS_URL", redis_url)
    project.makepyfile(
        test_given=textwrap.dedent(f"""
        def test_given(redis_server):
            assert redis_server.url == {redis_url!r}
        """)
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-q", "test_given.py")
    result.assert_outcomes(passed=1)


def test_app_not_found_is_a_clear_failure(pytester, monkeypatch):
    _clean_env(monkeypatch)
    pytester.makepyprojecttoml('[tool.lift]\napp = "nowhere:app"\n')
    pytester.makepyfile(test_x="def test_x(lift_client):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*lift_app: Cannot find module 'nowhere'*"])


def test_assert_batch_failures_reports_the_difference():
    from lift.testing import assert_batch_failures

    assert_batch_failures({"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "a"}]}, ["a", "b"])
    assert_batch_failures({"batchItemFailures": []}, [])
    assert_batch_failures(None, [])
    with pytest.raises(AssertionError, match=r"not reported: \['c'\]; reported but not expected: \['b'\]"):
        assert_batch_failures({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}, ["a", "c"])
    with pytest.raises(AssertionError, match="not a batch answer"):
        assert_batch_failures({"statusCode": 200}, [])


def test_assert_batch_failures_reads_success_as_lambda_does_and_names_a_repeated_id():
    from lift.testing import assert_batch_failures

    # Lambda's documented complete successes: an empty or null EventResponse, an empty or null list
    for success in (None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}):
        assert_batch_failures(success, [])
    one = {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert_batch_failures(one, "m-1")  # one id as a string, never its characters
    with pytest.raises(AssertionError, match=r"not reported: \['m-2'\]"):
        assert_batch_failures(one, "m-2")
    twice = {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-1"}]}
    with pytest.raises(
        AssertionError, match=r"reported but not expected: \['m-1'\]; reported more than once: \['m-1'\]"
    ):
        assert_batch_failures(twice, ["m-1"])
    with pytest.raises(AssertionError, match="without a string itemIdentifier"):
        assert_batch_failures({"batchItemFailures": [{"itemIdentifier": None}]}, [])


def test_plugin_import_is_light():
    import subprocess
    import sys

    code = "import sys, lift.testing.pytest_plugin; print(sorted(m for m in ('boto3','redis','httpx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "[]"


STORE_APP = """
from lift import App
from lift.middleware.idempotency import idempotency
from lift.stores import DynamoDBStore

app = App("payments")
app.use(idempotency(store=DynamoDBStore("payments-state")))
calls = []

@app.post("/charges", status=201)
def charge(body: dict) -> dict:
    calls.append(body)
    return {"charge": len(calls)}
"""

STORE_TESTS = """
def test_tables_from_the_deploy_model(lift_tables, dynamodb_local, lift_client):
    assert lift_tables == ["payments-state"]
    table = dynamodb_local.client().describe_table(TableName="payments-state")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    ttl = dynamodb_local.client().describe_time_to_live(TableName="payments-state")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    headers = {"Idempotency-Key": "k-1"}
    first = lift_client.post("/charges", json={"amount": 5}, headers=headers)
    again = lift_client.post("/charges", json={"amount": 5}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == {"charge": 1}
    assert again.headers.get("Idempotent-Replayed") == "true"
"""


def test_lift_tables_creates_the_apps_store_tables(pytester, monkeypatch, dynamodb_endpoint):
    _clean_env(monkeypatch)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    # on this session's DynamoDB Local, given as a user's CI would give one (the plugin starting its own is
    # test_fixtures_start_real_services_and_capture_output's: a second JVM start here proved nothing more),
    # with a table name of this test's own, so that lift_tables is the one creating it
    monkeypatch.setenv("LIFT_TEST_DYNAMODB_ENDPOINT", dynamodb_endpoint)
    table = f"payments-{uuid.uuid4().hex[:8]}"
    pytester.makepyprojecttoml('[tool.lift]\napp = "app:app"\n\n[tool.lift.test]\nservices = ["dynamodb"]\n')
    pytester.makepyfile(
        app=STORE_APP.replace("payments-state", table), test_store=STORE_TESTS.replace("payments-state", table)
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
