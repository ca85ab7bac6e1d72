"""The bench service in FastAPI with pydantic models, adapted to Lambda by Mangum (default settings)."""

import pydantic
from catalog import RESOURCES, created, deleted, item, listing
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI(title="bench-service")


def body_model(singular: str, fields: tuple) -> type[pydantic.BaseModel]:
    text_a, text_b, number = fields
    return pydantic.create_model(
        f"New{singular.title()}", **{text_a: (str, ...), text_b: (str, ...), number: (int, ...)}
    )


def add_routes(collection: str, singular: str, fields: tuple) -> None:
    model = body_model(singular, fields)

    async def list_items():
        return listing(singular)

    async def create_item(body):
        return created(body.model_dump())

    async def get_item(id: int):
        return item(singular, id)

    async def delete_item(id: int):
        return deleted(id)

    create_item.__annotations__["body"] = model
    app.get(f"/{collection}")(list_items)
    app.post(f"/{collection}", status_code=201)(create_item)
    app.get(f"/{collection}/{{id}}")(get_item)
    app.delete(f"/{collection}/{{id}}")(delete_item)


for _collection, _singular, _fields in RESOURCES:
    add_routes(_collection, _singular, _fields)

handler = Mangum(app)
