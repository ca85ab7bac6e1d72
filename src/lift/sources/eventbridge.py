"""EventBridge: events (`detail-type`, `source`, `detail`) and scheduled events (rule from `resources`)."""

from __future__ import annotations

from typing import Any

from lift.sources.record import Record, decode_json_or_text

__all__ = ["EventBridgeEvent", "ScheduledEvent", "is_event", "rule_of"]


class EventBridgeEvent(Record):
    """One EventBridge event: id, source, detail_type, time, resources, account, region, detail."""

    kind = "eventbridge"

    @property
    def record_id(self) -> str | None:
        return self.raw.get("id")

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def source(self) -> str:
        """The event's `source` field (e.g. `payments`, `aws.s3`, `aws.scheduler`)."""
        return self.raw.get("source") or ""

    event_source = source

    @property
    def detail_type(self) -> str:
        return self.raw.get("detail-type") or ""

    @property
    def time(self) -> str | None:
        return self.raw.get("time")

    @property
    def resources(self) -> list[str]:
        return self.raw.get("resources") or []

    @property
    def account(self) -> str | None:
        return self.raw.get("account")

    @property
    def region(self) -> str | None:
        return self.raw.get("region")

    @property
    def detail(self) -> Any:
        """The event's `detail`; EventBridge Scheduler sends it as JSON text (`"{}"`), parsed here."""
        detail = self.raw.get("detail")
        return decode_json_or_text(detail) if type(detail) is str else detail

    def json_text(self) -> str | None:
        detail = self.raw.get("detail")
        return detail if type(detail) is str else None

    def payload(self) -> Any:
        return self.detail


class ScheduledEvent(EventBridgeEvent):
    """A `Scheduled Event` from an EventBridge rule (or EventBridge Scheduler): `rule` and `time`."""

    kind = "schedule"

    @property
    def rule(self) -> str:
        return rule_of(self.raw)


def rule_of(event: dict[str, Any]) -> str:
    """The rule (or schedule) name from `resources`: `...:rule/nightly-report` -> `nightly-report`."""
    resources = event.get("resources") or ()
    first = resources[0] if resources.__class__ is list and resources else None
    return first.rsplit("/", 1)[-1] if first.__class__ is str else ""  # (none, or not what AWS sends: no rule)


def is_event(value: Any) -> bool:
    """True for an EventBridge event document (what an EventBridge -> SQS target puts in the body)."""
    return type(value) is dict and "detail-type" in value and "source" in value and "detail" in value
