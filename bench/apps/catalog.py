"""The service every bench app implements: 13 resources x 4 routes = 52 routes.

Pure data and stdlib-only helpers, shared so every framework returns the same bodies.
The measured resource, ``users``, sits in the middle of the table so linear-scan routers
pay a realistic (not best-case) lookup cost.
"""

# (collection path, singular name, body fields: two strings and one int)
RESOURCES = [
    ("accounts", "account", ("name", "email", "seats")),
    ("orders", "order", ("customer", "sku", "quantity")),
    ("products", "product", ("title", "category", "price")),
    ("invoices", "invoice", ("customer", "currency", "amount")),
    ("payments", "payment", ("invoice", "method", "amount")),
    ("carts", "cart", ("owner", "currency", "items")),
    ("users", "user", ("name", "email", "age")),
    ("reviews", "review", ("author", "text", "stars")),
    ("shipments", "shipment", ("carrier", "tracking", "weight")),
    ("coupons", "coupon", ("code", "kind", "percent")),
    ("tickets", "ticket", ("subject", "priority", "number")),
    ("teams", "team", ("name", "slug", "size")),
    ("projects", "project", ("name", "owner", "budget")),
]

NEW_ID = 101


def item(singular: str, item_id: int) -> dict:
    """The body of GET /<collection>/{id}."""
    return {"id": item_id, "type": singular, "name": f"{singular} {item_id}", "active": True}


def listing(singular: str) -> dict:
    """The body of GET /<collection>."""
    return {"items": [item(singular, 1), item(singular, 2)], "next": None}


def created(fields: dict) -> dict:
    """The body of POST /<collection>: the stored item with its new id."""
    return {"id": NEW_ID, **fields}


def deleted(item_id: int) -> dict:
    """The body of DELETE /<collection>/{id}."""
    return {"id": item_id, "deleted": True}


def check_fields(data, fields: tuple) -> list:
    """Hand-written validation of a POST body: a list of problems, empty when valid."""
    if not isinstance(data, dict):
        return [{"loc": ["body"], "msg": "expected an object"}]
    problems = []
    for name, kind in zip(fields, (str, str, int)):
        if name not in data:
            problems.append({"loc": ["body", name], "msg": "field required"})
        elif type(data[name]) is not kind:
            problems.append({"loc": ["body", name], "msg": f"expected {kind.__name__}"})
    return problems
