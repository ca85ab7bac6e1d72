"""Sample AWS events for the CLI (`lift events generate`, `lift send`, `lift invoke --event-type`).

HTTP events come from `lift.testing.events`; event-source events from its builders when
present, else from the AWS-shaped fallbacks below (same shapes AWS documents).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from lift.testing import events

__all__ = ["SOURCES", "SampleOptions", "build_event", "parse_body"]

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class SampleOptions:
    """Everything a sample can be customized with (each source reads what it needs)."""

    name: str | None = None  # queue, topic, bucket, rule, table, stream or WebSocket route key
    body: Any = None  # message body / detail / new image (parsed JSON or text)
    method: str = "GET"
    path: str = "/"
    key: str = "uploads/example.txt"
    event_name: str | None = None
    source: str = "my.app"
    detail_type: str = "ExampleEvent"
    count: int = 1
    headers: dict[str, str] | None = None


def parse_body(text: str | None) -> Any:
    """JSON if the text is JSON, else the text itself."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(body: Any, default: Any) -> str:
    body = default if body is None else body
    return body if isinstance(body, str) else json.dumps(body)


def _iso(ms: bool = True) -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z" if ms else \
        now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _builder(*names: str) -> Callable[..., Any] | None:
    for name in names:
        fn = getattr(events, name, None)
        if callable(fn):
            return fn
    return None


# -- HTTP -------------------------------------------------------------------------------------
def _http(kind: str) -> Callable[[SampleOptions], dict[str, Any]]:
    def build(o: SampleOptions) -> dict[str, Any]:
        headers = dict(o.headers or {})
        body = None
        if o.body is not None:
            body = _text(o.body, None)
            if not isinstance(o.body, str):
                headers.setdefault("Content-Type", "application/json")
        return getattr(events, kind)(o.method, o.path, body=body, headers=headers)

    return build


# -- event sources (fallbacks shaped like AWS's documented samples) ---------------------------
def _sqs(o: SampleOptions) -> dict[str, Any]:
    queue = o.name or "my-queue"
    records = []
    for i in range(o.count):
        body = _text(o.body, {"message": "hello", "n": i + 1})
        now = str(int(time.time() * 1000))
        attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": now, "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                      "ApproximateFirstReceiveTimestamp": now}
        if queue.endswith(".fifo"):
            attributes.update({"MessageGroupId": "group-1", "MessageDeduplicationId": uuid.uuid4().hex,
                               "SequenceNumber": str(18849496460467696128 + i)})
        records.append({
            "messageId": str(uuid.uuid4()),
            "receiptHandle": base64.b64encode(uuid.uuid4().bytes * 4).decode(),
            "body": body,
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - AWS's checksum, not security
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
            "awsRegion": REGION,
        })
    return {"Records": records}


def _sns(o: SampleOptions) -> dict[str, Any]:
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{o.name or 'my-topic'}"
    message_id = str(uuid.uuid4())
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn, "Subject": None,
            "Message": _text(o.body, {"message": "hello"}), "Timestamp": _iso(),
            "SignatureVersion": "1", "Signature": "EXAMPLE",
            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}",
            "MessageAttributes": {},
        },
    }]}


def _s3(o: SampleOptions) -> dict[str, Any]:
    bucket = o.name or "my-bucket"
    size = len(_text(o.body, "")) if o.body is not None else 1024
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventTime": _iso(),
        "eventName": o.event_name or "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes * 2).decode()},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "lift-local",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(o.key, safe="/"), "size": size,
                       "eTag": hashlib.md5(o.key.encode()).hexdigest(),  # noqa: S324 - sample ETag
                       "sequencer": f"{int(time.time() * 1000):016X}"},
        },
    }]}


def _eventbridge(o: SampleOptions) -> dict[str, Any]:
    detail = {"example": True} if o.body is None else o.body
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": o.detail_type, "source": o.source,
            "account": ACCOUNT, "time": _iso(ms=False), "region": REGION, "resources": [], "detail": detail}


def _schedule(o: SampleOptions) -> dict[str, Any]:
    rule = o.name or "my-schedule"
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": _iso(ms=False), "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"], "detail": {}}


def _attribute(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB AttributeValue."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    return {"S": str(value)}


def _dynamodb(o: SampleOptions) -> dict[str, Any]:
    table = o.name or "my-table"
    image = o.body if isinstance(o.body, dict) else {"id": "1", "status": "new"}
    key_name = next(iter(image), "id")
    new_image = {k: _attribute(v) for k, v in image.items()}
    event_name = o.event_name or "INSERT"
    record: dict[str, Any] = {
        "ApproximateCreationDateTime": int(time.time()), "Keys": {key_name: new_image[key_name]},
        "SequenceNumber": str(100000000000000000000 + int(time.time())), "SizeBytes": len(json.dumps(image)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if event_name != "REMOVE":
        record["NewImage"] = new_image
    if event_name != "INSERT":
        record["OldImage"] = new_image
    return {"Records": [{
        "eventID": uuid.uuid4().hex, "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": REGION, "dynamodb": record,
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000",
    }]}


def _kinesis(o: SampleOptions) -> dict[str, Any]:
    stream = o.name or "my-stream"
    records = []
    for i in range(o.count):
        sequence = f"4959033149302856052385948201{i:04d}"
        data = base64.b64encode(_text(o.body, {"click": i + 1}).encode()).decode()
        records.append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": str(i + 1), "sequenceNumber": sequence,
                        "data": data, "approximateArrivalTimestamp": round(time.time(), 3)},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"shardId-000000000000:{sequence}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-kinesis-role", "awsRegion": REGION,
            "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}",
        })
    return {"Records": records}


def _websocket(o: SampleOptions) -> dict[str, Any]:
    route = o.name or "$default"
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    now = int(time.time() * 1000)
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route, "eventType": event_type, "extendedRequestId": "Lift1CdEfGhIjKl=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "messageDirection": "IN",
            "stage": "prod", "connectedAt": now, "requestTimeEpoch": now,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "lift-cli"}, "requestId": "Lift1CdEfGhIjKl=",
            "domainName": f"abcdef1234.execute-api.{REGION}.amazonaws.com", "connectionId": "L0SM9cOFvHcCIhw=",
            "apiId": "abcdef1234",
        },
        "isBase64Encoded": False,
    }
    if event_type == "MESSAGE":
        event["requestContext"]["messageId"] = "L0SM9cOFvHcCIhw="
        event["body"] = _text(o.body, {"action": route, "message": "hello"})
    return event


def _invoke(o: SampleOptions) -> Any:
    return {"example": True} if o.body is None else o.body


_FALLBACKS: dict[str, tuple[tuple[str, ...], Callable[[SampleOptions], Any]]] = {
    "sqs": (("sqs",), _sqs),
    "sns": (("sns",), _sns),
    "s3": (("s3",), _s3),
    "eventbridge": (("eventbridge",), _eventbridge),
    "schedule": (("schedule",), _schedule),
    "dynamodb": (("dynamodb_stream", "dynamodb"), _dynamodb),
    "kinesis": (("kinesis",), _kinesis),
    "websocket": (("websocket",), _websocket),
}

SOURCES: dict[str, Callable[[SampleOptions], Any]] = {
    "rest": _http("apigw_rest"), "http": _http("apigw_http"), "alb": _http("alb"), "url": _http("function_url"),
    **{name: fallback for name, (_, fallback) in _FALLBACKS.items()},
    "invoke": _invoke,
}


def build_event(source: str, options: SampleOptions | None = None) -> Any:
    """An AWS-shaped event for `source` (one of SOURCES)."""
    try:
        build = SOURCES[source]
    except KeyError:
        raise ValueError(f"Unknown event source {source!r}; choose one of: {', '.join(SOURCES)}") from None
    return build(options or SampleOptions())
