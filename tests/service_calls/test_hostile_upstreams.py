"""Service calls against a callee that misbehaves on the wire: a socket server that sends a garbled
body, drips its answer a byte at a time, answers more than the caller can hold, or never answers.
Each case must end as the documented error (never an httpx exception, never past the deadline), and
must leave the breaker usable."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import pytest

from lift import App, Context
from lift.resilience import Bulkhead, BulkheadFull, CircuitBreaker, RetryPolicy, Timeouts
from lift.services import ApiKey, HealthTracker, ServiceClient, ServiceError, UpstreamTimeout
from lift.testing import TestClient
from tests.servers import Served, listening_socket

OK = b'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class WireServer:
    """Answers each request by its path with raw bytes: `routes[path](conn)` writes what it likes, then
    the connection is closed (every answer says `Connection: close`, so no client reuses a connection
    this server has closed)."""

    def __init__(self, routes: dict[str, Callable[[socket.socket], None]]) -> None:
        self.routes = routes
        self.hits: dict[str, int] = {}
        self.heads: list[bytes] = []  # each request's head, as received
        self.arrived = threading.Event()  # set when /hang got its request
        self.release = threading.Event()  # lets /hang answer
        self.sock = listening_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.heads.append(data.split(b"\r\n\r\n")[0])
            path = data.split(b" ", 2)[1].decode().split("?")[0]
            self.hits[path] = self.hits.get(path, 0) + 1
            try:
                self.routes[path](conn)
            except OSError:  # the client hung up: what these tests want of it
                pass

    def stop(self) -> None:
        self.release.set()
        # shutdown() first: close() alone leaves the listener alive in the kernel while the accept
        # thread is blocked in accept(), and with SO_REUSEPORT (listening_socket) the next test's
        # server, bound to port 0, could be given the same port and have half its connections taken
        # and answered by this stale server
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def garbled_gzip(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\nnot-gzip!!"
    )


def drip(conn: socket.socket) -> None:
    """A valid JSON string, one byte every 20 ms for 4 s: each byte resets a read timeout."""
    body = b'"' + b"a" * 198 + b'"'
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )
    for byte in body:
        conn.sendall(bytes([byte]))
        time.sleep(0.02)


def drip_head(conn: socket.socket) -> None:
    """The status line and headers one byte every 20 ms (2 s in all), no body."""
    for byte in b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 0\r\nX-Padding: ........\r\n\r\n":
        conn.sendall(bytes([byte]))
        time.sleep(0.02)


def continue_forever(conn: socket.socket) -> None:
    """`100 Continue` every 10 ms for 4 s: each is a whole answer httpx skips, none is the final one."""
    for _ in range(400):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.01)


def big_chunked(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b'"' + b"a" * 998 + b'"'
    conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))


def big_declared(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n["
    )


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer(
        {
            "/gzip": garbled_gzip,
            "/drip": drip,
            "/drip-head": drip_head,
            "/continue": continue_forever,
            "/big": big_chunked,
            "/declared": big_declared,
            "/not-modified": lambda conn: conn.sendall(
                b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\nContent-Length: 100000000\r\n\r\n"
            ),
            "/ok": lambda conn: conn.sendall(OK),
            "/loop": lambda conn: conn.sendall(
                b"HTTP/1.1 302 Found\r\nConnection: close\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
            ),
        }
    )
    server.routes["/hang"] = lambda conn: (server.arrived.set(), server.release.wait(30), conn.sendall(OK))
    yield server
    server.stop()


def test_a_garbled_body_is_a_502_for_the_callers_client_not_a_500(wire):
    app = App(name="orders")
    upstream = app.service("wire", base_url=wire.url, retry=RetryPolicy(3, base=0.001), breaker=False)

    @app.get("/orders")
    def orders(ctx: Context) -> dict:
        return upstream.get("/gzip")

    resp = TestClient(app).get("/orders")
    assert resp.status_code == 502
    error = resp.json()["error"]
    assert error["code"] == "upstream_invalid_response"
    assert "decompress" not in resp.text and "zlib" not in resp.text
    assert wire.hits["/gzip"] == 1  # the same garbled answer would come again: not retried
    app.shutdown()


def test_a_dripping_answer_ends_at_the_deadline_sync_and_async(wire):
    client = ServiceClient("wire", base_url=wire.url, timeout=Timeouts(total=0.3), retry=1, breaker=False)
    with pytest.raises(UpstreamTimeout) as caught:
        client.get("/drip")  # each byte comes well within a read timeout; the whole takes 4 s
    assert (caught.value.status, caught.value.code) == (504, "upstream_timeout")
    with pytest.raises(UpstreamTimeout):
        asyncio.run(client.aio.get("/drip"))
    with pytest.raises(UpstreamTimeout):  # async calls bound the headers too
        asyncio.run(client.aio.get("/drip-head"))
    client.close()


def test_a_sync_call_bounds_the_status_line_and_headers_too(wire):
    """Each byte (or `100 Continue`) resets httpx's read timeout: a sync call waited the whole 2-4 s
    on a 0.3 s deadline (on Lambda, until the function was killed) before these came to an end."""
    client = ServiceClient("wire", base_url=wire.url, timeout=Timeouts(total=0.3), retry=1, breaker=False)
    for path in ("/drip-head", "/continue"):
        with pytest.raises(UpstreamTimeout) as caught:
            client.get(path)
        assert (caught.value.status, caught.value.code) == (504, "upstream_timeout")
        with pytest.raises(UpstreamTimeout):
            asyncio.run(client.aio.get(path))
    assert client.get("/ok", timeout=30) == {"ok": True}  # the pool serves the next call as before
    client.close()


def test_an_answer_larger_than_max_response_bytes_is_refused(wire):
    client = ServiceClient("wire", base_url=wire.url, max_response_bytes=500, breaker=False)
    for path in ("/big", "/declared"):  # chunked, counted as it comes; declared, refused at once
        with pytest.raises(ServiceError) as caught:
            client.get(path)
        assert (caught.value.status, caught.value.code) == (502, "upstream_too_large")
        assert wire.hits[path] == 1  # not retried
        with pytest.raises(ServiceError) as caught:
            asyncio.run(client.aio.get(path))
        assert caught.value.code == "upstream_too_large"
    assert client.head("/declared", raw=True).headers["content-length"] == "100000000"  # HEAD: no body
    assert client.get("/not-modified", raw=True).status_code == 304  # nor a 304: its length is the resource's
    roomy = ServiceClient("wire", base_url=wire.url, max_response_bytes=1000, breaker=False)
    assert roomy.get("/big") == "a" * 998
    client.close()
    roomy.close()


def test_a_cancelled_half_open_trial_gives_its_slot_back(wire):
    breaker = CircuitBreaker("wire", window=1, min_calls=1, open_for=0.0, half_open_calls=1)
    breaker.record(breaker.acquire(), 0.0, True)  # opened; open_for=0: the next call is a trial
    client = ServiceClient("wire", base_url=wire.url, breaker=breaker, retry=1)

    async def cancel_a_trial() -> None:
        trial = asyncio.create_task(client.aio.get("/hang"))
        assert await asyncio.to_thread(wire.arrived.wait, 30)
        trial.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trial

    asyncio.run(cancel_a_trial())
    assert breaker.state == "half_open"
    assert client.get("/ok") == {"ok": True}  # the slot came back: this is the trial, and it closes
    assert breaker.state == "closed"
    client.close()


def test_a_malformed_inbound_correlation_id_is_not_passed_on(wire):
    app = App(name="orders")
    upstream = app.service("wire", base_url=wire.url, breaker=False)

    @app.get("/orders")
    def orders(ctx: Context) -> dict:
        return {"request_id": ctx.request_id, **upstream.get("/ok")}

    client = TestClient(app)
    for name, value in [("X-Correlation-Id", "café"), ("X-Request-Id", "a\r\nX-Evil: 1"), ("X-Request-Id", "a" * 5000)]:
        wire.heads.clear()
        resp = client.get("/orders", headers={name: value})
        assert resp.status_code == 200, (name, value, resp.text)
        head = wire.heads[0].decode("latin-1").lower()
        assert f"x-correlation-id: {resp.json()['request_id']}".lower() in head  # its own id instead
        assert "x-evil" not in head and len(wire.heads) == 1
    wire.heads.clear()
    assert client.get("/orders", headers={"X-Correlation-Id": "chain-42"}).status_code == 200
    assert "x-correlation-id: chain-42" in wire.heads[0].decode().lower()  # a well-formed one goes on
    app.shutdown()


def test_a_path_parameter_never_leaves_its_place_in_the_path():
    callee = App(name="files")

    @callee.get("/api/users/{name}/orders")
    def orders(ctx: Context, name: str) -> dict:
        return {"name": name}

    @callee.get("/api/files/{path+}")
    def files(ctx: Context, path: str) -> dict:
        return {"path": path}

    @callee.get("/api/orders")
    def every_order(ctx: Context) -> dict:  # where /api/users/../orders would land
        return {"every": "order"}

    served = Served(callee.asgi)
    try:
        client = ServiceClient("files", base_url=f"{served.url}/api", breaker=False, retry=1)

        def answer(template: str, **params: str) -> dict:
            try:
                return client.get(template, **params)
            except ServiceError as err:  # a Lift callee refuses a dot segment, even encoded: a 400
                return {"refused": err.upstream_status}

        for value in ("x y?z#w", "..x", "a.b"):
            assert answer("/users/{name}/orders", name=value) == {"name": value}
        assert answer("/files/{path+}", path="dir/sub/f.txt") == {"path": "dir/sub/f.txt"}
        for value in ("..", ".", "../../orders", "a/../b", "%2e%2e"):  # never resolved elsewhere
            assert answer("/users/{name}/orders", name=value) in ({"name": value}, {"refused": 400})
        for value in ("../../orders", "a/../../../orders", "./x/."):
            assert answer("/files/{path+}", path=value) in ({"path": value}, {"refused": 400})
        client.close()
    finally:
        served.stop()


def test_a_redirect_loop_is_a_502_whether_redirects_are_followed_or_not(wire):
    plain = ServiceClient("wire", base_url=wire.url, breaker=False)
    with pytest.raises(ServiceError) as caught:
        plain.get("/loop")  # redirects are not followed: the 302 is the callee's answer
    assert (caught.value.status, caught.value.code, caught.value.upstream_status) == (502, "upstream_rejected", 302)
    following = ServiceClient(
        "wire", base_url=wire.url, breaker=False, pool={"follow_redirects": True, "max_redirects": 3}
    )
    with pytest.raises(ServiceError) as caught:
        following.get("/loop")
    assert (caught.value.status, caught.value.code) == (502, "upstream_invalid_response")
    assert wire.hits["/loop"] == 1 + 4  # plain: 1; following: the first and 3 redirects, not retried
    plain.close()
    following.close()


def test_the_callers_credentials_stay_home_unless_forwarding_is_asked(wire):
    app = App(name="orders")
    plain = app.service("plain", base_url=wire.url, breaker=False)
    forwarding = app.service("forwarding", base_url=wire.url, breaker=False, forward_authorization=True)

    @app.get("/orders")
    def orders(ctx: Context) -> dict:
        plain.get("/ok")
        forwarding.get("/ok")
        return {"request_id": ctx.request_id}

    @app.get("/orders-async")
    async def orders_async(ctx: Context) -> dict:
        await plain.aio.get("/ok")
        return {"request_id": ctx.request_id}

    secret = {"Authorization": "Bearer user-token-1", "Cookie": "session=s3cret", "X-Api-Key": "k-9"}
    client = TestClient(app)
    answer = client.get("/orders", headers=secret).json()
    answer_async = client.get("/orders-async", headers=secret).json()
    plain_head, forwarded_head, async_head = (h.decode("latin-1").lower() for h in wire.heads)
    for head in (plain_head, async_head):
        assert "bearer user-token-1" not in head and "s3cret" not in head and "k-9" not in head
    assert "authorization: bearer user-token-1" in forwarded_head  # asked for: only Authorization goes
    assert "s3cret" not in forwarded_head and "k-9" not in forwarded_head
    assert f"x-request-id: {answer['request_id']}" in plain_head
    assert f"x-request-id: {answer_async['request_id']}" in async_head
    app.shutdown()


def _not_found(body: bytes) -> Callable[[socket.socket], None]:
    head = (
        b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % len(body)
    )
    return lambda conn: conn.sendall(head + body)


def test_a_callees_error_body_cannot_bend_the_callers_error_contract(wire):
    wire.routes["/typed"] = _not_found(b'{"error": {"code": ["x"], "message": {"html": "<b>"}, "request_id": 5}}')
    wire.routes["/huge"] = _not_found(
        b'{"error": {"code": "gone", "message": "%s", "details": {"blob": "%s"}}}' % (b"m" * 100_000, b"d" * 100_000)
    )
    app = App(name="orders")
    upstream = app.service("wire", base_url=wire.url, breaker=False)

    @app.get("/orders/{what}")
    def orders(ctx: Context, what: str) -> dict:
        return upstream.get(f"/{what}")

    client = TestClient(app)
    typed = client.get("/orders/typed")
    assert typed.status_code == 404
    error = typed.json()["error"]
    assert error["message"] == "Not found by service wire" and "upstream" not in error["details"]

    huge = client.get("/orders/huge")
    assert huge.status_code == 404 and len(huge.body) < 4096  # was 200 KB: the callee's text twice
    error = huge.json()["error"]
    assert error["message"] == "m" * 1024 and error["details"]["upstream"] == {"code": "gone", "message": "m" * 1024}
    app.shutdown()


def test_every_sync_method_has_its_async_twin(wire):
    client = ServiceClient("wire", base_url=wire.url, breaker=False)
    verbs = ("get", "post", "put", "patch", "delete", "head")
    assert all(callable(getattr(client.aio, verb, None)) for verb in verbs)

    async def each() -> list:
        return [await getattr(client.aio, verb)("/ok", raw=True) for verb in verbs]

    answers = asyncio.run(each())
    assert [a.request.method for a in answers] == [v.upper() for v in verbs]
    assert all(a.status_code == 200 for a in answers)
    client.close()


def _encoded(body: bytes, encoding: bytes) -> Callable[[socket.socket], None]:
    head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Encoding: %s\r\n"
    return lambda conn: conn.sendall(head % encoding + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _compress(data: bytes, wbits: int, times: int = 1) -> bytes:
    for _ in range(times):
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        data = packer.compress(data) + packer.flush()
    return data


def test_a_compression_bomb_costs_no_more_memory_than_max_response_bytes(wire):
    """`gzip, gzip` over 24 MB of zeros is 200 bytes: httpx inflated it whole (64 KB of gzip is 64 MB
    at once) before the size was counted; on a 128 MB function a few KB of it was an out-of-memory."""
    zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
    inner = b"".join(zeros.compress(bytes(1 << 20)) for _ in range(24)) + zeros.flush()
    wire.routes["/bomb"] = _encoded(_compress(inner, 31), b"gzip, gzip")
    wire.routes["/zlib"] = _encoded(_compress(b'{"deflate": "zlib"}', 15), b"deflate")
    wire.routes["/raw-deflate"] = _encoded(_compress(b'{"deflate": "raw"}', -15), b"deflate")
    wire.routes["/gzip-twice"] = _encoded(_compress(b'{"gzip": 2}', 31, times=2), b"gzip, x-gzip")
    wire.routes["/thrice"] = _encoded(_compress(b"{}", 31, times=3), b"gzip, gzip, gzip")
    wire.routes["/br"] = _encoded(b"\x0b\x01\x80{}\x03", b"br")
    client = ServiceClient("wire", base_url=wire.url, max_response_bytes=1 << 20, breaker=False, retry=1)
    assert client.get("/zlib") == {"deflate": "zlib"}
    assert client.get("/raw-deflate") == {"deflate": "raw"}
    assert asyncio.run(client.aio.get("/gzip-twice")) == {"gzip": 2}
    for call in (lambda: client.get("/bomb"), lambda: asyncio.run(client.aio.get("/bomb"))):
        tracemalloc.start()
        try:
            with pytest.raises(ServiceError) as caught:
                call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert (caught.value.status, caught.value.code) == (502, "upstream_too_large")
        assert peak < 8 << 20, peak  # the 1 MB kept and a few 64 KB pieces; was 24 MB and more
    for path in ("/thrice", "/br"):  # more layers than any server uses; an encoding never asked for
        with pytest.raises(ServiceError) as caught:
            client.get(path)
        assert (caught.value.status, caught.value.code) == (502, "upstream_invalid_response")
    assert "accept-encoding: gzip, deflate" in wire.heads[-1].decode().lower().split("\r\n")
    client.close()


def _answer(head: bytes) -> Callable[[socket.socket], None]:
    return lambda conn: conn.sendall(b"HTTP/1.1 " + head + b"\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")


def _sent(wire: WireServer, name: str) -> list[str | None]:
    """The value of header `name` in each request the server got, in order (None: not sent)."""
    out = []
    for head in wire.heads:
        lines = head.decode("latin-1").split("\r\n")[1:]
        values = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith(name.lower() + ":")]
        out.append(values[0] if values else None)
    return out


def test_a_cookie_one_answer_sets_never_goes_out_with_later_calls(wire):
    """One pool serves every request of the environment: httpx kept the callee's `Set-Cookie` and sent
    it with every later call, whichever user or tenant it was made for."""
    wire.routes["/login"] = _answer(b"200 OK\r\nSet-Cookie: session=user-a; Path=/")
    client = ServiceClient("wire", base_url=wire.url, breaker=False)
    assert client.get("/login") == {} and client.get("/ok") == {"ok": True}

    async def twice() -> None:
        await client.aio.get("/login")
        await client.aio.get("/ok")

    asyncio.run(twice())
    assert _sent(wire, "Cookie") == [None] * 4
    client.close()


def test_a_redirect_to_another_origin_carries_none_of_the_clients_credentials(wire):
    """httpx drops `Authorization` on a redirect to another origin, but sent an `ApiKey`'s header (and
    SigV4's session token) to whatever host the callee named."""
    port = wire.url.rsplit(":", 1)[1].encode()
    wire.routes["/away"] = _answer(b"307 Temporary Redirect\r\nLocation: http://localhost:%s/ok" % port)
    wire.routes["/here"] = _answer(b"307 Temporary Redirect\r\nLocation: /ok")
    client = ServiceClient(
        "wire", base_url=wire.url, breaker=False, auth=ApiKey("svc-key"), pool={"follow_redirects": True}
    )
    assert client.get("/away") == {"ok": True} and client.get("/here") == {"ok": True}
    assert asyncio.run(client.aio.get("/away")) == {"ok": True}
    hosts = [host.split(":")[0] for host in _sent(wire, "Host")]
    assert list(zip(hosts, _sent(wire, "x-api-key"), strict=True)) == [
        ("127.0.0.1", "svc-key"),
        ("localhost", None),  # another origin: no key
        ("127.0.0.1", "svc-key"),
        ("127.0.0.1", "svc-key"),  # the same origin keeps it
        ("127.0.0.1", "svc-key"),
        ("localhost", None),
    ]
    client.close()


def test_an_answer_that_is_not_http_is_a_502_and_no_answer_a_503(wire):
    """The callee was reached and answered garbage: a 502 `upstream_invalid_response` as documented,
    not a 503 'could not be reached' (which tells the caller's own callers to come back later)."""
    garbage = {
        "/status": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}",
        "/html": b"<html>hello</html>\r\n\r\n",
        "/chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n",
        "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}",
        "/head": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    }
    for path, answer in garbage.items():
        wire.routes[path] = lambda conn, answer=answer: conn.sendall(answer)
    wire.routes["/nothing"] = lambda conn: None  # the connection closes with no answer
    client = ServiceClient("wire", base_url=wire.url, breaker=False, retry=1)
    for path in [*garbage, "/nothing"]:
        expected = (503, "upstream_unavailable") if path == "/nothing" else (502, "upstream_invalid_response")
        with pytest.raises(ServiceError) as caught:
            client.get(path)
        assert (caught.value.status, caught.value.code) == expected, path
        with pytest.raises(ServiceError) as caught:
            asyncio.run(client.aio.get(path))
        assert (caught.value.status, caught.value.code) == expected, path
    client.close()


class _SlowToBuild(dict):
    """Headers httpx copies when it builds a pool: building it moves the calls' clock 6 s on (as
    importing httpx and loading the CA bundle take time at a cold start, without a real sleep)."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self.clock = clock

    def items(self):  # type: ignore[override]
        self.clock[0] += 6.0
        return super().items()


def test_making_the_pool_is_not_counted_against_the_first_calls_deadline(wire, monkeypatch):
    """The deadline started before httpx was imported and the pool made: when that took longer than
    `total`, the first call of a cold start was a 504 'no time left' without a byte sent."""
    import lift.resilience.timeouts
    import lift.services.client

    offset = [0.0]
    for module in (lift.resilience.timeouts, lift.services.client):
        monkeypatch.setattr(module, "_monotonic", lambda: time.monotonic() + offset[0])
    client = ServiceClient(
        "wire", base_url=wire.url, timeout=Timeouts(total=5.0), breaker=False, pool={"headers": _SlowToBuild(offset)}
    )
    assert client.get("/ok") == {"ok": True}
    assert asyncio.run(client.aio.get("/ok")) == {"ok": True}
    assert wire.hits["/ok"] == 2 and offset[0] == 12.0
    client.close()


def test_a_health_probe_that_was_never_sent_goes_to_the_next_call(wire):
    """An excluded instance gets exactly one probe call. When that call was refused by the bulkhead
    before it was sent, or cancelled, the instance stayed marked as being probed: it never received
    another call, however healthy it was again."""
    state = {"a": b"500 Internal Server Error"}
    wire.routes["/a/x"] = lambda conn: _answer(state["a"])(conn)
    wire.routes["/a/hang"] = wire.routes["/hang"]
    wire.routes["/b/x"] = wire.routes["/b/hang"] = _answer(b"200 OK")
    bulkhead = Bulkhead("wire", 1)
    client = ServiceClient(
        "wire",
        base_url=[f"{wire.url}/a", f"{wire.url}/b"],
        health=HealthTracker(failures=1, probe_after=0.0),  # an excluded instance may be probed at once
        bulkhead=bulkhead,
        breaker=False,
        retry=1,
    )
    with pytest.raises(ServiceError):
        client.get("/x")  # round robin: a first, which fails and is excluded
    bulkhead.acquire()  # full: the next call, a's probe, is refused before it is sent
    with pytest.raises(BulkheadFull):
        client.get("/x")
    bulkhead.release()
    state["a"] = b"200 OK"
    assert client.get("/x") == {} and wire.hits["/a/x"] == 2  # the probe: a is back

    state["a"] = b"500 Internal Server Error"
    client.get("/x")  # b
    with pytest.raises(ServiceError):
        client.get("/x")  # a fails again: excluded

    async def cancel_the_probe() -> None:
        probe = asyncio.create_task(client.aio.get("/hang"))
        assert await asyncio.to_thread(wire.arrived.wait, 30)  # a's probe reached a
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe

    asyncio.run(cancel_the_probe())
    state["a"] = b"200 OK"
    assert client.get("/x") == {} and wire.hits["/a/x"] == 4  # probed again, not left out for good
    client.close()


def test_a_header_value_http_cannot_carry_is_the_callers_error_not_the_callees(wire):
    """An idempotency key or header taken from the caller's input with CR/LF, NUL or non-ASCII in it:
    httpx failed each attempt as a transport error, so the caller's client got a 503 'could not be
    reached' after retries, and the breaker counted the callee as failing: a few such requests opened
    the circuit for everyone."""
    breaker = CircuitBreaker("wire", window=2, min_calls=2)
    app = App(name="orders")
    upstream = app.service("wire", base_url=wire.url, breaker=breaker)

    @app.post("/orders")
    def orders(ctx: Context, body: dict) -> dict:
        return upstream.post("/ok", idempotency_key=body.get("key"), headers=body.get("headers"))

    client = TestClient(app)
    for bad in ({"key": "k\r\nX-Evil: 1"}, {"key": "a\x00b"}, {"headers": {"X-Note": "café"}}, {"key": "k\x7f"}):
        resp = client.post("/orders", json=bad)
        assert resp.status_code == 500, (bad, resp.text)
        assert "could not be reached" not in resp.text
    assert breaker.state == "closed" and breaker.failure_ratio() == 0.0 and "/ok" not in wire.hits
    assert client.post("/orders", json={"key": "k-1", "headers": {"X-Note": "a\tb"}}).json() == {"ok": True}
    app.shutdown()


def test_a_transport_that_answers_in_memory_still_works():
    """`pool={"transport": httpx.MockTransport(...)}` (how apps test their calls without a server)
    answers with a body httpx has already read: reading it raw raised httpx.StreamConsumed."""
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        size = int(request.url.params.get("size", "0"))
        return httpx.Response(200, json={"path": request.url.path, "pad": "x" * size})

    client = ServiceClient(
        "mock",
        base_url="http://users.internal",
        pool={"transport": httpx.MockTransport(answer)},
        max_response_bytes=500,
    )
    assert client.get("/users/{user_id}", user_id=7) == {"path": "/users/7", "pad": ""}
    assert asyncio.run(client.aio.get("/users/{user_id}", user_id=8)) == {"path": "/users/8", "pad": ""}
    with pytest.raises(ServiceError) as caught:  # the limit holds for it too
        client.get("/big", query={"size": 1000})
    assert caught.value.code == "upstream_too_large"
    client.close()


def test_a_forwarded_authorization_that_http_cannot_carry_is_the_clients_401(wire):
    """With forward_authorization, an Authorization the event holds with non-ASCII or control
    characters (API Gateway passes header text through) failed inside httpx: a 500 with a
    UnicodeEncodeError traceback for the client's own malformed credential."""
    from lift.testing import events

    app = App(name="orders")
    upstream = app.service("wire", base_url=wire.url, breaker=False, forward_authorization=True)

    @app.get("/orders")
    def orders(ctx: Context) -> dict:
        return upstream.get("/ok")

    for value in ("Bearer café", "Bearer a\nb", "Bearer a\x00"):
        answer = app.handler(events.apigw_http("GET", "/orders", headers={"authorization": value}), None)
        assert answer["statusCode"] == 401, (value, answer)
    assert "/ok" not in wire.hits
    answer = app.handler(events.apigw_http("GET", "/orders", headers={"authorization": "Bearer ok-1"}), None)
    assert answer["statusCode"] == 200 and "authorization: bearer ok-1" in wire.heads[-1].decode().lower()
    app.shutdown()
