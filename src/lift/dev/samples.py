"""Sample events the dev server sends for the dashboard's buttons, queues and schedules.

Shaped like the events AWS sends (see the Lambda developer guide's sample events).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "dynamodb_event",
    "eventbridge_event",
    "kinesis_event",
    "s3_event",
    "sample_event",
    "schedule_event",
    "sns_event",
    "sqs_event",
]

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def sqs_event(queue: str, bodies: list[Any], *, fifo_group: str | None = None) -> dict[str, Any]:
    """An SQS event with one record per body (first receive)."""
    records = []
    for body in bodies:
        text = _text(body)
        attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000)),
                      "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp":
                      str(int(time.time() * 1000))}
        if fifo_group:
            attributes.update({"MessageGroupId": fifo_group, "SequenceNumber": str(time.time_ns()),
                               "MessageDeduplicationId": hashlib.sha256(text.encode()).hexdigest()})
        records.append({
            "messageId": str(uuid.uuid4()), "receiptHandle": "AQEB" + secrets.token_urlsafe(48),
            "body": text, "attributes": attributes, "messageAttributes": {},
            "md5OfBody": hashlib.md5(text.encode()).hexdigest(), "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}", "awsRegion": REGION,
        })
    return {"Records": records}


def sns_event(topic: str, message: Any, subject: str | None = None) -> dict[str, Any]:
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"
    return {"Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns",
        "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": arn, "Subject": subject,
                "Message": _text(message), "Timestamp": _iso(), "SignatureVersion": "1",
                "Signature": "EXAMPLE", "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}},
    }]}


def s3_event(bucket: str, key: str, event_name: str = "ObjectCreated:Put", size: int = 1024) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventTime": _iso(),
        "eventName": event_name, "userIdentity": {"principalId": "EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": secrets.token_hex(8).upper(), "x-amz-id-2": "EXAMPLE"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "lift-dev",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size,
                          "eTag": secrets.token_hex(16), "sequencer": secrets.token_hex(8).upper()}},
    }]}


def eventbridge_event(source: str, detail_type: str, detail: Any) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": ACCOUNT, "time": _iso()[:-5] + "Z", "region": REGION, "resources": [],
            "detail": detail if isinstance(detail, dict) else {"value": detail}}


def schedule_event(rule: str, when: datetime | None = None) -> dict[str, Any]:
    """The event an EventBridge scheduled rule sends."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": _iso(when)[:-5] + "Z", "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"], "detail": {}}


def dynamodb_event(table: str, new_image: dict[str, Any] | None = None) -> dict[str, Any]:
    image = new_image or {"id": {"S": "1"}, "name": {"S": "sample"}}
    return {"Records": [{
        "eventID": secrets.token_hex(16), "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": REGION,
        "dynamodb": {"ApproximateCreationDateTime": int(time.time()), "Keys": {"id": image.get("id", {"S": "1"})},
                     "NewImage": image, "SequenceNumber": str(time.time_ns()), "SizeBytes": 59,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000",
    }]}


def kinesis_event(stream: str, data: Any) -> dict[str, Any]:
    payload = base64.b64encode(_text(data).encode()).decode()
    return {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1", "sequenceNumber": str(time.time_ns()),
                    "data": payload, "approximateArrivalTimestamp": time.time()},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{time.time_ns()}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
        "awsRegion": REGION, "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}",
    }]}


def sample_event(kind: str, name: str = "", body: Any = None, **options: Any) -> dict[str, Any]:
    """A sample event for one registered source (what the dashboard's buttons send)."""
    sample = body if body is not None else {"sample": True, "sent_at": _iso()}
    name = name if name and "*" not in name else (name.replace("*", "sample") if name else "sample")
    if kind == "sqs":
        return sqs_event(name, [sample])
    if kind == "sns":
        return sns_event(name, sample)
    if kind == "s3":
        prefix, suffix = options.get("prefix") or "", options.get("suffix") or ".json"
        return s3_event(name, f"{prefix}sample-{int(time.time())}{suffix}")
    if kind == "eventbridge":
        source = options.get("source") or name or "lift.dev"
        detail_type = options.get("detail_type") or "Sample"
        return eventbridge_event(source.replace("*", "sample"), detail_type.replace("*", "sample"), sample)
    if kind == "schedule":
        return schedule_event(name)
    if kind == "dynamodb":
        return dynamodb_event(name)
    if kind == "kinesis":
        return kinesis_event(name, sample)
    if kind == "invoke":
        return sample if isinstance(sample, dict) else {"value": sample}
    raise ValueError(f"No sample event for source {kind!r}")
