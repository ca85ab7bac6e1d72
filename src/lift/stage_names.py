"""Per-stage physical names of the resources `lift deploy` creates from the app's registrations.

Two stages of one app in one account must not share a queue, table, topic, stream, bucket or
schedule, so the stack names each `<name><suffix>` (`orders` -> `orders-prod`), fitted to AWS's
length limit of its kind (a `.fifo` suffix kept). The deployed function finds its own stage's
resources from `LIFT_RESOURCE_SUFFIX` (set by the stack; unset locally, where names are as
written): event handlers match either name, and stores use the stage's name of the tables the stack
created (`LIFT_STAGE_TABLES`, their names as the app writes them); any other table keeps its name.
"""

from __future__ import annotations

import os

__all__ = ["LIMITS", "SUFFIX_ENV", "TABLES_ENV", "StageTable", "fitted", "physical_name"]

SUFFIX_ENV = "LIFT_RESOURCE_SUFFIX"
TABLES_ENV = "LIFT_STAGE_TABLES"

# AWS's longest name per kind: SQS 80, SNS 256, DynamoDB 255, Kinesis 128, S3 63, Scheduler 64,
# S3 Object Lambda access points 45
LIMITS = {"queue": 80, "topic": 256, "table": 255, "stream": 128, "bucket": 63, "schedule": 64, "access_point": 45}


def fitted(name: str, limit: int, suffix: str, strip: str = "") -> str:
    """`name + suffix` in at most `limit` characters: a name too long is cut (and loses trailing
    `strip` characters) and keeps a hash of itself, so two long names that share a beginning stay
    distinct."""
    if len(name) + len(suffix) <= limit:
        return name + suffix
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - len(suffix) - 9].rstrip(strip)}-{digest}{suffix}"


def physical_name(name: str, kind: str, suffix: str | None = None) -> str:
    """The name the stage's stack gives the resource the app calls `name` (`kind`: a key of
    LIMITS). `suffix` defaults to `LIFT_RESOURCE_SUFFIX`, and then a table is the stage's only when
    the stack created it (listed in `LIFT_STAGE_TABLES`); without a suffix, or for a glob, it is `name`."""
    if suffix is None:
        suffix = os.environ.get(SUFFIX_ENV, "")
        if suffix and kind == "table" and name not in os.environ.get(TABLES_ENV, "").split(","):
            return name
    if not suffix or not name or any(c in name for c in "*?["):
        return name
    fifo = ".fifo" if kind in ("queue", "topic") and name.endswith(".fifo") else ""
    # (S3 refuses '.' or '-' next to the '-' before the hash)
    return fitted(name[: len(name) - len(fifo)], LIMITS[kind], suffix + fifo, ".-" if kind == "bucket" else "-")


class StageTable:
    """For a store on a DynamoDB table: `table` is the name the app writes, `table_name` the one its
    calls use (the stage's own when deployed), kept together when `table` is set."""

    table_name: str
    _table: str

    @property
    def table(self) -> str:
        """The table's name as the app writes it (what `lift deploy` creates it from)."""
        return self._table

    @table.setter
    def table(self, name: str) -> None:
        self._table = name
        self.table_name = physical_name(name, "table")
