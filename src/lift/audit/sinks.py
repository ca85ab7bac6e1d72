"""Append-only audit sinks: DynamoDB (conditional put, TTL), CloudWatch Logs, Kinesis, Firehose, memory.

A sink appends one entry of a chain and can tell the last entry of a chain (`head`) so that a
writer continues it. DynamoDB holds one chain per tenant shared by every execution environment:
the conditional put fails when another writer took the same `seq`, and the writer re-reads the
head and tries again. Stream sinks (CloudWatch Logs, Kinesis, Firehose) cannot be read back
cheaply, so each trail of each execution environment writes its own chain per tenant (chain id =
a random writer id and the trail's number in the process) and keeps its head in memory.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec

from lift.audit.entry import AuditEntry
from lift.snapstart import on_restore

__all__ = [
    "AuditSink",
    "ConflictError",
    "MemoryAuditSink",
    "DynamoDBAuditSink",
    "CloudWatchLogsAuditSink",
    "KinesisAuditSink",
    "FirehoseAuditSink",
    "create_audit_table",
    "s3_entries",
]


class ConflictError(Exception):
    """Another writer appended this `seq` first."""


class AuditSink:
    shared_chain = False  # True: every writer continues one chain per tenant (read back with `head`)

    def chain_id(self) -> str:
        return "main" if self.shared_chain else _WRITER_ID

    def append(self, entry: AuditEntry) -> None:
        raise NotImplementedError

    def head(self, tenant: str, chain: str) -> AuditEntry | None:
        """The last entry of a chain (only sinks with shared chains need to answer)."""
        return None

    def entries(self, tenant: str | None = None) -> Iterator[AuditEntry]:
        """Every entry (for `lift audit verify`)."""
        raise NotImplementedError


_WRITER_ID = uuid.uuid4().hex[:16]  # one per execution environment


@on_restore
def renew_writer_id() -> None:
    """A new writer id: SnapStart restores many environments from one snapshot, which holds the id made
    at import; copies sharing it would write the same chains' `seq` numbers (duplicates to a verifier)."""
    global _WRITER_ID
    _WRITER_ID = uuid.uuid4().hex[:16]


# A forked process (gunicorn or uvicorn workers forked from a preloaded app, multiprocessing) is a
# copy too: with its parent's id it would write the parent's chains' `seq` numbers over again.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=renew_writer_id)


class MemoryAuditSink(AuditSink):
    """In memory: tests and the dev server. `rows` may be edited to simulate tampering."""

    shared_chain = True

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], AuditEntry] = {}

    def append(self, entry: AuditEntry) -> None:
        key = (entry.tenant, entry.chain, entry.seq)
        if key in self.rows:
            raise ConflictError(key)
        self.rows[key] = entry

    def head(self, tenant: str, chain: str) -> AuditEntry | None:
        seqs = [k[2] for k in self.rows if k[0] == tenant and k[1] == chain]
        return self.rows[(tenant, chain, max(seqs))] if seqs else None

    def entries(self, tenant: str | None = None) -> Iterator[AuditEntry]:
        return iter([e for e in self.rows.values() if tenant is None or e.tenant == tenant])


def _boto3_client(service: str, region: str | None, endpoint_url: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise ImportError(f'lift.audit on {service} needs boto3: pip install "lift-lambda[aws]"') from None
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url)


_encode = msgspec.json.Encoder().encode


def _decode(data: bytes | str) -> AuditEntry:
    return msgspec.json.decode(data, type=AuditEntry)


def create_audit_table(name: str, *, region: str | None = None, endpoint_url: str | None = None) -> None:
    """Create the audit table (pk S, seq N; TTL on `expires_at`) and wait until it is active."""
    client = _boto3_client("dynamodb", region, endpoint_url)
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "seq", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except client.exceptions.ResourceInUseException:
        return
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})


class DynamoDBAuditSink(AuditSink):
    """One item per entry (pk = tenant#chain, seq); `attribute_not_exists` makes every put an
    append that never overwrites; `expires_at` (TTL) = now + `retention_days`. Grant the function
    only `dynamodb:PutItem` and `dynamodb:Query` on the table (no UpdateItem/DeleteItem)."""

    shared_chain = True

    def __init__(
        self,
        table: str,
        *,
        retention_days: float | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        self.table = table
        self.retention_days = retention_days
        self.client = client or _boto3_client("dynamodb", region, endpoint_url)

    def append(self, entry: AuditEntry) -> None:
        item: dict[str, Any] = {
            "pk": {"S": f"{entry.tenant}#{entry.chain}"},
            "seq": {"N": str(entry.seq)},
            "entry": {"S": _encode(entry).decode("utf-8")},
            "at": {"S": entry.at},
            "action": {"S": entry.action},
        }
        if self.retention_days:
            item["expires_at"] = {"N": str(int(time.time() + self.retention_days * 86400))}
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self.client.exceptions.ConditionalCheckFailedException:
            raise ConflictError(f"{entry.tenant}#{entry.chain} seq {entry.seq}") from None

    def head(self, tenant: str, chain: str) -> AuditEntry | None:
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{tenant}#{chain}"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = resp.get("Items") or []
        return _decode(items[0]["entry"]["S"]) if items else None

    def entries(self, tenant: str | None = None) -> Iterator[AuditEntry]:
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                entry = _decode(item["entry"]["S"])
                if tenant is None or entry.tenant == tenant:
                    yield entry


class CloudWatchLogsAuditSink(AuditSink):
    """One JSON event per entry in `log_group`, one stream per execution environment. Set the log
    group's retention for the retention period; grant only logs:CreateLogStream/PutLogEvents."""

    def __init__(
        self, log_group: str, *, region: str | None = None, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        self.log_group = log_group
        self.stream = f"audit-{time.strftime('%Y/%m/%d')}-{_WRITER_ID}"
        self.client = client or _boto3_client("logs", region, endpoint_url)
        self._created = False

    def append(self, entry: AuditEntry) -> None:
        if not self.stream.endswith(_WRITER_ID):  # restored from a snapshot: this copy's own stream
            self.stream, self._created = f"{self.stream[: -len(_WRITER_ID)]}{_WRITER_ID}", False
        if not self._created:
            try:
                self.client.create_log_stream(logGroupName=self.log_group, logStreamName=self.stream)
            except self.client.exceptions.ResourceAlreadyExistsException:
                pass
            self._created = True
        self.client.put_log_events(
            logGroupName=self.log_group,
            logStreamName=self.stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": _encode(entry).decode("utf-8")}],
        )

    def entries(self, tenant: str | None = None) -> Iterator[AuditEntry]:
        paginator = self.client.get_paginator("filter_log_events")
        for page in paginator.paginate(logGroupName=self.log_group):
            for event in page.get("events", []):
                entry = _decode(event["message"])
                if tenant is None or entry.tenant == tenant:
                    yield entry


class KinesisAuditSink(AuditSink):
    """One record per entry on a Kinesis data stream (partition key: the tenant, so a tenant's
    entries keep their order). Reading back: `entries()` walks every shard from the horizon."""

    def __init__(
        self, stream: str, *, region: str | None = None, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        self.stream_name = stream
        self.client = client or _boto3_client("kinesis", region, endpoint_url)

    def append(self, entry: AuditEntry) -> None:
        self.client.put_record(StreamName=self.stream_name, Data=_encode(entry), PartitionKey=entry.tenant or "-")

    def entries(self, tenant: str | None = None) -> Iterator[AuditEntry]:
        shards = self.client.list_shards(StreamName=self.stream_name)["Shards"]
        for shard in shards:
            iterator = self.client.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                resp = self.client.get_records(ShardIterator=iterator, Limit=1000)
                for record in resp["Records"]:
                    entry = _decode(record["Data"])
                    if tenant is None or entry.tenant == tenant:
                        yield entry
                if not resp["Records"] or not resp.get("MillisBehindLatest"):
                    break
                iterator = resp.get("NextShardIterator")


def s3_entries(
    uri: str, *, tenant: str | None = None, region: str | None = None, endpoint_url: str | None = None
) -> Iterator[AuditEntry]:
    """Every entry in the objects under `s3://bucket/prefix` (where Firehose delivers a
    `FirehoseAuditSink`): newline-separated JSON, gzip-compressed objects included."""
    import gzip

    if not uri.startswith("s3://"):
        raise ValueError(f"expected s3://bucket/prefix, not {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    client = _boto3_client("s3", region, endpoint_url)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            for line in body.splitlines():
                if line.strip():
                    entry = _decode(line)
                    if tenant is None or entry.tenant == tenant:
                        yield entry


class FirehoseAuditSink(AuditSink):
    """One newline-terminated JSON record per entry into a Firehose delivery stream (to S3 with
    object lock, say). Verify by reading the delivered objects back (`verify_entries`)."""

    def __init__(
        self, delivery_stream: str, *, region: str | None = None, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        self.delivery_stream = delivery_stream
        self.client = client or _boto3_client("firehose", region, endpoint_url)

    def append(self, entry: AuditEntry) -> None:
        self.client.put_record(DeliveryStreamName=self.delivery_stream, Record={"Data": _encode(entry) + b"\n"})
