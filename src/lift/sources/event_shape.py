"""The shape of each HTTP event and SQS message, checked only once handling one has failed.

AWS never sends a field of the wrong type, so nothing checks types on the way in: a request reads
only the fields it needs, when it needs them. When reading one raised, `problems(event, source)`
says which fields of the event are not what that service sends (`$.requestContext: Expected
object, got str`), so the caller answers a malformed event with a 400 in the source's own format
instead of a 500. The shapes are msgspec types, validated by msgspec (`convert`), not by hand.
"""

from __future__ import annotations

import binascii
from typing import Any

import msgspec

__all__ = ["lone_surrogate", "problems", "malformed_event"]

_Map = dict[str, str] | None
_MultiMap = dict[str, list[str] | None] | None


class _Identity(msgspec.Struct):
    sourceIp: str | None = None


class _RestContext(msgspec.Struct):
    requestId: str | None = None
    domainName: str | None = None
    identity: _Identity | None = None
    authorizer: dict[str, Any] | None = None


class _RestEvent(msgspec.Struct):
    """API Gateway REST API (payload 1.0)."""

    httpMethod: str | None = None
    path: str | None = None
    resource: str | None = None
    headers: _Map = None
    multiValueHeaders: _MultiMap = None
    queryStringParameters: _Map = None
    multiValueQueryStringParameters: _MultiMap = None
    pathParameters: _Map = None
    requestContext: _RestContext | None = None
    body: str | None = None
    isBase64Encoded: bool | None = None


class _Http(msgspec.Struct):
    method: str | None = None
    sourceIp: str | None = None


class _HttpContext(msgspec.Struct):
    requestId: str | None = None
    domainName: str | None = None
    stage: str | None = None
    routeKey: str | None = None
    http: _Http | None = None
    authorizer: dict[str, Any] | None = None


class _HttpEvent(msgspec.Struct):
    """API Gateway HTTP API (payload 2.0) and function URLs."""

    rawPath: str | None = None
    rawQueryString: str | None = None
    routeKey: str | None = None
    cookies: list[str] | None = None
    headers: _Map = None
    queryStringParameters: _Map = None
    pathParameters: _Map = None
    requestContext: _HttpContext | None = None
    body: str | None = None
    isBase64Encoded: bool | None = None


class _AlbEvent(msgspec.Struct):
    """Application Load Balancer target event."""

    httpMethod: str | None = None
    path: str | None = None
    headers: _Map = None
    multiValueHeaders: _MultiMap = None
    queryStringParameters: _Map = None
    multiValueQueryStringParameters: _MultiMap = None
    requestContext: dict[str, Any] | None = None
    body: str | None = None
    isBase64Encoded: bool | None = None


class _SqsMessage(msgspec.Struct):
    """One SQS message of a Lambda event."""

    messageId: str
    body: str
    attributes: dict[str, str]
    messageAttributes: dict[str, Any] | None = None
    eventSourceARN: str | None = None


class _WebSocketContext(msgspec.Struct):
    connectionId: str
    routeKey: str | None = None
    eventType: str | None = None
    domainName: str | None = None
    stage: str | None = None


class _WebSocketEvent(msgspec.Struct):
    """API Gateway WebSocket API event ($connect, $disconnect, messages)."""

    requestContext: _WebSocketContext
    headers: _Map = None
    multiValueHeaders: _MultiMap = None
    queryStringParameters: _Map = None
    multiValueQueryStringParameters: _MultiMap = None
    body: str | None = None
    isBase64Encoded: bool | None = None


_LatticeValues = dict[str, str | list[str]] | None


class _LatticeEvent(msgspec.Struct):
    """VPC Lattice request, v1 (`raw_path`, snake_case) and v2 (`path`, camelCase)."""

    method: str | None = None
    path: str | None = None
    raw_path: str | None = None
    headers: _LatticeValues = None
    query_string_parameters: _LatticeValues = None
    queryStringParameters: _LatticeValues = None
    body: str | None = None
    is_base64_encoded: bool | None = None
    isBase64Encoded: bool | None = None
    requestContext: dict[str, Any] | None = None


class _AuthorizerHttp(msgspec.Struct):
    method: str | None = None
    path: str | None = None
    sourceIp: str | None = None


class _AuthorizerContext(msgspec.Struct):
    accountId: str | None = None
    apiId: str | None = None
    stage: str | None = None
    requestId: str | None = None
    connectionId: str | None = None
    routeKey: str | None = None
    eventType: str | None = None
    domainName: str | None = None
    httpMethod: str | None = None
    http: _AuthorizerHttp | None = None
    identity: _Identity | None = None


class _AuthorizerEvent(msgspec.Struct):
    """API Gateway Lambda authorizer request (REST TOKEN/REQUEST, HTTP API 1.0/2.0, WebSocket): the
    fields `AuthorizerRequest` gives the handler; one of another type is denied, never allowed."""

    type: str | None = None
    version: str | None = None
    methodArn: str | None = None
    routeArn: str | None = None
    authorizationToken: str | None = None
    identitySource: str | list[str] | None = None
    headers: _Map = None
    multiValueHeaders: _MultiMap = None
    queryStringParameters: _Map = None
    multiValueQueryStringParameters: _MultiMap = None
    pathParameters: _Map = None
    stageVariables: _Map = None
    cookies: list[str] | None = None
    httpMethod: str | None = None
    path: str | None = None
    rawPath: str | None = None
    rawQueryString: str | None = None
    routeKey: str | None = None
    requestContext: _AuthorizerContext | None = None


_SHAPES: dict[str, Any] = {
    "authorizer": _AuthorizerEvent,
    "rest": _RestEvent,
    "http": _HttpEvent,
    "url": _HttpEvent,
    "alb": _AlbEvent,
    "sqs": _SqsMessage,
    "websocket": _WebSocketEvent,
    "lattice": _LatticeEvent,
}


def problems(event: Any, source: str) -> list[dict[str, str]]:
    """What in `event` (an HTTP event, or one SQS message) is not shaped as `source` sends it; [] when
    nothing is (or `source` has no shape here)."""
    shape = _SHAPES.get(source)
    if shape is None:
        return []
    try:
        msgspec.convert(event, shape, strict=True)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).rpartition(" - at `")
        return [{"location": "event", "path": path.rstrip("`") if text else "$", "message": text or str(exc)}]
    except Exception as exc:  # not even a mapping msgspec can read
        return [{"location": "event", "path": "$", "message": f"{type(exc).__name__}: {exc}"}]
    where = _lone_surrogate(event, "$")
    if where is not None:  # JSON may escape one ("\\udcff"); no AWS service sends it, and no UTF-8 can carry it
        return [{"location": "event", "path": where, "message": "Text is not valid Unicode (a lone surrogate)"}]
    if source != "sqs" and (event.get("isBase64Encoded") or event.get("is_base64_encoded")) and event.get("body"):
        try:
            binascii.a2b_base64(event["body"], strict_mode=True)
        except (ValueError, TypeError):
            return [
                {"location": "event", "path": "$.body", "message": "isBase64Encoded is true but the body is not base64"}
            ]
    return []


def lone_surrogate(value: Any) -> str | None:
    """The path (`$.body`, ...) of the first text in `value` UTF-8 cannot encode, else None."""
    return _lone_surrogate(value, "$")


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The path of the first text in `value` (keys included, at any depth) that UTF-8 cannot encode
    (a lone surrogate), else None. Iterative, so nesting deeper than the recursion limit is walked
    too; it runs only once handling an event has failed, never on the warm path."""
    stack: list[tuple[Any, Any]] = [(value, path)]  # (value, its path: a str, or (parent path, key))
    while stack:
        item, where = stack.pop()
        cls = item.__class__
        if cls is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return _path_text(where)
        elif cls is dict:
            for key, child in reversed(item.items()):
                if key.__class__ is str and not key.isascii():
                    try:
                        key.encode("utf-8")
                    except UnicodeEncodeError:
                        return _path_text((where, key))
                stack.append((child, (where, key)))
        elif cls is list or cls is tuple:
            stack.extend((child, (where, i)) for i, child in reversed(list(enumerate(item))))
    return None


class _Elided(int):
    """How many levels of a long path `_path_text` leaves out."""


def _path_text(where: Any) -> str:
    """`$.a.b[0]['x y']` from the nested (parent, key) pairs `_lone_surrogate` keeps; past 16 levels
    the middle ones are counted, not listed (the path goes into a log line and a 400 body)."""
    keys = []
    while where.__class__ is tuple:
        where, key = where
        keys.append(key)
    keys.reverse()
    if len(keys) > 16:
        keys[8:-4] = [_Elided(len(keys) - 12)]
    text = [where]
    for key in keys:
        if key.__class__ is _Elided:
            text.append(f"[...{key} levels...]")
        elif key.__class__ is int:
            text.append(f"[{key}]")
        elif key.__class__ is str and key.isidentifier():
            text.append(f".{key}")
        else:
            text.append(f"[{key!r}]")
    return "".join(text)


def malformed_event(source: str, found: list[dict[str, str]]) -> Exception:
    """The 400 for an event whose fields are not what `source` sends."""
    from lift.errors import BadRequest

    return BadRequest(f"Malformed {source} event", code="malformed_event", details=found)
