"""The warm request path's shortcuts: a request object made only when someone reads it, a path
taken as API Gateway's own when the route it matches has the template API Gateway matched, and the
default 404 answered from the router's two one-probe tables. Each must give the answer the full
chain gives (a pass-through middleware forces it)."""

from __future__ import annotations

import msgspec
import pytest

from lift import App, Context
from lift.context import LazyRequestContext, Request
from lift.sources.alb import AlbRequest
from lift.sources.apigw_http import HttpApiRequest
from lift.sources.apigw_rest import RestRequest
from lift.sources.function_url import FunctionUrlRequest
from lift.testing import events, lambda_context

BUILDERS = {
    "rest": lambda m, p, b=None, h=None: events.apigw_rest(m, p, body=b, headers=h),
    "http": lambda m, p, b=None, h=None: events.apigw_http(m, p, body=b, headers=h),
    "url": lambda m, p, b=None, h=None: events.function_url(m, p, body=b, headers=h),
    "alb": lambda m, p, b=None, h=None: events.alb(m, p, body=b, headers=h),
    "alb-multi": lambda m, p, b=None, h=None: events.alb(m, p, body=b, headers=h, multi_value=True),
}
REQUEST_CLASSES = {
    "rest": RestRequest,
    "http": HttpApiRequest,
    "url": FunctionUrlRequest,
    "alb": AlbRequest,
    "alb-multi": AlbRequest,
}
_request_slot = Context.__dict__["request"]  # the field under LazyRequestContext's property


@pytest.mark.parametrize("source", list(REQUEST_CLASSES))
def test_a_handler_that_reads_the_request_late_gets_the_events_own(source: str) -> None:
    app = App(name="items")
    seen: list[Context] = []

    @app.get("/items/{item_id}")
    def get_item(ctx: Context, item_id: str) -> dict:
        seen.append(ctx)
        return {"id": item_id}

    event = BUILDERS[source]("GET", "/items/42", None, {"X-Trace": "abc"})
    answer = app.handler(event, lambda_context())
    assert (answer["statusCode"], msgspec.json.decode(answer["body"])) == (200, {"id": "42"})
    ctx = seen[0]
    assert isinstance(ctx, LazyRequestContext)
    assert _request_slot.__get__(ctx) is None  # the handler never read it: never made
    request = ctx.request
    assert type(request) is REQUEST_CLASSES[source] and request.event is event
    assert (request.method, request.path, request.path_params) == ("GET", "/items/42", {"item_id": "42"})
    assert request.headers["x-trace"] == "abc" and ctx.headers.get("X-Trace") == "abc"
    assert ctx.request is request and ctx.is_http and ctx.route == "/items/{item_id}"
    other = Request(event, "GET", "/elsewhere")
    ctx.request = other
    assert ctx.request is other


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb"])
def test_a_request_made_late_keeps_the_apps_body_limit(source: str) -> None:
    app = App(name="items", max_body_size=8)

    @app.put("/items/{item_id}")
    def put_item(ctx: Context, item_id: str) -> dict:
        return {"id": item_id, "size": len(ctx.body)}

    small = app.handler(BUILDERS[source]("PUT", "/items/1", "12345678"), lambda_context())
    assert (small["statusCode"], msgspec.json.decode(small["body"])) == (200, {"id": "1", "size": 8})
    large = app.handler(BUILDERS[source]("PUT", "/items/1", "123456789"), lambda_context())
    assert large["statusCode"] == 413
    assert msgspec.json.decode(large["body"])["error"]["code"] == "payload_too_large"


def make_users(*, middleware: bool, walked_routes: bool) -> App:
    """Static and one-trailing-parameter routes only (both tables hold every route), or with routes
    only the router's tree walk finds (a parameter mid-path, a greedy tail)."""
    app = App(name="users")
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.get("/users")
    def list_users(ctx: Context) -> list:
        return []

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: str) -> dict:
        return {"id": user_id, "route": ctx.route, "params": ctx.path_params, "path": ctx.path}

    @app.get("/v1/users/{user_id}")
    def get_v1_user(ctx: Context, user_id: str) -> dict:
        return {"v1": user_id}

    if walked_routes:

        @app.get("/teams/{team}/members")
        def members(ctx: Context, team: str) -> dict:
            return {"team": team}

        @app.get("/files/{key+}")
        def get_file(ctx: Context, key: str) -> dict:
            return {"key": key}

    return app


ODD_PATHS = [
    "/users/5",
    "/users",
    "/users/",
    "/users/5/",
    "//users",
    "/users//5",
    "/users/5%2F6",
    "/nothing",
    "/nothing/",
    "/nothing/here",
    "/nothing/here/there",
    "/",
    "/teams/7/members",
    "/teams/7",
    "/files/a/b.txt",
    "/v1/users/5",
    "/users/../x",  # a dot segment: a 400 wherever it is
    "/users/%2e%2e/x",
    '/nothing/a"b\\c',  # the 404's message: JSON-escaped
    "/nothing/\u00e9\u2603",
]


def comparable(answer: dict) -> dict:
    answer = dict(answer)
    if answer.get("body", "").startswith("{") and "request_id" in answer["body"]:
        answer["body"] = msgspec.json.decode(answer["body"])
        answer["body"]["error"]["request_id"] = "-"
    return answer


@pytest.mark.parametrize("walked_routes", [False, True], ids=["tables", "walked"])
@pytest.mark.parametrize("source", list(BUILDERS))
def test_every_path_gets_the_full_chains_answer_with_or_without_routes_the_tables_miss(
    source: str, walked_routes: bool
) -> None:
    direct = make_users(middleware=False, walked_routes=walked_routes)
    full = make_users(middleware=True, walked_routes=walked_routes)
    assert direct.router._tables_complete is not walked_routes
    statuses = set()
    for path in ODD_PATHS:
        for method in ("GET", "HEAD"):
            event = BUILDERS[source](method, path)
            answer = direct.handler(event, lambda_context())
            assert comparable(answer) == comparable(full.handler(event, lambda_context())), (method, path)
            statuses.add(answer["statusCode"])
    assert {200, 400, 404} <= statuses


def test_a_path_without_its_leading_slash_is_routed_as_the_router_reads_it() -> None:
    apps = []
    for middleware in (False, True):
        app = make_users(middleware=middleware, walked_routes=False)
        app.get("/{page}")(lambda ctx, page: {"page": page})  # (a root parameter: the tree walk is asked)
        apps.append(app)
    event = events.apigw_rest("GET", "/users/5")
    event["path"] = "users/5"  # (a hand-made event: AWS always sends the leading slash)
    direct, full = (app.handler(event, lambda_context()) for app in apps)
    assert comparable(direct) == comparable(full) and direct["statusCode"] == 200


def test_a_rest_route_template_spelled_differently_from_the_apis_resource_is_found_on_every_domain() -> None:
    app = make_users(middleware=False, walked_routes=False)
    own = events.apigw_rest("GET", "/users/5", resource="/users/{id}", path_params={"id": "5"})
    answer = app.handler(own, lambda_context())
    assert msgspec.json.decode(answer["body"])["route"] == "/users/{user_id}"
    # a custom domain's base path mapping `v1`: the resource (not the Lift template) tells what to strip
    mapped = events.apigw_rest(
        "GET", "/v1/users/5", resource="/users/{id}", path_params={"id": "5"}, domain="api.example.com"
    )
    body = msgspec.json.decode(app.handler(mapped, lambda_context())["body"])
    assert (body["route"], body["path"], body["params"]) == ("/users/{user_id}", "/users/5", {"user_id": "5"})
    # a custom domain without a mapping: the path is the route's own
    unmapped = events.apigw_rest(
        "GET", "/users/5", resource="/users/{user_id}", path_params={"user_id": "5"}, domain="api.example.com"
    )
    assert msgspec.json.decode(app.handler(unmapped, lambda_context())["body"])["path"] == "/users/5"


def test_an_http_api_named_stage_is_stripped_even_where_a_route_matches_the_raw_path() -> None:
    app = make_users(middleware=False, walked_routes=False)

    @app.get("/prod/users/{user_id}")
    def trap(ctx: Context, user_id: str) -> dict:
        return {"trap": user_id}

    event = events.apigw_http("GET", "/prod/users/5", route_key="GET /users/{user_id}")
    event["requestContext"]["stage"] = "prod"
    event["pathParameters"] = {"user_id": "5"}
    body = msgspec.json.decode(app.handler(event, lambda_context())["body"])
    assert (body["id"], body["route"]) == ("5", "/users/{user_id}")


@pytest.mark.parametrize(
    "route_key", [None, 5, ["GET /users/{user_id}"], {"GET ": 1}, "GET /users/{user_id}", "$default"]
)
def test_an_http_api_route_key_of_any_type_gets_the_full_chains_answer(route_key: object) -> None:
    direct, full = (make_users(middleware=m, walked_routes=False) for m in (False, True))
    event = events.apigw_http("GET", "/users/5", route_key="GET /users/{user_id}")
    event["routeKey"] = route_key
    answer = direct.handler(event, lambda_context())
    assert comparable(answer) == comparable(full.handler(event, lambda_context()))
    assert answer["statusCode"] in (200, 400)


class NewItem(msgspec.Struct):
    name: str
    qty: int


class Paging(msgspec.Struct):
    limit: int = 10


def make_items(*, middleware: bool, seen: list[Context] | None = None, max_body_size: int | None = None) -> App:
    """POST routes with a typed body: one that reads nothing else, one that reads the request
    (headers, query, cookies, the raw body, path parameters) in its handler, one with a typed query."""
    app = App(name="items", max_body_size=max_body_size)
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.post("/items", status=201)
    def create(ctx: Context, body: NewItem) -> dict:
        if seen is not None:
            seen.append(ctx)
        return {"name": body.name, "qty": body.qty}

    @app.post("/items/{item_id}")
    def update(ctx: Context, item_id: str, body: NewItem) -> dict:
        request = ctx.request
        return {
            "id": item_id,
            "name": body.name,
            "params": request.path_params,
            "route": ctx.route,
            "path": request.path,
            "method": request.method,
            "trace": ctx.headers.get("x-trace"),
            "type": request.content_type,
            "page": request.query.get("page"),
            "cookie": request.cookies.get("session"),
            "raw": ctx.body.decode(),
            "text": request.text,
        }

    @app.post("/pages", status=201)
    def page(ctx: Context, body: NewItem, query: Paging) -> dict:
        if seen is not None:
            seen.append(ctx)
        return {"name": body.name, "limit": query.limit}

    return app


def _item_event(source: str, path: str, body: str | None, headers: dict | None, query: dict | None = None) -> dict:
    builders = {
        "rest": lambda: events.apigw_rest("POST", path, body=body, headers=headers, query=query),
        "http": lambda: events.apigw_http("POST", path, body=body, headers=headers, query=query),
        "url": lambda: events.function_url("POST", path, body=body, headers=headers, query=query),
        "alb": lambda: events.alb("POST", path, body=body, headers=headers, query=query),
        "alb-multi": lambda: events.alb("POST", path, body=body, headers=headers, query=query, multi_value=True),
    }
    return builders[source]()


@pytest.mark.parametrize("source", list(REQUEST_CLASSES))
def test_a_typed_body_route_makes_no_request_unless_one_is_read(source: str) -> None:
    seen: list[Context] = []
    app = make_items(middleware=False, seen=seen)
    event = _item_event(source, "/items", '{"name": "nut", "qty": 3}', {"Content-Type": "application/json"})
    for _ in range(2):  # the route's first request, then a prepared one
        answer = app.handler(event, lambda_context())
        assert (answer["statusCode"], msgspec.json.decode(answer["body"])) == (201, {"name": "nut", "qty": 3})
    ctx = seen[-1]
    assert isinstance(ctx, LazyRequestContext)
    # (ALB's multi-value mode has no `headers`: its body's getter reads the request's, which makes it)
    assert (_request_slot.__get__(ctx) is None) is (source != "alb-multi")
    request = ctx.request  # made now, as the full chain makes it
    assert type(request) is REQUEST_CLASSES[source] and request.event is event
    assert (request.method, request.path, ctx.route) == ("POST", "/items", "/items")
    assert msgspec.json.decode(request.body) == {"name": "nut", "qty": 3}


@pytest.mark.parametrize("source", list(REQUEST_CLASSES))
def test_a_typed_body_handler_reading_the_request_gets_the_full_chains_answer(source: str) -> None:
    direct, full = make_items(middleware=False), make_items(middleware=True)
    body = '{"name": "bolt", "qty": 9}'
    headers = {"Content-Type": "application/json", "X-Trace": "t-1", "Cookie": "session=s3; other=o"}
    event = _item_event(source, "/items/42", body, headers, {"page": "2"})
    answers = []
    for _ in range(2):
        answer = direct.handler(event, lambda_context())
        assert comparable(answer) == comparable(full.handler(event, lambda_context()))
        answers.append(answer)
    assert answers[0] == answers[1]
    assert msgspec.json.decode(answers[0]["body"]) == {
        "id": "42",
        "name": "bolt",
        "params": {"item_id": "42"},
        "route": "/items/{item_id}",
        "path": "/items/42",
        "method": "POST",
        "trace": "t-1",
        "type": "application/json",
        "page": "2",
        "cookie": "s3",
        "raw": body,
        "text": body,
    }


def test_a_route_whose_call_reads_the_request_gets_it_made_at_once() -> None:
    seen: list[Context] = []
    app = make_items(middleware=False, seen=seen)
    event = events.apigw_rest(
        "POST",
        "/pages",
        body='{"name": "a", "qty": 1}',
        headers={"Content-Type": "application/json"},
        query={"limit": "5"},
    )
    for _ in range(2):
        answer = app.handler(event, lambda_context())
        assert (answer["statusCode"], msgspec.json.decode(answer["body"])) == (201, {"name": "a", "limit": 5})
    assert type(seen[-1]) is Context and seen[-1].request.query.get("limit") == "5"


def _odd_bodies(ct: str) -> list[tuple[str, object]]:
    """Events the inline decode must leave to the body's getter, each changed from a valid POST
    (`ct`: the Content-Type header's name as the source sends it)."""
    good = '{"name": "nut", "qty": 3}'
    import base64

    encoded = base64.b64encode(good.encode()).decode()
    return [
        ("valid", lambda e: None),
        ("base64", lambda e: e.update(body=encoded, isBase64Encoded=True)),
        ("base64 not valid JSON when read as text", lambda e: e.update(body="MTIz", isBase64Encoded=True)),
        ("base64 flag as text", lambda e: e.update(isBase64Encoded="true")),
        ("no base64 flag", lambda e: e.pop("isBase64Encoded")),
        ("empty body", lambda e: e.update(body="")),
        ("null body", lambda e: e.update(body=None)),
        ("no body", lambda e: e.pop("body", None)),
        ("body not text", lambda e: e.update(body=5)),
        ("long", lambda e: e.update(body='{"name": "' + "n" * 40 + '", "qty": 3}')),
        ("too large", lambda e: e.update(body='{"name": "' + "n" * 160 + '", "qty": 3}')),
        ("null headers", lambda e: e.update(headers=None)),
        ("no headers", lambda e: e.pop("headers", None)),
        ("headers a list", lambda e: e.update(headers=[["Content-Type", "application/json"]])),
        ("headers text", lambda e: e.update(headers="Content-Type: application/json")),
        ("charset", lambda e: e["headers"].update({ct: "application/json; charset=utf-8"})),
        ("+json", lambda e: e["headers"].update({ct: "application/merge-patch+json"})),
        (
            "form",
            lambda e: e.update(body="name=nut&qty=3") or e["headers"].update({ct: "application/x-www-form-urlencoded"}),
        ),
        ("csv", lambda e: e["headers"].update({ct: "text/csv"})),
        ("not JSON", lambda e: e.update(body="{nope")),
        ("invalid", lambda e: e.update(body='{"name": 1}')),
    ]


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb"])
def test_every_body_the_inline_decode_leaves_gets_the_full_chains_answer(source: str) -> None:
    # (a body of 41-160 characters is under the limit in bytes but not surely so in characters)
    direct, full = (make_items(middleware=m, max_body_size=160) for m in (False, True))
    statuses = {}
    ct = "Content-Type" if source == "rest" else "content-type"  # (as each service sends the name)
    for name, change in _odd_bodies(ct):
        event = _item_event(source, "/items", '{"name": "nut", "qty": 3}', {ct: "application/json"})
        change(event)
        answer = direct.handler(event, lambda_context())
        assert comparable(answer) == comparable(full.handler(event, lambda_context())), name
        statuses[name] = answer["statusCode"]
    assert statuses["valid"] == statuses["base64"] == statuses["charset"] == statuses["+json"] == 201
    assert statuses["form"] == 201 and statuses["csv"] == 415 and statuses["not JSON"] == 400
    assert statuses["empty body"] == statuses["null body"] == statuses["invalid"] == 422
    assert statuses["long"] == 201 and statuses["too large"] == 413
