"""The built-in middleware: request_id, recover, cors, security_headers."""

from __future__ import annotations

import pytest

from lift import App, Context, Response
from lift.errors import Forbidden
from lift.middleware import cors, recover, request_id, security_headers
from lift.middleware.security_headers import DEFAULT_SECURITY_HEADERS
from lift.testing import TestClient, lambda_context

SOURCES = ["rest", "http", "alb", "url"]


def _app(*middleware) -> App:
    app = App()
    app.use(*middleware)

    @app.get("/items")
    def items(ctx: Context) -> dict:
        return {"request_id": ctx.request_id}

    @app.post("/items")
    def create(ctx: Context) -> dict:
        return {}

    @app.get("/fail")
    def fail(ctx: Context) -> None:
        raise RuntimeError("secret detail")

    return app


# -- request_id --------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("header", ["X-Request-Id", "X-Correlation-Id", "x-request-id"])
def test_request_id_taken_from_the_caller_and_echoed(source: str, header: str) -> None:
    res = TestClient(_app(request_id()), source=source).get("/items", headers={header: "abc-123"})
    assert res.json() == {"request_id": "abc-123"}
    assert res.headers["X-Request-Id"] == "abc-123"


def test_request_id_prefers_x_request_id_over_correlation_id() -> None:
    res = TestClient(_app(request_id())).get("/items", headers={"X-Correlation-Id": "corr", "X-Request-Id": "req"})
    assert res.json() == {"request_id": "req"}


@pytest.mark.parametrize("source", SOURCES)
def test_request_id_defaults_to_lambdas_id(source: str) -> None:
    res = TestClient(_app(request_id()), source=source).get("/items", context=lambda_context(aws_request_id="lam-1"))
    assert res.json() == {"request_id": "lam-1"}
    assert res.headers["X-Request-Id"] == "lam-1"


@pytest.mark.parametrize("bad", ["has space", "x" * 200, "new\nline", "<script>"])
def test_malformed_incoming_ids_are_ignored(bad: str) -> None:
    res = TestClient(_app(request_id())).get(
        "/items", headers={"X-Request-Id": bad}, context=lambda_context(aws_request_id="lam-2")
    )
    assert res.headers["X-Request-Id"] == "lam-2"


def test_request_id_in_error_bodies_and_custom_header_name() -> None:
    client = TestClient(_app(request_id(header="X-Trace-Id")))
    res = client.get("/fail", headers={"X-Correlation-Id": "corr-9"})
    assert res.status_code == 500
    assert res.json()["error"]["request_id"] == "corr-9"
    assert res.headers["X-Trace-Id"] == "corr-9"
    missing = client.get("/missing", headers={"X-Request-Id": "nf-1"})
    assert missing.status_code == 404 and missing.headers["X-Trace-Id"] == "nf-1"


# -- recover --------------------------------------------------------------------------------------------


def test_recover_turns_inner_middleware_errors_into_responses_outer_middleware_sees() -> None:
    seen: list[int] = []

    def outer(ctx: Context, call_next):
        response = call_next(ctx)
        seen.append(response.status)
        response.headers["X-Outer"] = "ran"
        return response

    def crashing(ctx: Context, call_next):
        if ctx.headers.get("x-deny"):
            raise Forbidden("denied by policy")
        raise RuntimeError("middleware bug: secret")

    app = App()
    app.use(outer, request_id(), recover(), crashing)
    app.get("/x")(lambda: {"never": True})
    client = TestClient(app)

    res = client.get("/x", headers={"X-Request-Id": "rid-rec"})
    assert res.status_code == 500
    assert "secret" not in res.text
    assert res.json()["error"]["request_id"] == "rid-rec"
    assert res.headers["X-Outer"] == "ran" and res.headers["X-Request-Id"] == "rid-rec"
    denied = client.get("/x", headers={"X-Deny": "1"})
    assert denied.status_code == 403 and denied.json()["error"]["message"] == "denied by policy"
    assert seen == [500, 403]


def test_recover_reraises_for_records() -> None:
    app = App()
    mw = recover()
    ctx = app.new_context({"Records": []}, lambda_context(), "sqs")

    def failing(ctx: Context) -> Response:
        raise ValueError("record failed")

    with pytest.raises(ValueError, match="record failed"):
        mw(ctx, failing)


def test_recover_passes_good_responses_through() -> None:
    res = TestClient(_app(recover())).get("/items")
    assert res.status_code == 200


# -- cors -------------------------------------------------------------------------------------------------


def _preflight(client: TestClient, origin: str, path: str = "/items", method: str = "POST", **headers):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method, **headers})


@pytest.mark.parametrize("source", SOURCES)
def test_cors_preflight_for_an_allowed_origin(source: str) -> None:
    client = TestClient(_app(cors(["https://app.example", "https://admin.example"], max_age=1200)), source=source)
    res = _preflight(client, "https://admin.example")
    assert res.status_code == 204
    assert res.body == b""
    assert res.headers["Access-Control-Allow-Origin"] == "https://admin.example"
    assert "POST" in res.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in res.headers["Access-Control-Allow-Headers"]
    assert res.headers["Access-Control-Max-Age"] == "1200"
    assert "Origin" in res.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in res.headers


def test_cors_preflight_on_a_path_that_does_not_exist() -> None:
    res = _preflight(TestClient(_app(cors(["https://app.example"]))), "https://app.example", path="/nowhere")
    assert res.status_code == 204
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_cors_disallowed_origin_gets_no_cors_headers() -> None:
    client = TestClient(_app(cors(["https://app.example"])))
    pre = _preflight(client, "https://evil.example")
    assert "Access-Control-Allow-Origin" not in pre.headers
    simple = client.get("/items", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200
    assert "Access-Control-Allow-Origin" not in simple.headers
    assert "Origin" in simple.headers["Vary"]


def test_cors_simple_request_headers_and_vary() -> None:
    client = TestClient(_app(cors(["https://app.example"], expose_headers=["X-Request-Id", "ETag"])))
    res = client.get("/items", headers={"Origin": "https://app.example"})
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert res.headers["Access-Control-Expose-Headers"] == "X-Request-Id, ETag"
    assert res.headers["Vary"] == "Origin"
    no_origin = client.get("/items")
    assert "Access-Control-Allow-Origin" not in no_origin.headers
    assert no_origin.headers["Vary"] == "Origin"  # caches must not reuse it for a cross-origin call


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ("Accept-Encoding", "Accept-Encoding, Origin"),
        ("X-Origin-Region", "X-Origin-Region, Origin"),  # (a substring test took it for Origin)
        ("Accept, origin", "Accept, origin"),
    ],
)
def test_cors_keeps_an_existing_vary(vary: str, expected: str) -> None:
    app = App()
    app.use(cors(["https://app.example"]))
    app.get("/v")(lambda: Response.json({}, headers={"Vary": vary}))
    res = TestClient(app).get("/v", headers={"Origin": "https://app.example"})
    assert res.headers["Vary"] == expected


def test_cors_wildcard_without_credentials() -> None:
    client = TestClient(_app(cors("*")))
    res = client.get("/items", headers={"Origin": "https://anyone.example"})
    assert res.headers["Access-Control-Allow-Origin"] == "*"
    pre = _preflight(client, "https://anyone.example")
    assert pre.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_credentials_echo_the_origin_never_star() -> None:
    client = TestClient(_app(cors(["https://app.example"], allow_credentials=True)))
    res = client.get("/items", headers={"Origin": "https://app.example"})
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert res.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in res.headers["Vary"]
    pre = _preflight(client, "https://app.example")
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    other = client.get("/items", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Credentials" not in other.headers


def test_cors_refuses_any_origin_with_credentials() -> None:
    # it echoed every Origin with Allow-Credentials: any site could call with the user's cookies
    with pytest.raises(ValueError, match="allow_credentials"):
        cors("*", allow_credentials=True)
    with pytest.raises(ValueError, match="allow_credentials"):
        cors(["https://app.example", "*"], allow_credentials=True)


@pytest.mark.parametrize(
    "origin",
    ["https://app.example/", "https://App.example", "https://app.example/spa", "app.example", "https://app.example:x"],
)
def test_cors_refuses_an_origin_no_browser_sends(origin: str) -> None:
    # browsers send scheme://host[:port] in lower case: these never matched, so every call was refused in silence
    with pytest.raises(ValueError, match="would never match"):
        cors([origin])


def test_cors_accepts_origins_as_browsers_send_them() -> None:
    client = TestClient(_app(cors(["http://localhost:3000", "http://[::1]:8080", "capacitor://localhost", "null"])))
    for origin in ("http://localhost:3000", "http://[::1]:8080", "capacitor://localhost", "null"):
        assert client.get("/items", headers={"Origin": origin}).headers["Access-Control-Allow-Origin"] == origin


def test_cors_origin_pattern() -> None:
    client = TestClient(_app(cors([], allow_origin_regex=r"https://[a-z0-9-]+\.preview\.example")))
    ok = client.get("/items", headers={"Origin": "https://pr-42.preview.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://pr-42.preview.example"
    for origin in ("https://pr-42.preview.example.evil.com", "http://pr-42.preview.example"):
        assert "Access-Control-Allow-Origin" not in client.get("/items", headers={"Origin": origin}).headers
    assert (
        _preflight(client, "https://x.preview.example").headers["Access-Control-Allow-Origin"]
        == "https://x.preview.example"
    )


def test_cors_wildcard_allow_headers_echoes_the_request() -> None:
    client = TestClient(_app(cors("*", allow_headers=["*"])))
    res = _preflight(client, "https://a.example", **{"Access-Control-Request-Headers": "X-Custom, Content-Type"})
    assert res.headers["Access-Control-Allow-Headers"] == "X-Custom, Content-Type"


def test_cors_wildcard_methods_with_credentials_echo_the_asked_method() -> None:
    """With credentials a browser reads `Access-Control-Allow-Methods: *` as a method named "*" (Fetch
    standard): a PATCH preflight answered `*` failed in the browser. The asked-for method is echoed."""
    credentialed = TestClient(_app(cors(["https://a.example"], allow_methods="*", allow_credentials=True)))
    res = _preflight(credentialed, "https://a.example", method="PATCH")
    assert res.headers["Access-Control-Allow-Methods"] == "PATCH"  # (was "*")
    assert res.headers["Access-Control-Allow-Credentials"] == "true"
    res = _preflight(
        TestClient(_app(cors(["https://a.example"], allow_methods="*"))), "https://a.example", method="PATCH"
    )
    assert res.headers["Access-Control-Allow-Methods"] == "*"  # (without credentials `*` means any method)


def test_cors_adds_headers_to_error_responses() -> None:
    res = TestClient(_app(cors(["https://app.example"]))).get("/fail", headers={"Origin": "https://app.example"})
    assert res.status_code == 500
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"


def _guarded_app(*outer) -> App:
    """`outer` middleware around an inner one that refuses (as auth, tenancy or limits do)."""

    def deny(ctx: Context, call_next):
        raise Forbidden("denied", headers={"X-Why": "policy"})

    app = _app(*outer)
    app.get("/guarded", middleware=[deny])(lambda: {})
    return app


@pytest.mark.parametrize("source", [*SOURCES, "lattice"])
def test_cors_and_security_headers_on_an_error_raised_by_inner_middleware(source: str) -> None:
    # the 403 went past both as an exception: no Access-Control-Allow-Origin (the browser hides the
    # answer from the page) and no security headers
    app = _guarded_app(request_id(), recover(), cors(["https://app.example"]), security_headers())
    res = TestClient(app, source=source).get("/guarded", headers={"Origin": "https://app.example"})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "forbidden"
    assert res.headers["X-Why"] == "policy"
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert res.headers["Vary"] == "Origin"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["X-Request-Id"] == res.json()["error"]["request_id"]


def _shop_app() -> App:
    """cors() on a group, not globally: the way an app opens only its browser-facing routes."""
    app = _app()
    shop = app.group("/shop", middleware=[cors(["https://app.example"], allow_credentials=True), security_headers()])
    shop.get("/cart")(lambda: {"items": 0})
    shop.post("/cart")(lambda: {"added": True})
    return app


PREFLIGHT = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}


@pytest.mark.parametrize("source", [*SOURCES, "lattice"])
def test_cors_on_a_group_answers_the_preflight(source: str) -> None:
    # the automatic OPTIONS answer ran only global middleware: 204 with Allow and no CORS header,
    # so a browser refused every preflighted call (JSON POST, Authorization) to the group
    client = TestClient(_shop_app(), source=source)
    res = client.options("/shop/cart", headers={**PREFLIGHT, "Access-Control-Request-Headers": "content-type"})
    assert res.status_code == 204
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert res.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in res.headers["Access-Control-Allow-Methods"]
    assert res.headers["Vary"] == "Origin"
    outside = client.options("/items", headers=PREFLIGHT)  # a route outside the group: no CORS there
    assert outside.status_code == 204 and "Access-Control-Allow-Origin" not in outside.headers


def test_cors_on_a_group_answers_the_preflight_under_asgi() -> None:
    import asyncio

    import httpx

    async def preflight() -> httpx.Response:
        transport = httpx.ASGITransport(app=_shop_app().asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.options("/shop/cart", headers=PREFLIGHT)

    res = asyncio.run(preflight())
    assert res.status_code == 204
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_plain_options_without_preflight_headers_reaches_routing() -> None:
    res = TestClient(_app(cors("*"))).options("/items", headers={"Origin": "https://a.example"})
    assert res.status_code == 204
    assert "GET" in res.headers["Allow"]


# -- security_headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_security_headers_defaults(source: str) -> None:
    res = TestClient(_app(security_headers()), source=source).get("/items")
    for name, value in DEFAULT_SECURITY_HEADERS.items():
        assert res.headers[name] == value
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=" in res.headers["Strict-Transport-Security"]


def test_security_headers_on_errors_and_404() -> None:
    client = TestClient(_app(security_headers()))
    assert client.get("/fail").headers["X-Frame-Options"] == "DENY"
    assert client.get("/missing").headers["X-Frame-Options"] == "DENY"


def test_security_headers_on_an_error_without_recover() -> None:
    res = TestClient(_guarded_app(security_headers())).get("/guarded")
    assert res.status_code == 403
    assert res.headers["Content-Security-Policy"] == DEFAULT_SECURITY_HEADERS["Content-Security-Policy"]


def test_security_headers_overrides_and_handler_values_win() -> None:
    app = App()
    app.use(security_headers({"X-Frame-Options": None, "Permissions-Policy": "camera=()"}))
    app.get("/page")(lambda: Response.html("<p>x</p>", headers={"content-security-policy": "default-src 'self'"}))
    res = TestClient(app).get("/page")
    assert "X-Frame-Options" not in res.headers
    assert res.headers["Permissions-Policy"] == "camera=()"
    assert res.headers.getall("Content-Security-Policy") == ["default-src 'self'"]


def test_all_four_together() -> None:
    app = _app(request_id(), cors(["https://app.example"]), security_headers(), recover())
    res = TestClient(app).get("/fail", headers={"Origin": "https://app.example", "X-Request-Id": "all-4"})
    assert res.status_code == 500
    assert res.headers["X-Request-Id"] == "all-4"
    assert res.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.json()["error"]["request_id"] == "all-4"
