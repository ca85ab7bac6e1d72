"""SNS: the `Records[].Sns` notification shape, and the same notification inside an SQS body."""

from __future__ import annotations

import base64
from typing import Any

from lift.sources.record import Record, decode_json_or_text, name_from_arn

__all__ = ["SNSRecord", "is_notification", "topic_of"]


class SNSRecord(Record):
    """One SNS notification: subject, message id, message attributes, timestamp, `message` text."""

    sns: dict[str, Any] = None  # type: ignore[assignment]  # raw["Sns"], or the notification itself (SNS -> SQS): set in __post_init__

    kind = "sns"

    def __post_init__(self) -> None:
        if self.sns is None:
            self.sns = self.raw["Sns"]

    @classmethod
    def from_notification(cls, notification: dict[str, Any]) -> SNSRecord:
        """The notification SNS writes into an SQS body (non-raw delivery)."""
        return cls({"EventSource": "aws:sns", "Sns": notification}, notification)

    @property
    def record_id(self) -> str | None:
        return self.sns.get("MessageId")

    @property
    def message_id(self) -> str | None:
        return self.sns.get("MessageId")

    @property
    def message(self) -> str:
        return self.sns.get("Message") or ""

    @property
    def subject(self) -> str | None:
        return self.sns.get("Subject")

    @property
    def timestamp(self) -> str | None:
        return self.sns.get("Timestamp")

    @property
    def topic_arn(self) -> str:
        return self.sns.get("TopicArn") or ""

    @property
    def topic(self) -> str:
        return name_from_arn(self.topic_arn)

    @property
    def message_attributes(self) -> dict[str, Any]:
        """As AWS sends them: `{name: {"Type": ..., "Value": ...}}`."""
        return self.sns.get("MessageAttributes") or {}

    def attribute(self, name: str, default: Any = None) -> Any:
        """One message attribute's value (bytes for `Binary`)."""
        attr = self.message_attributes.get(name)
        if attr is None:
            return default
        value = attr.get("Value")
        if attr.get("Type") == "Binary" and value:
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                return value.encode("utf-8")  # not base64 (AWS's own test events send plain text)
        return value

    @property
    def text(self) -> str:
        return self.message

    def json_text(self) -> str:
        return self.message

    def payload(self) -> Any:
        return decode_json_or_text(self.message)


def topic_of(raw_record: dict[str, Any]) -> str:
    """The topic name of an SNS event record."""
    return name_from_arn(raw_record["Sns"].get("TopicArn"))


def is_notification(value: Any) -> bool:
    """True for an SNS notification document (what non-raw SNS -> SQS delivery puts in the body)."""
    return type(value) is dict and value.get("Type") == "Notification" and "TopicArn" in value and "Message" in value
