"""app.asgi and the dev server under a real uvicorn, with clients that leave mid-upload, and handler
threads reused across requests: what one request leaves behind never reaches another."""

from __future__ import annotations

import contextvars
import socket
import time
from collections.abc import Iterator

import pytest

from lift import App, Context
from tests.servers import Served, served_as_asgi_and_dev

UPLOADS = """
from lift import App, Context

app = App(name="uploads")
RECEIVED = []


@app.post("/upload")
def upload(ctx: Context, body: bytes) -> dict:
    RECEIVED.append(len(body))
    return {"size": len(body)}
"""


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[int], dict[str, Served]]]:
    """The app above under uvicorn twice: as `app.asgi`, and behind the dev server."""
    with served_as_asgi_and_dev(tmp_path_factory.mktemp("uploads"), "gone_uploads", UPLOADS) as (module, servers):
        yield module.RECEIVED, servers


def _post(port: int, head: bytes, body: bytes, *, leave: bool = False) -> bytes:
    """POST /upload's bytes; the answer (read until the server closes), or none when the client `leave`s."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" + head + body)
        data = b""
        while not leave and (chunk := sock.recv(65536)):
            data += chunk
    return data


@pytest.mark.parametrize("where", ["asgi", "dev"])
@pytest.mark.parametrize(
    "framing",
    [
        pytest.param((b"Content-Length: 100\r\n\r\n", b"a" * 40), id="content-length"),
        pytest.param((b"Transfer-Encoding: chunked\r\n\r\n", b"28\r\n" + b"a" * 40 + b"\r\n"), id="chunked"),
    ],
)
def test_a_client_leaving_mid_upload_never_runs_the_handler_with_part_of_its_body(
    uploads, where: str, framing: tuple[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    received, servers = uploads
    head, part = framing
    port = servers[where].port
    received.clear()
    with caplog.at_level("INFO"):
        _post(port, head, part, leave=True)
        # (bounded: the line is written as soon as the server has seen the client leave)
        deadline = time.monotonic() + 30
        while "client left before its request body was complete" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.01)
    assert received == []  # (was [40]: the handler ran with 40 bytes of a 100-byte upload)
    assert "POST /upload not run" in caplog.text
    assert "Traceback" not in caplog.text
    # the whole body, on the next connection, is served as usual
    answer = _post(port, b"Content-Length: 100\r\nConnection: close\r\n\r\n", b"a" * 100)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"size":100}') and received == [100]


VISITOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("visitor", default=None)


def test_a_context_variable_set_in_a_pool_thread_never_reaches_the_next_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIFT_ASGI_THREADS", "1")  # one handler thread: every request runs on it
    app = App(name="visitors")

    @app.get("/visit/{name}", blocking=True)  # (always in the pool)
    def visit(ctx: Context, name: str) -> dict:
        before = VISITOR.get()
        VISITOR.set(name)
        return {"seen": before}

    served = Served(app.asgi)
    try:
        answers = []
        for name in ("alice", "bob", "carol"):
            with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
                sock.sendall(f"GET /visit/{name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            answers.append(data.rpartition(b"\r\n\r\n")[2])
    finally:
        served.stop()
    assert answers == [b'{"seen":null}'] * 3  # (was alice's name in bob's request, bob's in carol's)


@pytest.mark.parametrize("path", ["/blocking", "/awaiting"])
def test_a_request_still_running_when_the_server_shuts_down_is_a_503_without_a_traceback(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn cancels what still runs once its graceful shutdown's time is up: the client gets the
    error contract's 503 (it may retry elsewhere), not uvicorn's bare 500, and the log one warning."""
    import asyncio
    import threading

    import httpx

    started, go = threading.Event(), threading.Event()
    app = App(name="stopping")

    @app.get("/blocking", blocking=True)
    def blocking(ctx: Context) -> dict:
        started.set()
        go.wait(30)  # (bounded: released by the test)
        return {"done": True}

    @app.get("/awaiting")
    async def awaiting(ctx: Context) -> dict:
        started.set()
        await asyncio.sleep(30)  # (cancelled by the server)
        return {"done": True}

    served = Served(app.asgi, timeout_graceful_shutdown=0.2)
    answers: list[httpx.Response] = []
    client = threading.Thread(target=lambda: answers.append(httpx.get(served.url + path, timeout=30)))
    try:
        with caplog.at_level("WARNING"):
            client.start()
            assert started.wait(30)
            served.server.should_exit = True  # what Ctrl-C or SIGTERM does
            client.join(30)
    finally:
        go.set()
        served.stop()
    (answer,) = answers
    assert answer.status_code == 503  # (was uvicorn's 500 'Internal Server Error')
    error = answer.json()["error"]
    assert error["code"] == "service_unavailable" and error["request_id"] in caplog.text
    assert f"Stopped while GET {path} was running" in caplog.text
    assert "Exception in ASGI application" not in caplog.text and "Traceback" not in caplog.text


def test_a_websocket_client_gone_while_connect_ran_still_gets_its_disconnect() -> None:
    """$connect said yes (the app recorded the connection) but the client had left meanwhile: its
    $disconnect still runs, as API Gateway's does, so the app forgets it (it never did before)."""
    import base64
    import os
    import threading

    started, left, gone = threading.Event(), threading.Event(), threading.Event()
    codes: list[object] = []
    app = App(name="sockets")

    @app.websocket("$connect")
    def connect(ctx: Context) -> dict:
        started.set()
        assert left.wait(30)  # (bounded: the client has closed its socket by now)
        time.sleep(0.2)  # (lets the server see it: without it the test can pass on the old code, never fail on the new)
        return {"statusCode": 200}

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> dict:
        codes.append(ctx.event["requestContext"].get("disconnectStatusCode"))
        gone.set()
        return {"statusCode": 200}

    @app.websocket("$default")
    def default(ctx: Context) -> dict:
        return {"statusCode": 200}

    served = Served(app.asgi)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
            sock.sendall(
                f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            assert started.wait(30)
        left.set()
        assert gone.wait(30)  # (was never)
        assert codes == [1006] and not app.asgi.websockets.connections
    finally:
        left.set()
        served.stop()
