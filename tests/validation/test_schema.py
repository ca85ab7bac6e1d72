"""request_schema= / response_schema= (JSON Schema, jsonschema-rs), custom validators, response
validation by stage, and the schemas in OpenAPI."""

from __future__ import annotations

import logging

import msgspec
import pytest
from openapi_spec_validator import validate

from lift import App, Context
from lift.errors import ValidationFailed
from lift.middleware.tenancy import tenancy
from lift.openapi import openapi_spec
from lift.testing import TestClient

ORDER = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["customer", "items"],
    "additionalProperties": False,
    "properties": {
        "customer": {"type": "string", "minLength": 1},
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/Item"}},
    },
    "definitions": {
        "Item": {
            "type": "object",
            "required": ["sku", "qty"],
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                "qty": {"type": "integer", "minimum": 1},
            },
        }
    },
}

# 2020-12 (the default dialect): prefixItems and dependentRequired do not exist in draft 7
POINT = {
    "type": "object",
    "properties": {
        "coords": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False}
    },
    "dependentRequired": {"coords": ["srid"]},
}

RECEIPT = {
    "type": "object",
    "required": ["id", "total"],
    "properties": {"id": {"type": "string"}, "total": {"type": "number", "minimum": 0}},
}


class Item(msgspec.Struct):
    sku: str
    qty: int


class Order(msgspec.Struct):
    customer: str
    items: list[Item]


class Receipt(msgspec.Struct):
    id: str
    total: float


def test_a_valid_body_reaches_the_handler_and_an_invalid_one_is_a_422_listing_every_problem() -> None:
    app = App()

    @app.post("/orders", request_schema=ORDER, status=201)
    def create(body: dict) -> dict:
        return {"n": len(body["items"])}

    client = TestClient(app)
    ok = client.post("/orders", json={"customer": "ann", "items": [{"sku": "ABC-1", "qty": 2}]})
    assert ok.status_code == 201 and ok.json() == {"n": 1}
    bad = client.post("/orders", json={"customer": "", "items": [{"sku": "abc", "qty": 0}], "x": 1})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_failed" and error["request_id"]
    by_pointer = {d["pointer"]: d for d in error["details"]}
    assert set(by_pointer) == {"/customer", "/items/0/sku", "/items/0/qty", ""}
    assert by_pointer["/items/0/qty"]["path"] == "$.items[0].qty"
    assert by_pointer["/items/0/qty"]["location"] == "body"
    assert "minimum" in by_pointer["/items/0/qty"]["message"]
    assert "x" in by_pointer[""]["message"]  # additionalProperties, at the root
    assert client.post("/orders", body="{not json", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/orders").status_code == 422  # no body: null is not an object


@pytest.mark.parametrize(
    "ctype", ["application/x-www-form-urlencoded", "application/xml", "application/json; charset=utf-16"]
)
def test_a_body_that_is_not_json_is_a_415_on_a_schema_route(ctype: str) -> None:
    """A form (which a typed body alone takes) or XML sent to a route with request_schema= was parsed as
    JSON anyway: a 400 invalid_json saying "Input data was truncated" for `customer=ann`."""
    app = App()

    @app.post("/orders", request_schema=ORDER, status=201)
    def create(body: Order) -> dict:
        return {"n": len(body.items)}

    answer = TestClient(app).post("/orders", body="customer=ann&items=1", headers={"Content-Type": ctype})
    assert answer.status_code == 415
    assert answer.json()["error"]["code"] in ("unsupported_media_type", "unsupported_charset")


def test_json_schema_2020_12_is_the_default_dialect() -> None:
    app = App()

    @app.post("/points", request_schema=POINT)
    def create(body: dict) -> dict:
        return body

    client = TestClient(app)
    assert client.post("/points", json={"coords": [1, 2], "srid": 4326}).status_code == 200
    problems = client.post("/points", json={"coords": [1, 2, 3]}).json()["error"]["details"]
    assert {p["pointer"] for p in problems} == {"", "/coords/2"}  # srid missing; a third coordinate


def test_a_bad_schema_fails_at_registration_naming_the_handler() -> None:
    app = App()
    with pytest.raises(ValueError, match="create_thing: invalid JSON Schema"):

        @app.post("/things", request_schema={"type": "nope"})
        def create_thing(body: dict) -> dict:
            return body

    with pytest.raises(ValueError, match="unsupported \\$schema"):
        app.add_route("/x", lambda: None, ["POST"], request_schema={"$schema": "https://example.com/mine"})


def test_custom_validators_get_the_typed_body_and_ctx_after_type_checks() -> None:
    seen: list = []

    def max_items_for_tenant(body: Order, ctx: Context) -> None:
        seen.append(type(body))
        limit = 1 if ctx.tenant_id == "free" else 10
        if len(body.items) > limit:
            raise ValidationFailed(
                details=[{"location": "body", "path": "$.items", "message": f"at most {limit} items for this plan"}]
            )

    app = App()
    app.use(tenancy(resolve_from=["header:X-Tenant-Id"]))

    @app.post("/orders", validators=[max_items_for_tenant])
    def create(body: Order) -> dict:
        return {"n": len(body.items)}

    client = TestClient(app)
    two = {"customer": "ann", "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]}
    assert client.post("/orders", json=two, headers={"X-Tenant-Id": "pro"}).json() == {"n": 2}
    refused = client.post("/orders", json=two, headers={"X-Tenant-Id": "free"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"location": "body", "path": "$.items", "message": "at most 1 items for this plan"}
    ]
    assert seen == [Order, Order]
    wrong_type = client.post("/orders", json={"customer": 5, "items": []}, headers={"X-Tenant-Id": "pro"})
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["details"][0]["path"] == "$.customer"
    assert len(seen) == 2  # the custom rule never saw a body that failed its type


def _receipt_app(**options) -> App:
    app = App()

    @app.get("/receipts/{rid}", response_schema=RECEIPT, **options)
    def receipt(rid: str) -> dict:
        return {"id": rid, "total": -1 if rid == "bad" else 10}

    return app


def test_a_wrong_response_is_a_500_naming_the_field_in_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LIFT_STAGE", raising=False)
    monkeypatch.delenv("LIFT_RESPONSE_VALIDATION", raising=False)
    client = TestClient(_receipt_app())
    assert client.get("/receipts/ok").json() == {"id": "ok", "total": 10}
    with caplog.at_level(logging.ERROR, logger="lift"):
        resp = client.get("/receipts/bad")
    assert resp.status_code == 500
    error = resp.json()["error"]
    assert error["code"] == "invalid_response" and "total" not in resp.text  # the wrong body never leaves
    assert "$.total" in caplog.text and error["request_id"] in caplog.text


class Line(msgspec.Struct):
    sku: str
    qty: int


@pytest.mark.parametrize("many", [1, 100_000])
def test_a_wrong_response_writes_one_error_line_naming_the_route_and_each_field(
    many: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The docs' one ERROR line (route, request id, each wrong field), not a second generic 500 line
    with a traceback; bounded like a 422's report when the handler returns 100,000 wrong items."""
    app = App()

    @app.get("/lines/{order}", validate_response=True)
    def lines(order: str) -> list[Line]:
        return [{"sku": order, "qty": "two"}] * many  # type: ignore[list-item]

    with caplog.at_level(logging.ERROR, logger="lift"):
        resp = TestClient(app).get("/lines/o1")
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "invalid_response"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    assert line.startswith("Response of GET /lines/{order} failed validation")
    assert resp.json()["error"]["request_id"] in line and "$[0].qty: Expected `int`, got `str`" in line
    assert len(line) < 10_000


@pytest.mark.parametrize(
    ("stage", "setting", "route_option", "validated"),
    [
        ("prod", None, None, False),  # off in prod by default
        ("prod", "on", None, True),
        ("dev", "off", None, False),
        ("prod", None, True, True),  # the route's own choice wins
        (None, None, False, False),
    ],
)
def test_response_validation_is_switchable_per_stage(
    monkeypatch: pytest.MonkeyPatch, stage, setting, route_option, validated: bool
) -> None:
    for name, value in (("LIFT_STAGE", stage), ("LIFT_RESPONSE_VALIDATION", setting)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    options = {} if route_option is None else {"validate_response": route_option}
    status = TestClient(_receipt_app(**options)).get("/receipts/bad").status_code
    assert status == (500 if validated else 200)


def test_sampled_response_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_RESPONSE_VALIDATION", "0.5")
    client = TestClient(_receipt_app())
    statuses = [client.get("/receipts/bad").status_code for _ in range(200)]
    assert 40 < statuses.count(500) < 160 and set(statuses) == {200, 500}


def test_validate_response_against_the_return_annotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFT_STAGE", raising=False)
    monkeypatch.delenv("LIFT_RESPONSE_VALIDATION", raising=False)
    app = App()

    @app.get("/r/{rid}", validate_response=True)
    def receipt(rid: str) -> Receipt:
        return {"id": rid, "total": "ten"} if rid == "bad" else Receipt(rid, 10.0)  # type: ignore[return-value]

    client = TestClient(app)
    assert client.get("/r/ok").status_code == 200
    assert client.get("/r/bad").status_code == 500
    with pytest.raises(ValueError, match="needs response_schema= or a return annotation"):
        app.add_route("/none", lambda: None, validate_response=True)


def test_openapi_includes_the_schemas() -> None:
    app = App(name="orders")

    @app.post("/orders", request_schema=ORDER, response_schema=RECEIPT, status=201)
    def create(body: dict) -> dict:
        return body

    spec = openapi_spec(app)
    validate(spec)
    op = spec["paths"]["/orders"]["post"]
    body_schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert "$schema" not in body_schema and body_schema["required"] == ["customer", "items"]
    assert body_schema["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Item"}
    assert spec["components"]["schemas"]["Item"]["properties"]["qty"]["minimum"] == 1
    assert op["responses"]["201"]["content"]["application/json"]["schema"] == RECEIPT
    assert "422" in op["responses"]
