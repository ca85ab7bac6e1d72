"""`lift bench`: the user's own app, measured in-process (cold start in fresh processes, warm
per-route latency through `app.handler` with real API Gateway events)."""

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

from lift.cli.common import USAGE, err, fail, load, print_json
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
    except Exception:  # noqa: BLE001 - unresolvable hints fall back to strings
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
    return {"process_ms": statistics.median(totals), "import_ms": statistics.median(imports),
            "first_invocation_ms": statistics.median(firsts)}


def route_latency(app: Any, method: str, path: str, requests: int) -> dict[str, Any]:
    """Median and p99 of `requests` warm calls of one route through app.handler."""
    from lift.testing import events, lambda_context

    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    headers = {"Content-Type": "application/json"} if body else None
    event = events.apigw_rest(method, path, body=body, headers=headers)
    context = lambda_context()
    handler = app.handler
    status = handler(event, context).get("statusCode")
    for _ in range(min(100, requests)):
        handler(event, context)
    timings = []
    clock = time.perf_counter_ns
    for _ in range(requests):
        t0 = clock()
        handler(event, context)
        timings.append(clock() - t0)
    timings.sort()
    return {"method": method, "path": path, "status": status, "median_us": statistics.median(timings) / 1000,
            "p99_us": timings[min(len(timings) - 1, int(len(timings) * 0.99))] / 1000, "requests": requests}


def bench(
    app: str = typer.Argument(None, help="The app as module:attr (default: discovered)."),
    requests: int = typer.Option(2000, "--requests", "-n", min=1, help="Warm calls per route."),
    cold_runs: int = typer.Option(5, "--cold-runs", min=1, help="Fresh processes for the cold start."),
    methods: list[str] = typer.Option(None, "--method", "-m", help="Only routes with these methods (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Benchmark the app in-process: cold start and per-route latency (runs your handlers)."""
    application, ref = load(app)
    wanted = {m.upper() for m in methods or []}
    targets = [(m, sample_path(e)) for e in application.endpoints if getattr(e, "template", "").startswith("/")
               for m in e.methods if not wanted or m in wanted]
    if not targets:
        fail("No HTTP routes to benchmark" + (f" with methods {', '.join(sorted(wanted))}" if wanted else ""), USAGE)
    first = next(((m, p) for m, p in targets if m == "GET"), targets[0])
    results: list[dict[str, Any]] = []
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("Cold start", total=cold_runs + len(targets))
        cold = cold_start(ref, first[0], first[1], cold_runs)
        progress.advance(task, cold_runs)
        for method, path in targets:
            progress.update(task, description=f"{method} {path}")
            results.append(route_latency(application, method, path, requests))
            progress.advance(task)
    if as_json:
        print_json({"app": str(ref), "cold_start": {**cold, "route": f"{first[0]} {first[1]}", "runs": cold_runs},
                    "routes": results})
        return
    _print_tables(str(ref), cold, first, cold_runs, results)


def _print_tables(ref: str, cold: dict[str, float], first: tuple[str, str], runs: int,
                  results: list[dict[str, Any]]) -> None:
    console = Console()
    table = Table(title=f"Cold start of {ref} (median of {runs} fresh processes, {first[0]} {first[1]})")
    for column in ("Process start to response", "Import app", "First invocation"):
        table.add_column(column, justify="right")
    table.add_row(f"{cold['process_ms']:.1f} ms", f"{cold['import_ms']:.1f} ms", f"{cold['first_invocation_ms']:.2f} ms")
    console.print(table)
    routes = Table(title="Warm latency per route (through app.handler, REST API events)")
    for column, justify in (("Method", "left"), ("Path", "left"), ("Status", "right"), ("Median", "right"),
                            ("p99", "right")):
        routes.add_column(column, justify=justify)
    for r in results:
        routes.add_row(r["method"], r["path"], str(r["status"]), f"{r['median_us']:.1f} µs", f"{r['p99_us']:.1f} µs")
    console.print(routes)
