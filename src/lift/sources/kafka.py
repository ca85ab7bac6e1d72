"""Kafka records (Amazon MSK and self-managed): one handler call per record.

`body` is the record's base64-decoded `value` (JSON into a model, `str`, `bytes`); the record
gives `key` (decoded), `headers` (a dict of decoded values), `topic`, `partition`, `offset`,
`timestamp`. A failed record is reported in `batchItemFailures` as
`{"itemIdentifier": {"topic-partition": "<topic>-<partition>", "offset": <offset>}}`, the form Lambda's
Kafka mappings take with `ReportBatchItemFailures` (provisioned mode only); the later records of its
partition are failed unrun, so a partition's order is kept.
"""

from __future__ import annotations

from typing import Any

from lift.batch import log_record_failure, process_batch, skip_record
from lift.context import Context
from lift.errors import RecordsFailed
from lift.sources.record import Record, base64_field, malformed_record

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
    (bytes), `key_text`, `value` (bytes), `is_tombstone`, `text`, `headers` ({name: bytes}),
    `header_list` ([(name, bytes)])."""

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
        return base64_field(self.raw.get("value") or "", "value")  # b"" for a tombstone

    @property
    def is_tombstone(self) -> bool:
        """True for a record without a value (null or absent: a deletion marker on a compacted topic)."""
        return self.raw.get("value") is None

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", "replace")

    @property
    def headers(self) -> dict[str, bytes | None]:
        """Headers by name (the last one of a repeated name; `header_list` has them all)."""
        return dict(self.header_list)

    @property
    def header_list(self) -> list[tuple[str, bytes | None]]:
        """Every header as (name, value) in order, a name repeated as Kafka allows. Lambda sends each value as
        a list of byte values, signed as Java's bytes are (-61 for 0xC3); None for a null value."""
        out: list[tuple[str, bytes | None]] = []
        for header in self.raw.get("headers") or ():
            if header.__class__ is not dict:
                raise malformed_record("headers", "a list of objects", header)
            for name, value in header.items():
                out.append((name, _header_bytes(name, value)))
        return out

    def json_text(self) -> bytes | None:
        """The value, or None for a tombstone: an untyped `body` is None, `body: Model | None` gets None."""
        return None if self.raw.get("value") is None else self.value


def _header_bytes(name: str, value: Any) -> bytes | None:
    """A header value as Lambda sends it (a list of byte values, signed or not) as bytes; text as UTF-8."""
    if value is None or value.__class__ is bytes:
        return value
    if value.__class__ is str:
        return value.encode("utf-8")
    if value.__class__ is list:
        try:
            return bytes(value)
        except (TypeError, ValueError):  # Java's signed bytes: -61 is 0xC3 (anything else: malformed)
            if all(b.__class__ is int and -128 <= b <= 255 for b in value):
                return bytes(b & 0xFF for b in value)
    problem = "it holds a value outside -128..255" if value.__class__ is list else None
    raise malformed_record(f"headers[{name!r}]", "a list of byte values", value, problem)


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run every partition's records in order with the handler of its topic; the answer names each failed
    record as Lambda's Kafka mappings take it: `{"topic-partition": "<topic>-<partition>", "offset": n}`.

    A partition of a topic nobody handles fails whole (logged once) while the others run; a batch nobody
    handles is an error raised before anything runs. A record that is not an object fails alone, named
    by the offset after its predecessor's, and holds back the rest of its partition, as a failure does."""
    partitions = []
    for key, raws in event["records"].items():
        if raws.__class__ is not list:
            # nothing in it can be named: the event is malformed (a 400 `malformed_event`, the batch retried)
            raise TypeError(f"records[{key!r}] is {type(raws).__name__}, not a list")
        if raws:
            topic = _topic_of(key, raws)
            partitions.append((key, topic, next((h for h in handlers if h.match(topic)), None), raws))
    if partitions and all(handler is None for _, _, handler, _ in partitions):
        raise app._unmatched_event("kafka", f"topic {partitions[0][1]!r}", context)
    failures: list[dict[str, Any]] = []
    unanswerable: list[str] = []  # the failed records of handlers registered with partial_failures=False
    for key, topic, handler, raws in partitions:
        if handler is None:
            app._unmatched_event("kafka", f"topic {topic!r} ({key}): its {len(raws)} record(s) fail", context)
            failures += (_identifier(key, raws, i) for i in range(len(raws)))
            continue
        records: list[Record] = []
        for raw in raws:
            if raw.__class__ is not dict:
                break
            records.append(KafkaRecord(raw))
        # one lane: after a failure the partition's later records fail unrun, so the failed ones are its last
        failed = len(process_batch(app, handler, records, event, context, "kafka", _one_lane))
        first_failed = len(records) - failed if failed else len(records)
        if len(records) < len(raws):  # a record that is not an object: it and the records after it fail
            index = len(records)
            ctx = Context(app, event, context, "kafka")
            bad = malformed_record(f"records[{key!r}][{index}]", "an object", raws[index])
            log_record_failure(ctx, None, bad, _named(key, _identifier(key, raws, index)["itemIdentifier"]))
            for raw in raws[index + 1 :]:
                if raw.__class__ is dict:
                    skip_record("kafka", KafkaRecord(raw), key, context)
            if not failed:
                first_failed = index
        named = [_identifier(key, raws, i) for i in range(first_failed, len(raws))]
        named = list({repr(item): item for item in named}.values())  # each named once, in order
        failures += named
        if named and handler.options.get("partial_failures") is False:
            unanswerable += (_named(key, item["itemIdentifier"]) for item in named)
    if unanswerable:  # a mapping without ReportBatchItemFailures would drop them: Lambda retries the batch
        total = sum(len(raws) for _, _, _, raws in partitions)
        raise RecordsFailed(
            "kafka", total, [(name, RuntimeError(f"kafka record {name} failed (logged)")) for name in unanswerable]
        )
    return {"batchItemFailures": failures}


def _named(key: Any, identifier: Any) -> str:
    """A failed record's name in logs: `<topic>-<partition>@<offset>` (the partition alone when unknown)."""
    return f"{key}@{identifier['offset']}" if identifier else str(key)


def _one_lane(record: Any) -> int:
    """The lane of every record of one partition's run (each partition is run on its own)."""
    return 0


def _topic_of(key: Any, raws: list[Any]) -> str:
    """The topic of a partition's records: the first record's, or the event's `<topic>-<partition>` key's."""
    first = raws[0]
    topic = first.get("topic") if first.__class__ is dict else None
    if topic.__class__ is str and topic:
        return topic
    return key.rpartition("-")[0] if key.__class__ is str else ""


def _identifier(key: Any, raws: list[Any], index: int) -> dict[str, Any]:
    """How Lambda knows record `index` of partition `key`: the key and the record's offset. A record that
    is not an object is named by the offset after its predecessor's (so the retry starts at or before it),
    or, first in its partition, the one before its successor's; with neither, "" (the batch is retried)."""
    raw = raws[index]
    if raw.__class__ is dict:
        return {"itemIdentifier": {"topic-partition": key, "offset": _number(raw.get("offset"))}}
    before = raws[index - 1].get("offset") if index and raws[index - 1].__class__ is dict else None
    if before.__class__ is int:
        return {"itemIdentifier": {"topic-partition": key, "offset": before + 1}}
    after = raws[index + 1].get("offset") if index + 1 < len(raws) and raws[index + 1].__class__ is dict else None
    if after.__class__ is int and after > 0:
        return {"itemIdentifier": {"topic-partition": key, "offset": after - 1}}
    return {"itemIdentifier": ""}
