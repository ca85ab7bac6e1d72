"""An invalid body's 422 lists every problem, and never carries a card number (PAN): a report
that quotes nothing from the input (field names, indices, types) skips the scan, any report that
quotes the input (enum and literal values, mapping keys, unknown field names) is masked, on the
direct path and through middleware alike."""

from __future__ import annotations

import json
import typing

import msgspec
import pytest

from lift import App, Context
from lift.errors import ValidationFailed
from lift.testing import events, lambda_context

VISA = "4111111111111111"
SPACED = "4111 1111 1111 1111"
DASHED = "5555-5555-5555-4444"
SHORT_VISA = "4222222222222"  # 13 digits, passes Luhn
UNIONPAY_19 = "6221260000000000001"  # 19 digits, passes Luhn
NOT_LUHN = "4111111111111112"


class Plan(msgspec.Struct):
    code: typing.Literal["basic", "pro"]


class Order(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    qty: int
    plan: Plan
    tags: dict[str, int] = {}


def make_app(*, middleware: bool) -> App:
    app = App(name="orders")
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.post("/orders", status=201)
    def create(ctx: Context, body: Order) -> dict:
        return {"name": body.name}

    return app


def post(app: App, body: dict) -> tuple[int, str]:
    answer = app.handler(
        events.apigw_rest("POST", "/orders", body=json.dumps(body), headers={"Content-Type": "application/json"}),
        lambda_context(),
    )
    return answer["statusCode"], answer["body"]


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_a_report_quoting_nothing_from_the_input_lists_every_problem(middleware: bool) -> None:
    status, text = post(make_app(middleware=middleware), {"qty": "three", "plan": {"code": "basic"}})
    assert status == 422
    error = json.loads(text)["error"]
    assert error["code"] == "validation_failed" and error["message"] == "Validation failed"
    assert error["details"] == [
        {"location": "body", "path": "$.name", "message": "Object missing required field `name`"},
        {"location": "body", "path": "$.qty", "message": "Expected `int`, got `str`"},
    ]


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize(
    ("card", "masked"),
    [
        (VISA, "411111******1111"),
        (SPACED, "411111******1111"),
        (DASHED, "555555******4444"),
        (SHORT_VISA, "422222***2222"),
        (UNIONPAY_19, "622126*********0001"),
    ],
    ids=["plain", "spaced", "dashed", "13-digit", "19-digit"],
)
def test_card_numbers_quoted_from_the_input_are_masked_in_the_report(middleware: bool, card: str, masked: str) -> None:
    body = {
        "name": "Ada",
        "qty": 1,
        "plan": {"code": f"card {card} please"},  # a literal's message quotes the value
        "tags": {f"k{card}": "x"},  # a mapping key in the path
        card: 1,  # an unknown field's name in the message
    }
    status, text = post(make_app(middleware=middleware), body)
    assert status == 422
    digits = card.replace(" ", "").replace("-", "")
    assert card not in text and digits not in text
    details = json.loads(text)["error"]["details"]
    assert details == [
        {"location": "body", "path": "$.plan.code", "message": f"Invalid enum value 'card {masked} please'"},
        {"location": "body", "path": f"$.tags.k{masked}", "message": "Expected `int`, got `str`"},
        {"location": "body", "path": "$", "message": f"Object contains unknown field `{masked}`"},
    ]


def test_a_digit_run_that_is_no_card_number_is_left_alone() -> None:
    status, text = post(make_app(middleware=False), {"name": "Ada", "qty": 1, "plan": {"code": f"ref {NOT_LUHN}"}})
    assert status == 422
    assert json.loads(text)["error"]["details"][0]["message"] == f"Invalid enum value 'ref {NOT_LUHN}'"


def test_a_changed_report_is_scanned_again() -> None:
    """The skip holds only for the report as the validator made it: replaced details or a replaced
    message are scanned."""
    app = App(name="orders")
    trusted = [{"location": "body", "path": "$.name", "message": "Object missing required field `name`"}]

    @app.get("/replaced-details")
    def replaced_details(ctx: Context) -> dict:
        exc = ValidationFailed.report(trusted, echoes=False)
        exc.details = [{"location": "body", "path": "$.card", "message": f"bad {VISA}"}]
        raise exc

    @app.get("/replaced-message")
    def replaced_message(ctx: Context) -> dict:
        exc = ValidationFailed.report(trusted, echoes=False)
        exc.message = f"card {SPACED} refused"
        raise exc

    details = json.loads(app.handler(events.apigw_rest("GET", "/replaced-details"), lambda_context())["body"])
    assert details["error"]["details"][0]["message"] == "bad 411111******1111"
    message = json.loads(app.handler(events.apigw_rest("GET", "/replaced-message"), lambda_context())["body"])
    assert message["error"]["message"] == "card 411111******1111 refused"


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_a_report_an_exception_handler_changed_and_raised_again_is_scanned(middleware: bool) -> None:
    app = make_app(middleware=middleware)

    @app.exception_handler(ValidationFailed)
    def add_context(ctx: Context, exc: ValidationFailed):
        exc.details.append({"location": "body", "path": "$.card", "message": f"was {DASHED}"})
        raise exc

    status, text = post(app, {"qty": "three", "plan": {"code": "basic"}})
    assert status == 422 and DASHED not in text
    assert json.loads(text)["error"]["details"][-1]["message"] == "was 555555******4444"
