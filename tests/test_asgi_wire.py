"""app.asgi under a real uvicorn server, driven with raw bytes as clients put them on the wire:
methods in lower case, escaped slashes, response headers Latin-1 cannot hold, a wrong Content-Length."""

from __future__ import annotations

import json
import socket

import pytest

from lift import App, Context, Response
from lift.testing import events, lambda_context
from tests.servers import Served


def make_app() -> App:
    app = App(name="wire", max_body_size=100)

    @app.get("/users/{user_id}")
    def user(ctx: Context, user_id: int) -> dict:
        return {"user_id": user_id}

    @app.get("/names/{name}")
    async def name(ctx: Context, name: str) -> dict:
        return {"name": name}

    @app.get("/download")
    def download(ctx: Context) -> Response:
        return Response.text("report", headers={"Content-Disposition": "attachment; filename*=UTF-8''5 €.txt"})

    @app.get("/cookie")
    def cookie(ctx: Context) -> Response:
        return Response.text("ok").set_cookie("motto", "ça va €")

    @app.post("/upload")
    def upload(ctx: Context, body: bytes) -> dict:
        return {"size": len(body)}

    @app.route("/echo", methods=["GET", "DELETE"])
    def echo(ctx: Context, body: bytes) -> dict:
        return {"body": body.decode()}

    @app.get("/gone")
    def gone(ctx: Context) -> Response:
        return Response.text("nothing to see", status=204)  # (a body HTTP forbids: the handler's mistake)

    @app.get("/unchanged")
    def unchanged(ctx: Context) -> Response:
        return Response.json({"etag": "x"}, status=304)

    @app.get("/redirect")
    def redirect(ctx: Context) -> Response:  # (echoes the client's text into a header: an injection's target)
        return Response.redirect(ctx.query.get("next", "/"))

    @app.get("/length")
    def length(ctx: Context) -> Response:
        return Response.text("four", headers={"Content-Length": "40"})  # the handler's own mistake

    return app


@pytest.fixture(scope="module")
def server() -> Served:
    served = Served(make_app().asgi)
    yield served
    served.stop()


def exchange(server: Served, request_line: bytes, body: bytes = b"") -> tuple[int, dict[bytes, list[bytes]], bytes]:
    """Send one request's bytes, read until the server closes: the status, headers and the whole body
    (but for HEAD, checked against its Content-Length: a response cut short fails here)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_line + b"Host: x\r\nConnection: close\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    start, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = start.split(b"\r\n")
    headers: dict[bytes, list[bytes]] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if not request_line.startswith(b"HEAD "):
        assert len(body) == int(headers[b"content-length"][0]), (data, "a response cut short")
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("method", [b"get", b"Get", b"head"])
def test_a_method_in_lower_case_gets_a_whole_answer_over_uvicorn(server: Served, method: bytes) -> None:
    # (`head` is not HEAD to the HTTP server, which then waits for the body it declares: Lift sends it)
    status, headers, body = exchange(server, method + b" /users/7 HTTP/1.1\r\n")
    assert (status, body) == (200, b'{"user_id":7}')
    assert exchange(server, b"HEAD /users/7 HTTP/1.1\r\n")[::2] == (200, b"")


def test_an_escaped_slash_stays_in_its_parameter_over_uvicorn(server: Served) -> None:
    assert exchange(server, b"GET /names/a%2Fb HTTP/1.1\r\n")[::2] == (200, b'{"name":"a/b"}')
    status, _, body = exchange(server, b"GET /users/1%2f2 HTTP/1.1\r\n")
    assert status == 422 and b'"$.user_id"' in body and b"'1/2'" in body


def test_response_headers_latin1_cannot_hold_go_out_as_utf8(server: Served) -> None:
    status, headers, body = exchange(server, b"GET /download HTTP/1.1\r\n")
    assert (status, body) == (200, b"report")
    assert headers[b"content-disposition"] == ["attachment; filename*=UTF-8''5 €.txt".encode()]
    status, headers, _ = exchange(server, b"GET /cookie HTTP/1.1\r\n")
    assert status == 200 and headers[b"set-cookie"][0].startswith("motto=ça va €;".encode())


@pytest.mark.parametrize("method", [b"GET", b"DELETE"])
def test_a_get_or_delete_gets_the_body_it_was_sent_whole_or_in_chunks(server: Served, method: bytes) -> None:
    """(A request without a Content-Length or Transfer-Encoding has no body: Lift does not wait for one.)"""
    sent = method + b" /echo HTTP/1.1\r\nContent-Length: 5\r\n"
    assert exchange(server, sent, b"hello")[::2] == (200, b'{"body":"hello"}')
    sent = method + b" /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    assert exchange(server, sent, b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")[::2] == (200, b'{"body":"hello"}')
    assert exchange(server, method + b" /echo HTTP/1.1\r\n")[::2] == (200, b'{"body":""}')


def test_a_content_length_the_body_disagrees_with_is_the_bodys_own(server: Served) -> None:
    status, headers, body = exchange(server, b"GET /length HTTP/1.1\r\n")
    assert (status, headers[b"content-length"], body) == (200, [b"4"], b"four")


def test_a_body_over_the_limit_is_the_413_a_lambda_source_gives_it(server: Served) -> None:
    sent = b"POST /upload HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 101\r\n"
    status, _, body = exchange(server, sent, b"x" * 101)
    on_lambda = make_app().handler(events.apigw_rest("POST", "/upload", body="x" * 101), lambda_context())
    error, lambda_error = json.loads(body)["error"], json.loads(on_lambda["body"])["error"]
    assert (status, error["code"], error["message"]) == (413, "payload_too_large", lambda_error["message"])
    assert on_lambda["statusCode"] == 413 and error["request_id"]


@pytest.mark.parametrize(("path", "status"), [(b"/gone", 204), (b"/unchanged", 304)])
def test_a_204_or_304_goes_out_without_a_body_and_the_connection_serves_the_next_request(
    server: Served, path: bytes, status: int
) -> None:
    """A body there (or its Content-Length) made the server fail the response and drop the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"GET "
            + path
            + b" HTTP/1.1\r\nHost: x\r\n\r\nGET /users/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    first, _, second = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 %d " % status) and b"content-length" not in first.lower(), data
    assert second.startswith(b"HTTP/1.1 200 OK") and second.endswith(b'{"user_id":7}'), data


def test_a_header_value_with_a_line_break_is_the_error_contracts_500_never_a_split_header(server: Served) -> None:
    """`%0d%0a` decoded into a header by the handler: no server can send it (h11 dropped the connection,
    the client got nothing); the answer is the 500 with the request id, and no injected header."""
    status, headers, body = exchange(server, b"GET /redirect?next=/x%0d%0aSet-Cookie:%20stolen=1 HTTP/1.1\r\n")
    error = json.loads(body)["error"]
    assert (status, error["code"], error["message"]) == (500, "internal_error", "Internal server error")
    assert b"set-cookie" not in headers and b"location" not in headers
    status, headers, _ = exchange(server, b"GET /redirect?next=/home HTTP/1.1\r\n")
    assert (status, headers[b"location"]) == (307, [b"/home"])


def test_an_oversized_body_is_answered_through_the_apps_middleware_as_on_lambda() -> None:
    """The 413 for a body over the limit comes from reading it, as on Lambda: CORS headers, the
    request id the client sent, like every other error; a handler that never
    reads the body answers as it would on Lambda; a route's lower `limits()` still applies."""
    from lift.middleware import cors, request_id
    from lift.middleware.limits import limits

    app = App(name="wire-cors", max_body_size=100)
    app.use(request_id(), cors(["https://shop.example"]))

    @app.post("/upload")
    def upload(ctx: Context, body: bytes) -> dict:
        return {"size": len(body)}

    @app.post("/ping")
    def ping(ctx: Context) -> dict:
        return {"pong": True}

    @app.post("/small", middleware=[limits(max_body=10)])
    def small(ctx: Context, body: bytes) -> dict:
        return {"size": len(body)}

    served = Served(app.asgi)
    try:
        head = b"Origin: https://shop.example\r\nX-Request-Id: req-413\r\nContent-Length: 101\r\n"
        status, headers, body = exchange(served, b"POST /upload HTTP/1.1\r\n" + head, b"x" * 101)
        error = json.loads(body)["error"]
        assert (status, error["code"], error["request_id"]) == (413, "payload_too_large", "req-413")
        assert headers[b"access-control-allow-origin"] == [b"https://shop.example"]
        assert headers[b"x-request-id"] == [b"req-413"]
        on_lambda = app.handler(
            events.apigw_rest("POST", "/upload", body="x" * 101, headers={"Origin": "https://shop.example"}),
            lambda_context(),
        )
        assert on_lambda["statusCode"] == 413
        assert json.loads(on_lambda["body"])["error"]["message"] == error["message"]
        status, _, body = exchange(served, b"POST /ping HTTP/1.1\r\n" + head, b"x" * 101)
        assert (status, json.loads(body)) == (200, {"pong": True})
        status, _, body = exchange(served, b"POST /small HTTP/1.1\r\n" + head, b"x" * 101)
        assert (status, json.loads(body)["error"]["details"]) == (413, {"limit": 10})
        status, _, body = exchange(served, b"POST /upload HTTP/1.1\r\nContent-Length: 100\r\n", b"x" * 100)
        assert (status, json.loads(body)) == (200, {"size": 100})
    finally:
        served.stop()
