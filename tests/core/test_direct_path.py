"""A route without middleware answers through a direct path (no Response object in between):
every answer must be the one the full path gives, which a pass-through middleware forces."""

from __future__ import annotations

import msgspec
import pytest

from lift import App, Context, Response
from lift.errors import Conflict, NotFound
from lift.testing import events, lambda_context


class NewUser(msgspec.Struct):
    name: str
    age: int


def make_app(*, middleware: bool) -> App:
    app = App(name="users")
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.get("/users")
    def list_users(ctx: Context) -> list:
        return [{"id": 1}]

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: int) -> dict:
        if user_id == 409:
            raise Conflict("taken")
        if user_id == 500:
            raise RuntimeError("boom")
        if user_id == 7:
            return Response.text("seven", headers={"X-Seven": "1"})
        return {"id": user_id, "route": ctx.route, "params": ctx.path_params}

    @app.post("/users", status=201)
    def create_user(ctx: Context, body: NewUser) -> dict:
        return {"name": body.name, "age": body.age}

    @app.get("/files/{path+}")
    def get_file(ctx: Context, path: str) -> dict:
        return {"path": path}

    return app


def requests():
    body = '{"name": "Ada", "age": 36}'
    json_headers = {"Content-Type": "application/json"}
    cases = [
        ("GET", "/users", None, None),
        ("GET", "/users/42", None, None),
        ("GET", "/users/42/", None, None),
        ("GET", "/users/abc", None, None),  # 422: not an int
        ("GET", "/users/409", None, None),
        ("GET", "/users/500", None, None),
        ("GET", "/users/7", None, None),
        ("HEAD", "/users/42", None, None),
        ("DELETE", "/users/42", None, None),  # 405
        ("GET", "/nothing/here", None, None),  # 404 (no template starts with "nothing")
        ("HEAD", "/nothing/here", None, None),
        ("GET", "/users/1/2/3", None, None),  # 404 after the tree walk
        ("GET", "//nothing", None, None),  # an empty first segment: the tree decides, not the quick 404
        ("GET", "/", None, None),  # no root route: 404
        ("GET", "/files/a/b.txt", None, None),
        ("POST", "/users", body, json_headers),
        ("POST", "/users", '{"name": 1}', json_headers),  # 422, every problem
        ("POST", "/users", "{not json", json_headers),  # 400
        ("POST", "/users", "", json_headers),  # 422: body required
        ("POST", "/users", body, {"Content-Type": "text/csv"}),  # 415
        ("POST", "/users", "name=Ada&age=36", {"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    builders = {
        "rest": lambda m, p, b, h: events.apigw_rest(m, p, body=b, headers=h),
        "http": lambda m, p, b, h: events.apigw_http(m, p, body=b, headers=h),
        "url": lambda m, p, b, h: events.function_url(m, p, body=b, headers=h),
        "alb": lambda m, p, b, h: events.alb(m, p, body=b, headers=h),
        "alb-multi": lambda m, p, b, h: events.alb(m, p, body=b, headers=h, multi_value=True),
    }
    for source, build in builders.items():
        for method, path, body_text, headers in cases:
            yield pytest.param(source, build, method, path, body_text, headers, id=f"{source} {method} {path}")


def comparable(answer: dict) -> dict:
    answer = dict(answer)
    if answer.get("body", "").startswith("{") and "request_id" in answer["body"]:
        answer["body"] = msgspec.json.decode(answer["body"])
        answer["body"]["error"]["request_id"] = "-"
    return answer


DIRECT, FULL = make_app(middleware=False), make_app(middleware=True)


@pytest.mark.parametrize(("source", "build", "method", "path", "body", "headers"), list(requests()))
def test_the_direct_path_answers_exactly_as_the_full_chain(source, build, method, path, body, headers):
    event = build(method, path, body, headers)
    direct = DIRECT.handler(event, lambda_context())
    full = FULL.handler(event, lambda_context())
    assert comparable(direct) == comparable(full)
    assert 200 <= direct["statusCode"] < 600


def test_a_route_takes_the_full_chain_once_middleware_is_added_later():
    app = make_app(middleware=False)
    event = events.apigw_rest("GET", "/users/42")
    assert app.handler(event, lambda_context())["headers"] == {"Content-Type": "application/json"}

    def tag(ctx, call_next):
        response = call_next(ctx)
        response.headers["X-Tag"] = "yes"
        return response

    app.use(tag)
    assert app.handler(event, lambda_context())["headers"]["X-Tag"] == "yes"
    missing = app.handler(events.apigw_rest("GET", "/nothing/here"), lambda_context())
    assert missing["statusCode"] == 404 and missing["headers"]["X-Tag"] == "yes"


def test_a_card_number_in_an_error_body_is_masked_on_every_path():
    app = make_app(middleware=False)
    answer = app.handler(events.apigw_rest("GET", "/users/4111111111111111x"), lambda_context())
    assert answer["statusCode"] == 422
    assert "4111111111111111" not in answer["body"] and "411111******1111" in answer["body"]


def test_an_exception_handler_added_after_a_404_answers_the_next_ones():
    app = make_app(middleware=False)
    event = events.apigw_rest("GET", "/nothing/here")
    assert app.handler(event, lambda_context())["statusCode"] == 404

    @app.exception_handler(NotFound)
    def missing(ctx: Context, exc: NotFound) -> Response:
        return Response.json({"custom": type(exc).__name__}, status=404)

    answer = app.handler(event, lambda_context())
    assert (answer["statusCode"], msgspec.json.decode(answer["body"])) == (404, {"custom": "NotFound"})


def test_the_default_404_logs_its_line_when_info_is_enabled(caplog: pytest.LogCaptureFixture):
    app = make_app(middleware=False)
    context = lambda_context()
    with caplog.at_level("INFO", logger="lift"):
        answer = app.handler(events.apigw_rest("GET", "/nothing/here"), context)
    assert answer["statusCode"] == 404
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert context.aws_request_id in caplog.records[0].getMessage()


def test_a_subclass_keeps_its_own_handler_and_hooks_added_during_a_request_run_at_its_end():
    class Counting(App):
        calls = 0

        def handler(self, event, context=None):
            Counting.calls += 1
            return super().handler(event, context)

    app = Counting()
    app.get("/ping")(lambda: {"ok": True})
    assert app.handler(events.apigw_rest("GET", "/ping"), lambda_context())["statusCode"] == 200
    assert Counting.calls == 1

    plain = App()
    ended = []

    @plain.get("/hook")
    def hook() -> dict:
        plain.on_invocation_end(ended.append)  # added while the first request runs
        return {}

    event = events.apigw_rest("GET", "/hook")
    plain.handler(event, lambda_context())
    assert ended == [event]


@pytest.mark.parametrize("source", ["http", "url", "alb"])
def test_a_hook_added_during_a_request_runs_at_its_end_on_every_http_source(source):
    """App.handler calls the HTTP API's, a function URL's and an ALB's dispatchers at once, as REST's:
    the invocation hooks still run after each, even one added while the request runs."""
    build = {"http": events.apigw_http, "url": events.function_url, "alb": events.alb}[source]
    app = App()
    ended = []

    @app.get("/hook")
    def hook(ctx: Context) -> dict:
        app.on_invocation_end(ended.append)
        return {"source": ctx.source}

    first, second = build("GET", "/hook"), build("GET", "/hook")
    assert msgspec.json.decode(app.handler(first, lambda_context())["body"]) == {"source": source}
    app.handler(second, lambda_context())
    assert ended == [first, second]


@pytest.mark.parametrize("source", ["rest", "http", "alb"])
def test_the_default_404_without_a_lambda_context_takes_the_events_request_id(source):
    build = {"rest": events.apigw_rest, "http": events.apigw_http, "alb": events.alb}[source]
    event = build("GET", "/nothing/here")
    answer = make_app(middleware=False).handler(event, None)
    assert answer["statusCode"] == 404
    error = msgspec.json.decode(answer["body"])["error"]
    expected = (event.get("requestContext") or {}).get("requestId")
    assert error["message"] == "No route for GET /nothing/here"
    if expected:  # API Gateway's id; an ALB event has none: a fresh UUID then
        assert error["request_id"] == expected
    else:
        assert len(error["request_id"]) == 36


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb", "alb-multi"])
def test_the_body_content_type_is_read_in_any_spelling_on_the_direct_path(source):
    """The direct path probes the event's headers for `Content-Type` and `content-type` before the
    case-insensitive lookup: every other spelling, and every type that is not exactly
    `application/json`, still gets the answer the full chain gives."""
    build = {
        "rest": lambda m, p, b, h: events.apigw_rest(m, p, body=b, headers=h),
        "http": lambda m, p, b, h: events.apigw_http(m, p, body=b, headers=h),
        "url": lambda m, p, b, h: events.function_url(m, p, body=b, headers=h),
        "alb": lambda m, p, b, h: events.alb(m, p, body=b, headers=h),
        "alb-multi": lambda m, p, b, h: events.alb(m, p, body=b, headers=h, multi_value=True),
    }[source]
    good, bad = '{"name": "Ada", "age": 36}', '{"age": "old"}'
    cases = [
        (good, {"content-type": "application/json"}, 201),
        (good, {"Content-type": "application/json"}, 201),
        (good, {"CONTENT-TYPE": "application/json; charset=utf-8"}, 201),
        (good, {"content-type": "application/problem+json"}, 201),
        (good, {"CONTENT-TYPE": "text/csv"}, 415),
        (good, {"Content-type": "application/xml"}, 415),
        (good, {"content-type": "text/csv"}, 415),
        (good, {}, 201),  # no Content-Type: read as JSON
        (bad, {"content-type": "application/json"}, 422),
        (bad, {"CONTENT-TYPE": "application/json"}, 422),
        ("{not json", {"Content-type": "application/json"}, 400),
    ]
    for body, headers, status in cases:
        event = build("POST", "/users", body, headers)
        direct = DIRECT.handler(event, lambda_context())
        full = FULL.handler(event, lambda_context())
        assert direct["statusCode"] == status, (headers, direct)
        assert comparable(direct) == comparable(full)
        if status == 422:
            paths = [d["path"] for d in msgspec.json.decode(direct["body"])["error"]["details"]]
            assert paths == ["$.name", "$.age"]


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb"])
def test_an_exception_handler_gets_the_invalid_body_error_raised_as_on_the_full_path(source, caplog):
    """A handler for ValidationFailed (or BadRequest) that logs the error with `exc_info` gets a traceback
    on the direct path too: the error is raised, chained (suppressed) to msgspec's decode error, as the
    full path raises it."""
    import logging

    from lift.errors import BadRequest, ValidationFailed

    build = {"rest": events.apigw_rest, "http": events.apigw_http, "url": events.function_url, "alb": events.alb}[
        source
    ]
    log = logging.getLogger("tests.invalid_body")
    seen: dict[bool, list[BaseException]] = {}
    for middleware in (False, True):
        app = make_app(middleware=middleware)
        got = seen[middleware] = []

        def on_error(ctx: Context, exc: BaseException, got: list = got) -> Response:
            got.append(exc)
            log.warning("refused %s", type(exc).__name__, exc_info=exc)
            return Response.json({"refused": type(exc).__name__}, status=400)

        app.exception_handler(ValidationFailed)(on_error)
        app.exception_handler(BadRequest)(on_error)
        for text in ('{"name": 1, "age": "x"}', "{not json"):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="tests.invalid_body"):
                answer = app.handler(
                    build("POST", "/users", body=text, headers={"Content-Type": "application/json"}), lambda_context()
                )
            assert answer["statusCode"] == 400, answer
            (record,) = [r for r in caplog.records if r.name == "tests.invalid_body"]
            formatted = logging.Formatter().format(record)
            assert "Traceback (most recent call last)" in formatted, (middleware, formatted)
    for direct, full in zip(seen[False], seen[True], strict=True):
        assert type(direct) is type(full) and type(direct) in (ValidationFailed, BadRequest)
        assert direct.__traceback__ is not None and full.__traceback__ is not None
        assert type(direct.__context__) is type(full.__context__)
        assert isinstance(direct.__context__, msgspec.ValidationError | msgspec.DecodeError)
        assert direct.__suppress_context__ and full.__suppress_context__
        assert direct.__cause__ is None and full.__cause__ is None
        assert (direct.message, direct.details) == (full.message, full.details)


@pytest.mark.parametrize("text", ['{"name": 1, "age": "x"}', "{not json"], ids=["invalid", "malformed"])
def test_the_raised_invalid_body_error_leaves_no_reference_cycle_behind(text):
    """Raised for an exception handler, the error's traceback holds no frame that refers back to it:
    each request's error is freed at once, not left to the cyclic garbage collector."""
    import gc

    from lift.errors import BadRequest, ValidationFailed

    app = make_app(middleware=False)
    app.exception_handler(ValidationFailed)(lambda ctx, exc: Response.json({"refused": True}, status=400))
    app.exception_handler(BadRequest)(lambda ctx, exc: Response.json({"refused": True}, status=400))
    event = events.apigw_rest("POST", "/users", body=text, headers={"Content-Type": "application/json"})
    for _ in range(3):
        assert app.handler(event, lambda_context())["statusCode"] == 400
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            app.handler(event, lambda_context())
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_an_http_api_event_answers_the_same_through_app_handler_and_a_subclass_handler():
    """App.handler tells the HTTP API dispatcher when the domain is API Gateway's own; called without
    that (a subclass's own `handler` goes through the method), the dispatcher reads the domain itself."""

    class Passing(App):
        def handler(self, event, context=None):
            return super().handler(event, context)

    def build(app: App) -> App:
        @app.get("/users/{user_id}")
        def user(ctx: Context, user_id: str) -> dict:
            return {"id": user_id, "path": ctx.request.path, "route": ctx.route}

        return app

    own = events.apigw_http("GET", "/users/5", route_key="GET /users/{user_id}")
    staged = events.apigw_http("GET", "/users/5", route_key="GET /users/{user_id}", stage="prod")
    custom = events.apigw_http("GET", "/v1/users/5", route_key="GET /users/{user_id}")
    custom["requestContext"]["domainName"] = "api.example.com"
    url = events.function_url("GET", "/users/5")
    for event in (own, staged, custom, url, own, custom):
        event["pathParameters"] = {"user_id": "5"}
        answers = [build(a).handler(event, lambda_context()) for a in (App(), Passing())]
        assert answers[0] == answers[1]
        assert msgspec.json.decode(answers[0]["body"]) == {"id": "5", "path": "/users/5", "route": "/users/{user_id}"}
