"""SES receipt rules invoking Lambda: one handler call per received mail.

`body` is the mail's `commonHeaders` merged with `source`/`destination`/`messageId` (typed by
hint); `ctx.record` gives `message_id`, `source`, `destination`, `subject`, `headers`,
`recipients`, the spam/virus/SPF/DKIM/DMARC verdicts and the receipt `action`. With a
synchronous (`RequestResponse`) rule action, return "STOP_RULE", "STOP_RULE_SET" or
"CONTINUE": Lift answers `{"disposition": ...}`; None answers nothing. A failure raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lift import batch as _batch
from lift.sources.record import Record, pattern_matcher
from lift.sources.triggers import returned_wrong, run_handler

__all__ = ["DISPOSITIONS", "SESMail", "dispatch", "recipient_matcher"]

DISPOSITIONS = ("STOP_RULE", "STOP_RULE_SET", "CONTINUE")


def recipient_matcher(recipient: str) -> Callable[[Any], bool]:
    test = pattern_matcher(recipient.lower() if recipient.__class__ is str else recipient)
    return lambda recipients: any(test(r.lower()) for r in recipients)


class SESMail(Record):
    kind = "ses"

    @property
    def mail(self) -> dict[str, Any]:
        return (self.raw.get("ses") or {}).get("mail") or {}

    @property
    def receipt(self) -> dict[str, Any]:
        return (self.raw.get("ses") or {}).get("receipt") or {}

    @property
    def record_id(self) -> str | None:
        return self.mail.get("messageId")

    message_id = record_id

    @property
    def source(self) -> str | None:
        return self.mail.get("source")

    @property
    def destination(self) -> list[str]:
        destination = self.mail.get("destination") or []
        if destination.__class__ is not list:  # (a text would be walked character by character)
            raise TypeError(f"expected a list of addresses, got {type(destination).__name__}")
        return list(destination)

    @property
    def common_headers(self) -> dict[str, Any]:
        return self.mail.get("commonHeaders") or {}

    @property
    def subject(self) -> str | None:
        return self.common_headers.get("subject")

    @property
    def headers(self) -> dict[str, str]:
        return {h.get("name"): h.get("value") for h in self.mail.get("headers") or ()}

    @property
    def recipients(self) -> list[str]:
        recipients = self.receipt.get("recipients") or self.destination
        if recipients.__class__ is not list:  # (a text would be walked character by character)
            raise TypeError(f"expected a list of recipients, got {type(recipients).__name__}")
        return list(recipients)

    def verdict(self, name: str) -> str | None:
        """`spam`, `virus`, `spf`, `dkim` or `dmarc`: PASS, FAIL, GRAY or PROCESSING_FAILED."""
        return (self.receipt.get(f"{name}Verdict") or {}).get("status")

    @property
    def action(self) -> dict[str, Any]:
        return self.receipt.get("action") or {}

    def payload(self) -> Any:
        return {
            **self.common_headers,
            "messageId": self.mail.get("messageId"),
            "source": self.source,
            "destination": self.destination,
        }


def _check_disposition(result: Any) -> None:
    value = result.value if isinstance(result, _batch.RecordResult) else result
    if value is not None and value not in DISPOSITIONS:
        raise ValueError(f"an SES handler returns None or one of {DISPOSITIONS}, not {value!r}")


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, str] | None:
    raws = event.get("Records") or ()
    if len(raws) <= 1:  # what SES sends: one mail per invocation, its own exception propagates
        disposition = None
        for raw in raws:
            record = SESMail(raw)
            handler = next((h for h in handlers if h.match(record.recipients)), None)
            if handler is None:
                raise app._unmatched_event("ses", f"mail to {', '.join(record.recipients)}", context)
            result = run_handler(app, handler, event, context, "ses", record)
            if result is not None:
                try:
                    _check_disposition(result)
                except ValueError as exc:  # the handler's mistake, not the event's
                    raise returned_wrong(app, event, context, "ses", record, exc) from None
                disposition = result
        return {"disposition": disposition} if disposition is not None else None
    # several mails: every one is handled once (a failure does not stop the others), then any failure raises
    items = []
    for raw in raws:
        record = SESMail(raw)
        handler = next((h for h in handlers if h.match(record.recipients)), None)
        if handler is None:  # decided before anything runs: nothing is handled twice on the retry
            raise app._unmatched_event("ses", f"mail to {', '.join(record.recipients)}", context)
        items.append(("ses", handler.chain, record))
    disposition = None
    for result in _batch.run_each_or_raise(app, items, event, context, _check_disposition):
        value = result.value if isinstance(result, _batch.RecordResult) else result
        if value is not None:
            disposition = value
    return {"disposition": disposition} if disposition is not None else None
