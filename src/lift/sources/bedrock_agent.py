"""Bedrock agent action groups, in both forms an agent sends:

- OpenAPI (`apiPath`, `httpMethod`): matched by `@app.bedrock_agent("/claims/{id}", "GET")` on
  the schema's path and method; the answer carries `httpStatusCode` and
  `responseBody["application/json"].body` (JSON text of the return value).
- function details (`function`): matched by `@app.bedrock_agent("send_reminder")`; the answer
  carries `functionResponse.responseBody.TEXT.body`.

`body` is the request body's properties (OpenAPI form) or the parameters, as a dict of
name -> value (typed by hint); `ctx.record.parameters` has the parameters by name. Lift wraps
the answer in `{"messageVersion": "1.0", "response": ..., "sessionAttributes": ...,
"promptSessionAttributes": ...}`, keeping the session attributes it received. A `LiftError`
answers its status (OpenAPI) or `responseState: "REPROMPT"` for a 4xx / `"FAILURE"`
(function form), so the agent can tell the user; other exceptions fail the invocation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from lift import serialization
from lift.batch import RecordResult, log_record_failure
from lift.context import Response
from lift.errors import find_lift_error
from lift.sources.record import Record, pattern_matcher
from lift.sources.triggers import returned_wrong

__all__ = ["AgentRequest", "action_matcher", "dispatch"]


def action_matcher(path: str, method: str | None, action_group: str | None) -> Callable[[Any], bool]:
    """A test of (action group, apiPath or function, httpMethod)."""
    path_ok, group_ok = pattern_matcher(path), pattern_matcher(action_group)
    verb = method.upper() if method else None
    return lambda key: group_ok(key[0]) and path_ok(key[1]) and (verb is None or key[2] == verb)


def _values(items: Any, typed: bool = False) -> dict[Any, Any]:
    """`[{name, value}, ...]` as a dict; entries Bedrock never sends (not an object, a name that is not
    text) are left out, so a corrupted event cannot make the handler's arguments fail to build. With
    `typed`, each value (Bedrock sends every one as text) is read as its declared `type` says."""
    if items.__class__ is not list:
        return {}
    read = _typed_value if typed else _as_sent
    return {p["name"]: read(p) for p in items if p.__class__ is dict and p.get("name").__class__ is str}


def _as_sent(item: dict[str, Any]) -> Any:
    return item.get("value")


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _typed_value(item: dict[str, Any]) -> Any:
    """A parameter's text as its declared type: `integer` an int, `number` an int or float, `boolean` a
    bool, `array` (and `object`) the JSON it holds. Text that is not what its type says stays text, so the
    handler's model reports it (a 422 the agent is asked to correct: REPROMPT)."""
    value, kind = item.get("value"), item.get("type")
    if value.__class__ is not str:
        return value
    if kind == "integer" or kind == "number":
        if _INTEGER.fullmatch(value):
            return int(value)
        if kind == "number":
            try:
                number = float(value)
            except ValueError:
                return value
            return number if math.isfinite(number) else value
    elif kind == "boolean":
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    elif kind == "array" or kind == "object":
        try:
            decoded = serialization.decode_json(value)
        except Exception:
            return value
        if decoded.__class__ is (list if kind == "array" else dict):
            return decoded
    return value


class AgentRequest(Record):
    """`action_group`, `api_path`, `http_method`, `function`, `parameters`, `input_text`, `session_id`,
    `agent`, `session_attributes`, `prompt_session_attributes`."""

    kind = "bedrock_agent"

    @property
    def record_id(self) -> str | None:
        return self.raw.get("sessionId")

    @property
    def action_group(self) -> str:
        return self.raw.get("actionGroup") or ""

    @property
    def api_path(self) -> str | None:
        return self.raw.get("apiPath")

    @property
    def http_method(self) -> str | None:
        return self.raw.get("httpMethod")

    @property
    def function(self) -> str | None:
        return self.raw.get("function")

    @property
    def parameters(self) -> dict[str, Any]:
        return _values(self.raw.get("parameters"))

    @property
    def input_text(self) -> str | None:
        return self.raw.get("inputText")

    @property
    def session_id(self) -> str | None:
        return self.raw.get("sessionId")

    @property
    def agent(self) -> dict[str, Any]:
        return self.raw.get("agent") or {}

    @property
    def session_attributes(self) -> dict[str, str]:
        return self.raw.get("sessionAttributes") or {}

    @property
    def prompt_session_attributes(self) -> dict[str, str]:
        return self.raw.get("promptSessionAttributes") or {}

    @property
    def request_body(self) -> dict[str, Any]:
        """The request body's properties by name (OpenAPI form), {} when there is none."""
        return _values(self._body_properties())

    def _body_properties(self) -> Any:
        body = self.raw.get("requestBody")
        content = body.get("content") if body.__class__ is dict else None
        for media in content.values() if content.__class__ is dict else ():
            if isinstance(media, dict):
                return media.get("properties")
        return None

    def payload(self) -> Any:
        return self.request_body if self.api_path is not None else self.parameters

    def model_input(self) -> Any:
        """For a typed `body`: the values read as their declared types (`"5"` of an `integer` is 5)."""
        items = self.raw.get("parameters") if self.api_path is None else self._body_properties()
        return _values(items, typed=True)


def _body_text(value: Any) -> str:
    if isinstance(value, Response):
        return value.body.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return serialization.encode_json(value).decode("utf-8")


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    record = AgentRequest(event)
    name = record.api_path if record.api_path is not None else (record.function or "")
    key = (record.action_group, name, (record.http_method or "").upper())
    handler = next((h for h in handlers if h.match(key)), None)
    if handler is None:
        raise app._unmatched_event("bedrock_agent", f"action {record.action_group}/{name}", context)
    ctx = app.new_context(event, context, "bedrock_agent")
    ctx.record = record
    status, state = 200, None
    try:
        result = handler.chain(ctx)
        value = result.value if isinstance(result, RecordResult) else result
        if isinstance(result, Response) and not isinstance(result, RecordResult):
            status = result.status
    except Exception as exc:
        log_record_failure(ctx, record, exc)  # one line: a warning for a 4xx, an error with traceback else
        err = find_lift_error(exc)
        if err is None:
            raise
        status, value = err.status, err.to_dict(ctx.request_id)
        state = "REPROMPT" if err.status < 500 else "FAILURE"
    try:
        body = _body_text(value)
    except Exception as exc:  # a value that does not encode: the handler's mistake, not the event's
        raise returned_wrong(app, event, context, "bedrock_agent", record, exc) from None
    if record.api_path is not None:
        response: dict[str, Any] = {
            "actionGroup": record.action_group,
            "apiPath": record.api_path,
            "httpMethod": record.http_method,
            "httpStatusCode": status,
            "responseBody": {"application/json": {"body": body}},
        }
    else:
        function_response: dict[str, Any] = {"responseBody": {"TEXT": {"body": body}}}
        if state is not None:
            function_response["responseState"] = state
        response = {
            "actionGroup": record.action_group,
            "function": record.function,
            "functionResponse": function_response,
        }
    return {
        "messageVersion": "1.0",
        "response": response,
        "sessionAttributes": record.session_attributes,
        "promptSessionAttributes": record.prompt_session_attributes,
    }
