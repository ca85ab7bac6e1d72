"""Builders for events shaped exactly like the ones AWS sends, for tests and local runs.

Each builder returns a complete event (full `requestContext`, multi-value headers,
base64 bodies where AWS would use them), never a minimal dict.
"""

from __future__ import annotations

import base64
import hashlib as _hashlib
import json as _json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal as _Decimal
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit
from urllib.parse import quote_plus as _quote_plus

__all__ = ["apigw_rest", "apigw_http", "alb", "function_url", "split_path"]

ACCOUNT = "123456789012"
_LONE_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")
_ESCAPED_SLASH = re.compile("%2[fF]")
REGION = "us-east-1"
SOURCE_IP = "203.0.113.7"
USER_AGENT = "lift-testclient/1.0"


def split_path(path: str) -> tuple[str, dict[str, list[str]]]:
    """Split `/a?x=1&x=2` into the path and its (decoded) multi-valued query. A `#fragment` is
    dropped, as every client does: it never leaves the browser. A path without its leading `/`
    gets one, and a whole URL gives its path and query, as httpx sends them."""
    from urllib.parse import parse_qsl

    path = path.partition("#")[0]
    if not path.startswith("/"):  # a URL (`https://api.example.com/a`) or a relative path (`a/b`): as httpx sends it
        parts = urlsplit(path)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "") if parts.netloc else f"/{path}"
    path, _, raw = path.partition("?")
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(raw, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    return path or "/", query


def url_path(path: str) -> str:
    """`path` as a client puts it on the wire: a %XX escape in it stays one (as a browser sends
    "/a%2Fb"), other text is percent-encoded (`/café` -> `/caf%C3%A9`)."""
    return _LONE_PERCENT.sub("%25", quote(path, safe="/:@!$&'()*+,;=-._~%"))


def wire_text(value: Any) -> str:
    """A header or query value as the text a client sends, as httpx writes it: bytes decoded
    (UTF-8, else Latin-1, as AWS passes header bytes on), `True`/`False` as `true`/`false`,
    `None` as empty, anything else as its `str()`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("latin-1")
    return str(value)


def wire_values(value: Any) -> list[str]:
    """A header or query parameter's values as text: a list or tuple is one value per item."""
    return [wire_text(v) for v in value] if isinstance(value, list | tuple) else [wire_text(value)]


def grouped(
    items: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, fold_case: bool = False
) -> dict[str, list[str]]:
    """Header (`fold_case`) or query values by name, from a mapping or from (name, value) pairs, as
    httpx takes them: a name given twice (a header's in any case) keeps every value, in order."""
    found: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in items.items() if isinstance(items, Mapping) else items or ():
        key = spelling.setdefault(name.lower(), name) if fold_case else name
        found.setdefault(key, []).extend(wire_values(value))
    return found


def _merge_query(path: str, query: Any) -> tuple[str, dict[str, list[str]]]:
    path, parsed = split_path(path)
    for k, values in grouped(query).items():
        parsed.setdefault(k, []).extend(values)
    return path, parsed


def _body(body: Any, is_base64: bool | None) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(body).decode("ascii"), True
        if is_base64:
            return base64.b64encode(body).decode("ascii"), True
        return text, False
    text = _text(body)  # (anything but text or bytes as JSON, as a client would send it)
    if is_base64:
        return base64.b64encode(text.encode("utf-8")).decode("ascii"), True
    return text, False


def _content_length(text: str | None, is_base64: bool) -> str | None:
    """The Content-Length a client sends with this body: its size in bytes, before any base64."""
    if text is None:
        return None
    return str(len(base64.b64decode(text)) if is_base64 else len(text.encode("utf-8")))


def _now() -> tuple[str, int]:
    now = datetime.now(UTC)
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000"), int(now.timestamp() * 1000)


def _default_headers(host: str, length: str | None, headers: dict[str, Any] | None) -> dict[str, list[str]]:
    base: dict[str, list[str]] = {
        "Accept": ["*/*"],
        "Host": [host],
        "User-Agent": [USER_AGENT],
        "X-Amzn-Trace-Id": [f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"],
        "X-Forwarded-For": [SOURCE_IP],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
    }
    if length is not None:
        base["Content-Length"] = [length]
    lower = {k.lower(): k for k in base}
    for name, values in grouped(headers, fold_case=True).items():
        existing = lower.get(name.lower())
        if existing:  # (a header given replaces the default)
            del base[existing]
        base[name] = values
    return base


def apigw_rest(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
    stage: str = "prod",
    is_base64: bool | None = None,
    authorizer: dict[str, Any] | None = None,
    domain: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload 1.0), as a `/{proxy+}` resource sends it."""
    path, q = _merge_query(path, query)
    path = url_path(path)  # (as the client sent it: REST and ALB pass the path on still encoded)
    text, b64 = _body(body, is_base64)
    host = domain or f"abcdef1234.execute-api.{REGION}.amazonaws.com"
    mv_headers = _default_headers(host, _content_length(text, b64), headers)
    if resource is None:
        resource = "/{proxy+}" if path != "/" else "/"
        path_params = path_params if path_params is not None else ({"proxy": path.lstrip("/")} if path != "/" else None)
    request_time, epoch = _now()
    ctx: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "abcdef1234",
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "extendedRequestId": "Ab1CdEfGhIjKlMn=",
        "httpMethod": method.upper(),
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": SOURCE_IP,
            "user": None,
            "userAgent": USER_AGENT,
            "userArn": None,
        },
        "path": f"/{stage}{path}" if ".execute-api." in host else path,
        "protocol": "HTTP/1.1",
        "requestId": request_id or str(uuid.uuid4()),
        "requestTime": request_time,
        "requestTimeEpoch": epoch,
        "resourceId": "a1b2c3",
        "resourcePath": resource,
        "stage": stage,
    }
    if authorizer is not None:
        ctx["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {k: v[-1] for k, v in mv_headers.items()},
        "multiValueHeaders": mv_headers,
        "queryStringParameters": {k: v[-1] for k, v in q.items()} or None,
        "multiValueQueryStringParameters": q or None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": ctx,
        "body": text,
        "isBase64Encoded": b64,
    }


def _v2(
    method: str,
    path: str,
    body: Any,
    headers: dict[str, Any] | None,
    query: dict[str, Any] | None,
    cookies: list[str] | None,
    is_base64: bool | None,
    host: str,
    route_key: str,
    stage: str,
    authorizer: dict[str, Any] | None,
    request_id: str | None,
    decodes_path: bool = False,
) -> dict[str, Any]:
    path, q = _merge_query(path, query)
    text, b64 = _body(body, is_base64)
    length = _content_length(text, b64)
    mv = _default_headers(host, "0" if length is None and decodes_path else length, headers)  # (HTTP APIs send 0)
    flat = {k.lower(): ",".join(v) for k, v in mv.items()}
    cookie_list = list(cookies or [])
    if flat.pop("cookie", None) is not None:  # (each Cookie header's pairs: never joined with a comma)
        sent = [value for name, values in mv.items() if name.lower() == "cookie" for value in values]
        cookie_list += [c.strip() for value in sent for c in value.split(";") if c.strip()]
    request_time, epoch = _now()
    raw_query = urlencode([(k, v) for k, vs in q.items() for v in vs], quote_via=quote)
    raw_path = url_path(path)
    if decodes_path:  # (an HTTP API: what it passes on is decoded, but for "%2F")
        raw_path = "%2F".join(unquote(part) for part in _ESCAPED_SLASH.split(raw_path))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path if stage == "$default" else f"/{stage}{raw_path}",
        "rawQueryString": raw_query,
        "headers": flat,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": host.split(".")[0],
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method.upper(),
                "path": raw_path if decodes_path else unquote(raw_path),
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": USER_AGENT,
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage,
            "time": request_time,
            "timeEpoch": epoch,
        },
        "isBase64Encoded": b64,
    }
    if cookie_list:
        event["cookies"] = cookie_list
    if q:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in q.items()}
    if text is not None:
        event["body"] = text
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def apigw_http(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    cookies: list[str] | None = None,
    is_base64: bool | None = None,
    stage: str = "$default",
    route_key: str = "$default",
    authorizer: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload 2.0). `path` is the path a client sends (encoded as a
    client encodes it); `rawPath` holds it as API Gateway passes it on: decoded, but for an escaped
    "/" (`%2F`, kept as it is), as AWS's own samples show (`/tmh/file name.xml`, `/encoding/a%2Fb`)."""
    host = f"r3pmxmplak.execute-api.{REGION}.amazonaws.com"
    return _v2(
        method, path, body, headers, query, cookies, is_base64, host, route_key, stage, authorizer, request_id, True
    )


def function_url(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    cookies: list[str] | None = None,
    is_base64: bool | None = None,
    authorizer: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A Lambda function URL event (payload 2.0 on a `lambda-url` domain)."""
    host = f"a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.{REGION}.on.aws"
    event = _v2(
        method, path, body, headers, query, cookies, is_base64, host, "$default", "$default", authorizer, request_id
    )
    event["requestContext"]["apiId"] = host.split(".")[0]
    return event


def alb(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    is_base64: bool | None = None,
    multi_value: bool = False,
) -> dict[str, Any]:
    """An Application Load Balancer event (query left percent-encoded, as ALB sends it)."""
    path, q = _merge_query(path, query)
    path = url_path(path)  # (as the client sent it: REST and ALB pass the path on still encoded)
    text, b64 = _body(body, is_base64)
    host = "lambda-alb-123578498.us-east-1.elb.amazonaws.com"
    mv = _default_headers(host, _content_length(text, b64), headers)
    mv = {k.lower(): v for k, v in mv.items()}
    enc_q = {quote(k, safe=""): [quote(v, safe="") for v in vs] for k, vs in q.items()}
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                "targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a"
            }
        },
        "httpMethod": method.upper(),
        "path": path,
        "body": text if text is not None else "",
        "isBase64Encoded": b64,
    }
    if multi_value:
        event["multiValueHeaders"] = mv
        event["multiValueQueryStringParameters"] = enc_q
    else:
        event["headers"] = {k: v[-1] for k, v in mv.items()}
        event["queryStringParameters"] = {k: v[-1] for k, v in enc_q.items()}
    return event


# -- event sources (SQS, SNS, S3, EventBridge, schedules, streams, WebSocket) ---------------------
__all__ += [
    "sqs",
    "sqs_message",
    "sqs_from_sns",
    "sqs_from_eventbridge",
    "sns",
    "sns_notification",
    "s3",
    "s3_record",
    "s3_via_sns",
    "s3_via_sqs",
    "s3_via_eventbridge",
    "eventbridge",
    "schedule",
    "dynamodb_stream",
    "dynamodb_record",
    "to_dynamodb",
    "kinesis",
    "kinesis_record",
    "websocket_connect",
    "websocket_message",
    "websocket_disconnect",
]


def _text(body: Any) -> str:
    """A message body as AWS carries it: strings as is, bytes decoded, anything else as JSON."""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes):
        return body.decode("utf-8")
    from lift import serialization

    return serialization.encode_json(body).decode("utf-8")


def _iso(ms: bool = True) -> str:
    now = datetime.now(UTC)
    return (
        now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        if ms
        else now.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def _md5(text: str) -> str:
    return _hashlib.md5(text.encode("utf-8")).hexdigest()  # SQS's own checksum, not security


def _sqs_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bytes):
        return {
            "binaryValue": base64.b64encode(value).decode("ascii"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        }
    data_type = "Number" if isinstance(value, int | float | _Decimal) and not isinstance(value, bool) else "String"
    return {"stringValue": str(value), "stringListValues": [], "binaryListValues": [], "dataType": data_type}


def sqs_message(
    body: Any,
    *,
    queue: str = "orders",
    message_id: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    receive_count: int = 1,
    sequence_number: str | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """One SQS record of a Lambda event. FIFO queues (`.fifo`) get group, dedup id and sequence number."""
    text = _text(body)
    sent = int(time.time() * 1000)
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(sent + 2),
    }
    if queue.endswith(".fifo"):
        attributes["SequenceNumber"] = sequence_number or str(18849496460467696128 + sent)
        attributes["MessageGroupId"] = group_id or "default"
        attributes["MessageDeduplicationId"] = deduplication_id or _hashlib.sha256(text.encode()).hexdigest()
    elif group_id is not None:
        attributes["MessageGroupId"] = group_id
    record: dict[str, Any] = {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + uuid.uuid4().hex,
        "body": text,
        "attributes": attributes,
        "messageAttributes": {k: _sqs_attribute(v) for k, v in (message_attributes or {}).items()},
        "md5OfBody": _md5(text),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}",
        "awsRegion": region,
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = _md5(_json.dumps(record["messageAttributes"], sort_keys=True))
    return record


def sqs(
    queue: str = "orders",
    bodies: list[Any] | None = None,
    *,
    records: list[dict[str, Any]] | None = None,
    group_id: str | None = None,
    group_ids: list[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """An SQS event: one record per body (or the given `records`). `group_ids` sets each record's group."""
    if records is None:
        records = []
        for i, body in enumerate(bodies or []):
            gid = group_ids[i] if group_ids is not None else group_id
            records.append(
                sqs_message(
                    body,
                    queue=queue,
                    group_id=gid,
                    sequence_number=str(18849496460467696128 + i) if queue.endswith(".fifo") else None,
                    **options,
                )
            )
    return {"Records": records}


def _sns_message_attributes(attrs: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in (attrs or {}).items():
        if isinstance(value, bytes):
            out[name] = {"Type": "Binary", "Value": base64.b64encode(value).decode("ascii")}
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = {"Type": "Number", "Value": str(value)}
        else:
            out[name] = {"Type": "String", "Value": str(value)}
    return out


def sns_notification(
    topic: str = "alerts",
    message: Any = "",
    *,
    subject: str | None = None,
    message_id: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """The notification document SNS delivers over HTTP and into SQS bodies (non-raw delivery)."""
    topic_arn = f"arn:aws:sns:{region}:{ACCOUNT}:{topic}"
    doc: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
    }
    if subject is not None:
        doc["Subject"] = subject
    doc.update(
        {
            "Message": _text(message),
            "Timestamp": _iso(),
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bk"
            "kOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
            "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-"
            "0000000000000000000000.pem",
            "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
            f"{topic_arn}:{uuid.uuid4()}",
        }
    )
    if message_attributes:
        doc["MessageAttributes"] = _sns_message_attributes(message_attributes)
    return doc


def sns(
    topic: str = "alerts",
    message: Any = "",
    *,
    subject: str | None = None,
    message_id: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    messages: list[Any] | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """An SNS event (one record per message; SNS sends one) as Lambda receives it."""
    topic_arn = f"arn:aws:sns:{region}:{ACCOUNT}:{topic}"
    records = []
    for msg in messages if messages is not None else [message]:
        doc = sns_notification(
            topic, msg, subject=subject, message_id=message_id, message_attributes=message_attributes, region=region
        )
        inner = {
            "Type": "Notification",
            "MessageId": doc["MessageId"],
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": doc["Message"],
            "Timestamp": doc["Timestamp"],
            "SignatureVersion": "1",
            "Signature": doc["Signature"],
            "SigningCertUrl": doc["SigningCertURL"],
            "UnsubscribeUrl": doc["UnsubscribeURL"],
            "MessageAttributes": _sns_message_attributes(message_attributes),
        }
        records.append(
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "EventSource": "aws:sns",
                "Sns": inner,
            }
        )
    return {"Records": records}


def sqs_from_sns(
    queue: str = "orders",
    topic: str = "alerts",
    messages: list[Any] | None = None,
    *,
    raw: bool = False,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """An SQS event from a queue subscribed to an SNS topic: raw delivery puts the message itself in
    the body (attributes become SQS message attributes); otherwise the body is the notification."""
    records = []
    for msg in messages or []:
        if raw:
            records.append(sqs_message(msg, queue=queue, message_attributes=message_attributes, **options))
        else:
            doc = sns_notification(topic, msg, subject=subject, message_attributes=message_attributes)
            body = _json.dumps(doc, indent=2, separators=(",", " : "))
            records.append(sqs_message(body, queue=queue, **options))
    return {"Records": records}


def eventbridge(
    source: str = "payments",
    detail_type: str = "PaymentSettled",
    detail: Any = None,
    *,
    resources: list[str] | None = None,
    event_id: str | None = None,
    region: str = REGION,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _iso(ms=False),
        "region": region,
        "resources": list(resources or []),
        "detail": {} if detail is None else detail,
    }


def sqs_from_eventbridge(
    queue: str = "orders", events_: list[dict[str, Any]] | None = None, **options: Any
) -> dict[str, Any]:
    """An SQS event from a queue that is an EventBridge rule target: each body is the whole event."""
    return {
        "Records": [sqs_message(_json.dumps(ev, separators=(",", ":")), queue=queue, **options) for ev in events_ or []]
    }


def schedule(rule: str = "nightly-report", *, region: str = REGION, scheduler: bool = False) -> dict[str, Any]:
    """A `Scheduled Event` from an EventBridge rule (or from EventBridge Scheduler with `scheduler=True`)."""
    if scheduler:  # Scheduler's own `detail` is JSON text ("{}"), not an object
        arn = f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule/default/{rule}"
        return eventbridge("aws.scheduler", "Scheduled Event", "{}", resources=[arn], region=region)
    arn = f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule}"
    return eventbridge("aws.events", "Scheduled Event", {}, resources=[arn], region=region)


def s3_record(
    bucket: str = "uploads",
    key: str = "in/file.txt",
    *,
    event_name: str = "ObjectCreated:Put",
    size: int = 1024,
    etag: str = "0123456789abcdef0123456789abcdef",
    version_id: str | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """One S3 notification record; the key is URL-encoded as S3 sends it (a space becomes `+`)."""
    obj: dict[str, Any] = {"key": _quote_plus(key, safe="/"), "sequencer": "0A1B2C3D4E5F678901"}
    if not event_name.startswith("ObjectRemoved"):
        obj = {"key": obj["key"], "size": size, "eTag": etag, "sequencer": obj["sequencer"]}
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _iso(),
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
        "requestParameters": {"sourceIPAddress": SOURCE_IP},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "lift-notification",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def s3(bucket: str = "uploads", key: str = "in/file.txt", **options: Any) -> dict[str, Any]:
    """An S3 event notification as Lambda receives it."""
    return {"Records": [s3_record(bucket, key, **options)]}


def s3_via_sns(
    topic: str = "uploads-topic", bucket: str = "uploads", key: str = "in/file.txt", **options: Any
) -> dict[str, Any]:
    """An SNS event whose message is an S3 notification (S3 -> SNS -> Lambda)."""
    message = _json.dumps(s3(bucket, key, **options), separators=(",", ":"))
    return sns(topic, message, subject="Amazon S3 Notification")


def s3_via_sqs(
    queue: str = "uploads-queue", bucket: str = "uploads", keys: list[str] | None = None, **options: Any
) -> dict[str, Any]:
    """An SQS event whose messages are S3 notifications (S3 -> SQS -> Lambda), one per key."""
    bodies = [_json.dumps(s3(bucket, key, **options), separators=(",", ":")) for key in (keys or ["in/file.txt"])]
    return sqs(queue, bodies)


def s3_via_eventbridge(
    bucket: str = "uploads",
    key: str = "in/file.txt",
    *,
    detail_type: str = "Object Created",
    reason: str = "PutObject",
    size: int = 1024,
    etag: str = "0123456789abcdef0123456789abcdef",
    version_id: str | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """An `aws.s3` EventBridge event (`Object Created` / `Object Deleted`) for a bucket with
    EventBridge notifications on."""
    obj: dict[str, Any] = {"key": key, "sequencer": "00617F08299329D189"}
    if detail_type == "Object Created":
        obj = {"key": key, "size": size, "etag": etag, "sequencer": obj["sequencer"]}
    if version_id is not None:
        obj["version-id"] = version_id
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": ACCOUNT,
        "source-ip-address": SOURCE_IP,
    }
    if detail_type == "Object Created":
        detail["reason"] = reason
    elif detail_type == "Object Deleted":
        detail["reason"] = "DeleteObject"
        detail["deletion-type"] = "Permanently Deleted" if reason == "PutObject" else reason
    return eventbridge("aws.s3", detail_type, detail, resources=[f"arn:aws:s3:::{bucket}"], region=region)


def to_dynamodb(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (`{"S": ...}`, `{"N": ...}`, ...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | _Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {"M": {k: to_dynamodb(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_dynamodb(v) for v in value]}
    if isinstance(value, set | frozenset):
        items = sorted(value, key=str)
        if all(isinstance(v, str) for v in items):
            return {"SS": items}
        if all(isinstance(v, bytes) for v in items):
            return {"BS": [base64.b64encode(v).decode("ascii") for v in items]}
        return {"NS": [str(v) for v in items]}
    raise TypeError(f"Cannot store a {type(value).__name__} in DynamoDB")


_stream_sequence = [4421584500000000017450439091]


def dynamodb_record(
    table: str = "orders",
    event_name: str = "INSERT",
    *,
    keys: dict[str, Any] | None = None,
    new_image: dict[str, Any] | None = None,
    old_image: dict[str, Any] | None = None,
    view_type: str = "NEW_AND_OLD_IMAGES",
    sequence_number: str | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """One DynamoDB stream record; images are given as Python values and marshalled to DynamoDB JSON."""
    _stream_sequence[0] += 1
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": int(time.time()),
        "Keys": {k: to_dynamodb(v) for k, v in (keys or {}).items()},
    }
    if new_image is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        stream["NewImage"] = {k: to_dynamodb(v) for k, v in new_image.items()}
    if old_image is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        stream["OldImage"] = {k: to_dynamodb(v) for k, v in old_image.items()}
    stream["SequenceNumber"] = sequence_number or str(_stream_sequence[0])
    stream["SizeBytes"] = len(_json.dumps(stream, default=str))
    stream["StreamViewType"] = view_type
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream,
        "eventSourceARN": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}/stream/2026-11-22T00:00:00.000",
    }


def dynamodb_stream(table: str = "orders", changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A DynamoDB stream event; each change is `dynamodb_record` keyword arguments
    (`{"event_name": "INSERT", "keys": {...}, "new_image": {...}}`)."""
    return {"Records": [dynamodb_record(table, **change) for change in changes or []]}


_kinesis_sequence = [49590338271490256608559692538361571095921575989136588898]


def kinesis_record(
    data: Any,
    *,
    stream: str = "clicks",
    partition_key: str = "1",
    shard_id: str = "shardId-000000000006",
    sequence_number: str | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """One Kinesis record (`data` base64-encoded as Kinesis sends it; non-bytes become JSON)."""
    raw = data if isinstance(data, bytes) else _text(data).encode("utf-8")
    _kinesis_sequence[0] += 1
    seq = sequence_number or str(_kinesis_sequence[0])
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": seq,
            "data": base64.b64encode(raw).decode("ascii"),
            "approximateArrivalTimestamp": round(time.time(), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-kinesis-role",
        "awsRegion": region,
        "eventSourceARN": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{stream}",
    }


def kinesis(
    stream: str = "clicks",
    data: list[Any] | None = None,
    *,
    shard_id: str = "shardId-000000000006",
    partition_keys: list[str] | None = None,
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Kinesis event: one record per item of `data` (or the given `records`)."""
    if records is None:
        records = [
            kinesis_record(
                d, stream=stream, shard_id=shard_id, partition_key=partition_keys[i] if partition_keys else str(i)
            )
            for i, d in enumerate(data or [])
        ]
    return {"Records": records}


_WS_API = "abcdef123"
_WS_HOST = f"{_WS_API}.execute-api.{REGION}.amazonaws.com"


def _connection_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii")


def _ws_context(
    route_key: str, event_type: str, connection_id: str | None, stage: str, domain: str | None
) -> dict[str, Any]:
    request_time, epoch = _now()
    host = domain or _WS_HOST
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
        "requestTime": request_time,
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": epoch - 1500,
        "requestTimeEpoch": epoch,
        "identity": {"sourceIp": SOURCE_IP, "userAgent": USER_AGENT},
        "requestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
        "domainName": host,
        "connectionId": connection_id or _connection_id(),
        "apiId": host.split(".")[0],
    }


def websocket_connect(
    *,
    connection_id: str | None = None,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    stage: str = "prod",
    domain: str | None = None,
) -> dict[str, Any]:
    """A `$connect` event: the handshake's headers and query string, no body."""
    host = domain or _WS_HOST
    mv: dict[str, list[str]] = {
        "Host": [host],
        "Sec-WebSocket-Extensions": ["permessage-deflate; client_max_window_bits"],
        "Sec-WebSocket-Key": [base64.b64encode(uuid.uuid4().bytes).decode("ascii")],
        "Sec-WebSocket-Version": ["13"],
        "X-Amzn-Trace-Id": [f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"],
        "X-Forwarded-For": [SOURCE_IP],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
    }
    for name, values in grouped(headers, fold_case=True).items():
        for given in [k for k in mv if k.lower() == name.lower()]:  # (a header given replaces the default)
            del mv[given]
        mv[name] = values
    q = grouped(query)
    event: dict[str, Any] = {
        "headers": {k: v[-1] for k, v in mv.items()},
        "multiValueHeaders": mv,
        "requestContext": _ws_context("$connect", "CONNECT", connection_id, stage, domain),
        "isBase64Encoded": False,
    }
    if q:
        event["queryStringParameters"] = {k: v[-1] for k, v in q.items()}
        event["multiValueQueryStringParameters"] = q
    return event


def websocket_message(
    body: Any = "",
    *,
    route_key: str = "$default",
    connection_id: str | None = None,
    stage: str = "prod",
    domain: str | None = None,
    is_base64: bool = False,
) -> dict[str, Any]:
    """A message event on `route_key` (`$default` or a custom route chosen by the route selection expression)."""
    ctx = _ws_context(route_key, "MESSAGE", connection_id, stage, domain)
    ctx["messageId"] = base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii")
    text = _text(body)
    if is_base64:
        text = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {"requestContext": ctx, "body": text, "isBase64Encoded": is_base64}


def websocket_disconnect(
    *,
    connection_id: str | None = None,
    status_code: int = 1001,
    reason: str = "Going away",
    stage: str = "prod",
    domain: str | None = None,
) -> dict[str, Any]:
    """A `$disconnect` event (the close code and reason are in the request context)."""
    host = domain or _WS_HOST
    ctx = _ws_context("$disconnect", "DISCONNECT", connection_id, stage, domain)
    ctx["disconnectStatusCode"] = status_code
    ctx["disconnectReason"] = reason
    headers = {"Host": host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": ctx,
        "isBase64Encoded": False,
    }


# the other triggers (authorizers, Cognito, Firehose, Kafka, ...): lift.testing.trigger_events
from lift.testing.trigger_events import *  # noqa: E402,F403
