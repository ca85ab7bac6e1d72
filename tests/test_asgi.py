"""app.asgi: the same app as an ASGI application (httpx's ASGI transport, and uvicorn in a subprocess)."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import urllib.request
from pathlib import Path

import httpx
import msgspec
import pytest

from lift import App, Context, Response
from lift.errors import NotFound
from tests.servers import uvicorn_process

ROOT = Path(__file__).resolve().parents[1]


class NewItem(msgspec.Struct):
    name: str
    price: float


def make_app() -> App:
    app = App(name="asgi-test", max_body_size=1024)
    calls: list[str] = []

    def tag(ctx: Context, call_next):
        calls.append(ctx.source)
        resp = call_next(ctx)
        resp.headers["X-Mw"] = ctx.source
        return resp

    app.use(tag)

    @app.get("/items/{item_id}")
    def get_item(ctx: Context, item_id: int) -> dict:
        if item_id == 404:
            raise NotFound("no such item")
        return {
            "id": item_id,
            "q": ctx.query.getall("q"),
            "ip": ctx.request.source_ip,
            "cookies": ctx.request.cookies,
            "agent": ctx.headers.get("user-agent"),
        }

    @app.post("/items", status=201)
    def create(ctx: Context, body: NewItem) -> dict:
        return {"name": body.name, "price": body.price}

    @app.get("/slow-async")
    async def slow_async(ctx: Context) -> dict:
        await asyncio.sleep(0.01)
        return {"async": True}

    @app.get("/cookie")
    def cookie(ctx: Context) -> Response:
        return Response.text("ok").set_cookie("a", "1").set_cookie("b", "2")

    @app.get("/bytes")
    def raw(ctx: Context) -> Response:
        return Response.binary(bytes(range(256)), "application/octet-stream")

    app.state_calls = calls  # type: ignore[attr-defined]
    return app


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = make_app()
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app.asgi, client=("10.1.2.3", 5555)), base_url="http://testserver"
    )


def run(coro):
    return asyncio.run(coro)


def test_routes_typed_params_query_headers_cookies_and_middleware(client: httpx.AsyncClient) -> None:
    async def go() -> httpx.Response:
        async with client:
            return await client.get("/items/7?q=a&q=b", headers={"Cookie": "s=1; t=2", "User-Agent": "ua/1"})

    resp = run(go())
    assert resp.status_code == 200
    assert resp.json() == {"id": 7, "q": ["a", "b"], "ip": "10.1.2.3", "cookies": {"s": "1", "t": "2"}, "agent": "ua/1"}
    assert resp.headers["x-mw"] == "asgi"


def test_typed_body_validation_and_error_contract(client: httpx.AsyncClient) -> None:
    async def go() -> list[httpx.Response]:
        async with client:
            return [
                await client.post("/items", json={"name": "pen", "price": 1.5}),
                await client.post("/items", json={"name": "pen"}),
                await client.get("/items/404"),
                await client.get("/items/abc"),
                await client.delete("/items/1"),
                await client.get("/nowhere"),
                await client.post("/items", content=b"x" * 2048),
            ]

    created, invalid, missing, bad_param, not_allowed, unknown, too_large = run(go())
    assert created.status_code == 201 and created.json() == {"name": "pen", "price": 1.5}
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_failed"
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no such item"
    assert bad_param.status_code in (404, 422)
    assert not_allowed.status_code == 405 and "GET" in not_allowed.headers["allow"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "payload_too_large"


def test_async_handlers_cookies_binary_and_head(client: httpx.AsyncClient) -> None:
    async def go() -> list[httpx.Response]:
        async with client:
            many = await asyncio.gather(*(client.get("/slow-async") for _ in range(20)))
            return [*many, await client.get("/cookie"), await client.get("/bytes"), await client.head("/items/3")]

    *many, cookie, raw, head = run(go())
    assert all(r.status_code == 200 and r.json() == {"async": True} for r in many)
    assert [c.split(";")[0] for c in cookie.headers.get_list("set-cookie")] == ["a=1", "b=2"]
    assert raw.content == bytes(range(256))
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_lifespan_prewarms_resources_and_shutdown_closes_them() -> None:
    app = App(name="life")
    events: list[str] = []

    class Conn:
        def close(self) -> None:
            events.append("closed")

    attempts: list[int] = []

    def factory() -> Conn:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("database not reachable yet")  # at import: retried at startup
        events.append("created")
        return Conn()

    app.resource("db", factory)
    assert events == []

    async def drive() -> list[str]:
        inbox: asyncio.Queue = asyncio.Queue()
        sent: list[str] = []

        async def receive() -> dict:
            return await inbox.get()

        async def send(message: dict) -> None:
            sent.append(message["type"])

        task = asyncio.create_task(app.asgi({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
        await inbox.put({"type": "lifespan.startup"})
        while not sent:
            await asyncio.sleep(0.01)
        assert events == ["created"]
        await inbox.put({"type": "lifespan.shutdown"})
        await task
        return sent

    assert run(drive()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["created", "closed"]


# -- under uvicorn, in a subprocess --------------------------------------------------------
SERVICE = """
from lift import App, Context
from lift.errors import Unauthorized

app = App(name="asgi-svc")

@app.get("/ping/{n}")
def ping(ctx: Context, n: int) -> dict:
    return {"pong": n, "source": ctx.source}

@app.websocket("$connect")
def connect(ctx: Context) -> None:
    if not ctx.record.query.get("user"):
        raise Unauthorized("who are you")

@app.websocket("say")
def say(ctx: Context, body: dict) -> None:
    ctx.ws.send(ctx.connection_id, {"heard": body["text"], "from": ctx.connection_id})

@app.websocket("$default")
def default(ctx: Context) -> dict:
    return {"statusCode": 200}

asgi = app.asgi
"""


@pytest.fixture
def uvicorn_server(tmp_path: Path):
    (tmp_path / "svc.py").write_text(textwrap.dedent(SERVICE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    env.pop("LIFT_WEBSOCKET_ENDPOINT", None)
    with uvicorn_process("svc:asgi", log=tmp_path / "uvicorn.log", cwd=tmp_path, env=env) as server:
        yield server.port


def test_under_uvicorn_http_and_websocket_connect_work(uvicorn_server: int) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    body = urllib.request.urlopen(f"http://127.0.0.1:{uvicorn_server}/ping/5", timeout=10).read()
    assert json.loads(body) == {"pong": 5, "source": "asgi"}
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{uvicorn_server}/", open_timeout=10)


def test_under_uvicorn_ctx_ws_send_reaches_the_client_in_process(uvicorn_server: int) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{uvicorn_server}/?user=ann", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "say", "text": "hello"}))
        reply = json.loads(ws.recv(timeout=10))
        assert "heard" in reply, reply
        assert reply["heard"] == "hello" and reply["from"].endswith("=")


def test_root_path_and_base_path_are_stripped_before_routing() -> None:
    app = App(name="mounted", base_path="/v1")

    @app.get("/ping")
    def ping(ctx: Context) -> dict:
        return {"path": ctx.request.path}

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app.asgi, root_path="/svc")
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get("/svc/v1/ping"), await client.get("/svc/v2/ping")]

    ok, missing = run(go())
    assert ok.status_code == 200 and ok.json() == {"path": "/ping"}
    assert missing.status_code == 404


def test_inline_dispatch_serves_the_same_responses() -> None:
    from lift.asgi import asgi_app

    app = make_app()

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=asgi_app(app, threaded=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get("/items/3?q=z"), await client.post("/items", json={"name": "a", "price": 2})]

    got, created = run(go())
    assert got.json()["id"] == 3 and got.json()["q"] == ["z"]
    assert created.status_code == 201


def test_an_http2_request_without_a_content_length_still_gets_its_body() -> None:
    """HTTP/2 frames a body without a Content-Length (RFC 9113 8.1.1): a GET's body is read all the same."""
    app = App(name="h2")

    @app.get("/echo")
    def echo(ctx: Context, body: bytes) -> dict:
        return {"body": body.decode()}

    sent: list[dict] = []

    async def go() -> None:
        messages = [
            {"type": "http.request", "body": b"hel", "more_body": True},
            {"type": "http.request", "body": b"lo", "more_body": False},
        ]

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "http_version": "2", "method": "GET", "path": "/echo", "raw_path": b"/echo"}
        await app.asgi({**scope, "root_path": "", "query_string": b"", "headers": [(b"host", b"t")]}, receive, send)

    run(go())
    assert (sent[0]["status"], sent[1]["body"]) == (200, b'{"body":"hello"}')


def test_websocket_is_refused_when_the_app_has_no_websocket_routes() -> None:
    app = make_app()
    sent: list[dict] = []

    async def go() -> None:
        messages = [{"type": "websocket.connect"}]

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        await app.asgi({"type": "websocket", "path": "/", "headers": [], "query_string": b""}, receive, send)

    run(go())
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_blocking_handlers_run_concurrently_in_the_thread_pool() -> None:
    import threading

    app = App(name="blocking")
    barrier = threading.Barrier(12, timeout=10)

    @app.get("/wait")
    def wait(ctx: Context) -> dict:
        barrier.wait()  # only passes when 12 requests are in handlers at the same time
        return {"ok": True}

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi), base_url="http://t") as client:
            return await asyncio.gather(*(client.get("/wait") for _ in range(12)))

    assert [r.status_code for r in run(go())] == [200] * 12
