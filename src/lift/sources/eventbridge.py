"""EventBridge: events (`detail-type`, `source`, `detail`) and scheduled events (rule from `resources`)."""

from __future__ import annotations

from typing import Any

from lift.sources.record import Record

__all__ = ["EventBridgeEvent", "ScheduledEvent", "is_event", "rule_of"]


class EventBridgeEvent(Record):
    """One EventBridge event: id, source, detail_type, time, resources, account, region, detail."""

    source = "eventbridge"

    @property
    def record_id(self) -> str | None:
        return self.raw.get("id")

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def event_source(self) -> str:
        """The event's `source` field (e.g. `payments`, `aws.s3`)."""
        return self.raw.get("source") or ""

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
        return self.raw.get("detail")

    def payload(self) -> Any:
        return self.raw.get("detail")


class ScheduledEvent(EventBridgeEvent):
    """A `Scheduled Event` from an EventBridge rule (or EventBridge Scheduler): `rule` and `time`."""

    source = "schedule"

    @property
    def rule(self) -> str:
        return rule_of(self.raw)


def rule_of(event: dict[str, Any]) -> str:
    """The rule (or schedule) name from `resources`: `...:rule/nightly-report` -> `nightly-report`."""
    resources = event.get("resources") or ()
    return resources[0].rsplit("/", 1)[-1] if resources else ""


def is_event(value: Any) -> bool:
    """True for an EventBridge event document (what an EventBridge -> SQS target puts in the body)."""
    return type(value) is dict and "detail-type" in value and "source" in value and "detail" in value
