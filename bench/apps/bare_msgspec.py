"""The limit: a hand-written Lambda handler using msgspec, as fast as plain Python gets.

Dict lookups on method and path (like `bare.py`), a typed `msgspec.Struct` per body decoded
and validated by msgspec in one C call, bodies encoded by one module-level `msgspec` encoder.
No framework does less work than this for the same answers, so it is the floor Lift's warm
path is measured against. msgspec reports the first problem of an invalid body only (Lift
lists every one): the invalid POST here costs one failed decode.
"""

import msgspec
from catalog import RESOURCES, created, deleted, item, listing

JSON_HEADERS = {"Content-Type": "application/json"}
_encode = msgspec.json.Encoder().encode


def respond(status: int, data) -> dict:
    return {"statusCode": status, "headers": JSON_HEADERS, "body": _encode(data).decode(), "isBase64Encoded": False}


def error(status: int, code: str, message: str, details=None) -> dict:
    return respond(status, {"error": {"code": code, "message": message, "details": details}})


def make_routes(singular: str, fields: tuple):
    text_a, text_b, number = fields
    model = msgspec.defstruct(f"New{singular.title()}", [(text_a, str), (text_b, str), (number, int)])
    decode = msgspec.json.Decoder(model).decode
    to_dict = msgspec.structs.asdict

    def list_items(event):
        return respond(200, listing(singular))

    def create_item(event):
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(body)
        try:
            data = decode(body)
        except msgspec.ValidationError as exc:
            return error(422, "validation_failed", "invalid request body", [{"msg": str(exc)}])
        except msgspec.DecodeError:
            return error(400, "bad_request", "body is not valid JSON")
        return respond(201, created(to_dict(data)))

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


def dispatch(event, method: str, path: str) -> dict:
    route = STATIC_ROUTES.get((method, path))
    if route is not None:
        return route(event)
    parent, _, last = path.rpartition("/")
    route = ITEM_ROUTES.get((method, parent))
    if route is not None and last:
        return route(event, last)
    return error(404, "not_found", f"no route for {method} {path}")


def handler(event, context):
    """REST API (payload 1.0) events."""
    return dispatch(event, event["httpMethod"], event["path"])


def handler_v2(event, context):
    """HTTP API (payload 2.0, `$default` stage) and function URL events: the same response shape."""
    return dispatch(event, event["requestContext"]["http"]["method"], event["rawPath"])


_ALB_PHRASES = {200: "200 OK", 201: "201 Created", 404: "404 Not Found", 422: "422 Unprocessable Entity"}


def handler_alb(event, context):
    """ALB events (single-value headers): the same answer plus the status line ALB wants."""
    out = dispatch(event, event["httpMethod"], event["path"])
    out["statusDescription"] = _ALB_PHRASES.get(out["statusCode"]) or str(out["statusCode"])
    return out
