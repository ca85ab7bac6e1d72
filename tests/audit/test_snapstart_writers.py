"""lift.audit with SnapStart: environments restored from one snapshot write distinct chains, so the
trail they share on a stream sink (Kinesis and CloudWatch Logs on the moto server) still verifies."""

from __future__ import annotations

import uuid

import boto3
import pytest

from lift import App
from lift.audit import AuditTrail, CloudWatchLogsAuditSink, KinesisAuditSink, verify_entries
from lift.audit import sinks as audit_sinks
from lift.snapstart import after_restore


def _restore_two_copies(app: App, trail: AuditTrail, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Lambda does: two environments restored from the snapshot taken after init, each running the
    after-restore hook, then serving a request that writes an audit entry."""
    snapshot = audit_sinks._WRITER_ID  # the id the snapshot's memory holds
    for copy in ("copy-1", "copy-2"):
        monkeypatch.setattr(audit_sinks, "_WRITER_ID", snapshot)  # this copy starts from the snapshot
        monkeypatch.setattr(trail, "_heads", {})
        after_restore(app)
        trail.record("refund.issued", tenant="acme", principal=copy)


def test_environments_restored_from_one_snapshot_write_distinct_verifiable_chains(moto_endpoint, monkeypatch) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint)
    stream = f"audit-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    app = App("payments")
    sink = KinesisAuditSink(stream, client=kinesis)
    trail = AuditTrail(sink, app=app, config_changes=False, fail_closed=True)
    _restore_two_copies(app, trail, monkeypatch)
    entries = list(sink.entries())
    assert sorted(e.principal for e in entries) == ["copy-1", "copy-2"]
    assert len({e.chain for e in entries}) == 2
    assert verify_entries(entries) == (2, [])


def test_each_restored_environment_writes_its_own_cloudwatch_logs_stream(moto_endpoint, monkeypatch) -> None:
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    group = f"/audit/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    app = App("payments")
    sink = CloudWatchLogsAuditSink(group, client=logs)
    trail = AuditTrail(sink, app=app, config_changes=False, fail_closed=True)
    _restore_two_copies(app, trail, monkeypatch)
    assert len(logs.describe_log_streams(logGroupName=group)["logStreams"]) == 2
    assert verify_entries(sink.entries()) == (2, [])
