"""Audit trail: `ctx.audit("refund.issued", target=..., details=...)`, automatic entries for
authentication failures, authorization denials, admin routes and configuration changes, written
hash-chained per tenant to an append-only sink. `lift audit verify` checks the chains."""

from lift.audit.entry import AuditEntry, ChainProblem, entry_hash, verify_entries
from lift.audit.sinks import (
    AuditSink,
    CloudWatchLogsAuditSink,
    DynamoDBAuditSink,
    FirehoseAuditSink,
    KinesisAuditSink,
    MemoryAuditSink,
    create_audit_table,
)
from lift.audit.trail import AuditTrail, trail_for, trails_for

__all__ = [
    "AuditEntry",
    "AuditSink",
    "AuditTrail",
    "ChainProblem",
    "CloudWatchLogsAuditSink",
    "DynamoDBAuditSink",
    "FirehoseAuditSink",
    "KinesisAuditSink",
    "MemoryAuditSink",
    "create_audit_table",
    "entry_hash",
    "trail_for",
    "trails_for",
    "verify_entries",
]
