"""App: settings, the Lambda entry point, source registration and composed chains."""

from __future__ import annotations

import json

import pytest

from lift import App, Context, Response
from lift.errors import UnmatchedEvent
from lift.testing import TestClient, events, lambda_context


def test_name_from_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert App(name="users").name == "users"
    monkeypatch.setenv("LIFT_NAME", "from-env")
    assert App().name == "from-env"
    monkeypatch.delenv("LIFT_NAME")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn-name")
    assert App().name == "fn-name"


def test_handler_is_the_lambda_entry_point_and_app_is_callable() -> None:
    app = App()
    app.get("/ping")(lambda: {"pong": True})
    event = events.apigw_rest("GET", "/ping")
    out = app.handler(event, lambda_context())
    assert out["statusCode"] == 200 and json.loads(out["body"]) == {"pong": True}
    assert app(events.apigw_rest("GET", "/ping"), lambda_context())["statusCode"] == 200
    handler = app.handler  # what a Lambda runtime would be pointed at
    assert handler(events.apigw_http("GET", "/ping"), None)["statusCode"] == 200


def test_unmatched_event_raises_a_clear_error_instead_of_succeeding() -> None:
    app = App()
    with pytest.raises(UnmatchedEvent):
        app.handler({"some": "payload"}, lambda_context())


def test_register_source_routes_other_events() -> None:
    app = App()
    calls = []

    def dispatch(event, context, source):
        ctx = app.new_context(event, context, source)
        calls.append((source, ctx.cold_start))
        return {"handled": source}

    app.register_source("invoke", dispatch)
    assert app.handler({"task": "x"}, lambda_context()) == {"handled": "invoke"}
    app.handler({"task": "y"}, lambda_context())
    assert calls == [("invoke", True), ("invoke", False)]


def test_cold_start_is_shared_between_http_and_other_sources() -> None:
    app = App()
    flags = []
    app.register_source(
        "invoke", lambda event, context, source: flags.append(app.new_context(event, context, source).cold_start)
    )
    app.get("/c")(lambda ctx: flags.append(ctx.cold_start))
    app.handler({"x": 1}, None)
    TestClient(app).get("/c")
    assert flags == [True, False]


def test_routes_lists_registered_templates() -> None:
    app = App()
    app.get("/a")(lambda: None)
    app.post("/a")(lambda: None)
    app.get("/b/{id}")(lambda id: None)
    assert sorted(entry.template for entry in app.routes) == ["/a", "/b/{id}"]
    allow = {entry.template: entry.allow for entry in app.routes}
    assert allow["/a"] == "GET, HEAD, OPTIONS, POST"


def test_add_route_returns_an_endpoint() -> None:
    app = App()
    endpoint = app.add_route("/x/{n}", lambda n: {"n": n}, ["PUT"], status=202)
    assert endpoint.template == "/x/{n}" and endpoint.methods == ("PUT",) and endpoint.status == 202
    assert TestClient(app).put("/x/4").status_code == 202


def test_middleware_added_after_routes_applies_to_them() -> None:
    app = App()
    app.get("/a")(lambda: {})

    def tag(ctx: Context, call_next):
        response = call_next(ctx)
        response.headers["X-Tag"] = "late"
        return response

    app.use(tag)
    client = TestClient(app)
    assert client.get("/a").headers["X-Tag"] == "late"
    assert client.get("/missing").headers["X-Tag"] == "late"
    assert client.post("/a").headers["X-Tag"] == "late"


def test_middleware_order_first_is_outermost() -> None:
    app = App()
    order = []

    def make(name: str):
        def mw(ctx: Context, call_next):
            order.append(f"{name}>")
            response = call_next(ctx)
            order.append(f"<{name}")
            return response

        return mw

    app.use(make("a"), make("b"))
    app.get("/x")(lambda: order.append("handler"))
    TestClient(app).get("/x")
    assert order == ["a>", "b>", "handler", "<b", "<a"]


def test_middleware_sees_a_response_for_handler_results_and_errors() -> None:
    app = App()
    seen = []

    def spy(ctx: Context, call_next):
        response = call_next(ctx)
        seen.append((type(response).__name__, response.status))
        return response

    app.use(spy)
    app.get("/ok")(lambda: {"ok": 1})
    app.get("/none")(lambda: None)
    app.get("/err")(lambda: 1 / 0)
    client = TestClient(app)
    for path in ("/ok", "/none", "/err", "/missing"):
        client.get(path)
    assert seen == [("Response", 200), ("Response", 204), ("Response", 500), ("Response", 404)]


def test_handler_decorator_returns_the_function_unchanged() -> None:
    app = App()

    def original(ctx: Context) -> dict:
        return {"direct": True}

    assert app.get("/o")(original) is original
    assert original(None) == {"direct": True}  # still callable in unit tests


def test_group_decorators_for_every_method() -> None:
    app = App()
    api = app.group("/api")
    for verb in ("get", "post", "put", "patch", "delete", "options"):
        getattr(api, verb)("/thing")(lambda ctx: Response.json({"m": ctx.method}))
    api.head("/thing-head")(lambda: Response(None, 200, {"X-H": "1"}))
    client = TestClient(app)
    for verb in ("get", "post", "put", "patch", "delete", "options"):
        assert getattr(client, verb)("/api/thing").json() == {"m": verb.upper()}
    assert client.head("/api/thing-head").headers["X-H"] == "1"


def test_events_are_not_mutated_by_handling() -> None:
    app = App()
    app.post("/x/{id}")(lambda ctx, id: ctx.json())
    event = events.apigw_rest("POST", "/x/1", body='{"a": 1}', headers={"Content-Type": "application/json"})
    snapshot = json.dumps(event, sort_keys=True)
    app.handler(event, lambda_context())
    assert json.dumps(event, sort_keys=True) == snapshot


def test_middleware_returning_a_plain_value_still_gives_a_valid_response() -> None:
    app = App()

    def short_circuit(ctx: Context, call_next):
        if ctx.headers.get("x-maintenance"):
            return {"maintenance": True}
        return call_next(ctx)

    app.use(short_circuit)
    app.get("/x")(lambda: {"ok": True})
    for source in ("rest", "http", "alb", "url"):
        res = TestClient(app, source=source).get("/x", headers={"X-Maintenance": "1"})
        assert res.status_code == 200 and res.json() == {"maintenance": True}


def test_a_sync_app_never_loads_the_async_loop_nor_the_route_conflict_class() -> None:
    """An app of plain `def` handlers serves its requests without importing lift.async_loop or
    lift.route_conflict (made on first use, not by every cold start's `import lift`); an async
    route loads the loop and answers as always, and the names stay where users import them:
    lift.app.run_async / event_loop / HandlerCancelled, lift.routing.RouteConflict."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import json, sys
        from lift import App, Context
        from lift.testing import TestClient

        app = App(name="lazy-parts")

        @app.get("/users/{id}")
        def get_user(ctx: Context, id: int) -> dict:
            return {"id": id}

        client = TestClient(app)
        answers = [client.get("/users/7").status_code, client.get("/nothing").status_code]
        loaded = ["lift.async_loop" in sys.modules, "lift.route_conflict" in sys.modules]

        @app.get("/later/{id}")
        async def later(ctx: Context, id: int) -> dict:
            return {"later": id}

        answer = client.get("/later/3")
        answers += [answer.status_code, answer.json()]
        import lift.app, lift.async_loop, lift.routing
        loaded += ["lift.async_loop" in sys.modules]
        same = [
            lift.app.run_async is lift.async_loop.run_async,
            lift.app.event_loop is lift.async_loop.event_loop,
            lift.app.HandlerCancelled is lift.async_loop.HandlerCancelled,
        ]
        try:
            app.get("/users/{user_id}")(lambda ctx, user_id: {})
        except lift.routing.RouteConflict as exc:
            from lift.routing import RouteConflict
            conflict = [type(exc) is RouteConflict, issubclass(RouteConflict, ValueError), str(exc)]
        print(json.dumps([answers, loaded, same, conflict]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    answers, loaded, same, conflict = json.loads(out.stdout)
    assert answers == [200, 404, 200, {"later": 3}]
    assert loaded == [False, False, True]
    assert same == [True, True, True]
    assert conflict[:2] == [True, True] and "/users/{user_id}" in conflict[2] and "/users/{id}" in conflict[2]
