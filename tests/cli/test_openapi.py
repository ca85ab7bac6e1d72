"""OpenAPI 3.1 from typed handlers, checked with openapi-spec-validator."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import uuid
from typing import Annotated, TypedDict

import msgspec
import pydantic
import pytest
from openapi_spec_validator import validate

from examples.users_api.app import app as users_app
from lift import App, Context, Header, Response
from lift.openapi import openapi_spec


@pytest.fixture(scope="module")
def users_spec():
    spec = openapi_spec(users_app)
    validate(spec)
    return spec


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def test_users_api_paths_and_operations(users_spec):
    assert users_spec["openapi"] == "3.1.0"
    assert users_spec["info"] == {"title": "users", "version": "0.1.0"}
    assert set(users_spec["paths"]) == {"/", "/users", "/users/{user_id}"}
    assert set(users_spec["paths"]["/users/{user_id}"]) == {"get", "patch", "delete"}
    assert users_spec["paths"]["/users"]["post"]["operationId"] == "create_user"


def test_path_and_query_parameters(users_spec):
    get_user = users_spec["paths"]["/users/{user_id}"]["get"]
    assert get_user["parameters"] == [
        {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    listing = {p["name"]: p for p in users_spec["paths"]["/users"]["get"]["parameters"]}
    assert set(listing) == {"limit", "offset", "email"}
    assert listing["limit"]["in"] == "query" and listing["limit"]["required"] is False
    assert listing["limit"]["schema"] == {"type": "integer", "default": 50}


def test_request_body_and_responses(users_spec):
    create = users_spec["paths"]["/users"]["post"]
    assert create["requestBody"] == {"required": True, "content": {"application/json": {"schema": ref("NewUser")}}}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == ref("User")
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == ref("Error")
    assert create["responses"]["400"]["content"]["application/json"]["schema"] == ref("Error")
    assert "200" not in create["responses"]
    delete = users_spec["paths"]["/users/{user_id}"]["delete"]
    assert delete["responses"]["204"] == {"description": "No Content"}
    listing = users_spec["paths"]["/users"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"type": "array", "items": ref("User")}


def test_component_schemas_keep_constraints(users_spec):
    schemas = users_spec["components"]["schemas"]
    new_user = schemas["NewUser"]
    assert new_user["required"] == ["name", "email"]
    assert new_user["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 100}
    assert new_user["additionalProperties"] is False
    error = schemas["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message"]


# -- every kind of typed handler ----------------------------------------------------------------
class Widget(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=2)
    tags: list[str] = []


@dataclasses.dataclass
class Note:
    text: str
    pinned: bool = False


class Filter(TypedDict, total=False):
    color: str
    size: list[int]


class Page(msgspec.Struct):
    limit: int = 10
    tags: list[str] = []


def typed_app() -> App:
    app = App(name="typed")
    api = app.group("/v1")

    @api.post("/widgets", status=201, responses={409: "A widget with that name exists"})
    def create_widget(ctx: Context, body: Widget) -> Widget:
        """Create a widget.

        Names are unique per tenant."""
        return body

    @api.get("/widgets")
    async def list_widgets(
        query: Page, tenant: Annotated[str, Header("X-Tenant-Id")], trace: str | None = Header("X-Trace", default=None)
    ) -> list[Widget]:
        return []

    @api.put("/notes/{note_id}")
    def put_note(note_id: uuid.UUID, body: Note) -> Note:
        return body

    @api.post("/search")
    def search(body: Filter | None = None) -> dict:
        return {}

    @api.post("/raw")
    def raw(body: bytes) -> Response:
        return Response(body)

    @api.post("/echo")
    def echo(body: str) -> str:
        return body

    @api.get("/files/{path+}")
    def files(path: str) -> str:
        return path

    @app.sqs("orders")
    def consume(body: dict) -> None:
        return None

    return app


@pytest.fixture(scope="module")
def typed_spec():
    spec = openapi_spec(typed_app(), title="Typed API", version="2.0.0")
    validate(spec)
    return spec


def test_pydantic_models_headers_and_docs(typed_spec):
    assert typed_spec["info"] == {"title": "Typed API", "version": "2.0.0"}
    create = typed_spec["paths"]["/v1/widgets"]["post"]
    assert create["summary"] == "Create a widget."
    assert create["description"] == "Names are unique per tenant."
    assert create["requestBody"]["content"]["application/json"]["schema"] == ref("Widget")
    assert typed_spec["components"]["schemas"]["Widget"]["properties"]["name"]["minLength"] == 2
    assert create["responses"]["409"]["description"] == "A widget with that name exists"
    listing = typed_spec["paths"]["/v1/widgets"]["get"]
    params = {(p["in"], p["name"]): p for p in listing["parameters"]}
    assert params[("header", "X-Tenant-Id")]["required"] is True
    assert params[("header", "X-Trace")]["required"] is False
    assert params[("query", "tags")]["schema"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert params[("query", "tags")]["explode"] is True
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": ref("Widget"),
    }


def test_dataclass_typeddict_uuid_text_bytes_and_greedy_paths(typed_spec):
    put = typed_spec["paths"]["/v1/notes/{note_id}"]["put"]
    assert put["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert put["requestBody"]["content"]["application/json"]["schema"] == ref("Note")
    assert typed_spec["components"]["schemas"]["Note"]["required"] == ["text"]
    search = typed_spec["paths"]["/v1/search"]["post"]["requestBody"]
    assert search["required"] is False
    assert typed_spec["components"]["schemas"]["Filter"]["type"] == "object"
    raw = typed_spec["paths"]["/v1/raw"]["post"]
    assert list(raw["requestBody"]["content"]) == ["application/octet-stream"]
    assert "content" not in raw["responses"]["200"]
    echo = typed_spec["paths"]["/v1/echo"]["post"]
    assert list(echo["requestBody"]["content"]) == ["text/plain"]
    assert echo["responses"]["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert "/v1/files/{path}" in typed_spec["paths"]


def test_event_sources_are_not_http_paths(typed_spec):
    assert all(path.startswith("/v1/") for path in typed_spec["paths"])


def test_cli_openapi_writes_a_valid_document(cli, tmp_path):
    out = tmp_path / "openapi.json"
    result = cli("openapi", "examples.users_api.app:app", "--output", str(out), "--api-version", "1.2.3")
    assert result.code == 0, result
    spec = json.loads(out.read_text())
    validate(spec)
    assert spec["info"]["version"] == "1.2.3"
    printed = cli("openapi", "examples.users_api.app:app")
    assert printed.code == 0 and json.loads(printed.stdout)["paths"] == spec["paths"]


def test_route_options_tags_deprecated_and_hidden():
    app = App(name="opts")

    @app.get("/visible", tags=["admin"], deprecated=True)
    def visible() -> dict:
        return {}

    @app.get("/internal", include_in_schema=False)
    def internal() -> dict:
        return {}

    spec = openapi_spec(app)
    validate(spec)
    assert list(spec["paths"]) == ["/visible"]
    operation = spec["paths"]["/visible"]["get"]
    assert operation["tags"] == ["admin"] and operation["deprecated"] is True


def _recursive(name: str, module: str, fields: dict[str, type]) -> type:
    """A msgspec model `module.name` with `fields` and `children: list[<itself>]`."""
    annotations = {**fields, "children": f"list[{name}]"}
    model = type(name, (msgspec.Struct,), {"__module__": module, "__annotations__": annotations, "children": []})
    sys.modules.setdefault(module, types.ModuleType(module)).__dict__[name] = model  # for its annotation
    return model


OrdersNode = _recursive("Node", "orders_models", {"order_id": int})
UsersNode = _recursive("Node", "users_models", {"email": str})


class Error(msgspec.Struct):  # the app's own model called Error, beside the error contract's
    reason: str


def test_models_sharing_a_name_each_keep_their_own_schema():
    app = App(name="shop")

    @app.post("/orders/tree")
    def order_tree(ctx: Context, body: OrdersNode) -> OrdersNode: ...

    @app.post("/users/tree")
    def user_tree(ctx: Context, body: UsersNode) -> list[UsersNode]: ...

    @app.put("/orders/tree")
    def replace_order_tree(ctx: Context, body: OrdersNode) -> Error: ...

    @app.post("/raw", request_schema={"$defs": {"Node": {"type": "string"}}, "$ref": "#/$defs/Node"})
    def raw(ctx: Context) -> None: ...

    spec = openapi_spec(app)
    validate(spec)
    schemas = spec["components"]["schemas"]

    def component(schema: dict) -> tuple[str, dict]:
        name = schema["$ref"].rsplit("/", 1)[1]
        return name, schemas[name]

    def body(path: str, method: str) -> dict:
        return spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]

    def answer(path: str, method: str, status: str = "200") -> dict:
        return spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]

    orders_name, orders = component(body("/orders/tree", "post"))
    users_name, users = component(body("/users/tree", "post"))
    assert set(orders["properties"]) == {"order_id", "children"} and set(users["properties"]) == {"email", "children"}
    assert orders["properties"]["children"]["items"] == ref(orders_name)  # each recursion to itself
    assert users["properties"]["children"]["items"] == ref(users_name)
    assert component(answer("/orders/tree", "post"))[0] == orders_name
    assert answer("/users/tree", "post")["items"] == ref(users_name)
    assert component(body("/orders/tree", "put"))[0] == orders_name  # a model used twice: one component
    assert component(body("/raw", "post"))[1] == {"type": "string"}
    assert set(component(answer("/orders/tree", "put"))[1]["properties"]) == {"reason"}
    contract = component(
        spec["paths"]["/orders/tree"]["post"]["responses"]["default"]["content"]["application/json"]["schema"]
    )
    assert contract == ("Error", schemas["Error"]) and set(schemas["Error"]["properties"]) == {"error"}
    assert sum(1 for s in schemas.values() if s.get("title") == "Node") == 2


def test_each_documented_response_media_type_is_the_one_served():
    from lift.testing import TestClient

    app = App(name="media")

    @app.get("/raw")
    def raw() -> bytes:
        return b"\x00\x01"

    @app.get("/text")
    def text() -> str:
        return "hi"

    @app.get("/json")
    def as_json() -> dict:
        return {"a": 1}

    spec = openapi_spec(app)
    validate(spec)
    client = TestClient(app)
    for path in ("/raw", "/text", "/json"):
        documented = list(spec["paths"][path]["get"]["responses"]["200"]["content"])
        served = client.get(path).headers["content-type"].split(";")[0]
        assert documented == [served], path


class Quantity(msgspec.Struct):
    qty: int


def test_every_status_a_body_route_answers_a_client_mistake_with_is_documented():
    """A body sent as XML, in UTF-16 or gzip-encoded is a 415, which the document did not list."""
    from lift.testing import TestClient

    app = App(name="mistakes", max_body_size=64)

    @app.post("/orders", status=201)
    def create(body: Quantity) -> dict:
        return {}

    documented = set(openapi_spec(app)["paths"]["/orders"]["post"]["responses"])
    client = TestClient(app)
    json_type = {"Content-Type": "application/json"}
    answers = {
        client.post("/orders", body='{"qty": 1}', headers=json_type).status_code,
        client.post("/orders", body="{", headers=json_type).status_code,
        client.post("/orders", body='{"qty": "x"}', headers=json_type).status_code,
        client.post("/orders", body='{"qty": 1}' + " " * 64, headers=json_type).status_code,
        client.post("/orders", body="<order/>", headers={"Content-Type": "application/xml"}).status_code,
        client.post(
            "/orders", body='{"qty": 1}', headers={"Content-Type": "application/json; charset=utf-16"}
        ).status_code,
    }
    assert answers == {201, 400, 413, 415, 422}
    assert {str(status) for status in answers} <= documented


def test_handlers_sharing_a_name_get_unique_operation_ids():
    """Three routes whose handlers are all called `show` (one name per module is common): OpenAPI
    wants every operationId unique, and generated clients name their methods after them."""
    app = App(name="names")
    for prefix in ("a", "b", "c"):

        @app.get(f"/{prefix}/{{item_id}}")
        def show(item_id: int) -> dict: ...

    @app.route("/multi", methods=["GET", "POST"])
    def show_get() -> dict: ...  # (also the name the second `show` would take)

    spec = openapi_spec(app)
    validate(spec)
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == 5
    assert spec["paths"]["/a/{item_id}"]["get"]["operationId"] == "show"
