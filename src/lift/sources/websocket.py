"""API Gateway WebSocket: connect/message/disconnect events, and the `{"statusCode": ...}` reply."""

from __future__ import annotations

import base64
from typing import Any

from lift.context import Headers, QueryParams, Response
from lift.sources.record import Record, decode_json_or_text

__all__ = ["WebSocketEvent", "encode_response", "error_response"]


class WebSocketEvent(Record):
    """One WebSocket event: connection_id, route_key, domain, stage, event_type, message body.

    `$connect` also carries the handshake's headers and query string.
    """

    _headers: Headers | None = None
    _query: QueryParams | None = None
    _body: str | None = None

    kind = "websocket"

    @property
    def _rc(self) -> dict[str, Any]:
        return self.raw["requestContext"]

    @property
    def record_id(self) -> str | None:
        rc = self._rc
        return rc.get("messageId") or rc.get("requestId")

    @property
    def connection_id(self) -> str:
        return self._rc["connectionId"]

    @property
    def route_key(self) -> str:
        return self._rc.get("routeKey") or "$default"

    @property
    def event_type(self) -> str:
        """`CONNECT`, `MESSAGE` or `DISCONNECT`."""
        return self._rc.get("eventType") or ""

    @property
    def domain(self) -> str:
        return self._rc.get("domainName") or ""

    @property
    def stage(self) -> str:
        return self._rc.get("stage") or ""

    @property
    def api_id(self) -> str | None:
        return self._rc.get("apiId")

    @property
    def message_id(self) -> str | None:
        return self._rc.get("messageId")

    @property
    def connected_at(self) -> int | None:
        return self._rc.get("connectedAt")

    @property
    def source_ip(self) -> str | None:
        return (self._rc.get("identity") or {}).get("sourceIp")

    @property
    def disconnect_status_code(self) -> int | None:
        return self._rc.get("disconnectStatusCode")

    @property
    def disconnect_reason(self) -> str | None:
        return self._rc.get("disconnectReason")

    @property
    def endpoint(self) -> str:
        """The Management API endpoint for this connection's API and stage."""
        return f"https://{self.domain}/{self.stage}"

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            multi = self.raw.get("multiValueHeaders")
            self._headers = Headers.from_multi(multi) if multi else Headers.from_single(self.raw.get("headers"))
        return self._headers

    @property
    def query(self) -> QueryParams:
        if self._query is None:
            multi = self.raw.get("multiValueQueryStringParameters") or {}
            single = self.raw.get("queryStringParameters") or {}
            values = {k: [v] if v.__class__ is str else list(v) for k, v in multi.items() if v}
            values = values or {k: [v] for k, v in single.items()}
            self._query = QueryParams(values)
        return self._query

    @property
    def body(self) -> str:
        if self._body is None:
            raw = self.raw.get("body") or ""
            if raw and self.raw.get("isBase64Encoded"):
                try:  # strict, as for HTTP bodies: a frame API Gateway encoded is always valid base64
                    raw = base64.b64decode(raw, validate=True).decode("utf-8", "replace")
                except (ValueError, TypeError):
                    from lift.errors import BadRequest

                    raise BadRequest(
                        "Message body is not valid base64", code="invalid_base64", details=[{"location": "body"}]
                    ) from None
            self._body = raw
        return self._body

    @property
    def text(self) -> str:
        return self.body

    def json_text(self) -> str:
        return self.body

    def payload(self) -> Any:
        body = self.body
        return decode_json_or_text(body) if body else None


def encode_response(response: Response) -> dict[str, Any]:
    """What API Gateway expects back from a WebSocket integration (the body goes to the client
    only when the route has a route response)."""
    out: dict[str, Any] = {"statusCode": response.status}
    if response.headers:
        out["headers"] = dict(response.headers)
    if response.body:
        if response.is_text:
            out["body"] = response.body.decode("utf-8")
        else:
            out["body"] = base64.b64encode(response.body).decode("ascii")
            out["isBase64Encoded"] = True
    return out


def error_response(app: Any, ctx: Any, exc: BaseException) -> Response:
    """`app.error_response(ctx, exc)`, but a failure caused by a field API Gateway never sends (text no
    UTF-8 can carry, a header of the wrong type) is the event's fault: a 400 `malformed_event`, as for HTTP."""
    from lift.errors import find_lift_error, lift_logger

    if find_lift_error(exc) is None:
        from lift.sources.event_shape import malformed_event, problems

        found = problems(ctx.event, "websocket")
        if found:
            lift_logger().warning(
                "Malformed websocket event (request_id=%s): %s: %s (%s: %s)",
                ctx.request_id,
                found[0]["path"],
                found[0]["message"],
                type(exc).__name__,
                exc,
                extra={"request_id": ctx.request_id, "details": found},
            )
            exc = malformed_event("websocket", found)
    return app.error_response(ctx, exc)
