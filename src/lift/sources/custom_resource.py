"""CloudFormation custom resources: the handler creates, updates or deletes; Lift always PUTs the
answer to the presigned `ResponseURL`, so a stack never hangs waiting for one. Behind the CDK
provider framework (`onEvent`: events without a `ResponseURL`) the answer is returned instead, in
that framework's shape, and a failure raised (`_provider_answer`).

`body` is `ResourceProperties` (typed by hint); `ctx.record` gives `request_type`
("Create"/"Update"/"Delete"), `physical_resource_id`, `old_properties`, `resource_type`,
`logical_resource_id`, `stack_id`. The handler returns the resource's `Data` (a dict or
model), or a `CustomResourceResult` to set the physical id or `NoEcho`; None is a success
with no data. When it raises, Lift sends `FAILED` with the exception's message; when the
function is about to time out (`timeout_margin` seconds left, 5 by default), a timer sends
`FAILED` first. Exactly one answer is sent per request.

The PUT goes through urllib (the standard library): one request to a presigned S3 URL does
not justify importing an HTTP client in every custom-resource function.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from lift import serialization
from lift.errors import lift_logger
from lift.sources.record import Record
from lift.sources.triggers import first_handler, returned_wrong, run_handler

__all__ = ["CustomResourceRequest", "CustomResourceResult", "answer_for", "dispatch", "send_response"]

TIMEOUT_MARGIN = 5.0  # seconds before the function's timeout when a FAILED answer is sent


class CustomResourceResult:
    """What a handler may return to set the physical id, the data and `NoEcho`."""

    def __init__(self, data: Any = None, physical_resource_id: str | None = None, no_echo: bool = False) -> None:
        self.data = data
        self.physical_resource_id = physical_resource_id
        self.no_echo = no_echo


class CustomResourceRequest(Record):
    kind = "custom_resource"

    @property
    def record_id(self) -> str | None:
        return self.raw.get("RequestId")

    @property
    def request_type(self) -> str:
        return self.raw.get("RequestType") or ""

    @property
    def resource_type(self) -> str:
        return self.raw.get("ResourceType") or ""

    @property
    def logical_resource_id(self) -> str:
        return self.raw.get("LogicalResourceId") or ""

    @property
    def physical_resource_id(self) -> str | None:
        return self.raw.get("PhysicalResourceId")

    @property
    def stack_id(self) -> str:
        return self.raw.get("StackId") or ""

    @property
    def response_url(self) -> str:
        return self.raw.get("ResponseURL") or ""

    @property
    def properties(self) -> dict[str, Any]:
        return self.raw.get("ResourceProperties") or {}

    @property
    def old_properties(self) -> dict[str, Any] | None:
        return self.raw.get("OldResourceProperties")

    def payload(self) -> Any:
        return self.properties


MAX_ANSWER_BYTES = 4096  # CloudFormation refuses a longer answer ("Response object is too long")
MAX_PHYSICAL_ID_BYTES = 1024


def answer_for(
    event: dict[str, Any], status: str, reason: str, physical_id: Any, data: Any = None, no_echo: bool = False
) -> bytes:
    """The JSON answer CloudFormation takes; a ValueError naming what it would refuse (a physical id
    that is not a non-empty text of at most 1 KB, `Data` that is not an object, an answer over 4096
    bytes). A FAILED answer's reason is cut to fit."""
    if (
        physical_id.__class__ is not str
        or not physical_id
        or len(physical_id.encode("utf-8", "replace")) > MAX_PHYSICAL_ID_BYTES
    ):
        raise ValueError(f"the PhysicalResourceId must be a non-empty text of at most 1 KB, not {physical_id!r:.200}")
    data = serialization.to_builtins(data) if data is not None else {}
    if data.__class__ is not dict:
        raise ValueError(f"the custom resource's Data must be an object (a dict or model), not {type(data).__name__}")
    answer = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": no_echo,
        "Data": data,
    }
    body = json.dumps(answer).encode("ascii")  # (ASCII: escapes even a lone surrogate of an error message)
    excess = len(body) - MAX_ANSWER_BYTES
    if excess > 0 and status == "FAILED" and reason:
        answer["Reason"] = _cut(reason, len(json.dumps(reason)) - 2 - excess - 3) + "..."
        body = json.dumps(answer).encode("ascii")
    elif excess > 0:
        raise ValueError(
            f"the answer would be {len(body)} bytes; CloudFormation takes at most {MAX_ANSWER_BYTES} (make Data smaller)"
        )
    return body


def _cut(text: str, size: int) -> str:
    """The start of `text` that takes at most `size` bytes in a JSON string (escapes counted)."""
    for end, char in enumerate(text):
        size -= len(json.dumps(char)) - 2
        if size < 0:
            return text[:end]
    return text


def send_response(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """PUT the answer CloudFormation waits for to the event's `ResponseURL`; the answer sent."""
    # the presigned URL is signed without a content type: send an empty one
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    answer: dict[str, Any] = json.loads(body)
    return answer


class _Answer:
    """Sends exactly one answer per request, whichever of the handler and the timer comes first.
    A SUCCESS CloudFormation would refuse is sent as FAILED, naming why (logged as the handler's
    failure): the stack never waits an hour for an answer that never came."""

    def __init__(self, app: Any, event: dict[str, Any], context: Any, record: CustomResourceRequest) -> None:
        self.app = app
        self.event = event
        self.context = context
        self.record = record
        self.default_id = _default_physical_id(record, context)
        self.lock = threading.Lock()
        self.sent: dict[str, Any] | None = None

    def send(
        self, status: str, reason: str, physical_id: Any = None, data: Any = None, no_echo: bool = False
    ) -> dict[str, Any] | None:
        with self.lock:
            if self.sent is not None:
                return None
            self.sent = {}
            event = self.event
            try:
                try:
                    body = answer_for(event, status, reason, physical_id or self.default_id, data, no_echo)
                except Exception as exc:  # what the handler returned: CloudFormation would refuse it
                    returned_wrong(self.app, event, self.context, "custom_resource", self.record, exc)
                    body = answer_for(event, "FAILED", f"{type(exc).__name__}: {exc}", self.default_id)
                self.sent = send_response(event, body)
            except Exception:
                request_id = getattr(self.context, "aws_request_id", None)
                lift_logger().exception(
                    "custom resource %s: sending %s to the ResponseURL failed (request_id=%s)",
                    event.get("LogicalResourceId"),
                    status,
                    request_id,
                    extra={"source": "custom_resource", "request_id": request_id},
                )
            return self.sent


def _default_physical_id(record: CustomResourceRequest, context: Any) -> str:
    if record.physical_resource_id:
        return record.physical_resource_id
    stream = getattr(context, "log_stream_name", None)
    return stream or f"{record.logical_resource_id}-{(record.record_id or '')[:8]}"


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    record = CustomResourceRequest(event)
    if "ResponseURL" not in event:
        return _provider_answer(app, handlers, event, context, record)
    answer = _Answer(app, event, context, record)
    handler = first_handler(handlers, record.resource_type)
    if handler is None:
        answer.send("FAILED", f"No handler for custom resource type {record.resource_type!r}")
        raise app._unmatched_event("custom_resource", f"resource type {record.resource_type!r}", context)
    timer = _start_timer(answer, context, handler.options.get("timeout_margin", TIMEOUT_MARGIN))
    try:
        result = run_handler(app, handler, event, context, "custom_resource", record)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        stream = getattr(context, "log_stream_name", None)
        answer.send("FAILED", reason + (f" (see CloudWatch log stream {stream})" if stream else ""))
        return answer.sent
    finally:
        if timer is not None:
            timer.cancel()
    if isinstance(result, CustomResourceResult):
        answer.send("SUCCESS", "", result.physical_resource_id, result.data, result.no_echo)
    else:
        answer.send("SUCCESS", "", None, result)
    return answer.sent


def _provider_answer(
    app: Any, handlers: list[Any], event: dict[str, Any], context: Any, record: CustomResourceRequest
) -> dict[str, Any]:
    """The CDK provider framework's `onEvent` contract (its events have no `ResponseURL`: the
    framework answers CloudFormation itself): the handler's result is returned as
    `{"PhysicalResourceId", "Data", "NoEcho"}` (each only when set: the framework keeps the resource's
    id, or uses the request id on Create), and a failure is raised, which the framework sends as FAILED
    with its message. What CloudFormation would refuse is the handler's failure, as above."""
    handler = first_handler(handlers, record.resource_type)
    if handler is None:
        raise app._unmatched_event("custom_resource", f"resource type {record.resource_type!r}", context)
    result = run_handler(app, handler, event, context, "custom_resource", record)
    if not isinstance(result, CustomResourceResult):
        result = CustomResourceResult(result)
    try:  # (what the handler gave is checked, not the request's own fields, which the framework adds)
        answer = json.loads(
            answer_for({}, "SUCCESS", "", result.physical_resource_id or "-", result.data, result.no_echo)
        )
    except Exception as exc:
        raise returned_wrong(app, event, context, "custom_resource", record, exc) from None
    out: dict[str, Any] = {"Data": answer["Data"]} if result.data is not None else {}
    if result.physical_resource_id is not None:
        out["PhysicalResourceId"] = answer["PhysicalResourceId"]
    if result.no_echo:
        out["NoEcho"] = True
    return out


def _start_timer(answer: _Answer, context: Any, margin: float) -> threading.Timer | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    delay = max(remaining() / 1000.0 - margin, 0.0)
    timer = threading.Timer(delay, answer.send, ("FAILED", "The custom resource handler timed out"))
    timer.daemon = True
    timer.start()
    return timer
