"""A path with a `.` or `..` segment (also percent-encoded) is refused with a 400 before any handler runs.

A greedy `{proxy+}` parameter (and a plain one, once `%2f` is decoded) would otherwise hand the handler
`../../etc/passwd`. Every HTTP source (VPC Lattice too), with and without middleware, and ASGI; `lift dev` is in
tests/dev/test_http.py.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from lift import App, Context
from lift.testing import events, lambda_context
from tests.core.asgi_get import asgi_get
from tests.core.http_events import BUILDERS

SOURCES = ["rest", "http", "alb", "url"]

TRAVERSALS = [
    "/files/../secret",
    "/files/a/../../etc/passwd",
    "/files/./x",
    "/files/a/..",
    "/files/%2e%2e/secret",
    "/files/%2E%2e/secret",
    "/files/.%2e/secret",
    "/files/%2e/x",
    "/files/..%2f..%2fetc%2fpasswd",
    "/files/a%2f..%2f..%2fetc",
    "/files/%252e%252e/secret",
    "/files/..%5c..%5cwindows",
    "/users/..",
    "/users/.",
    "/users/%2e%2e",
    "/users/..%2fadmin",
    "/users/../users/1",
    "/nowhere/../users/1",
    "/a/../b/1",
]
FINE = {
    "/files/.hidden/a.txt": {"path": ".hidden/a.txt"},
    "/files/v1.2/notes..txt": {"path": "v1.2/notes..txt"},
    "/files/...": {"path": "..."},
    "/users/.profile": {"user": ".profile"},
    "/users/ada.lovelace@example.com": {"user": "ada.lovelace@example.com"},
    "/users/%2e%2ex": {"user": "..x"},
}


def tag(ctx: Context, call_next):
    response = call_next(ctx)
    response.headers["X-Tag"] = "seen"
    return response


def make_app(calls: list[str], *, middleware: bool) -> App:
    app = App(name="paths")
    if middleware:
        app.use(tag)

    @app.get("/files/{path+}")
    def read_file(ctx: Context, path: str) -> dict:
        calls.append(path)
        return {"path": path}

    @app.get("/users/{user_id}")
    def user(ctx: Context, user_id: str) -> dict:
        calls.append(user_id)
        return {"user": user_id}

    @app.not_found
    def not_found(ctx: Context) -> dict:
        calls.append("not_found")
        return {"missing": ctx.request.path}

    return app


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", [*SOURCES, "lattice"])
def test_dot_segments_are_a_400_before_any_handler_runs(source: str, middleware: bool, caplog) -> None:
    caplog.set_level(logging.INFO, logger="lift")
    calls: list[str] = []
    app = make_app(calls, middleware=middleware)
    for path in TRAVERSALS:
        caplog.clear()
        result = app.handler(BUILDERS[source]("GET", path), lambda_context(aws_request_id="req-dots"))
        assert result["statusCode"] == 400, (path, result)
        error = json.loads(result["body"])["error"]
        assert error["code"] == "bad_request" and error["request_id"] == "req-dots"
        assert error["message"] == "Path segments '.' and '..' are not allowed (also percent-encoded)"
        lines = [r for r in caplog.records if r.name == "lift"]
        assert [r.levelname for r in lines] == ["INFO"] and "req-dots" in lines[0].getMessage()
        if middleware:  # global middleware still runs around it, as for a 404 (CORS headers, ...)
            headers = result.get("headers") or {k: v[0] for k, v in result["multiValueHeaders"].items()}
            assert headers["X-Tag"] == "seen"
    assert calls == []


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", [*SOURCES, "lattice"])
def test_dot_segments_under_a_prefix_no_route_has_are_a_400_with_the_default_404_too(
    source: str, middleware: bool
) -> None:
    """With the default not-found answer, a path no route starts with is answered before a Context is made; a
    dot segment there is still the 400 the middleware chain gives (it was a 404 without middleware)."""
    app = App(name="paths")
    if middleware:
        app.use(tag)

    @app.get("/users/{user_id}")
    def user(ctx: Context, user_id: str) -> dict:
        return {"user": user_id}

    for path in ("/nothing/%2e%2e", "/nothing/..", "/nothing/./x", "/nowhere/../users/1", "/a/%2E%2e/b"):
        for _ in range(3):  # cold and warm dispatchers answer alike
            result = app.handler(BUILDERS[source]("GET", path), lambda_context(aws_request_id="req-dots"))
            assert result["statusCode"] == 400, (path, result)
            assert json.loads(result["body"])["error"]["code"] == "bad_request"
    result = app.handler(BUILDERS[source]("GET", "/nothing/x.y"), lambda_context())
    assert result["statusCode"] == 404  # a dot inside a segment is no dot segment


@pytest.mark.parametrize("base", ["", "/v1"], ids=["unmapped", "mapped"])
def test_dot_segments_on_a_custom_domain_are_a_400_too(base: str) -> None:
    """A REST API behind a custom domain (with or without a base path mapping): the route is found again
    after the source strips the mapping, and a `..` trailing parameter is refused there too."""
    calls: list[str] = []
    app = make_app(calls, middleware=False)
    for last in ("..", "."):
        event = events.apigw_rest(
            "GET",
            f"{base}/users/{last}",
            resource="/users/{user_id}",
            path_params={"user_id": last},
            domain="api.example.com",
        )
        result = app.handler(event, lambda_context(aws_request_id="req-domain"))
        assert result["statusCode"] == 400, (base, last, result)
        assert json.loads(result["body"])["error"]["code"] == "bad_request"
    assert calls == []


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", SOURCES)
def test_dots_that_are_not_whole_segments_still_route(source: str, middleware: bool) -> None:
    calls: list[str] = []
    app = make_app(calls, middleware=middleware)
    for path, expected in FINE.items():
        result = app.handler(BUILDERS[source]("GET", path), lambda_context())
        assert result["statusCode"] == 200, (path, result)
        assert json.loads(result["body"]) == expected


def test_a_template_with_a_dot_segment_is_refused_at_registration() -> None:
    app = App()
    for template in ("/files/../x", "/a/./b", "/.."):
        with pytest.raises(ValueError, match="segment"):
            app.get(template)(lambda: {})
    app.get("/files/v1.0/x")(lambda: {})  # a dot inside a segment is fine


def test_has_dot_segment_decodes_escapes_and_escaped_escapes() -> None:
    from lift.routing import has_dot_segment

    assert all(has_dot_segment(path) for path in TRAVERSALS)
    assert not any(has_dot_segment(path) for path in FINE)
    assert has_dot_segment("/a/%25252e%25252e/b")  # three levels of escapes
    assert not has_dot_segment("/tags/50%25off") and not has_dot_segment("/q/%zz/x")


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_asgi_refuses_dot_segments_too(middleware: bool) -> None:
    calls: list[str] = []
    app = make_app(calls, middleware=middleware)

    async def go() -> list[tuple[int, dict]]:
        return [await asgi_get(app, path.encode()) for path in [*TRAVERSALS, *FINE]]

    answers = asyncio.run(go())
    for path, (status, body) in zip(TRAVERSALS, answers, strict=False):
        assert status == 400 and body["error"]["code"] == "bad_request", (path, body)
    assert [body for _, body in answers[len(TRAVERSALS) :]] == list(FINE.values())
    assert calls == [body.get("path") or body.get("user") for body in FINE.values()]


@pytest.mark.parametrize("source", SOURCES)
def test_without_middleware_or_a_not_found_handler_a_dot_segment_is_still_a_400(source: str) -> None:
    """The default 404 answered before a Context is made (no route starts with the path's first segment)
    does not change the answer: a dot segment is a 400 there too, as the middleware chain answers it."""
    calls: list[str] = []
    app = App(name="plain")

    @app.get("/files/{path+}")
    def read_file(path: str) -> dict:
        calls.append(path)
        return {"path": path}

    for path, status in (
        ("/../etc/passwd", 400),
        ("/nope/../files/x", 400),
        ("/files/../../etc/passwd", 400),
        ("/nope/x", 404),
    ):
        result = app.handler(BUILDERS[source]("GET", path), lambda_context())
        assert result["statusCode"] == status, (path, result)
    assert calls == []
