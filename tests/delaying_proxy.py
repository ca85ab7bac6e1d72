"""A TCP proxy on 127.0.0.1 that can hold one answer past the client's timeout.

The network failure it reproduces: a request reaches the server and is applied, but its answer
arrives after the client gave up, so the client's own retry (botocore's, redis-py's) sends the
same request again. Bytes pass through unchanged both ways; `hold_answer_to(parts, delay)`
makes the proxy hold the server's answer to the next request containing every one of `parts`
for `delay` seconds, once; `triggered` counts the requests that contained them (the retries).
"""

from __future__ import annotations

import socket
import threading

__all__ = ["DelayingProxy", "store_behind_proxy"]

_TAIL = 1024  # bytes of the previous chunk kept, so that parts split across two reads still match


class DelayingProxy:
    """Listens on 127.0.0.1:<free port> and forwards every connection to `target_port`."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.parts: tuple[bytes, ...] = ()
        self._armed = False
        self.delay = 0.0
        self.triggered = 0  # requests that contained the trigger, armed or not
        self.held = 0  # answers held back
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="delaying-proxy").start()

    def hold_answer_to(self, parts: tuple[bytes, ...], delay: float) -> None:
        """Hold the answer to the next request that contains all `parts` for `delay` seconds (once)."""
        with self._lock:
            self.parts, self.delay, self.triggered, self.held = parts, delay, 0, 0
            self._armed = True

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            connection = _Connection(self, client, server)
            threading.Thread(target=connection.requests, daemon=True).start()
            threading.Thread(target=connection.answers, daemon=True).start()

    def _matches(self, window: bytes) -> tuple[bool, float]:
        """Whether this request has every part, and how long to hold its answer (once)."""
        with self._lock:
            if not self.parts or not all(part in window for part in self.parts):
                return False, 0.0
            self.triggered += 1
            if not self._armed:
                return True, 0.0
            self._armed = False
            self.held += 1
            return True, self.delay

    def close(self) -> None:
        self._closed = True
        self.listener.close()


class _Connection:
    def __init__(self, proxy: DelayingProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy, self.client, self.server = proxy, client, server
        self.hold = threading.Event()  # set: the next answer is held for `delay` seconds
        self.delay = 0.0
        self.tail = b""

    def requests(self) -> None:
        try:
            while data := self.client.recv(65536):
                window = self.tail + data
                matched, delay = self.proxy._matches(window)
                self.tail = b"" if matched else window[-_TAIL:]
                if delay:
                    self.delay = delay
                    self.hold.set()
                self.server.sendall(data)
        except OSError:
            pass
        finally:
            self._close()

    def answers(self) -> None:
        try:
            while data := self.server.recv(65536):
                if self.hold.is_set():
                    self.hold.clear()
                    threading.Event().wait(self.delay)  # the client times out meanwhile
                self.client.sendall(data)
        except OSError:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        for sock in (self.client, self.server):
            try:
                sock.close()
            except OSError:
                pass


def store_behind_proxy(backend: str, request, prefix: str, timeout: float):
    """(store, proxy): a DynamoDBStore or RedisStore with key `prefix` on the session's DynamoDB Local or
    redis-server, reached through a DelayingProxy; the client times out after `timeout` s and retries."""
    from urllib.parse import urlsplit

    if backend == "dynamodb":
        from lift.stores.dynamodb import DynamoDBStore

        endpoint = urlsplit(request.getfixturevalue("dynamodb_endpoint"))
        table = request.getfixturevalue("dynamodb_table")
        proxy = DelayingProxy(endpoint.port, endpoint.hostname)
        return DynamoDBStore(
            table, endpoint_url=f"http://127.0.0.1:{proxy.port}", prefix=prefix, timeout=timeout
        ), proxy
    from lift.stores.redis import RedisStore

    url = urlsplit(request.getfixturevalue("redis_url"))
    proxy = DelayingProxy(url.port, url.hostname)
    return RedisStore(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix, timeout=timeout), proxy
