"""One table of hostile HTTP requests, each sent through every front door Lift has: `app.asgi` and
`lift dev` (REST and HTTP API payloads) under a real uvicorn, and the event each Lambda HTTP source
would hand the function (API Gateway REST and HTTP API, ALB with and without multi-value headers,
function URLs). Each request must get the same status, the same headers a client acts on and the
same body everywhere (the error's request id aside), but where AWS itself passes a request on
differently (named per case). Then what only a socket can send: an oversized body announced with
`Expect: 100-continue`, a body that trickles in, WebSocket messages over API Gateway's 128 KB."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from lift.asgi import header_text
from lift.testing import events, lambda_context
from tests.servers import Served, served_as_asgi_and_dev

SOURCE = """
import hashlib

from lift import App, Context, Response
from lift.middleware import cors

app = App(name="doors", max_body_size=4096)
shared = app.group("/shared")
shared.use(cors(["https://app.example.com"], allow_credentials=True, expose_headers=["X-Total"]))
anyone = app.group("/anyone")
anyone.use(cors("*"))


@app.get("/echo")
def echo(ctx: Context) -> dict:
    request = ctx.request
    return {
        "query": request.query.to_dict(),
        "dup": request.headers.getall("x-dup"),
        "name": request.headers.get("x-name"),
        "long": len(request.headers.get("x-long", "")),
        "cookies": request.cookies,
    }


@app.get("/items/{item_id}")
def item(ctx: Context, item_id: int) -> dict:
    return {"item_id": item_id}


@app.get("/files/{path+}")
def files(ctx: Context, path: str) -> dict:
    return {"path": path}


@app.get("/cookies")
def cookies(ctx: Context) -> Response:
    response = Response.json({"ok": True})
    response.set_cookie("session", "abc", secure=False)
    response.set_cookie("theme", "dark", secure=False, path="/")
    return response


@app.get("/binary")
def binary(ctx: Context) -> Response:
    return Response(bytes(range(256)), 200, content_type="image/png")


@app.post("/upload")
def upload(ctx: Context, body: bytes) -> dict:
    return {"size": len(body), "sha": hashlib.sha256(body).hexdigest()[:16], "type": ctx.request.content_type}


@app.post("/typed")
def typed(ctx: Context, body: dict) -> dict:
    return {"got": body}


@shared.get("/thing")
def shared_thing(ctx: Context) -> Response:
    return Response.json({"shared": True}, headers={"X-Total": "1"})


@anyone.get("/thing")
def anyone_thing(ctx: Context) -> dict:
    return {"anyone": True}


SEEN = []  # the sizes of the WebSocket messages the handler got


@app.websocket("$default")
def ws_default(ctx: Context, body: str) -> None:
    SEEN.append(len(body))
"""

# the response headers a client acts on (the rest differ by front door by design: Date, Server,
# Content-Length, Connection)
COMPARED = (
    "content-type",
    "set-cookie",
    "allow",
    "vary",
    "location",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
)
LAMBDA_SOURCES = ("rest", "http", "alb", "alb-multi", "url")
ORIGIN = "https://app.example.com"
BINARY = bytes(range(256)) * 4
GZIPPED = gzip.compress(b'{"a": 1}')


def case(
    id: str,
    method: str,
    target: str,
    headers: list[tuple[str, str | bytes]] | None = None,
    body: bytes = b"",
    *,
    differs: tuple[str, ...] = (),
) -> Any:
    """A request: `differs` names the front doors that pass it on differently by design (not compared):
    the Lambda sources AWS hands it to otherwise, and `lift dev` playing that service ("dev-http")."""
    return pytest.param(method, target, headers or [], body, differs, id=id)


CASES = [
    case("plain", "GET", "/items/5"),
    case("typed-422", "GET", "/items/abc"),
    case("not-found", "GET", "/nowhere"),
    case("method-405", "DELETE", "/items/5"),
    case("lower-case-method", "get", "/items/5"),
    # duplicate headers, the second in another case: both values, in order (ALB without multi-value
    # headers passes the last one only)
    case("duplicate-headers", "GET", "/echo", [("X-Dup", "a"), ("x-dup", "b")], differs=("alb",)),
    case("cookie-header", "GET", "/echo", [("Cookie", "a=1; b=2; flag")]),
    case("query-repeated", "GET", "/echo?tag=a&tag=b&empty=&plus=a+b&pct=a%2Bb", differs=("alb",)),
    case("query-not-utf8", "GET", "/echo?q=%FF", differs=("rest",)),  # (API Gateway decodes a REST query)
    case("query-nul", "GET", "/echo?q=a%00b"),
    case("set-cookie-twice", "GET", "/cookies"),
    case("binary-answer", "GET", "/binary"),
    case("binary-body", "POST", "/upload", [("Content-Type", "application/octet-stream")], BINARY),
    case("text-body", "POST", "/upload", [("Content-Type", "text/plain; charset=utf-8")], "héllo €".encode()),
    case("body-over-limit", "POST", "/upload", [("Content-Type", "application/octet-stream")], b"x" * 5000),
    case("gzip-json", "POST", "/typed", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], GZIPPED),
    case("head-route", "HEAD", "/items/5"),
    case("head-404", "HEAD", "/nowhere"),
    case("head-422", "HEAD", "/items/abc"),
    case("options-no-cors", "OPTIONS", "/items/5"),
    case(
        "preflight-credentials",
        "OPTIONS",
        "/shared/thing",
        [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")],
    ),
    case(
        "preflight-other-origin",
        "OPTIONS",
        "/shared/thing",
        [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")],
    ),
    case("cors-credentials", "GET", "/shared/thing", [("Origin", ORIGIN), ("Cookie", "s=1")]),
    case(
        "preflight-wildcard",
        "OPTIONS",
        "/anyone/thing",
        [("Origin", "https://x.example"), ("Access-Control-Request-Method", "GET")],
    ),
    case("cors-wildcard", "GET", "/anyone/thing", [("Origin", "https://x.example")]),
    case("absolute-form", "GET", "http://doors.example/items/5?x=1"),  # (a proxy's form: servers must accept it)
    case("trailing-slash", "GET", "/items/5/"),
    case("double-slash", "GET", "//items/5"),
    case("empty-segment", "GET", "/items//5"),
    case("dot-dot", "GET", "/files/a/../b"),
    case("dot-dot-encoded", "GET", "/files/a/%2e%2E/b"),
    case("escaped-slash", "GET", "/files/a%2Fb"),
    # (an HTTP API decodes its path itself: the handler gets the U+FFFD API Gateway passes on)
    case("path-not-utf8", "GET", "/files/%FF", differs=("http", "dev-http")),
    case("path-nul", "GET", "/files/a%00b"),
    case("long-path", "GET", "/files/" + "a" * 6000),
    case("long-header", "GET", "/echo", [("X-Long", "v" * 6000)]),
    case("utf8-header", "GET", "/echo", [("X-Name", "café €".encode())]),
    case("latin1-header", "GET", "/echo", [("X-Name", b"caf\xe9")]),
]


@pytest.fixture(scope="module")
def doors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Served]]]:
    with served_as_asgi_and_dev(tmp_path_factory.mktemp("doors"), "front_doors", SOURCE, http_payload=True) as (
        module,
        servers,
    ):
        yield module, servers


def _header_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def over_socket(port: int, method: str, target: str, headers: list, body: bytes) -> tuple[int, dict, Any]:
    """The request's bytes on a connection of its own, as a client puts them there; its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: doors.example", b"Connection: close"]
        lines += [name.encode() + b": " + _header_bytes(value) for name, value in headers]
        if body:
            lines.append(b"Content-Length: %d" % len(body))
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method=method.upper())
        response.begin()
        data = response.read()
        got: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            got.setdefault(name.lower(), []).append(value)
        return comparable(response.status, got, data)


def comparable(status: int, headers: dict[str, list[str]], body: bytes) -> tuple[int, dict, Any]:
    """The answer's status, compared headers and body (JSON parsed, an error's request id left out)."""
    kept = {name: values for name, values in headers.items() if name in COMPARED}
    if headers.get("content-type") == ["application/json"] and body:
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            data["error"].pop("request_id", None)
        return status, kept, data
    return status, kept, body


BUILDERS = {
    "rest": events.apigw_rest,
    "http": events.apigw_http,
    "alb": events.alb,
    "alb-multi": lambda *a, **k: events.alb(*a, multi_value=True, **k),
    "url": events.function_url,
}


def lambda_event(source: str, method: str, target: str, headers: list, body: bytes) -> dict[str, Any]:
    """The event `source` hands the function for this request (the query as that service passes it on)."""
    path, _, raw_query = target.partition("?")
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in headers:
        text = header_text(value) if isinstance(value, bytes) else value  # (as AWS reads the bytes)
        grouped.setdefault(names.setdefault(name.lower(), name), []).append(text)
    event = BUILDERS[source](method.upper(), path, headers=grouped, body=body or None)
    if method != method.upper():  # (the builders write the method in upper case; AWS passes it as sent)
        if source in ("http", "url"):
            event["requestContext"]["http"]["method"] = method
        else:
            event["httpMethod"] = method
    if raw_query:
        pairs = raw_query.split("&")
        if source in ("http", "url"):
            event["rawQueryString"] = raw_query
        elif source.startswith("alb"):  # (as sent, still encoded)
            multi: dict[str, list[str]] = {}
            for pair in pairs:
                key, _, value = pair.partition("=")
                multi.setdefault(key, []).append(value)
            if source == "alb":
                event["queryStringParameters"] = {k: v[-1] for k, v in multi.items()}
            else:
                event["multiValueQueryStringParameters"] = multi
        else:  # REST: decoded by API Gateway
            decoded: dict[str, list[str]] = {}
            for key, value in parse_qsl(raw_query, keep_blank_values=True, errors="strict"):
                decoded.setdefault(key, []).append(value)
            event["multiValueQueryStringParameters"] = decoded
            event["queryStringParameters"] = {k: v[-1] for k, v in decoded.items()}
    return event


def on_lambda(app: Any, source: str, method: str, target: str, headers: list, body: bytes) -> tuple[int, dict, Any]:
    out = app.handler(lambda_event(source, method, target, headers, body), lambda_context())
    got: dict[str, list[str]] = {}
    for name, value in (out.get("headers") or {}).items():
        got.setdefault(name.lower(), []).append(value)
    for name, values in (out.get("multiValueHeaders") or {}).items():
        got.setdefault(name.lower(), []).extend(values)
    if out.get("cookies"):
        got.setdefault("set-cookie", []).extend(out["cookies"])
    data = base64.b64decode(out["body"]) if out.get("isBase64Encoded") else (out.get("body") or "").encode()
    if method.upper() == "HEAD":  # (API Gateway and ALB send no body for HEAD)
        data = b""
    return comparable(out["statusCode"], got, data)


@pytest.mark.parametrize(("method", "target", "headers", "body", "differs"), CASES)
def test_every_front_door_answers_the_same_request_alike(
    doors: tuple[Any, dict[str, Served]], method: str, target: str, headers: list, body: bytes, differs: tuple
) -> None:
    module, servers = doors
    app = module.app
    answer = over_socket(servers["asgi"].port, method, target, headers, body)
    assert answer[0] < 500, answer
    for where in ("dev", "dev-http"):
        if where not in differs:
            assert over_socket(servers[where].port, method, target, headers, body) == answer, where
    for source in LAMBDA_SOURCES:
        if source not in differs:
            assert on_lambda(app, source, method, target, headers, body) == answer, source


def test_the_table_asserts_what_clients_rely_on(doors: tuple[Any, dict[str, Served]]) -> None:
    """A few answers of the table spelled out, so that a door answering wrongly everywhere fails too."""
    _, servers = doors
    port = servers["asgi"].port
    assert over_socket(port, "GET", "/echo", [("X-Dup", "a"), ("x-dup", "b")], b"")[2]["dup"] == ["a", "b"]
    status, headers, _ = over_socket(port, "GET", "/cookies", [], b"")
    assert (status, headers["set-cookie"]) == (
        200,
        ["session=abc; Path=/; HttpOnly; SameSite=Lax", "theme=dark; Path=/; HttpOnly; SameSite=Lax"],
    )
    status, headers, _ = over_socket(
        port, "OPTIONS", "/shared/thing", [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")], b""
    )
    assert (status, headers["access-control-allow-origin"], headers["access-control-allow-credentials"]) == (
        204,
        [ORIGIN],
        ["true"],
    )
    for target, code in (("/files/a%00b", "invalid_path_encoding"), ("/echo?q=%FF", "invalid_query_encoding")):
        status, _, body = over_socket(port, "GET", target, [], b"")
        assert (status, body["error"]["code"]) == (400, code), target
    assert over_socket(port, "GET", "/echo", [("X-Name", "café €".encode())], b"")[2]["name"] == "café €"
    assert over_socket(port, "POST", "/upload", [], b"x" * 5000)[0] == 413


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):  # (the socket's timeout bounds the wait: only a defect reaches it)
        data += chunk
    return data


@pytest.mark.parametrize(("where", "size"), [("asgi", 5000), ("dev", 7 * 1024 * 1024)])
def test_an_oversized_body_sent_after_100_continue_is_refused_unread(
    doors: tuple[Any, dict[str, Served]], where: str, size: int
) -> None:
    """A client that announces its body with `Expect: 100-continue` waits for "100 Continue" before
    sending it: a body declared over the limit gets its 413 instead, and is never asked for."""
    _, servers = doors
    with socket.create_connection(("127.0.0.1", servers[where].port), timeout=30) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % size
        )
        answer = _read_until_closed(sock)  # (was "100 Continue", then a wait for the body)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"100 Continue" not in answer
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()  # (the body is left unread: the connection cannot go on)
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_a_body_within_the_limit_after_100_continue_is_still_read(doors: tuple[Any, dict[str, Served]]) -> None:
    _, servers = doors
    for where in ("asgi", "dev"):
        with socket.create_connection(("127.0.0.1", servers[where].port), timeout=30) as sock:
            sock.sendall(
                b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"
            )
            assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n"), where
            sock.sendall(b"hello")
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"size":5' in answer, where


def test_lift_dev_answers_a_body_that_never_finishes_with_a_408(doors: tuple[Any, dict[str, Served]]) -> None:
    """A client that sends its headers and then trickles (or stalls) its body no longer holds the
    request and its connection for good (LIFT_DEV_BODY_TIMEOUT)."""
    _, servers = doors
    dev = servers["dev"].asgi
    kept, dev.body_timeout = dev.body_timeout, 0.5
    answers = []
    try:
        for target in (b"/upload", b"/_lift/events"):  # (the app's routes, and the dev server's own)
            with socket.create_connection(("127.0.0.1", servers["dev"].port), timeout=30) as sock:
                sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n%s" % (target, b"a" * 10))
                answers.append(_read_until_closed(sock))  # (was never: the server waited for the other 90 bytes)
    finally:
        dev.body_timeout = kept
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert json.loads(body) == {"message": "Request body not received within 0.5 seconds"}
        assert b"connection: close" in head.lower()


@pytest.mark.parametrize("where", ["asgi", "dev"])
def test_a_websocket_message_over_128_kb_closes_the_connection_with_1009(
    doors: tuple[Any, dict[str, Served]], where: str
) -> None:
    """API Gateway's message quota (128 KB, not adjustable): a larger message reaches no handler, and
    the connection is closed with 1009 (message too big), as on AWS."""
    import time

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    module, servers = doors
    seen = module.SEEN
    seen.clear()
    with connect(f"ws://127.0.0.1:{servers[where].port}/", open_timeout=30, max_size=None) as ws:
        ws.send("a" * (128 * 1024))  # (the quota itself is allowed)
        deadline = time.monotonic() + 30  # (bounded: the handler runs as soon as the message is in)
        while seen != [128 * 1024]:
            assert time.monotonic() < deadline, seen
            time.sleep(0.01)
        ws.send("é" * (64 * 1024 + 1))  # 131,074 bytes of UTF-8 in 65,537 characters
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)  # (was a timeout: the connection stayed open, the handler ran)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert seen == [128 * 1024]
