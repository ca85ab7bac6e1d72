"""Observability overhead: Lift's logging + metrics middleware vs Powertools' Logger + Metrics.

Run with the bench virtualenv (bench/setup.sh installs Powertools there):

    .bench-venv/bin/python bench/bench_observability.py [--imports 15] [--rounds 15] [--calls 2000]

Two measurements, in one run, reported as medians and ratios:

1. Import time, each sample in a fresh interpreter (the two sides interleaved):
   `import lift, lift.middleware.logging, lift.middleware.metrics` against
   `from aws_lambda_powertools import Logger, Metrics`; plus `import lift` alone, and the
   logging + metrics middleware timed on their own in an interpreter that already imported
   lift (what they add on top of routing, without the noise of subtracting two samples).
2. Per-request overhead on a warm function: the same REST event through
   (a) a bare Lift app, (b) the Lift app with RequestLogging + RequestMetrics whose handler
   logs one line and adds one metric, (c) a bare plain handler, (d) that handler under
   Powertools' `@logger.inject_lambda_context` + `@metrics.log_metrics`, logging the same
   line plus an access line (Lift writes one by itself) and adding the same metric. Overhead is
   (b - a) for Lift and (d - c) for Powertools. Output goes to /dev/null during timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# name -> (already imported before the clock starts, what is timed)
IMPORTS = {
    "lift (routing only)": ("", "import lift"),
    "lift + logging + metrics": ("", "import lift, lift.middleware.logging, lift.middleware.metrics"),
    "logging + metrics after lift": ("import lift", "import lift.middleware.logging, lift.middleware.metrics"),
    "powertools Logger + Metrics": ("", "from aws_lambda_powertools import Logger, Metrics"),
}


def import_time_ms(setup: str, statement: str) -> float:
    """Milliseconds `statement` takes in a fresh interpreter (startup and `setup` excluded)."""
    code = f"{setup}\nimport time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "Bench", "POWERTOOLS_SERVICE_NAME": "orders"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure imports from bytecode, as pip-installed code is
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(out.stdout.strip())


def measure_imports(samples: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for setup, statement in IMPORTS.values():  # the first run writes any missing .pyc files
        import_time_ms(setup, statement)
    for _ in range(samples):
        for name, (setup, statement) in IMPORTS.items():  # interleaved: machine noise hits all alike
            results[name].append(import_time_ms(setup, statement))
    return results


# -- per-request ------------------------------------------------------------------------------------
def build_handlers() -> dict[str, Callable[[Any, Any], Any]]:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "orders")
    from lift import App
    from lift.middleware.logging import RequestLogging
    from lift.middleware.metrics import RequestMetrics

    bare = App("orders")

    @bare.get("/orders/{order_id}")
    def bare_order(ctx, order_id: int) -> dict:
        return {"id": order_id}

    observed = App("orders")
    observed.use(RequestLogging(), RequestMetrics())

    @observed.get("/orders/{order_id}")
    def observed_order(ctx, order_id: int) -> dict:
        ctx.logger.info("order read", order_id=order_id)
        ctx.metrics.add("OrdersRead", 1, unit="Count")
        return {"id": order_id}

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    logger = Logger(service="orders")
    metrics = Metrics(namespace="Bench", service="orders")

    def plain(event: dict, context: Any) -> dict:
        order_id = int(event["pathParameters"]["order_id"])
        return {"statusCode": 200, "body": f'{{"id": {order_id}}}', "headers": {"Content-Type": "application/json"}}

    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context
    def powertools(event: dict, context: Any) -> dict:
        start = time.perf_counter()
        order_id = int(event["pathParameters"]["order_id"])
        logger.info("order read", extra={"order_id": order_id})
        metrics.add_metric(name="OrdersRead", unit=MetricUnit.Count, value=1)
        result = {"statusCode": 200, "body": f'{{"id": {order_id}}}', "headers": {"Content-Type": "application/json"}}
        logger.info(
            "GET /orders/{order_id} 200",
            extra={
                "method": event["httpMethod"],
                "path": event["path"],
                "route": event["resource"],
                "status": 200,
                "duration_ms": (time.perf_counter() - start) * 1000,
            },
        )
        return result

    return {
        "lift bare": bare.handler,
        "lift + logging + metrics": observed.handler,
        "plain handler": plain,
        "powertools Logger + Metrics": powertools,
    }


def rest_event() -> dict:
    from lift.testing import events

    event = events.apigw_rest("GET", "/orders/42", headers={"X-Correlation-Id": "bench-1"})
    event["resource"] = "/orders/{order_id}"
    event["pathParameters"] = {"order_id": "42"}
    return event


def measure_requests(rounds: int, calls: int) -> dict[str, list[float]]:
    from lift.testing import lambda_context

    event = rest_event()
    context = lambda_context(function_name="orders")
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull  # before building: Powertools binds its stream at construction
        try:
            handlers = build_handlers()
            results: dict[str, list[float]] = {name: [] for name in handlers}
            for fn in handlers.values():  # warm up: cold start paths, caches
                for _ in range(50):
                    fn(event, context)
            for _ in range(rounds):
                for name, fn in handlers.items():
                    start = time.perf_counter()
                    for _ in range(calls):
                        fn(event, context)
                    results[name].append((time.perf_counter() - start) / calls * 1e6)
        finally:
            sys.stdout = real_stdout
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=15, help="fresh-interpreter samples per import")
    parser.add_argument("--rounds", type=int, default=15, help="timing rounds per handler")
    parser.add_argument("--calls", type=int, default=2000, help="calls per round")
    args = parser.parse_args()

    imports = measure_imports(args.imports)
    med = {k: statistics.median(v) for k, v in imports.items()}
    print(f"Import time (median of {args.imports} fresh interpreters, ms)")
    for name, value in med.items():
        print(f"  {name:32s} {value:8.2f}")
    added = med["logging + metrics after lift"]
    powertools = med["powertools Logger + Metrics"]
    print(f"  ratio lift+obs / powertools     {med['lift + logging + metrics'] / powertools:8.3f}")
    print(f"  ratio obs-added / powertools    {added / powertools:8.3f}")

    requests = measure_requests(args.rounds, args.calls)
    per = {k: statistics.median(v) for k, v in requests.items()}
    print(f"\nPer request (median of {args.rounds} rounds x {args.calls} calls, microseconds)")
    for name, value in per.items():
        print(f"  {name:32s} {value:8.2f}")
    lift_overhead = per["lift + logging + metrics"] - per["lift bare"]
    pt_overhead = per["powertools Logger + Metrics"] - per["plain handler"]
    print(f"  lift logging+metrics overhead   {lift_overhead:8.2f}")
    print(f"  powertools overhead             {pt_overhead:8.2f}")
    print(f"  ratio lift / powertools overhead {lift_overhead / pt_overhead:7.3f}")


if __name__ == "__main__":
    main()
