"""Start the real dev server in a subprocess on a port of its own (`--port 0`), against a project
written to a tmp dir."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers import LIFT_DEV_LISTENING, ServerProcess

ROOT = Path(__file__).resolve().parents[2]

APP_SOURCE = """
import logging
from lift import App, Context, Response
from lift.errors import Forbidden

app = App(name="devdemo")
log = logging.getLogger("devdemo")
VERSION = "v1"
seen = []
app.health.add("config", lambda: {"version": VERSION})
app.health.add("cache", lambda: False, critical=False)


@app.get("/hello/{name}")
def hello(ctx: Context, name: str) -> dict:
    log.info("saying hello to %s", name)
    return {"hello": name, "version": VERSION, "source": ctx.source, "query": ctx.query.getall("tag")}


@app.get("/async/{n}")
async def slow_async(ctx: Context, n: int) -> dict:
    import asyncio

    await asyncio.sleep(0.05)
    return {"n": n}


@app.get("/sleep")
def sleep(ctx: Context) -> dict:
    import time

    time.sleep(float(ctx.query.get("s", "0")))
    return {"remaining_ms": ctx.remaining_ms()}


@app.post("/echo")
def echo(ctx: Context) -> Response:
    resp = Response(ctx.request.body, 201, {"X-Echo": ctx.headers.get("x-custom", "")},
                    content_type=ctx.request.content_type or "application/octet-stream")
    resp.set_cookie("session", "abc", secure=False)
    resp.set_cookie("theme", "dark", secure=False)
    return resp


@app.get("/whoami")
def whoami(ctx: Context) -> dict:
    return {"cookies": ctx.request.cookies, "ip": ctx.request.source_ip, "ua": ctx.headers.get("user-agent"),
            "event_source": ctx.source, "has_request_context": "requestContext" in ctx.event}


@app.get("/boom")
def boom(ctx: Context) -> dict:
    raise RuntimeError("secret detail")


@app.get("/switch")
def switch(ctx: Context) -> Response:
    return Response(None, 101)  # (no upgrade: answered as the error contract's 500)


@app.sqs("orders")
def order(ctx: Context, body: dict) -> None:
    if body.get("fail"):
        raise ValueError(f"cannot process order {body.get('id')}")
    log.info("order %s ok (receive %s)", body.get("id"), ctx.record.receive_count)


@app.kafka("payments")
def payment(body: dict) -> None:
    if body.get("fail"):
        raise ValueError(f"cannot settle payment {body.get('id')}")


@app.schedule("tick", rate="1 minute")
def tick(ctx: Context) -> None:
    log.warning("tick fired for rule %s", ctx.record.rule)


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    if ctx.record.query.get("token") != "letmein":
        raise Forbidden("bad token")


@app.websocket("$disconnect")
def disconnect(ctx: Context) -> None:
    log.info("disconnected %s", ctx.connection_id)


@app.websocket("echo")
def ws_echo(ctx: Context, body: dict) -> None:
    ctx.ws.send(ctx.connection_id, {"echo": body.get("text"), "route": ctx.record.route_key})


@app.websocket("$default")
def ws_default(ctx: Context) -> None:
    ctx.ws.send(ctx.connection_id, {"default": True})
"""


def write_project(root: Path, source: str = APP_SOURCE) -> Path:
    pkg = root / "devdemo"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text(source)
    return pkg / "app.py"


class DevServerProcess:
    """`python -m lift.dev.server devdemo.app:app --port 0` running in `root`, on the port it says it took."""

    def __init__(
        self, root: Path, *args: str, env: dict[str, str] | None = None, drop_env: tuple[str, ...] = ()
    ) -> None:
        self.root = root
        full_env = {k: v for k, v in os.environ.items() if k not in drop_env}
        full_env.update(env or {})
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), full_env.get("PYTHONPATH")]))
        self.log_path = root / "devserver.log"
        argv = [sys.executable, "-m", "lift.dev.server", "devdemo.app:app", "--port", "0", *args]
        self.server = ServerProcess(argv, LIFT_DEV_LISTENING, log=self.log_path, cwd=root, env=full_env)
        self.proc = self.server.proc
        self.port = self.server.port
        self.base = self.server.url
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the dashboard's API answers (the socket listens already: a request waits for uvicorn)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dev server exited: {self.output()}")
            try:
                self.get("/_lift/api/state")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dev server did not start: {self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def get(self, path: str) -> Any:
        _status, _, body = self.request("GET", path)
        return json.loads(body)

    def post_json(self, path: str, payload: Any) -> tuple[int, Any]:
        status, _, body = self.request("POST", path, json.dumps(payload).encode(), {"content-type": "application/json"})
        return status, json.loads(body)

    def wait_for(self, predicate: Any, timeout: float = 15, interval: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"condition not met in {timeout}s; last={last!r}\n{self.output()[-3000:]}")

    def stop(self) -> None:
        self.server.stop()
