"""`lift routes`, `lift openapi` and `lift version`: what the app registers, described."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lift.cli.common import USAGE, err, fail, load, print_json

APP_ARGUMENT = typer.Argument(None, help="The app as module:attr (default: [tool.lift] app, or app.py/main.py).")


def middleware_name(mw: Any) -> str:
    """A readable middleware name: the factory's name for closures (`cors`, `request_id`)."""
    name = getattr(mw, "__qualname__", None) or type(mw).__name__
    return name.split(".<locals>", 1)[0]


def _handler_name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def route_rows(app: Any) -> list[dict[str, Any]]:
    """One row per HTTP endpoint and per event-source registration."""
    rows = []
    for endpoint in app.endpoints:
        template = getattr(endpoint, "template", "")
        methods = list(getattr(endpoint, "methods", ()))
        kind = "http" if template.startswith("/") else (endpoint.meta.get("source") or "event")
        rows.append(
            {
                "kind": kind,
                "methods": methods,
                "path": template,
                "handler": _handler_name(endpoint.fn),
                "status": endpoint.status,
                "middleware": [middleware_name(m) for m in endpoint.all_middleware()],
                "options": {},
            }
        )
    rows.extend(_source_rows(app))
    return rows


def _source_rows(app: Any) -> list[dict[str, Any]]:
    """Event-source registrations (@app.sqs, @app.schedule, ...): `app.event_handlers`."""
    rows = []
    global_mw = list(getattr(app, "middleware", []))
    for handler in getattr(app, "event_handlers", None) or []:
        source = getattr(handler, "source", "event")
        options = getattr(handler, "options", {}) or {}
        name = handler.name if handler.name is not None else "*"
        hidden = {"envelope", "cron", "rate"} if options.get("expression") else {"envelope"}
        shown = {
            k: v if isinstance(v, str | int | float | bool) else str(v)
            for k, v in options.items()
            if v not in (None, "", (), []) and k not in hidden and not callable(v)
        }
        mws = [*global_mw, *getattr(handler, "middleware", [])]
        rows.append(
            {
                "kind": source,
                "methods": [source.upper()],
                "path": name,  # (the queue, topic, rule, ... as registered; its options apart, for scripts)
                "handler": _handler_name(handler.fn),
                "status": None,
                "middleware": [middleware_name(m) for m in mws],
                "options": shown,
            }
        )
    return rows


def routes(
    app: str = APP_ARGUMENT,
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """Show the routes and event sources: methods, path, handler, middleware."""
    application, ref = load(app)
    rows = route_rows(application)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{application.name} ({ref})", show_lines=False)
    for column in ("Methods", "Path / source", "Handler", "Middleware"):
        table.add_column(column, overflow="fold")
    for row in rows:
        detail = ", ".join(f"{k}={v}" for k, v in row["options"].items())
        path = f"{row['path']} ({detail})" if detail else row["path"]
        table.add_row(", ".join(row["methods"]), path, row["handler"], ", ".join(row["middleware"]) or "-")
    Console(width=max(120, Console().width)).print(table)
    if not rows:
        err.print("[yellow]The app registers no routes or event sources yet.[/yellow]")


def openapi(
    app: str = APP_ARGUMENT,
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    title: str = typer.Option(None, "--title", help="API title (default: the app name)."),
    api_version: str = typer.Option("0.1.0", "--api-version", help="The API's version in info.version."),
) -> None:
    """Print the OpenAPI 3.1 document generated from the typed handlers."""
    from lift.openapi import openapi_spec

    application, _ = load(app)
    try:
        spec = openapi_spec(application, title=title, version=api_version)
    except Exception as exc:
        fail(f"Cannot generate the OpenAPI document: {type(exc).__name__}: {exc}")
    if output is None:
        print_json(spec)
        return
    if output.suffix in (".yaml", ".yml"):
        fail("Only JSON output is supported; use a .json file name", USAGE)
    try:
        output.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"Cannot write {output}: {exc}")
    err.print(f"Wrote OpenAPI 3.1 for {len(spec['paths'])} paths to {output}")


def version() -> None:
    """Print the versions of Lift, Python and msgspec."""
    import msgspec

    import lift

    typer.echo(f"lift-lambda {lift.__version__} (python {platform.python_version()}, msgspec {msgspec.__version__})")
