"""What the testing and profiling tools cost: start-up of each pytest-plugin service, and the dev
server profiler's overhead per request (none, pyinstrument, cProfile) on the same request.

    .venv/bin/python bench/bench_testing.py [--rounds 5] [--calls 300]

Medians over rounds with the range; the load average is printed with the figures (a figure taken
with a load above the core count is not one to publish).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lift import App, Context
from lift.dev.profiling import RequestProfiler
from lift.testing import events, lambda_context, services


def service_startup(rounds: int) -> dict[str, list[float]]:
    dirs = services.service_dirs(ROOT)
    starters = {
        "redis": services.start_redis,
        "dynamodb": lambda: services.start_dynamodb_local(dirs),
        "moto": services.start_moto_server,
    }
    found: dict[str, list[float]] = {}
    for name, start in starters.items():
        reason = services.missing_reason(name, dirs)
        if reason:
            print(f"{name}: skipped ({reason})")
            continue
        for _ in range(rounds):
            began = time.perf_counter()
            server = start()
            found.setdefault(name, []).append((time.perf_counter() - began) * 1000)
            server.stop()
    return found


def make_app() -> App:
    app = App("bench")

    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        total = sum(i * i for i in range(200))  # a little work, so there is something to sample
        return {"id": order_id, "total": total}

    return app


def per_request_us(rounds: int, calls: int) -> dict[str, list[float]]:
    app = make_app()
    event = events.apigw_rest("GET", "/orders/7")
    context = lambda_context()
    variants = {
        "none": None,
        "pyinstrument": RequestProfiler(every=1),
        "cprofile": RequestProfiler(every=1),
    }
    variants["cprofile"].engine = "cprofile"
    found: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, profiler in variants.items():
            began = time.perf_counter()
            for _ in range(calls):
                if profiler is None:
                    app.handler(event, context)
                else:
                    profiler.run(lambda: app.handler(event, context), "r", "GET /orders/7")
            found[name].append((time.perf_counter() - began) / calls * 1e6)
    return found


def show(title: str, unit: str, values: dict[str, list[float]], base: str | None = None) -> None:
    print(f"\n{title}")
    base_median = statistics.median(values[base]) if base and values.get(base) else None
    for name, samples in values.items():
        median = statistics.median(samples)
        ratio = f"  {median / base_median:.2f}x" if base_median else ""
        print(f"  {name:14s} {median:9.1f} {unit}  (range {min(samples):.1f}-{max(samples):.1f}){ratio}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--skip-services", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    show("request through app.handler, per call", "us", per_request_us(args.rounds, args.calls), base="none")
    if not args.skip_services:
        show("service start-up (pytest plugin fixtures), to first answer", "ms", service_startup(args.rounds))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
