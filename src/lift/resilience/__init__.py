"""Resilience: timeouts, retries, circuit breakers, bulkheads and load shedding.

Used by `lift.services` clients on every outgoing call, and on their own around any code
(`breaker.call(fn)`, `with bulkhead:`) or as middleware (`guard(...)`, `LoadShedder`).
Everything here is the standard library; `import lift.resilience` loads the submodules lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lift.resilience.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
    from lift.resilience.bulkhead import Bulkhead
    from lift.resilience.errors import BulkheadFull, CircuitOpen, DeadlineExceeded, Overloaded, ResilienceError
    from lift.resilience.retry import RetryBudget, RetryPolicy, is_idempotent, parse_retry_after
    from lift.resilience.route_guard import guard
    from lift.resilience.shedding import LoadShedder
    from lift.resilience.timeouts import Deadline, Timeouts

_LAZY = {
    "CircuitBreaker": "breaker",
    "CLOSED": "breaker",
    "OPEN": "breaker",
    "HALF_OPEN": "breaker",
    "Bulkhead": "bulkhead",
    "ResilienceError": "errors",
    "CircuitOpen": "errors",
    "BulkheadFull": "errors",
    "DeadlineExceeded": "errors",
    "Overloaded": "errors",
    "guard": "route_guard",
    "RetryBudget": "retry",
    "RetryPolicy": "retry",
    "is_idempotent": "retry",
    "parse_retry_after": "retry",
    "LoadShedder": "shedding",
    "Deadline": "timeouts",
    "Timeouts": "timeouts",
}
__all__ = [
    "Bulkhead",
    "BulkheadFull",
    "CLOSED",
    "CircuitBreaker",
    "CircuitOpen",
    "Deadline",
    "DeadlineExceeded",
    "HALF_OPEN",
    "LoadShedder",
    "OPEN",
    "Overloaded",
    "ResilienceError",
    "RetryBudget",
    "RetryPolicy",
    "Timeouts",
    "guard",
    "is_idempotent",
    "parse_retry_after",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.resilience' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"lift.resilience.{module}"), name)
