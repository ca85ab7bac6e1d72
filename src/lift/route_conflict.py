"""RouteConflict, public as `lift.routing.RouteConflict`: raised at registration only, so it is
defined here and imported on its first use (`lift.routing`'s module `__getattr__`), not built by
every cold start's `import lift`."""

from __future__ import annotations

__all__ = ["RouteConflict"]


class RouteConflict(ValueError):
    """Two registrations that cannot both exist (duplicate or ambiguous routes)."""
