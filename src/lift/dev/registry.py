"""What an app registered, as the dev server lists it: HTTP routes, event sources, schedules."""

from __future__ import annotations

from typing import Any

__all__ = ["http_routes", "event_sources", "schedules"]

_SOURCE_KINDS = ("sqs", "sns", "s3", "eventbridge", "schedule", "dynamodb", "kinesis", "websocket", "invoke")


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def http_routes(app: Any) -> list[dict[str, Any]]:
    """Every HTTP route: template, methods, handler and middleware names."""
    rows = []
    for entry in app.routes:
        for method, endpoint in sorted(entry.methods.items()):
            middleware = endpoint.all_middleware() if hasattr(endpoint, "all_middleware") else []
            rows.append({"method": method, "path": entry.template, "handler": _name(endpoint.fn),
                         "middleware": [_name(m) for m in middleware]})
    return rows


def event_sources(app: Any) -> list[dict[str, Any]]:
    """Every event-source registration: kind, name (queue, topic, bucket, rule...) and options."""
    found: list[dict[str, Any]] = []
    for item in _registrations(app):
        kind = _first(item, "source", "kind", "source_name")
        if kind not in _SOURCE_KINDS:
            continue
        if kind == "dynamodb_stream":
            kind = "dynamodb"
        name = _first(item, "name", "key", "queue", "topic", "bucket", "rule", "route_key", "table", "stream")
        options = {k: v for k, v in _options(item).items() if isinstance(v, str | int | float | bool | list)}
        handler = getattr(item, "fn", None) or getattr(item, "handler", None)
        found.append({"kind": kind, "name": name or "", "options": options,
                      "handler": _name(handler) if handler is not None else ""})
    return found


def schedules(app: Any) -> dict[str, str]:
    """Rule name -> schedule expression, for the schedules declared with cron= or rate=."""
    out: dict[str, str] = {}
    for item in _registrations(app):
        if _first(item, "source", "kind") != "schedule":
            continue
        expression = _first(item, "expression", "schedule_expression")
        opts = _options(item)
        if not expression and opts.get("cron"):
            expression = f"cron({opts['cron']})" if not str(opts["cron"]).startswith("cron(") else opts["cron"]
        if not expression and opts.get("rate"):
            expression = f"rate({opts['rate']})" if not str(opts["rate"]).startswith("rate(") else opts["rate"]
        name = _first(item, "name", "rule", "key")
        if expression and name:
            out[str(name)] = str(expression)
    return out


def _first(item: Any, *names: str) -> Any:
    for n in names:
        value = item.get(n) if isinstance(item, dict) else getattr(item, n, None)
        if value:
            return value
    opts = _options(item)
    for n in names:
        if opts.get(n):
            return opts[n]
    return None


def _options(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    for attr in ("options", "meta"):
        value = getattr(item, attr, None)
        if isinstance(value, dict):
            return value
    return {k: v for k, v in getattr(item, "__dict__", {}).items() if not k.startswith("_")}


def _registrations(app: Any) -> list[Any]:
    """The event-source registrations, wherever the app keeps them."""
    for attr in ("source_registrations", "event_sources", "_event_sources", "sources", "_sources", "subscriptions"):
        value = getattr(app, attr, None)
        if value is None or callable(value) and not isinstance(value, dict | list | tuple):
            continue
        return _flatten(value)
    return []


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        out: list[Any] = []
        for key, inner in value.items():
            if isinstance(inner, list | tuple):
                out.extend(inner)
            elif isinstance(inner, dict) and not any(k in inner for k in ("source", "kind")):
                out.extend(_flatten(inner))
            else:
                out.append(inner)
        return out
    if isinstance(value, list | tuple):
        return list(value)
    return _flatten(getattr(value, "registrations", []) or [])
