"""Event sources: which service sent an event, and each source's own module.

`source_of` is the one cheap test per event: a couple of key lookups, no parsing. The HTTP
and batch sources are decided first; every other trigger by the rules in `lift.sources.rules`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HTTP_SOURCES", "RECORD_SOURCES", "LazyModule", "other_source", "source_of"]

HTTP_SOURCES = frozenset({"rest", "http", "alb", "url"})

# the `eventSource` (`EventSource` for SNS) of each record-batch service
RECORD_SOURCES = {
    "aws:sqs": "sqs",
    "aws:sns": "sns",
    "aws:s3": "s3",
    "aws:dynamodb": "dynamodb",
    "aws:kinesis": "kinesis",
}


def other_source(event: Any) -> str:
    """The source of an event none of the fast tests above claims (lift.sources.rules), or "invoke"."""
    from lift.sources.rules import other_source as classify

    return classify(event)


class LazyModule:
    """Stands in for a module until its first attribute is read, then puts the real module
    in its place in `namespace`, so an app pays only for the event sources it uses."""

    __slots__ = ("_name", "_namespace", "_alias")

    def __init__(self, name: str, namespace: dict[str, Any], alias: str | None = None) -> None:
        self._name = name
        self._namespace = namespace
        self._alias = alias or name.rpartition(".")[2]  # the global name it stands in for

    def __getattr__(self, attr: str) -> Any:
        import importlib

        module = importlib.import_module(self._name)
        self._namespace[self._alias] = module
        return getattr(module, attr)


def source_of(event: Any) -> str:
    """The name of the source that produced `event` ("rest", "sqs", ..., or "invoke")."""
    if type(event) is not dict:
        return other_source(event)
    try:
        if "Records" in event:
            records = event["Records"]
            if type(records) is list and records and type(records[0]) is dict:
                first = records[0]
                service = first.get("eventSource") or first.get("EventSource")
                return RECORD_SOURCES.get(service) or other_source(event)  # type: ignore[arg-type]
        if "httpMethod" in event:
            ctx = event.get("requestContext")
            if ctx and "elb" in ctx:
                return "alb"
            if "methodArn" in event:  # a REST REQUEST (or HTTP API 1.0) authorizer request
                return "authorizer"
            if ctx and "connectionId" in ctx and "resource" not in event:  # as App.handler's REST fast path
                return "websocket"
            if "actionGroup" in event:  # a Bedrock agent action group (OpenAPI form)
                return "bedrock_agent"
            return "rest"
        if "rawPath" in event:
            if "routeArn" in event:  # an HTTP API authorizer request (payload 2.0)
                return "authorizer"
            domain = (event.get("requestContext") or {}).get("domainName") or ""
            return "url" if ".lambda-url." in domain else "http"
        if "detail-type" in event and "source" in event:
            return "schedule" if event["detail-type"] == "Scheduled Event" else "eventbridge"
    except (TypeError, AttributeError):  # a field of the wrong type: its keys decide, its handler answers 400
        return _source_of_malformed(event)
    ctx = event.get("requestContext")
    if type(ctx) is dict and "connectionId" in ctx and "methodArn" not in event:
        return "websocket"
    return other_source(event)  # the rules of every other trigger (lift.sources.rules)


def _source_of_malformed(event: dict[str, Any]) -> str:
    """The source of an event with a field of the wrong type (`requestContext: 5`), from its keys alone."""
    ctx = event.get("requestContext")
    ctx = ctx if type(ctx) is dict else {}
    if "httpMethod" in event:
        return "alb" if "elb" in ctx else "rest"
    if "rawPath" in event:
        domain = ctx.get("domainName")
        return "url" if type(domain) is str and ".lambda-url." in domain else "http"
    return "invoke"
