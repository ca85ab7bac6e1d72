"""VPC Lattice requests (event v1 and v2), routed by the HTTP router like any other HTTP source.

v1 uses snake_case fields (`raw_path`, `query_string_parameters`, `is_base64_encoded`); v2
(`version: "2.0"`) uses `path`, `queryStringParameters`, `isBase64Encoded` and a
`requestContext` naming the service network, and may send header and query values as lists.
Lattice expects the ALB-like answer: `statusCode`, `statusDescription`, `headers`, `body`,
`isBase64Encoded`.
"""

from __future__ import annotations

from typing import Any

from lift.context import Headers, QueryParams, Request, Response
from lift.sources.http import lambda_body, method_or_get, strip_base_path

NAME = "lattice"


def _values(value: Any) -> list[str]:
    return [str(v) for v in value if v is not None] if isinstance(value, list) else [str(value)]


class LatticeRequest(Request):
    """A request a VPC Lattice service forwarded to its Lambda target."""

    source = NAME
    # the path as the client sent it, still percent-encoded: path parameters are decoded as on the other
    # HTTP sources (App.chain_for; `%2F` inside a parameter is a "/" in its value, an invalid escape stays)
    path_encoded = True

    def _load_headers(self) -> Headers:
        values: dict[str, list[str]] = {}
        for name, value in (self.event.get("headers") or {}).items():
            if value is not None and (found := _values(value)):  # (an empty list: no such header)
                values.setdefault(name.lower(), []).extend(found)
        return Headers(values)

    def _load_query(self) -> QueryParams:
        query = self.event.get("queryStringParameters") or self.event.get("query_string_parameters") or {}
        return QueryParams({k: found for k, v in query.items() if v is not None and (found := _values(v))})

    @property
    def body(self) -> bytes:
        if self._body is None and self.event.get("is_base64_encoded") and self.event.get("body"):
            import binascii

            try:  # strict, as Request.body decodes v2's (and every HTTP source's) base64 bodies
                self._body = binascii.a2b_base64(self.event["body"], strict_mode=True)
            except (ValueError, TypeError):
                from lift.errors import BadRequest

                raise BadRequest(
                    "Request body is not valid base64", code="invalid_base64", details=[{"location": "body"}]
                ) from None
        return super().body

    @property
    def source_ip(self) -> str | None:
        forwarded = self.headers.get("x-forwarded-for")
        return forwarded.split(",")[0].strip() if forwarded else None


def request_from_event(event: dict[str, Any], base_path: str = "") -> LatticeRequest:
    path = event.get("path") or event.get("raw_path") or "/"
    path = path.split("?", 1)[0]  # v1's raw_path may carry the query string
    if base_path:
        path = strip_base_path(path, base_path)
    method = event.get("method") or None  # (in lower case: kept as sent, as every source keeps it; App routes it)
    if method.__class__ is not str:
        method = method_or_get(method)
    return LatticeRequest(event, method, path)


def encode_response(resp: Response, request: Request | None, request_id: str | None = None) -> dict[str, Any]:
    from lift.sources.alb import STATUS_LINES, single_value_headers, status_line

    resp, body, is_b64 = lambda_body(resp, request_id)
    return {
        "statusCode": resp.status,
        "statusDescription": STATUS_LINES.get(resp.status) or status_line(resp.status),
        "headers": single_value_headers(resp),  # (distinct casings of Set-Cookie carry several cookies)
        "body": body,
        "isBase64Encoded": is_b64,
    }
