"""The bench service in Chalice with pydantic models validating every body and path param."""

import pydantic
from catalog import RESOURCES, created, deleted, item, listing
from chalice import Chalice, NotFoundError, Response

app = Chalice(app_name="bench-service")
ItemId = pydantic.TypeAdapter(int)


def unprocessable(error: pydantic.ValidationError) -> Response:
    details = error.errors(include_url=False, include_context=False, include_input=False)
    return Response(
        body={"error": {"code": "validation_failed", "message": "invalid request", "details": details}}, status_code=422
    )


def body_model(singular: str, fields: tuple) -> type[pydantic.BaseModel]:
    text_a, text_b, number = fields
    return pydantic.create_model(
        f"New{singular.title()}", **{text_a: (str, ...), text_b: (str, ...), number: (int, ...)}
    )


def add_routes(collection: str, singular: str, fields: tuple) -> None:
    model = body_model(singular, fields)

    def list_items():
        return listing(singular)

    def create_item():
        try:
            body = model.model_validate_json(app.current_request.raw_body)
        except pydantic.ValidationError as error:
            return unprocessable(error)
        return Response(body=created(body.model_dump()), status_code=201)

    def get_item(id):
        try:
            return item(singular, ItemId.validate_strings(id))
        except pydantic.ValidationError as error:
            return unprocessable(error)

    def delete_item(id):
        try:
            return deleted(ItemId.validate_strings(id))
        except pydantic.ValidationError as error:
            return unprocessable(error)

    app.route(f"/{collection}", methods=["GET"], name=f"list_{collection}")(list_items)
    app.route(f"/{collection}", methods=["POST"], name=f"create_{collection}")(create_item)
    app.route(f"/{collection}/{{id}}", methods=["GET"], name=f"get_{collection}")(get_item)
    app.route(f"/{collection}/{{id}}", methods=["DELETE"], name=f"delete_{collection}")(delete_item)


for _collection, _singular, _fields in RESOURCES:
    add_routes(_collection, _singular, _fields)


@app.route("/{proxy+}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found():
    raise NotFoundError(f"no route for {app.current_request.method} {app.current_request.path}")


handler = app
