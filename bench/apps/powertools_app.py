"""The bench service on Powertools' APIGatewayRestResolver, untyped: bodies checked by hand."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from catalog import RESOURCES, check_fields, created, deleted, item, listing

app = APIGatewayRestResolver()


def unprocessable(message: str, details=None) -> Response:
    return Response(
        status_code=422,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": "validation_failed", "message": message, "details": details}},
    )


def add_routes(collection: str, singular: str, fields: tuple) -> None:
    def list_items():
        return listing(singular)

    def create_item():
        data = app.current_event.json_body
        problems = check_fields(data, fields)
        if problems:
            return unprocessable("invalid request body", problems)
        return created({name: data[name] for name in fields}), 201

    def get_item(id):
        try:
            return item(singular, int(id))
        except ValueError:
            return unprocessable("id must be an integer")

    def delete_item(id):
        try:
            return deleted(int(id))
        except ValueError:
            return unprocessable("id must be an integer")

    app.get(f"/{collection}")(list_items)
    app.post(f"/{collection}")(create_item)
    app.get(f"/{collection}/<id>")(get_item)
    app.delete(f"/{collection}/<id>")(delete_item)


for _collection, _singular, _fields in RESOURCES:
    add_routes(_collection, _singular, _fields)


def handler(event, context):
    return app.resolve(event, context)
