"""API Gateway HTTP APIs (payload format 2.0): events and responses.

Payload 2.0 has `rawPath`/`rawQueryString`, comma-joined header values and a separate
`cookies` list, both in the event and in the response.
"""

from __future__ import annotations

from typing import Any

from lift.context import Headers, QueryParams, Request, Response
from lift.sources.http import lambda_body, method_or_get, relative_path, strip_base_path

NAME = "http"


class HttpApiRequest(Request):
    """A request from an API Gateway HTTP API (payload format 2.0)."""

    source = NAME
    path_encoded = True
    header_fields = ("headers",)

    def _load_headers(self) -> Headers:
        return Headers.from_single(self.event.get("headers"), comma_joined=True)

    def _load_query(self) -> QueryParams:
        raw = self.event.get("rawQueryString")
        if raw:
            return QueryParams.parse(raw)
        single = self.event.get("queryStringParameters")
        if single:
            return QueryParams({k: v.split(",") for k, v in single.items()})
        return QueryParams()

    def _cookie_headers(self) -> list[str]:
        cookies = self.event.get("cookies")
        if not cookies:
            return self.headers.getall("cookie")
        return [cookies] if cookies.__class__ is str else ["; ".join(cookies)]  # (text: one, not its characters)

    @property
    def content_type(self) -> str | None:
        headers = self.event.get("headers")
        if not headers:
            return None
        value = headers.get("content-type")  # API Gateway lowercases names; hand-made events may not
        return value if value is not None else self.headers.get("content-type")

    @property
    def source_ip(self) -> str | None:
        return ((self.event.get("requestContext") or {}).get("http") or {}).get("sourceIp")


def routed_path(event: dict[str, Any], base_path: str) -> str:
    """`rawPath` without a named stage prefix, custom-domain mapping or configured base path."""
    path = event.get("rawPath") or "/"
    ctx = event.get("requestContext") or {}
    stage = ctx.get("stage")
    if stage and stage != "$default":
        prefix = "/" + stage
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :] or "/"
    route_key = event.get("routeKey") or ctx.get("routeKey")
    if route_key and " " in route_key and ".execute-api." not in (ctx.get("domainName") or ""):
        # (the path stays as sent, percent-encoded: relative_path finds its tail whether API Gateway
        # decoded the parameters or not, so an escaped "/" or "%" is never decoded twice)
        path = relative_path(route_key.split(" ", 1)[1], event.get("pathParameters"), path)
    return strip_base_path(path, base_path) if base_path else path


def plain_path(event: dict[str, Any], base_path: str) -> tuple[str, str] | None:
    """(method, path) of an event as AWS sends it on its own domain and the `$default` stage,
    read with plain subscripts: `routed_path` has nothing to strip or rebuild there. None for
    anything else (named stage, custom domain with a route template, base path, odd fields)."""
    try:
        ctx = event["requestContext"]
        method, path = ctx["http"]["method"], event["rawPath"]
        if (
            ctx["stage"] != "$default"
            or base_path
            or method.__class__ is not str
            or path.__class__ is not str
            or not path
            or (" " in event["routeKey"] and ".execute-api." not in ctx["domainName"])
        ):
            return None
    except (KeyError, TypeError):
        return None
    return method, path


def as_sent(path: str) -> str:
    """An HTTP API's `rawPath` with each "%" the client sent (as `%25`) escaped again.

    API Gateway HTTP APIs decode the path they pass on, but for an escaped "/" (`%2F`), which stays
    escaped (AWS samples: `/tmh/file name.xml` for `file%20name.xml`, `/encoding/a%2Fb` with the
    parameter `a/b`); REST APIs, function URLs and ALB pass it as sent. Any other "%" is the client's
    own: escaped here, so a parameter is decoded exactly once (a client's `%2541` arrives as `%41`,
    never `A`). The rest stays as API Gateway gave it (the router finds a route's text in any
    spelling): a path without "%" is returned as it is (App's HTTP API handler tests the same)."""
    if "%" not in path:
        return path
    return "%2F".join(part.replace("%", "%25") for part in path.replace("%2f", "%2F").split("%2F"))


def request_from_event(event: dict[str, Any], base_path: str = "") -> HttpApiRequest:
    plain = plain_path(event, base_path)
    if plain is not None:
        request = _new(HttpApiRequest)  # HttpApiRequest(event, method, path) without the __init__ call
        request.event, request.method, request.path = event, plain[0], as_sent(plain[1])
        return request
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    if method.__class__ is not str:
        method = method_or_get(method)
    path = routed_path(event, base_path)
    return HttpApiRequest(event, method, as_sent(path) if path.__class__ is str else path)


_new = object.__new__


def json_response(status: int, body: str, request: Request) -> dict[str, Any]:
    """The payload 2.0 response for a JSON body already encoded (the direct path of `App`)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }


def encode_response(resp: Response, request: Request | None, request_id: str | None = None) -> dict[str, Any]:
    """The payload 2.0 response: cookies in their own list."""
    resp, body, is_b64 = lambda_body(resp, request_id)
    out: dict[str, Any] = {"statusCode": resp.status, "headers": resp.headers, "body": body, "isBase64Encoded": is_b64}
    if resp.cookies:
        out["cookies"] = list(resp.cookies)
    return out
