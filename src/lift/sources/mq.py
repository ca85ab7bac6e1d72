"""Amazon MQ: ActiveMQ (`messages`) and RabbitMQ (`rmqMessagesByQueue`) batches, one handler call
per message.

`body` is the message's base64-decoded `data` (JSON into a model, `str`, `bytes`);
`ctx.record` gives `message_id`, `queue` (ActiveMQ destination, or the RabbitMQ queue),
`properties` (RabbitMQ basicProperties / ActiveMQ properties), `redelivered`, `timestamp`.
Amazon MQ mappings have no partial batch response: a failed message fails the invocation
(the whole batch is retried, then sent to the mapping's failure destination); the messages
after it are not run.
"""

from __future__ import annotations

import base64
from typing import Any

from lift.sources.record import Record, malformed_record
from lift.sources.triggers import run_handler

__all__ = ["MQMessage", "dispatch"]


class MQMessage(Record):
    kind = "mq"
    queue_name: str = ""

    @property
    def record_id(self) -> str | None:
        return self.raw.get("messageID") or (self.raw.get("basicProperties") or {}).get("messageId")

    message_id = record_id

    @property
    def queue(self) -> str:
        destination = self.raw.get("destination")
        if isinstance(destination, dict):
            return destination.get("physicalName") or ""
        return self.queue_name

    @property
    def data(self) -> bytes:
        data = self.raw.get("data") or ""
        try:
            return base64.b64decode(data, validate=True)
        except (ValueError, TypeError):  # binascii.Error is a ValueError
            raise malformed_record("data", "base64", data) from None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def properties(self) -> dict[str, Any]:
        return self.raw.get("basicProperties") or self.raw.get("properties") or {}

    @property
    def redelivered(self) -> bool:
        return bool(self.raw.get("redelivered"))

    @property
    def timestamp(self) -> Any:
        return self.raw.get("timestamp") or self.properties.get("timestamp")

    def json_text(self) -> bytes:
        return self.data


def _messages(event: dict[str, Any]) -> list[MQMessage]:
    if "rmqMessagesByQueue" in event:
        return [
            MQMessage(raw, queue_name=key.split("::", 1)[0])
            for key, raws in (event.get("rmqMessagesByQueue") or {}).items()
            for raw in raws or ()
        ]
    return [MQMessage(raw) for raw in event.get("messages") or ()]


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> None:
    for record in _messages(event):
        handler = next((h for h in handlers if h.match(record.queue)), None)
        if handler is None:
            raise app._unmatched_event("mq", f"queue {record.queue!r}", context)
        run_handler(app, handler, event, context, "mq", record)
    return None
