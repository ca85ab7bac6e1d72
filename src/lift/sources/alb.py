"""Application Load Balancer target events and responses.

ALB passes the query string still percent-encoded, uses `multiValueHeaders` only when the
target group enables them (the response must then use them too), and needs a
`statusDescription` in every response.
"""

from __future__ import annotations

from typing import Any

from lift.context import Headers, QueryParams, Request, Response
from lift.sources.http import ALB_MAX_RESPONSE_BYTES, lambda_body, method_or_get, strip_base_path

NAME = "alb"


class AlbRequest(Request):
    """A request forwarded by an Application Load Balancer."""

    source = NAME
    path_encoded = True
    header_fields = ("multiValueHeaders", "headers")

    def _load_headers(self) -> Headers:
        multi = self.event.get("multiValueHeaders")
        if multi:
            return Headers.from_multi(multi)
        return Headers.from_single(self.event.get("headers"))

    def _load_query(self) -> QueryParams:
        """ALB passes the query as the client sent it, percent-encoded: decoded here, strictly (an
        escape that is not UTF-8 is a 400, as `QueryParams.parse` answers it on the other sources)."""
        from functools import partial
        from urllib.parse import unquote_plus

        from lift.context import bad_query_encoding

        decode = partial(unquote_plus, errors="strict")
        try:
            multi = self.event.get("multiValueQueryStringParameters")
            if multi:
                return QueryParams(
                    {
                        decode(k): [decode(v) for v in ([vs] if vs.__class__ is str else vs)]
                        for k, vs in multi.items()
                        if vs
                    }
                )
            single = self.event.get("queryStringParameters")
            if single:
                return QueryParams({decode(k): [decode(v)] for k, v in single.items()})
        except UnicodeDecodeError:
            raise bad_query_encoding() from None
        return QueryParams()

    @property
    def source_ip(self) -> str | None:
        forwarded = self.headers.get("x-forwarded-for")
        return forwarded.split(",")[-1].strip() if forwarded else None


def request_from_event(event: dict[str, Any], base_path: str = "") -> AlbRequest:
    path = event.get("path") or "/"
    if base_path:
        path = strip_base_path(path, base_path)
    method = event.get("httpMethod")
    if method.__class__ is not str:
        method = method_or_get(method)
    request = _new(AlbRequest)  # AlbRequest(event, method, path) without the __init__ call
    request.event, request.method, request.path = event, method, path
    return request


_new = object.__new__


# RFC 9110's names for the four statuses Python 3.13's HTTPStatus renamed (3.11 and 3.12 keep RFC 7231's):
# the same statusDescription whichever runtime the function runs on
_RFC9110_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def status_line(status: int) -> str:
    """The `statusDescription` ALB wants: "404 Not Found" (the status alone when it has no phrase)."""
    phrase = _RFC9110_PHRASES.get(status)
    if phrase is not None:
        return f"{status} {phrase}"
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def json_response(status: int, body: str, request: Request) -> dict[str, Any]:
    """The ALB response for a JSON body already encoded (the direct path of `App`)."""
    return json_response_for_event(status, body, request.event)


def json_response_for_event(status: int, body: str, event: dict[str, Any]) -> dict[str, Any]:
    """`json_response` from the event itself: the direct path answers without a request object."""
    out: dict[str, Any] = {
        "statusCode": status,
        "statusDescription": STATUS_LINES.get(status) or status_line(status),
        "body": body,
        "isBase64Encoded": False,
    }
    if "multiValueHeaders" in event:
        out["multiValueHeaders"] = {"Content-Type": ["application/json"]}
    else:
        out["headers"] = {"Content-Type": "application/json"}
    return out


# the statuses of the direct path's answers (App's default 404 and 422 included), without the import
# (422 by its RFC 9110 name on every Python version, as status_line gives it)
STATUS_LINES = {
    200: "200 OK",
    201: "201 Created",
    204: "204 No Content",
    404: "404 Not Found",
    422: "422 Unprocessable Content",
}


def encode_response(resp: Response, request: Request | None, request_id: str | None = None) -> dict[str, Any]:
    """The ALB response, in the header mode the request arrived in (a body over its 1 MB limit: a 500)."""
    resp, body, is_b64 = lambda_body(resp, request_id, ALB_MAX_RESPONSE_BYTES)
    out: dict[str, Any] = {
        "statusCode": resp.status,
        "statusDescription": STATUS_LINES.get(resp.status) or status_line(resp.status),
        "body": body,
        "isBase64Encoded": is_b64,
    }
    multi = request is not None and "multiValueHeaders" in request.event
    if multi:
        if resp.cookies:
            headers, cookies = headers_and_cookies(resp)
            multi_headers = {k: [v] for k, v in headers.items()}
            multi_headers["Set-Cookie"] = cookies
        else:
            multi_headers = {k: [v] for k, v in resp.headers.items()}
        out["multiValueHeaders"] = multi_headers
    else:
        out["headers"] = single_value_headers(resp)
    return out


def headers_and_cookies(resp: Response) -> tuple[dict[str, str], list[str]]:
    """The response's headers without any `Set-Cookie` one, and every cookie: a `Set-Cookie` header
    the handler set (in any casing) first, then those of `set_cookie`; none is lost to the other."""
    headers = dict(resp.headers)
    cookies = [headers.pop(name) for name in [n for n in headers if n.lower() == "set-cookie"]]
    cookies.extend(resp.cookies)
    return headers, cookies


def single_value_headers(resp: Response) -> dict[str, str]:
    """The headers of an answer without multi-value headers (ALB's default mode, VPC Lattice): distinct
    casings of `Set-Cookie` carry several cookies, a `Set-Cookie` header the handler set kept among them."""
    if not resp.cookies:
        return dict(resp.headers)
    headers, cookies = headers_and_cookies(resp)
    for i, cookie in enumerate(cookies):
        headers[_case_variant("set-cookie", i)] = cookie
    return headers


def _case_variant(name: str, n: int) -> str:
    """The n-th distinct capitalisation of `name` (n=0 is the canonical `Set-Cookie`)."""
    if n == 0:
        return "Set-Cookie"
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    chars = list(name)
    for bit, pos in enumerate(letters):
        if n >> bit & 1:
            chars[pos] = chars[pos].upper()
    return "".join(chars)
