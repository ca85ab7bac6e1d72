"""The answers made without the middleware chain agree with the chain's, for any path.

An app without middleware answers its direct routes, and the default 404, before a Context exists
(each HTTP source has its own dispatcher, and REST writes the quick 404 out). Those shortcuts must
never change an answer: for any method and path (escapes, dot segments, doubled or missing slashes,
non-ASCII, card-like digits), on every HTTP source, cold and warm, an app without middleware answers
exactly as the same app with a pass-through middleware, with and without a custom not-found handler.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lift import App, Context
from lift.testing import lambda_context
from tests.core.http_events import BUILDERS

SEGMENTS = [
    "users",
    "files",
    "x",
    "..",
    ".",
    "%2e%2e",
    "%2E",
    "a%2fb",
    "%",
    "%zz",
    "",
    "é",
    "%C3%A9",
    "42",
    "-1",
    "a.b",
    "\\",
    "%5c",
    "4111111111111111",
    "users%2f1",
]


def make_app(*, middleware: bool, not_found: bool) -> App:
    app = App(name="agree")
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.get("/users/{id}")
    def get_user(ctx: Context, id: int) -> dict:
        return {"id": id}

    @app.get("/users")
    def list_users(ctx: Context) -> dict:
        return {"all": True}

    @app.post("/users")
    def create_user(ctx: Context) -> dict:
        return {"created": True}

    @app.get("/files/{path+}")
    def read_file(ctx: Context, path: str) -> dict:
        return {"path": path}

    if not_found:

        @app.not_found
        def missing(ctx: Context) -> dict:
            return {"missing": ctx.request.path}

    return app


def answer(app: App, event: dict[str, Any]) -> tuple[int, Any]:
    result = app.handler(event, lambda_context(aws_request_id="req-agree"))
    body = result.get("body")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    return result["statusCode"], parsed


APPS = {
    (middleware, not_found): make_app(middleware=middleware, not_found=not_found)
    for middleware in (False, True)
    for not_found in (False, True)
}

paths = st.builds(
    lambda segments, doubled, relative: ("" if relative else "/") + ("//" if doubled else "/").join(segments),
    st.lists(st.sampled_from(SEGMENTS), min_size=0, max_size=4),
    st.booleans(),
    st.booleans(),
)


@pytest.mark.parametrize("source", list(BUILDERS))
@settings(max_examples=150)
@given(method=st.sampled_from(["GET", "POST", "HEAD", "DELETE", "OPTIONS"]), path=paths)
def test_an_app_without_middleware_answers_as_the_middleware_chain(source: str, method: str, path: str) -> None:
    event = BUILDERS[source](method, path or "/")
    for not_found in (False, True):
        # the apps are shared across examples: every answer below is a warm one after the first
        direct = [answer(APPS[(False, not_found)], event) for _ in range(2)]
        chained = [answer(APPS[(True, not_found)], event) for _ in range(2)]
        assert direct == chained, (source, method, path, not_found)
        assert direct[0][0] < 500, direct  # a client's path is never a server error
