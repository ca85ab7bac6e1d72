"""Route registration cost per route at 1,000 routes: Lift against Chalice, in one run.

Each framework registers `--routes` routes, half `GET /r{i}/{id}` (a typed `int` path
parameter in Lift, `int(id)` in Chalice) and half `POST /r{i}` (a `msgspec.Struct` body in Lift,
`current_request.json_body` in Chalice), in a fresh process: the same shapes as the bench
service. Reported per route: CPU time (median of `--runs` processes, interleaved) and, with
`--instructions`, valgrind's instruction count ((N routes - 0 routes) / N), which does not move
with the machine's load.

Usage: ``.bench-venv/bin/python bench/bench_registration.py [--routes 1000] [--runs 7] [--instructions]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = {
    "lift": """
import sys, time
import msgspec
from lift import App, Context
N = int(sys.argv[1])
models = [msgspec.defstruct(f"M{i}", [("name", str), ("n", int)]) for i in range(N // 2)]
start = time.process_time()
app = App(name="reg")
for i in range(N // 2):
    def get_item(ctx: Context, id: int) -> dict:
        return {"id": id}
    def create_item(ctx: Context, body) -> dict:
        return {}
    create_item.__annotations__["body"] = models[i]
    app.get(f"/r{i}/{{id}}")(get_item)
    app.post(f"/r{i}", status=201)(create_item)
print((time.process_time() - start) * 1e6)
""",
    "chalice": """
import sys, time
import msgspec
from chalice import Chalice
N = int(sys.argv[1])
models = [msgspec.defstruct(f"M{i}", [("name", str), ("n", int)]) for i in range(N // 2)]
start = time.process_time()
app = Chalice(app_name="reg")
for i in range(N // 2):
    def get_item(id):
        return {"id": int(id)}
    def create_item():
        return app.current_request.json_body
    app.route(f"/r{i}/{{id}}", methods=["GET"], name=f"get{i}")(get_item)
    app.route(f"/r{i}", methods=["POST"], name=f"post{i}")(create_item)
print((time.process_time() - start) * 1e6)
""",
}


def cpu_us(framework: str, routes: int) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD[framework], str(routes)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{framework}: {out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def instructions(framework: str, routes: int) -> int:
    args = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    out = subprocess.run([*args, sys.executable, "-c", CHILD[framework], str(routes)], capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or not found:
        raise SystemExit(f"{framework}: valgrind failed\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    samples: dict[str, list[float]] = {"lift": [], "chalice": []}
    for _ in range(args.runs):
        for framework in samples:
            samples[framework].append(cpu_us(framework, args.routes) / args.routes)
    lift, chalice = (statistics.median(samples[f]) for f in ("lift", "chalice"))
    print(f"Registration of {args.routes} routes (median of {args.runs} processes; load average {load})")
    print("| framework | us per route (CPU) | vs Chalice | instructions per route | vs Chalice |")
    print("|---|---:|---:|---:|---:|")
    counts = {}
    if args.instructions:
        for framework in samples:
            counts[framework] = (instructions(framework, args.routes) - instructions(framework, 0)) / args.routes
    for framework, us in (("lift", lift), ("chalice", chalice)):
        ic = counts.get(framework)
        ic_cells = f"{ic / 1000:.1f}k | {ic / counts['chalice']:.2f}x" if ic else "- | -"
        print(f"| {framework} | {us:.1f} | {us / chalice:.2f}x | {ic_cells} |")


if __name__ == "__main__":
    main()
