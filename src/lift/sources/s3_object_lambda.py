"""S3 Object Lambda (GetObject): Lift fetches the original object from the presigned
`inputS3Url`, hands it to the handler as `body` (bytes, `str`, or JSON into a model), and sends
the return value back with `WriteGetObjectResponse` (bytes/str as they are, anything else as
JSON). A `LiftError` is sent as its status and code, any other exception as a 500
(`ProcessingFailed`) and logged; either way the caller gets an answer. `ctx.record` gives
`user_request` (url, headers), `configuration` (access point ARNs, `payload`),
`user_identity`, `request_route`, `request_token`.

The original is fetched with urllib (one GET of a presigned URL needs no HTTP client); the
answer goes through boto3's S3 client (`lift-lambda[aws]`), made once.
"""

from __future__ import annotations

import re
import urllib.request
from typing import Any

from lift import serialization
from lift.batch import RecordResult, log_record_failure
from lift.context import Response
from lift.errors import find_lift_error
from lift.sources.record import Record

__all__ = ["ObjectRequest", "dispatch"]

_client: Any = None


def client() -> Any:
    global _client
    if _client is None:
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError('S3 Object Lambda needs boto3: pip install "lift-lambda[aws]"') from exc
        _client = boto3.client("s3")
    return _client


class ObjectRequest(Record):
    kind = "s3_object_lambda"
    _original: bytes | None = None

    @property
    def record_id(self) -> str | None:
        return self.raw.get("xAmzRequestId")

    @property
    def context(self) -> dict[str, Any]:
        return self.raw.get("getObjectContext") or {}

    @property
    def input_url(self) -> str:
        return self.context.get("inputS3Url") or ""

    @property
    def request_route(self) -> str:
        return self.context.get("outputRoute") or ""

    @property
    def request_token(self) -> str:
        return self.context.get("outputToken") or ""

    @property
    def configuration(self) -> dict[str, Any]:
        return self.raw.get("configuration") or {}

    @property
    def access_point(self) -> str:
        return (self.configuration.get("accessPointArn") or "").rsplit("/", 1)[-1]

    @property
    def user_request(self) -> dict[str, Any]:
        return self.raw.get("userRequest") or {}

    @property
    def user_identity(self) -> dict[str, Any]:
        return self.raw.get("userIdentity") or {}

    def original(self) -> bytes:
        """The original object's bytes (fetched once from the presigned URL)."""
        if self._original is None:
            with urllib.request.urlopen(self.input_url, timeout=30) as response:
                self._original = response.read()
        return self._original

    def json_text(self) -> bytes:
        return self.original()


def _encoded(value: Any) -> bytes:
    if isinstance(value, Response):
        return value.body
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return serialization.encode_json(value)


_ROUTE = re.compile(r"[A-Za-z0-9.-]{1,255}")  # what S3 sends (`io-use1-001`), and all botocore accepts


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, int]:
    record = ObjectRequest(event)
    for field in ("outputRoute", "outputToken"):  # what WriteGetObjectResponse answers to: without it, nothing can
        if record.context.get(field).__class__ is not str or not record.context[field]:
            raise app._malformed_event("s3_object_lambda", f"$.getObjectContext.{field}", "expected text", context)
    if not _ROUTE.fullmatch(record.request_route):  # the route is a host name label: no other text can be sent
        raise app._malformed_event(
            "s3_object_lambda", "$.getObjectContext.outputRoute", "not a host name label", context
        )
    s3 = getattr(app, "s3_object_lambda_client", None) or client()
    route = {"RequestRoute": record.request_route, "RequestToken": record.request_token}
    handler = next((h for h in handlers if h.match(record.access_point)), None)
    if handler is None:
        s3.write_get_object_response(StatusCode=500, ErrorCode="NoHandler", ErrorMessage="no handler", **route)
        raise app._unmatched_event("s3_object_lambda", f"access point {record.access_point!r}", context)
    ctx = app.new_context(event, context, "s3_object_lambda")
    ctx.record = record
    try:
        result = handler.chain(ctx)
        body = _encoded(result.value if isinstance(result, RecordResult) else result)
    except Exception as exc:
        log_record_failure(ctx, record, exc)
        err = find_lift_error(exc)
        status, code = (err.status, err.code) if err is not None else (500, "ProcessingFailed")
        message = err.message if err is not None else "The object could not be transformed"
        s3.write_get_object_response(StatusCode=status, ErrorCode=code, ErrorMessage=message, **route)
        return {"status_code": status}
    s3.write_get_object_response(Body=body, StatusCode=200, **route)
    return {"status_code": 200}
