"""CloudWatch Logs subscription filters: the gzip+base64 `awslogs.data` decoded, one handler call
per log event.

`body` is the event's message, parsed when it is JSON (typed by hint, or `str` for the raw
text); the record gives `id`, `timestamp`, `message`, `log_group`, `log_stream`, `owner`,
`subscription_filters`. The `CONTROL_MESSAGE` CloudWatch sends to check a new subscription
is answered without calling the handler. A failure raises, so Lambda retries the whole
delivery (asynchronous invocation): handlers should be idempotent.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from lift import batch as _batch
from lift.sources.record import Record
from lift.sources.triggers import run_handler

__all__ = ["LogEvent", "decode_logs", "dispatch"]


# What a delivery may decompress to: CloudWatch Logs' own deliveries are a few MB at most (the Lambda
# payload limit, compressed); more is a compression bomb, refused before it fills the function's memory.
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024


def decode_logs(event: dict[str, Any]) -> dict[str, Any]:
    """The subscription's payload: `{messageType, owner, logGroup, logStream, subscriptionFilters, logEvents}`
    (gzip; account-level subscription policies may deliver it zlib-compressed). A ValueError when
    it decompresses to more than MAX_DECOMPRESSED_BYTES or is cut short."""
    import zlib

    data = base64.b64decode(event["awslogs"]["data"])
    stream = zlib.decompressobj(32 + zlib.MAX_WBITS)  # a gzip or zlib header, told apart by zlib
    text = stream.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    if len(text) > MAX_DECOMPRESSED_BYTES:
        raise ValueError(f"it decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes")
    if not stream.eof:
        raise ValueError("the compressed data is cut short")
    return json.loads(text)


class LogEvent(Record):
    """One log event of a subscription delivery."""

    kind = "cloudwatch_logs"
    batch: dict[str, Any] = {}

    @property
    def record_id(self) -> str | None:
        return self.raw.get("id")

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def timestamp(self) -> int | None:
        return self.raw.get("timestamp")

    @property
    def message(self) -> str:
        return self.raw.get("message") or ""

    @property
    def log_group(self) -> str:
        return self.batch.get("logGroup") or ""

    @property
    def log_stream(self) -> str:
        return self.batch.get("logStream") or ""

    @property
    def owner(self) -> str | None:
        return self.batch.get("owner")

    @property
    def subscription_filters(self) -> list[str]:
        return list(self.batch.get("subscriptionFilters") or ())

    def json_text(self) -> str:
        return self.message


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> None:
    try:
        batch = decode_logs(event)
    except Exception as exc:  # not base64, not gzip/zlib, not JSON: never what CloudWatch Logs sends
        raise app._malformed_event(
            "cloudwatch_logs", "$.awslogs.data", f"not a compressed subscription payload: {exc}", context
        ) from None
    if batch.get("messageType") == "CONTROL_MESSAGE":
        return None
    group = batch.get("logGroup") or ""
    handler = next((h for h in handlers if h.match(group)), None)
    if handler is None:
        raise app._unmatched_event("cloudwatch_logs", f"log group {group!r}", context)
    raws: list[Any] = batch.get("logEvents") or []
    if len(raws) == 1:
        run_handler(app, handler, event, context, "cloudwatch_logs", LogEvent(raws[0], batch=batch))
        return None
    # several log events (the usual delivery): each is handled once, then any failure fails the invocation
    items = [("cloudwatch_logs", handler.chain, LogEvent(raw, batch=batch)) for raw in raws]
    _batch.run_each_or_raise(app, items, event, context)
    return None
