"""An audit entry and its hash chain: each entry's hash covers its content and the previous hash.

Entries are chained per (tenant, chain): `seq` counts from 1 without gaps and `prev_hash` is
the hash of entry `seq - 1` (64 zeros for the first). Changing an entry changes its hash;
removing one leaves a gap in `seq` and a `prev_hash` that matches nothing. A verifier needs
only the entries themselves (`verify_entries`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec

__all__ = ["AuditEntry", "GENESIS", "entry_hash", "verify_entries", "ChainProblem"]

GENESIS = "0" * 64


class AuditEntry(msgspec.Struct, kw_only=True, omit_defaults=False):
    """Who did what, when, to what, with which outcome, in which request."""

    tenant: str
    chain: str
    seq: int
    id: str
    at: str  # ISO 8601 UTC, milliseconds
    action: str
    outcome: str  # success | failure | denied
    principal: str | None = None
    source_ip: str | None = None
    auth_method: str | None = None
    target: str | None = None
    details: dict[str, Any] | None = None
    request_id: str | None = None
    route: str | None = None
    source: str | None = None
    admin: bool = False
    prev_hash: str = GENESIS
    hash: str = ""

    def content(self) -> dict[str, Any]:
        """Everything the hash covers (all fields but `hash`)."""
        data = msgspec.to_builtins(self)
        data.pop("hash", None)
        return data


_encoder = msgspec.json.Encoder(order="sorted")


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the entry's canonical JSON (sorted keys), which includes `prev_hash`."""
    return hashlib.sha256(_encoder.encode(entry.content())).hexdigest()


class ChainProblem(msgspec.Struct):
    tenant: str
    chain: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"tenant {self.tenant!r} chain {self.chain!r} entry {self.seq}: {self.problem}"


def verify_entries(entries: Iterable[AuditEntry]) -> tuple[int, list[ChainProblem]]:
    """Check every chain: (entries checked, problems). An empty list of problems means intact."""
    chains: dict[tuple[str, str], list[AuditEntry]] = {}
    count = 0
    for entry in entries:
        chains.setdefault((entry.tenant, entry.chain), []).append(entry)
        count += 1
    problems: list[ChainProblem] = []
    for (tenant, chain), items in sorted(chains.items()):
        items.sort(key=lambda e: e.seq)
        expected_seq, prev, last = 1, GENESIS, None
        for entry in items:
            if entry.seq < expected_seq:
                # The same entry delivered twice (a retried Kinesis put, Firehose's at-least-once
                # delivery) changes nothing; another entry under a number already used is a forgery.
                if (
                    last is not None
                    and (entry.id, entry.hash) == (last.id, last.hash)
                    and entry_hash(entry) == entry.hash
                ):
                    count -= 1
                    continue
                problem = "another entry with the same seq" if last is not None else "seq below 1"
                problems.append(ChainProblem(tenant, chain, entry.seq, problem))
                continue
            if entry.seq > expected_seq:
                missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}-{entry.seq - 1}"
                problems.append(ChainProblem(tenant, chain, entry.seq, f"entries {missing} removed before it"))
            elif entry.prev_hash != prev:
                problems.append(ChainProblem(tenant, chain, entry.seq, "prev_hash does not match the entry before it"))
            if entry_hash(entry) != entry.hash:
                problems.append(ChainProblem(tenant, chain, entry.seq, "content changed (hash mismatch)"))
            expected_seq, prev, last = entry.seq + 1, entry.hash, entry
    return count, problems
