"""Registering a route builds only what checks its declaration: handlers of one signature share
their plan, and what a request needs is made on the route's first request. Every route still
answers for itself, and every mistake in a declaration still fails at registration."""

from __future__ import annotations

import dis
import gc
import json
import types
from typing import Any

import msgspec
import pytest

from lift import App, Context, binding
from lift.testing import TestClient


class NewUser(msgspec.Struct):
    name: str
    age: int


def _register(app: App | None, count: int, keep: list[Any] | None = None, prefix: str = "") -> None:
    """`count` routes shaped like the registration bench: half GET with an `int` id, half POST of
    their own model (with `app` None, the same handlers and models made and kept, not registered)."""
    for i in range(count // 2):
        model = msgspec.defstruct(f"Model{i}", [("name", str), ("n", int)])

        def get_item(ctx: Context, id: int) -> dict:
            return {"route": ctx.route, "id": id}

        def create_item(ctx: Context, body: Any) -> dict:
            return {"name": body.name, "n": body.n, "model": type(body).__name__}

        create_item.__annotations__["body"] = model
        if app is None:
            assert keep is not None
            keep.append((get_item, create_item))
            continue
        app.get(f"{prefix}/r{i}/{{id}}")(get_item)
        app.post(f"{prefix}/r{i}", status=201)(create_item)


def test_handlers_of_one_shape_each_answer_for_themselves() -> None:
    app = App(name="shapes")
    for i in range(5):

        def get_thing(ctx: Context, thing_id: int) -> dict:
            return {"route": ctx.route, "id": thing_id}

        def put_thing(ctx: Context, thing_id: int, body: NewUser) -> dict:
            return {"route": ctx.route, "id": thing_id, "name": body.name}

        app.get(f"/things{i}/{{thing_id}}")(get_thing)
        app.put(f"/things{i}/{{thing_id}}")(put_thing)
    client = TestClient(app)
    for i in (4, 0, 2):
        assert client.get(f"/things{i}/7").json() == {"route": f"/things{i}/{{thing_id}}", "id": 7}
        answer = client.put(f"/things{i}/8", json={"name": "Ada", "age": 36})
        assert answer.json() == {"route": f"/things{i}/{{thing_id}}", "id": 8, "name": "Ada"}
        bad = client.put(f"/things{i}/x", json={"name": "Ada"})
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "$.thing_id"
        missing = client.put(f"/things{i}/9", json={"name": "Ada"})
        assert missing.status_code == 422 and missing.json()["error"]["details"][0]["path"] == "$.age"


def test_a_mistake_in_a_handler_of_a_known_shape_still_fails_at_registration() -> None:
    app = App(name="mistakes")

    @app.get("/a/{item}")
    def fine(ctx: Context, item: int) -> dict:
        return {}

    with pytest.raises(TypeError, match="Path parameter item: Unsupported parameter type"):

        @app.get("/b/{item}")
        def listed(ctx: Context, item: list) -> dict:  # same names as `fine`, a type no path segment has
            return {}

    with pytest.raises(TypeError, match="Cannot inject parameter 'other' of .*unknown"):

        @app.get("/c/{item}")
        def unknown(ctx: Context, item: int, other: int) -> dict:
            return {}

    @app.post("/d")
    def create(ctx: Context, body: NewUser) -> dict:
        return {}

    class Odd:  # not a type msgspec can decode
        pass

    with pytest.raises(TypeError):

        @app.post("/e")
        def create_odd(ctx: Context, body: Odd) -> dict:
            return {}

    assert [e.template for e in app.endpoints] == ["/a/{item}", "/d"]


def test_routes_answer_on_every_path_after_a_lazy_registration() -> None:
    """The first request of a route makes its call, on the direct path, through middleware added
    after registration, for HEAD, and under ASGI; the answers match."""
    plain, wrapped = App(name="plain"), App(name="wrapped")
    _register(plain, 6)
    _register(wrapped, 6)
    seen: list[str] = []

    def note(ctx: Context, call_next: Any) -> Any:
        seen.append(ctx.route or "")
        return call_next(ctx)

    wrapped.use(note)
    for app in (plain, wrapped):
        client = TestClient(app)
        assert client.get("/r2/5").json() == {"route": "/r2/{id}", "id": 5}
        created = client.post("/r1", json={"name": "x", "n": 3})
        assert created.status_code == 201 and created.json() == {"name": "x", "n": 3, "model": "Model1"}
        assert client.post("/r1", json={"name": "x"}).status_code == 422
        head = client.request("HEAD", "/r0/1")
        assert head.status_code == 200 and head.body == b""
    assert seen == ["/r2/{id}", "/r1", "/r1", "/r0/{id}"]


@pytest.mark.parametrize("middleware", [False, True])
def test_registration_keeps_few_objects_per_route(middleware: bool) -> None:
    """A route costs a handful of objects the garbage collector tracks (35 when every call was built
    at registration, 40 with a global middleware; 8.5 and 9.5 while an unprepared route's `run` was
    a bound method of its own): what a request needs, its middleware chain included, is made on the
    route's first request. Routes with only the global middleware share its list, and no route gets
    an attribute dict of its own, whatever endpoints the process made before (the test alone, or
    after others)."""
    seen: list[str] = []

    def note(ctx: Context, call_next: Any) -> Any:
        seen.append(ctx.route or "")
        return call_next(ctx)

    def tracked_after(app: App | None) -> int:
        keep: list[Any] = []
        gc.collect()
        before = len(gc.get_objects())
        _register(app, 200, keep)
        gc.collect()
        return len(gc.get_objects()) - before

    app = App(name="many")
    if middleware:
        app.use(note)
    _register(app, 4, prefix="/first")  # the shapes' shared plans and code, made once
    per_route = (tracked_after(app) - tracked_after(None)) / 200
    assert per_route < 8, per_route
    client = TestClient(app)
    assert json.loads(client.get("/r99/3").body) == {"route": "/r99/{id}", "id": 3}
    assert client.post("/r98", json={"name": "x", "n": 1}).json()["model"] == "Model98"
    assert seen == (["/r99/{id}", "/r98"] if middleware else [])


def test_handlers_of_one_shape_with_other_body_types_read_their_own() -> None:
    app = App(name="bodies")

    @app.post("/model")
    def model(ctx: Context, body: NewUser) -> dict:
        return {"kind": "model", "name": body.name}

    @app.post("/raw")
    def raw(ctx: Context, body: bytes) -> dict:
        return {"kind": "bytes", "size": len(body)}

    @app.post("/text")
    def text(ctx: Context, body: str) -> dict:
        return {"kind": "str", "text": body}

    @app.post("/mapping")
    def mapping(ctx: Context, body: dict[str, int]) -> dict:
        return {"kind": "dict", "keys": sorted(body)}

    client = TestClient(app)
    assert client.post("/model", json={"name": "Ada", "age": 3}).json() == {"kind": "model", "name": "Ada"}
    assert client.post("/raw", json={"a": 1}).json() == {"kind": "bytes", "size": 7}
    assert client.post("/text", json={"a": 1}).json() == {"kind": "str", "text": '{"a":1}'}
    assert client.post("/mapping", json={"b": 1, "a": 2}).json() == {"kind": "dict", "keys": ["a", "b"]}
    wrong = client.post("/mapping", json={"a": "x"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["path"] == "$.a"
    assert client.post("/model", json={"name": "Ada"}).status_code == 422


def test_middleware_added_after_a_routes_first_request_wraps_it() -> None:
    app = App(name="later")
    _register(app, 2)
    api = app.group("/api")

    @api.get("/ping")
    def ping(ctx: Context) -> dict:
        return {"pong": True}

    client = TestClient(app)
    assert client.get("/r0/1").json() == {"route": "/r0/{id}", "id": 1}
    assert client.get("/api/ping").json() == {"pong": True}
    seen: list[str] = []

    def note(ctx: Context, call_next: Any) -> Any:
        seen.append(ctx.route or "")
        return call_next(ctx)

    app.use(note)
    api.use(note)
    assert client.get("/r0/2").json() == {"route": "/r0/{id}", "id": 2}
    assert client.get("/api/ping").json() == {"pong": True}
    assert seen == ["/r0/{id}", "/api/ping", "/api/ping"]


def test_string_annotations_name_the_classes_get_type_hints_finds() -> None:
    """This module reads its annotations as strings (`from __future__ import annotations`): a name
    is the class of this module or of builtins that `typing.get_type_hints` finds, a name that is
    not one still fails at registration with its message, and other strings are read by it."""
    app = App(name="strings")

    @app.put("/users/{user_id}")
    def put_user(ctx: Context, user_id: int, body: NewUser) -> dict:
        return {"id": user_id, "name": body.name}

    @app.post("/counts")
    def counts(body: dict[str, int] | None = None) -> dict:
        return {"keys": sorted(body or {})}

    assert put_user.__annotations__["user_id"] == "int"  # (the module's own reading)
    client = TestClient(app)
    assert client.put("/users/4", json={"name": "Ada", "age": 3}).json() == {"id": 4, "name": "Ada"}
    assert client.put("/users/x", json={"name": "Ada", "age": 3}).status_code == 422
    assert client.put("/users/4", json={"name": "Ada"}).status_code == 422
    assert client.post("/counts", json={"b": 1}).json() == {"keys": ["b"]}
    assert client.post("/counts", json={"b": "x"}).status_code == 422

    with pytest.raises(TypeError, match="Cannot read the type hints of .*missing.*NoSuchModel"):

        @app.post("/missing")
        def missing(ctx: Context, body: NoSuchModel) -> dict:  # type: ignore[name-defined]  # noqa: F821
            return {}

    with pytest.raises(TypeError, match="Cannot inject parameter 'count'"):

        @app.get("/bare/{item}")
        def bare(ctx: Context, item: int, count: json) -> dict:  # type: ignore[valid-type]  # a module, not a class
            return {}


def test_nothing_an_app_registered_outlives_it() -> None:
    """The shapes' shared plans belong to their App: a model (or Enum) used only by a dropped app is
    freed with it, as `lift dev` needs when it re-imports an app many times."""
    import enum
    import weakref

    def build() -> tuple[weakref.ref[Any], weakref.ref[Any]]:
        app = App(name="gone")
        model = msgspec.defstruct("Gone", [("name", str)])
        color = enum.Enum("Color", {"red": "red", "blue": "blue"})

        def create(ctx: Context, body: Any) -> dict:
            return {"name": body.name}

        def paint(ctx: Context, color: Any) -> dict:
            return {"color": color.name}

        create.__annotations__["body"] = model
        paint.__annotations__["color"] = color
        app.post("/things")(create)
        app.get("/paint/{color}")(paint)
        client = TestClient(app)
        assert client.post("/things", json={"name": "x"}).json() == {"name": "x"}
        assert client.get("/paint/red").json() == {"color": "red"}
        return weakref.ref(model), weakref.ref(color)

    model, color = build()
    gc.collect()
    assert model() is None and color() is None


def _ops(code: types.CodeType) -> list[tuple[str, Any]]:
    return [(op.opname, op.argval) for op in dis.get_instructions(code) if op.opname != "NOP"]


@pytest.mark.parametrize("key", sorted(binding._PRECOMPILED, key=repr))
def test_the_precompiled_calls_are_the_generated_code(key: tuple[Any, ...]) -> None:
    """The calls of the commonest shapes come from binding.py's .pyc instead of a compile() on a
    route's first request: each is, instruction for instruction, what the generator writes."""
    direct, *kinds = key
    shape = (False, direct, *((f"param{i}", kind) for i, kind in enumerate(kinds)))
    module = compile(binding.call_source(shape), "<lift binder>", "exec")
    generated = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    written = binding._PRECOMPILED[key]
    assert _ops(written) == _ops(generated)
    assert (written.co_name, written.co_varnames, written.co_argcount) == (
        generated.co_name,
        generated.co_varnames,
        generated.co_argcount,
    )
    assert binding._compile_call(shape) is written


def test_a_routes_first_requests_compile_nothing_for_the_common_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """GET by a converted id, GET by a str id, a typed POST, and each through middleware: their first
    requests answer without compiling generated code (the shapes' cache emptied, so no earlier test hides it)."""
    compiled: list[str] = []

    def counting_compile(source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(source))
        return compile(source, *args, **kwargs)

    monkeypatch.setattr(binding, "compile", counting_compile, raising=False)
    monkeypatch.setattr(binding, "_compiled_calls", {})
    for wrapped in (False, True):
        app = App(name="first-calls")
        if wrapped:
            app.use(lambda ctx, call_next: call_next(ctx))

        @app.get("/first/{zq_id}")
        def by_number(ctx: Context, zq_id: int) -> dict:
            return {"id": zq_id}

        @app.get("/named/{zq_name}")
        def by_name(ctx: Context, zq_name: str) -> dict:
            return {"name": zq_name}

        @app.post("/first", status=201)
        def create(ctx: Context, body: NewUser) -> dict:
            return {"name": body.name}

        client = TestClient(app)
        assert client.get("/first/7").json() == {"id": 7}
        assert client.get("/first/x").status_code == 422
        assert client.get("/named/ada").json() == {"name": "ada"}
        assert client.post("/first", json={"name": "Ada", "age": 3}).json() == {"name": "Ada"}
        assert client.post("/first", json={"name": "Ada"}).status_code == 422
    assert compiled == []


def test_the_direct_path_compiles_only_the_direct_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shape with no precompiled call (a keyword-only parameter) compiles one call on a direct first
    request, not also the call that other paths (middleware, HEAD, ASGI) use; HEAD then makes that."""
    compiled: list[str] = []

    def counting_compile(source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(source))
        return compile(source, *args, **kwargs)

    monkeypatch.setattr(binding, "compile", counting_compile, raising=False)
    monkeypatch.setattr(binding, "_compiled_calls", {})
    app = App(name="direct-only")

    @app.route("/kw/{zk_id}", methods=["GET", "HEAD"])
    def keyword_only(ctx: Context, *, zk_id: int) -> dict:
        return {"id": zk_id}

    @app.get("/kw2/{zk_id}")
    def keyword_only_get(ctx: Context, *, zk_id: int) -> dict:
        return {"id": zk_id}

    client = TestClient(app)
    assert client.get("/kw2/4").json() == {"id": 4}
    assert [source.splitlines()[0] for source in compiled] == ["def call(ctx, p):"]
    assert client.request("HEAD", "/kw/5").status_code == 200
    assert [source.splitlines()[0] for source in compiled] == ["def call(ctx, p):", "def call(ctx):"]
