"""Kinesis data streams: records with base64 `data` decoded, and their shard for checkpointing."""

from __future__ import annotations

from typing import Any

from lift.sources.record import Record, base64_field, decode_json_or_text, malformed_record, name_from_arn

__all__ = ["KinesisRecord"]


class KinesisRecord(Record):
    """One Kinesis record: partition_key, sequence_number, data (bytes), arrival time, shard."""

    _data: bytes | None = None

    kind = "kinesis"

    @property
    def record_id(self) -> str:
        return self.raw["kinesis"]["sequenceNumber"]

    @property
    def sequence_number(self) -> str:
        return self.raw["kinesis"]["sequenceNumber"]

    @property
    def event_id(self) -> str | None:
        return self.raw.get("eventID")

    @property
    def partition_key(self) -> str:
        return self.raw["kinesis"].get("partitionKey") or ""

    @property
    def shard_id(self) -> str:
        """`shardId-000000000006` from the eventID `shardId-000000000006:4959...`."""
        return (self.raw.get("eventID") or "").partition(":")[0]

    @property
    def approximate_arrival_timestamp(self) -> float | None:
        return self.raw["kinesis"].get("approximateArrivalTimestamp")

    @property
    def arrival_time(self) -> Any:
        """The approximate arrival time as an aware UTC `datetime`."""
        from datetime import UTC, datetime

        ts = self.approximate_arrival_timestamp
        return datetime.fromtimestamp(ts, UTC) if ts is not None else None

    @property
    def stream_arn(self) -> str:
        return self.raw.get("eventSourceARN") or ""

    @property
    def stream(self) -> str:
        return name_from_arn(self.stream_arn)

    @property
    def data(self) -> bytes:
        if self._data is None:
            kinesis = self.raw.get("kinesis")
            if kinesis.__class__ is not dict:  # (never sent by AWS: another service's record in the batch)
                raise malformed_record("kinesis", "an object", kinesis)
            self._data = base64_field(kinesis.get("data"), "data")
        return self._data

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def json_text(self) -> bytes:
        return self.data

    def payload(self) -> Any:
        return decode_json_or_text(self.data)
