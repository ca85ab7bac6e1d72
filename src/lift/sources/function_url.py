"""Lambda function URLs: the HTTP API payload 2.0 shape on a `lambda-url` domain."""

from __future__ import annotations

from typing import Any

from lift.sources.apigw_http import HttpApiRequest, encode_response, json_response, plain_path, routed_path
from lift.sources.http import method_or_get

__all__ = ["NAME", "FunctionUrlRequest", "request_from_event", "encode_response", "json_response", "is_function_url"]

NAME = "url"


class FunctionUrlRequest(HttpApiRequest):
    """A request that arrived through a function URL."""

    source = NAME


_new = object.__new__


def is_function_url(event: dict[str, Any]) -> bool:
    return ".lambda-url." in ((event.get("requestContext") or {}).get("domainName") or "")


def request_from_event(event: dict[str, Any], base_path: str = "") -> FunctionUrlRequest:
    plain = plain_path(event, base_path)
    if plain is not None:
        request = _new(FunctionUrlRequest)  # FunctionUrlRequest(event, method, path) without the __init__ call
        request.event, (request.method, request.path) = event, plain
        return request
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    if method.__class__ is not str:
        method = method_or_get(method)
    return FunctionUrlRequest(event, method, routed_path(event, base_path))
