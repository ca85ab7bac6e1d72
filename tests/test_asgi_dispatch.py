"""Where `app.asgi` runs each route (lift.asgi's dispatch modes) and what a client sees of it.

The default, `dispatch="auto"`, runs a route in the thread pool until it has shown it is cheap,
then on the event loop; a route seen blocking there goes back to the pool for good. Every
response shape must be the same wherever the route runs, and a blocking handler must never hold
up other requests (checked under a real uvicorn with a real HTTP client).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import resource
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest

from lift import App, Context, Response
from lift.asgi import PROBATION_RUNS, SUSPECT_RUNS, asgi_app
from lift.errors import Conflict
from tests.servers import uvicorn_process

ROOT = Path(__file__).resolve().parents[1]


class NewItem(msgspec.Struct):
    name: str
    price: float


def shapes_app() -> App:
    app = App(name="shapes", max_body_size=4096)

    @app.get("/dict/{n}")
    def as_dict(ctx: Context, n: int) -> dict:
        return {"n": n, "q": ctx.query.getall("q"), "agent": ctx.headers.get("user-agent")}

    @app.get("/list")
    def as_list(ctx: Context) -> list:
        return [1, "two", {"three": 3}]

    @app.post("/items", status=201)
    def create(ctx: Context, body: NewItem) -> dict:
        return {"name": body.name, "price": body.price}

    @app.get("/text")
    def text(ctx: Context) -> Response:
        return Response.text("plain", headers={"X-Extra": "yes"}).set_cookie("a", "1").set_cookie("b", "2")

    @app.get("/bytes")
    def raw(ctx: Context) -> Response:
        return Response.binary(bytes(range(256)), "application/octet-stream")

    @app.get("/none")
    def nothing(ctx: Context) -> None:
        return None

    @app.get("/str")
    def string(ctx: Context) -> str:
        return "just a string"

    @app.get("/struct")
    def struct(ctx: Context) -> NewItem:
        return NewItem(name="pen", price=2.5)

    @app.get("/conflict")
    def conflict(ctx: Context) -> dict:
        raise Conflict("already there", details=[{"field": "name"}])

    @app.get("/crash")
    def crash(ctx: Context) -> dict:
        raise RuntimeError("secret internals")

    @app.get("/stream")
    def stream(ctx: Context) -> Response:
        return Response.ndjson({"i": i} for i in range(3))

    @app.get("/async")
    async def async_dict(ctx: Context) -> dict:
        await asyncio.sleep(0)
        return {"async": True, "loop": True}

    def stamp(ctx: Context, call_next):
        response = call_next(ctx)
        response.headers["X-Group"] = "g"
        return response

    def short_circuit(ctx: Context, call_next):
        if ctx.query.get("stop"):
            return {"stopped": True}  # a middleware answering with a plain value
        return call_next(ctx)

    group = app.group("/g", middleware=[short_circuit, stamp])

    @group.get("/sync")
    def group_sync(ctx: Context) -> dict:
        return {"group": "sync"}

    @group.get("/async")
    async def group_async(ctx: Context) -> dict:
        await asyncio.sleep(0)
        return {"group": "async"}

    @app.get("/nested-loop")
    def nested(ctx: Context) -> dict:
        async def work() -> int:
            await asyncio.sleep(0)
            return 42

        return {"answer": asyncio.run(work())}  # works in a worker thread, so it must work on the loop too

    return app


REQUESTS = [
    ("GET", "/dict/7?q=a&q=b", None),
    ("GET", "/list", None),
    ("POST", "/items", {"name": "pen", "price": 1.5}),
    ("POST", "/items", {"name": "pen"}),
    ("POST", "/items", "not json"),
    ("GET", "/text", None),
    ("GET", "/bytes", None),
    ("GET", "/none", None),
    ("GET", "/str", None),
    ("GET", "/struct", None),
    ("GET", "/conflict", None),
    ("GET", "/crash", None),
    ("GET", "/stream", None),
    ("GET", "/async", None),
    ("GET", "/g/sync", None),
    ("GET", "/g/sync?stop=1", None),
    ("GET", "/g/async", None),
    ("GET", "/nested-loop", None),
    ("GET", "/nowhere", None),
    ("DELETE", "/list", None),
    ("HEAD", "/dict/3", None),
    ("HEAD", "/text", None),
    ("GET", "/dict/abc", None),
    ("GET", "/dict/7/", None),
]


def answers(asgi, repeat: int = 1) -> list[tuple]:
    """Each request of REQUESTS sent `repeat` times; the last answer of each, comparable across modes."""

    async def go() -> list[tuple]:
        transport = httpx.ASGITransport(app=asgi, client=("10.0.0.9", 4242))
        out = []
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for method, url, body in REQUESTS:
                for _ in range(repeat):
                    headers = {"User-Agent": "ua/2"}
                    if isinstance(body, str):
                        kwargs = {"content": body.encode()}
                        headers["Content-Type"] = "application/json"
                    else:
                        kwargs = {"json": body} if body is not None else {}
                    resp = await client.request(method, url, headers=headers, **kwargs)
                content = resp.content
                if resp.headers.get("content-type") == "application/json" and content:
                    data = resp.json()
                    if isinstance(data, dict) and "error" in data:
                        data["error"].pop("request_id")  # a fresh id per request
                    content = data
                headers = {k: v for k, v in resp.headers.items() if k not in ("set-cookie",)}
                out.append((method, url, resp.status_code, content, headers, resp.headers.get_list("set-cookie")))
        return out

    return asyncio.run(go())


def test_every_response_shape_is_the_same_wherever_the_route_runs() -> None:
    threads = answers(asgi_app(shapes_app(), dispatch="threads"))
    on_loop = answers(asgi_app(shapes_app(), dispatch="loop"))
    auto_app = asgi_app(shapes_app())
    auto_app.inline_budget = 0.05  # (a loaded machine's CPU clock, stolen time counted in, is not judged here)
    auto = answers(auto_app, repeat=PROBATION_RUNS + 1)  # the last answer comes from the loop
    assert on_loop == threads
    assert auto == threads
    by_url = {(m, u): (status, content, headers, cookies) for m, u, status, content, headers, cookies in threads}
    assert by_url["GET", "/dict/7?q=a&q=b"][:2] == (200, {"n": 7, "q": ["a", "b"], "agent": "ua/2"})
    assert by_url["GET", "/list"][:2] == (200, [1, "two", {"three": 3}])
    assert by_url["GET", "/text"][1] == b"plain" and by_url["GET", "/text"][2]["x-extra"] == "yes"
    assert [c.split(";")[0] for c in by_url["GET", "/text"][3]] == ["a=1", "b=2"]
    assert by_url["GET", "/bytes"][1] == bytes(range(256))
    assert by_url["GET", "/none"][:2] == (204, b"")
    assert by_url["GET", "/str"][1] == b"just a string"
    assert by_url["GET", "/struct"][1] == {"name": "pen", "price": 2.5}
    conflict = by_url["GET", "/conflict"]
    assert conflict[0] == 409 and conflict[1]["error"]["details"] == [{"field": "name"}]
    crash = by_url["GET", "/crash"]
    assert crash[0] == 500 and b"secret" not in json.dumps(crash[1]).encode()
    assert by_url["GET", "/stream"][1] == b'{"i":0}\n{"i":1}\n{"i":2}\n'
    assert by_url["GET", "/async"][1] == {"async": True, "loop": True}
    assert by_url["GET", "/g/sync"][1] == {"group": "sync"} and by_url["GET", "/g/sync"][2]["x-group"] == "g"
    assert by_url["GET", "/g/sync?stop=1"][:2] == (200, {"stopped": True})
    assert by_url["GET", "/g/async"][1] == {"group": "async"}
    assert by_url["GET", "/nested-loop"][1] == {"answer": 42}
    assert by_url["GET", "/nowhere"][0] == 404 and by_url["GET", "/nowhere"][1]["error"]["code"] == "not_found"
    assert by_url["DELETE", "/list"][0] == 405 and "GET" in by_url["DELETE", "/list"][2]["allow"]
    head = by_url["HEAD", "/dict/3"]
    assert head[0] == 200 and head[1] == b"" and int(head[2]["content-length"]) > 0
    assert by_url["GET", "/dict/abc"][0] == 422
    assert by_url["GET", "/dict/7/"][:2] == (200, {"n": 7, "q": [], "agent": "ua/2"})
    posts = [a for a in threads if a[0] == "POST"]
    assert [p[2] for p in posts] == [201, 422, 400]
    # After its probation every sync route of the auto app runs on the loop; the async route without
    # middleware is awaited there from the start; the one under (sync) middleware waits in the pool.
    where = {url: auto_app.placement(method, url.split("?")[0]) for method, url, _ in REQUESTS}
    assert where["/dict/7?q=a&q=b"].inline and where["/text"].inline and where["/g/sync"].inline
    assert where["/nowhere"].inline and where["/async"].inline
    assert not where["/g/async"].inline


def test_a_cheap_route_moves_to_the_loop_after_its_probation_and_marked_routes_stay_put() -> None:
    app = App(name="marks")

    @app.get("/cheap")
    def cheap(ctx: Context) -> dict:
        return {"thread": threading.current_thread().name}

    @app.get("/pinned", blocking=True)
    def pinned(ctx: Context) -> dict:
        return {"thread": threading.current_thread().name}

    @app.get("/trusted", blocking=False)
    def trusted(ctx: Context) -> dict:
        return {"thread": threading.current_thread().name}

    asgi = app.asgi

    async def go() -> dict[str, list[str]]:
        threads: dict[str, list[str]] = {"/cheap": [], "/pinned": [], "/trusted": []}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t") as client:
            for _ in range(PROBATION_RUNS + 4):
                for url, seen in threads.items():
                    seen.append((await client.get(url)).json()["thread"])
        return threads

    threads = asyncio.run(go())
    main = threading.main_thread().name
    cheap = threads["/cheap"]
    assert all(t.startswith("lift-asgi") for t in cheap[:PROBATION_RUNS])
    assert cheap[PROBATION_RUNS:] == [main] * 4
    assert all(t.startswith("lift-asgi") for t in threads["/pinned"])
    assert threads["/trusted"] == [main] * (PROBATION_RUNS + 4)
    assert asgi.placement("GET", "/pinned").pinned and not asgi.placement("GET", "/pinned").inline


def _promoted_app(work) -> tuple[App, dict]:
    app = App(name="demotion")
    mode = {"slow": False}

    @app.get("/sometimes")
    def sometimes(ctx: Context) -> dict:
        if mode["slow"]:
            work()
        return {"thread": threading.current_thread().name}

    return app, mode


def _drive(asgi, n: int, until: Callable[[str], bool] | None = None) -> list[str]:
    """The threads that served `n` requests to /sometimes, or fewer: up to the first that `until` accepts."""

    async def go() -> list[str]:
        threads: list[str] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t") as client:
            for _ in range(n):
                threads.append((await client.get("/sometimes")).json()["thread"])
                if until is not None and until(threads[-1]):
                    break
        return threads

    return asyncio.run(go())


def _on_the_loop(thread: str) -> bool:
    return thread == threading.main_thread().name


def _leading_runs_on_the_loop(threads: list[str]) -> int:
    return next((i for i, t in enumerate(threads) if not _on_the_loop(t)), len(threads))


def test_a_route_seen_blocking_on_the_loop_goes_back_to_the_pool_for_good(caplog: pytest.LogCaptureFixture) -> None:
    app, mode = _promoted_app(lambda: time.sleep(0.02))
    asgi = app.asgi
    _drive(asgi, PROBATION_RUNS + SUSPECT_RUNS + 1)  # past its probation and its first watched runs
    assert asgi.placement("GET", "/sometimes").inline
    mode["slow"] = True
    with caplog.at_level(logging.WARNING, logger="lift.asgi"):
        threads = _drive(asgi, 5)
    # the first slow run could be the OS preempting the server: the next one is watched, seen
    # waiting (a voluntary switch) and the route moves; from then on it runs in the pool. That
    # watched run is let off once when the OS preempted it or the collector ran in it (a loaded
    # machine, a large heap: see the two tests below), and then the one after it moves the route.
    assert _leading_runs_on_the_loop(threads) in (2, 3), threads
    assert all(t.startswith("lift-asgi") for t in threads[_leading_runs_on_the_loop(threads) :])
    place = asgi.placement("GET", "/sometimes")
    assert place.pinned and not place.inline
    assert any("blocked the event loop" in r.getMessage() and "/sometimes" in r.getMessage() for r in caplog.records)
    mode["slow"] = False
    assert all(t.startswith("lift-asgi") for t in _drive(asgi, PROBATION_RUNS + 2))  # for good


def test_a_handler_that_waits_never_stays_on_the_loop_though_each_wait_is_within_the_budget() -> None:
    app = App(name="short-waits")

    @app.get("/sometimes")
    def read(ctx: Context) -> dict:
        time.sleep(0.0002)  # 0.2 ms, a fifth of the budget: a wait all the same (a socket's would be too)
        return {"thread": threading.current_thread().name}

    asgi = app.asgi
    asgi.inline_budget = 0.05
    # Its probation in the pool looks cheap, so it reaches the loop. (A loaded machine may wake one of
    # its sleeps later than the budget, and its probation starts again: it is driven until it arrives.)
    threads = _drive(asgi, 20 * PROBATION_RUNS, until=_on_the_loop)
    assert len(threads) >= PROBATION_RUNS + 1 and threads.count(threading.main_thread().name) == 1
    # There its first (watched) run is seen waiting: back in the pool for good
    place = asgi.placement("GET", "/sometimes")
    assert not place.inline and place.pinned
    assert all(t.startswith("lift-asgi") for t in _drive(asgi, SUSPECT_RUNS + 8))


def test_a_route_burning_cpu_on_the_loop_goes_back_to_the_pool() -> None:
    def spin() -> None:
        end = time.thread_time() + 0.01
        while time.thread_time() < end:
            pass

    app, mode = _promoted_app(spin)
    asgi = app.asgi
    _drive(asgi, PROBATION_RUNS + 1)
    mode["slow"] = True
    # its runs there are still watched: the first slow one moves it, or the second when the OS preempted
    # the first (likely for 10 ms of CPU on a loaded machine) or the collector ran in it: let off once
    threads = _drive(asgi, 4)
    assert _leading_runs_on_the_loop(threads) in (1, 2), threads
    place = asgi.placement("GET", "/sometimes")
    assert place.pinned and not place.inline


def test_a_garbage_collection_inside_a_watched_run_does_not_move_a_cheap_route() -> None:
    """A full collection of a large heap takes milliseconds of CPU in whichever run's allocation sets it off
    (a test suite's process, a warm server's caches), and the finalizers it runs may wait: that run is let
    off once, the next one is judged."""
    heap = [{"n": i} for i in range(300_000)]  # kept alive: a full collection walks all of it
    collect_in = {"runs": 0}

    class Waits:  # garbage in a cycle whose finalizer waits (closes a socket, joins a thread, ...)
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            time.sleep(0.001)

    def work() -> None:
        if collect_in["runs"] > 0:
            collect_in["runs"] -= 1
            Waits()
            gc.collect()

    app, mode = _promoted_app(work)
    asgi = app.asgi
    _drive(asgi, PROBATION_RUNS + 1)  # on the loop now, its first runs there watched
    assert asgi.placement("GET", "/sometimes").inline
    mode["slow"] = True
    collect_in["runs"] = 1
    start = time.thread_time()
    gc.collect()
    assert time.thread_time() - start > asgi.inline_budget  # (a collection here costs more than the budget)
    threads = _drive(asgi, 4)
    place = asgi.placement("GET", "/sometimes")
    assert place.inline and not place.pinned, place
    assert threads == [threading.main_thread().name] * 4
    # collecting on every run is the route's own cost: the second watched run over the budget moves it
    collect_in["runs"] = 2
    _drive(asgi, 3)
    assert asgi.placement("GET", "/sometimes").pinned
    del heap


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity (Linux)")
def test_a_watched_run_the_os_preempted_is_judged_again_by_the_next_run() -> None:
    """On a loaded machine the OS takes the CPU from the server mid-run, and a thread that wanted the GIL
    meanwhile gets it handed over: the run waits to have it back, a voluntary switch as if it blocked.
    Such a run is let off once; the next run is judged, and a route preempted while waiting on every run
    still moves to the pool."""
    cpu = min(os.sched_getaffinity(0))
    hog = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
    preempt = {"runs": 0, "seen": 0}

    def preempted_and_waiting() -> None:
        if preempt["runs"] <= 0:
            return
        preempt["runs"] -= 1
        own = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})  # beside the hog: the OS preempts this thread within its time slice
        try:
            start = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
            deadline = time.monotonic() + 5
            while resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw == start and time.monotonic() < deadline:
                pass
            preempt["seen"] += resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw > start
        finally:
            os.sched_setaffinity(0, own)
        time.sleep(0.0005)  # and it waits

    try:
        app, mode = _promoted_app(preempted_and_waiting)
        asgi = app.asgi
        asgi.inline_budget = 0.5  # its CPU beside the hog is not what is judged here
        _drive(asgi, PROBATION_RUNS + 1)  # on the loop now, its first runs there watched
        assert asgi.placement("GET", "/sometimes").inline
        mode["slow"] = True
        preempt["runs"] = 1
        assert _drive(asgi, 3) == [threading.main_thread().name] * 3
        assert preempt["seen"] == 1  # (the run was preempted)
        place = asgi.placement("GET", "/sometimes")
        assert place.inline and not place.pinned, place
        preempt["runs"] = 2  # preempted and waiting on two watched runs in a row: the second moves it
        _drive(asgi, 3)
        assert preempt["seen"] == 3
        assert asgi.placement("GET", "/sometimes").pinned
    finally:
        hog.kill()
        hog.wait()


def test_a_slow_route_never_leaves_the_pool() -> None:
    app = App(name="slow")

    @app.get("/sometimes")
    def slow(ctx: Context) -> dict:
        time.sleep(0.003)
        return {"thread": threading.current_thread().name}

    asgi = app.asgi
    assert all(t.startswith("lift-asgi") for t in _drive(asgi, PROBATION_RUNS + 4))
    assert not asgi.placement("GET", "/sometimes").inline


def test_dispatch_modes_are_checked_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    app = App(name="modes")
    with pytest.raises(ValueError, match="auto, threads, loop"):
        asgi_app(app, dispatch="fast")
    assert asgi_app(app).dispatch == "auto"
    assert asgi_app(app, threaded=False).dispatch == "loop" and asgi_app(app, threaded=True).threaded
    monkeypatch.setenv("LIFT_ASGI_DISPATCH", "threads")
    assert asgi_app(app).dispatch == "threads"
    monkeypatch.delenv("LIFT_ASGI_DISPATCH")
    monkeypatch.setenv("LIFT_ASGI_THREADED", "0")
    assert asgi_app(app).dispatch == "loop"


# -- under uvicorn, with a real HTTP client ------------------------------------------------
SERVICE = """
import threading, time
from lift import App, Context

app = App(name="dispatch-svc")
release = threading.Event()
entered = threading.Event()
mode = {"block": False}

@app.get("/fast/{n}")
def fast(ctx: Context, n: int) -> dict:
    return {"n": n}

@app.get("/wait")
def wait(ctx: Context) -> dict:
    entered.set()
    return {"released": release.wait(20)}

@app.get("/entered")
def was_entered(ctx: Context) -> dict:
    return {"entered": entered.is_set()}

@app.post("/release")
def do_release(ctx: Context) -> dict:
    release.set()
    return {}

@app.post("/turn-blocking")
def turn_blocking(ctx: Context) -> dict:
    mode["block"] = True
    return {}

@app.get("/flaky")
def flaky(ctx: Context) -> dict:
    if mode["block"]:
        time.sleep(0.3)
    return {"ok": True}

@app.get("/where")
def where(ctx: Context) -> dict:
    method, path = ctx.query.get("method", "GET"), ctx.query["path"]
    place = asgi.placement(method, path)
    return {"inline": place.inline, "pinned": place.pinned} if place else {}

@app.post("/notify/{connection_id}", blocking=False)  # from a worker, ctx.ws.send waits for the loop
def notify(ctx: Context, connection_id: str) -> dict:
    ctx.ws.send(connection_id, {"note": ctx.query.get("n")})
    return {"sent": True}

@app.websocket("$default")
def default(ctx: Context) -> None:
    ctx.ws.send(ctx.connection_id, {"you": ctx.connection_id})

asgi = app.asgi
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("dispatch")
    (tmp / "svc.py").write_text(textwrap.dedent(SERVICE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT / "src")])}
    for name in ("LIFT_WEBSOCKET_ENDPOINT", "LIFT_ASGI_DISPATCH", "LIFT_ASGI_THREADED", "LIFT_ASGI_INLINE_BUDGET_MS"):
        env.pop(name, None)
    with uvicorn_process("svc:asgi", log=tmp / "uvicorn.log", cwd=tmp, env=env) as server:
        yield server.url


def _get(url: str, timeout: float = 10, method: str = "GET") -> dict:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.loads(resp.read() or b"{}")


def test_under_uvicorn_a_blocked_handler_never_delays_a_fast_one_on_the_loop(server: str) -> None:
    for n in range(PROBATION_RUNS + 2):
        assert _get(f"{server}/fast/{n}") == {"n": n}
    assert _get(f"{server}/where?path=/fast/1")["inline"] is True  # the fast route now runs on the loop
    blocked: dict = {}
    waiter = threading.Thread(target=lambda: blocked.update(_get(f"{server}/wait", timeout=30)))
    waiter.start()
    try:
        deadline = time.monotonic() + 10
        while not _get(f"{server}/entered")["entered"] and time.monotonic() < deadline:
            time.sleep(0.02)
        # The handler of /wait sits in release.wait(): if it held the loop, none of these could be
        # answered (and /release could never be reached to free it).
        assert [_get(f"{server}/fast/{n}", timeout=5) for n in range(5)] == [{"n": n} for n in range(5)]
        assert waiter.is_alive() and blocked == {}
    finally:
        _get(f"{server}/release", method="POST")
        waiter.join(30)
    assert blocked == {"released": True}
    assert _get(f"{server}/where?path=/wait")["inline"] is False


def test_under_uvicorn_a_route_that_starts_blocking_is_moved_off_the_loop(server: str) -> None:
    for _ in range(PROBATION_RUNS + 1):
        _get(f"{server}/flaky")
    assert _get(f"{server}/where?path=/flaky")["inline"] is True
    _get(f"{server}/turn-blocking", method="POST")
    _get(f"{server}/flaky")  # on the loop: this one stalls it (a 0.3 s sleep) and is seen slow or waiting
    _get(f"{server}/flaky")  # at the latest this watched one: it waited, so the route moves to the pool
    assert _get(f"{server}/where?path=/flaky") == {"inline": False, "pinned": True}
    results: list = []
    slow = [threading.Thread(target=lambda: results.append(_get(f"{server}/flaky"))) for _ in range(3)]
    for t in slow:
        t.start()
    fast = [_get(f"{server}/fast/{n}", timeout=5) for n in range(3)]
    for t in slow:
        t.join(10)
    assert fast == [{"n": 0}, {"n": 1}, {"n": 2}] and results == [{"ok": True}] * 3


def test_under_uvicorn_ctx_ws_send_from_a_handler_on_the_loop_reaches_the_client(server: str) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://{server.removeprefix('http://')}/", open_timeout=10) as ws:
        ws.send("hello")
        connection_id = json.loads(ws.recv(timeout=10))["you"]
        for n in range(5):
            assert _get(f"{server}/notify/{connection_id}?n={n}", method="POST") == {"sent": True}
        got = [json.loads(ws.recv(timeout=10))["note"] for _ in range(5)]
    assert got == [str(n) for n in range(5)]
    assert _get(f"{server}/where?method=POST&path=/notify/x") == {"inline": True, "pinned": True}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("LIFT_ASGI_THREADS", "0", "LIFT_ASGI_THREADS='0' must be a whole number above 0"),
        ("LIFT_ASGI_THREADS", "forty", "LIFT_ASGI_THREADS='forty' must be a whole number above 0"),
        ("LIFT_ASGI_INLINE_BUDGET_MS", "one", "LIFT_ASGI_INLINE_BUDGET_MS='one' must be a number 0 or more"),
        ("LIFT_ASGI_INLINE_BUDGET_MS", "nan", "LIFT_ASGI_INLINE_BUDGET_MS='nan' must be a number 0 or more"),
    ],
)
def test_a_setting_that_is_no_usable_number_is_refused_when_app_asgi_is_made(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    """Not a 500 and an 'Exception in ASGI application' traceback on every request that needs the
    thread pool (LIFT_ASGI_THREADS=0 was found only there), nor a bare float() error."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(expected)):
        asgi_app(App())
    monkeypatch.setenv("LIFT_ASGI_INLINE_BUDGET_MS", "0")  # (0 is a budget: every route stays in the pool)
    monkeypatch.setenv("LIFT_ASGI_THREADS", "3")
    served = asgi_app(App())
    assert served.inline_budget == 0 and served.threads == 3
