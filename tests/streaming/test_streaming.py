"""Response.stream / sse / ndjson: truly streamed under uvicorn and the dev server (read with httpx),
collected with a size guard on Lambda's buffered integrations."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import httpx
import pytest

from lift import App, Response
from lift.streaming import ServerSentEvent
from lift.testing import TestClient
from tests.servers import LIFT_DEV_LISTENING, ServerProcess, uvicorn_process

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _load_app(marks: Path):
    """stream_app.py imported in this process, recording into `marks` (it reads STREAM_MARKS on import)."""
    previous = os.environ.get("STREAM_MARKS")
    os.environ["STREAM_MARKS"] = str(marks)
    try:
        spec = importlib.util.spec_from_file_location("stream_app_inproc", HERE / "stream_app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:  # (the environment as it was: no later test sees this one's file)
        if previous is None:
            del os.environ["STREAM_MARKS"]
        else:
            os.environ["STREAM_MARKS"] = previous
    return module


def _wait_http(url: str, server: ServerProcess) -> None:
    """Until `url` answers (the server listens already: this waits for the app behind it)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=10)
            return
        except httpx.HTTPError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer: {server.output()}") from None
            time.sleep(0.1)


def _wait_mark(marks: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marks.exists() and text in marks.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never recorded; marks: {marks.read_text() if marks.exists() else ''}")


@pytest.fixture(scope="module")
def marks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("marks") / "marks.txt"


def _server_env(marks: Path) -> dict[str, str]:
    env = {**os.environ, "STREAM_MARKS": str(marks)}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT / "src")])
    return env


@pytest.fixture(scope="module")
def uvicorn_server(marks: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("uvicorn")
    server = uvicorn_process("stream_app:asgi", log=tmp / "log", cwd=tmp, env=_server_env(marks))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uvicorn_base(uvicorn_server: ServerProcess) -> str:
    _wait_http(uvicorn_server.url + "/ndjson?n=1", uvicorn_server)
    return uvicorn_server.url


@pytest.fixture(scope="module")
def dev_server(marks: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("dev")
    argv = [sys.executable, "-m", "lift.dev.server", "stream_app:app", "--no-reload", "--port", "0"]
    server = ServerProcess(argv, LIFT_DEV_LISTENING, log=tmp / "log", cwd=tmp, env=_server_env(marks))
    _wait_http(server.url + "/ndjson?n=1", server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dev_base(dev_server: ServerProcess) -> str:
    return dev_server.url


# -- truly streamed: an endless generator's first chunks reach the client -----------------------
@pytest.mark.parametrize("server", ["uvicorn_base", "dev_base"])
def test_an_endless_sse_stream_arrives_event_by_event_and_a_disconnect_runs_its_cleanup(
    server: str, marks: Path, request: pytest.FixtureRequest
) -> None:
    base = request.getfixturevalue(server)
    tag = f"sse-{server}"
    with httpx.stream("GET", f"{base}/forever/sse?tag={tag}", timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-cache"
        assert "content-length" not in resp.headers
        events = []
        for line in resp.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            if len(events) == 3:
                break
    assert events == [{"tick": 0}, {"tick": 1}, {"tick": 2}]
    _wait_mark(marks, f"closed {tag}")  # the async generator's finally ran after the client left


@pytest.mark.parametrize("server", ["uvicorn_base", "dev_base"])
def test_a_sync_generator_streams_and_is_closed_when_the_client_disconnects(
    server: str, marks: Path, request: pytest.FixtureRequest
) -> None:
    base = request.getfixturevalue(server)
    tag = f"sync-{server}"
    with httpx.stream("GET", f"{base}/forever/sync?tag={tag}", timeout=10) as resp:
        lines = []
        for line in resp.iter_lines():
            lines.append(line)
            if len(lines) == 4:
                break
    assert lines == ["line 0", "line 1", "line 2", "line 3"]
    _wait_mark(marks, f"closed {tag}")


def test_ndjson_under_uvicorn_is_chunked_and_complete(uvicorn_base: str) -> None:
    with httpx.stream("GET", f"{uvicorn_base}/ndjson?n=500&pad=100", timeout=10) as resp:
        assert resp.headers["content-type"] == "application/x-ndjson"
        assert resp.headers.get("transfer-encoding") == "chunked"
        items = [json.loads(line) for line in resp.iter_lines() if line]
    assert [i["i"] for i in items] == list(range(500))
    resp = httpx.get(f"{uvicorn_base}/async-ndjson", timeout=10)
    assert resp.text == '{"i":0}\n{"i":1}\n{"i":2}\n'


def test_head_of_a_stream_sends_headers_only(uvicorn_base: str, marks: Path) -> None:
    resp = httpx.head(f"{uvicorn_base}/forever/sync?tag=head", timeout=10)  # endless body: never read
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"


# -- Lambda's buffered integrations: collected, with a size guard ------------------------------
@pytest.mark.parametrize("source", ["rest", "http", "alb", "url"])
def test_buffered_sources_collect_the_stream(source: str, tmp_path: Path) -> None:
    module = _load_app(tmp_path / "marks")
    client = TestClient(module.app, source=source)
    resp = client.get("/ndjson?n=3")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line)["i"] for line in resp.text.splitlines()] == [0, 1, 2]
    resp = client.get("/async-ndjson")
    assert resp.text == '{"i":0}\n{"i":1}\n{"i":2}\n'


class _Clock:
    """The clock lift.streaming reads (`time.monotonic`), moved by the stream itself: each chunk
    takes half a second of it, whatever the machine's load."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_an_endless_stream_on_a_buffered_source_is_a_500_before_the_function_times_out(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A function with 10 s left: its endless stream is stopped once less than 1 s is left (past its
    deadline at 9 s), never at or after 10 s, with its cleanup run. Deterministic: the stream moves
    the clock the collector reads, half a second per chunk; nothing sleeps."""
    import asyncio

    import lift.streaming
    from lift.testing import frozen_lambda_context

    clock, pulled, marks = _Clock(), [], []
    monkeypatch.setattr(lift.streaming, "time", clock)
    app = App()

    @app.get("/forever")
    def forever() -> Response:
        def lines():
            try:
                while clock.now < 20:  # (ends by itself: a collector that never stops it fails, not hangs)
                    clock.now += 0.5
                    pulled.append(clock.now)
                    yield "line\n"
            finally:
                marks.append("closed")

        async def ticks():
            try:
                while clock.now < 20:
                    await asyncio.sleep(0)  # (a real suspension: where a timeout can interrupt it)
                    clock.now += 0.5
                    pulled.append(clock.now)
                    yield ServerSentEvent({"at": clock.now})
            finally:
                marks.append("closed")

        return Response.sse(ticks()) if kind == "async" else Response.stream(lines(), "text/plain")

    resp = TestClient(app).get("/forever", context=frozen_lambda_context(remaining_ms=10_000))
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "stream_timeout"
    assert marks == ["closed"]  # the generator's cleanup ran
    assert 8.5 <= max(pulled) < 10.0  # ran until its deadline, stopped before the function's timeout


def test_a_sync_stream_blocked_waiting_for_its_next_event_is_stopped_at_its_deadline() -> None:
    """A sync generator blocked in next() (an SSE feed waiting for events that do not come) is still a
    500 stream_timeout before the function's timeout, not an invocation Lambda kills; it is closed
    once its next() returns. The waits here end as soon as the code does what it should (the only
    fixed wait is the 1.2 s deadline of a function with 1.5 s left)."""
    import threading

    from lift.testing import frozen_lambda_context

    release, closed = threading.Event(), threading.Event()
    app = App()

    @app.get("/feed")
    def feed() -> Response:
        def events():
            try:
                yield "first"
                release.wait(30)  # (blocks until the test lets it go: the collector must not wait for it)
                yield "late"
            finally:
                closed.set()

        return Response.sse(events())

    try:
        resp = TestClient(app).get("/feed", context=frozen_lambda_context(remaining_ms=1500))
        assert resp.status_code == 500
        assert resp.json()["error"]["code"] == "stream_timeout"
        assert not closed.is_set()  # still in its next(): closed when that returns, never from another thread
    finally:
        release.set()
    assert closed.wait(10)


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream"])
def test_a_stream_past_lambdas_6mb_limit_is_a_clear_500_and_stops_the_generator(
    content_type: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = _load_app(tmp_path / "marks")
    client = TestClient(module.app)
    resp = client.get(f"/big?n=40&type={content_type}")  # 10 MB
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "response_too_large"
    assert resp.json()["error"]["request_id"]
    assert "6 MB" in caplog.text
    # stopped at the limit (base64 makes binary bodies 4/3 larger), not drained to the end
    assert max(module.pulled) < (24 if content_type == "text/plain" else 18)
    assert "closed big" in (tmp_path / "marks").read_text()
    module.pulled.clear()
    ok = client.get(f"/big?n=8&type={content_type}")  # 2 MB: fits
    assert ok.status_code == 200 and len(ok.body) == 8 * 256 * 1024


def test_sse_event_format(tmp_path: Path) -> None:
    app = App()

    @app.get("/events")
    def events() -> Response:
        return Response.sse(
            [
                "plain",
                {"a": 1},
                ServerSentEvent("two\nlines", event="multi", id="7", retry=1500),
                ServerSentEvent(comment="keep-alive"),
            ]
        )

    resp = TestClient(app).get("/events")
    assert resp.text == (
        'data: plain\n\ndata: {"a":1}\n\nevent: multi\nid: 7\nretry: 1500\ndata: two\ndata: lines\n\n: keep-alive\n\n'
    )


@pytest.mark.parametrize("server", ["uvicorn_server", "dev_server"])
def test_a_generator_failing_mid_stream_breaks_the_response_and_is_logged(
    server: str, request: pytest.FixtureRequest
) -> None:
    process: ServerProcess = request.getfixturevalue(server)
    _wait_http(process.url + "/ndjson?n=1", process)
    # never a complete-looking truncated body: the chunked response is left unfinished, after what
    # the generator yielded before it failed (sent, not dropped with the failure)
    received = []
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", f"{process.url}/broken", timeout=10) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_bytes():
            received.append(chunk)
    assert b"".join(received) == b"first line\n"
    logged = re.compile(r"Streamed response failed after its headers were sent \(request_id=([^)]*)\)")
    deadline = time.monotonic() + 10  # logged as the stream breaks: wait for the line, not a fixed time
    while not logged.search(process.output()):
        assert time.monotonic() < deadline, process.output()
        time.sleep(0.02)
    assert {m.group(1) for m in logged.finditer(process.output())} - {"None", ""}, process.output()  # with its id


def test_a_generator_failing_on_a_buffered_source_is_the_usual_500(tmp_path: Path) -> None:
    module = _load_app(tmp_path / "marks")
    resp = TestClient(module.app).get("/broken")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal_error" and "database" not in resp.text


def _sse_data(stream: str) -> list[str]:
    """Each event's data as a browser's EventSource rebuilds it (the HTML spec's parsing: lines end
    at CRLF, CR or LF; an event's `data:` lines are joined with LF)."""
    events, data = [], []
    for line in stream.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if data:
                events.append("\n".join(data))
            data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    return events


def test_sse_data_comes_back_exactly_as_sent() -> None:
    texts = ["a\u2028b\u2029c", "x\x85y\x0cz\x1ew", "two\nlines", "crlf\r\nand\rcr", "ends with a newline\n", ""]
    app = App()

    @app.get("/events")
    def events() -> Response:
        return Response.sse([*texts, {"text": "a\u2028b"}, ServerSentEvent(comment="a\u2028b")])

    received = _sse_data(TestClient(app).get("/events").text)
    assert received[:6] == [
        "a\u2028b\u2029c",
        "x\x85y\x0cz\x1ew",
        "two\nlines",
        "crlf\nand\ncr",
        "ends with a newline\n",
        "",
    ]
    assert json.loads(received[6]) == {"text": "a\u2028b"}  # JSON split at U+2028 would not parse
    assert len(received) == 7  # the comment is no data


@pytest.mark.parametrize(
    "field",
    [{"id": "a\nb"}, {"id": "a\rb"}, {"id": "a\x00b"}, {"event": "a\nb"}, {"event": "tick\r"}]
    + [{"retry": value} for value in (-5, 1.5, True, "abc")],
    ids=[
        "id-lf",
        "id-cr",
        "id-nul",
        "event-lf",
        "event-cr",
        "retry-negative",
        "retry-float",
        "retry-bool",
        "retry-text",
    ],
)
def test_sse_fields_a_client_would_read_otherwise_are_refused_where_the_event_is_made(field: dict) -> None:
    """An id or event name holding a line break went out with a space in its place (the client's
    Last-Event-ID then named an id the server never sent), an id holding NUL went out and every
    EventSource ignored it, and a retry that is no non-negative int went out as `retry: -5` (ignored by
    clients), `retry: 1` for 1.5 or True, or failed mid-stream ("abc")."""
    with pytest.raises(ValueError, match="server-sent event's"):
        ServerSentEvent("d", **field)


def test_sse_int_ids_and_a_zero_retry_are_sent_as_written() -> None:
    assert ServerSentEvent("d", id=7, retry=0).encode() == b"id: 7\nretry: 0\ndata: d\n\n"
    assert ServerSentEvent("d", event="tick", id="").encode() == b"event: tick\nid: \ndata: d\n\n"  # (resets the id)


def test_a_stream_returned_to_a_direct_invocation_is_collected() -> None:
    from lift.testing.context import lambda_context

    closed = []
    app = App()

    def rows():
        try:
            yield {"n": 1}
            yield {"n": 2}
        finally:
            closed.append(True)

    @app.invoke
    def export(body: dict) -> Response:
        return Response.ndjson(rows())

    assert app.handler({"export": "all"}, lambda_context()) == '{"n":1}\n{"n":2}\n'
    assert closed == [True]  # the generator ran to its end and was closed


def test_an_alb_answer_over_its_1mb_limit_is_a_clear_500_not_the_albs_502() -> None:
    app = App()

    @app.get("/rows")
    def rows() -> list:
        return ["x" * 1000] * 1500  # 1.5 MB of JSON: fine for API Gateway, too much for an ALB

    @app.get("/stream")
    def stream() -> Response:
        return Response.stream((b"y" * 1024 for _ in range(1500)), "text/plain")

    @app.get("/small")
    def small() -> list:
        return ["x" * 1000] * 500

    for path in ("/rows", "/stream"):
        alb = TestClient(app, source="alb").get(path)
        assert alb.status_code == 500 and alb.json()["error"]["code"] == "response_too_large", path
        assert "1 MB" in alb.json()["error"]["message"]
        assert TestClient(app, source="rest").get(path).status_code == 200  # 6 MB there
    assert TestClient(app, source="alb").get("/small").status_code == 200


def test_what_a_sync_generator_yielded_before_failing_is_sent_before_the_break(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The chunk a generator yields just before it raises reaches the client, then the response is
    left unfinished (no final empty body). Deterministic: the event loop is held (in the watcher's
    receive) until the generator has yielded, failed and been closed, so the chunk and the failure
    arrive together, the case where the chunk was dropped."""
    import asyncio
    import threading

    closed = threading.Event()

    class Lines:
        def __init__(self) -> None:
            self.sent = False

        def __iter__(self) -> Lines:
            return self

        def __next__(self) -> str:
            if not self.sent:
                self.sent = True
                return "first line\n"
            raise RuntimeError("database went away")

        def close(self) -> None:
            closed.set()

    app = App()

    @app.get("/broken")
    def broken() -> Response:
        return Response.stream(Lines(), "text/plain")

    sent: list[dict] = []
    calls = 0

    async def receive() -> dict:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        assert closed.wait(10)  # (holds the loop: returns as soon as the generator is closed)
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": "/broken", "raw_path": b"/broken"}
    with caplog.at_level("ERROR", logger="lift"):
        asyncio.run(
            app.asgi({**scope, "root_path": "", "query_string": b"", "headers": [(b"host", b"t")]}, receive, send)
        )
    assert sent[0]["status"] == 200
    assert [m["body"] for m in sent[1:]] == [b"first line\n"]  # the chunk, and no end of the body
    assert sent[-1]["more_body"] is True
    assert "Streamed response failed after its headers were sent" in caplog.text
