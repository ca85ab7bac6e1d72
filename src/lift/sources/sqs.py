"""SQS: the message record, envelope unwrapping (SNS and EventBridge inside a body), batch response."""

from __future__ import annotations

import base64
from typing import Any

from lift import serialization
from lift.sources import eventbridge, sns
from lift.sources.record import Record, decode_json_or_text, name_from_arn

__all__ = ["ENVELOPES", "SQSRecord", "encode_batch_response", "unwrap"]

ENVELOPES = ("auto", "sns", "eventbridge", None)


class SQSRecord(Record):
    """One SQS message. When its body carries an SNS notification or an EventBridge event,
    `inner` is that unwrapped record (an `SNSRecord` or `EventBridgeEvent`) and the typed body
    comes from it."""

    __slots__ = ("inner",)

    source = "sqs"

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.inner: Record | None = None

    @property
    def record_id(self) -> str:
        return self.raw["messageId"]

    @property
    def message_id(self) -> str:
        return self.raw["messageId"]

    @property
    def body(self) -> str:
        return self.raw.get("body") or ""

    @property
    def text(self) -> str:
        return self.body

    @property
    def receipt_handle(self) -> str | None:
        return self.raw.get("receiptHandle")

    @property
    def attributes(self) -> dict[str, str]:
        return self.raw.get("attributes") or {}

    @property
    def message_attributes(self) -> dict[str, Any]:
        """As AWS sends them: `{name: {"stringValue": ..., "dataType": ...}}`."""
        return self.raw.get("messageAttributes") or {}

    def attribute(self, name: str, default: Any = None) -> Any:
        """One message attribute's value (bytes for `Binary`)."""
        attr = self.message_attributes.get(name)
        if attr is None:
            return default
        if attr.get("binaryValue") is not None:
            return base64.b64decode(attr["binaryValue"])
        return attr.get("stringValue")

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", 1))

    @property
    def group_id(self) -> str | None:
        """The FIFO message group (None on standard queues)."""
        return self.attributes.get("MessageGroupId")

    @property
    def deduplication_id(self) -> str | None:
        return self.attributes.get("MessageDeduplicationId")

    @property
    def sent_timestamp(self) -> int | None:
        value = self.attributes.get("SentTimestamp")
        return int(value) if value else None

    @property
    def queue_arn(self) -> str:
        return self.raw.get("eventSourceARN") or ""

    @property
    def queue(self) -> str:
        return name_from_arn(self.queue_arn)

    @property
    def region(self) -> str | None:
        return self.raw.get("awsRegion")

    def json_text(self) -> str | None:
        inner = self.inner
        if inner is None:
            return self.raw.get("body") or ""
        return inner.json_text()

    def payload(self) -> Any:
        inner = self.inner
        return decode_json_or_text(self.body) if inner is None else inner.payload()


def unwrap(record: SQSRecord, envelope: str | None) -> None:
    """Set `record.inner` when its body is an SNS notification or EventBridge event.

    `auto` tests the body with two substring checks first, so plain messages pay ~nothing;
    a hit is confirmed on the parsed document before the envelope is used.
    """
    body = record.raw.get("body") or ""
    if envelope == "auto":
        if '"TopicArn"' in body:
            envelope = "sns"
        elif '"detail-type"' in body:
            envelope = "eventbridge"
        else:
            return
    elif envelope is None:
        return
    try:
        doc = serialization.decode_json(body)
    except Exception:  # noqa: BLE001 - not JSON: no envelope, the body is the payload
        return
    if envelope == "sns" and sns.is_notification(doc):
        record.inner = sns.SNSRecord.from_notification(doc)
    elif envelope == "eventbridge" and eventbridge.is_event(doc):
        record.inner = eventbridge.EventBridgeEvent(doc)


def encode_batch_response(failed_ids: list[str]) -> dict[str, Any]:
    """The partial-batch response Lambda expects (needs `ReportBatchItemFailures` on the mapping)."""
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_ids]}
