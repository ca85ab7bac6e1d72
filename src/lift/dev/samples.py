"""Sample events for the dashboard's buttons and the scheduler, built with `lift.testing.events`
(shaped like the events AWS sends)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from lift.testing import events

__all__ = ["sample_event", "schedule_event"]


def schedule_event(rule: str, when: datetime | None = None) -> dict[str, Any]:
    """The event an EventBridge scheduled rule sends, stamped with the fire time."""
    event = events.schedule(rule)
    if when is not None:
        event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def sample_event(kind: str, name: str = "", body: Any = None, **options: Any) -> dict[str, Any]:
    """A sample event for one registered source (what the dashboard's buttons send)."""
    sample = body if body is not None else {"sample": True, "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    given = name or None
    name = (name or "sample").replace("*", "sample")
    if kind == "sqs":
        return events.sqs(name, [sample])
    if kind == "sns":
        return events.sns(name, sample)
    if kind == "s3":
        prefix, suffix = options.get("prefix") or "", options.get("suffix") or ".json"
        return events.s3(name, f"{prefix}sample-{int(time.time())}{suffix}")
    if kind == "eventbridge":
        source = (options.get("source") or "lift.dev").replace("*", "sample")
        detail_type = (options.get("detail_type") or "Sample").replace("*", "sample")
        return events.eventbridge(source, detail_type, sample if isinstance(sample, dict) else {"value": sample})
    if kind == "schedule":
        return schedule_event(name)
    if kind == "dynamodb":
        return events.dynamodb_stream(
            name,
            [
                {
                    "event_name": "INSERT",
                    "keys": {"id": "sample"},
                    "new_image": {"id": "sample", **(sample if isinstance(sample, dict) else {"value": sample})},
                }
            ],
        )
    if kind == "kinesis":
        return events.kinesis(name, [sample])
    if kind == "invoke":
        return sample if isinstance(sample, dict) else {"value": sample}
    from lift.cli.trigger_samples import TRIGGER_SAMPLES  # authorizers, Cognito, Kafka, ... (lift events generate)

    build = TRIGGER_SAMPLES.get(kind)
    if build is None:
        raise ValueError(f"No sample event for source {kind!r}")
    from lift.cli.samples import SampleOptions

    named = name if given else None  # a pattern's `*` became "sample", so the sample matches it
    if kind == "secrets_rotation":  # the handler's name is the step; the secret is an option
        secret = (options.get("secret") or "*").replace("*", "sample")
        return build(SampleOptions(name=secret, event_name=None if named in (None, "sample") else named, body=body))
    if kind == "bedrock_agent" and named and named.startswith("/"):
        return build(SampleOptions(path=named, method=options.get("method") or "GET", body=body))
    return build(SampleOptions(name=named, body=body))
