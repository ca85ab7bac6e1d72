"""Writers that share a stream sink write distinct, verifiable chains: processes forked from one
initialised app (gunicorn/uvicorn workers forked after preloading it, multiprocessing), and trails
of one process (one made per invocation, two in one app). CloudWatch Logs and Kinesis on moto."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import boto3

from lift import App
from lift.audit import AuditTrail, CloudWatchLogsAuditSink, KinesisAuditSink, verify_entries
from lift.testing import TestClient


def test_forked_processes_write_their_own_verifiable_chains(moto_endpoint) -> None:
    """A forked child kept its parent's writer id: both wrote seq 1, 2, 3 of the same chain, and
    `lift audit verify` reported the trail as tampered (the same seq twice, prev_hash mismatches)."""
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    group = f"/audit/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    script = textwrap.dedent(
        """
        import os, sys
        from lift import App
        from lift.audit import AuditTrail, CloudWatchLogsAuditSink

        app = App(name="payments")  # initialised once, then forked into workers
        endpoint, group = sys.argv[1], sys.argv[2]

        def work(name):
            trail = AuditTrail(CloudWatchLogsAuditSink(group, endpoint_url=endpoint), config_changes=False, fail_closed=True)
            for i in range(3):
                trail.record("refund.issued", tenant="acme", principal=name, target=f"refund:{i}")

        pid = os.fork()
        if pid == 0:
            work("child")
            os._exit(0)
        work("parent")
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script, moto_endpoint, group], capture_output=True, text=True, timeout=120, check=True
    )
    entries = list(CloudWatchLogsAuditSink(group, client=logs).entries())
    assert sorted(e.principal for e in entries) == ["child"] * 3 + ["parent"] * 3
    chains: dict[str, set[str]] = {}
    for entry in entries:
        chains.setdefault(entry.chain, set()).add(entry.principal)
    assert sorted(map(sorted, chains.values())) == [["child"], ["parent"]]
    count, problems = verify_entries(entries)
    assert (count, [str(p) for p in problems]) == (6, [])


def test_trails_made_per_invocation_on_one_stream_write_verifiable_chains(moto_endpoint) -> None:
    """Each trail kept the head of the process's one chain in its own memory: a trail made per
    invocation (or a second trail on the same stream) wrote seq 1 again, and verify reported
    every later entry as 'another entry with the same seq'."""
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint)
    stream = f"audit-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    sink = KinesisAuditSink(stream, client=kinesis)
    app = App("payments")

    @app.post("/refunds/{rid}")
    def refund(ctx, rid: str) -> dict:
        trail = AuditTrail(sink, config_changes=False, fail_closed=True)  # one per invocation
        trail.record("refund.requested", ctx=ctx, tenant="acme", target=f"refund:{rid}")
        trail.record("refund.issued", ctx=ctx, tenant="acme", target=f"refund:{rid}")
        return {"ok": True}

    client = TestClient(app)
    for rid in ("r1", "r2", "r3"):
        assert client.post(f"/refunds/{rid}").status_code == 200
    entries = list(sink.entries())
    assert sorted(e.target for e in entries) == ["refund:r1"] * 2 + ["refund:r2"] * 2 + ["refund:r3"] * 2
    count, problems = verify_entries(entries)
    assert (count, [str(p) for p in problems]) == (6, [])
