"""Load balancing across a service's instances, and health-aware exclusion with recovery probes.

    RoundRobin()          each instance in turn
    Weighted()            smooth weighted round robin (nginx's): instance.weight, or weights set at
                          run time with `set_weight(instance_id, w)` (dynamic weights)
    LeastOutstanding()    the instance with the fewest calls in flight from this process

`HealthTracker` takes an instance out of rotation after `failures` consecutive failed calls
(connection refused, timeout, 5xx) for `probe_after` seconds; then one call is let through as a
probe: a success puts the instance back, a failure excludes it again for twice as long (up to
`max_probe_after`). When every instance is excluded the least recently excluded one is tried
anyway: calling a maybe-sick instance beats refusing for certain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from lift.resilience.timeouts import checked_number
from lift.services.discovery import Instance, checked_weight

__all__ = ["Balancer", "RoundRobin", "Weighted", "LeastOutstanding", "HealthTracker", "balancer_named"]


class Balancer:
    """Picks one instance per call; told when the call starts and ends."""

    def pick(self, instances: Sequence[Instance]) -> Instance:
        raise NotImplementedError

    def started(self, instance: Instance) -> None:
        """A call to `instance` began."""

    def finished(self, instance: Instance) -> None:
        """A call to `instance` ended (whatever its outcome)."""


class RoundRobin(Balancer):
    def __init__(self) -> None:
        self._next = 0

    def pick(self, instances: Sequence[Instance]) -> Instance:
        n = len(instances)
        if n == 1:
            return instances[0]
        i = self._next  # a lost update under threads only skews the rotation by one
        self._next = i + 1
        return instances[i % n]


class Weighted(Balancer):
    """Smooth weighted round robin: over sum(weights) picks, each instance gets its weight's share,
    interleaved (weights 5,1,1 give a a b a c a a, not a a a a a b c)."""

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        self.weights: dict[str, float] = {key: checked_weight(w) for key, w in (weights or {}).items()}
        self._current: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_weight(self, instance_id: str, weight: float) -> None:
        """Change an instance's weight at run time (0 takes it out of rotation); a weight that is not a
        finite number >= 0 (NaN, infinity, negative) is a ValueError and changes nothing."""
        weight = checked_weight(weight)
        with self._lock:
            self.weights[instance_id] = weight

    def weight_of(self, instance: Instance) -> float:
        return self.weights.get(instance.id, instance.weight)

    def pick(self, instances: Sequence[Instance]) -> Instance:
        if len(instances) == 1:
            return instances[0]
        with self._lock:
            total = 0.0
            best: Instance | None = None
            best_score = 0.0
            current = self._current
            for inst in instances:
                weight = self.weight_of(inst)
                if weight <= 0:
                    continue
                score = current.get(inst.id, 0.0) + weight
                current[inst.id] = score
                total += weight
                if best is None or score > best_score:
                    best, best_score = inst, score
            if best is None:
                return instances[0]
            current[best.id] -= total
            return best


class LeastOutstanding(Balancer):
    """The instance with the fewest calls in flight; ties go round robin."""

    def __init__(self) -> None:
        self.outstanding: dict[str, int] = {}
        self._lock = threading.Lock()
        self._tie = 0

    def pick(self, instances: Sequence[Instance]) -> Instance:
        if len(instances) == 1:
            return instances[0]
        counts = self.outstanding
        self._tie += 1
        n = len(instances)
        best = instances[self._tie % n]
        low = counts.get(best.id, 0)
        for k in range(1, n):
            inst = instances[(self._tie + k) % n]
            c = counts.get(inst.id, 0)
            if c < low:
                best, low = inst, c
        return best

    def started(self, instance: Instance) -> None:
        with self._lock:
            self.outstanding[instance.id] = self.outstanding.get(instance.id, 0) + 1

    def finished(self, instance: Instance) -> None:
        with self._lock:
            self.outstanding[instance.id] = self.outstanding.get(instance.id, 1) - 1


def balancer_named(name: str | Balancer) -> Balancer:
    if isinstance(name, Balancer):
        return name
    table = {"round_robin": RoundRobin, "weighted": Weighted, "least_outstanding": LeastOutstanding}
    try:
        return table[name]()
    except KeyError:
        raise ValueError(f"unknown balancer {name!r}: one of {', '.join(table)} or a Balancer") from None


class _Health:
    __slots__ = ("failures", "excluded_until", "backoff", "probing")

    def __init__(self) -> None:
        self.failures = 0
        self.excluded_until = 0.0
        self.backoff = 0.0
        self.probing = False


class HealthTracker:
    """Per-instance outcomes -> which instances may receive the next call."""

    def __init__(self, failures: int = 3, probe_after: float = 5.0, max_probe_after: float = 60.0) -> None:
        if failures.__class__ is not int or failures < 1:
            raise ValueError(f"HealthTracker failures must be an integer >= 1, not {failures!r}")
        self.failures = failures
        # (a NaN exclusion never ended: the instance was out of rotation for good)
        self.probe_after = checked_number("HealthTracker probe_after", probe_after)
        self.max_probe_after = checked_number("HealthTracker max_probe_after", max_probe_after)
        self._health: dict[str, _Health] = {}
        self._lock = threading.Lock()

    def available(self, instances: Sequence[Instance]) -> tuple[Sequence[Instance], Instance | None]:
        """(instances to balance over, or the one instance to probe). Cheap when all are well."""
        health = self._health
        if not health:
            return instances, None
        now = time.monotonic()
        ok: list[Instance] = []
        with self._lock:
            for inst in instances:
                h = health.get(inst.id)
                if h is None or h.excluded_until == 0.0:
                    ok.append(inst)
                elif now >= h.excluded_until and not h.probing:
                    h.probing = True  # exactly one caller probes a recovering instance
                    return instances, inst
            if ok:
                return ok, None
            # everything excluded: try the one whose exclusion ends first
            soonest = min(instances, key=lambda i: health[i.id].excluded_until)
            return [soonest], None

    def excluded(self) -> list[str]:
        return [iid for iid, h in self._health.items() if h.excluded_until]

    def abandon(self, instance: Instance) -> None:
        """A call given `instance` ended with no outcome (refused by the bulkhead or breaker before it
        was sent, or cancelled): if it was the probe of an excluded instance, the next call probes."""
        h = self._health.get(instance.id)
        if h is not None and h.probing:
            with self._lock:
                h.probing = False

    def record(self, instance: Instance, failed: bool) -> None:
        health = self._health
        h = health.get(instance.id)
        if not failed:
            if h is not None:
                with self._lock:
                    health.pop(instance.id, None)
            return
        with self._lock:
            if h is None:
                h = health[instance.id] = _Health()
            h.failures += 1
            if h.probing or h.excluded_until:
                h.backoff = min(self.max_probe_after, max(h.backoff * 2, self.probe_after))
                h.excluded_until = time.monotonic() + h.backoff
                h.probing = False
            elif h.failures >= self.failures:
                h.backoff = self.probe_after
                h.excluded_until = time.monotonic() + h.backoff
