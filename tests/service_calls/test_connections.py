"""Service calls and the connections under them: a callee whose answer's framing lies on a kept-alive
connection, a host name whose lookup does not answer, and the shared pools closed while other threads
call through them. Real sockets throughout (a raw keep-alive server, the suite's uvicorn servers)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from lift import App
from lift.resilience import RetryPolicy
from lift.services import ServiceClient, ServiceError, UpstreamTimeout
from tests.service_calls.test_hostile_upstreams import WireServer

JSON = b"Content-Type: application/json\r\n"


def answer(body: bytes, length: int | None = None) -> bytes:
    """A keep-alive 200 whose Content-Length is `length` (the body's own when None)."""
    declared = len(body) if length is None else length
    return b"HTTP/1.1 200 OK\r\n" + JSON + b"Content-Length: %d\r\n\r\n" % declared + body


class KeepAliveServer(WireServer):
    """Serves every request of a connection in turn, by path, with the raw bytes `routes[path]()`
    returns; the connection stays open until the client closes it. `connections` counts accepts."""

    def __init__(self, routes: dict[str, Callable[[], bytes]]) -> None:
        self.connections = 0
        self.conns: list[socket.socket] = []
        super().__init__(routes)  # type: ignore[arg-type]

    def _serve(self, conn: socket.socket) -> None:
        self.connections += 1
        self.conns.append(conn)
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode().split("?")[0]
                try:
                    conn.sendall(self.routes[path]())  # type: ignore[call-arg]
                except OSError:
                    return

    def stop(self) -> None:
        super().stop()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


SMUGGLED = answer(b'{"user":"mallory"}')


@pytest.fixture
def keepalive() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer(
        {
            "/me": lambda: answer(b'{"user":"me"}'),
            # Content-Length 2 for a body that goes on with a whole second answer
            "/short": lambda: answer(b"{}" + SMUGGLED, length=2),
            # the same after the last chunk of a chunked answer
            "/chunked": lambda: (
                b"HTTP/1.1 200 OK\r\n" + JSON + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" + SMUGGLED
            ),
            # Content-Length 100 for 2 bytes: the rest never comes, the connection stays open
            "/long": lambda: answer(b"{}", length=100),
            # stray CRLFs after an answer, which RFC 9112 tells clients to ignore
            "/crlf": lambda: answer(b'{"user":"me"}') + b"\r\n",
        }
    )
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/short", "/chunked"])
def test_bytes_past_the_end_of_an_answer_never_become_the_next_calls_answer(keepalive, path):
    """A callee whose Content-Length is shorter than what it sends (or that sends bytes after its last
    chunk) on a kept-alive connection: the leftovers stayed in the connection's parser, and the next call
    sent on that connection, maybe for another user, got them as its answer (here a whole answer the
    callee smuggled in: {"user": "mallory"} instead of {"user": "me"}). Now the garbled answer is a 502
    `upstream_invalid_response`, not retried, and its connection is closed: the next call gets its own
    answer on a new one. Sync and async alike."""
    client = ServiceClient("kept", base_url=keepalive.url, breaker=False, retry=RetryPolicy(3, base=0.001))

    with pytest.raises(ServiceError) as caught:
        client.get(path)
    assert (caught.value.status, caught.value.code) == (502, "upstream_invalid_response")
    assert client.get("/me") == {"user": "me"}
    assert client.get("/me") == {"user": "me"}  # (and the new connection is kept alive)
    assert keepalive.connections == 2

    async def calls() -> None:
        with pytest.raises(ServiceError) as caught:
            await client.aio.get(path)
        assert caught.value.code == "upstream_invalid_response"
        assert await client.aio.get("/me") == {"user": "me"}
        assert await client.aio.get("/me") == {"user": "me"}

    asyncio.run(calls())
    assert keepalive.connections == 4
    client.close()


def test_stray_line_ends_after_an_answer_are_not_a_garbled_answer(keepalive):
    client = ServiceClient("kept", base_url=keepalive.url, breaker=False)
    assert client.get("/crlf") == {"user": "me"}
    assert client.get("/me") == {"user": "me"}
    client.close()


def test_a_content_length_longer_than_the_body_ends_at_the_deadline_and_spoils_no_later_call(keepalive):
    """Content-Length 100 for 2 bytes on a connection the callee keeps open: the call waits for the rest
    until its deadline (504 `upstream_timeout`, never longer), and the connection is not reused."""
    client = ServiceClient("kept", base_url=keepalive.url, breaker=False, retry=0)
    with pytest.raises(UpstreamTimeout):
        client.get("/long", timeout=0.5)
    assert client.get("/me") == {"user": "me"}

    async def calls() -> None:
        with pytest.raises(UpstreamTimeout):
            await client.aio.get("/long", timeout=0.5)
        assert await client.aio.get("/me") == {"user": "me"}

    asyncio.run(calls())
    client.close()


@pytest.fixture
def stalled_resolver(monkeypatch) -> Iterator[tuple[str, threading.Event]]:
    """`stalled.invalid` resolves (to 127.0.0.1) only once the test sets the event: a resolver that does
    not answer. `missing.invalid` does not exist. Every other name resolves as usual."""
    release = threading.Event()
    asked = threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in ("stalled.invalid", b"stalled.invalid"):  # (anyio passes the name as bytes)
            asked.set()
            release.wait(60)
            host = "127.0.0.1"
        elif host in ("missing.invalid", b"missing.invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked, release
    release.set()


def test_a_host_name_that_does_not_resolve_in_time_is_a_504_at_the_deadline(keepalive, stalled_resolver):
    """The sync pool's connect ran getaddrinfo, which no timeout bounds: a resolver that did not answer
    held the call past its deadline (past Lambda's, which then killed the function). Now the lookup is
    waited for only within the connect timeout and the deadline: 504 `upstream_timeout`, while the
    resolver still has not answered. `aio` calls were already bounded (asyncio.timeout)."""
    asked, release = stalled_resolver
    url = keepalive.url.replace("127.0.0.1", "stalled.invalid")
    client = ServiceClient("stalled", base_url=url, breaker=False, retry=0)
    outcome: list[BaseException | object] = []

    def call() -> None:
        try:
            outcome.append(client.get("/me", timeout=1.0))
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(30)  # (waits this long only when the lookup is not bounded)
    assert asked.is_set() and not release.is_set()
    assert not caller.is_alive(), "the call waited for the resolver past its deadline"
    assert isinstance(outcome[0], UpstreamTimeout)

    async def aio_call() -> None:
        with pytest.raises(UpstreamTimeout):
            await asyncio.wait_for(client.aio.get("/me", timeout=1.0), 30)
        release.set()  # (asyncio.run waits for its executor's lookup thread at the end)

    asyncio.run(aio_call())  # the resolver answers from now on: the name works
    assert client.get("/me") == {"user": "me"}
    client.close()


def test_a_name_that_resolves_is_connected_to_and_an_unknown_one_is_a_503(keepalive, stalled_resolver):
    client = ServiceClient("local", base_url=keepalive.url.replace("127.0.0.1", "localhost"), breaker=False)
    assert client.get("/me") == {"user": "me"}
    client.close()
    missing = ServiceClient("missing", base_url="http://missing.invalid:1", breaker=False, retry=0)
    with pytest.raises(ServiceError) as caught:
        missing.get("/me")
    assert (caught.value.status, caught.value.code) == (503, "upstream_unavailable")
    missing.close()


def test_app_pools_closed_while_threads_call_through_them(users):
    """`app.shutdown()` or `client.close()` while other threads are calling through the same pools: a
    call that had just taken the pool raised RuntimeError ('the client has been closed', a 500 for its
    caller), one in flight had its connection closed under it (a 503, or a wait until its 10 s timeout:
    closing a socket does not wake a thread reading it). Now a closed pool's client is closed by the
    last call still using it: every call succeeds, and the calls after a close use new pools."""
    app = App(name="orders")
    client = app.service("users-race", base_url=users.url, breaker=False, retry=RetryPolicy(3, base=0.001))
    errors: list[BaseException] = []
    answers = 0
    stop = threading.Event()
    progress = threading.Condition()

    def caller() -> None:
        nonlocal answers
        while not stop.is_set():
            try:
                client.get("/users/{user_id}", user_id=1)
            except BaseException as exc:
                errors.append(exc)
                return
            with progress:
                answers += 1
                progress.notify_all()

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(6)]
    for thread in threads:
        thread.start()
    for round_ in range(1, 11):  # each close lands while calls are being made (bounded wait: a hung call)
        with progress:
            progress.wait_for(lambda n=round_ * 2: answers >= n or bool(errors), 30)
        (app.shutdown if round_ % 2 else client.close)()
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not errors, errors[:3]
    assert answers >= 20
    assert client.get("/users/{user_id}", user_id=1) == {"id": 1, "name": "Ada"}
    app.shutdown()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """(A bounded wait that only runs out when the code under test is wrong.)"""
    event = threading.Event()
    while not condition() and timeout > 0:
        event.wait(0.01)
        timeout -= 0.01
    assert condition()


def test_a_call_in_flight_when_the_pools_close_gets_its_answer_sync_and_async(users):
    """The deterministic half of the race above: a sync call and an `aio` call (on a loop in another
    thread) wait at the callee while `app.shutdown()` closes the pools; each still gets its answer (with no retry: before, its connection was closed under
    it, a 503), and the pools they used are closed once they end."""
    rec = users.rec
    app = App(name="orders")
    client = app.service("users-inflight", base_url=users.url, breaker=False, retry=0)
    outcome: dict[str, object] = {}
    loop = asyncio.new_event_loop()

    def sync_call() -> None:
        try:
            outcome["sync"] = client.get("/gate")
        except BaseException as exc:
            outcome["sync"] = exc

    def async_call() -> None:
        try:
            outcome["aio"] = loop.run_until_complete(client.aio.get("/gate"))
        except BaseException as exc:
            outcome["aio"] = exc

    threads = [threading.Thread(target=sync_call, daemon=True), threading.Thread(target=async_call, daemon=True)]
    for thread in threads:
        thread.start()
    wait_for(lambda: rec.hits.get("/gate", 0) == 2)
    pools = client.pools()
    app.shutdown()
    rec.gate.set()
    for thread in threads:
        thread.join(30)
    assert outcome == {"sync": {"passed": True}, "aio": {"passed": True}}
    assert pools._sync is None and not pools._users and not pools._retired
    loop.close()
    assert client.get("/users/{user_id}", user_id=2) == {"id": 2, "name": "Linus"}
    app.shutdown()


def test_an_aio_call_cancelled_by_its_caller_gives_everything_back(users):
    """`asyncio.wait_for(client.aio.get(...), 0.2)` at a callee that holds the answer: the cancelled call
    gives back its bulkhead slot, its balancer count and its pool, so the next calls go through."""
    from lift.resilience import Bulkhead
    from lift.services import LeastOutstanding

    balancer = LeastOutstanding()
    client = ServiceClient(
        "users", base_url=[users.url], breaker=False, bulkhead=Bulkhead("users", 1), balancer=balancer, retry=0
    )

    async def calls() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.aio.get("/gate"), 0.2)
        assert client.bulkhead is not None and client.bulkhead.in_use == 0
        assert set(balancer.outstanding.values()) == {0} and not client.pools()._users
        assert (await client.aio.get("/users/{user_id}", user_id=1))["name"] == "Ada"

    try:
        asyncio.run(calls())
    finally:
        users.rec.gate.set()
    client.close()
