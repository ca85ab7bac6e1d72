"""Service-client overhead: `ServiceClient.get(..., response=User)` against raw httpx on the same
local server, the cost of the breaker and bulkhead per call, and discovery lookups.

The callee is a minimal ASGI app under uvicorn in its own process (so the server does not
share this process's GIL), answering a fixed JSON user. Every variant makes the same request
on a kept-alive connection and decodes the answer into the same msgspec Struct; variants run
in interleaved rounds so machine noise hits them alike. Medians and ratios from one run, with
the load average before and after (a figure taken with load above 2 is not publishable):

    .venv/bin/python bench/bench_services.py [--rounds 9] [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx
import msgspec
import services as test_services

from lift import App
from lift.resilience import Bulkhead, CircuitBreaker, RetryBudget
from lift.services import (
    CachedDiscovery,
    CloudMapDiscovery,
    EnvDiscovery,
    ServiceClient,
    StaticDiscovery,
    register_instance,
)
from lift.testing import TestClient

CALLEE = """
BODY = b'{"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
"""


class User(msgspec.Struct):
    id: int
    name: str
    email: str


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def start_callee(tmp: Path) -> tuple[subprocess.Popen, str]:
    (tmp / "callee.py").write_text(textwrap.dedent(CALLEE))
    port = test_services.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "callee:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/users/1")
            return proc, url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def rounds(
    variants: dict[str, Callable[[], object]], n_rounds: int, calls: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Per variant: the median over rounds of (median wall time per call, CPU time of this process
    per call), in microseconds. CPU time counts only the client's work (the server is another
    process) and moves much less than wall time on a loaded machine."""
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(n_rounds):
        for name, fn in variants.items():
            samples = []
            cpu_start = time.process_time()
            for _ in range(calls):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
            cpu[name].append((time.process_time() - cpu_start) / calls * 1e6)
            wall[name].append(statistics.median(samples) * 1e6)
    return (
        {name: statistics.median(values) for name, values in wall.items()},
        {name: statistics.median(values) for name, values in cpu.items()},
    )


def micro(fn: Callable[[], object], n: int = 200_000) -> float:
    """Nanoseconds per call of a tight loop (best of 5)."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e9


BODY = b'{"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"}'


def mock_transport() -> httpx.MockTransport:
    """httpx's in-process transport answering what the callee answers: no socket, no server."""
    return httpx.MockTransport(
        lambda request: httpx.Response(200, content=BODY, headers={"content-type": "application/json"})
    )


def http_variants(
    url: str, transport: httpx.BaseTransport | None = None
) -> tuple[dict[str, Callable[[], object]], list[object]]:
    pool = {"transport": transport} if transport is not None else None
    raw = httpx.Client(timeout=10, **(pool or {}))
    decode = msgspec.json.Decoder(User).decode
    target = url + "/users/1"

    def raw_httpx() -> User:
        return decode(raw.get(target).content)

    bare = ServiceClient("users", base_url=url, retry=1, breaker=False, health=False, metrics=False, pool=pool)
    default = ServiceClient("users", base_url=url, pool=pool)
    guarded = ServiceClient("users", base_url=url, bulkhead=Bulkhead("users", 50), pool=pool)

    app = App(name="orders")
    in_handler = app.service("users", base_url=url, pool=pool)

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict:
        return {"user": in_handler.get("/users/{user_id}", user_id=order_id, response=User).name}

    @app.get("/plain/{order_id}")
    def plain(order_id: int) -> dict:
        return {"user": decode(raw.get(target).content).name}

    test = TestClient(app)
    order_event, plain_event = test.build_event("GET", "/orders/1"), test.build_event("GET", "/plain/1")
    from lift.testing.context import lambda_context

    context = lambda_context(timeout_ms=900_000)

    variants = {
        "raw httpx.Client.get + msgspec decode": raw_httpx,
        "ServiceClient, no breaker/retry/health": lambda: bare.get("/users/{user_id}", user_id=1, response=User),
        "ServiceClient, defaults (breaker, retry budget, health)": lambda: default.get(
            "/users/{user_id}", user_id=1, response=User
        ),
        "ServiceClient, defaults + bulkhead": lambda: guarded.get("/users/{user_id}", user_id=1, response=User),
        "Lambda handler calling raw httpx": lambda: app.handler(plain_event, context),
        "Lambda handler calling app.service (ids, trace, EMF)": lambda: app.handler(order_event, context),
    }
    return variants, [raw, bare, default, guarded, app]


def discovery_figures(moto_endpoint: str, url: str) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    sd = boto3.client(
        "servicediscovery", endpoint_url=moto_endpoint, region_name="us-east-1", config=Config(inject_host_prefix=False)
    )
    op = sd.create_http_namespace(Name="bench.local")["OperationId"]
    ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    service_id = sd.create_service(Name="users", NamespaceId=ns)["Service"]["Id"]
    register_instance(service_id, "users-1", url, client=sd)
    cloud_map = CloudMapDiscovery("bench.local", "users", client=sd)
    cached = CachedDiscovery(cloud_map, ttl=3600)
    cached.instances()
    os.environ["LIFT_SERVICE_USERS_URL"] = url
    env = EnvDiscovery("users")
    static = StaticDiscovery(url)
    uncached = statistics.median(_timed(cloud_map.instances) for _ in range(30)) * 1e9
    return {
        "StaticDiscovery.instances()": micro(static.instances),
        "EnvDiscovery.instances()": micro(env.instances),
        "CachedDiscovery(Cloud Map).instances(), fresh entry": micro(cached.instances),
        "CloudMapDiscovery.instances(), uncached (moto server)": uncached,
    }


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def policy_calls() -> dict[str, Callable[[], object]]:
    """One call of each policy (and of a discovery lookup), for timing or instruction counts."""
    breaker = CircuitBreaker("b")
    bulkhead = Bulkhead("b", 10)
    budget = RetryBudget()

    def breaker_call() -> None:
        probe = breaker.acquire()
        breaker.record(probe, 0.001, False)

    def bulkhead_call() -> None:
        bulkhead.acquire()
        bulkhead.release()

    cached = CachedDiscovery(StaticDiscovery("http://127.0.0.1:1"), ttl=3600)
    os.environ["LIFT_SERVICE_USERS_URL"] = "http://127.0.0.1:1"
    return {
        "CircuitBreaker acquire + record (closed)": breaker_call,
        "Bulkhead acquire + release": bulkhead_call,
        "RetryBudget.record_request": budget.record_request,
        "StaticDiscovery.instances()": StaticDiscovery("http://127.0.0.1:1").instances,
        "EnvDiscovery.instances()": EnvDiscovery("users").instances,
        "CachedDiscovery.instances(), fresh entry": cached.instances,
    }


def policy_callgrind(calls: tuple[int, int] = (20_000, 60_000)) -> dict[str, float]:
    """Instructions per call of each policy alone (two callgrind runs per policy)."""
    import re
    import tempfile

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in policy_calls():
            counts = []
            for n in calls:
                argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(tmp) / 'cg.out'}", sys.executable]
                argv += [__file__, "--only-policy", name, "--calls", str(n)]
                run = subprocess.run(argv, capture_output=True, text=True)
                found = re.search(r"Collected : (\d+)", run.stderr)
                if run.returncode != 0 or found is None:
                    print(f"callgrind run of {name!r} failed:\n{run.stderr[-2000:]}", file=sys.stderr)
                    break
                counts.append(int(found.group(1)))
            if len(counts) == 2:
                out[name] = (counts[1] - counts[0]) / (calls[1] - calls[0])
    return out


def policy_figures() -> dict[str, float]:
    return {name: micro(fn) for name, fn in policy_calls().items()}


def run_only(url: str, variant: str, calls: int) -> None:
    """Warm, then `calls` calls of one variant and nothing else (for callgrind). `url` "mock"
    uses httpx's in-process mock transport instead of a server."""
    transport = mock_transport() if url == "mock" else None
    variants, _ = http_variants("http://users.local" if transport else url, transport)
    fn = variants[variant]
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")
    for _ in range(20):
        fn()
    for _ in range(calls):
        fn()
    sys.stdout = real_stdout


def callgrind(variants: list[str], calls: tuple[int, int] = (100, 300), server: bool = False) -> dict[str, float]:
    """Instructions per call of each variant on httpx's mock transport (the client's own work, no
    socket), from two callgrind runs of different lengths (their difference cancels start-up).
    Load-independent, unlike times."""
    import re
    import tempfile

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_callee(Path(tmp)) if server else (None, "mock")
        for variant in variants:
            counts = []
            for n in calls:
                log = Path(tmp) / f"cg-{n}.out"
                argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={log}", sys.executable]
                argv += [__file__, "--only", variant, "--url", url, "--calls", str(n)]
                run = subprocess.run(argv, capture_output=True, text=True)
                found = re.search(r"Collected : (\d+)", run.stderr)
                if run.returncode != 0 or found is None:
                    print(f"callgrind run of {variant!r} failed:\n{run.stderr[-2000:]}", file=sys.stderr)
                    break
                counts.append(int(found.group(1)))
            if len(counts) == 2:
                out[variant] = (counts[1] - counts[0]) / (calls[1] - calls[0])
                print(f"  {variant}: {out[variant]:.0f} instructions per call", file=sys.stderr, flush=True)
        if proc is not None:
            proc.terminate()
    return out


def main() -> None:
    import logging
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--only", help="run one variant against --url (used under callgrind)")
    parser.add_argument("--only-policy", help="run one policy --calls times (used under callgrind)")
    parser.add_argument("--url")
    parser.add_argument("--callgrind", action="store_true", help="instruction counts per call instead of times")
    parser.add_argument("--server", action="store_true", help="with --callgrind: call a real local server, not a mock")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.only:
        run_only(args.url, args.only, args.calls)
        return
    if args.only_policy:
        fn = policy_calls()[args.only_policy]
        for _ in range(args.calls):
            fn()
        return
    if args.callgrind:
        names = ["raw httpx.Client.get + msgspec decode", "ServiceClient, defaults (breaker, retry budget, health)"]
        policies = {} if args.server else policy_callgrind()
        counts = callgrind(names, server=args.server)
        base = counts.get(names[0], float("nan"))
        where = "a local uvicorn server (client process)" if args.server else "httpx's mock transport"
        print(f"Instructions per call on {where} (callgrind)")
        for name, value in counts.items():
            print(f"  {name:58} {value:12.0f} {value - base:+10.0f} {value / base:6.3f}x")
        if policies:
            print("Instructions per call of each policy alone (callgrind)")
            for name, value in policies.items():
                print(f"  {name:58} {value:12.0f}")
        return
    load_before = loadavg()
    test_services.use_dummy_aws_credentials()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_callee(Path(tmp))
        moto = test_services.start_moto_server()
        try:
            variants, keep = http_variants(url)
            for fn in variants.values():  # warm: connections, imports, decoders
                for _ in range(50):
                    fn()
            devnull = open(os.devnull, "w")
            real_stdout, sys.stdout = sys.stdout, devnull
            try:
                results, cpu = rounds(variants, args.rounds, args.calls)
            finally:
                sys.stdout = real_stdout
            policies = policy_figures()
            discovery = discovery_figures(f"http://127.0.0.1:{moto.port}", url)
        finally:
            proc.terminate()
            moto.stop()
    load_after = loadavg()
    for title, table in (("wall time", results), ("client CPU time", cpu)):
        base = table["raw httpx.Client.get + msgspec decode"]
        handler_base = table["Lambda handler calling raw httpx"]
        print(
            f"Service calls to a local uvicorn server, {title}: median per call ({args.rounds} rounds x {args.calls})"
        )
        print(f"  {'variant':58} {'median':>10} {'overhead':>10} {'ratio':>7}")
        for name, value in table.items():
            reference = handler_base if name.startswith("Lambda handler calling app") else base
            print(f"  {name:58} {value:8.1f}us {value - reference:+8.1f}us {value / reference:6.3f}x")
    print("Policies alone (tight loop, best of 5)")
    for name, value in policies.items():
        print(f"  {name:58} {value:8.0f}ns")
    print("Discovery lookups")
    for name, value in discovery.items():
        print(f"  {name:58} {value / 1000:10.2f}us")
    print(f"load average before {load_before}, after {load_after}; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
