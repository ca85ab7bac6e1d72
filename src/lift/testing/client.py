"""TestClient: drive an App through the real Lambda event of each HTTP source."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from lift import serialization
from lift.context import Headers
from lift.testing import events
from lift.testing.context import lambda_context

__all__ = ["TestClient", "TestResponse"]

_BUILDERS = {
    "rest": events.apigw_rest,
    "http": events.apigw_http,
    "alb": events.alb,
    "url": events.function_url,
    "lattice": events.vpc_lattice,
}


class TestResponse:
    """What a client would receive, decoded from the handler's raw result."""

    __test__ = False

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status_code: int = raw["statusCode"]
        values: dict[str, list[str]] = {}
        for name, value in (raw.get("headers") or {}).items():
            values.setdefault(name.lower(), []).append(value)
        for name, vals in (raw.get("multiValueHeaders") or {}).items():
            values.setdefault(name.lower(), []).extend(vals)
        self.headers = Headers(values)
        self.cookies: list[str] = list(raw.get("cookies") or []) + self.headers.getall("set-cookie")
        body = raw.get("body") or ""
        self.body: bytes = base64.b64decode(body) if raw.get("isBase64Encoded") else body.encode("utf-8")

    @property
    def text(self) -> str:
        """The body as text, in the `charset` its Content-Type names (UTF-8 by default); bytes that
        are not text in it show as U+FFFD, as a browser shows them."""
        charset = "utf-8"
        for param in (self.headers.get("content-type") or "").split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip().strip('"'):
                charset = value.strip().strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # (a charset Python does not know)
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; a ValueError naming the response when it is not JSON (never the
        app's own 400 error about a request body)."""
        try:
            return serialization.decode_json(self.body)
        except Exception as exc:  # (decode_json raises the app-facing BadRequest)
            content_type = self.headers.get("content-type") or "none"
            raise ValueError(
                f"the response body is not JSON (status {self.status_code}, Content-Type {content_type}): "
                f"{self.body[:80]!r}"
            ) from exc

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code} {self.body[:80]!r}>"


_COOKIE_NAME_FORBIDDEN = frozenset('()<>@,;:\\"/[]?={} \t')


def _check_cookies(cookies: Mapping[str, str]) -> None:
    """Refuse a cookie no client can send: a `;` in a value would reach the app as two cookies."""
    for name, value in cookies.items():
        if not name or any(c in _COOKIE_NAME_FORBIDDEN or not " " < c < "\x7f" for c in name):
            raise ValueError(f"cookie name {name!r} is not a token (RFC 6265): no client can send it")
        if any(c == ";" or c < " " or c == "\x7f" for c in str(value)):
            raise ValueError(
                f"cookie {name!r} has a ';' or a control character in its value {value!r}: a Cookie header "
                "cannot carry it (a client would send two cookies); encode the value, as browsers' code does"
            )


class TestClient:
    """Calls `app.handler` with AWS-shaped events: `client.get("/users/1")`."""

    __test__ = False

    def __init__(self, app: Any, source: str = "rest", **event_options: Any) -> None:
        if source not in _BUILDERS:
            raise ValueError(f"source must be one of {sorted(_BUILDERS)}, not {source!r}")
        self.app = app
        self.source = source
        self.event_options = event_options
        self.last_event: dict[str, Any] | None = None

    def build_event(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: Any = None,
        headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        cookies: Mapping[str, str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """The exact event the request becomes for this client's source."""
        hdrs: dict[str, Any] = events.grouped(headers, fold_case=True)
        if json is None and body is not None and not isinstance(body, str | bytes):
            json, body = body, None  # (a dict or list body is sent as JSON, never as its Python repr)
        if json is not None:
            body = serialization.encode_json(json).decode("utf-8")
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        if cookies:
            _check_cookies(cookies)
            cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
            if self.source in ("http", "url"):
                options.setdefault("cookies", [f"{k}={v}" for k, v in cookies.items()])
            else:  # (one Cookie header, as a browser sends: after the one given in `headers`, if any)
                given = next((k for k in hdrs if k.lower() == "cookie"), None)
                hdrs[given or "Cookie"] = ["; ".join([*hdrs[given], cookie_header])] if given else [cookie_header]
        merged = {**self.event_options, **options}
        return _BUILDERS[self.source](method, path, body=body, headers=hdrs, query=events.grouped(query), **merged)

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        context = kwargs.pop("context", None) or lambda_context()
        event = self.build_event(method, path, **kwargs)
        self.last_event = event
        return TestResponse(self.app.handler(event, context))

    def invoke(self, event: Any, context: Any = None) -> Any:
        """Call the handler with any event and return its raw result."""
        return self.app.handler(event, context or lambda_context())

    # -- event sources: each builds the AWS-shaped event and returns the handler's raw result --
    def sqs(self, queue: str, bodies: list[Any], **options: Any) -> Any:
        """Send an SQS batch (one record per body); returns `{"batchItemFailures": [...]}`."""
        return self.invoke(events.sqs(queue, bodies, **options))

    def sns(self, topic: str, message: Any, **options: Any) -> Any:
        return self.invoke(events.sns(topic, message, **options))

    def s3(self, bucket: str, key: str, **options: Any) -> Any:
        return self.invoke(events.s3(bucket, key, **options))

    def eventbridge(self, source: str, detail_type: str, detail: Any = None, **options: Any) -> Any:
        return self.invoke(events.eventbridge(source, detail_type, detail, **options))

    def schedule(self, rule: str, **options: Any) -> Any:
        return self.invoke(events.schedule(rule, **options))

    def dynamodb_stream(self, table: str, changes: list[dict[str, Any]]) -> Any:
        """Send stream records (`{"event_name": "INSERT", "keys": {...}, "new_image": {...}}` each)."""
        return self.invoke(events.dynamodb_stream(table, changes))

    def kinesis(self, stream: str, data: list[Any], **options: Any) -> Any:
        return self.invoke(events.kinesis(stream, data, **options))

    def websocket_connect(self, **options: Any) -> Any:
        """Returns `{"statusCode": ...}` as API Gateway receives it."""
        return self.invoke(events.websocket_connect(**options))

    def websocket_message(self, body: Any, **options: Any) -> Any:
        return self.invoke(events.websocket_message(body, **options))

    def websocket_disconnect(self, **options: Any) -> Any:
        return self.invoke(events.websocket_disconnect(**options))

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kwargs)
