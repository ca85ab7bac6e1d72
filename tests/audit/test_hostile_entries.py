"""lift.audit: what a caller controls (a path, a query value) or an app passes (ids that are not
strings) never keeps an entry from being written, nor makes the written chain unreadable."""

from __future__ import annotations

import os
import uuid

import msgspec

from lift import App
from lift.audit import AuditTrail, DynamoDBAuditSink, MemoryAuditSink, create_audit_table, verify_entries
from lift.audit.entry import AuditEntry
from lift.testing import TestClient
from lift.testing.events import apigw_http


def _read_back(sink: MemoryAuditSink) -> list[AuditEntry]:
    """The entries as a verifier reads them from a sink: JSON decoded into AuditEntry."""
    return [msgspec.json.decode(msgspec.json.encode(e), type=AuditEntry) for e in sink.entries()]


def test_a_probe_of_an_admin_path_holding_a_lone_surrogate_is_still_recorded() -> None:
    sink = MemoryAuditSink()
    app = App("payments")
    trail = AuditTrail(sink, app=app, config_changes=False, fail_closed=True)
    app.use(trail.middleware(admin=["/admin"]))

    @app.get("/search")
    def search(ctx) -> dict:
        q = ctx.query.get("q", "")
        ctx.audit("search", target=f"query:{q}", details={"q": q, q: 1})
        return {"ok": True}

    probe = apigw_http("GET", "/admin/users/x")
    probe["rawPath"] = probe["requestContext"]["http"]["path"] = "/admin/users/\ud800x"  # as json.loads makes it
    assert app.handler(probe, None)["statusCode"] == 400  # refused as a client error, and audited
    assert TestClient(app).get("/search", query={"q": "caf\udce9"}).status_code == 200
    entries = sorted(_read_back(sink), key=lambda e: e.seq)
    assert [e.action for e in entries] == ["admin.request", "search"]
    assert entries[0].target == "GET /admin/users/\\ud800x" and entries[0].outcome == "failure"
    assert entries[1].target == "query:caf\\udce9" and entries[1].details == {"q": "caf\\udce9", "caf\\udce9": 1}
    assert verify_entries(entries) == (2, [])


def test_ids_that_are_not_strings_are_recorded_as_strings_and_the_chain_reads_back() -> None:
    sink = MemoryAuditSink()
    trail = AuditTrail(sink, config_changes=False, fail_closed=True)
    trail.record("login.failed", tenant=42, principal=1001, target=7, outcome="failure")
    trail.record("login.ok", tenant=42, principal=1001)
    entries = _read_back(sink)
    assert {(e.tenant, e.principal) for e in entries} == {("42", "1001")}
    assert verify_entries(entries) == (2, [])


def test_a_card_number_used_as_a_key_of_the_details_is_masked() -> None:
    sink = MemoryAuditSink()
    trail = AuditTrail(sink, config_changes=False, fail_closed=True)
    entry = trail.record(
        "refunds.batch", details={"4111111111111111": "refunded", "by_card": {"5500 0000 0000 0004": 2}}
    )
    assert entry is not None
    assert entry.details == {"411111******1111": "refunded", "by_card": {"550000******0004": 2}}
    assert verify_entries(_read_back(sink)) == (1, [])


def test_huge_details_and_target_are_cut_so_the_entry_is_still_written(dynamodb_endpoint) -> None:
    """A caller's huge value in the details (a 500 KB body) made DynamoDB refuse the item (400 KB at
    most): the entry was lost, the action unaudited, with only an ERROR line (or a failed request)."""
    table = f"audit-{uuid.uuid4().hex[:8]}"
    create_audit_table(table, endpoint_url=dynamodb_endpoint, region=os.environ["AWS_DEFAULT_REGION"])
    sink = DynamoDBAuditSink(table, endpoint_url=dynamodb_endpoint, region=os.environ["AWS_DEFAULT_REGION"])
    trail = AuditTrail(sink, config_changes=False, fail_closed=True)
    trail.record("upload.rejected", tenant="acme", target="f" * 5000, details={"body": "x" * 500_000, "size": 7})
    trail.record("batch.imported", tenant="acme", details={"ids": list(range(100_000))})
    trail.record("small", tenant="acme", details={"body": "y" * 900})
    first, second, third = sorted(sink.entries(), key=lambda e: e.seq)
    assert first.details == {"body": "x" * 1024 + "...[500000 characters]", "size": 7}
    assert first.target == "f" * 1024 + "...[5000 characters]"
    assert second.details == {"truncated": True, "bytes": len(msgspec.json.encode({"ids": list(range(100_000))}))}
    assert third.details == {"body": "y" * 900}  # small details are kept as they are
    assert verify_entries([first, second, third]) == (3, [])
