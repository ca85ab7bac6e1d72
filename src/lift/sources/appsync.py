"""AppSync direct Lambda resolvers (single and batch) and AppSync Lambda authorizers.

Resolvers: `@app.appsync("Query.getPost")` (a `parentTypeName.fieldName` glob) gets `body` =
`arguments` (typed by hint) and `ctx.record` (`field_name`, `parent_type_name`, `arguments`,
`identity`, `source`, `request_headers`, `prev`, `stash`, `selection_set_list`); its return
value is the field's value. A raised exception fails the invocation, which AppSync reports as
a GraphQL error (`errorType` = the exception's class, `errorMessage` = its message). A batch
(a list of resolver events) is answered with a list in the same order; an item whose handler
raises is logged and answered `None`, and the other items keep their values.

Authorizers: `@app.appsync_authorizer()` gets `ctx.record` (`authorization_token`, `api_id`,
`operation_name`, `query_string`, `variables`, `request_headers`) and returns the caller (a
`Principal`, a claims dict, a user id or True): Lift answers `{"isAuthorized": true,
"resolverContext": {...}}`. Return an `AppSyncAuthorization` for `deniedFields`/`ttlOverride`;
`Unauthorized`/`Forbidden` (or returning None/False) answer `{"isAuthorized": false}`.
"""

from __future__ import annotations

from typing import Any

from lift.batch import RecordResult, log_record_failure
from lift.context import Response
from lift.errors import find_lift_error
from lift.sources.invoke import encode_result
from lift.sources.record import Record
from lift.sources.triggers import returned_wrong, run_handler

__all__ = ["AppSyncAuthorization", "AuthorizerEvent", "ResolverEvent", "dispatch"]


class ResolverEvent(Record):
    kind = "appsync"

    @property
    def record_id(self) -> str | None:
        return (self.raw.get("request") or {}).get("headers", {}).get("x-amzn-requestid") or self.field

    @property
    def info(self) -> dict[str, Any]:
        return self.raw.get("info") or {}

    @property
    def field_name(self) -> str:
        return self.info.get("fieldName") or ""

    @property
    def parent_type_name(self) -> str:
        return self.info.get("parentTypeName") or ""

    @property
    def field(self) -> str:
        """`parentTypeName.fieldName`, what `@app.appsync` matches."""
        return f"{self.parent_type_name}.{self.field_name}"

    @property
    def arguments(self) -> dict[str, Any]:
        return self.raw.get("arguments") or {}

    @property
    def identity(self) -> dict[str, Any] | None:
        return self.raw.get("identity")

    @property
    def source(self) -> dict[str, Any] | None:
        return self.raw.get("source")

    @property
    def request_headers(self) -> dict[str, str]:
        return (self.raw.get("request") or {}).get("headers") or {}

    @property
    def prev(self) -> Any:
        return self.raw.get("prev")

    @property
    def stash(self) -> dict[str, Any]:
        return self.raw.get("stash") or {}

    @property
    def variables(self) -> dict[str, Any]:
        return self.info.get("variables") or {}

    @property
    def selection_set_list(self) -> list[str]:
        return self.info.get("selectionSetList") or []

    def payload(self) -> Any:
        return self.arguments


def _value(result: Any) -> Any:
    """A resolver's return value as JSON data (models converted), what the Lambda runtime can send."""
    if isinstance(result, Response) and not result.body:
        return None
    return encode_result(result)


def _resolve(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> Any:
    record = ResolverEvent(event)
    handler = next((h for h in handlers if h.match(record.field)), None)
    if handler is None:
        raise app._unmatched_event("appsync", f"field {record.field!r}", context)
    result = run_handler(app, handler, event, context, "appsync", record)
    try:
        return _value(result)
    except Exception as exc:  # a value that does not encode: the handler's mistake, not the event's
        raise returned_wrong(app, event, context, "appsync", record, exc) from None


def _dispatch_batch(app: Any, handlers: list[Any], events: list[dict[str, Any]], context: Any) -> list[Any]:
    answers: list[Any] = []
    for event in events:
        record = ResolverEvent(event)
        handler = next((h for h in handlers if h.match(record.field)), None)
        if handler is None:
            raise app._unmatched_event("appsync", f"field {record.field!r}", context)
        ctx = app.new_context(events, context, "appsync")
        ctx.record = record
        try:
            result = handler.chain(ctx)
            value = _value(result.value if isinstance(result, RecordResult) else result)
        except Exception as exc:  # (also a value that does not encode): this item alone is None
            log_record_failure(ctx, record, exc)
            answers.append(None)
            continue
        answers.append(value)
    return answers


# -- authorizers -------------------------------------------------------------------------------
class AppSyncAuthorization:
    """An authorizer's full answer: the caller plus `denied_fields` and `ttl_override` (seconds)."""

    def __init__(
        self, principal: Any = True, denied_fields: list[str] | None = None, ttl_override: int | None = None
    ) -> None:
        self.principal = principal
        self.denied_fields = denied_fields
        self.ttl_override = ttl_override


class AuthorizerEvent(Record):
    kind = "appsync_authorizer"

    @property
    def record_id(self) -> str | None:
        return self.request_context.get("requestId")

    @property
    def request_context(self) -> dict[str, Any]:
        return self.raw.get("requestContext") or {}

    @property
    def authorization_token(self) -> str:
        return self.raw.get("authorizationToken") or ""

    @property
    def api_id(self) -> str | None:
        return self.request_context.get("apiId")

    @property
    def operation_name(self) -> str | None:
        return self.request_context.get("operationName")

    @property
    def query_string(self) -> str | None:
        return self.request_context.get("queryString") or self.request_context.get("queryDocument")

    @property
    def variables(self) -> dict[str, Any]:
        return self.request_context.get("variables") or {}

    @property
    def request_headers(self) -> dict[str, str]:
        return self.raw.get("requestHeaders") or {}

    def payload(self) -> Any:
        return self


def _authorize(app: Any, handler: Any, event: dict[str, Any], context: Any) -> dict[str, Any]:
    from lift.auth.credentials import InvalidCredentials
    from lift.sources.authorizer import principal_context

    record = AuthorizerEvent(event)
    try:
        result = run_handler(app, handler, event, context, "appsync_authorizer", record)
    except Exception as exc:
        err = find_lift_error(exc)
        if isinstance(exc, InvalidCredentials) or (err is not None and err.status in (401, 403)):
            return {"isAuthorized": False}
        raise
    extra: dict[str, Any] = {}
    if isinstance(result, AppSyncAuthorization):
        if result.denied_fields is not None:
            extra["deniedFields"] = list(result.denied_fields)
        if result.ttl_override is not None:
            extra["ttlOverride"] = result.ttl_override
        result = result.principal
    if result is None or result is False:
        return {"isAuthorized": False}
    try:
        context_values = {} if result is True else principal_context(result)[1]
    except TypeError as exc:  # not a caller: the handler's mistake, not the event's
        raise returned_wrong(app, event, context, "appsync_authorizer", record, exc) from None
    return {"isAuthorized": True, "resolverContext": context_values, **extra}


def dispatch(app: Any, handlers: list[Any], event: Any, context: Any) -> Any:
    if handlers[0].source == "appsync_authorizer":
        return _authorize(app, handlers[0], event, context)
    if type(event) is list:
        return _dispatch_batch(app, handlers, event, context)
    return _resolve(app, handlers, event, context)
