"""Sample AWS events for the CLI (`lift events generate`, `lift send`, `lift invoke --event-type`).

Every event comes from the `lift.testing.events` builders, so the CLI, the tests and the
dev server send the same AWS-shaped events.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lift.testing import events

__all__ = ["SOURCES", "SampleOptions", "build_event", "parse_body"]


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
    headers: dict[str, list[str]] | None = None
    via: str | None = None  # an envelope: sqs via "sns" or "eventbridge"; s3 via "sns", "eventbridge" or "sqs"


class NotJSON(ValueError):
    """What Python's json module reads but JSON has not: NaN, Infinity, numbers beyond a double."""


def _not_json(constant: str) -> Any:
    raise NotJSON(f"{constant} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # (1e999: a number no JSON parser AWS runs can hold)
        raise NotJSON(f"{text} is beyond the range of a number")
    return value


def loads_json(text: str) -> Any:
    """`json.loads` of JSON alone: NaN, Infinity and 1e999 raise `NotJSON` (a ValueError), as
    Lambda's Invoke and every AWS service refuse them; a nesting too deep raises RecursionError."""
    return json.loads(text, parse_constant=_not_json, parse_float=_finite)


def parse_body(text: str | None) -> Any:
    """JSON if the text is JSON, else the text itself (`{"a": NaN}` is text: sent as written)."""
    if text is None:
        return None
    try:
        return loads_json(text)
    except (ValueError, RecursionError):
        return text


def _text(body: Any, default: Any) -> str:
    body = default if body is None else body
    return body if isinstance(body, str) else json.dumps(body)


# -- HTTP -------------------------------------------------------------------------------------
def _http(kind: str) -> Callable[[SampleOptions], dict[str, Any]]:
    def build(o: SampleOptions) -> dict[str, Any]:
        headers = dict(o.headers or {})
        body = None
        if o.body is not None:
            body = _text(o.body, None)
            if not isinstance(o.body, str) and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = ["application/json"]
        return getattr(events, kind)(o.method, o.path, body=body, headers=headers)

    return build


# -- event sources: the lift.testing.events builders ------------------------------------------
def _sqs(o: SampleOptions) -> dict[str, Any]:
    queue, body = o.name or "my-queue", _text(o.body, {"message": "hello"})
    if o.via == "sns":
        return events.sqs_from_sns(queue, "my-topic", [body] * o.count)
    if o.via == "eventbridge":
        detail = {"example": True} if o.body is None else o.body
        return events.sqs_from_eventbridge(queue, [events.eventbridge(o.source, o.detail_type, detail)] * o.count)
    return events.sqs(queue, [body] * o.count)


def _sns(o: SampleOptions) -> dict[str, Any]:
    return events.sns(o.name or "my-topic", _text(o.body, {"message": "hello"}))


def _s3(o: SampleOptions) -> dict[str, Any]:
    options: dict[str, Any] = {"event_name": o.event_name or "ObjectCreated:Put"}
    if o.body is not None:
        options["size"] = len(_text(o.body, ""))
    bucket = o.name or "my-bucket"
    if o.via == "sns":
        return events.s3_via_sns("my-topic", bucket, o.key, **options)
    if o.via == "eventbridge":
        return events.s3_via_eventbridge(bucket, o.key)
    if o.via == "sqs":
        return events.s3_via_sqs("my-queue", bucket, [o.key] * o.count, **options)
    return events.s3(bucket, o.key, **options)


def _eventbridge(o: SampleOptions) -> dict[str, Any]:
    return events.eventbridge(o.source, o.detail_type, {"example": True} if o.body is None else o.body)


def _schedule(o: SampleOptions) -> dict[str, Any]:
    return events.schedule(o.name or "my-schedule")


def _dynamodb(o: SampleOptions) -> dict[str, Any]:
    image = o.body if isinstance(o.body, dict) else {"id": "1", "status": "new"}
    key_name = next(iter(image), "id")
    event_name = o.event_name or "INSERT"
    change: dict[str, Any] = {"event_name": event_name, "keys": {key_name: image.get(key_name)}}
    if event_name != "REMOVE":
        change["new_image"] = image
    if event_name != "INSERT":
        change["old_image"] = image
    return events.dynamodb_stream(o.name or "my-table", [change])


def _kinesis(o: SampleOptions) -> dict[str, Any]:
    return events.kinesis(o.name or "my-stream", [_text(o.body, {"click": 1})] * o.count)


def _websocket(o: SampleOptions) -> dict[str, Any]:
    route = o.name or "$default"
    if route == "$connect":
        return events.websocket_connect(headers=o.headers)
    if route == "$disconnect":
        return events.websocket_disconnect()
    return events.websocket_message(_text(o.body, {"action": route, "message": "hello"}), route_key=route)


def _invoke(o: SampleOptions) -> Any:
    return {"example": True} if o.body is None else o.body


SOURCES: dict[str, Callable[[SampleOptions], Any]] = {
    "rest": _http("apigw_rest"),
    "http": _http("apigw_http"),
    "alb": _http("alb"),
    "url": _http("function_url"),
    "sqs": _sqs,
    "sns": _sns,
    "s3": _s3,
    "eventbridge": _eventbridge,
    "schedule": _schedule,
    "dynamodb": _dynamodb,
    "kinesis": _kinesis,
    "websocket": _websocket,
    "invoke": _invoke,
}


def build_event(source: str, options: SampleOptions | None = None) -> Any:
    """An AWS-shaped event for `source` (one of SOURCES)."""
    try:
        build = SOURCES[source]
    except KeyError:
        raise ValueError(f"Unknown event source {source!r}; choose one of: {', '.join(SOURCES)}") from None
    options = options or SampleOptions()
    envelopes = {"sqs": ("sns", "eventbridge"), "s3": ("sns", "eventbridge", "sqs")}
    if options.via is not None and options.via not in envelopes.get(source, ()):
        raise ValueError(
            f"--via {options.via} is not an envelope for {source} "
            "(sqs: sns or eventbridge; s3: sns, eventbridge or sqs)"
        )
    return build(options)


# the other triggers (authorizers, Cognito, Firehose, Kafka, ...)
from lift.cli.trigger_samples import TRIGGER_SAMPLES  # noqa: E402

SOURCES.update(TRIGGER_SAMPLES)
