"""The warm request path keeps what it learns about one event for the next (which domain is API
Gateway's own, which is a function URL's): events of every HTTP source and domain, interleaved in
one execution environment, must each get their own answer."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest

from lift import App, Context
from lift.sources.apigw_http import as_sent
from lift.testing import events, lambda_context


class NewUser(msgspec.Struct):
    name: str
    age: int


def make_app() -> App:
    app = App(name="users")

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: int) -> dict:
        return {"id": user_id, "source": ctx.source, "path": ctx.path, "params": ctx.path_params}

    @app.get("/v1/users/{user_id}")
    def get_v1_user(ctx: Context, user_id: int) -> dict:  # what a custom domain's mapping must not reach
        return {"v1": user_id}

    return app


def _on_domain(event: dict, domain: str) -> dict:
    """The event as AWS sends it through a custom domain name (only the domain fields differ)."""
    event["requestContext"]["domainName"] = domain
    event["requestContext"]["domainPrefix"] = domain.split(".")[0]
    return event


def interleaved() -> list[tuple[str, dict, dict]]:
    """(name, event, the answer's body) for every HTTP source, API Gateway's own domains and custom ones."""
    own = {"id": 5, "path": "/users/5", "params": {"user_id": "5"}}
    rest_route = {"resource": "/users/{user_id}", "path_params": {"user_id": "5"}}
    custom_v2 = events.apigw_http("GET", "/v1/users/5", route_key="GET /users/{user_id}")
    custom_v2["pathParameters"] = {"user_id": "5"}
    own_v2 = events.apigw_http("GET", "/users/5", route_key="GET /users/{user_id}")
    own_v2["pathParameters"] = {"user_id": "5"}
    return [
        ("rest", events.apigw_rest("GET", "/users/5", **rest_route), {**own, "source": "rest"}),
        (
            "rest, custom domain",
            events.apigw_rest("GET", "/v1/users/5", domain="api.example.com", **rest_route),
            {**own, "source": "rest"},
        ),
        ("rest, v1 route", events.apigw_rest("GET", "/v1/users/5"), {"v1": 5}),
        ("http", own_v2, {**own, "source": "http"}),
        ("http, custom domain", _on_domain(custom_v2, "api.example.com"), {**own, "source": "http"}),
        ("function url", events.function_url("GET", "/users/5"), {**own, "source": "url"}),
        ("http, $default route", events.apigw_http("GET", "/users/5"), {**own, "source": "http"}),
        ("alb", events.alb("GET", "/users/5"), {**own, "source": "alb"}),
        ("function url, v1 route", events.function_url("GET", "/v1/users/5"), {"v1": 5}),
    ]


@pytest.mark.parametrize("rounds", [2])
def test_interleaved_sources_and_domains_each_get_their_own_answer(rounds: int) -> None:
    app = make_app()
    cases = interleaved()
    for _ in range(rounds):
        for order in (cases, cases[::-1]):
            for name, event, expected in order:
                out = app.handler(event, lambda_context())
                assert out["statusCode"] == 200, (name, out)
                assert json.loads(out["body"]) == expected, name


def test_a_hook_added_on_the_instance_runs_after_every_source() -> None:
    app = make_app()
    seen: list[str] = []
    app.on_invocation_end(lambda event: seen.append("end"))
    for _name, event, _expected in interleaved():
        app.handler(event, lambda_context())
    assert seen == ["end"] * len(interleaved())


def test_a_routes_one_parameter_reaches_every_handler_shape_on_the_direct_path_and_through_middleware() -> None:
    """A route ending in its one parameter hands the handler its raw value directly (`call_tail`)
    and makes `path_params` only when read: every parameter shape must see the same values as
    under a middleware (the full chain), on every HTTP source."""

    def build(app: App) -> App:
        @app.get("/orgs/{slug}")
        def org(ctx: Context, slug: str) -> dict:
            return {"slug": slug, "params": ctx.path_params, "request": ctx.request.path_params}

        @app.get("/teams/{team_id}")
        def team(ctx: Context) -> dict:  # the parameter not taken: still in path_params
            return {"params": ctx.path_params}

        @app.get("/items/{item_id}")
        def item(ctx: Context, *, item_id: int) -> dict:  # keyword-only, converted
            return {"item": item_id}

        @app.get("/bare/{name}")
        def bare(name: str) -> list:  # no ctx at all
            return [name]

        return app

    direct = build(App(name="direct"))
    chained = App(name="chained")
    chained.use(lambda ctx, call_next: call_next(ctx))
    build(chained)
    expected = {
        "/orgs/acme": {"slug": "acme", "params": {"slug": "acme"}, "request": {"slug": "acme"}},
        "/teams/7": {"params": {"team_id": "7"}},
        "/items/12": {"item": 12},
        "/items/x": None,  # 422
        "/bare/ada": ["ada"],
    }
    for build_event in (events.apigw_rest, events.apigw_http, events.function_url, events.alb):
        for path, body in expected.items():
            answers = [app.handler(build_event("GET", path), lambda_context()) for app in (direct, chained)]
            for out in answers:
                if body is None:
                    assert out["statusCode"] == 422, out
                    assert json.loads(out["body"])["error"]["details"][0]["path"] == "$.item_id"
                else:
                    assert out["statusCode"] == 200, out
                    assert json.loads(out["body"]) == body, (build_event.__name__, path)


def test_path_params_set_by_middleware_replace_the_routes_own() -> None:
    app = App(name="users")

    def rewrite(ctx: Context, call_next):
        assert ctx.path_params == {"user_id": "5"}
        ctx.request.path_params = {"user_id": "6"}
        return call_next(ctx)

    @app.get("/users/{user_id}", middleware=[rewrite])
    def get_user(ctx: Context, user_id: int) -> dict:
        return {"id": user_id}

    out = app.handler(events.apigw_rest("GET", "/users/5"), lambda_context())
    assert json.loads(out["body"]) == {"id": 6}


def test_a_typed_body_reads_the_same_on_the_direct_path_and_through_middleware() -> None:
    """The direct path reads a JSON body straight from the event (Binder.call_direct); base64,
    form and mistyped bodies fall back to the general getter: every answer as under middleware."""

    def build(app: App) -> App:
        @app.post("/users", status=201)
        def create(ctx: Context, body: NewUser) -> dict:
            return {"name": body.name, "age": body.age}

        @app.put("/users/{user_id}")
        def replace(user_id: int, body: NewUser) -> dict:
            return {"id": user_id, "name": body.name}

        return app

    direct, chained = build(App(name="direct")), App(name="chained")
    chained.use(lambda ctx, call_next: call_next(ctx))
    build(chained)
    text = '{"name": "Ada", "age": 36}'
    cases = [
        ("POST", "/users", {"body": text, "headers": {"Content-Type": "application/json"}}, 201),
        ("POST", "/users", {"body": text, "is_base64": True}, 201),  # (the builder encodes it)
        (
            "POST",
            "/users",
            {"body": "name=Ada&age=36", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
            201,
        ),
        ("POST", "/users", {"body": text, "headers": {"Content-Type": "text/csv"}}, 415),
        ("POST", "/users", {"body": '{"name": 5}', "headers": {"Content-Type": "application/json"}}, 422),
        ("PUT", "/users/3", {"body": text, "headers": {"Content-Type": "application/json; charset=utf-8"}}, 200),
    ]
    for build_event in (events.apigw_rest, events.apigw_http, events.function_url, events.alb):
        for method, path, options, status in cases:
            answers = [app.handler(build_event(method, path, **options), lambda_context()) for app in (direct, chained)]
            assert [a["statusCode"] for a in answers] == [status, status], (build_event.__name__, method, options)
            bodies = [json.loads(a["body"]) for a in answers]
            for body in bodies:
                body.get("error", {}).pop("request_id", None)
            assert bodies[0] == bodies[1]


def test_the_quick_404_follows_every_change_of_the_lift_loggers_level(caplog: pytest.LogCaptureFixture) -> None:
    """The default 404 skips its INFO line through logging's own cache of the level: a level
    set later (which clears that cache) is obeyed on the next request, and a disabled logger
    still gets its 404 answered without a line."""
    app = make_app()
    event = events.apigw_rest("GET", "/nothing/here")
    lines = []
    for level in (logging.WARNING, logging.INFO, logging.WARNING, logging.INFO):
        caplog.clear()
        with caplog.at_level(level, logger="lift"):
            out = app.handler(event, lambda_context())
        assert out["statusCode"] == 404 and json.loads(out["body"])["error"]["code"] == "not_found"
        lines.append([r.getMessage() for r in caplog.records if r.name == "lift"])
    assert lines[0] == [] and lines[2] == []
    assert (
        [len(lines[1]), len(lines[3])] == [1, 1] and "404 not_found" in lines[1][0] and "404 not_found" in lines[3][0]
    )
    logger = logging.getLogger("lift")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lift"):
        logger.disabled = True
        try:
            out = app.handler(event, lambda_context())
        finally:
            logger.disabled = False
    assert out["statusCode"] == 404 and not [r for r in caplog.records if r.name == "lift"]


def not_found_cases() -> list[tuple[str, dict]]:
    """404s of every HTTP source, API Gateway's own domains and custom ones (a base path mapping
    strips "/v2": its 404 names the path the route table saw), HEAD, a card number in the path."""
    mapped = events.apigw_rest("GET", "/v2/nothing", domain="api.example.com", path_params={"proxy": "nothing"})
    mapped_v2 = _on_domain(events.apigw_http("GET", "/v2/nothing", route_key="ANY /{proxy+}"), "api.example.com")
    mapped_v2["pathParameters"] = {"proxy": "nothing"}
    return [
        ("rest", events.apigw_rest("GET", "/nothing/here")),
        ("rest, custom domain", mapped),
        ("rest, HEAD", events.apigw_rest("HEAD", "/nothing/here")),
        ("rest, card", events.apigw_rest("GET", "/pay/4111111111111111")),
        ("rest, named stage route", events.apigw_rest("GET", "/users/5/more", resource="/users/{user_id}/more")),
        ("http", events.apigw_http("GET", "/nothing/here")),
        ("http, custom domain", mapped_v2),
        ("http, named stage", events.apigw_http("GET", "/nothing/here", stage="beta")),
        ("function url", events.function_url("GET", "/nothing/here")),
        ("function url, card", events.function_url("GET", "/pay/4111-1111-1111-1111")),
        ("alb", events.alb("GET", "/nothing/here")),
        ("alb, multi-value headers", events.alb("GET", "/nothing/here", multi_value=True)),
    ]


@pytest.mark.parametrize("with_context", [True, False], ids=["lambda context", "no context"])
def test_interleaved_404s_answer_as_each_event_alone_on_a_fresh_app(with_context: bool) -> None:
    """A warm execution environment answers a 404 from what it learnt of earlier events (the last
    domain seen, the logger's level): interleaved, each event of every source and domain gets the
    answer a fresh app gives it as its first request."""
    context = lambda_context() if with_context else None
    cases = not_found_cases()
    alone = {name: make_app().handler(event, context) for name, event in cases}
    warm = make_app()
    for _ in range(2):
        for order in (cases, cases[::-1]):
            for name, event in order:
                out = warm.handler(event, context)
                expected = alone[name]
                assert out["statusCode"] == expected["statusCode"] == 404, (name, out)
                body, expected_body = json.loads(out["body"] or "{}"), json.loads(expected["body"] or "{}")
                if not with_context:  # (a request id of its own each time)
                    body.get("error", {}).pop("request_id", None)
                    expected_body.get("error", {}).pop("request_id", None)
                assert body == expected_body, name
                assert {k: v for k, v in out.items() if k != "body"} == {
                    k: v for k, v in expected.items() if k != "body"
                }, name
    messages = {name: json.loads(alone[name]["body"] or "{}").get("error", {}).get("message") for name, _ in cases}
    assert messages["rest"] == "No route for GET /nothing/here"
    assert messages["rest, custom domain"] == messages["http, custom domain"] == "No route for GET /nothing"
    assert "4111111111111111" not in str(messages) and "4111-1111-1111-1111" not in str(messages)


def test_a_handler_reached_through_a_base_path_mapping_runs_once_whatever_fails_after_it() -> None:
    """A custom domain's request whose path only matches once the mapping's prefix is stripped is
    answered by its route once: a TypeError after the handler returned (a result JSON cannot
    encode) is its 500, never taken for a domain that failed to read (which ran the handler again)."""
    app = make_app()
    calls = []

    @app.get("/boom")
    def boom(ctx: Context) -> object:
        calls.append(ctx.path)
        return object()

    for seen in range(2):  # (the second: the domain is known)
        event = events.apigw_rest("GET", "/v2/boom", resource="/boom", path_params=None, domain="api.example.com")
        out = app.handler(event, lambda_context())
        assert out["statusCode"] == 500, out
        assert calls == ["/boom"] * (seen + 1)


ODD_PATHS = ['/say/"hi"', "/back\\slash/x", "/caf\u00e9/cr\u00e8me", "/emoji/\U0001f600", "/tab\tand\u2028line"]


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb"])
def test_the_quick_404_writes_the_same_text_as_the_middleware_chain(source: str) -> None:
    """The default 404 answered inline (no middleware, INFO off, a Lambda context) is written around
    its encoded message and request id; its body is the very text the full chain's 404 encodes, for
    paths JSON must escape and paths outside ASCII too."""
    build = {"rest": events.apigw_rest, "http": events.apigw_http, "url": events.function_url, "alb": events.alb}
    direct, chained = make_app(), make_app()
    chained.use(lambda ctx, call_next: call_next(ctx))
    context = lambda_context()
    for path in ODD_PATHS:
        event = build[source]("GET", path)
        sent = event.get("rawPath", event.get("path"))  # (function URL events carry it escaped; an HTTP
        if source == "http":  # API's, decoded by API Gateway, is escaped again as a client would send it)
            sent = as_sent(sent)
        quick = direct.handler(event, context)
        full = chained.handler(build[source]("GET", path), context)
        assert quick["statusCode"] == full["statusCode"] == 404, path
        assert quick["body"] == full["body"], path  # (the same characters, escapes included)
        error = json.loads(quick["body"])["error"]
        assert error == {
            "code": "not_found",
            "message": f"No route for GET {sent}",
            "request_id": context.aws_request_id,
            "details": None,
        }


EDGE_REQUESTS = [
    ("GET", "//users/5"),  # a leading "//": the router strips it and finds /users/{user_id}
    ("GET", "users/5"),  # no leading "/": the same route
    ("GET", "/nothing//here"),
    ("GET", "/users/./5"),  # a dot segment: refused (400)
    ("GET", "/users/%2e%2e/5"),
    ("HEAD", "/nothing/here"),  # a HEAD's 404 has no body
    ("GET", "/nothing/here"),
]


@pytest.mark.parametrize(("method", "path"), EDGE_REQUESTS)
def test_rests_inline_404_answers_only_where_the_router_would_find_nothing(method: str, path: str) -> None:
    """REST's dispatcher answers the default 404 before any Context is made, with quick_404's tests
    written out; a path the router's full lookup reads differently (a leading or doubled "/", no
    leading "/", a dot segment, HEAD) gets the answer the middleware chain gives it."""
    direct, chained = make_app(), make_app()
    chained.use(lambda ctx, call_next: call_next(ctx))
    context = lambda_context()
    for app in (direct, chained):  # (a first 404 teaches the dispatcher API Gateway's own domain)
        assert app.handler(events.apigw_rest("GET", "/warm/up"), context)["statusCode"] == 404
    quick = direct.handler(events.apigw_rest(method, path), context)
    full = chained.handler(events.apigw_rest(method, path), context)
    assert quick["statusCode"] == full["statusCode"], (path, quick, full)
    assert quick["body"] == full["body"], path
