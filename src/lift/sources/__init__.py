"""Event sources: which service sent an event, and each source's own module.

`source_of` is the one cheap test per event: a couple of key lookups, no parsing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["source_of", "HTTP_SOURCES"]

HTTP_SOURCES = frozenset({"rest", "http", "alb", "url"})

_RECORD_SOURCES = {
    "aws:sqs": "sqs",
    "aws:sns": "sns",
    "aws:s3": "s3",
    "aws:dynamodb": "dynamodb",
    "aws:kinesis": "kinesis",
}


def source_of(event: Any) -> str:
    """The name of the source that produced `event` ("rest", "sqs", ..., or "invoke")."""
    if type(event) is not dict:
        return "invoke"
    if "httpMethod" in event:
        ctx = event.get("requestContext")
        if ctx and "elb" in ctx:
            return "alb"
        if ctx and "connectionId" in ctx:
            return "websocket"
        return "rest"
    if "rawPath" in event:
        domain = (event.get("requestContext") or {}).get("domainName") or ""
        return "url" if ".lambda-url." in domain else "http"
    records = event.get("Records")
    if records and type(records) is list and type(records[0]) is dict:
        first = records[0]
        return _RECORD_SOURCES.get(first.get("eventSource") or first.get("EventSource"), "invoke")
    if "detail-type" in event and "source" in event:
        return "schedule" if event["detail-type"] == "Scheduled Event" else "eventbridge"
    ctx = event.get("requestContext")
    if type(ctx) is dict and "connectionId" in ctx:
        return "websocket"
    return "invoke"
