"""Firehose data transformation: one handler call per record, `records[]` answered in order.

`body` is the record's decoded data (JSON into a model, `str` or `bytes` by hint). The
return value is the transformed record (`Ok`): bytes and str are sent as they are, anything
else as JSON. `None` keeps the data unchanged, `Dropped` drops the record, and a handler
that raises marks the record `ProcessingFailed` (Firehose sends it to the error output);
the other records are not affected. Return `FirehoseResult(data, partition_keys=...)` to set
dynamic-partitioning keys.
"""

from __future__ import annotations

import base64
from typing import Any

from lift import serialization
from lift.batch import RecordResult, is_refusal, log_record_failure, log_refusal
from lift.context import Response
from lift.sources.record import Record, base64_field, name_from_arn

__all__ = ["Dropped", "FirehoseRecord", "FirehoseResult", "dispatch", "encode_data"]


class _DroppedType:
    def __repr__(self) -> str:
        return "Dropped"


Dropped: Any = _DroppedType()  # return it to drop a record (result "Dropped")


class FirehoseResult:
    """A transformed record with dynamic-partitioning keys (`metadata.partitionKeys`)."""

    def __init__(self, data: Any, partition_keys: dict[str, str] | None = None) -> None:
        self.data = data
        self.partition_keys = partition_keys


class FirehoseRecord(Record):
    """One record: `record_id`, `data` (bytes), `text`, `approximate_arrival_timestamp`, `stream`,
    `kinesis_metadata` (when the delivery stream reads a Kinesis stream), `msk_metadata` (when it reads
    an Amazon MSK topic)."""

    kind = "firehose"
    stream_arn: str = ""

    @property
    def record_id(self) -> str | None:
        return self.raw.get("recordId")

    @property
    def data_field(self) -> str:
        """Where the record's payload is, and where its answer must put it: `data`, or `kafkaRecordValue` for
        a delivery stream reading an Amazon MSK topic (Firehose refuses an MSK answer without it)."""
        raw = self.raw
        return "kafkaRecordValue" if "data" not in raw and "kafkaRecordValue" in raw else "data"

    @property
    def data(self) -> bytes:
        field = self.data_field
        return base64_field(self.raw.get(field) or "", field)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def approximate_arrival_timestamp(self) -> int | None:
        return self.raw.get("approximateArrivalTimestamp")

    @property
    def stream(self) -> str:
        return name_from_arn(self.stream_arn)

    @property
    def kinesis_metadata(self) -> dict[str, Any] | None:
        return self.raw.get("kinesisRecordMetadata")

    @property
    def msk_metadata(self) -> dict[str, Any] | None:
        return self.raw.get("mskRecordMetadata")

    def json_text(self) -> bytes:
        return self.data


def encode_data(value: Any) -> str:
    """A transformed value as Firehose's base64 `data`."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
    else:
        raw = serialization.encode_json(value)
    return base64.b64encode(raw).decode("ascii")


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    arn = event.get("deliveryStreamArn") or ""
    stream = name_from_arn(arn)
    handler = next((h for h in handlers if h.match(stream)), None)
    if handler is None:
        raise app._unmatched_event("firehose", f"delivery stream {stream!r}", context)
    answers = []
    for raw in event.get("records") or ():
        record = FirehoseRecord(raw, stream_arn=arn)
        answers.append(_transform(app, handler, event, context, record))
    return {"records": answers}


def _transform(app: Any, handler: Any, event: Any, context: Any, record: FirehoseRecord) -> dict[str, Any]:
    ctx = app.new_context(event, context, "firehose")
    ctx.record = record
    field = record.data_field
    original = record.raw.get(field)
    if original.__class__ is not str:  # (never sent by Firehose) the answer's data must be base64 text
        original = ""
    failed = {"recordId": record.record_id, "result": "ProcessingFailed", field: original}
    try:
        result = handler.chain(ctx)
    except Exception as exc:
        log_record_failure(ctx, record, exc)
        return failed
    if is_refusal(result):
        log_refusal(ctx, record, result.status)
        return failed
    value = result.value if isinstance(result, RecordResult) else result
    try:
        return _answer(record, value, field, original)
    except Exception as exc:  # a value that does not encode: this record alone fails
        log_record_failure(ctx, record, exc)
        return failed


def _answer(record: FirehoseRecord, value: Any, field: str, original: str) -> dict[str, Any]:
    if value is Dropped:
        return {"recordId": record.record_id, "result": "Dropped", field: original}
    if value is None:
        return {"recordId": record.record_id, "result": "Ok", field: original}
    keys = None
    if isinstance(value, FirehoseResult):
        value, keys = value.data, value.partition_keys
    if isinstance(value, Response):
        value = value.body
    answer: dict[str, Any] = {"recordId": record.record_id, "result": "Ok", field: encode_data(value)}
    if keys:
        answer["metadata"] = {"partitionKeys": dict(keys)}
    return answer
