"""Retries: exponential backoff with full jitter, a retry budget, and `Retry-After`.

    policy = RetryPolicy(attempts=3, base=0.05, cap=2.0, budget=RetryBudget(ratio=0.2))
    delay = policy.delay(attempt=1, retry_after=None)   # random in [0, min(cap, base * 2**attempt)]

Only idempotent requests are retried (GET, HEAD, OPTIONS, PUT, DELETE, or any request that
carries an idempotency key), except failures where the request never left (connection
refused), which are safe to retry for every method. The budget caps retries to a fraction of
recent requests per client, so a failing dependency sees at most `1 + ratio` times its normal
load instead of `attempts` times (no retry storms).

Written here rather than with tenacity: the budget, `Retry-After` and the Lambda deadline are
decisions about *this* request and client that tenacity would need custom stop/wait classes for,
and its per-call `Retrying` object costs microseconds on the success path, where this costs none
(the loop lives in the service client and only calls in here after a failure).
"""

from __future__ import annotations

import random
import threading
import time
from email.utils import parsedate_to_datetime

from lift.resilience.timeouts import checked_number

__all__ = ["IDEMPOTENT_METHODS", "RetryBudget", "RetryPolicy", "parse_retry_after", "is_idempotent"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


def is_idempotent(method: str, idempotency_key: str | None = None) -> bool:
    """True when repeating the request cannot do the work twice."""
    return idempotency_key is not None or method.upper() in IDEMPOTENT_METHODS


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` value (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds is ASCII digits only (RFC 9110)
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryBudget:
    """Retries allowed over a sliding window: at most `max(min_retries, ratio * requests)`.

    Counted in one-second buckets over `window` seconds; thread-safe. `record_request()` is
    called once per logical call, `try_spend()` before each retry (False: the budget is spent).
    """

    def __init__(self, ratio: float = 0.2, *, min_retries: int = 3, window: int = 10) -> None:
        checked_number("RetryBudget ratio", ratio)
        if min_retries < 0 or window < 1:
            raise ValueError("RetryBudget needs ratio >= 0, min_retries >= 0, window >= 1")
        self.ratio = ratio
        self.min_retries = min_retries
        self.window = window
        self._requests = [0] * window
        self._retries = [0] * window
        self._stamps = [0] * window
        self._lock = threading.Lock()
        self.exhausted = 0  # retries refused, for metrics and tests

    def _slot(self, now: int) -> int:
        i = now % self.window
        if self._stamps[i] != now:
            self._stamps[i] = now
            self._requests[i] = 0
            self._retries[i] = 0
        return i

    def record_request(self) -> None:
        now = int(time.monotonic())
        with self._lock:
            self._requests[self._slot(now)] += 1

    def _totals(self, now: int) -> tuple[int, int]:
        low = now - self.window
        requests = retries = 0
        for i in range(self.window):
            if self._stamps[i] > low:
                requests += self._requests[i]
                retries += self._retries[i]
        return requests, retries

    def try_spend(self) -> bool:
        """Take one retry from the budget; False (and counted in `exhausted`) when none is left."""
        now = int(time.monotonic())
        with self._lock:
            requests, retries = self._totals(now)
            if retries >= max(self.min_retries, int(self.ratio * requests)):
                self.exhausted += 1
                return False
            self._retries[self._slot(now)] += 1
            return True

    def available(self) -> int:
        now = int(time.monotonic())
        with self._lock:
            requests, retries = self._totals(now)
        return max(0, max(self.min_retries, int(self.ratio * requests)) - retries)


class RetryPolicy:
    """`attempts` tries in all (1 = no retry); delays `uniform(0, min(cap, base * 2**n))`.

    `max_retry_after`: a `Retry-After` longer than this (seconds) is not waited for: the call fails
    at once with the callee's answer. `statuses`: the HTTP statuses worth another attempt.
    """

    def __init__(
        self,
        attempts: int = 3,
        *,
        base: float = 0.05,
        cap: float = 2.0,
        budget: RetryBudget | None = None,
        max_retry_after: float = 5.0,
        statuses: frozenset[int] | set[int] = RETRYABLE_STATUSES,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.attempts = attempts
        self.base = checked_number("RetryPolicy base", base)
        self.cap = checked_number("RetryPolicy cap", cap)
        self.budget = budget if budget is not None else RetryBudget()
        self.max_retry_after = checked_number("RetryPolicy max_retry_after", max_retry_after, infinite=True)
        self.statuses = frozenset(statuses)

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry)] for the `retry`-th retry (1-based).

        Drawn from `random`'s shared generator, which lift.snapstart re-seeds after each restore: a
        generator of the policy's own, made at init, would be in the snapshot, and every copy restored
        from it would wait the same delays, retrying in step (what jitter is there to prevent)."""
        return random.uniform(0.0, min(self.cap, self.base * (2 ** (retry - 1))))

    def delay(self, retry: int, retry_after: float | None = None) -> float | None:
        """How long to wait before retry number `retry`; None when `Retry-After` is too far away."""
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(retry_after, self.backoff(retry))
        return self.backoff(retry)


NO_RETRY = RetryPolicy(1)
