"""lift.audit: bytes in an entry's details are masked like text; an app with two trails writes
`ctx.audit` entries to both; a trail nobody holds any more stops recording configuration changes."""

from __future__ import annotations

import base64
import gc

import msgspec

from lift import App
from lift.audit import AuditTrail, MemoryAuditSink, entry_hash, verify_entries
from lift.audit.entry import AuditEntry
from lift.config import Env, Settings
from lift.testing import TestClient

VISA = "4111111111111111"


def _read_back(sink: MemoryAuditSink) -> list[AuditEntry]:
    return [msgspec.json.decode(msgspec.json.encode(e), type=AuditEntry) for e in sink.entries()]


def test_card_numbers_in_bytes_are_masked_in_details() -> None:
    """Bytes were written in base64 before masking: the card number was stored, merely encoded."""
    sink = MemoryAuditSink()
    trail = AuditTrail(sink, config_changes=False, fail_closed=True)
    entry = trail.record(
        "card.tokenized",
        tenant="acme",
        details={
            "card": VISA.encode(),
            "cards": [bytearray(b"5500 0000 0000 0004")],
            "view": memoryview(VISA.encode()),
            "by_set": {VISA},
            "png": b"\x89PNG\r\n",
            "password": b"hunter2",
        },
    )
    assert entry is not None
    assert entry.details == {
        "card": "411111******1111",
        "cards": ["550000******0004"],
        "view": "411111******1111",
        "by_set": ["411111******1111"],
        "png": base64.b64encode(b"\x89PNG\r\n").decode(),  # other bytes in base64, as JSON writes them
        "password": "***",
    }
    stored = msgspec.json.encode(entry).decode()
    assert VISA not in stored and base64.b64encode(VISA.encode()).decode() not in stored
    assert verify_entries(_read_back(sink)) == (1, [])


def test_an_app_with_two_trails_writes_ctx_audit_to_both() -> None:
    """The second AuditTrail(app=app) replaced the first: its sink silently stopped getting entries."""
    primary, mirror = MemoryAuditSink(), MemoryAuditSink()
    app = App("payments")
    AuditTrail(primary, app=app, config_changes=False, fail_closed=True)
    AuditTrail(mirror, app=app, config_changes=False, fail_closed=True)

    @app.post("/refunds/{rid}")
    def refund(ctx, rid: str) -> dict:
        entry = ctx.audit("refund.issued", target=f"refund:{rid}")
        return {"seq": entry.seq}

    client = TestClient(app)
    assert client.post("/refunds/r1").json() == {"seq": 1}
    assert client.post("/refunds/r2").json() == {"seq": 2}
    for sink in (primary, mirror):
        entries = _read_back(sink)
        assert [(e.action, e.target, e.seq) for e in sorted(entries, key=lambda e: e.seq)] == [
            ("refund.issued", "refund:r1", 1),
            ("refund.issued", "refund:r2", 2),
        ]
        assert verify_entries(entries) == (2, [])


def test_the_trail_of_an_app_that_is_gone_stops_recording_config_changes(monkeypatch) -> None:
    """Every AuditTrail ever made stayed referenced by the config-change hook and kept writing each
    later change into its sink (a finished test's app, a reloaded module's) for the process's life."""
    monkeypatch.setenv("LIFT_TEST_AUDIT_LIMIT", "1")

    class Limits(msgspec.Struct):
        limit: int = Env("LIFT_TEST_AUDIT_LIMIT")

    settings = Settings(Limits, ttl=None)
    settings.get()
    kept_sink, app_sink, dropped_sink = MemoryAuditSink(), MemoryAuditSink(), MemoryAuditSink()
    AuditTrail(kept_sink)  # free-standing: records every change for good, as documented
    app = App("live")
    AuditTrail(app_sink, app=app)
    AuditTrail(dropped_sink, app=App("gone"))  # its app is not held by anyone
    gc.collect()
    monkeypatch.setenv("LIFT_TEST_AUDIT_LIMIT", "2")
    settings.refresh()
    for sink in (kept_sink, app_sink):
        assert [(e.action, e.details) for e in sink.entries()] == [("config.changed", {"fields": ["limit"]})]
    assert list(dropped_sink.entries()) == []
    assert app.name == "live"


def _chain(n: int) -> list[AuditEntry]:
    sink = MemoryAuditSink()
    trail = AuditTrail(sink, config_changes=False, fail_closed=True)
    for i in range(n):
        trail.record(f"step.{i}", tenant="acme", principal="alice", details={"i": i}, target=f"order:{i}")
    return _read_back(sink)


def test_verify_reads_a_delivered_twice_entry_as_one_and_finds_a_second_entry_under_a_used_seq() -> None:
    """A duplicate (a retried Kinesis put, Firehose delivering twice) was reported as
    'entries 4-2 duplicated before it': a tampering alarm for nothing, with a meaningless range."""
    entries = _chain(3)
    assert verify_entries([*entries, entries[2], entries[0]]) == (3, [])
    forged = msgspec.structs.replace(entries[1], id="forged", action="refund.issued")
    forged.hash = entry_hash(forged)  # re-hashed: only its seq, already used, gives it away
    count, problems = verify_entries([*entries, forged])
    assert [(p.seq, p.problem) for p in problems] == [(2, "another entry with the same seq")]


def test_verify_finds_a_change_to_any_field_anywhere_in_the_chain() -> None:
    entries = _chain(3)
    changes = {
        "tenant": "globex",  # moved to another chain (where it starts at seq 2, or 3)
        "id": "other",
        "at": "2020-01-01T00:00:00.000Z",
        "action": "x",
        "outcome": "denied",
        "principal": "mallory",
        "source_ip": "10.0.0.1",
        "auth_method": "jwt",
        "target": "order:9",
        "details": {"i": 9},
        "request_id": "r",
        "route": "/x",
        "source": "sqs",
        "admin": True,
        "prev_hash": "f" * 64,
    }
    for position in (0, 1, 2):  # the first, one in the middle, the last
        for name, value in changes.items():
            changed = msgspec.structs.replace(entries[position], **{name: value})
            chain = entries[:position] + [changed] + entries[position + 1 :]
            assert verify_entries(chain)[1], (position, name)
    for removed in (0, 1):
        assert verify_entries(entries[:removed] + entries[removed + 1 :])[1]
    swapped = [msgspec.structs.replace(entries[1], seq=1), msgspec.structs.replace(entries[0], seq=2), entries[2]]
    assert verify_entries(swapped)[1]


def test_secret_query_parameters_in_a_target_are_masked() -> None:
    """A URL as the target (`ctx.audit("login", target=url)`) wrote its token into the trail."""
    sink = MemoryAuditSink()
    trail = AuditTrail(sink, config_changes=False, fail_closed=True)
    entry = trail.record(
        "link.opened", tenant="acme", target="https://app.example.com/reset?token=tok-sekrit&page=2&api_key=k-sekrit"
    )
    assert entry is not None
    assert entry.target == "https://app.example.com/reset?token=***&page=2&api_key=***"
    assert verify_entries(_read_back(sink)) == (1, [])
