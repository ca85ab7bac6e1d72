"""Routing: precedence, typed and greedy parameters, 404/405/HEAD, trailing slashes, conflicts,
groups and middleware, and a randomized comparison of `Router.lookup` with a brute-force matcher."""

from __future__ import annotations

import decimal
import enum
import string
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift import App, Context, Response
from lift.middleware import cors, request_id
from lift.routing import WIRE_SAFE, RouteConflict, Router, is_encoded_by_clients, normalize_path, parse_template
from lift.testing import TestClient


@pytest.fixture
def app() -> App:
    app = App(name="routing")

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: int) -> dict:
        return {"handler": "get_user", "user_id": user_id}

    @app.get("/users/me")
    def get_me(ctx: Context) -> dict:
        return {"handler": "get_me"}

    @app.delete("/users/{user_id}")
    def delete_user(ctx: Context, user_id: int) -> None:
        return None

    @app.get("/files/{path+}")
    def get_file(ctx: Context, path: str) -> dict:
        return {"handler": "get_file", "path": path}

    @app.get("/files/readme")
    def readme(ctx: Context) -> dict:
        return {"handler": "readme"}

    @app.get("/")
    def root(ctx: Context) -> dict:
        return {"handler": "root"}

    return app


# -- precedence and parameters ---------------------------------------------------------


def test_static_route_beats_parameter_route(app: App) -> None:
    client = TestClient(app)
    assert client.get("/users/me").json() == {"handler": "get_me"}
    assert client.get("/users/42").json() == {"handler": "get_user", "user_id": 42}


def test_static_route_beats_greedy_route(app: App) -> None:
    client = TestClient(app)
    assert client.get("/files/readme").json() == {"handler": "readme"}
    assert client.get("/files/readme/more").json() == {"handler": "get_file", "path": "readme/more"}


def test_greedy_parameter_takes_the_rest_of_the_path(app: App) -> None:
    res = TestClient(app).get("/files/docs/2024/report.pdf")
    assert res.status_code == 200
    assert res.json() == {"handler": "get_file", "path": "docs/2024/report.pdf"}


def test_greedy_parameter_needs_at_least_one_segment(app: App) -> None:
    assert TestClient(app).get("/files").status_code == 404


def test_root_route(app: App) -> None:
    assert TestClient(app).get("/").json() == {"handler": "root"}


@pytest.mark.parametrize(
    ("hint", "raw", "expected"),
    [
        (int, "17", 17),
        (float, "2.5", 2.5),
        (str, "hello", "hello"),
        (uuid.UUID, "12345678-1234-5678-1234-567812345678", "12345678-1234-5678-1234-567812345678"),
    ],
)
def test_typed_path_parameters_are_converted(hint: type, raw: str, expected: object) -> None:
    app = App()
    seen = {}

    def get_item(ctx: Context, item_id) -> dict:
        seen["value"] = item_id
        return {"item_id": item_id}

    get_item.__annotations__ = {"ctx": Context, "item_id": hint}
    app.get("/items/{item_id}")(get_item)
    res = TestClient(app).get(f"/items/{raw}")
    assert res.status_code == 200
    assert type(seen["value"]) is hint
    assert res.json() == {"item_id": expected}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@pytest.mark.parametrize(
    ("hint", "raw", "expected"),
    [
        (bool, "true", True),
        (bool, "0", False),
        (decimal.Decimal, "1.10", decimal.Decimal("1.10")),
        (Color, "blue", Color.BLUE),
    ],
)
def test_more_path_parameter_types(hint: type, raw: str, expected: object) -> None:
    app = App()
    seen = {}

    def get_item(item_id) -> dict:
        seen["value"] = item_id
        return {}

    get_item.__annotations__ = {"item_id": hint}
    app.get("/items/{item_id}")(get_item)
    assert TestClient(app).get(f"/items/{raw}").status_code == 200
    assert seen["value"] == expected and type(seen["value"]) is type(expected)
    assert TestClient(app).get("/items/nonsense-value").status_code == 422


def test_unsupported_path_parameter_type_fails_at_registration() -> None:
    app = App()

    def handler(item_id) -> None: ...

    handler.__annotations__ = {"item_id": list}
    with pytest.raises(TypeError, match="item_id|list"):
        app.get("/items/{item_id}")(handler)


@pytest.mark.parametrize(("hint", "raw"), [(int, "abc"), (int, "1.5"), (float, "x"), (uuid.UUID, "not-a-uuid")])
def test_bad_typed_path_parameter_is_a_422_in_location_path(hint: type, raw: str) -> None:
    app = App()

    def get_item(ctx: Context, item_id) -> dict:
        raise AssertionError("handler must not run")

    get_item.__annotations__ = {"ctx": Context, "item_id": hint}
    app.get("/items/{item_id}")(get_item)
    res = TestClient(app).get(f"/items/{raw}")
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == [{"location": "path", "path": "$.item_id", "message": error["details"][0]["message"]}]
    assert raw in error["details"][0]["message"]


def test_several_parameters_in_one_template() -> None:
    app = App()

    @app.get("/orgs/{org}/repos/{repo}/issues/{number}")
    def issue(ctx: Context, org: str, repo: str, number: int) -> dict:
        return {"org": org, "repo": repo, "number": number, "params": ctx.path_params}

    res = TestClient(app).get("/orgs/acme/repos/lift/issues/7")
    assert res.json() == {
        "org": "acme",
        "repo": "lift",
        "number": 7,
        "params": {"org": "acme", "repo": "lift", "number": "7"},
    }


# -- 404, 405, HEAD, trailing slash -----------------------------------------------------------


def test_unknown_path_is_404_with_error_body(app: App) -> None:
    res = TestClient(app).get("/nothing/here", context=None)
    assert res.status_code == 404
    error = res.json()["error"]
    assert error["code"] == "not_found"
    assert "/nothing/here" in error["message"]
    assert error["request_id"]


def test_known_path_wrong_method_is_405_with_allow(app: App) -> None:
    res = TestClient(app).post("/users/5", json={})
    assert res.status_code == 405
    assert res.json()["error"]["code"] == "method_not_allowed"
    allowed = {m.strip() for m in res.headers["Allow"].split(",")}
    assert allowed == {"GET", "HEAD", "DELETE", "OPTIONS"}


@pytest.mark.parametrize("methods", [["GET"], ["POST"], ["DELETE", "PUT"], ["GET", "PATCH"], ["HEAD"]])
def test_every_method_a_405_allows_is_answered(methods: list[str]) -> None:
    app = App()
    app.route("/things", methods=methods)(lambda ctx: {})
    client = TestClient(app)
    res = client.request("TRACE", "/things")
    assert res.status_code == 405
    allowed = [m.strip() for m in res.headers["Allow"].split(",")]
    assert "OPTIONS" in allowed and ("HEAD" in allowed) == ("GET" in methods or "HEAD" in methods)
    for method in allowed:
        assert client.request(method, "/things").status_code != 405, method


def test_head_is_served_by_get_without_a_body(app: App) -> None:
    client = TestClient(app)
    get = client.get("/users/5")
    head = client.head("/users/5")
    assert head.status_code == 200
    assert head.body == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers["Content-Length"] == str(len(get.body))


def test_explicit_head_route_wins_over_get() -> None:
    app = App()

    @app.get("/thing")
    def get_thing(ctx: Context) -> dict:
        return {"x": 1}

    @app.head("/thing")
    def head_thing(ctx: Context) -> Response:
        return Response(None, 200, {"X-Head": "yes"})

    res = TestClient(app).head("/thing")
    assert res.headers["X-Head"] == "yes"


def test_delete_returning_none_is_204(app: App) -> None:
    res = TestClient(app).delete("/users/5")
    assert res.status_code == 204
    assert res.body == b""


@pytest.mark.parametrize("path", ["/users/me/", "/users/me//", "/users/me"])
def test_trailing_slash_is_ignored_on_requests(app: App, path: str) -> None:
    assert TestClient(app).get(path).json() == {"handler": "get_me"}


def test_trailing_slash_is_ignored_on_registration() -> None:
    app = App()

    @app.get("/reports/")
    def reports(ctx: Context) -> dict:
        return {"ok": True}

    assert TestClient(app).get("/reports").json() == {"ok": True}
    assert TestClient(app).get("/reports/").json() == {"ok": True}
    with pytest.raises(RouteConflict):
        app.get("/reports")(lambda ctx: None)


def test_text_some_client_percent_encodes_is_told_character_by_character() -> None:
    """Clients send RFC 3986's unreserved characters, WIRE_SAFE and a parameter's braces as they are;
    any other character (non-ASCII, `%`, a space, `"<>[]^|\\``, controls) reaches Lambda encoded by
    some client, wherever it stands in the text."""
    as_is = set(string.ascii_letters + string.digits + "-._~" + WIRE_SAFE + "{}")
    for code in [*range(128), 0xE9, 0x2028, 0xFFFD, 0x1F600]:
        char = chr(code)
        for text in (char, f"/users/{char}", f"/a{char}b/{{id}}"):
            assert is_encoded_by_clients(text) is (char not in as_is), (code, text)
    assert not is_encoded_by_clients("")


def test_normalize_path_rule() -> None:
    assert normalize_path("") == "/"
    assert normalize_path("/") == "/"
    assert normalize_path("a/b/") == "/a/b"
    assert normalize_path("/a/b//") == "/a/b"


# -- registration errors ----------------------------------------------------------------------


def test_duplicate_route_fails_naming_both_handlers() -> None:
    app = App()

    @app.get("/users/{user_id}")
    def first_handler(ctx: Context, user_id: str) -> None: ...

    def second_handler(ctx: Context, user_id: str) -> None: ...

    with pytest.raises(RouteConflict) as info:
        app.get("/users/{user_id}")(second_handler)
    message = str(info.value)
    assert "first_handler" in message and "second_handler" in message
    assert "GET /users/{user_id}" in message


def test_conflicting_parameter_names_fail_naming_both_templates() -> None:
    app = App()

    @app.get("/users/{user_id}")
    def by_id(ctx: Context, user_id: str) -> None: ...

    with pytest.raises(RouteConflict) as info:

        @app.post("/users/{name}")
        def by_name(ctx: Context, name: str) -> None: ...

    assert "/users/{name}" in str(info.value) and "/users/{user_id}" in str(info.value)


def test_conflicting_greedy_names_fail_naming_both_templates() -> None:
    app = App()
    app.get("/static/{path+}")(lambda ctx, path: None)
    with pytest.raises(RouteConflict) as info:
        app.get("/static/{rest+}")(lambda ctx, rest: None)
    assert "/static/{path+}" in str(info.value) and "/static/{rest+}" in str(info.value)


def test_same_path_different_methods_is_not_a_conflict() -> None:
    app = App()
    app.get("/a")(lambda ctx: {"m": "get"})
    app.post("/a")(lambda ctx: {"m": "post"})
    client = TestClient(app)
    assert client.get("/a").json() == {"m": "get"}
    assert client.post("/a").json() == {"m": "post"}


@pytest.mark.parametrize("template", ["/a/{x+}/b", "/a/b{x}", "/a/{1x}", "/a//b"])
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(ValueError):
        parse_template(template)


def test_unknown_method_is_refused() -> None:
    app = App()
    with pytest.raises(ValueError, match="FETCH"):
        app.route("/x", methods=["FETCH"])(lambda ctx: None)


def test_handler_parameter_that_cannot_be_injected_fails_at_registration() -> None:
    app = App()
    with pytest.raises(TypeError, match="mystery"):

        @app.get("/x/{known}")
        def handler(ctx: Context, known: str, mystery: int) -> None: ...


def test_route_decorator_accepts_several_methods() -> None:
    app = App()

    @app.route("/multi", methods=["get", "PUT"])
    def multi(ctx: Context) -> dict:
        return {"method": ctx.method}

    client = TestClient(app)
    assert client.get("/multi").json() == {"method": "GET"}
    assert client.put("/multi").json() == {"method": "PUT"}
    assert client.post("/multi").status_code == 405


# -- groups and middleware ----------------------------------------------------------------------


def _tagger(tag: str):
    def mw(ctx: Context, call_next):
        ctx.state.setdefault("trail", []).append(tag)
        response = call_next(ctx)
        response.headers["X-Trail"] = ",".join(ctx.state["trail"])
        return response

    mw.__qualname__ = f"tag_{tag}"
    return mw


def test_groups_nest_and_inherit_middleware_in_order() -> None:
    app = App()
    app.use(_tagger("global"))
    api = app.group("/api", middleware=[_tagger("api")])
    v1 = api.group("/v1", middleware=[_tagger("v1")])

    @v1.get("/ping", middleware=[_tagger("route")])
    def ping(ctx: Context) -> dict:
        return {"trail": ctx.state["trail"]}

    @api.get("/health")
    def health(ctx: Context) -> dict:
        return {"trail": ctx.state["trail"]}

    @app.get("/plain")
    def plain(ctx: Context) -> dict:
        return {"trail": ctx.state["trail"]}

    client = TestClient(app)
    assert client.get("/api/v1/ping").json() == {"trail": ["global", "api", "v1", "route"]}
    assert client.get("/api/health").json() == {"trail": ["global", "api"]}
    assert client.get("/plain").json() == {"trail": ["global"]}
    assert client.get("/v1/ping").status_code == 404


def test_group_root_path_and_middleware_added_later() -> None:
    app = App()
    admin = app.group("/admin")

    @admin.get("/")
    def admin_root(ctx: Context) -> dict:
        return {"trail": ctx.state.get("trail", [])}

    admin.use(_tagger("late"))
    app.use(_tagger("global-late"))
    res = TestClient(app).get("/admin")
    assert res.json() == {"trail": ["global-late", "late"]}


def test_route_level_middleware_only_applies_to_that_route() -> None:
    app = App()

    def deny(ctx: Context, call_next):
        return Response.json({"denied": True}, status=403)

    app.get("/secret", middleware=[deny])(lambda ctx: {"secret": 1})
    app.get("/public")(lambda ctx: {"public": 1})
    client = TestClient(app)
    assert client.get("/secret").status_code == 403
    assert client.get("/public").json() == {"public": 1}


def test_middleware_can_short_circuit_and_see_the_route_template() -> None:
    app = App()
    seen = {}

    def spy(ctx: Context, call_next):
        seen["route"] = ctx.route
        return call_next(ctx)

    app.use(spy)
    app.get("/users/{user_id}")(lambda ctx, user_id: {"id": user_id})
    TestClient(app).get("/users/9")
    assert seen["route"] == "/users/{user_id}"
    TestClient(app).get("/nowhere")
    assert seen["route"] is None


def test_global_middleware_runs_for_404_and_405() -> None:
    app = App()
    app.use(request_id(), cors(["https://app.example"]))
    app.get("/only-get")(lambda ctx: {"ok": True})
    client = TestClient(app)

    preflight = client.options(
        "/does/not/exist", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]

    missing = client.get("/does/not/exist", headers={"X-Request-Id": "trace-404", "Origin": "https://app.example"})
    assert missing.status_code == 404
    assert missing.headers["X-Request-Id"] == "trace-404"
    assert missing.json()["error"]["request_id"] == "trace-404"
    assert missing.headers["Access-Control-Allow-Origin"] == "https://app.example"

    wrong = client.post("/only-get", headers={"X-Request-Id": "trace-405"})
    assert wrong.status_code == 405
    assert wrong.headers["X-Request-Id"] == "trace-405"
    assert wrong.json()["error"]["request_id"] == "trace-405"


def test_options_without_preflight_on_known_path_lists_allowed_methods() -> None:
    app = App()
    app.get("/things")(lambda ctx: [])
    app.post("/things")(lambda ctx: {})
    res = TestClient(app).options("/things")
    assert res.status_code == 204
    assert {m.strip() for m in res.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS", "POST"}


# -- randomized comparison with a brute-force matcher ------------------------------------------------

STATICS = ["a", "b", "c"]
KINDS = {"static": 0, "param": 1, "greedy": 2}


@st.composite
def templates(draw) -> list[tuple[str, str]]:
    """A template as (kind, value) segments; parameter names are fixed per position."""
    length = draw(st.integers(0, 4))
    segments: list[tuple[str, str]] = []
    for i in range(length):
        last = i == length - 1
        kind = draw(st.sampled_from(["static", "static", "param", "greedy"] if last else ["static", "static", "param"]))
        if kind == "static":
            segments.append(("static", draw(st.sampled_from(STATICS))))
        elif kind == "param":
            segments.append(("param", f"p{i}"))
        else:
            segments.append(("greedy", f"g{i}"))
    return segments


def render(segments: list[tuple[str, str]]) -> str:
    parts = [v if k == "static" else "{" + v + ("+}" if k == "greedy" else "}") for k, v in segments]
    return "/" + "/".join(parts)


def brute_force(table: list[list[tuple[str, str]]], path: str) -> tuple[str, list[str]] | None:
    """Try every template; of those that match, the best by (static < param < greedy) at each segment."""
    path = path.rstrip("/") or "/"
    segs = path.strip("/").split("/") if path != "/" else []
    best = None
    for template in table:
        values: list[str] = []
        ranks: list[int] = []
        ok = True
        for i, (kind, value) in enumerate(template):
            if kind == "greedy":
                if i >= len(segs) or not segs[i]:
                    ok = False
                    break
                values.append("/".join(segs[i:]))
                ranks.append(KINDS[kind])
                break
            if i >= len(segs):
                ok = False
                break
            if (kind == "static" and segs[i] != value) or (kind == "param" and not segs[i]):
                ok = False
                break
            if kind == "param":
                values.append(segs[i])
            ranks.append(KINDS[kind])
        else:
            ok = ok and len(template) == len(segs)
        if ok and (best is None or ranks < best[0]):
            best = (ranks, render(template), values)
    return None if best is None else (best[1], best[2])


path_segments = st.lists(st.sampled_from(STATICS + ["d", "e", "a%20b", ""]), max_size=6)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.lists(templates(), min_size=1, max_size=12), paths=st.lists(path_segments, min_size=1, max_size=8))
def test_lookup_agrees_with_brute_force(table, paths) -> None:
    router = Router()
    unique = list({render(t): t for t in table}.values())
    for template in unique:
        router.entry_for(render(template))
    for segs in paths:
        path = "/" + "/".join(segs)  # "" segments give "//" and trailing slashes
        entry, values = router.lookup(path)
        expected = brute_force(unique, path)
        got = None if entry is None else (entry.template, values)
        assert got == expected, (path, [render(t) for t in unique])
        if entry is not None:
            assert len(values) == len(entry.param_names)


def test_backtracking_out_of_a_static_branch_does_not_leak_parameters() -> None:
    router = Router()
    router.entry_for("/a/{x}/c")  # static first segment, captures {x}, then fails on "d"
    router.entry_for("/{y}/b/d")  # matches only after backtracking to the root
    router.entry_for("/a/{x}/{z}/e")
    entry, values = router.lookup("/a/b/d")
    assert entry.template == "/{y}/b/d"
    assert values == ["a"]
    entry, values = router.lookup("/a/b/c/e")
    assert entry.template == "/a/{x}/{z}/e"
    assert values == ["b", "c"]


def test_backtracking_through_a_parameter_into_a_greedy_route() -> None:
    router = Router()
    router.entry_for("/api/{version}/users")
    router.entry_for("/api/{rest+}")
    entry, values = router.lookup("/api/v1/orders")
    assert entry.template == "/api/{rest+}"
    assert values == ["v1/orders"]


def test_backtracking_end_to_end_binds_only_the_matched_parameters() -> None:
    app = App()

    @app.get("/shop/{category}/items")
    def items(ctx: Context, category: str) -> dict:
        return {"route": "items", "params": ctx.path_params}

    @app.get("/shop/{path+}")
    def catch_all(ctx: Context, path: str) -> dict:
        return {"route": "catch_all", "params": ctx.path_params}

    res = TestClient(app).get("/shop/books/reviews")
    assert res.json() == {"route": "catch_all", "params": {"path": "books/reviews"}}


def test_allow_lists_every_method_of_a_path_with_head_beside_get_and_options() -> None:
    from lift.routing import PathEntry

    for methods, allow in (
        (["GET"], "GET, HEAD, OPTIONS"),
        (["POST"], "OPTIONS, POST"),
        (["HEAD"], "HEAD, OPTIONS"),
        (["DELETE"], "DELETE, OPTIONS"),
        (["OPTIONS"], "OPTIONS"),
        (["POST", "GET"], "GET, HEAD, OPTIONS, POST"),
        (["DELETE", "PUT"], "DELETE, OPTIONS, PUT"),
        (["OPTIONS", "PUT"], "OPTIONS, PUT"),
    ):
        entry = PathEntry("/x", [])
        for method in methods:
            entry.add(method, object())
        assert entry.allow == allow


def test_a_leaf_node_gets_its_own_children_when_a_longer_route_arrives() -> None:
    from lift.routing import Router

    router = Router()
    a = router.entry_for("/a")
    b = router.entry_for("/b")
    ab = router.entry_for("/a/c")
    assert router.lookup("/a/c") == (ab, []) and router.lookup("/b/c") == (None, [])
    assert router.lookup("/a") == (a, []) and router.lookup("/b") == (b, [])


_TEMPLATES = [
    "/users/{user_id}",
    "/a/{x}/b/{y}",
    "/{x}",
    "/files/{path+}",
    "/a/{x+}/b",
    "/a/b{x}",
    "/a/{x}b",
    "/a/{1x}",
    "/a/{}",
    "/a/{x:int}",
    "/a/{x}}",
    "/a/{{x}",
    "/a/}x{",
    "/a//b",
    "/a/../b",
    "/a/./b",
    "/v1.0/{id}",
    "/a/{x-y}",
    "/a/{ä}",
]


@pytest.mark.parametrize("template", _TEMPLATES)
def test_registration_reads_each_template_as_parse_template_does(template: str) -> None:
    """The router reads the commonest templates (static segments and `{name}`) in one quick pass:
    whatever the template, registering it gives the parameters parse_template finds, or refuses it
    with the same error, and leaves the router unchanged when it refuses."""
    try:
        expected: object = [value for kind, value in parse_template(template) if kind != "static"]
    except ValueError as exc:
        expected = (type(exc), str(exc))
    router = Router()
    try:
        got: object = list(router.entry_for(template).param_names)
    except ValueError as exc:
        got = (type(exc), str(exc))
        assert router.entries == [] and router.lookup("/a/1") == (None, [])
    assert got == expected
