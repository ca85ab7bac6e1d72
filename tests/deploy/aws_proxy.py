"""An HTTP proxy on 127.0.0.1 between `lift` and moto server: it forwards every request to moto
and passes moto's answer back unchanged, records the API actions it forwarded, and can hold one
answer until the test releases it, or answer one action in pages.

Why: moto executes a change set inside the ExecuteChangeSet call, so a stack is never "in
progress" long enough to press Ctrl-C during `lift deploy`'s wait. Holding moto's (real) answer
to the first DescribeStacks after ExecuteChangeSet opens that window at a known point: the test
interrupts `lift` while the answer is held (or cuts the network there). `drop` hangs up on one
request unanswered, as a network blip does. `page` splits moto's whole answer to a list action
(moto 5 answers DescribeStackEvents in one piece) into pages linked by NextToken, as the API
documents it does: the page size is the service's to choose, so a client must follow NextToken
whatever it is. Nothing is invented: every answer is moto's, or a part of it.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["AwsProxy"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class AwsProxy:
    """`AwsProxy(moto_endpoint)`; `.url` is the endpoint to give `lift` (AWS_ENDPOINT_URL)."""

    def __init__(self, target: str) -> None:
        parsed = urllib.parse.urlsplit(target)
        self.target = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.actions: list[tuple[str, dict[str, str]]] = []  # (Action, its parameters), in order
        self.held = threading.Event()  # set while an answer is held
        self._release = threading.Event()
        self._hold: tuple[str, str] | None = None
        self._cut = False
        self._drop: list[Any] | None = None  # [action, after, seen_after, times left]
        self._pages: tuple[str, str, int] | None = None  # (action, list element, page size)
        self.pages_served: list[int] = []  # the offset of each page answered (0: a first page)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                proxy._forward(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="aws-proxy").start()

    def hold(self, action: str, after: str) -> None:
        """Hold moto's answer to the first `action` request that follows an `after` request."""
        with self._lock:
            self._hold, self._seen_after = (action, after), False
            self.held.clear()
            self._release.clear()

    def drop(self, action: str, after: str, times: int = 1) -> None:
        """Hang up, unanswered and without forwarding, on the next `times` `action` requests that
        follow an `after` request (a connection reset the client sees as a network error)."""
        with self._lock:
            self._drop = [action, after, False, times]

    def _should_drop(self, action: str) -> bool:
        with self._lock:
            if self._drop is None:
                return False
            if action == self._drop[1]:
                self._drop[2] = True
            elif action == self._drop[0] and self._drop[2] and self._drop[3] > 0:
                self._drop[3] -= 1
                return True
            return False

    def page(self, action: str, element: str, size: int) -> None:
        """Answer `action` in pages of `size` members of its `element` list (e.g. StackEvents),
        with NextToken (here the offset) on every page but the last."""
        with self._lock:
            self._pages = (action, element, size)

    def _paged(self, action: str, params: dict[str, str], data: bytes) -> bytes:
        with self._lock:
            if self._pages is None or action != self._pages[0]:
                return data
            _, element, size = self._pages
            offset = int(params.get("NextToken") or 0)
            self.pages_served.append(offset)
        namespace = data.split(b'xmlns="', 1)[1].split(b'"', 1)[0].decode() if b'xmlns="' in data else ""
        ns = f"{{{namespace}}}" if namespace else ""
        ET.register_namespace("", namespace)
        root = ET.fromstring(data)
        result = next(iter(root))  # <ActionResult>
        members = result.find(f"{ns}{element}")
        if members is None:
            return data
        everything = list(members)
        for member in everything:
            members.remove(member)
        members.extend(everything[offset : offset + size])
        if offset + size < len(everything):
            ET.SubElement(result, f"{ns}NextToken").text = str(offset + size)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    def release(self) -> None:
        self._release.set()

    def cut(self) -> None:
        """The network goes: the held request's connection is closed unanswered and the proxy
        stops listening (later connections are refused)."""
        self._cut = True
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def names(self) -> list[str]:
        return [name for name, _ in self.actions]

    def close(self) -> None:
        self._release.set()
        if not self._cut:
            self.server.shutdown()
            self.server.server_close()

    def _should_hold(self, action: str) -> bool:
        with self._lock:
            if self._hold is None:
                return False
            if action == self._hold[1]:
                self._seen_after = True
            elif action == self._hold[0] and self._seen_after:
                self._hold = None
                return True
            return False

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        body = _read_body(request)
        if self._cut:  # a kept-alive connection from before the cut goes too
            _hang_up(request)
            return
        action, params = "", {}
        if body and "x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
            params = dict(urllib.parse.parse_qsl(body.decode()))
            action = params.get("Action", "")
            if action:
                with self._lock:
                    self.actions.append((action, params))
        if action and self._should_drop(action):
            _hang_up(request)
            return
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*self.target, timeout=60)
        upstream.request(request.command, request.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        if action and answer.status == 200:
            data = self._paged(action, params, data)
        if action and self._should_hold(action):
            self.held.set()
            self._release.wait(60)
            if self._cut:
                _hang_up(request)
                return
        try:
            request.send_response(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    request.send_header(key, value)
            length = answer.getheader("Content-Length") if request.command == "HEAD" else None
            request.send_header("Content-Length", length or str(len(data)))
            request.end_headers()
            if request.command != "HEAD":
                request.wfile.write(data)
        except OSError:
            pass  # the client gave up on the held answer (it was interrupted)


def _hang_up(request: BaseHTTPRequestHandler) -> None:
    request.close_connection = True
    request.connection.shutdown(socket.SHUT_RDWR)


def _read_body(request: BaseHTTPRequestHandler) -> bytes:
    if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(request.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                request.rfile.readline()
                return b"".join(chunks)
            chunks.append(request.rfile.read(size))
            request.rfile.readline()
    length = int(request.headers.get("Content-Length") or 0)
    return request.rfile.read(length) if length else b""
