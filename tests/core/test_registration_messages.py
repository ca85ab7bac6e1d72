"""The errors a developer meets while writing an app say what to write instead."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from lift import App, Context, Header
from lift.errors import UnmatchedEvent
from lift.testing import TestClient

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "events"
if not CORPUS.is_dir():  # a worktree: the corpus sits next to the repositories' parent
    CORPUS = Path("/work/shared/corpus/events")


class Order(msgspec.Struct):
    id: int


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    age: int


def test_a_typed_path_parameter_points_to_the_annotation():
    app = App(name="orders")
    with pytest.raises(ValueError) as raised:

        @app.get("/orders/{order_id:int}")
        def get_order(order_id: int) -> dict:
            return {}

    message = str(raised.value)
    assert "{order_id}" in message and "annotation" in message and "order_id: int" in message


def test_a_record_handler_with_an_unknown_parameter_lists_what_records_accept():
    app = App(name="orders")
    with pytest.raises(TypeError) as raised:

        @app.sqs("orders")
        def on_order(ctx: Context, order: Order) -> None: ...

    message = str(raised.value)
    assert "'order'" in message and "`body`" in message and "`ctx`" in message
    assert "Header" not in message and "query" not in message and "path parameter" not in message


@pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")
def test_records_from_a_source_without_a_handler_name_that_source():
    event = json.loads((CORPUS / "aws-lambda-java-libs" / "codecommit_event.json").read_text(encoding="utf-8-sig"))
    app = App(name="repos")

    @app.sqs("orders")
    def on_order(body: dict) -> None: ...

    with pytest.raises(UnmatchedEvent) as raised:
        app.handler(event, None)
    assert "aws:codecommit" in str(raised.value) and "invoke event" not in str(raised.value)


def test_an_invalid_body_lists_every_problem_with_the_unknown_field():
    app = App(name="users")

    @app.post("/users", status=201)
    def create(body: NewUser) -> NewUser:
        return body

    response = TestClient(app).post("/users", json={"name": 5, "age": "x", "nickname": "al"})
    assert response.status_code == 422
    problems = {(p["path"], p["message"]) for p in response.json()["error"]["details"]}
    assert problems == {
        ("$.name", "Expected `str`, got `int`"),
        ("$.age", "Expected `int`, got `str`"),
        ("$", "Object contains unknown field `nickname`"),
    }
    alone = TestClient(app).post("/users", json={"name": "Al", "age": 3, "nickname": "al"})
    assert [p["message"] for p in alone.json()["error"]["details"]] == ["Object contains unknown field `nickname`"]


class ItemHandler:
    """A handler kept as an object (its dependencies on `self`), registered as `app.get(...)(ItemHandler())`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, item_id: int, ctx: Context) -> dict:
        return {"item": f"{self.prefix}-{item_id}"}


class AsyncItemHandler(ItemHandler):
    async def __call__(self, item_id: int, ctx: Context) -> dict:  # type: ignore[override]
        return {"async": f"{self.prefix}-{item_id}"}


class OrderRecords:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, body: Order) -> None:
        self.seen.append(body.id)


def test_callable_objects_and_partials_are_handlers_like_functions():
    """A callable object (or a `functools.partial`) as a handler failed at registration with
    `AttributeError: 'ItemHandler' object has no attribute '__qualname__'`: its annotations are on
    `__call__` (or the partial's function), read there, typed and bound as a function's are."""
    import functools

    from lift.testing import events

    def lookup(item_id: int, table: str) -> dict:
        return {"table": table, "item": item_id}

    app = App(name="objects")
    app.get("/items/{item_id}")(ItemHandler("sku"))
    app.get("/async/{item_id}")(AsyncItemHandler("a"))
    app.get("/lookup/{item_id}")(functools.partial(lookup, table="items"))
    records = OrderRecords()
    app.sqs("orders")(records)
    client = TestClient(app)
    assert client.get("/items/7").json() == {"item": "sku-7"}
    assert client.get("/async/8").json() == {"async": "a-8"}
    assert client.get("/lookup/9").json() == {"table": "items", "item": 9}
    invalid = client.get("/items/seven")
    assert invalid.status_code == 422 and "item_id" in invalid.text
    batch = events.sqs("orders", [{"id": 1}, {"id": "x"}])
    failed = app.handler(batch, None)["batchItemFailures"]
    assert records.seen == [1] and [f["itemIdentifier"] for f in failed] == [batch["Records"][1]["messageId"]]
    assert [repr(e).rsplit("-> ", 1)[1] for e in app.endpoints] == [
        "ItemHandler.__call__>",
        "AsyncItemHandler.__call__>",
        "test_callable_objects_and_partials_are_handlers_like_functions.<locals>.lookup>",
    ]
    with pytest.raises(TypeError, match=r"make OrderRecords.__call__ `async def`"):
        app.sqs("other", concurrency=4)(OrderRecords())


@pytest.mark.parametrize(
    ("decorator", "usage"),
    [
        ("get", '@app.get("/path")'),
        ("delete", '@app.delete("/path")'),
        ("route", '@app.route("/path", methods=[...])'),
        ("websocket", '@app.websocket("$connect")'),
        ("job", '@app.job("name")'),
        ("sqs", '@app.sqs("orders")'),
        ("firehose", '@app.sqs("orders")'),
        ("authorizer", '@app.sqs("orders")'),
        ("ses", '@app.sqs("orders")'),
        ("secrets_rotation", '@app.sqs("orders")'),
        ("cognito", '@app.cognito("pre_sign_up")'),
    ],
)
def test_a_decorator_without_its_parentheses_is_an_error_at_registration(decorator, usage):
    """`@app.get`, `@app.websocket` and `@app.job` above a function registered nothing and replaced
    the function with their inner `register` (every request a 404, silently); the event-source
    decorators failed with "'function' object is not iterable"."""
    app = App(name="orders")

    def handler(ctx: Context) -> None:
        return None

    with pytest.raises(TypeError) as raised:
        getattr(app, decorator)(handler)
    assert f"not the function 'handler': write {usage}" in str(raised.value)
    if decorator in ("get", "delete", "route"):
        assert TestClient(app).get("/").status_code == 404  # (nothing was registered)


def _mapping_header(ctx: Context, tier: dict[str, int] = Header("X-Tier")) -> dict:
    return {}


def _bytes_header(ctx: Context, tier: bytes = Header("X-Tier")) -> dict:
    return {}


def _nested_list_header(ctx: Context, tier: list[list[int]] = Header("X-Tier")) -> dict:
    return {}


def _unchecked_constraint_header(
    ctx: Context, tier: Annotated[Decimal, msgspec.Meta(ge=0)] = Header("X-Tier")
) -> dict:  # (msgspec checks no bound on a Decimal: every request would have been a 422)
    return {}


@pytest.mark.parametrize("handler", [_mapping_header, _bytes_header, _nested_list_header, _unchecked_constraint_header])
def test_a_header_of_a_type_lift_cannot_read_names_the_header(handler):
    """It failed as an "Unsupported path parameter type", though the parameter is a header."""
    app = App(name="orders")
    with pytest.raises(TypeError) as raised:
        app.get("/orders")(handler)
    message = str(raised.value)
    assert message.startswith("Header X-Tier: ") and "path parameter" not in message.lower()


def test_a_constraint_msgspec_cannot_check_fails_at_registration_naming_the_path_parameter():
    """`Annotated[Decimal, Meta(ge=0)]` (msgspec bounds no Decimal) registered, and every request was
    then a 422 whatever its value."""
    app = App(name="orders")
    with pytest.raises(TypeError) as raised:

        @app.get("/prices/{amount}")
        def price(ctx: Context, amount: Annotated[Decimal, msgspec.Meta(ge=0)]) -> dict:
            return {}

    assert str(raised.value).startswith("Path parameter amount: ") and "`ge`" in str(raised.value)
