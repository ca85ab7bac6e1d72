"""The bench service in Lift: typed ``int`` path params and msgspec.Struct bodies."""

import msgspec
from catalog import RESOURCES, created, deleted, item, listing

from lift import App, Context

app = App(name="bench-service")


def body_model(singular: str, fields: tuple) -> type[msgspec.Struct]:
    text_a, text_b, number = fields
    return msgspec.defstruct(f"New{singular.title()}", [(text_a, str), (text_b, str), (number, int)])


def add_routes(collection: str, singular: str, fields: tuple) -> None:
    model = body_model(singular, fields)

    def list_items(ctx: Context) -> dict:
        return listing(singular)

    def create_item(ctx: Context, body) -> dict:
        return created(msgspec.structs.asdict(body))

    def get_item(ctx: Context, id: int) -> dict:
        return item(singular, id)

    def delete_item(ctx: Context, id: int) -> dict:
        return deleted(id)

    create_item.__annotations__["body"] = model
    app.get(f"/{collection}")(list_items)
    app.post(f"/{collection}", status=201)(create_item)
    app.get(f"/{collection}/{{id}}")(get_item)
    app.delete(f"/{collection}/{{id}}")(delete_item)


for _collection, _singular, _fields in RESOURCES:
    add_routes(_collection, _singular, _fields)

handler = app.handler
