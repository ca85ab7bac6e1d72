"""API Gateway REST APIs (and HTTP APIs with payload format 1.0): events and responses.

Payload 1.0 carries `multiValueHeaders` and `multiValueQueryStringParameters` (already
URL-decoded by API Gateway); cookies go back as `multiValueHeaders['Set-Cookie']`.
"""

from __future__ import annotations

from typing import Any

from lift.context import Headers, QueryParams, Request, Response
from lift.sources.http import JSON_FAST_PATH_BYTES, lambda_body, method_or_get, relative_path

NAME = "rest"

# the top-level keys of a REST API proxy event (payload 1.0) as AWS documents them; a REQUEST
# authorizer receives the same but the body (see lift.dev.authorizer)
EVENT_KEYS = (
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
)


class RestRequest(Request):
    """A request from an API Gateway REST API (payload format 1.0)."""

    source = NAME
    path_encoded = True  # REST APIs pass `path` still percent-encoded: parameters are decoded
    header_fields = ("multiValueHeaders", "headers")

    def _load_headers(self) -> Headers:
        multi = self.event.get("multiValueHeaders")
        single = self.event.get("headers")
        if not multi:
            return Headers.from_single(single)
        headers = Headers.from_multi(multi)
        if single and len(single) > len(headers):  # a header only in `headers` (hand-edited events)
            for name, value in single.items():
                if name not in headers:
                    headers._values[name.lower()] = [value]
        return headers

    def _load_query(self) -> QueryParams:
        multi = self.event.get("multiValueQueryStringParameters")
        if multi:
            # (a null list: no parameter; a text where AWS sends a list is one value, never its characters)
            return QueryParams({k: [v] if v.__class__ is str else list(v) for k, v in multi.items() if v})
        single = self.event.get("queryStringParameters")
        return QueryParams({k: [v] for k, v in single.items()}) if single else QueryParams()

    @property
    def content_type(self) -> str | None:
        headers = self.event.get("headers")
        if headers and self._headers is None:
            value = headers.get("content-type") or headers.get("Content-Type")
            if value is not None:
                return value
        return self.headers.get("content-type")

    @property
    def source_ip(self) -> str | None:
        identity = (self.event.get("requestContext") or {}).get("identity") or {}
        return identity.get("sourceIp")


def request_from_event(event: dict[str, Any], base_path: str = "") -> RestRequest:
    """Normalize a REST event. The routed path drops any stage or custom-domain base path."""
    try:  # the event as API Gateway sends it, read with plain subscripts (the hottest source)
        path, resource, method = event["path"], event["resource"], event["httpMethod"]
        if resource != path and ".execute-api." not in event["requestContext"]["domainName"]:
            path = relative_path(resource, event.get("pathParameters"), path)  # custom domain: base-path mapping
    except (KeyError, TypeError):  # a hand-made or partial event: read what is there
        path = event.get("path") or "/"
        resource = event.get("resource")
        method = event.get("httpMethod")
        if resource is not None and resource != path:
            domain = (event.get("requestContext") or {}).get("domainName") or ""
            if ".execute-api." not in domain:
                path = relative_path(resource, event.get("pathParameters"), path)
    if not path:
        path = "/"
    if base_path and path.startswith(base_path) and path[len(base_path) : len(base_path) + 1] in ("", "/"):
        path = path[len(base_path) :] or "/"  # http.strip_base_path, inlined on the hottest source
    if method.__class__ is not str:
        method = method_or_get(method)
    request = _new(RestRequest)  # RestRequest(event, method, path) without the __init__ call
    request.event, request.method, request.path = event, method, path
    return request


_new = object.__new__


def json_response(status: int, body: str, request: Request) -> dict[str, Any]:
    """The response for a JSON body already encoded (the direct path of `App`): no cookies."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }


def encode_response(resp: Response, request: Request | None, request_id: str | None = None) -> dict[str, Any]:
    """The proxy-integration response API Gateway expects."""
    if resp.headers.get("Content-Type") == "application/json" and len(resp.body) < JSON_FAST_PATH_BYTES:
        try:
            body, is_b64 = resp.body.decode("utf-8"), False
        except UnicodeDecodeError:  # (bytes labelled JSON that are not UTF-8: base64, as every source sends them)
            resp, body, is_b64 = lambda_body(resp, request_id)
    else:
        resp, body, is_b64 = lambda_body(resp, request_id)
    out: dict[str, Any] = {"statusCode": resp.status, "headers": resp.headers, "body": body, "isBase64Encoded": is_b64}
    if resp.cookies:
        out["multiValueHeaders"] = {"Set-Cookie": list(resp.cookies)}
    return out
