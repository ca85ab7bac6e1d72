"""Kafka records (Amazon MSK and self-managed): one handler call per record.

`body` is the record's base64-decoded `value` (JSON into a model, `str`, `bytes`); the record
gives `key` (decoded), `headers` (a dict of decoded values), `topic`, `partition`, `offset`,
`timestamp`. A failed record is reported in `batchItemFailures` as
`{"itemIdentifier": {"partition": "<topic>-<partition>", "offset": <offset>}}` (the mapping
needs `ReportBatchItemFailures`); the later records of its partition are failed unrun, so a
partition's order is kept.
"""

from __future__ import annotations

from typing import Any

from lift.batch import process_batch
from lift.sources.record import Record, base64_field

__all__ = ["KafkaRecord", "dispatch"]


def _number(value: Any) -> Any:
    """A partition or offset as the int Kafka gives; anything else (no AWS event has it) as it came, so
    the record still runs and, if it fails, is reported as given (Lambda then retries the batch)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return value


class KafkaRecord(Record):
    """One Kafka record: `topic`, `partition`, `offset`, `timestamp`, `timestamp_type`, `key`
    (bytes), `key_text`, `value` (bytes), `text`, `headers` ({name: bytes})."""

    kind = "kafka"

    @property
    def record_id(self) -> str:
        return f"{self.topic}-{self.partition}@{self.offset}"

    @property
    def topic(self) -> str:
        return self.raw.get("topic") or ""

    @property
    def partition(self) -> int:
        return _number(self.raw.get("partition"))

    @property
    def offset(self) -> int:
        return _number(self.raw.get("offset"))

    @property
    def timestamp(self) -> int | None:
        return self.raw.get("timestamp")

    @property
    def timestamp_type(self) -> str | None:
        return self.raw.get("timestampType")

    @property
    def key(self) -> bytes | None:
        key = self.raw.get("key")
        return None if key is None else base64_field(key, "key")

    @property
    def key_text(self) -> str | None:
        key = self.key
        return None if key is None else key.decode("utf-8", "replace")

    @property
    def value(self) -> bytes:
        return base64_field(self.raw.get("value") or "", "value")  # None: a tombstone

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", "replace")

    @property
    def headers(self) -> dict[str, bytes]:
        """Headers by name; Lambda sends each value as a list of byte values."""
        out: dict[str, bytes] = {}
        for header in self.raw.get("headers") or ():
            for name, value in header.items():
                out[name] = bytes(value) if isinstance(value, list) else str(value).encode()
        return out

    def json_text(self) -> bytes:
        return self.value


def _lane(record: Any) -> tuple[str, int]:
    return (record.topic, record.partition)


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures: list[dict[str, Any]] = []
    for raws in (event.get("records") or {}).values():
        if not raws:
            continue
        topic = raws[0].get("topic") or ""
        handler = next((h for h in handlers if h.match(topic)), None)
        if handler is None:
            raise app._unmatched_event("kafka", f"topic {topic!r}", context)
        records: list[Record] = [KafkaRecord(raw) for raw in raws]
        failed = set(process_batch(app, handler, records, event, context, "kafka", _lane))
        failures += [
            {"itemIdentifier": {"partition": f"{r.topic}-{r.partition}", "offset": r.offset}}
            for r in records
            if isinstance(r, KafkaRecord) and r.record_id in failed
        ]
    return {"batchItemFailures": failures}
