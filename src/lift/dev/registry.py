"""What an app registered, as the dev server lists it: HTTP routes, event sources, schedules."""

from __future__ import annotations

from typing import Any

__all__ = ["event_sources", "http_routes", "schedules"]


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def http_routes(app: Any) -> list[dict[str, Any]]:
    """Every HTTP route: template, methods, handler and middleware names."""
    rows = []
    for entry in app.routes:
        for method, endpoint in sorted(entry.methods.items()):
            middleware = endpoint.all_middleware() if hasattr(endpoint, "all_middleware") else []
            rows.append(
                {
                    "method": method,
                    "path": entry.template,
                    "handler": _name(endpoint.fn),
                    "middleware": [_name(m) for m in middleware],
                }
            )
    return rows


def event_sources(app: Any) -> list[dict[str, Any]]:
    """Every event-source registration: kind, name (queue, topic, bucket, rule...) and options."""
    found: list[dict[str, Any]] = []
    for handler in getattr(app, "event_handlers", ()):
        options = {
            k: v
            for k, v in (handler.options or {}).items()
            if v is not None and isinstance(v, str | int | float | bool | list)
        }
        if handler.source == "eventbridge":
            options["source"] = options.pop("event_source", None) or "lift.dev"
        found.append(
            {"kind": handler.source, "name": handler.name or "", "options": options, "handler": _name(handler.fn)}
        )
    return found


def schedules(app: Any) -> dict[str, str]:
    """Rule name -> schedule expression, for the schedules declared with cron= or rate=."""
    declared = getattr(app, "schedules", None)
    if callable(declared):
        declared = declared()
    return dict(declared) if isinstance(declared, dict) else {}
