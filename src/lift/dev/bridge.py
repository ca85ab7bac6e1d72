"""HTTP request -> API Gateway event, and Lambda proxy result -> HTTP response.

The dev server turns each real request into the event API Gateway would send (REST payload
1.0 or HTTP API payload 2.0, built with `lift.testing.events`) and turns the function's
result back into a response the way API Gateway does, including its 502 for a malformed one.
"""

from __future__ import annotations

import base64
from typing import Any

from lift.context import Response, is_text_content_type

__all__ = ["bad_gateway", "event_from_request", "response_from_result"]


def event_from_request(scope: dict[str, Any], body: bytes, payload: str) -> dict[str, Any]:
    """The API Gateway event for an ASGI HTTP request (`payload` "rest" or "http"). A REST request whose
    query string does not decode as UTF-8 (`?q=%FF`) raises the 400 the app answers it with on every
    source that passes it on as sent (an HTTP API, ALB, function URLs): the answer, not a U+FFFD."""
    from lift.asgi import multi_headers, multi_query
    from lift.testing import events

    headers = multi_headers(scope)
    try:  # (REST: API Gateway decodes the query; an escape that is not UTF-8 is the 400 `invalid_query_encoding`)
        query = multi_query(scope, "strict" if payload == "rest" else "replace")
    except UnicodeDecodeError:
        from lift.context import bad_query_encoding

        raise bad_query_encoding() from None
    content_type = (headers.get("Content-Type") or [None])[-1]
    is_base64 = bool(body) and not is_text_content_type(content_type)
    method, path = scope["method"], _wire_path(scope)
    client_ip = (scope.get("client") or ("127.0.0.1", 0))[0]
    headers.setdefault("X-Forwarded-For", [client_ip])
    headers.setdefault("X-Forwarded-Proto", [scope.get("scheme", "http")])
    headers.setdefault("X-Forwarded-Port", [str((scope.get("server") or ("", 80))[1])])
    body_arg = body if body else None
    if payload == "http":
        event = events.apigw_http(method, path, body=body_arg, headers=headers, query=query, is_base64=is_base64)
        if scope.get("query_string"):  # as an HTTP API passes it on: as sent (`%FF` the app's 400, not a U+FFFD)
            from lift.asgi import header_text

            event["rawQueryString"] = header_text(scope["query_string"])
        event["requestContext"]["http"]["sourceIp"] = client_ip
        event["requestContext"]["http"]["userAgent"] = (headers.get("User-Agent") or [""])[-1]
        event["requestContext"]["http"]["method"] = method  # (as sent, in any case, as API Gateway passes it on)
    else:
        event = events.apigw_rest(method, path, body=body_arg, headers=headers, query=query, is_base64=is_base64)
        identity = event["requestContext"]["identity"]
        identity["sourceIp"] = client_ip
        identity["userAgent"] = (headers.get("User-Agent") or [None])[-1]
        event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    return event


def _wire_path(scope: dict[str, Any]) -> str:
    """The path as the client sent it, still percent-encoded, as API Gateway hands it on: the server's
    decoded `path` would turn `%3F` into a "?" the event builder takes for the query, and `%2F` into a
    "/" between segments."""
    raw = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1")
    from lift.asgi import wire_path

    return wire_path(scope["path"] or "/")


def bad_gateway() -> Response:
    """What API Gateway answers when the function fails or returns a malformed result."""
    return Response.json({"message": "Internal server error"}, status=502)


def response_from_result(result: Any) -> Response:
    """A Lambda proxy result (payload 1.0 or 2.0) as the HTTP response API Gateway sends."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return bad_gateway()
    body = result.get("body") or ""
    try:
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    except ValueError:
        return bad_gateway()
    response = Response(None, result["statusCode"])
    response.body = raw
    response.headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    cookies: list[str] = [str(c) for c in result.get("cookies") or []]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name.lower() == "set-cookie":
            cookies.extend(str(v) for v in values)
        else:
            response.headers[name] = ", ".join(str(v) for v in values)
    response.cookies = cookies
    return response
