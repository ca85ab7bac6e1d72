"""A bare hand-written Lambda handler: dict lookups for routing, json.dumps, manual checks.

This is the floor every framework is measured against: what a careful person writes with
no framework at all. Routing uses the request path (like the frameworks), so it works
behind both per-route resources and a catch-all ``/{proxy+}`` resource.
"""

import base64
import json

from catalog import RESOURCES, check_fields, created, deleted, item, listing

JSON_HEADERS = {"Content-Type": "application/json"}


def respond(status: int, data) -> dict:
    return {"statusCode": status, "headers": JSON_HEADERS, "body": json.dumps(data), "isBase64Encoded": False}


def error(status: int, code: str, message: str, details=None) -> dict:
    return respond(status, {"error": {"code": code, "message": message, "details": details}})


def read_json(event):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return json.loads(body)


def make_routes(singular: str, fields: tuple):
    def list_items(event):
        return respond(200, listing(singular))

    def create_item(event):
        try:
            data = read_json(event)
        except ValueError:
            return error(400, "bad_request", "body is not valid JSON")
        problems = check_fields(data, fields)
        if problems:
            return error(422, "validation_failed", "invalid request body", problems)
        return respond(201, created({name: data[name] for name in fields}))

    def get_item(event, raw_id):
        try:
            return respond(200, item(singular, int(raw_id)))
        except ValueError:
            return error(422, "validation_failed", "id must be an integer")

    def delete_item(event, raw_id):
        try:
            return respond(200, deleted(int(raw_id)))
        except ValueError:
            return error(422, "validation_failed", "id must be an integer")

    return list_items, create_item, get_item, delete_item


STATIC_ROUTES = {}  # (method, path) -> fn(event)
ITEM_ROUTES = {}  # (method, collection path) -> fn(event, raw_id)
for collection, singular, fields in RESOURCES:
    list_items, create_item, get_item, delete_item = make_routes(singular, fields)
    STATIC_ROUTES["GET", "/" + collection] = list_items
    STATIC_ROUTES["POST", "/" + collection] = create_item
    ITEM_ROUTES["GET", "/" + collection] = get_item
    ITEM_ROUTES["DELETE", "/" + collection] = delete_item


def handler(event, context):
    method = event["httpMethod"]
    path = event["path"]
    route = STATIC_ROUTES.get((method, path))
    if route is not None:
        return route(event)
    parent, _, last = path.rpartition("/")
    route = ITEM_ROUTES.get((method, parent))
    if route is not None and last:
        return route(event, last)
    return error(404, "not_found", f"no route for {method} {path}")
