"""Amazon MQ: ActiveMQ (`messages`) and RabbitMQ (`rmqMessagesByQueue`) batches, one handler call
per message.

`body` is the message's base64-decoded `data` (JSON into a model, `str`, `bytes`);
`ctx.record` gives `message_id`, `queue` (ActiveMQ destination, or the RabbitMQ queue),
`properties` (RabbitMQ basicProperties / ActiveMQ properties), `redelivered`, `timestamp`.
Amazon MQ mappings have no partial batch response: when a handler fails, the invocation must
fail, and the broker redelivers the whole batch (Lambda's redelivery policy: ActiveMQ's defaults,
6 redeliveries, then the broker's dead-letter queue). So every message of the batch runs once per
attempt, each failure logged alone, and then, if any failed, `RecordsFailed` names them (chained
to the first failure): a poison message never keeps the messages after it from being handled, as
stopping at it would (they would reach the dead-letter queue never run). The messages that
succeeded run again on the redelivery: make handlers idempotent, as Lambda asks of every event
source mapping. A one-message batch is unchanged: its handler's own exception propagates.
"""

from __future__ import annotations

from typing import Any

from lift.batch import run_each_or_raise
from lift.sources.record import Record, base64_field

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
        return base64_field(self.raw.get("data") or "", "data")

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
            for raw in _list(raws)
        ]
    return [MQMessage(raw) for raw in _list(event.get("messages"))]


def _list(value: Any) -> list[Any]:
    """The messages list Amazon MQ sends; anything else (a text would be walked character by character,
    a million records for a 1 MB one) is a malformed event."""
    if value is None:
        return []
    if value.__class__ is not list:
        raise TypeError(f"expected a list of messages, got {type(value).__name__}")
    return value


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> None:
    items = []
    for record in _messages(event):  # every message's handler found first: an unmatched queue runs none
        handler = next((h for h in handlers if h.match(record.queue)), None)
        if handler is None:
            raise app._unmatched_event("mq", f"queue {record.queue!r}", context)
        items.append(("mq", handler.chain, record))
    if items:
        run_each_or_raise(app, items, event, context)
    return None
