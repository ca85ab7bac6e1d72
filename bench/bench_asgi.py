"""Requests per second under uvicorn: Lift's `app.asgi` against Starlette and FastAPI, in one run.

Every framework serves the same 52-route service (bench/apps/catalog.py); `wrk` drives
GET /users/{id} (typed path parameter, JSON out) and POST /users (JSON body validated into a
model, 201) on loopback. Rounds interleave the frameworks; medians and ratios are printed
and written to bench/results_asgi.md. Run through bench/bench_asgi.sh (installs wrk and the venv).

    python bench/bench_asgi.py [--rounds 3] [--duration 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "apps")]

FRAMEWORKS = ["lift", "lift-inline", "starlette", "fastapi"]
POST_BODY = {"name": "Ada", "email": "ada@example.com", "age": 36}


# -- the apps (uvicorn --factory bench_asgi:make_<name>) -------------------------------------
def make_lift():
    """Lift's ASGI app: handlers run in the thread pool (the default)."""
    from lift_app import app

    return app.asgi


def make_lift_inline():
    """Lift's ASGI app dispatching on the event loop (for sync handlers that never block)."""
    from lift_app import app

    from lift.asgi import asgi_app

    return asgi_app(app, threaded=False)


def make_fastapi():
    from fastapi_app import app

    return app


def make_starlette():
    """The same service in plain Starlette: async endpoints, hand-written validation."""
    from catalog import RESOURCES, check_fields, created, deleted, item, listing
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def routes_for(collection: str, singular: str, fields: tuple) -> list[Route]:
        async def list_items(request):
            return JSONResponse(listing(singular))

        async def create_item(request):
            try:
                data = await request.json()
            except ValueError:
                return JSONResponse({"detail": "invalid JSON"}, status_code=400)
            problems = check_fields(data, fields)
            if problems:
                return JSONResponse({"detail": problems}, status_code=422)
            return JSONResponse(created(data), status_code=201)

        async def get_item(request):
            return JSONResponse(item(singular, request.path_params["id"]))

        async def delete_item(request):
            return JSONResponse(deleted(request.path_params["id"]))

        return [
            Route(f"/{collection}", list_items, methods=["GET"]),
            Route(f"/{collection}", create_item, methods=["POST"]),
            Route(f"/{collection}/{{id:int}}", get_item, methods=["GET"]),
            Route(f"/{collection}/{{id:int}}", delete_item, methods=["DELETE"]),
        ]

    return Starlette(routes=[r for spec in RESOURCES for r in routes_for(*spec)])


# -- driving them ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        factory = "make_" + name.replace("-", "_")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE / "apps")])}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"bench_asgi:{factory}",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=HERE,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/users/1", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def check_same_answers(server: Server) -> tuple[int, object, int, object]:
    with urllib.request.urlopen(server.base + "/users/7") as resp:
        got = (resp.status, json.loads(resp.read()))
    req = urllib.request.Request(
        server.base + "/users",
        data=json.dumps(POST_BODY).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        return (*got, resp.status, json.loads(resp.read()))


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> tuple[float, float]:
    """(requests/second, mean latency ms) from one wrk run."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()
    latency = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, latency


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    args = parser.parse_args()
    names = args.frameworks.split(",")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = '{json.dumps(POST_BODY)}'\n"
        )
    results: dict[str, dict[str, list[float]]] = {
        n: {"get": [], "post": [], "get_ms": [], "post_ms": []} for n in names
    }
    answers = {}
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            server = Server(name)
            try:
                answers[name] = check_same_answers(server)
                wrk(server.base + "/users/7", 1, args.connections)  # warm up
                rps, ms = wrk(server.base + "/users/7", args.duration, args.connections)
                results[name]["get"].append(rps)
                results[name]["get_ms"].append(ms)
                rps, ms = wrk(server.base + "/users", args.duration, args.connections, lua.name)
                results[name]["post"].append(rps)
                results[name]["post_ms"].append(ms)
            finally:
                server.stop()
            print(
                f"round {round_no + 1} {name:12s} GET {results[name]['get'][-1]:9.0f} rps   "
                f"POST {results[name]['post'][-1]:9.0f} rps",
                flush=True,
            )
    os.unlink(lua.name)
    if len({json.dumps(a, sort_keys=True) for a in answers.values()}) != 1:
        print("WARNING: frameworks answered differently:", json.dumps(answers, indent=1))
    report(results, args)


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    base = med.get("lift")
    title = (
        f"# ASGI under uvicorn: requests/second (wrk -t1 -c{args.connections} -d{args.duration}s, "
        f"loopback, median of {args.rounds} interleaved rounds)"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine = (
        f"Machine: {os.cpu_count()} CPUs (load average at the end: {load}), Python "
        f"{sys.version.split()[0]}, one uvicorn worker each (uvloop + httptools when installed). "
        "Same 52-route service in every framework."
    )
    header = (
        "| framework | GET /users/{id} rps | mean latency ms | POST /users rps | mean latency ms | "
        "GET vs lift | POST vs lift |"
    )
    lines = [title, "", machine, "", header, "|---|---|---|---|---|---|---|"]
    for name, m in med.items():
        ratio_get = f"{m['get'] / base['get']:.2f}x" if base else "-"
        ratio_post = f"{m['post'] / base['post']:.2f}x" if base else "-"
        lines.append(
            f"| {name} | {m['get']:.0f} | {m['get_ms']:.2f} | {m['post']:.0f} | {m['post_ms']:.2f} | "
            f"{ratio_get} | {ratio_post} |"
        )
    lines += [
        "",
        (
            "`lift` runs handlers in the thread pool (the default, safe for blocking handlers); "
            "`lift-inline` is `asgi_app(app, threaded=False)`, dispatching on the event loop. "
            "FastAPI's and Starlette's endpoints are `async def` (no thread hop)."
        ),
    ]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    (HERE / "results_asgi.md").write_text(text)


if __name__ == "__main__":
    main()
