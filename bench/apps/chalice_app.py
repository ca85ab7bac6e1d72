"""The bench service in Chalice, untyped: path params are strings, bodies checked by hand.

Chalice routes on the API Gateway resource, so an unknown path only reaches it through a
catch-all ``/{proxy+}`` resource; the extra route below answers those with a 404.
"""

from catalog import RESOURCES, check_fields, created, deleted, item, listing
from chalice import Chalice, NotFoundError, Response

app = Chalice(app_name="bench-service")


def unprocessable(message: str, details=None) -> Response:
    return Response(
        body={"error": {"code": "validation_failed", "message": message, "details": details}}, status_code=422
    )


def add_routes(collection: str, singular: str, fields: tuple) -> None:
    def list_items():
        return listing(singular)

    def create_item():
        data = app.current_request.json_body
        problems = check_fields(data, fields)
        if problems:
            return unprocessable("invalid request body", problems)
        return Response(body=created({name: data[name] for name in fields}), status_code=201)

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
