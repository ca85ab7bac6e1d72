"""When a streamed response's status and headers go out, under a real uvicorn (app.asgi and the dev
server): with the first chunk, so a stream that fails before it gets the error contract's status, or
at once when the first chunk is not ready (an SSE feed opens before its first event)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from lift import streaming
from tests.servers import Served, served_as_asgi_and_dev

STREAMS = """
import asyncio
import threading
import time

from lift import App, Context, Response
from lift.errors import NotFound

app = App(name="opening")
GO = threading.Event()  # the SSE feed's first event waits for it
CLOSED = threading.Event()  # /lines's generator was closed


@app.get("/fails-first")
def fails_first(ctx: Context) -> Response:
    def rows():
        raise RuntimeError("database went away")
        yield b"never"

    return Response.stream(rows(), "text/plain")


@app.get("/missing-first")
def missing_first(ctx: Context) -> Response:
    async def rows():
        raise NotFound("no such export")
        yield b"never"

    return Response.ndjson(rows())


@app.exception_handler(KeyError)
def missing_key(ctx: Context, exc: KeyError) -> Response:
    return Response.json({"missing": exc.args[0]}, status=404)


@app.get("/custom-first")
def custom_first(ctx: Context) -> Response:
    def rows():
        raise KeyError("export-7")
        yield b"never"

    return Response.stream(rows(), "text/plain")


@app.get("/socket-fails")
def socket_fails(ctx: Context) -> Response:
    def rows():
        yield "first line\\n"
        raise ConnectionRefusedError("the database refused the connection")

    return Response.stream(rows(), "text/plain")


@app.get("/feed")
def feed(ctx: Context) -> Response:
    def events():
        if not GO.wait(30):  # (bounded: the test sets it once the headers are in)
            return
        yield {"n": 1}

    return Response.sse(events())


@app.get("/ticks")
def ticks(ctx: Context) -> Response:
    async def events():
        n = 0
        while True:  # (endless: only a disconnect or the server's shutdown ends it)
            yield {"n": n}
            n += 1
            await asyncio.sleep(0.01)

    return Response.sse(events())


@app.get("/lines")
def lines(ctx: Context) -> Response:
    def rows():
        try:
            while True:
                yield "line\\n"
                time.sleep(0.01)
        finally:
            CLOSED.set()

    return Response.stream(rows(), "text/plain")


@app.get("/header")
def header(ctx: Context) -> Response:
    def rows():
        yield "report"

    return Response.stream(rows(), "text/plain", headers={"Content-Disposition": ctx.query["value"]})
"""


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, dict[str, Served]]]:
    """The app above under uvicorn twice: as `app.asgi`, and behind the dev server."""
    with served_as_asgi_and_dev(tmp_path_factory.mktemp("opening"), "opening_streams", STREAMS) as both:
        yield both


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers wait for the first chunk however long it takes (a loaded machine may take longer than
    the default to run a generator that fails at once): the failure decides the status, never timing."""
    monkeypatch.setattr(streaming, "OPEN_WITHIN", 60.0, raising=False)  # (raising: absent before it existed)


@pytest.mark.parametrize("where", ["asgi", "dev"])
def test_a_stream_failing_before_its_first_chunk_is_the_error_contracts_answer_not_a_200(
    streams, where: str, patient: None, caplog: pytest.LogCaptureFixture
) -> None:
    served = streams[1][where]
    with caplog.at_level("ERROR", logger="lift"):
        resp = httpx.get(served.url + "/fails-first", timeout=30)
    assert resp.status_code == 500  # (was a 200 with a broken chunked body)
    error = resp.json()["error"]
    assert error["code"] == "internal_error" and "database" not in resp.text
    assert error["request_id"] and error["request_id"] in caplog.text  # one line an operator can find
    assert "RuntimeError" in caplog.text

    resp = httpx.get(served.url + "/missing-first", timeout=30)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"  # as on Lambda
    resp = httpx.get(served.url + "/custom-first", timeout=30)  # the app's own exception handler answers
    assert (resp.status_code, resp.json()) == (404, {"missing": "export-7"})


@pytest.mark.parametrize("where", ["asgi", "dev"])
def test_an_sse_feed_opens_before_its_first_event_is_ready(streams, where: str) -> None:
    module, servers = streams  # (one module: the dev server imported it, app.asgi serves its app)
    module.GO.clear()
    try:
        with httpx.stream("GET", servers[where].url + "/feed", timeout=30) as resp:
            # the headers are in while the generator still waits for GO (it cannot have yielded)
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
            assert not module.GO.is_set()
            module.GO.set()
            assert resp.read() == b'data: {"n":1}\n\n'
    finally:
        module.GO.set()


@pytest.mark.parametrize("where", ["asgi", "dev"])
def test_stream_headers_go_out_as_other_responses_headers_do(streams, where: str, patient: None) -> None:
    url = streams[1][where].url + "/header"
    # Latin-1 cannot hold "€": sent as its UTF-8 bytes, as send_response sends it (was a server 500)
    resp = httpx.get(url, params={"value": "attachment; filename=5 €.txt"}, timeout=30)
    assert resp.status_code == 200 and resp.text == "report"
    assert (b"content-disposition", "attachment; filename=5 €.txt".encode()) in resp.headers.raw
    # a line break would split the header: refused before anything is sent (was a server 500 over uvicorn
    # but never checked: h11 refuses it; a server that does not would send the split header)
    resp = httpx.get(url, params={"value": "x\r\nSet-Cookie: admin=1"}, timeout=30)
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "internal_error"  # (as on Lambda)
    assert "set-cookie" not in resp.headers


@pytest.mark.parametrize("where", ["asgi", "dev"])
def test_a_generators_own_socket_error_mid_stream_is_logged_not_taken_for_a_client_gone(
    streams, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="lift"), pytest.raises(httpx.RemoteProtocolError):
        httpx.get(streams[1][where].url + "/socket-fails", timeout=30)
        # (the line is written before the server ends the response: it is there once the client sees the break)
    assert "Streamed response failed after its headers were sent" in caplog.text
    assert "ConnectionRefusedError" in caplog.text


@pytest.mark.parametrize("path", ["/ticks", "/lines"])
def test_streams_open_when_the_server_shuts_down_end_without_a_traceback(
    streams, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn cancels what still runs once its graceful shutdown's time is up: an SSE feed then ends as
    a feed does (its EventSource reconnects elsewhere), any other stream is left broken (never a body
    that looks complete); one warning each, never 'Exception in ASGI application' and a traceback."""
    module = streams[0]
    module.CLOSED.clear()
    served = Served(module.app.asgi, timeout_graceful_shutdown=0.2)
    try:
        with caplog.at_level("WARNING"), httpx.stream("GET", served.url + path, timeout=30) as resp:
            chunks = resp.iter_bytes()
            assert next(chunks)  # streaming
            served.server.should_exit = True  # what Ctrl-C or SIGTERM does
            if path == "/ticks":
                assert b"".join(chunks).endswith(b"\n\n")  # the feed ends, whole events only
            else:
                with pytest.raises(httpx.RemoteProtocolError):  # a download cut short shows as such
                    b"".join(chunks)
                assert module.CLOSED.wait(30)  # and its generator was closed
    finally:
        served.stop()
    assert "Streamed response stopped by the server's shutdown" in caplog.text
    assert "Exception in ASGI application" not in caplog.text and "Traceback" not in caplog.text
