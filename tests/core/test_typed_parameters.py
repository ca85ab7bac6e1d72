"""Typed request arguments on every HTTP source, driven through `app.handler` with the events AWS
sends: a request failing in several places (path, query, header, body) is one 422 listing every
problem, in the order of the handler's parameters; list-typed headers give their element type; a
`float` or `Decimal` argument is a finite number (NaN and the infinities are a 422, never a 500)."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
import pytest

from lift import App, Context, Header
from lift.testing import lambda_context

from .http_events import VARIANTS

SOURCES = ["rest", "http", "url", "alb", "alb-multi", "lattice"]


class Page(msgspec.Struct):
    size: int
    tags: list[int] = []


class NewItem(msgspec.Struct):
    name: str
    qty: int


def _event(source: str, method: str, path: str, **kw: object) -> dict:
    return VARIANTS[source](method, path, **kw)


def _answer(app: App, event: dict) -> tuple[int, dict]:
    out = app.handler(event, lambda_context())
    return out["statusCode"], json.loads(out["body"]) if out["body"] else None


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/shops/{shop}/items/{item}")
    def get_item(ctx: Context, shop: int, item: uuid.UUID, query: Page, count: int = Header("X-Count")) -> dict:
        return {"shop": shop, "item": str(item), "size": query.size, "count": count}

    @app.post("/shops/{shop}/items")
    def add_item(ctx: Context, shop: int, body: NewItem, version: Annotated[int, Header("X-Version")]) -> dict:
        return {"shop": shop, "name": body.name, "version": version}

    @app.get("/ids")
    def ids(ctx: Context, ids: list[int] = Header("X-Ids"), names: list[str] = Header("X-Names")) -> dict:
        return {"ids": ids, "names": names}

    @app.get("/optional-ids")
    def optional_ids(ctx: Context, ids: list[int] | None = Header("X-Ids", default=None)) -> dict:
        return {"ids": ids}

    @app.post("/form-items")
    def form_item(ctx: Context, body: NewItem) -> dict:
        return {"name": body.name, "qty": body.qty}

    @app.get("/one/{n}")
    def one(ctx: Context, n: int) -> dict:
        return {"n": n}

    @app.get("/price/{amount}")
    def price(ctx: Context, amount: Decimal, rate: float = Header("X-Rate", default=1.0)) -> dict:
        return {"amount": amount, "rate": rate}

    @app.get("/reports/{year}/{kind}/{day}")
    def report(
        ctx: Context,
        year: Annotated[int, msgspec.Meta(ge=2000, le=2100)],
        kind: Literal["daily", "weekly"],
        day: datetime.date,
        code: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] | None = Header("X-Code", default=None),
        level: Literal[1, 2] = Header("X-Level", default=1),
        limit: Annotated[int, msgspec.Meta(le=100), Header("X-Limit")] = 10,
    ) -> dict:
        return {"year": year, "kind": kind, "day": day.isoformat(), "code": code, "level": level, "limit": limit}

    return app


@pytest.mark.parametrize("source", SOURCES)
def test_constrained_literal_and_date_path_and_header_parameters(app: App, source: str) -> None:
    """`Annotated[int, Meta(...)]`, a `Literal` or a `date` as a path parameter or header failed at
    registration ("Unsupported path parameter type"), though the OpenAPI document describes each."""
    event = _event(source, "GET", "/reports/2024/daily/2024-02-29", headers={"X-Code": "ABC", "X-Level": "2"})
    expected = {"year": 2024, "kind": "daily", "day": "2024-02-29", "code": "ABC", "level": 2, "limit": 10}
    assert _answer(app, event) == (200, expected)
    event = _event(
        source, "GET", "/reports/1999/hourly/2023-02-29", headers={"X-Code": "abc", "X-Level": "3", "X-Limit": "101"}
    )
    status, body = _answer(app, event)
    assert status == 422
    assert [(d["path"], d["message"]) for d in body["error"]["details"]] == [
        ("$.year", "Expected integer >= 2000, <= 2100, got '1999'"),
        ("$.kind", "Expected 'daily' | 'weekly', got 'hourly'"),
        ("$.day", "Expected date, got '2023-02-29'"),
        ("$.x-code", "Expected str matching '^[A-Z]{3}$' | null, got 'abc'"),
        ("$.x-level", "Expected 1 | 2, got '3'"),
        ("$.x-limit", "Expected integer <= 100, got '101'"),  # (Meta beside Header in one Annotated)
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_bad_path_query_and_header_are_listed_together(app: App, source: str) -> None:
    event = _event(source, "GET", "/shops/x/items/y", query={"size": "big", "tags": ["q"]}, headers={"X-Count": "n"})
    status, body = _answer(app, event)
    assert status == 422
    assert body["error"]["code"] == "validation_failed"
    assert [(d["location"], d["path"]) for d in body["error"]["details"]] == [
        ("path", "$.shop"),
        ("path", "$.item"),
        ("query", "$.size"),
        ("query", "$.tags[0]"),
        ("header", "$.x-count"),
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_a_missing_header_and_a_bad_query_are_listed_together(app: App, source: str) -> None:
    event = _event(source, "GET", f"/shops/7/items/{uuid.UUID(int=1)}", query={"tags": ["x"]})
    status, body = _answer(app, event)
    assert status == 422
    assert [(d["location"], d["path"]) for d in body["error"]["details"]] == [
        ("query", "$.size"),
        ("query", "$.tags[0]"),
        ("header", "$.x-count"),
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_a_bad_body_is_listed_with_the_path_and_header(app: App, source: str) -> None:
    event = _event(
        source,
        "POST",
        "/shops/x/items",
        body='{"name": 5, "qty": "many"}',
        headers={"Content-Type": "application/json", "X-Version": "v2"},
    )
    status, body = _answer(app, event)
    assert status == 422
    assert [(d["location"], d["path"]) for d in body["error"]["details"]] == [
        ("path", "$.shop"),
        ("body", "$.name"),
        ("body", "$.qty"),
        ("header", "$.x-version"),
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_valid_requests_still_reach_the_handler(app: App, source: str) -> None:
    item = uuid.UUID(int=5)
    event = _event(source, "GET", f"/shops/3/items/{item}", query={"size": "10"}, headers={"X-Count": "2"})
    assert _answer(app, event) == (200, {"shop": 3, "item": str(item), "size": 10, "count": 2})
    event = _event(
        source,
        "POST",
        "/shops/3/items",
        body='{"name": "pen", "qty": 1}',
        headers={"Content-Type": "application/json", "X-Version": "4"},
    )
    assert _answer(app, event) == (200, {"shop": 3, "name": "pen", "version": 4})


@pytest.mark.parametrize("source", SOURCES)
def test_a_single_typed_argument_keeps_its_one_problem(app: App, source: str) -> None:
    status, body = _answer(app, _event(source, "GET", "/one/abc"))
    assert status == 422
    assert body["error"]["details"] == [{"location": "path", "path": "$.n", "message": "Expected integer, got 'abc'"}]


@pytest.mark.parametrize("source", SOURCES)
def test_list_typed_headers_give_their_element_type(app: App, source: str) -> None:
    event = _event(source, "GET", "/ids", headers={"X-Ids": "1, 2,3", "X-Names": "a,b"})
    assert _answer(app, event) == (200, {"ids": [1, 2, 3], "names": ["a", "b"]})
    status, body = _answer(app, _event(source, "GET", "/ids", headers={"X-Ids": "1,two,3,four"}))
    assert status == 422
    assert [d["path"] for d in body["error"]["details"]] == ["$.x-ids[1]", "$.x-ids[3]"]
    assert _answer(app, _event(source, "GET", "/ids")) == (200, {"ids": [], "names": []})


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("raw", ["NaN", "sNaN", "Infinity", "-inf"])
def test_a_decimal_that_is_not_a_finite_number_is_a_422(app: App, source: str, raw: str) -> None:
    status, body = _answer(app, _event(source, "GET", f"/price/{raw}"))
    assert status == 422
    assert body["error"]["details"] == [
        {"location": "path", "path": "$.amount", "message": f"Expected Decimal, got {raw!r}"}
    ]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "1e400"])
def test_a_float_header_that_is_not_a_finite_number_is_a_422(app: App, source: str, raw: str) -> None:
    status, body = _answer(app, _event(source, "GET", "/price/2.50", headers={"X-Rate": raw}))
    assert status == 422
    assert [(d["location"], d["path"]) for d in body["error"]["details"]] == [("header", "$.x-rate")]
    assert _answer(app, _event(source, "GET", "/price/2.50", headers={"X-Rate": "0.5"})) == (
        200,
        {"amount": 2.50, "rate": 0.5},
    )


@pytest.mark.parametrize("source", SOURCES)
def test_a_missing_list_header_takes_its_default(app: App, source: str) -> None:
    assert _answer(app, _event(source, "GET", "/optional-ids")) == (200, {"ids": None})
    assert _answer(app, _event(source, "GET", "/optional-ids", headers={"X-Ids": "4,5"})) == (200, {"ids": [4, 5]})


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("body", [b"name=%FF&qty=1", b"name=caf\xe9&qty=1", b"name=%C3%28&qty=1"])
def test_a_form_body_that_is_not_utf8_is_a_400(app: App, source: str, body: bytes) -> None:
    status, answer = _answer(app, _event(source, "POST", "/form-items", body=body, headers=FORM))
    assert status == 400
    assert answer["error"]["code"] == "invalid_form"


@pytest.mark.parametrize("source", SOURCES)
def test_a_utf8_form_body_is_read(app: App, source: str) -> None:
    event = _event(source, "POST", "/form-items", body="name=caf%C3%A9+cr%C3%A8me&qty=2", headers=FORM)
    assert _answer(app, event) == (200, {"name": "café crème", "qty": 2})
