"""Circuit breaker: closed -> open -> half-open, on failure and slow-call rates over a window.

    breaker = CircuitBreaker("payments", window=20, min_calls=10, failure_rate=0.5,
                             slow_call=1.0, slow_rate=0.8, open_for=10.0, half_open_calls=3)
    permit = breaker.acquire()          # raises CircuitOpen (503, Retry-After) while open
    ... make the call ...
    breaker.record(permit, elapsed, failed)

The window is the last `window` calls (count-based, kept as a ring, O(1) per call). Once it holds
`min_calls`, a failure rate or slow-call rate at or above its threshold opens the circuit for
`open_for` seconds; then up to `half_open_calls` trial calls go through: one failure re-opens it,
that many successes close it (only trials count: a call from before the opening decides nothing). State changes are logged (`lift.resilience`, WARNING when opening)
and reported to `on_change(breaker, old, new)` listeners and as the `CircuitStateChange` metric.

Shared across execution environments (opt-in): with `store=` (any `lift.stores` backend: Redis,
DynamoDB) an opening is written as `{"until": epoch}` with a TTL of `open_for`, and closed breakers
read it at most every `sync_interval` seconds, so one environment's discovery that a dependency is
down spares the others their own `min_calls` failures. A store that fails is logged and ignored:
the breaker then works in-process.

Written here rather than with pybreaker/aiobreaker/purgatory: those open after N *consecutive*
failures; none has failure-rate or slow-call thresholds over a sliding window, pybreaker's only
shared storage is Redis (no DynamoDB) and aiobreaker has had no release since 2021.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from lift.resilience.errors import CircuitOpen
from lift.resilience.timeouts import checked_number

__all__ = ["CircuitBreaker", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
_log = logging.getLogger("lift.resilience")
_monotonic = time.monotonic

_OK, _FAILED, _SLOW, _SLOW_FAILED = 0, 1, 2, 3


class CircuitBreaker:
    """One dependency's breaker; thread-safe, shared by sync and async callers."""

    def __init__(
        self,
        name: str,
        *,
        window: int = 20,
        min_calls: int = 10,
        failure_rate: float = 0.5,
        slow_call: float | None = None,
        slow_rate: float = 1.0,
        open_for: float = 10.0,
        half_open_calls: int = 3,
        store: Any = None,
        sync_interval: float = 1.0,
        on_change: Callable[[CircuitBreaker, str, str], Any] | None = None,
    ) -> None:
        if window < 1 or not 1 <= min_calls <= window:
            raise ValueError("CircuitBreaker needs window >= 1 and 1 <= min_calls <= window")
        if not 0 < failure_rate <= 1 or not 0 < slow_rate <= 1:
            raise ValueError("failure_rate and slow_rate are fractions in (0, 1]")
        self.name = name
        self.window = window
        self.min_calls = min_calls
        self.failure_rate = failure_rate
        self.slow_call = (
            checked_number("CircuitBreaker slow_call", slow_call, positive=True) if slow_call is not None else None
        )
        self.slow_rate = slow_rate
        self.open_for = checked_number("CircuitBreaker open_for", open_for)
        self.half_open_calls = max(1, half_open_calls)
        self.store = store
        self.sync_interval = checked_number("CircuitBreaker sync_interval", sync_interval)
        self.listeners: list[Callable[[CircuitBreaker, str, str], Any]] = [on_change] if on_change else []
        self._lock = threading.Lock()
        self._ring = bytearray(window)
        self._next = 0
        self._count = 0
        self._failures = 0
        self._slow = 0
        self._state = CLOSED
        self._open_until = 0.0
        self._probes = 0  # half-open trial calls handed out
        self._round = 0  # half-open periods so far: a trial permit is the number of its own
        self._probe_successes = 0
        self._next_sync = 0.0
        self._events: list[tuple[str, str, str, Any]] = []
        self.opened = 0  # times this breaker opened, for metrics and tests

    # -- state --------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """`closed`, `open` or `half_open` (an open circuit whose time is up reads half-open)."""
        if self._state == OPEN and _monotonic() >= self._open_until:
            return HALF_OPEN
        return self._state

    def retry_after(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when not open)."""
        return max(0.0, self._open_until - _monotonic()) if self._state == OPEN else 0.0

    def failure_ratio(self) -> float:
        return self._failures / self._count if self._count else 0.0

    def _transition(self, new: str, reason: str, ctx: Any = None) -> None:
        """Called with the lock held; listeners run after it is released (see _notify)."""
        old, self._state = self._state, new
        if new == OPEN:
            self.opened += 1
            self._open_until = _monotonic() + self.open_for
        elif new == HALF_OPEN:
            self._round += 1
        if new != HALF_OPEN:
            self._probes = self._probe_successes = 0
        if new in (CLOSED, OPEN):
            self._reset_window()
        self._events.append((old, new, reason, ctx))

    def _notify(self) -> None:
        while self._events:
            try:
                old, new, reason, ctx = self._events.pop(0)
            except IndexError:
                return
            self._announce(old, new, reason, ctx)

    def _announce(self, old: str, new: str, reason: str, ctx: Any) -> None:
        level = logging.WARNING if new == OPEN else logging.INFO
        _log.log(
            level,
            "circuit %s %s -> %s (%s)",
            self.name,
            old,
            new,
            reason,
            extra={"dependency": self.name, "circuit_state": new, "previous_state": old, "reason": reason},
        )
        if ctx is not None:
            try:
                ctx.metrics.add("CircuitStateChange", 1, "Count", dimensions={"dependency": self.name, "state": new})
            except Exception:
                _log.debug("circuit metric not recorded", exc_info=True)
        for listener in self.listeners:
            try:
                listener(self, old, new)
            except Exception:
                _log.exception("circuit listener %r failed", listener)
        if new == OPEN and reason != "shared" and self.store is not None:
            self._publish_open()

    def _reset_window(self) -> None:
        self._ring = bytearray(self.window)
        self._next = self._count = self._failures = self._slow = 0

    # -- calls ----------------------------------------------------------------------------
    def acquire(self, ctx: Any = None) -> int:
        """Permission for one call: False for a normal call; for a half-open trial a true value, the
        number of its half-open period (give it back to `record`/`abandon`).

        Raises `CircuitOpen` (503 with `Retry-After`) when the call must not be made."""
        if self.store is not None and self._state == CLOSED and _monotonic() >= self._next_sync:
            self._sync_from_store(ctx)
        state = self._state
        if state == CLOSED:
            return False
        with self._lock:
            if self._state == OPEN:
                if _monotonic() < self._open_until:
                    raise CircuitOpen(details={"dependency": self.name}, retry_after=self._open_until - _monotonic())
                self._transition(HALF_OPEN, "open time elapsed", ctx)
            if self._state == CLOSED:
                probe = False
            elif self._probes >= self.half_open_calls:
                raise CircuitOpen(details={"dependency": self.name, "state": HALF_OPEN}, retry_after=1.0)
            else:
                self._probes += 1
                probe = self._round
        self._notify()
        return probe

    def _current(self, probe: int) -> bool:
        """`probe` is a trial of this half-open period (not of one before the circuit re-opened)."""
        return self._state == HALF_OPEN and (probe is True or probe == self._round)

    def record(self, probe: int, elapsed: float, failed: bool, ctx: Any = None) -> None:
        """The outcome of a call made under `acquire()`'s permission."""
        slow = self.slow_call is not None and elapsed >= self.slow_call
        with self._lock:
            if probe:
                if not self._current(probe):
                    # another trial already decided; or this one began in an earlier half-open period
                    # and ends in this one: counted, it closed the circuit with fewer trials than asked
                    return
                if failed or slow:
                    self._transition(OPEN, "trial call slow" if slow and not failed else "trial call failed", ctx)
                else:
                    self._probe_successes += 1
                    if self._probe_successes >= self.half_open_calls:
                        self._transition(CLOSED, f"{self._probe_successes} trial calls succeeded", ctx)
            elif self._state == CLOSED:
                self._add(_SLOW_FAILED if failed and slow else _FAILED if failed else _SLOW if slow else _OK)
                if self._count >= self.min_calls:
                    if self._failures >= self.failure_rate * self._count:
                        self._transition(OPEN, f"failure rate {self._failures}/{self._count}", ctx)
                    elif self.slow_call is not None and self._slow >= self.slow_rate * self._count:
                        self._transition(OPEN, f"slow-call rate {self._slow}/{self._count}", ctx)
        if self._events:
            self._notify()

    def abandon(self, probe: int) -> None:
        """A call made under `acquire()`'s permission that ended with no outcome (cancelled, or
        failed before it was sent): a half-open trial slot goes back for another caller."""
        if probe:
            with self._lock:
                if self._current(probe) and self._probes > 0:  # (an earlier period's slot is gone)
                    self._probes -= 1

    def _add(self, outcome: int) -> None:
        ring, i = self._ring, self._next
        if self._count == self.window:
            old = ring[i]
            self._failures -= old & 1
            self._slow -= old >> 1
        else:
            self._count += 1
        ring[i] = outcome
        self._failures += outcome & 1
        self._slow += outcome >> 1
        self._next = (i + 1) % self.window

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn` under the breaker: an exception counts as a failure and is re-raised; a call
        cancelled or interrupted (CancelledError, KeyboardInterrupt) decides nothing."""
        probe = self.acquire()
        start = _monotonic()
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self.record(probe, _monotonic() - start, True)
            raise
        except BaseException:  # cancelled, interrupted: no outcome, and a trial slot goes back
            self.abandon(probe)
            raise
        self.record(probe, _monotonic() - start, False)
        return result

    async def call_async(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`call` for a coroutine function."""
        probe = self.acquire()
        start = _monotonic()
        try:
            result = await fn(*args, **kwargs)
        except Exception:
            self.record(probe, _monotonic() - start, True)
            raise
        except BaseException:  # cancelled, interrupted: no outcome, and a trial slot goes back
            self.abandon(probe)
            raise
        self.record(probe, _monotonic() - start, False)
        return result

    def reset(self) -> None:
        """Back to closed with an empty window (operators, tests)."""
        with self._lock:
            if self._state != CLOSED:
                self._transition(CLOSED, "reset")
            self._reset_window()
        self._notify()

    # -- shared state ---------------------------------------------------------------------
    @property
    def store_key(self) -> str:
        return f"lift#circuit#{self.name}"

    def _publish_open(self) -> None:
        try:
            self.store.put(self.store_key, {"until": time.time() + self.open_for}, ttl=self.open_for)
        except Exception as exc:
            _log.warning("circuit %s: could not share its state: %s", self.name, exc, extra={"dependency": self.name})

    def _sync_from_store(self, ctx: Any) -> None:
        self._next_sync = _monotonic() + self.sync_interval
        try:
            shared = self.store.get(self.store_key)
        except Exception as exc:
            _log.warning("circuit %s: shared state unreadable: %s", self.name, exc, extra={"dependency": self.name})
            return
        if not shared:
            return
        left = float(shared.get("until", 0)) - time.time()
        if left <= 0:
            return
        with self._lock:
            if self._state == CLOSED:
                self._transition(OPEN, "shared", ctx)
                self._open_until = _monotonic() + left
        self._notify()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name} {self.state} {self._failures}/{self._count} failed>"
