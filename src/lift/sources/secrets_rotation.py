"""Secrets Manager rotation: one call per step (`createSecret`, `setSecret`, `testSecret`,
`finishSecret`), matched by step and secret name.

`ctx.record` gives `step`, `secret_id` (the ARN), `secret_name`, `token` (the
`ClientRequestToken`: the version being rotated in). A step succeeds when the handler
returns; a raised exception fails the invocation, and Secrets Manager marks the rotation
failed (and retries it). Nothing is returned to Secrets Manager.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lift.sources.record import Record, pattern_matcher
from lift.sources.triggers import run_handler

__all__ = ["STEPS", "RotationStep", "dispatch", "step_matcher"]

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def step_matcher(step: str, secret: str) -> Callable[[Any], bool]:
    step_ok, secret_ok = pattern_matcher(step), pattern_matcher(secret)  # (first: a function given is named)
    if step != "*" and step not in STEPS:
        raise ValueError(f"step must be one of {STEPS} or '*', not {step!r}")
    return lambda key: step_ok(key[0]) and secret_ok(key[1])


class RotationStep(Record):
    kind = "secrets_rotation"

    @property
    def record_id(self) -> str | None:
        return self.raw.get("ClientRequestToken")

    token = record_id

    @property
    def step(self) -> str:
        return self.raw.get("Step") or ""

    @property
    def secret_id(self) -> str:
        return self.raw.get("SecretId") or ""

    @property
    def secret_name(self) -> str:
        """The name in the ARN (`...:secret:name-AbCdEf` -> `name`), or the id as given."""
        secret = self.secret_id
        if secret.startswith("arn:"):
            return _SUFFIX.sub("", secret.split(":", 6)[-1])
        return secret

    def payload(self) -> Any:
        return self


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> None:
    record = RotationStep(event)
    handler = next((h for h in handlers if h.match((record.step, record.secret_name))), None)
    if handler is None:
        raise app._unmatched_event("secrets_rotation", f"step {record.step!r} of {record.secret_name!r}", context)
    run_handler(app, handler, event, context, "secrets_rotation", record)
    return None
