"""Numbers (and UUIDs) in a path, query string or header are read by one rule on every HTTP source: an `int` is
an optional `-` and ASCII digits; a `float` or `Decimal` is a number as JSON writes one (leading
zeros allowed). Python's `int()`/`float()`/`Decimal()` also take `1_000`, `+1`, ` 1`, `.5` and
other scripts' digits: a client's `/users/1_000` is a 422, never user 1000."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec
import pytest

from lift import App, Context, Header
from lift.testing import lambda_context

from .http_events import VARIANTS

SOURCES = ["rest", "http", "url", "alb-multi", "lattice"]  # (single-value ALB keeps a repeated key's last value)

# (as sent in a URL, as the handler would have got it from int())
NOT_INTEGERS = [
    ("1_000", "1_000"), ("%2B1", "+1"), ("%201", " 1"), ("1%20", "1 "), ("%D9%A1%D9%A2", "١٢"), ("-", "-"),
    ("%C2%B2", "²"), ("1.0", "1.0"), ("1e3", "1e3"),
]  # fmt: skip
NOT_NUMBERS = ["1_0.5", "%2B1.5", ".5", "5.", "%201.5", "%D9%A1.5", "1e", "1.5e%2B", "nan", "Infinity"]


class Bounded(msgspec.Struct):
    ids: list[Annotated[int, msgspec.Meta(ge=0)]] = []
    rates: list[Annotated[float, msgspec.Meta(ge=0)]] | None = None
    n: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Flags(msgspec.Struct):
    agree: bool = False
    opts: list[bool] = []


class Page(msgspec.Struct):
    n: int = 0
    ids: list[int] = []
    rate: float | None = None
    amount: Decimal = Decimal(0)


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/users/{user_id}")  # (a route ending in its parameter: the direct path)
    def user(ctx: Context, user_id: int) -> dict:
        return {"user_id": user_id}

    @app.get("/users/{user_id}/orders")
    def orders(ctx: Context, user_id: int) -> dict:
        return {"user_id": user_id}

    @app.get("/prices/{amount}/{rate}")
    def price(ctx: Context, amount: Decimal, rate: float) -> dict:
        return {"amount": str(amount), "rate": rate}

    @app.get("/items/{item}")
    def get_item(ctx: Context, item: uuid.UUID, other: uuid.UUID | None = Header("X-Other", default=None)) -> dict:
        return {"item": str(item), "other": str(other)}

    @app.get("/count")
    def count(ctx: Context, n: int = Header("X-Count")) -> dict:
        return {"n": n}

    @app.get("/page")
    def page(ctx: Context, query: Page) -> dict:
        return {"n": query.n, "ids": query.ids, "rate": query.rate, "amount": str(query.amount)}

    @app.get("/bounded")
    def bounded(ctx: Context, query: Bounded) -> dict:
        return msgspec.to_builtins(query)

    @app.get("/flags/{on}")
    def get_flags(ctx: Context, on: bool, query: Flags, header: bool = Header("X-On", default=False)) -> dict:
        return {"on": on, "agree": query.agree, "opts": query.opts, "header": header}

    @app.post("/flags")
    def post_flags(ctx: Context, body: Flags) -> dict:
        return {"agree": body.agree, "opts": body.opts}

    @app.post("/page")
    def post_page(ctx: Context, body: Page) -> dict:
        return {"n": body.n, "ids": body.ids, "rate": body.rate, "amount": str(body.amount)}

    return app


def _answer(app: App, source: str, path: str, method: str = "GET", **kw: object) -> tuple[int, dict]:
    out = app.handler(VARIANTS[source](method, path, **kw), lambda_context())
    return out["statusCode"], json.loads(out["body"])


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("sent", [sent for sent, _ in NOT_INTEGERS])
def test_an_int_path_parameter_is_ascii_digits(app: App, source: str, sent: str) -> None:
    got = dict(NOT_INTEGERS)[sent]
    for path in (f"/users/{sent}", f"/users/{sent}/orders"):
        status, body = _answer(app, source, path)
        assert status == 422, path
        assert body["error"]["details"] == [
            {"location": "path", "path": "$.user_id", "message": f"Expected integer, got {got!r}"}
        ]


@pytest.mark.parametrize("source", SOURCES)
def test_an_int_path_parameter_takes_a_sign_and_leading_zeros(app: App, source: str) -> None:
    big = 10**30 + 7  # (beyond 64 bits)
    for path, expected in (
        ("/users/42", 42), ("/users/-7", -7), ("/users/007/orders", 7), ("/users/0", 0), ("/users/00", 0),
        (f"/users/{big}", big), (f"/users/-{big}/orders", -big),
    ):  # fmt: skip
        assert _answer(app, source, path) == (200, {"user_id": expected})


@pytest.mark.parametrize("source", SOURCES)
def test_float_and_decimal_path_parameters_are_numbers_as_json_writes_them(app: App, source: str) -> None:
    assert _answer(app, source, "/prices/-2.50/1E%2B2") == (200, {"amount": "-2.50", "rate": 100.0})
    assert _answer(app, source, "/prices/007/0.5e-1") == (200, {"amount": "7", "rate": 0.05})
    for sent in NOT_NUMBERS:
        status, body = _answer(app, source, f"/prices/{sent}/{sent}")
        assert status == 422, sent
        assert [d["path"] for d in body["error"]["details"]] == ["$.amount", "$.rate"]


@pytest.mark.parametrize("source", SOURCES)
def test_an_int_header_is_ascii_digits(app: App, source: str) -> None:
    assert _answer(app, source, "/count", headers={"X-Count": "12"}) == (200, {"n": 12})
    for _, value in NOT_INTEGERS:
        status, body = _answer(app, source, "/count", headers={"X-Count": value})
        assert status == 422, value
        assert [d["path"] for d in body["error"]["details"]] == ["$.x-count"]


@pytest.mark.parametrize("source", SOURCES)
def test_query_numbers_follow_the_same_rule(app: App, source: str) -> None:
    query = {"n": "007", "ids": ["1", "-2"], "rate": "0.5", "amount": "2.50"}
    assert _answer(app, source, "/page", query=query) == (200, {"n": 7, "ids": [1, -2], "rate": 0.5, "amount": "2.50"})
    bad = {"n": "1e3", "ids": ["1", "+2"], "rate": "nan", "amount": "1_000"}
    status, body = _answer(app, source, "/page", query=bad)
    assert status == 422
    assert body["error"]["details"] == [
        {"location": "query", "path": "$.n", "message": "Expected integer, got '1e3'"},
        {"location": "query", "path": "$.ids[1]", "message": "Expected integer, got '+2'"},
        {"location": "query", "path": "$.rate", "message": "Expected number, got 'nan'"},
        {"location": "query", "path": "$.amount", "message": "Expected Decimal, got '1_000'"},
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_form_body_numbers_follow_the_same_rule(app: App, source: str) -> None:
    """An `application/x-www-form-urlencoded` body fills a model as a query string does: msgspec's lax
    conversion alone made `x=nan` a float NaN (answered as null), `n=1e3` the int 1000 and
    `amount=1_000` or `NaN` a Decimal."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    good = "n=007&ids=1&ids=-2&rate=0.5&amount=2.50"
    expected = {"n": 7, "ids": [1, -2], "rate": 0.5, "amount": "2.50"}
    assert _answer(app, source, "/page", "POST", body=good, headers=form) == (200, expected)
    for bad, problems in (
        ("n=1e3&ids=1&ids=%2B2&rate=nan&amount=1_000", [("$.n", "1e3"), ("$.ids[1]", "+2"), ("$.rate", "nan"), ("$.amount", "1_000")]),
        ("rate=inf&amount=NaN", [("$.rate", "inf"), ("$.amount", "NaN")]),
        ("rate=-Infinity&n=%D9%A1", [("$.n", "١"), ("$.rate", "-Infinity")]),
    ):  # fmt: skip
        status, body = _answer(app, source, "/page", "POST", body=bad, headers=form)
        assert status == 422, bad
        labels = {"$.n": "integer", "$.ids[1]": "integer", "$.rate": "number", "$.amount": "Decimal"}
        assert body["error"]["details"] == [
            {"location": "body", "path": path, "message": f"Expected {labels[path]}, got {text!r}"}
            for path, text in problems
        ], bad


@pytest.mark.parametrize("source", SOURCES)
def test_constrained_query_numbers_follow_the_same_rule(app: App, source: str) -> None:
    """A number field constrained with msgspec.Meta inside a list or an optional skipped the rule:
    `ids=1e3` gave [1000], `rates=inf` an infinity (answered as null), `n=1e1` 10."""
    good = {"ids": ["0", "7"], "rates": ["0.5"], "n": "3"}
    assert _answer(app, source, "/bounded", query=good) == (200, {"ids": [0, 7], "rates": [0.5], "n": 3})
    bad = {"ids": ["1e3", "-1"], "rates": ["1", "inf"], "n": "1e1"}
    status, body = _answer(app, source, "/bounded", query=bad)
    assert status == 422
    assert [(d["path"], d["message"]) for d in body["error"]["details"]] == [
        ("$.ids[0]", "Expected integer, got '1e3'"),
        ("$.rates[1]", "Expected number, got 'inf'"),
        ("$.n", "Expected integer, got '1e1'"),
    ]
    status, body = _answer(app, source, "/bounded", query={"ids": ["-1"]})
    assert (status, [d["path"] for d in body["error"]["details"]]) == (422, ["$.ids[0]"])  # (Meta's own check)


@pytest.mark.parametrize("source", SOURCES)
def test_a_bool_is_read_by_one_rule_in_a_path_query_header_and_form(app: App, source: str) -> None:
    """A path or header bool took `yes`/`on`, a query or form bool did not: an HTML checkbox
    (`agree=on`, what a browser sends for a checked box) was a 422 "Expected `bool`, got `str`"."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for yes, no in (("on", "off"), ("yes", "NO"), ("True", "false"), ("1", "0")):
        query = {"agree": yes, "opts": [yes, no]}
        answer = _answer(app, source, f"/flags/{yes}", query=query, headers={"X-On": yes})
        assert answer == (200, {"on": True, "agree": True, "opts": [True, False], "header": True}), yes
        sent = f"agree={yes}&opts={no}&opts={yes}"
        assert _answer(app, source, "/flags", "POST", body=sent, headers=form) == (
            200,
            {"agree": True, "opts": [False, True]},
        )
    status, body = _answer(app, source, "/flags/maybe", query={"agree": "y", "opts": ["1", "2"]}, headers={"X-On": "t"})
    assert status == 422
    assert [(d["location"], d["path"]) for d in body["error"]["details"]] == [
        ("path", "$.on"), ("query", "$.agree"), ("query", "$.opts[1]"), ("header", "$.x-on")
    ]  # fmt: skip


ITEM = "12345678-1234-5678-9abc-def012345678"


@pytest.mark.parametrize("source", SOURCES)
def test_a_uuid_is_32_ascii_hex_digits_dashed_or_not(app: App, source: str) -> None:
    for sent in (ITEM, ITEM.upper(), ITEM.replace("-", "")):
        status, body = _answer(app, source, f"/items/{sent}", headers={"X-Other": sent})
        assert (status, body) == (200, {"item": ITEM, "other": ITEM}), sent
    arabic = "%D9%A1" * 32  # (uuid.UUID() reads 32 Arabic-Indic ones as 11111111-1111-...)
    for sent in (
        "%7B" + ITEM + "%7D",
        "urn:uuid:" + ITEM,
        "1234-5678" + ITEM.replace("-", "")[8:],
        "1_" + "0" * 30,
        arabic,
    ):
        status, body = _answer(app, source, f"/items/{sent}")
        assert status == 422, sent
        assert [d["path"] for d in body["error"]["details"]] == ["$.item"]
    status, body = _answer(app, source, f"/items/{ITEM}", headers={"X-Other": "{" + ITEM + "}"})
    assert status == 422 and [d["path"] for d in body["error"]["details"]] == ["$.x-other"]
