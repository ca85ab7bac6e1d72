"""Requests per second under uvicorn: Lift's `app.asgi` against a raw ASGI app (the limit),
Starlette and FastAPI, in one run.

Every framework serves the same 52-route service (bench/apps/catalog.py); `wrk` drives
GET /users/{id} (typed path parameter, JSON out) and POST /users (JSON body validated into a
model, 201) on loopback. The method:
- the server is pinned to one core (`taskset -c 0`) and wrk to the other (`taskset -c 1`), so
  the load generator never takes the server's CPU;
- `--rounds` (default 5) rounds interleave the frameworks; the table shows the median and the
  range (min-max) of requests/second, and p50/p99 latency from wrk's `--latency` distribution
  (never the mean, which hides the tail);
- wrk's socket errors (connect, read, write, timeout) and non-2xx answers are counted and shown;
- a raw ASGI app (msgspec, no framework) is the limit every ratio is taken against;
- /proc/loadavg is read before every round and recorded; a round that starts with a load above
  the machine's core count (`--max-load`) is discarded (and counted), since the other work then
  takes cores from the server or from wrk.
Results are printed and written to bench/results_asgi.md. Run through bench/bench_asgi.sh
(installs wrk and the venv).

`--instructions` measures instead the instructions the uvicorn process executes per request
(valgrind's callgrind, independent of the machine's load; see `instructions`). Lift's default
mode is measured after its routes moved to the loop; `lift-threads` counts the thread hop's
user-space instructions only (the kernel's part of a context switch is not counted).

    python bench/bench_asgi.py [--rounds 5] [--duration 5] [--connections 32]
    python bench/bench_asgi.py --instructions [--frameworks raw,lift,...] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "apps")]

FRAMEWORKS = ["raw", "lift", "lift-loop", "lift-threads", "starlette", "fastapi"]
SERVER_CPU, LOAD_CPU = "0", "1"
# The servers import the apps and this checkout's lift (not the one a venv has installed)
SERVER_PATH = os.pathsep.join([str(HERE), str(HERE / "apps"), str(HERE.parent / "src")])
POST_BODY = {"name": "Ada", "email": "ada@example.com", "age": 36}


# -- the apps (uvicorn --factory bench_asgi:make_<name>) -------------------------------------
def make_lift():
    """Lift's ASGI app as users get it: `dispatch="auto"` (a route runs in the thread pool until
    it has shown it is cheap, then on the event loop)."""
    from lift_app import app

    return app.asgi


def make_lift_loop():
    """Lift's ASGI app with every route on the event loop (`dispatch="loop"`)."""
    from lift_app import app

    from lift.asgi import asgi_app

    return asgi_app(app, dispatch="loop")


def make_lift_threads():
    """Lift's ASGI app with every request in the thread pool (`dispatch="threads"`, the old default)."""
    from lift_app import app

    from lift.asgi import asgi_app

    return asgi_app(app, dispatch="threads")


def make_raw():
    """The limit: a raw ASGI 3 app, routing by dict and encoding with msgspec, no framework."""
    import msgspec
    from catalog import RESOURCES, created, item

    encode = msgspec.json.Encoder().encode
    json_headers = [(b"content-type", b"application/json")]
    models = {
        "/" + collection: (
            singular,
            msgspec.json.Decoder(msgspec.defstruct("New", [(f[0], str), (f[1], str), (f[2], int)])),
        )
        for collection, singular, f in RESOURCES
    }

    async def send_json(send, status: int, data) -> None:
        body = encode(data)
        await send({"type": "http.response.start", "status": status, "headers": json_headers})
        await send({"type": "http.response.body", "body": body})

    async def app(scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        path, method = scope["path"], scope["method"]
        if method == "POST" and path in models:
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            try:
                data = models[path][1].decode(b"".join(chunks))
            except msgspec.ValidationError as exc:
                return await send_json(send, 422, {"error": {"code": "validation_failed", "message": str(exc)}})
            return await send_json(send, 201, created(msgspec.structs.asdict(data)))
        parent, _, last = path.rpartition("/")
        if method == "GET" and parent in models and last.isdigit():
            return await send_json(send, 200, item(models[parent][0], int(last)))
        await send_json(send, 404, {"error": {"code": "not_found", "message": f"No route for {method} {path}"}})

    return app


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
        env = {**os.environ, "PYTHONPATH": SERVER_PATH}
        self.proc = subprocess.Popen(
            [
                *pinned(SERVER_CPU),
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


def pinned(cpu: str) -> list[str]:
    """`taskset -c cpu` when the machine has that core and taskset exists, else nothing."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > int(cpu):
        return ["taskset", "-c", cpu]
    return []


def loadavg() -> float:
    return os.getloadavg()[0]


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> dict[str, float]:
    """requests/second, p50 and p99 latency (ms), socket errors and non-2xx answers of one wrk run."""
    cmd = [*pinned(LOAD_CPU), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


# -- instructions per request under uvicorn (valgrind) ----------------------------------------
def _one_request(conn: Any, kind: str, body: bytes, name: str) -> None:
    if kind == "get":
        conn.request("GET", "/users/7")
    else:
        conn.request("POST", "/users", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    if resp.status not in (200, 201):
        raise RuntimeError(f"{name} answered {resp.status}")


def instructions(names: list[str], count: int = 2000, keep: str | None = None) -> None:
    """Instructions the uvicorn process spends per request (valgrind's callgrind, load-independent).

    Each app is served by uvicorn under callgrind; a keep-alive client outside valgrind sends 300
    warm-up requests, then the counters are zeroed (`callgrind_control -z`), `count` requests sent
    one after another and the counters dumped: everything the server process executed for them
    (httptools parsing, uvicorn, the app, the thread hop where there is one) divided by `count`.
    Valgrind runs code ~50x slower, so Lift's inline budget is raised to 100 ms for these runs.
    `keep`: a directory where each dump is kept (NAME.get.out, NAME.post.out) for `callgrind_annotate`.
    """
    import http.client

    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("valgrind is not installed")
    env = {
        **os.environ,
        "LIFT_ASGI_INLINE_BUDGET_MS": "100",
        "PYTHONPATH": SERVER_PATH,
    }
    body = json.dumps(POST_BODY).encode()
    per: dict[str, dict[str, float]] = {}
    for name in names:
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "cg.out"
            factory = "make_" + name.replace("-", "_")
            proc = subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", "uvicorn"]
                + ["--factory", f"bench_asgi:{factory}", "--port", str(port), "--no-access-log"]
                + ["--log-level", "warning"],
                cwd=HERE,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 300
                while True:
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        conn.request("GET", "/users/7")
                        conn.getresponse().read()
                        break
                    except OSError:
                        if time.monotonic() > deadline or proc.poll() is not None:
                            raise RuntimeError(f"{name} did not start under valgrind") from None
                        time.sleep(0.5)
                per[name] = {}
                for kind, dump in (("get", 1), ("post", 2)):
                    for _ in range(300):
                        _one_request(conn, kind, body, name)
                    subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True)
                    for _ in range(count):
                        _one_request(conn, kind, body, name)
                    subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
                    dumped = Path(f"{out}.{dump}")
                    for _ in range(100):
                        if dumped.exists() and "summary:" in dumped.read_text(errors="replace"):
                            break
                        time.sleep(0.2)
                    summary = re.search(r"^summary:\s+(\d+)", dumped.read_text(errors="replace"), re.M)
                    per[name][kind] = int(summary.group(1)) / count
                    if keep:
                        Path(keep).mkdir(parents=True, exist_ok=True)
                        shutil.copy(dumped, Path(keep) / f"{name}.{kind}.out")
                conn.close()
            finally:
                proc.terminate()
                proc.wait(60)
        print(f"{name:12s} GET {per[name]['get'] / 1000:6.1f}k   POST {per[name]['post'] / 1000:6.1f}k", flush=True)
    lines = [
        "| instructions per request (uvicorn under callgrind) | GET /users/7 | vs raw | POST /users | vs raw |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, cost in per.items():
        cells = []
        for kind in ("get", "post"):
            ratio = f"{cost[kind] / per['raw'][kind]:.2f}x" if "raw" in per else "-"
            cells += [f"{cost[kind] / 1000:.1f}k", ratio]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "As throughput, raw / lift is the ratio of requests per second one core would serve if every "
        "instruction cost the same (it does not: a thread hop's kernel work is not counted)."
    )
    print("\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument(
        "--max-load",
        type=float,
        default=float(os.cpu_count() or 1),
        help="discard a round that starts above this load average (default: the core count); raise it for "
        "A/B runs on a shared machine, whose figures are then not publishable",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--output", default=str(HERE / "results_asgi.md"))
    parser.add_argument("--instructions", action="store_true", help="valgrind instructions per request under uvicorn")
    parser.add_argument("--keep", help="with --instructions: keep the callgrind dumps in this directory")
    args = parser.parse_args()
    names = args.frameworks.split(",")
    if args.instructions:
        instructions(names, keep=args.keep)
        return
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = '{json.dumps(POST_BODY)}'\n"
        )
    results: dict[str, dict[str, list[dict[str, float]]]] = {n: {"get": [], "post": []} for n in names}
    loads: list[float] = []
    discarded = 0
    answers = {}
    round_no = 0
    while round_no < args.rounds:
        load = loadavg()
        loads.append(load)
        if load > args.max_load and discarded < 3 * args.rounds:
            discarded += 1
            print(f"load average {load:.2f} > {args.max_load:g}: round discarded, waiting 20 s", flush=True)
            time.sleep(20)
            continue
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            server = Server(name)
            try:
                answers[name] = check_same_answers(server)
                wrk(server.base + "/users/7", 1, args.connections)  # warm up
                results[name]["get"].append(wrk(server.base + "/users/7", args.duration, args.connections))
                results[name]["post"].append(wrk(server.base + "/users", args.duration, args.connections, lua.name))
            finally:
                server.stop()
            get, post = results[name]["get"][-1], results[name]["post"][-1]
            print(
                f"round {round_no + 1} (load {load:.2f}) {name:12s} GET {get['rps']:8.0f} rps p99 {get['p99']:6.2f} ms"
                f"   POST {post['rps']:8.0f} rps p99 {post['p99']:6.2f} ms",
                flush=True,
            )
        round_no += 1
    os.unlink(lua.name)
    if len({json.dumps(a, sort_keys=True) for a in answers.values()}) != 1:
        print("WARNING: frameworks answered differently:", json.dumps(answers, indent=1))
    report(results, args, loads, discarded)


def report(results: dict, args: argparse.Namespace, loads: list[float], discarded: int) -> None:
    def med(name: str, kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name][kind])

    def span(name: str, kind: str, key: str) -> str:
        values = [r[key] for r in results[name][kind]]
        return f"{min(values):.0f}-{max(values):.0f}"

    limit = "raw" if "raw" in results else None
    title = (
        f"# ASGI under uvicorn (wrk -t1 -c{args.connections} -d{args.duration}s, loopback, server on core "
        f"{SERVER_CPU}, wrk on core {LOAD_CPU}, {args.rounds} interleaved rounds)"
    )
    machine = (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, one uvicorn worker each (uvloop + httptools when installed). Load average "
        f"(1 min) before each round: {', '.join(f'{x:.2f}' for x in loads)}; rounds discarded for load above "
        f"the core count: {discarded}. Same 52-route service in every framework; `raw` is a hand-written "
        "ASGI app (msgspec), the limit."
    )
    header = (
        "| framework | GET rps (median, range) | vs raw | GET p50 / p99 ms | POST rps (median, range) | vs raw "
        "| POST p50 / p99 ms | socket errors | non-2xx |"
    )
    lines = [title, "", machine, "", header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in results:
        cells = []
        for kind in ("get", "post"):
            rps = med(name, kind, "rps")
            vs = f"{rps / med(limit, kind, 'rps'):.2f}x" if limit else "-"
            cells += [
                f"{rps:.0f} ({span(name, kind, 'rps')})",
                vs,
                f"{med(name, kind, 'p50'):.2f} / {med(name, kind, 'p99'):.2f}",
            ]
        errors = sum(r["errors"] for k in ("get", "post") for r in results[name][k])
        non_2xx = sum(r["non_2xx"] for k in ("get", "post") for r in results[name][k])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {errors} | {non_2xx} |")
    if "lift" in results and "starlette" in results:
        lines += [
            "",
            "Goal (issue 11): Lift's default at least 0.8x raw, p99 no worse than Starlette's. This run: GET "
            + ", POST ".join(
                f"{med('lift', k, 'rps') / med(limit, k, 'rps'):.2f}x raw, p99 {med('lift', k, 'p99'):.2f} ms vs "
                f"Starlette's {med('starlette', k, 'p99'):.2f} ms"
                for k in ("get", "post")
                if limit
            )
            + ".",
        ]
    lines += [
        "",
        (
            '`lift` is `app.asgi` as users get it (`dispatch="auto"`: a route runs in the thread pool until it '
            "has shown it is cheap, then on the event loop; docs/asgi.md); `lift-loop` runs every route on the "
            "loop, `lift-threads` every request in the pool (the default before). "
            "FastAPI's and Starlette's endpoints are `async def` (no thread hop)."
        ),
    ]
    if max(loads, default=0) > (os.cpu_count() or 1):
        lines += ["", "Some rounds started above the core count's load: these figures are not publishable."]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.output != "-":
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
