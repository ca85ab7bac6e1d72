"""Timeouts: a fixed budget, bounded by the time the Lambda invocation has left.

    policy = Timeouts(total=5.0, attempt=2.0, margin=0.25)
    deadline = policy.deadline(ctx)        # monotonic time by which the whole call must end
    deadline.attempt_timeout()             # seconds for the next attempt, never past the deadline

On Lambda `ctx.remaining_ms()` says when the invocation is killed; a call never waits past that
minus `margin` (time to log, answer and flush metrics). Off Lambda only the fixed budgets apply.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["Deadline", "Timeouts", "remaining_seconds", "checked_number"]

_monotonic = time.monotonic


def checked_number(name: str, value: Any, *, positive: bool = False, infinite: bool = False) -> float:
    """`value` as a float when it is a number >= 0 (> 0 with `positive`; infinity only with `infinite`),
    else a ValueError naming the setting. A NaN compares false with everything, so it slipped through
    `if x < 0` checks and turned off what it set: a NaN `open_for` never kept a circuit open, a NaN
    timeout or `max_wait` failed every call (or waited without bound)."""
    if value.__class__ is not bool:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if (number > 0 if positive else number >= 0) and (infinite or number != float("inf")):
            return number
    kind = "a number > 0" if positive else "a number >= 0"
    raise ValueError(f"{name} must be {kind}{'' if infinite else ' (finite)'}, not {value!r}")


def remaining_seconds(ctx: Any) -> float | None:
    """Seconds before the invocation behind `ctx` times out; None off Lambda (no context)."""
    lc = getattr(ctx, "lambda_context", None) if ctx is not None else None
    get = getattr(lc, "get_remaining_time_in_millis", None)
    return None if get is None else get() / 1000.0


class Deadline:
    """A point in monotonic time plus the longest single attempt allowed before it."""

    __slots__ = ("at", "attempt", "from_lambda")

    def __init__(self, at: float, attempt: float, from_lambda: bool = False) -> None:
        self.at = at
        self.attempt = attempt
        self.from_lambda = from_lambda

    def remaining(self) -> float:
        return self.at - _monotonic()

    def attempt_timeout(self) -> float:
        """Seconds the next attempt may take: its own budget, cut to what is left."""
        left = self.at - _monotonic()
        return left if left < self.attempt else self.attempt

    def __repr__(self) -> str:
        return f"<Deadline in {self.remaining():.3f}s attempt<={self.attempt}s lambda={self.from_lambda}>"


class Timeouts:
    """`total`: the whole call with its retries; `attempt`: one try; `margin`: kept back from
    Lambda's remaining time; `min_attempt`: below this much time left, no attempt is started."""

    __slots__ = ("total", "attempt", "margin", "min_attempt", "connect")

    def __init__(
        self,
        total: float = 10.0,
        attempt: float | None = None,
        *,
        margin: float = 0.2,
        min_attempt: float = 0.01,
        connect: float | None = None,
    ) -> None:
        self.total = total = checked_number("Timeouts total", total, positive=True)
        self.attempt = checked_number("Timeouts attempt", attempt, positive=True) if attempt is not None else total
        self.margin = checked_number("Timeouts margin", margin)
        self.min_attempt = checked_number("Timeouts min_attempt", min_attempt)
        self.connect = checked_number("Timeouts connect", connect, positive=True) if connect is not None else None

    def deadline(self, ctx: Any = None, total: float | None = None) -> Deadline:
        """The deadline for one call made now on behalf of `ctx` (None: fixed budgets only)."""
        budget = self.total if total is None else checked_number("timeout", total)
        left = remaining_seconds(ctx)
        from_lambda = left is not None and left - self.margin < budget
        if from_lambda:
            budget = left - self.margin  # type: ignore[operator]
        return Deadline(_monotonic() + budget, self.attempt, from_lambda)
