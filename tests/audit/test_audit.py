"""lift.audit: entries from ctx.audit and automatic ones, hash chains on DynamoDB Local, CloudWatch
Logs, Kinesis and Firehose (moto server), and `lift audit verify` finding removed or changed entries."""

from __future__ import annotations

import json
import os
import uuid

import boto3
import msgspec
import pytest

from lift import App
from lift.audit import (
    AuditTrail,
    CloudWatchLogsAuditSink,
    DynamoDBAuditSink,
    FirehoseAuditSink,
    KinesisAuditSink,
    MemoryAuditSink,
    create_audit_table,
    verify_entries,
)
from lift.audit.entry import AuditEntry
from lift.audit.sinks import ConflictError
from lift.auth.api_keys import APIKey, hash_api_key
from lift.middleware.auth import api_key_auth, require_roles
from lift.testing import TestClient

ADMIN_KEY = "ak_admin_0123456789"
CLERK_KEY = "ak_clerk_0123456789"


def _app(trail_sink) -> tuple[App, AuditTrail]:
    app = App("payments")
    trail = AuditTrail(trail_sink, app=app, config_changes=False)
    keys = [
        APIKey(hash_api_key(ADMIN_KEY), "alice", tenant_id="acme", roles=("admin",)),
        APIKey(hash_api_key(CLERK_KEY), "bob", tenant_id="acme", roles=("clerk",)),
    ]
    app.use(trail.middleware(admin=["/admin"]), api_key_auth(keys))

    @app.post("/orders/{order_id}/refund")
    def refund(ctx, order_id: str) -> dict:
        ctx.audit("refund.issued", target=f"order:{order_id}", details={"amount": 42, "card": "4111111111111111"})
        return {"refunded": order_id, "request_id": ctx.request_id}

    admin = app.group("/admin", middleware=[require_roles("admin")])

    @admin.post("/users/{user_id}/disable")
    def disable(ctx, user_id: str) -> dict:
        return {"disabled": user_id}

    return app, trail


def test_ctx_audit_records_who_what_when_and_the_outcome() -> None:
    sink = MemoryAuditSink()
    app, _ = _app(sink)
    client = TestClient(app)
    resp = client.post("/orders/o-1/refund", headers={"X-Api-Key": CLERK_KEY})
    assert resp.status_code == 200
    (entry,) = sink.entries()
    assert entry.action == "refund.issued" and entry.outcome == "success"
    assert entry.target == "order:o-1"
    assert (entry.tenant, entry.principal, entry.auth_method) == ("acme", "bob", "api_key")
    assert entry.source_ip == client.last_event["requestContext"]["identity"]["sourceIp"]
    assert entry.request_id == resp.json()["request_id"]
    assert entry.route == "/orders/{order_id}/refund" and entry.at.endswith("Z")
    assert entry.details == {"amount": 42, "card": "411111******1111"}  # never a full card number
    assert entry.seq == 1 and entry.prev_hash == "0" * 64


def test_authentication_failures_denials_and_admin_routes_are_recorded() -> None:
    sink = MemoryAuditSink()
    client = TestClient(_app(sink)[0])
    assert client.post("/orders/o-1/refund", headers={"X-Api-Key": "wrong"}).status_code == 401
    assert client.post("/admin/users/u9/disable", headers={"X-Api-Key": CLERK_KEY}).status_code == 403
    assert client.post("/admin/users/u9/disable", headers={"X-Api-Key": ADMIN_KEY}).status_code == 200
    entries = sorted(sink.entries(), key=lambda e: (e.tenant, e.seq))
    summary = [(e.tenant, e.action, e.outcome, e.admin, e.principal) for e in entries]
    assert summary == [
        ("-", "auth.failed", "failure", False, None),  # nobody authenticated: the system chain
        ("acme", "authz.denied", "denied", False, "bob"),
        ("acme", "admin.request", "denied", True, "bob"),
        ("acme", "admin.request", "success", True, "alice"),
    ]
    assert entries[0].target == "POST /orders/{order_id}/refund" and entries[0].details["status"] == 401
    assert verify_entries(entries) == (4, [])


def test_config_changes_are_recorded_by_field_name(moto_endpoint, monkeypatch) -> None:
    from lift.config import Parameter, Settings

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("LIFT_CONFIG_EXTENSION", "0")
    name = f"/audit-{uuid.uuid4().hex[:8]}/limit"
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint)
    ssm.put_parameter(Name=name, Value="100", Type="String")

    class Limits(msgspec.Struct):
        limit: int = Parameter(name)

    sink = MemoryAuditSink()
    AuditTrail(sink)
    settings = Settings(Limits, ttl=None)
    settings.get()
    ssm.put_parameter(Name=name, Value="739157", Type="String", Overwrite=True)
    settings.refresh()
    (entry,) = [e for e in sink.entries() if e.target == "Limits"]
    assert (entry.action, entry.details, entry.principal) == ("config.changed", {"fields": ["limit"]}, "system")
    assert "739157" not in json.dumps(msgspec.to_builtins(entry))  # the new value is not in the trail


@pytest.fixture
def audit_table(dynamodb_endpoint) -> str:
    name = f"audit-{uuid.uuid4().hex[:8]}"
    create_audit_table(name, endpoint_url=dynamodb_endpoint, region=os.environ["AWS_DEFAULT_REGION"])
    return name


def test_dynamodb_chain_is_shared_by_writers_append_only_and_verifiable(audit_table, dynamodb_endpoint) -> None:
    def sink() -> DynamoDBAuditSink:
        return DynamoDBAuditSink(audit_table, endpoint_url=dynamodb_endpoint, retention_days=30)

    first, second = AuditTrail(sink(), config_changes=False), AuditTrail(sink(), config_changes=False)
    for i in range(3):  # two execution environments writing one tenant's chain in turn
        first.record("order.paid", tenant="acme", target=f"order:{i}", principal="svc")
        second.record("order.shipped", tenant="acme", target=f"order:{i}", principal="svc")
    second.record("login", tenant="globex", principal="eve")
    entries = list(sink().entries())
    assert sorted(e.seq for e in entries if e.tenant == "acme") == [1, 2, 3, 4, 5, 6]
    assert verify_entries(entries) == (7, [])

    taken = next(e for e in entries if e.tenant == "acme" and e.seq == 2)
    with pytest.raises(ConflictError):  # conditional put: an entry is never overwritten
        sink().append(taken)

    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint)
    item = client.get_item(TableName=audit_table, Key={"pk": {"S": "acme#main"}, "seq": {"N": "1"}})["Item"]
    assert int(item["expires_at"]["N"]) > 0  # the retention TTL


def test_many_execution_environments_writing_one_chain_lose_no_entry(audit_table, dynamodb_endpoint) -> None:
    """Eight Lambda instances append to one tenant's chain at the same moment: every entry is written, in
    one gapless verifiable chain (before: 5 conflicts in a row dropped 12 of 40 entries with an ERROR)."""
    import threading

    tenant = f"t-{uuid.uuid4().hex[:8]}"
    trails = [
        AuditTrail(DynamoDBAuditSink(audit_table, endpoint_url=dynamodb_endpoint), config_changes=False)
        for _ in range(8)
    ]
    barrier = threading.Barrier(len(trails))
    written: list[bool] = []

    def write(trail: AuditTrail, n: int) -> None:
        barrier.wait(10)
        for i in range(4):
            written.append(
                trail.record("order.paid", tenant=tenant, target=f"order:{n}-{i}", principal="svc") is not None
            )

    threads = [threading.Thread(target=write, args=(trail, n)) for n, trail in enumerate(trails)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    entries = [
        e for e in DynamoDBAuditSink(audit_table, endpoint_url=dynamodb_endpoint).entries() if e.tenant == tenant
    ]
    assert written == [True] * 32
    assert sorted(e.seq for e in entries) == list(range(1, 33))
    assert sorted(e.target for e in entries) == sorted(f"order:{n}-{i}" for n in range(8) for i in range(4))
    assert verify_entries(entries) == (32, [])


def _tamper(client, table: str, seq: int, change) -> None:
    key = {"pk": {"S": "acme#main"}, "seq": {"N": str(seq)}}
    if change is None:
        client.delete_item(TableName=table, Key=key)
        return
    item = client.get_item(TableName=table, Key=key)["Item"]
    entry = json.loads(item["entry"]["S"])
    change(entry)
    item["entry"] = {"S": json.dumps(entry)}
    client.put_item(TableName=table, Item=item)


def test_lift_audit_verify_finds_a_removed_or_changed_entry(audit_table, dynamodb_endpoint) -> None:
    from typer.testing import CliRunner

    from lift.cli.root import cli

    trail = AuditTrail(DynamoDBAuditSink(audit_table, endpoint_url=dynamodb_endpoint), config_changes=False)
    for i in range(5):
        trail.record("refund.issued", tenant="acme", target=f"order:{i}", details={"amount": i})
    args = ["audit", "verify", "--dynamodb-table", audit_table, "--endpoint-url", dynamodb_endpoint]
    runner = CliRunner()
    ok = runner.invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "5 entries in 1 chain(s): intact" in ok.output

    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint)
    _tamper(client, audit_table, 2, lambda e: e["details"].update(amount=9000))
    _tamper(client, audit_table, 4, None)
    bad = runner.invoke(cli, args)
    assert bad.exit_code == 1
    assert "tenant 'acme' chain 'main' entry 2: content changed (hash mismatch)" in bad.output
    assert "tenant 'acme' chain 'main' entry 5: entries 4 removed before it" in bad.output

    # rewriting the hash too does not help: the next entry's prev_hash no longer matches
    def forge(entry: dict) -> None:
        entry["details"]["amount"] = 1
        entry["hash"] = _rehash(entry)

    _tamper(client, audit_table, 1, forge)
    forged = runner.invoke(cli, args)
    assert "entry 1:" not in forged.output  # its own hash is consistent...
    assert "tenant 'acme' chain 'main' entry 2: prev_hash does not match the entry before it" in forged.output


def _rehash(data: dict) -> str:
    from lift.audit.entry import entry_hash

    return entry_hash(msgspec.convert(data, AuditEntry))


def test_cloudwatch_logs_sink_round_trips_a_verifiable_chain(moto_endpoint) -> None:
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    group = f"/lift/audit/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    sink = CloudWatchLogsAuditSink(group, client=logs)
    trail = AuditTrail(sink, config_changes=False)
    for i in range(3):
        trail.record("export.downloaded", tenant="acme", target=f"report:{i}")
    entries = list(sink.entries())
    assert [e.seq for e in entries] == [1, 2, 3] and verify_entries(entries) == (3, [])
    assert verify_entries(entries[:1] + entries[2:])[1][0].problem == "entries 2 removed before it"


def test_kinesis_sink_round_trips_a_verifiable_chain(moto_endpoint) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint)
    stream = f"audit-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    sink = KinesisAuditSink(stream, client=kinesis)
    trail = AuditTrail(sink, config_changes=False)
    for i in range(3):
        trail.record("card.tokenized", tenant="acme", details={"pan": "4111111111111111", "n": i})
    entries = list(sink.entries())
    assert len(entries) == 3 and verify_entries(entries) == (3, [])
    assert entries[0].details["pan"] == "***"  # a PAN key is masked outright


def test_firehose_sink_delivers_verifiable_json_lines(moto_endpoint) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    firehose = boto3.client("firehose", endpoint_url=moto_endpoint)
    bucket = f"audit-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    firehose.create_delivery_stream(
        DeliveryStreamName=bucket,
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
        },
    )
    trail = AuditTrail(FirehoseAuditSink(bucket, client=firehose), config_changes=False)
    for i in range(3):
        trail.record("user.deleted", tenant="acme", target=f"user:{i}")
    lines = []
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        lines += s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode().splitlines()
    entries = [msgspec.json.decode(line, type=AuditEntry) for line in lines if line]
    assert len(entries) == 3 and verify_entries(entries) == (3, [])

    # `lift audit verify --s3` reads what Firehose delivered, and finds an entry removed from it
    from typer.testing import CliRunner

    from lift.cli.root import cli

    args = ["audit", "verify", "--s3", f"s3://{bucket}", "--endpoint-url", moto_endpoint]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0 and "3 entries in 1 chain(s): intact" in ok.output, ok.output
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    kept = [line for line in lines if line and msgspec.json.decode(line, type=AuditEntry).seq != 2]
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.put_object(Bucket=bucket, Key=keys[0], Body=("\n".join(kept) + "\n").encode())
    bad = CliRunner().invoke(cli, args)
    assert bad.exit_code == 1 and "entry 3: entries 2 removed before it" in bad.output, bad.output


def test_a_failed_write_is_logged_or_fails_the_request_when_fail_closed(caplog) -> None:
    class Broken(MemoryAuditSink):
        def append(self, entry):
            raise OSError("sink down")

    app = App("x")
    AuditTrail(Broken(), app=app, config_changes=False)
    app.get("/a")(lambda ctx: (ctx.audit("thing.done") and {}) or {"ok": True})
    assert TestClient(app).get("/a").status_code == 200
    assert "Audit entry thing.done could not be written" in caplog.text

    strict = App("y")
    AuditTrail(Broken(), app=strict, fail_closed=True, config_changes=False)
    strict.get("/a")(lambda ctx: ctx.audit("thing.done") or {"ok": True})
    assert TestClient(strict).get("/a").status_code == 500


def test_ctx_audit_without_a_trail_says_how_to_add_one() -> None:
    app = App("none")
    app.get("/a")(lambda ctx: ctx.audit("x"))
    with pytest.raises(RuntimeError, match="AuditTrail"):
        from lift.context import Context

        Context(app, {}, None, "http").audit("x")


def test_secrets_and_card_numbers_in_details_or_target_are_masked_and_the_entry_is_still_written() -> None:
    """A SecretStr in details used to make the entry unencodable: it was lost (logged, not written)."""
    from lift.config import SecretStr

    sink = MemoryAuditSink()
    trail = AuditTrail(sink, config_changes=False)
    entry = trail.record(
        "key.used",
        tenant="acme",
        target="card:4111 1111 1111 1111",
        details={"credential": SecretStr("sk-live-4242"), "when": {"nested": SecretStr("n-secret")}, 3: "x"},
    )
    assert entry is not None and list(sink.entries()) == [entry]
    assert entry.details == {"credential": "***", "when": {"nested": "**********"}, "3": "x"}
    assert entry.target == "card:411111******1111"
    text = msgspec.json.encode(entry).decode()
    assert "sk-live" not in text and "n-secret" not in text and "4111 1111 1111 1111" not in text
    assert verify_entries([entry]) == (1, [])
