"""`lift bench`: the user's own app, measured in-process (cold start in fresh processes, warm
per-route latency through `app.handler` with real API Gateway events; request bodies are
sampled from each route's OpenAPI schema so typed routes run their success path)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import typing
import uuid
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from lift.cli.common import USAGE, app_output_on_stderr, err, fail, load, print_json
from lift.cli.discovery import AppRef

_COLD_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import importlib
module = importlib.import_module({module!r})
app = module
for part in {attr!r}.split("."):
    app = getattr(app, part)
t1 = time.perf_counter()
from lift.testing import events, lambda_context
event = events.apigw_rest({method!r}, {path!r})
t2 = time.perf_counter()
app.handler(event, lambda_context())
t3 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "first_ms": (t3 - t2) * 1000}}))
"""

_SAMPLES: dict[Any, str] = {int: "1", float: "1.5", bool: "true", uuid.UUID: "123e4567-e89b-12d3-a456-426614174000"}


def sample_path(endpoint: Any) -> str:
    """The endpoint's template with each parameter filled with a value of its hinted type."""
    from lift.routing import parse_template

    try:
        hints = typing.get_type_hints(endpoint.fn)
    except Exception:
        hints = {}
    parts = []
    for kind, value in parse_template(endpoint.template):
        if kind == "static":
            parts.append(value)
        else:
            tp = hints.get(value, str)
            enum_values = [m.value for m in tp] if isinstance(tp, type) and hasattr(tp, "__members__") else None
            parts.append(str(enum_values[0]) if enum_values else _SAMPLES.get(tp, "example"))
    return "/" + "/".join(parts)


def cold_start(ref: AppRef, method: str, path: str, runs: int) -> dict[str, float]:
    """Median process start-to-first-response, import and first-invocation time over `runs` processes."""
    script = _COLD_SCRIPT.format(root=str(ref.root), module=ref.module, attr=ref.attr, method=method, path=path)
    totals, imports, firsts = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        totals.append((time.perf_counter() - started) * 1000)
        if proc.returncode != 0:
            fail(f"The app failed in a fresh process:\n{proc.stderr.strip()}")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        imports.append(data["import_ms"])
        firsts.append(data["first_ms"])
    return {
        "process_ms": statistics.median(totals),
        "import_ms": statistics.median(imports),
        "first_invocation_ms": statistics.median(firsts),
    }


def sample_from_schema(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A small value valid for a JSON Schema (required fields only, lower bounds respected)."""
    if depth > 8:
        return None
    if "$ref" in schema:
        return sample_from_schema(components.get(schema["$ref"].rsplit("/", 1)[-1], {}), components, depth + 1)
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return sample_from_schema(options[0], components, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object":
        props = schema.get("properties", {})
        return {
            name: sample_from_schema(props.get(name, {}), components, depth + 1) for name in schema.get("required", [])
        }
    if kind == "array":
        return [
            sample_from_schema(schema.get("items", {}), components, depth + 1) for _ in range(schema.get("minItems", 0))
        ]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
        return max(low, 1) if kind == "integer" else float(max(low, 1))
    if kind == "boolean":
        return True
    if kind == "string":
        formats = {
            "uuid": "123e4567-e89b-12d3-a456-426614174000",
            "date-time": "2026-01-01T00:00:00Z",
            "date": "2026-01-01",
            "email": "user@example.com",
        }
        if schema.get("format") in formats:
            return formats[schema["format"]]
        return "example".ljust(schema.get("minLength", 0), "x")[: schema.get("maxLength", 64)]
    return {}


def sample_bodies(app: Any) -> dict[tuple[str, str], str]:
    """(method, template) -> a JSON request body built from the route's OpenAPI request schema."""
    from lift.openapi import openapi_spec

    try:
        spec = openapi_spec(app)
    except Exception:
        return {}
    components = spec.get("components", {}).get("schemas", {})
    bodies = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                bodies[(method.upper(), path)] = json.dumps(sample_from_schema(schema, components))
    return bodies


def route_latency(app: Any, method: str, path: str, requests: int, body: str | None = None) -> dict[str, Any]:
    """Median and p99 of `requests` warm calls of one route through app.handler."""
    from lift.testing import events, lambda_context

    if body is None and method in ("POST", "PUT", "PATCH"):
        body = "{}"
    headers = {"Content-Type": "application/json"} if body else None
    event = events.apigw_rest(method, path, body=body, headers=headers)
    context = lambda_context()
    handler = app.handler
    status = last_status = handler(event, context).get("statusCode")
    for _ in range(min(100, requests)):
        last_status = handler(event, context).get("statusCode")
    timings = []
    clock = time.perf_counter_ns
    for _ in range(requests):
        t0 = clock()
        handler(event, context)
        timings.append(clock() - t0)
    timings.sort()
    return {
        "method": method,
        "path": path,
        "status": status,
        "warm_status": last_status,
        "median_us": statistics.median(timings) / 1000,
        "p99_us": timings[min(len(timings) - 1, int(len(timings) * 0.99))] / 1000,
        "requests": requests,
    }


def bench(
    app: str = typer.Argument(None, help="The app as module:attr (default: discovered)."),
    requests: int = typer.Option(2000, "--requests", "-n", min=1, help="Warm calls per route."),
    cold_runs: int = typer.Option(5, "--cold-runs", min=1, help="Fresh processes for the cold start."),
    methods: list[str] = typer.Option(None, "--method", "-m", help="Only routes with these methods (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Benchmark the app in-process: cold start and per-route latency (runs your handlers)."""
    with app_output_on_stderr():
        application, ref = load(app)
    wanted = {m.upper() for m in methods or []}
    from lift.openapi import openapi_path

    bodies = sample_bodies(application)
    targets = [
        (m, sample_path(e), bodies.get((m, openapi_path(e.template))))
        for e in application.endpoints
        if getattr(e, "template", "").startswith("/")
        for m in e.methods
        if not wanted or m in wanted
    ]
    if not targets:
        fail("No HTTP routes to benchmark" + (f" with methods {', '.join(sorted(wanted))}" if wanted else ""), USAGE)
    first = next(((m, p) for m, p, _ in targets if m == "GET"), targets[0][:2])
    results: list[dict[str, Any]] = []
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("Cold start", total=cold_runs + len(targets))
        cold = cold_start(ref, first[0], first[1], cold_runs)
        progress.advance(task, cold_runs)
        for method, path, body in targets:
            progress.update(task, description=f"{method} {path}")
            with app_output_on_stderr():  # the app's log lines stay off the tables
                results.append(route_latency(application, method, path, requests, body))
            progress.advance(task)
    if as_json:
        print_json(
            {
                "app": str(ref),
                "cold_start": {**cold, "route": f"{first[0]} {first[1]}", "runs": cold_runs},
                "routes": results,
            }
        )
        return
    _print_tables(str(ref), cold, first, cold_runs, results)


def _print_tables(
    ref: str, cold: dict[str, float], first: tuple[str, str], runs: int, results: list[dict[str, Any]]
) -> None:
    console = Console()
    table = Table(title=f"Cold start of {ref} (median of {runs} fresh processes, {first[0]} {first[1]})")
    for column in ("Process start to response", "Import app", "First invocation"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{cold['process_ms']:.1f} ms", f"{cold['import_ms']:.1f} ms", f"{cold['first_invocation_ms']:.2f} ms"
    )
    console.print(table)
    routes = Table(title="Warm latency per route (through app.handler, REST API events)")
    for column, justify in (
        ("Method", "left"),
        ("Path", "left"),
        ("Status", "right"),
        ("Median", "right"),
        ("p99", "right"),
    ):
        routes.add_column(column, justify=justify)
    for r in results:
        status = str(r["status"]) if r["status"] == r["warm_status"] else f"{r['status']}→{r['warm_status']}"
        routes.add_row(r["method"], r["path"], status, f"{r['median_us']:.1f} µs", f"{r['p99_us']:.1f} µs")
    console.print(routes)
