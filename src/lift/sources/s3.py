"""S3: object notifications, direct or through SNS or EventBridge (`aws.s3` events), as one S3Object."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from lift import serialization
from lift.sources.record import Record

__all__ = [
    "S3_EVENT_TYPES",
    "S3Object",
    "from_eventbridge",
    "is_test_event",
    "normalize_event_name",
    "records_in_message",
]

# EventBridge detail-types of S3 -> the notification event-name family they correspond to.
S3_EVENT_TYPES = {
    "Object Created": "ObjectCreated",
    "Object Deleted": "ObjectRemoved",
    "Object Restore Initiated": "ObjectRestore",
    "Object Restore Completed": "ObjectRestore",
    "Object Restore Expired": "ObjectRestore",
    "Object Tags Added": "ObjectTagging",
    "Object Tags Deleted": "ObjectTagging",
    "Object ACL Updated": "ObjectAcl",
    "Object Storage Class Changed": "LifecycleTransition",
    "Object Access Tier Changed": "IntelligentTiering",
}
_REASONS = {
    "PutObject": "Put",
    "POST Object": "Post",
    "CopyObject": "Copy",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}
_DETAIL_SUFFIX = {
    "Object Restore Initiated": "Post",
    "Object Restore Completed": "Completed",
    "Object Restore Expired": "Delete",
    "Object Tags Added": "Put",
    "Object Tags Deleted": "Delete",
    "Object ACL Updated": "Put",
}


class S3Object(Record):
    """One object event: bucket, key (URL-decoded), size, etag, version_id, event_name, event_time."""

    bucket: str = ""  # given for an EventBridge event; read from `raw` for a notification record
    key: str = ""
    event_name: str = ""

    kind = "s3"

    def __post_init__(self) -> None:
        s3 = self.raw.get("s3")
        if s3 is not None:  # a notification record: the key is URL-encoded, `+` is a space
            self.bucket = s3["bucket"]["name"]
            self.key = unquote_plus(s3["object"]["key"])
            self.event_name = self.raw.get("eventName") or ""

    def _object(self) -> dict[str, Any]:
        s3 = self.raw.get("s3")
        return s3["object"] if s3 is not None else (self.raw.get("detail") or {}).get("object") or {}

    @property
    def record_id(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def size(self) -> int | None:
        return self._object().get("size")

    @property
    def etag(self) -> str | None:
        obj = self._object()
        return obj.get("eTag") or obj.get("etag")

    @property
    def version_id(self) -> str | None:
        obj = self._object()
        return obj.get("versionId") or obj.get("version-id")

    @property
    def sequencer(self) -> str | None:
        return self._object().get("sequencer")

    @property
    def event_time(self) -> str | None:
        return self.raw.get("eventTime") or self.raw.get("time")

    @property
    def region(self) -> str | None:
        return self.raw.get("awsRegion") or self.raw.get("region")

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "version_id": self.version_id,
            "event_name": self.event_name,
            "event_time": self.event_time,
            "region": self.region,
            "sequencer": self.sequencer,
        }

    def payload(self) -> Any:
        return self.to_dict()


def normalize_event_name(name: str) -> str:
    """`s3:ObjectCreated:*` and `ObjectCreated:*` are the same filter."""
    return name.removeprefix("s3:")


def from_eventbridge(event: dict[str, Any]) -> S3Object | None:
    """An `aws.s3` EventBridge event as an S3Object (None for other events)."""
    if event.get("source") != "aws.s3":
        return None
    detail_type = event.get("detail-type") or ""
    family = S3_EVENT_TYPES.get(detail_type)
    detail = event.get("detail")
    if family is None or type(detail) is not dict:
        return None
    if detail_type == "Object Created":
        action = _REASONS.get(detail.get("reason") or "", detail.get("reason") or "Put")
    elif detail_type == "Object Deleted":
        deleted = detail.get("deletion-type") == "Delete Marker Created"
        action = "DeleteMarkerCreated" if deleted else "Delete"
    else:
        action = _DETAIL_SUFFIX.get(detail_type, "*")
    bucket = (detail.get("bucket") or {}).get("name") or ""
    key = (detail.get("object") or {}).get("key") or ""
    return S3Object(event, bucket, key, f"{family}:{action}")


def records_in_message(message: str) -> list[dict[str, Any]] | None:
    """The S3 records inside an SNS message (S3 -> SNS notifications), or None."""
    if '"aws:s3"' not in message:
        return None
    try:
        doc = serialization.decode_json(message)
    except Exception:
        return None
    records = doc.get("Records") if type(doc) is dict else None
    if not records or type(records) is not list:
        return None
    if not all(type(r) is dict and r.get("eventSource") == "aws:s3" for r in records):
        return None
    return records


def is_test_event(message: str) -> bool:
    """True for the `s3:TestEvent` message S3 sends to a queue or topic when a notification is configured
    (`{"Service": "Amazon S3", "Event": "s3:TestEvent", ...}`): the whole document, not a message that
    merely mentions it, which is someone's data and must reach a handler or fail."""
    if '"s3:TestEvent"' not in message:
        return False
    try:
        doc = serialization.decode_json(message)
    except Exception:
        return False
    return type(doc) is dict and doc.get("Event") == "s3:TestEvent" and doc.get("Service") == "Amazon S3"
