"""TestClient (and the HTTP event builders) over every HTTP source: what the handler receives is
what that service would send for the same request, and the TestResponse is what a client would see."""

from __future__ import annotations

import pytest

from lift import App, Context, Response
from lift.testing import TestClient, events

SOURCES = ["rest", "http", "alb", "url", "lattice"]


def _app() -> App:
    app = App()

    @app.route("/echo/{name}", methods=["GET", "POST"])
    def echo(ctx: Context, name: str) -> dict:
        req = ctx.request
        return {
            "name": name,
            "query": {key: req.query.getall(key) for key in req.query},
            "cookies": req.cookies,
            "content_length": req.headers.get("content-length"),
            "body": req.body.hex(),
        }

    @app.get("/cookies")
    def cookies(ctx: Context) -> Response:
        return Response({"ok": True}).set_cookie("a", "1").set_cookie("b", "2", max_age=60)

    return app


@pytest.mark.parametrize("source", SOURCES)
def test_a_binary_body_arrives_byte_for_byte_with_its_content_length(source: str) -> None:
    client = TestClient(_app(), source=source)
    raw = b"\xff\x00\xfebin"
    got = client.post("/echo/x", body=raw, headers={"Content-Type": "application/octet-stream"}).json()
    event = client.last_event or {}
    assert bytes.fromhex(got["body"]) == raw
    assert event.get("isBase64Encoded", event.get("is_base64_encoded")) is True
    assert got["content_length"] == str(len(raw))  # bytes on the wire, not the base64 text's length


@pytest.mark.parametrize("source", SOURCES)
def test_a_json_body_with_non_ascii_text_has_its_length_in_bytes(source: str) -> None:
    client = TestClient(_app(), source=source)
    got = client.post("/echo/x", json={"name": "café ☕"}).json()
    body = bytes.fromhex(got["body"])
    assert got["content_length"] == str(len(body)) and body.decode("utf-8") == '{"name":"café ☕"}'


@pytest.mark.parametrize("source", SOURCES)
def test_a_dict_body_is_sent_as_json_not_as_its_python_repr(source: str) -> None:
    client = TestClient(_app(), source=source)
    got = client.post("/echo/x", body={"sku": "A1", "ok": True}).json()
    assert bytes.fromhex(got["body"]) == b'{"sku":"A1","ok":true}'
    assert client.last_event is not None and events.apigw_rest("POST", "/", body=[1, None])["body"] == "[1,null]"


def test_an_http_api_get_has_content_length_zero_as_api_gateway_sends_it() -> None:
    assert TestClient(_app(), source="http").get("/echo/x").json()["content_length"] == "0"


@pytest.mark.parametrize("source", SOURCES)
def test_non_ascii_paths_repeated_query_keys_and_cookies(source: str) -> None:
    client = TestClient(_app(), source=source)
    got = client.get("/echo/caf%C3%A9 ☕?tag=a&tag=b&empty=", cookies={"session": "s1", "theme": "dark"}).json()
    assert got["name"] == "café ☕"
    # an ALB without multi-value headers passes on the last value of a repeated key, as AWS documents
    assert got["query"] == {"tag": ["b"] if source == "alb" else ["a", "b"], "empty": [""]}
    assert got["cookies"] == {"session": "s1", "theme": "dark"}


@pytest.mark.parametrize("source", SOURCES)
def test_cookies_join_a_cookie_header_given_with_them(source: str) -> None:
    got = TestClient(_app(), source=source).get("/echo/x", headers={"cookie": "a=1"}, cookies={"b": "2"}).json()
    assert got["cookies"] == {"a": "1", "b": "2"}


@pytest.mark.parametrize(("version", "expected"), [("1.0", ["1,2"]), ("2.0", ["1", "2"])])
def test_a_repeated_header_on_vpc_lattice_reaches_the_handler(version: str, expected: list[str]) -> None:
    app = App()
    app.get("/h")(lambda ctx: {"h": ctx.request.headers.getall("x-a")})
    got = TestClient(app, source="lattice", version=version).get("/h", headers={"X-A": ["1", "2"]}).json()
    assert got["h"] == expected  # (v1 carries one string per header: its values joined; v2 a list)


def test_an_alb_with_multi_value_headers_passes_every_value() -> None:
    client = TestClient(_app(), source="alb", multi_value=True)
    assert client.get("/echo/x?tag=a&tag=b").json()["query"] == {"tag": ["a", "b"]}


@pytest.mark.parametrize("source", SOURCES)
def test_the_response_has_status_headers_json_text_and_every_cookie(source: str) -> None:
    resp = TestClient(_app(), source=source).get("/cookies")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == resp.headers["content-type"] == "application/json"
    assert resp.json() == {"ok": True} and resp.text == '{"ok":true}'
    assert [c.split(";")[0] for c in resp.cookies] == ["a=1", "b=2"]


def test_lambda_context_has_what_the_python_runtime_gives_a_handler() -> None:
    from lift.testing import lambda_context

    ctx = lambda_context()
    # the attributes of awslambdaric's LambdaContext: a handler reading any of them works in tests too
    assert ctx.identity.cognito_identity_id is None and ctx.identity.cognito_identity_pool_id is None
    assert ctx.client_context is None and ctx.tenant_id is None
    assert ctx.memory_limit_in_mb == "512"  # a string in the runtime (from AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
    assert ctx.log_group_name and ctx.log_stream_name and ctx.function_version == "$LATEST"
    assert ctx.invoked_function_arn.endswith(":function:test-function") and ctx.get_remaining_time_in_millis() > 0


def test_an_http_api_authorizer_raw_query_string_is_percent_encoded() -> None:
    from urllib.parse import parse_qs

    event = events.http_api_authorizer(query={"q": "a b&c=d", "name": "café"})
    assert parse_qs(event["rawQueryString"]) == {"q": ["a b&c=d"], "name": ["café"]}


@pytest.mark.parametrize("source", SOURCES)
def test_a_fragment_never_reaches_the_app_as_a_client_never_sends_it(source: str) -> None:
    client = TestClient(_app(), source=source)
    assert client.get("/echo/x?tag=a#top").json()["query"] == {"tag": ["a"]}
    assert client.get("/echo/page#section-2").json()["name"] == "page"


@pytest.mark.parametrize("source", SOURCES)
def test_header_and_query_values_are_sent_as_a_client_writes_them(source: str) -> None:
    app = App()
    app.get("/v")(lambda ctx: {"h": ctx.request.headers.getall("x-a"), "q": dict(ctx.request.query)})
    got = TestClient(app, source=source).get(
        "/v", headers={"X-A": b"caf\xc3\xa9"}, query={"on": True, "off": False, "none": None, "n": 5}
    )
    body = got.json()
    assert body["h"] == ["café"]  # bytes as the text they encode, never "b'caf\\xc3\\xa9'"
    assert body["q"] == {"on": "true", "off": "false", "none": "", "n": "5"}  # as httpx sends them


def test_a_lattice_header_that_is_not_text_is_sent_as_text_in_both_formats() -> None:
    for version in ("1.0", "2.0"):
        event = events.vpc_lattice("GET", "/", headers={"X-N": 5, "X-B": b"\xff"}, version=version)
        values = event["headers"]
        assert {k: values[k] for k in ("x-n", "x-b")} == (
            {"x-n": "5", "x-b": "\xff"} if version == "1.0" else {"x-n": ["5"], "x-b": ["\xff"]}
        )


@pytest.mark.parametrize("source", SOURCES)
def test_a_cookie_no_client_can_send_is_refused_not_split_into_two(source: str) -> None:
    client = TestClient(_app(), source=source)
    with pytest.raises(ValueError, match="';'"):
        client.get("/echo/x", cookies={"session": "a;admin=1"})
    with pytest.raises(ValueError, match="not a token"):
        client.get("/echo/x", cookies={"a=b": "1"})
    # '=' and spaces inside a value are fine: the app gets the value whole
    assert client.get("/echo/x", cookies={"s": "k=v=w"}).json()["cookies"] == {"s": "k=v=w"}


@pytest.mark.parametrize("source", SOURCES)
def test_response_text_follows_the_charset_and_never_raises(source: str) -> None:
    app = App()
    app.get("/latin")(lambda: Response(b"caf\xe9", headers={"Content-Type": "text/plain; charset=ISO-8859-1"}))
    app.get("/png")(lambda: Response.binary(b"\x89PNG\r\n\x1a\n\xff", "image/png"))
    client = TestClient(app, source=source)
    assert client.get("/latin").text == "café"
    png = client.get("/png")
    assert png.body == b"\x89PNG\r\n\x1a\n\xff" and png.text.startswith("\ufffdPNG")


@pytest.mark.parametrize("source", SOURCES)
def test_a_path_without_its_slash_or_a_whole_url_is_sent_as_httpx_sends_it(source: str) -> None:
    client = TestClient(_app(), source=source)
    assert client.get("echo/x?tag=a").json() == client.get("/echo/x?tag=a").json()
    got = client.get("https://api.example.com/echo/y?tag=b#top").json()
    assert (got["name"], got["query"]) == ("y", {"tag": ["b"]})


@pytest.mark.parametrize("source", SOURCES)
def test_repeated_header_and_query_keys_keep_every_value_as_httpx_sends_them(source: str) -> None:
    app = App()
    app.get("/r")(lambda ctx: {"h": ctx.request.headers.getall("x-a"), "q": ctx.request.query.getall("x")})
    client = TestClient(app, source=source, **({"multi_value": True} if source == "alb" else {}))
    pairs = client.get("/r", headers=[("X-A", "1"), ("X-A", "2")], query=[("x", "1"), ("x", "2")]).json()
    cased = client.get("/r", headers={"X-A": "1", "x-a": "2"}).json()
    assert pairs == {"h": ["1", "2"], "q": ["1", "2"]}
    assert cased["h"] == ["1", "2"]


def test_a_lambda_context_for_another_function_names_its_own_log_group() -> None:
    from lift.testing import frozen_lambda_context, lambda_context

    for ctx in (lambda_context(function_name="orders"), frozen_lambda_context(function_name="orders")):
        assert ctx.log_group_name == "/aws/lambda/orders"  # (was /aws/lambda/test-function)
        assert ctx.invoked_function_arn.endswith(":function:orders")
    assert lambda_context().log_group_name == "/aws/lambda/test-function"
    assert lambda_context(log_group_name="/custom/group").log_group_name == "/custom/group"


@pytest.mark.parametrize("source", SOURCES)
def test_response_json_of_a_body_that_is_not_json_names_the_response(source: str) -> None:
    """It raised the app's own BadRequest, "Request body is not valid JSON", about a response."""
    app = App()
    app.get("/t")(lambda: Response.text("hello"))
    app.delete("/d")(lambda: None)
    client = TestClient(app, source=source)
    with pytest.raises(ValueError, match=r"response body is not JSON \(status 200, Content-Type text/plain.*'hello'"):
        client.get("/t").json()
    with pytest.raises(ValueError, match=r"status 204"):
        client.delete("/d").json()
