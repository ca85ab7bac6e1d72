"""Service level objectives declared on the app: `app.slo("checkout", availability=99.9, ...)`.

Only the declaration lives here (it is read by `lift.deploy.slo`, which turns it into burn-rate
alarms and reports); a deployed function imports nothing more than this small module, and only
when it declares an SLO.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["SLO"]


class SLO(msgspec.Struct, frozen=True, kw_only=True):
    """One objective: `availability` (% of requests without a 5xx) and/or `latency_p99_ms`, over a
    rolling `window_days`, for `routes` ("GET /orders/{id}", or "/orders/{id}" for every method;
    none: every route of the service)."""

    name: str
    availability: float | None = None
    latency_p99_ms: float | None = None
    window_days: int = 30
    routes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not (self.name.isascii() and self.name.replace("-", "").replace("_", "").isalnum()):
            raise ValueError(f"SLO name {self.name!r}: letters, digits, '-' and '_' only")
        if self.availability is None and self.latency_p99_ms is None:
            raise ValueError(f"SLO {self.name!r}: give availability= and/or latency_p99_ms=")
        if self.availability is not None and not 0 < self.availability < 100:
            raise ValueError(f"SLO {self.name!r}: availability must be a percentage below 100, e.g. 99.9")
        if self.latency_p99_ms is not None and self.latency_p99_ms <= 0:
            raise ValueError(f"SLO {self.name!r}: latency_p99_ms must be positive")
        if not 1 <= self.window_days <= 90:
            raise ValueError(f"SLO {self.name!r}: window_days must be between 1 and 90")

    @property
    def error_budget(self) -> float:
        """The fraction of requests allowed to fail over the window (0.001 for 99.9%), rounded off
        float noise (1 - 0.999 is 0.0010000000000000009)."""
        return round(1 - (self.availability or 100) / 100, 12)

    def route_keys(self) -> list[tuple[str | None, str]]:
        """(method or None for every method, route template) for each declared route."""
        keys: list[tuple[str | None, str]] = []
        for route in self.routes:
            method, _, path = route.strip().partition(" ")
            keys.append((method.upper(), path.strip()) if path else (None, method))
        return keys


def declare(app: Any, name: str, **options: Any) -> SLO:
    """Validate and register an SLO on `app` (what `app.slo` calls)."""
    routes = options.pop("routes", ()) or ()
    slo = SLO(name=name, routes=tuple(routes), **options)
    existing = getattr(app, "slos", [])
    if any(s.name == name for s in existing):
        raise ValueError(f"SLO {name!r} is already declared")
    app.slos = [*existing, slo]
    return slo
