"""Typed handlers: what gets injected (ctx, path params, body, query, headers), how invalid
input is reported, and how return values become responses."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import subprocess
import sys
import textwrap
from typing import Annotated, Optional, TypedDict

import msgspec
import pydantic
import pytest

from lift import App, Context, Header, Request, Response
from lift.testing import TestClient, events, lambda_context

SOURCES = ["rest", "http", "alb", "url"]


class Item(msgspec.Struct):
    sku: str
    qty: int


class Order(msgspec.Struct):
    customer: str
    items: list[Item]
    note: str | None = None


@dataclasses.dataclass
class DataclassItem:
    sku: str
    qty: int


@dataclasses.dataclass
class DataclassOrder:
    customer: str
    items: list[DataclassItem]


class TypedItem(TypedDict):
    sku: str
    qty: int


class TypedOrder(TypedDict):
    customer: str
    items: list[TypedItem]


class PydanticItem(pydantic.BaseModel):
    sku: str
    qty: int


class PydanticOrder(pydantic.BaseModel):
    customer: str
    items: list[PydanticItem]


class Search(msgspec.Struct):
    tag: list[str] = []
    page: int = 1
    q: str | None = None


@dataclasses.dataclass
class SearchDataclass:
    tag: list[str]
    page: int = 1


class Line(msgspec.Struct):
    qty: int


class Basket(msgspec.Struct):
    lines: dict[str, list[Line]]


@dataclasses.dataclass
class Signup:
    name: str
    age: int
    newsletter: bool = False


GOOD_ORDER = {"customer": "ada", "items": [{"sku": "a-1", "qty": 2}, {"sku": "b-2", "qty": 1}]}
BAD_ORDER = {"customer": 7, "items": [{"sku": "a-1", "qty": 1}, {"sku": "b-2"}, {"sku": "c-3", "qty": "many"}]}
EXPECTED_PROBLEM_PATHS = ["$.customer", "$.items[1].qty", "$.items[2].qty"]


def _order_app(model: type) -> App:
    app = App()

    def create(ctx: Context, body) -> dict:
        data = msgspec.to_builtins(body) if not isinstance(body, pydantic.BaseModel) else body.model_dump()
        return {"type": type(body).__name__, "order": data}

    create.__annotations__ = {"ctx": Context, "body": model, "return": dict}
    app.post("/orders", status=201)(create)
    return app


# -- body models ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [Order, DataclassOrder, TypedOrder, PydanticOrder], ids=["msgspec", "dataclass", "typeddict", "pydantic"]
)
@pytest.mark.parametrize("source", SOURCES)
def test_body_model_is_parsed_and_route_status_used(model: type, source: str) -> None:
    res = TestClient(_order_app(model), source=source).post("/orders", json=GOOD_ORDER)
    assert res.status_code == 201
    body = res.json()
    expected_type = "dict" if model is TypedOrder else model.__name__
    assert body["type"] == expected_type
    assert body["order"]["customer"] == "ada"
    assert [i["qty"] for i in body["order"]["items"]] == [2, 1]


@pytest.mark.parametrize(
    "model", [Order, DataclassOrder, TypedOrder, PydanticOrder], ids=["msgspec", "dataclass", "typeddict", "pydantic"]
)
def test_invalid_model_is_422_listing_every_problem_with_its_path(model: type) -> None:
    res = TestClient(_order_app(model)).post("/orders", json=BAD_ORDER)
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["request_id"]
    paths = [d["path"] for d in error["details"]]
    assert paths == EXPECTED_PROBLEM_PATHS
    assert all(d["location"] == "body" and d["message"] for d in error["details"])


def test_problem_messages_say_what_is_wrong() -> None:
    details = TestClient(_order_app(Order)).post("/orders", json=BAD_ORDER).json()["error"]["details"]
    by_path = {d["path"]: d["message"] for d in details}
    assert "str" in by_path["$.customer"] and "int" in by_path["$.customer"]
    assert "qty" in by_path["$.items[1].qty"]
    assert "int" in by_path["$.items[2].qty"]


def test_nested_problems_deep_in_lists_and_dicts() -> None:
    app = App()

    def basket(body) -> dict:
        return {"ok": True}

    basket.__annotations__ = {"body": Basket}
    app.post("/basket")(basket)
    res = TestClient(app).post("/basket", json={"lines": {"x": [{"qty": 1}, {"qty": "2"}], "y": [{}]}})
    assert res.status_code == 422
    assert [d["path"] for d in res.json()["error"]["details"]] == ["$.lines.x[1].qty", "$.lines.y[0].qty"]


def test_wrong_top_level_type_is_a_422_not_a_crash() -> None:
    res = TestClient(_order_app(Order)).post("/orders", json=[1, 2, 3])
    assert res.status_code == 422
    assert res.json()["error"]["details"][0]["path"] == "$"


@pytest.mark.parametrize("model", [Order, PydanticOrder], ids=["msgspec", "pydantic"])
@pytest.mark.parametrize("raw", ['{"customer": "ada",', "not json at all", '{"a": 1} trailing'])
def test_invalid_json_is_400(model: type, raw: str) -> None:
    res = TestClient(_order_app(model)).post("/orders", body=raw, headers={"Content-Type": "application/json"})
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("source", SOURCES)
def test_body_without_content_type_is_read_as_json(source: str) -> None:
    client = TestClient(_order_app(Order), source=source)
    event = client.build_event("POST", "/orders", body=msgspec.json.encode(GOOD_ORDER).decode())
    for key in ("headers", "multiValueHeaders"):
        for name in list(event.get(key) or {}):
            assert name.lower() != "content-type"
    res = client.invoke(event)
    assert res["statusCode"] == 201


def test_json_with_charset_and_vendor_json_types_are_accepted() -> None:
    client = TestClient(_order_app(Order))
    for ctype in ("application/json; charset=utf-8", "application/vnd.api+json"):
        res = client.post("/orders", body=msgspec.json.encode(GOOD_ORDER).decode(), headers={"Content-Type": ctype})
        assert res.status_code == 201, ctype


def test_base64_encoded_json_body_is_decoded() -> None:
    client = TestClient(_order_app(Order))
    res = client.post(
        "/orders", body=msgspec.json.encode(GOOD_ORDER), is_base64=True, headers={"Content-Type": "application/json"}
    )
    assert client.last_event["isBase64Encoded"] is True
    assert res.status_code == 201


def test_form_urlencoded_body_is_converted_to_the_model() -> None:
    app = App()

    def signup(body) -> dict:
        return dataclasses.asdict(body)

    signup.__annotations__ = {"body": Signup}
    app.post("/signup")(signup)
    res = TestClient(app).post(
        "/signup",
        body="name=Ada+L&age=36&newsletter=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status_code == 200
    assert res.json() == {"name": "Ada L", "age": 36, "newsletter": True}
    bad = TestClient(app).post(
        "/signup", body="name=Ada&age=old", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "$.age"


@dataclasses.dataclass
class Survey:
    name: str
    colors: list[str]


class PydanticSurvey(pydantic.BaseModel):
    name: str
    colors: list[str]


@pytest.mark.parametrize("model", [Survey, PydanticSurvey], ids=["dataclass", "pydantic"])
def test_form_repeated_keys_fill_list_fields(model: type) -> None:
    app = App()

    def survey(body) -> dict:
        return {"name": body.name, "colors": body.colors}

    survey.__annotations__ = {"body": model}
    app.post("/survey")(survey)
    res = TestClient(app).post(
        "/survey", body="name=ada&colors=red&colors=blue", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert res.json() == {"name": "ada", "colors": ["red", "blue"]}


class AliasedSearch(pydantic.BaseModel):
    page_size: int = pydantic.Field(10, alias="pageSize")
    tag_ids: list[int] = pydantic.Field([], alias="tagIds")
    rate: float | None = pydantic.Field(None, validation_alias="r")


def test_pydantic_fields_read_from_their_alias_fill_lists_and_read_numbers_by_the_rule() -> None:
    """A pydantic query (or form) field read from an alias was looked up under its Python name:
    `?tagIds=1&tagIds=2` was a 422 "Input should be a valid list" (only the last value was passed on),
    and the alias's numbers skipped Lift's rule (`pageSize=1_000` or ` 5` or `5.0` became 1000 or 5,
    `r=nan` a float NaN), where the same model without aliases refuses them."""
    app = App()

    @app.get("/search")
    def search(query: AliasedSearch) -> dict:
        return query.model_dump()

    @app.post("/search")
    def search_form(body: AliasedSearch) -> dict:
        return body.model_dump()

    client = TestClient(app)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    expected = {"page_size": 5, "tag_ids": [1, 2], "rate": 0.5}
    assert client.get("/search?pageSize=5&tagIds=1&tagIds=2&r=0.5").json() == expected
    assert client.post("/search", body="pageSize=5&tagIds=1&tagIds=2&r=0.5", headers=form).json() == expected
    for sent, path in (("pageSize=1_000", "$.pageSize"), ("pageSize=%205", "$.pageSize"), ("pageSize=5.0", "$.pageSize"),
                       ("tagIds=1&tagIds=%2B2", "$.tagIds[1]"), ("r=nan", "$.r"), ("r=inf", "$.r")):  # fmt: skip
        for res in (client.get(f"/search?{sent}"), client.post("/search", body=sent, headers=form)):
            assert res.status_code == 422, sent
            assert [d["path"] for d in res.json()["error"]["details"]] == [path], sent


def test_list_body_reports_item_paths() -> None:
    app = App()

    def bulk(body) -> int:
        return len(body)

    bulk.__annotations__ = {"body": list[Item]}
    app.post("/bulk")(bulk)
    res = TestClient(app).post("/bulk", json=[{"sku": "a", "qty": 1}, {"sku": "b", "qty": "x"}, {"qty": 3}])
    assert res.status_code == 422
    assert [d["path"] for d in res.json()["error"]["details"]] == ["$[1].qty", "$[2].sku"]


@pytest.mark.parametrize("ctype", ["text/xml", "application/xml", "multipart/form-data; boundary=x", "image/png"])
def test_unsupported_content_type_is_415(ctype: str) -> None:
    res = TestClient(_order_app(Order)).post("/orders", body="<order/>", headers={"Content-Type": ctype})
    assert res.status_code == 415
    assert res.json()["error"]["code"] == "unsupported_media_type"


def test_missing_body_is_422_unless_defaulted() -> None:
    app = _order_app(Order)

    def maybe(body: Order | None = None) -> dict:
        return {"got": body is not None}

    maybe.__annotations__ = {"body": Order | None}
    app.post("/maybe")(maybe)
    client = TestClient(app)
    res = client.post("/orders")
    assert res.status_code == 422
    assert res.json()["error"]["details"][0]["location"] == "body"
    assert client.post("/maybe").json() == {"got": False}


def test_body_as_raw_bytes_and_text() -> None:
    app = App()

    def raw(body: bytes) -> dict:
        return {"len": len(body), "first": body[0]}

    def text(body: str) -> dict:
        return {"text": body}

    raw.__annotations__ = {"body": bytes}
    text.__annotations__ = {"body": str}
    app.post("/raw")(raw)
    app.post("/text")(text)
    client = TestClient(app)
    assert client.post("/raw", body=b"\xff\x00\x01", headers={"Content-Type": "application/octet-stream"}).json() == {
        "len": 3,
        "first": 255,
    }
    assert client.post("/text", body="héllo", headers={"Content-Type": "text/plain"}).json() == {"text": "héllo"}


def test_lift_with_msgspec_models_does_not_import_pydantic() -> None:
    code = textwrap.dedent("""
        import sys
        import msgspec
        import lift
        from lift import App, Context
        from lift.testing import TestClient

        class Item(msgspec.Struct):
            sku: str
            qty: int

        app = App()

        @app.post("/items")
        def create(ctx: Context, body: Item) -> Item:
            return body

        assert TestClient(app).post("/items", json={"sku": "a", "qty": 1}).status_code == 200
        assert TestClient(app).post("/items", json={"sku": "a"}).status_code == 422
        print("pydantic" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_import_lift_loads_only_stdlib_and_msgspec() -> None:
    code = (
        "import sys, lift; names = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(n for n in names if n not in sys.stdlib_module_names and not n.startswith('_')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    third_party = set(eval(out.stdout))
    assert third_party <= {"lift", "msgspec", "typing_extensions"}, third_party


# -- query and headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_query_model_with_multi_values(source: str) -> None:
    app = App()

    def search(query: Search) -> dict:
        return msgspec.to_builtins(query)

    search.__annotations__ = {"query": Search}
    app.get("/search")(search)
    client = TestClient(app, source=source, **({"multi_value": True} if source == "alb" else {}))
    res = client.get("/search?tag=red&tag=blue&page=3&q=a%20b")
    assert res.status_code == 200
    assert res.json() == {"tag": ["red", "blue"], "page": 3, "q": "a b"}
    assert client.get("/search").json() == {"tag": [], "page": 1, "q": None}
    bad = client.get("/search?page=two")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == [
        {"location": "query", "path": "$.page", "message": bad.json()["error"]["details"][0]["message"]}
    ]


def test_alb_without_multi_value_headers_keeps_the_last_query_value() -> None:
    app = App()
    app.get("/q")(lambda ctx: {"tag": ctx.query.getall("tag"), "first": ctx.query.get("tag")})
    res = TestClient(app, source="alb").get("/q?tag=red&tag=blue")
    assert res.json() == {"tag": ["blue"], "first": "blue"}


def test_query_as_dataclass_single_value_for_list_field() -> None:
    app = App()

    def search(query: SearchDataclass) -> dict:
        return dataclasses.asdict(query)

    search.__annotations__ = {"query": SearchDataclass}
    app.get("/s")(search)
    res = TestClient(app).get("/s?tag=only")
    assert res.json() == {"tag": ["only"], "page": 1}
    missing = TestClient(app).get("/s")
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["location"] == "query"


def test_headers_by_marker_as_default_and_annotated() -> None:
    app = App()

    @app.get("/whoami")
    def whoami(
        tenant: str = Header("X-Tenant-Id"),
        x_trace: Annotated[str, Header()] = "none",
        limit: Annotated[int, Header("X-Limit")] = 10,
        accept: Annotated[list[str], Header("Accept")] = None,  # type: ignore[assignment]  # noqa: RUF013
    ) -> dict:
        return {"tenant": tenant, "trace": x_trace, "limit": limit, "accept": accept}

    client = TestClient(app, source="rest")
    res = client.get(
        "/whoami",
        headers={"x-tenant-id": "acme", "X-Trace": "t-1", "X-Limit": "5", "Accept": ["application/json", "text/plain"]},
    )
    assert res.json() == {"tenant": "acme", "trace": "t-1", "limit": 5, "accept": ["application/json", "text/plain"]}
    defaults = client.get("/whoami", headers={"X-Tenant-Id": "acme"})
    assert defaults.json()["trace"] == "none" and defaults.json()["limit"] == 10


def test_missing_or_bad_header_is_422_in_location_header() -> None:
    app = App()

    @app.get("/h")
    def h(tenant: str = Header("X-Tenant-Id"), limit: Annotated[int, Header("X-Limit")] = 1) -> dict:
        return {}

    client = TestClient(app)
    missing = client.get("/h")
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["location"] == "header"
    assert "X-Tenant-Id" in missing.json()["error"]["details"][0]["message"]
    bad = client.get("/h", headers={"X-Tenant-Id": "a", "X-Limit": "lots"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "$.x-limit"


def test_ctx_request_and_keyword_only_parameters() -> None:
    app = App()

    @app.get("/kw/{name}")
    def kw(*, name: str, ctx: Context, request: Request, extra: int = 3) -> dict:
        return {"name": name, "same": ctx.request is request, "extra": extra}

    assert TestClient(app).get("/kw/bob").json() == {"name": "bob", "same": True, "extra": 3}


def test_unannotated_ctx_and_path_param() -> None:
    app = App()
    app.get("/u/{user_id}")(lambda ctx, user_id: {"user_id": user_id, "method": ctx.method})
    assert TestClient(app).get("/u/x").json() == {"user_id": "x", "method": "GET"}


# -- return values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_return_values_become_responses(source: str) -> None:
    app = App()
    app.get("/model")(lambda: Item(sku="a", qty=1))
    app.get("/dict")(lambda: {"a": 1})
    app.get("/list")(lambda: [1, "two"])
    app.post("/created", status=201)(lambda: {"id": 1})
    app.get("/none")(lambda: None)
    app.post("/accepted", status=202)(lambda: None)
    app.get("/text")(lambda: "plain words")
    app.get("/dataclass")(lambda: DataclassItem("d", 4))
    app.get("/pydantic")(lambda: PydanticItem(sku="p", qty=5))
    client = TestClient(app, source=source)

    res = client.get("/model")
    assert (res.status_code, res.json(), res.headers["Content-Type"]) == (
        200,
        {"sku": "a", "qty": 1},
        "application/json",
    )
    assert client.get("/dict").json() == {"a": 1}
    assert client.get("/list").json() == [1, "two"]
    assert client.post("/created").status_code == 201
    none = client.get("/none")
    assert (none.status_code, none.body) == (204, b"")
    assert client.post("/accepted").status_code == 202
    text = client.get("/text")
    assert text.text == "plain words" and text.headers["Content-Type"].startswith("text/plain")
    assert client.get("/dataclass").json() == {"sku": "d", "qty": 4}
    assert client.get("/pydantic").json() == {"sku": "p", "qty": 5}


@pytest.mark.parametrize("source", SOURCES)
def test_response_gives_full_control(source: str) -> None:
    app = App()

    @app.get("/full")
    def full() -> Response:
        resp = Response.json({"ok": True}, status=202, headers={"X-Custom": "yes"})
        resp.set_cookie("session", "abc", max_age=60)
        resp.set_cookie("theme", "dark", httponly=False)
        return resp

    @app.get("/png")
    def png() -> Response:
        return Response.binary(b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "image/png")

    @app.get("/octets")
    def octets() -> Response:
        return Response(bytes(range(256)))

    @app.get("/html")
    def html() -> Response:
        return Response.html("<h1>hi</h1>", status=418)

    @app.get("/go")
    def go() -> Response:
        return Response.redirect("https://example.com/next", 302)

    client = TestClient(app, source=source)
    res = client.get("/full")
    assert res.status_code == 202
    assert res.json() == {"ok": True}
    assert res.headers["X-Custom"] == "yes"
    assert len(res.cookies) == 2
    assert res.cookies[0].startswith("session=abc;") and "Max-Age=60" in res.cookies[0]
    assert "HttpOnly" in res.cookies[0] and "HttpOnly" not in res.cookies[1]

    png_raw = client.get("/png").raw
    assert png_raw["isBase64Encoded"] is True
    assert base64.b64decode(png_raw["body"]) == b"\x89PNG\r\n\x1a\n\x00\xff\xfe"

    octets = client.get("/octets")
    assert octets.raw["isBase64Encoded"] is True and octets.body == bytes(range(256))
    assert octets.headers["Content-Type"] == "application/octet-stream"

    html = client.get("/html")
    assert (html.status_code, html.text, html.raw["isBase64Encoded"]) == (418, "<h1>hi</h1>", False)

    go = client.get("/go")
    assert go.status_code == 302 and go.headers["Location"] == "https://example.com/next" and go.body == b""


# -- async handlers --------------------------------------------------------------------------------------


def test_async_handlers_run_on_one_loop_reused_across_invocations() -> None:
    app = App()
    loops: list[int] = []

    @app.get("/async/{n}")
    async def slow(ctx: Context, n: int) -> dict:
        await asyncio.sleep(0)
        loops.append(id(asyncio.get_running_loop()))
        return {"n": n}

    @app.post("/async-body")
    async def with_body(body: Item) -> Item:
        await asyncio.sleep(0)
        loops.append(id(asyncio.get_running_loop()))
        return body

    client = TestClient(app)
    for n in range(3):
        assert client.get(f"/async/{n}").json() == {"n": n}
    assert client.post("/async-body", json={"sku": "x", "qty": 1}).json() == {"sku": "x", "qty": 1}
    assert client.post("/async-body", json={"sku": "x"}).status_code == 422
    assert len(loops) == 4
    assert len(set(loops)) == 1


def test_async_handler_errors_become_the_error_contract() -> None:
    from lift.errors import Conflict

    app = App()

    @app.get("/boom")
    async def boom() -> None:
        raise Conflict("already there")

    res = TestClient(app).get("/boom")
    assert res.status_code == 409
    assert res.json()["error"]["message"] == "already there"


def test_async_handler_called_from_inside_a_running_loop() -> None:
    app = App()

    @app.get("/a")
    async def a() -> dict:
        await asyncio.sleep(0)
        return {"ok": True}

    async def main() -> dict:
        return app.handler(events.apigw_rest("GET", "/a"), lambda_context())

    assert asyncio.run(main())["statusCode"] == 200


def test_optional_typed_header() -> None:
    app = App()

    @app.get("/opt")
    def opt(version: Annotated[int | None, Header("X-Api-Version")] = None) -> dict:
        return {"version": version}

    client = TestClient(app, source="http")
    assert client.get("/opt").json() == {"version": None}
    assert client.get("/opt", headers={"X-Api-Version": "3"}).json() == {"version": 3}
    assert client.get("/opt", headers={"X-Api-Version": "three"}).status_code == 422


class Leaves(msgspec.Struct):
    s: str
    i: int
    f: float
    b: bool


@pytest.mark.parametrize("wrong", ["text", True, None, [1], {"a": 1}, 7, 1.5], ids=repr)
def test_each_wrong_leaf_reports_msgspecs_own_message_on_every_request(wrong: object) -> None:
    app = App()

    def create(body: Leaves) -> dict:
        return {}

    app.post("/leaves")(create)
    client = TestClient(app)
    good = {"s": "x", "i": 1, "f": 1.0, "b": False}
    expected = []
    for name, tp in (("s", str), ("i", int), ("f", float), ("b", bool)):
        try:
            msgspec.convert(wrong, tp, strict=True)
        except msgspec.ValidationError as exc:
            expected.append({"location": "body", "path": f"$.{name}", "message": str(exc)})
    bad = dict.fromkeys(good, wrong)
    for _ in range(3):  # the first answer asks msgspec, later ones reuse its message: all the same
        res = client.post("/leaves", json=bad)
        assert res.status_code == 422
        assert res.json()["error"]["details"] == expected


def test_a_status_error_keeps_its_message_as_its_only_argument() -> None:
    from lift.errors import BadRequest, ValidationFailed

    err = ValidationFailed(details=[{"path": "$"}])
    assert (err.args, str(err), err.status, err.code, err.details, err.headers) == (
        ("Validation failed",),
        "Validation failed",
        422,
        "validation_failed",
        [{"path": "$"}],
        None,
    )
    custom = BadRequest("no", code="nope", headers={"X": "1"})
    assert (custom.args, custom.message, custom.code, custom.headers, custom.status) == (
        ("no",),
        "no",
        "nope",
        {"X": "1"},
        400,
    )


def test_a_plain_model_route_registers_before_msgspec_reads_it_and_still_checks_bodies() -> None:
    from lift.validation import codec_for

    Plain = msgspec.defstruct("Plain", [("name", str), ("age", int)])
    Child = msgspec.defstruct("Child", [("score", float)], bases=(Plain,))  # real classes, not strings
    Nested = msgspec.defstruct("Nested", [("child", Child)])

    assert "_decoder" not in codec_for(Child, "body").__dict__  # made on the first body
    assert "_decoder" in codec_for(Nested, "body").__dict__  # not plain: built (and checked) at once
    app = App()

    def create(body) -> dict:
        return {"name": body.name, "score": body.score}

    create.__annotations__["body"] = Child  # (this module's annotations are strings)
    app.post("/children")(create)
    client = TestClient(app)
    assert client.post("/children", json={"name": "a", "age": 1, "score": 2}).json() == {"name": "a", "score": 2.0}
    bad = client.post("/children", json={"name": "a", "age": "x"})
    assert bad.status_code == 422
    assert [d["path"] for d in bad.json()["error"]["details"]] == ["$.age", "$.score"]


def test_an_unsupported_field_type_still_fails_at_registration() -> None:
    class Odd(msgspec.Struct):
        when: complex

    app = App()

    def create(body: Odd) -> dict:
        return {}

    with pytest.raises(TypeError):
        app.post("/odd")(create)


def test_a_bad_optional_header_names_the_whole_accepted_type() -> None:
    app = App()

    @app.get("/h")
    def h(
        limit: Annotated[int | None, Header("X-Limit")] = None,
        page: Optional[int] = Header("X-Page", default=None),  # noqa: UP045  # (typing's spelling, too)
    ) -> dict:
        return {"limit": limit, "page": page}

    client = TestClient(app)
    bad = client.get("/h", headers={"X-Limit": "lots", "X-Page": "1"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == [
        {"location": "header", "path": "$.x-limit", "message": "Expected integer | null, got 'lots'"}
    ]
    bad = client.get("/h", headers={"X-Page": "first"})
    assert bad.json()["error"]["details"][0]["message"] == "Expected integer | null, got 'first'"
    assert client.get("/h", headers={"X-Limit": "3"}).json() == {"limit": 3, "page": None}
