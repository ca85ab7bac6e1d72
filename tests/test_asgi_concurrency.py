"""app.asgi under uvicorn with many concurrent clients: every request sees only its own headers,
query, body and request id, while routes move between the event loop and the thread pool."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.servers import uvicorn_process

ROOT = Path(__file__).resolve().parents[1]

SERVICE = """
import asyncio
import time

import msgspec
from lift import App, Context
from lift.middleware import request_id

app = App(name="concurrent")
app.use(request_id())


class Item(msgspec.Struct):
    name: str


@app.get("/sync/{n}")
def sync_echo(ctx: Context, n: int) -> dict:
    if n % 7 == 0:  # blocks now and then: the route moves to the thread pool mid-run
        time.sleep(0.01)
    return {"n": n, "tag": ctx.headers.get("x-tag"), "q": ctx.query.get("v"), "rid": ctx.request_id}


@app.get("/async/{n}")
async def async_echo(ctx: Context, n: int) -> dict:
    await asyncio.sleep(0.001 * (n % 5))
    return {"n": n, "tag": ctx.headers.get("x-tag"), "q": ctx.query.get("v"), "rid": ctx.request_id}


@app.post("/items")
def create(ctx: Context, body: Item) -> dict:
    return {"n": body.name, "tag": ctx.headers.get("x-tag"), "q": None, "rid": ctx.request_id}


asgi = app.asgi
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("concurrent")
    (root / "concurrent_svc.py").write_text(textwrap.dedent(SERVICE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(ROOT / "src")])}
    # (keep-alive beyond uvicorn's 5 s: on a starved machine a pooled connection can sit idle that long, and
    # a request sent as the server closes it fails as "Server disconnected", which is not what this tests)
    keep_alive = ("--timeout-keep-alive", "120")
    with uvicorn_process("concurrent_svc:asgi", *keep_alive, log=root / "uvicorn.log", cwd=root, env=env) as server:
        yield server.url


def test_concurrent_clients_each_see_only_their_own_request(server: str) -> None:
    async def main() -> list:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as client:

            async def one(i: int, kind: str) -> object:
                headers = {"X-Tag": f"t{i}{kind}", "X-Request-Id": f"r{i}{kind}"}
                if kind == "post":
                    response = await client.post("/items", json={"name": f"n{i}"}, headers=headers)
                    expected = {"n": f"n{i}", "tag": f"t{i}post", "q": None, "rid": f"r{i}post"}
                else:
                    response = await client.get(f"/{kind}/{i}", params={"v": f"q{i}"}, headers=headers)
                    expected = {"n": i, "tag": f"t{i}{kind}", "q": f"q{i}", "rid": f"r{i}{kind}"}
                seen = (response.status_code, response.json(), response.headers.get("x-request-id"))
                return True if seen == (200, expected, expected["rid"]) else (i, kind, seen)

            return await asyncio.gather(*(one(i, kind) for i in range(120) for kind in ("sync", "async", "post")))

    results = asyncio.run(main())
    assert [r for r in results if r is not True] == []


def test_hostile_bodies_under_uvicorn_get_structured_4xx(server: str) -> None:
    json_type = {"Content-Type": "application/json"}
    with httpx.Client(base_url=server, timeout=60) as client:
        cases = {
            b'{"name": "\xff\xfe"}': (400, "invalid_json"),  # invalid UTF-8
            b"not json": (400, "invalid_json"),
            b'{"name": 5}': (422, "validation_failed"),
            b"x" * (7 * 1024 * 1024): (413, "payload_too_large"),
        }
        for body, (status, code) in cases.items():
            response = client.post("/items", content=body, headers=json_type)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), body[:20]
        assert client.post("/items", content=b'{"name": "a", "name": "b"}', headers=json_type).json()["n"] == "b"
        invalid = client.get("/sync/%C3%28")  # invalid UTF-8 in a path parameter: its encoding's 400 (02d0eb3)
        assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "invalid_path_encoding")


def test_concurrent_failures_each_carry_their_own_request_id_and_problem(server: str) -> None:
    """Client mistakes in flight together on sync and async routes and a typed body: each 4xx names its
    own input, and its body's request id is the one its X-Request-Id header gives (the middleware's, made
    per request when the client sends none), unique across all of them."""

    async def main() -> list:
        async with httpx.AsyncClient(base_url=server, timeout=60, limits=httpx.Limits(max_connections=50)) as client:

            async def one(i: int, kind: str) -> tuple:
                if kind == "post":
                    response = await client.post("/items", json={"name": i})
                else:
                    response = await client.get(f"/{kind}/x{i}")
                return i, kind, response.status_code, response.headers.get("x-request-id"), response.json()["error"]

            return await asyncio.gather(*(one(i, kind) for i in range(60) for kind in ("sync", "async", "post")))

    results = asyncio.run(main())
    for i, kind, status, header_id, error in results:
        assert (status, error["code"], error["request_id"]) == (422, "validation_failed", header_id), (i, kind)
        problem = error["details"][0]
        assert problem["path"] == ("$.name" if kind == "post" else "$.n"), (i, kind, problem)
        if kind != "post":
            assert f"'x{i}'" in problem["message"], (i, kind, problem)
    assert len({header_id for _, _, _, header_id, _ in results}) == len(results)
