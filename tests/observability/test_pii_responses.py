"""PII fields in responses are masked automatically when the route's return annotation names the model."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import msgspec
import pydantic
import pytest

from lift import App
from lift.auth.principal import Principal
from lift.observability.redaction import PII
from lift.pii import carries_pii, masked, visible
from lift.testing import TestClient


class Customer(msgspec.Struct, rename="camel"):
    customer_id: int
    email: Annotated[str, PII]
    full_name: Annotated[str, PII(roles={"support"})]
    note: str = ""


class Page(msgspec.Struct):
    items: list[Customer]
    total: int


class Order(msgspec.Struct, tag=True):
    order_id: int
    buyer: Customer | None = None


@dataclasses.dataclass(frozen=True)
class Contact:
    phone: Annotated[str, PII]
    city: str


class Account(pydantic.BaseModel):
    account_id: int
    iban: Annotated[str, PII(roles={"finance"})]


class Plain(msgspec.Struct):
    a: int
    b: list[str]


ADA = Customer(7, "ada@example.com", "Ada Lovelace", "vip")


def _app() -> App:
    app = App("crm")

    def roles(ctx, call_next):  # a stand-in for an authorizer: the caller's roles from a header
        role = ctx.headers.get("x-role")
        if role:
            ctx.principal = Principal(user_id="u1", roles=frozenset({role}))
        return call_next(ctx)

    app.use(roles)
    return app


def test_a_route_returning_a_model_masks_its_pii_fields_for_callers_without_the_role() -> None:
    app = _app()

    @app.get("/customers/{cid}")
    def get_customer(ctx, cid: int) -> Customer:
        return msgspec.structs.replace(ADA, customer_id=cid)

    client = TestClient(app)
    anonymous = client.get("/customers/7")
    support = client.get("/customers/7", headers={"X-Role": "support"})
    assert anonymous.status_code == 200 == support.status_code
    # the Struct's own encoding (camelCase names) is kept; only the values are masked
    assert anonymous.json() == {"customerId": 7, "email": "***", "fullName": "***", "note": "vip"}
    assert support.json() == {"customerId": 7, "email": "***", "fullName": "Ada Lovelace", "note": "vip"}
    assert "ada@example.com" not in anonymous.text and "Lovelace" not in anonymous.text


def test_nested_generic_union_and_tagged_models_are_masked_on_every_source() -> None:
    app = App("crm")

    @app.get("/page")
    def page() -> Page:
        return Page([ADA, ADA], 2)

    @app.get("/orders/{oid}")
    def order(oid: int) -> Order | None:
        return Order(oid, ADA) if oid else None

    @app.get("/list")
    def listing() -> list[Customer]:
        return [ADA]

    for source in ("rest", "http", "alb", "url"):
        client = TestClient(app, source=source)
        assert client.get("/page").json()["items"][1]["email"] == "***", source
        body = client.get("/orders/3").json()
        assert body == {
            "type": "Order",
            "order_id": 3,
            "buyer": {"customerId": 7, "email": "***", "fullName": "***", "note": "vip"},
        }
        none = client.get("/orders/0")  # None is still answered as Lift answers None (no body)
        assert none.status_code in (200, 204) and none.text in ("", "null")
        assert client.get("/list").json()[0]["fullName"] == "***"


def test_dataclass_and_pydantic_results_and_async_handlers_are_masked() -> None:
    app = _app()

    @app.get("/contact")
    def contact() -> Contact:
        return Contact("+44 20 7946 0000", "London")

    @app.get("/accounts/{aid}")
    async def account(aid: int) -> Account:
        return Account(account_id=aid, iban="GB82WEST12345698765432")

    client = TestClient(app)
    assert client.get("/contact").json() == {"phone": "***", "city": "London"}
    assert client.get("/accounts/1").json() == {"account_id": 1, "iban": "***"}
    assert client.get("/accounts/1", headers={"X-Role": "finance"}).json()["iban"] == "GB82WEST12345698765432"


def test_masking_holds_under_asgi() -> None:
    import asyncio

    app = App("crm")

    @app.get("/customers/{cid}")
    def get_customer(cid: int) -> Customer:
        return ADA

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/customers/7",
        "raw_path": b"/customers/7",
        "query_string": b"",
        "headers": [],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
    }
    asyncio.run(app.asgi(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert msgspec.json.decode(body)["email"] == "***" and b"ada@example.com" not in body


def test_routes_without_pii_in_their_return_type_are_left_alone() -> None:
    assert carries_pii(Customer) and carries_pii(Page) and carries_pii(list[Customer]) and carries_pii(Order | None)
    assert carries_pii(Annotated[Contact, "x"]) and carries_pii(Account) and carries_pii(dict[str, Customer])
    assert not carries_pii(Plain) and not carries_pii(dict) and not carries_pii(list[int]) and not carries_pii(int)

    app = App("crm")
    plain = Plain(1, ["x"])

    @app.get("/plain")
    def get_plain() -> Plain:
        return plain

    @app.get("/raw")
    def raw() -> dict:  # untyped: the handler masks what it wants with visible()
        return {"email": "ada@example.com"}

    client = TestClient(app)
    assert client.get("/plain").json() == {"a": 1, "b": ["x"]}
    assert client.get("/raw").json() == {"email": "ada@example.com"}
    assert app.endpoints[0].binder.call.__name__ == "call"  # not wrapped: no cost for routes without PII


def test_masked_keeps_types_and_copies_only_what_it_changes() -> None:
    support = frozenset({"support"})
    out = masked(ADA, roles=support)
    assert type(out) is Customer and out.email == "***" and out.full_name == "Ada Lovelace"
    assert ADA.email == "ada@example.com"  # the original is untouched
    plain = Plain(1, ["x"])
    assert masked(plain) is plain and masked([plain]) is not None
    assert visible(ADA, roles=support) == {"customer_id": 7, "email": "***", "full_name": "Ada Lovelace", "note": "vip"}


@pytest.mark.parametrize("role, shown", [(None, False), ("support", True)])
def test_errors_and_logs_never_show_pii_either(capsys, role, shown) -> None:
    from lift.middleware.logging import RequestLogging

    app = _app()
    app.use(RequestLogging())

    @app.get("/c")
    def c(ctx) -> Customer:
        ctx.logger.info("loaded", customer=ADA)
        return ADA

    headers = {"X-Role": role} if role else {}
    body = TestClient(app).get("/c", headers=headers).json()
    assert (body["fullName"] == "Ada Lovelace") is shown
    assert "Ada Lovelace" not in capsys.readouterr().out  # log lines mask PII fields for everyone


def _plain(value):  # a model as the dict of its fields (by attribute name), containers as lists/dicts
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, msgspec.Struct):
        return {name: _plain(getattr(value, name)) for name in value.__struct_fields__}
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pydantic.BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    return value


@pytest.mark.parametrize("roles", [frozenset(), frozenset({"support"}), frozenset({"finance", "support"})])
def test_visible_is_masked_as_plain_data(roles) -> None:
    """`visible` and `masked` are one walk with two outputs: the same fields masked, at any depth."""
    value = {
        "page": Page([ADA, Customer(8, "bob@example.com", "Bob", "")], 2),
        "orders": (Order(1, ADA), Order(2)),
        "contact": Contact("+44 20 7946 0000", "London"),
        "account": Account(account_id=3, iban="GB33BUKB20201555555555"),
        "deep": [[{"x": ADA}]],
        "plain": Plain(1, ["x"]),
        "text": "hello",
    }
    out = masked(value, roles=roles)
    assert visible(value, roles=roles) == _plain(out)
    assert type(out["orders"]) is tuple and type(out["page"]) is Page and out["plain"] is value["plain"]
    shown = _plain(out)
    assert shown["page"]["items"][0]["email"] == "***" and shown["contact"]["phone"] == "***"
    assert (shown["page"]["items"][0]["full_name"] == "Ada Lovelace") == ("support" in roles)
    assert (shown["account"]["iban"] == "***") == ("finance" not in roles)
