"""HTTP through the dev server: real requests become API Gateway events and go through app.handler."""

from __future__ import annotations

import contextlib
import http.client
import json
import textwrap
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

from dev.dev_server_process import DevServerProcess, write_project


def test_get_becomes_a_rest_event_with_path_params_and_multi_value_query(dev_server: DevServerProcess) -> None:
    status, headers, body = dev_server.request("GET", "/hello/ada%20l?tag=a&tag=b")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"hello": "ada l", "version": "v1", "source": "rest", "query": ["a", "b"]}


def test_request_carries_client_ip_headers_and_cookies(dev_server: DevServerProcess) -> None:
    status, _, body = dev_server.request("GET", "/whoami", headers={"Cookie": "a=1; b=two", "User-Agent": "t/1"})
    data = json.loads(body)
    assert status == 200
    assert data == {
        "cookies": {"a": "1", "b": "two"},
        "ip": "127.0.0.1",
        "ua": "t/1",
        "event_source": "rest",
        "has_request_context": True,
    }


def test_binary_body_round_trips_through_base64_and_cookies_come_back(dev_server: DevServerProcess) -> None:
    payload = bytes(range(256)) * 4
    status, headers, body = dev_server.request(
        "POST", "/echo", payload, {"Content-Type": "image/png", "X-Custom": "yes"}
    )
    assert status == 201
    assert body == payload
    assert headers["content-type"] == "image/png"
    assert headers["x-echo"] == "yes"
    cookies = headers.get_all("set-cookie")
    assert [c.split(";")[0] for c in cookies] == ["session=abc", "theme=dark"]


def test_errors_keep_the_lift_error_contract(dev_server: DevServerProcess) -> None:
    status, _, body = dev_server.request("GET", "/boom")
    error = json.loads(body)["error"]
    assert status == 500
    assert error["code"] == "internal_error"
    assert "secret detail" not in body.decode()
    status, _, body = dev_server.request("GET", "/nowhere")
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


def test_dashboard_state_lists_routes_sources_and_statistics(dev_server: DevServerProcess) -> None:
    dev_server.request("GET", "/hello/stats")
    state = dev_server.get("/_lift/api/state")
    assert {"method": "GET", "path": "/hello/{name}"}.items() <= next(
        r for r in state["routes"] if r["path"] == "/hello/{name}"
    ).items()
    kinds = {(s["kind"], s["name"]) for s in state["sources"]}
    assert {("sqs", "orders"), ("schedule", "tick"), ("websocket", "echo")} <= kinds
    stats = {s["key"]: s for s in state["stats"]}
    assert stats["GET /hello/{name}"]["count"] >= 1
    assert stats["GET /hello/{name}"]["p50"] > 0
    mine = [i for i in state["invocations"] if i["target"] == "/hello/stats"]
    assert mine and mine[-1]["status"] == 200 and mine[-1]["method"] == "GET" and mine[-1]["request_id"]
    assert any(log["level"] == "INFO" and "saying hello to stats" in log["message"] for log in state["logs"])


def test_swagger_ui_and_openapi_are_served_from_installed_assets(dev_server: DevServerProcess) -> None:
    status, _, body = dev_server.request("GET", "/_lift/docs")
    assert status == 200 and b"/_lift/swagger/swagger-ui-bundle.js" in body
    status, _headers, asset = dev_server.request("GET", "/_lift/swagger/swagger-ui-bundle.js")
    assert status == 200 and len(asset) > 100_000
    spec = dev_server.get("/_lift/openapi.json")
    assert spec["openapi"].startswith("3.1")
    assert "/hello/{name}" in spec["paths"]


def test_dashboard_page_and_assets_are_served(dev_server: DevServerProcess) -> None:
    status, headers, body = dev_server.request("GET", "/_lift/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"/_lift/static/dashboard.js" in body
    status, headers, _ = dev_server.request("GET", "/_lift/static/dashboard.js")
    assert status == 200 and "javascript" in headers["content-type"]
    status, _, _ = dev_server.request("GET", "/_lift/static/../server.py")
    assert status == 404


def test_health_checks_run_from_the_dashboard_api(dev_server: DevServerProcess) -> None:
    report = dev_server.get("/_lift/api/health")
    assert report["status"] == "degraded"
    assert report["checks"]["config"]["status"] == "ok" and report["checks"]["config"]["details"] == {"version": "v1"}
    assert report["checks"]["cache"]["status"] == "fail"
    assert dev_server.get("/_lift/api/state")["health_available"] is True


def test_async_handlers_run_concurrently_on_one_shared_loop(dev_server: DevServerProcess) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: dev_server.request("GET", f"/async/{n}"), range(8)))
    assert [(status, json.loads(body)) for status, _, body in answers] == [(200, {"n": n}) for n in range(8)]


def test_function_timeout_gives_api_gateways_504_and_a_real_remaining_time(dev_server: DevServerProcess) -> None:
    status, _, body = dev_server.request("GET", "/sleep?s=0")
    assert status == 200 and 1000 < json.loads(body)["remaining_ms"] <= 2000  # LIFT_DEV_TIMEOUT=2
    status, _, body = dev_server.request("GET", "/sleep?s=3")
    assert status == 504 and json.loads(body) == {"message": "Endpoint request timed out"}
    logs = dev_server.get("/_lift/api/state")["logs"]
    assert any(log["level"] == "ERROR" and "Task timed out after 2.00 seconds" in log["message"] for log in logs)


def test_concurrent_clients_each_get_their_own_answer(dev_server: DevServerProcess) -> None:
    """Requests in flight together through the dev server: no params, query, header or body cross over."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> object:
        if i % 2:
            status, headers, body = dev_server.request(
                "POST", "/echo", body=f"body-{i}".encode(), headers={"X-Custom": f"c{i}", "Content-Type": "text/plain"}
            )
            seen = (status, headers.get("x-echo"), body)
            return True if seen == (201, f"c{i}", f"body-{i}".encode()) else (i, seen)
        status, _, body = dev_server.request("GET", f"/hello/n{i}?tag=t{i}")
        seen = (status, json.loads(body))
        expected = (200, {"hello": f"n{i}", "version": "v1", "source": "rest", "query": [f"t{i}"]})
        return True if seen == expected else (i, seen)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(80)))
    assert [r for r in results if r is not True] == []


def test_dot_segments_in_the_path_are_a_400_before_the_handler(dev_server: DevServerProcess) -> None:
    """`lift dev` hands the path to app.handler as sent: `..` (also `%2e%2e`, `..%2f`) is refused there."""
    for path in ("/hello/..", "/hello/%2e%2e", "/hello/..%2f..%2fetc%2fpasswd", "/hello/.%2E"):
        status, _, body = dev_server.request("GET", path)
        assert status == 400, (path, body)
        assert json.loads(body)["error"]["code"] == "bad_request"
    status, _, body = dev_server.request("GET", "/hello/.ada")
    assert status == 200 and json.loads(body)["hello"] == ".ada"


def test_a_path_parameter_that_is_not_utf8_is_a_400(dev_server: DevServerProcess) -> None:
    """`lift dev` hands the path on as sent: `%FF` in a parameter is the app's 400, never a U+FFFD."""
    for path in ("/hello/%FF", "/hello/caf%C3"):
        status, _, body = dev_server.request("GET", path)
        assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_path_encoding"), path


def test_a_card_number_in_an_unknown_path_is_masked_in_any_form(dev_server: DevServerProcess) -> None:
    """`lift dev` hands the path on as sent, still percent-encoded, as API Gateway does: escaped separators,
    `+` and other scripts' digits reach the 404 so; its message masks the number (tests/core/test_not_found_cards.py)."""
    full_width = "".join(chr(0xFF10 + int(d)) for d in "4111111111111111")
    for path in ("/pay/4111%201111%201111%201111", "/pay/4111+1111+1111+1111", "/pay/4111%2d1111%2D1111-1111"):
        for sent in (path, "/pay/" + quote(full_width)):
            status, _, body = dev_server.request("GET", sent)
            message = json.loads(body)["error"]["message"]
            assert status == 404 and "******" in message, (sent, message)
            digits = "".join(
                str(unicodedata.decimal(ch)) for ch in unicodedata.normalize("NFKC", message) if ch.isdecimal()
            )
            assert "4111111111111111" not in digits, (sent, message)


def test_the_path_reaches_the_app_as_sent_still_percent_encoded(dev_server: DevServerProcess) -> None:
    """As API Gateway hands it on: an escaped "?" stays in the path (never the start of a query), an escaped
    "/" stays inside its segment, and the parameter is decoded once."""
    for sent, name in (
        ("/hello/a%3Fb", "a?b"),
        ("/hello/a%2Fb", "a/b"),
        ("/hello/caf%C3%A9", "café"),
        ("/hello/100%25", "100%"),
    ):
        status, _, body = dev_server.request("GET", sent + "?tag=t")
        assert (status, json.loads(body)) == (
            200,
            {"hello": name, "version": "v1", "source": "rest", "query": ["t"]},
        ), sent


def test_a_method_in_lower_case_is_answered_whole(dev_server: DevServerProcess) -> None:
    """`get` is GET; `head` is HEAD to the app, and to the HTTP server another method, whose answer must
    carry the body its Content-Length declares (a HEAD's declared length with no body was cut off)."""
    status, _, body = dev_server.request("get", "/hello/ada")
    assert (status, json.loads(body)["hello"]) == (200, "ada")
    assert dev_server.request("head", "/hello/ada")[::2] == (200, b"")
    status, headers, body = dev_server.request("HEAD", "/hello/ada")
    assert (status, body, int(headers["content-length"])) == (
        200,
        b"",
        len(b'{"hello":"ada","version":"v1","source":"rest","query":[]}'),
    )


def test_a_body_over_lambdas_limit_is_the_413_the_app_gives_it(dev_server: DevServerProcess) -> None:
    """Over 6 MiB no event can carry it: the dev server answers as app.asgi and a Lambda source answer a body
    over the app's (default 6 MiB) limit, in the error contract."""
    status, _, body = dev_server.request("POST", "/echo", b"x" * (6 * 1024 * 1024 + 1), {"Content-Type": "text/plain"})
    error = json.loads(body)["error"]
    assert (status, error["code"], error["message"]) == (
        413,
        "payload_too_large",
        f"Request body exceeds the {6 * 1024 * 1024}-byte limit",
    )
    assert error["request_id"]


def test_a_function_answer_with_a_line_break_in_a_header_is_the_error_contracts_500(tmp_path) -> None:
    """A header no HTTP server can send (the handler echoed `%0d%0a` into it): the app answers the error
    contract's 500 itself, as on every Lambda source (tests/core/test_response_header_values.py), never a
    dropped connection or a split header."""
    app = """
        from lift import App, Context, Response
        app = App(name='devdemo')
        @app.get('/redirect')
        def redirect(ctx: Context) -> Response:
            return Response.redirect(ctx.query.get('next', '/'))
    """
    with _serving(tmp_path, app) as server:
        status, headers, body = server.request("GET", "/redirect?next=/x%0d%0aSet-Cookie:%20stolen=1")
        assert (status, json.loads(body)["error"]["code"]) == (500, "internal_error")
        assert headers.get("set-cookie") is None and headers.get("location") is None
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)  # (urllib would follow it)
        connection.request("GET", "/redirect?next=/home")
        answer = connection.getresponse()
        assert (answer.status, answer.getheader("location")) == (307, "/home")
        connection.close()


def test_a_utf8_header_value_and_a_nameless_cookie_read_as_on_the_lambda_sources(dev_server: DevServerProcess) -> None:
    """A header's UTF-8 bytes reach `ctx.headers` as their text (AWS decodes them so for a Lambda
    source), bytes that are not UTF-8 as Latin-1; a cookie without "=" is the nameless cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", int(dev_server.base.rsplit(":", 1)[1]), timeout=20)
    try:
        conn.putrequest("GET", "/whoami")
        conn.putheader("User-Agent", "caf\u00e9 \u20ac".encode())
        conn.putheader("Cookie", b"flag; a=b")
        conn.endheaders()
        data = json.loads(conn.getresponse().read())
        conn.putrequest("GET", "/whoami")
        conn.putheader("User-Agent", b"caf\xe9")
        conn.endheaders()
        latin = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert (data["ua"], data["cookies"]) == ("caf\u00e9 \u20ac", {"": "flag", "a": "b"})
    assert latin["ua"] == "caf\u00e9"


def test_request_line_and_headers_over_api_gateways_10240_bytes_are_refused(dev_server: DevServerProcess) -> None:
    """API Gateway refuses a request whose request line and header values exceed 10240 bytes (a quota
    that cannot be raised) before the function runs: a cookie that grew too large fails locally too."""
    fits = "a" * 9000
    assert dev_server.request("GET", "/hello/ada", headers={"Cookie": f"session={fits}"})[0] == 200
    status, _, body = dev_server.request("GET", "/hello/ada", headers={"Cookie": f"session={'a' * 10300}"})
    assert status == 431
    assert json.loads(body) == {"message": "Request line and header values are larger than 10240 bytes"}
    status, _, _ = dev_server.request("GET", "/hello/ada?q=" + "b" * 10300)  # the request line counts too
    assert status == 431


def test_a_handler_that_calls_sys_exit_is_api_gateways_502_and_the_server_keeps_serving(tmp_path) -> None:
    """On Lambda the runtime exits (Runtime.ExitError) and API Gateway answers 502; the dev server
    answered uvicorn's plain-text 500 with its 'Exception in ASGI application' traceback."""
    app = """
        import sys
        from lift import App
        app = App(name='devdemo')
        @app.get('/exit')
        def leave() -> dict:
            sys.exit(0)
        @app.get('/ok')
        def ok() -> dict:
            return {'ok': True}
    """
    with _serving(tmp_path, app) as server:
        status, _, body = server.request("GET", "/exit")
        assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
        assert server.request("GET", "/ok")[::2] == (200, b'{"ok":true}')
        assert "Exception in ASGI application" not in server.output()


@contextlib.contextmanager
def _serving(tmp_path, app_source: str) -> Iterator[DevServerProcess]:
    """The dev server (no reload) on a project whose app module is `app_source`."""
    write_project(tmp_path, textwrap.dedent(app_source))
    server = DevServerProcess(tmp_path, "--no-reload")
    try:
        yield server
    finally:
        server.stop()
