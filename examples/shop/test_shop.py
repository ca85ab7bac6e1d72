"""The shop end to end: orders, users and payments each served by uvicorn on a 127.0.0.1 port."""

from __future__ import annotations

import threading

import httpx
import pytest

from examples.shop import orders as orders_module
from examples.shop import payments as payments_module
from examples.shop import users as users_module
from lift import Response
from tests.servers import Served

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Seen:
    """Test-only middleware on the callees: the headers of each request they served."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lose_next_answer = False
        self.lock = threading.Lock()

    def __call__(self, ctx, call_next):
        with self.lock:
            self.requests.append((ctx.path, {k.lower(): v for k, v in ctx.headers.items()}))
        response = call_next(ctx)
        with self.lock:
            lose, self.lose_next_answer = self.lose_next_answer, False
        if lose:  # the work was done, but the caller never gets the answer
            return Response.json({"error": {"code": "unavailable", "message": "lost"}}, 503)
        return response


@pytest.fixture(scope="module")
def shop():
    seen = {"users": Seen(), "payments": Seen()}
    users_module.app.use(seen["users"])
    payments_module.app.use(seen["payments"])
    served = {
        "users": Served(users_module.asgi),
        "payments": Served(payments_module.asgi),
        "orders": Served(orders_module.asgi),
    }
    mp = pytest.MonkeyPatch()
    mp.setenv("LIFT_SERVICE_USERS_URL", served["users"].url)
    mp.setenv("LIFT_SERVICE_PAYMENTS_URL", served["payments"].url)
    with httpx.Client(base_url=served["orders"].url, timeout=10) as http:
        yield http, served, seen
    mp.undo()
    for s in served.values():
        s.stop()


def test_an_order_reads_the_user_and_charges_once(shop):
    http, served, seen = shop
    charges = payments_module.ledger.charges
    answer = http.post(
        "/orders",
        json={"user_id": 1, "amount_cents": 1999},
        headers={"X-Correlation-Id": "checkout-42", "traceparent": TRACEPARENT},
    )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["customer"] == "Ada Lovelace" and order["amount_cents"] == 1999
    assert payments_module.ledger.charges == charges + 1

    payment = httpx.get(f"{served['payments'].url}/payments/{order['payment_id']}").json()
    assert payment["user_id"] == 1 and payment["status"] == "captured"
    assert http.get(f"/orders/{order['id']}").json() == order

    # one correlation id and one trace across the three services
    _, user_headers = next(r for r in reversed(seen["users"].requests) if r[0] == "/users/1")
    _, pay_headers = next(r for r in reversed(seen["payments"].requests) if r[0] == "/payments")
    for headers in (user_headers, pay_headers):
        assert headers["x-correlation-id"] == "checkout-42"
        assert headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
        assert headers["x-request-id"] == answer.headers["x-request-id"]
    assert pay_headers["idempotency-key"] == order["id"]


def test_callee_errors_reach_the_client_in_the_error_contract(shop):
    http, _, _ = shop
    missing = http.post("/orders", json={"user_id": 99, "amount_cents": 100})
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["message"] == "User 99 not found" and error["details"]["service"] == "users"
    assert error["details"]["upstream"]["details"] == {"user_id": 99}

    blocked = http.post("/orders", json={"user_id": 3, "amount_cents": 100})
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "customer_blocked"

    declined = http.post("/orders", json={"user_id": 2, "amount_cents": 900_00})
    assert declined.status_code == 409
    assert declined.json()["error"]["details"]["upstream"]["code"] == "card_declined"

    invalid = http.post("/orders", json={"user_id": "one"})
    assert invalid.status_code == 422


def test_a_lost_payment_answer_is_retried_without_charging_twice(shop):
    http, _, seen = shop
    charges = payments_module.ledger.charges
    seen["payments"].lose_next_answer = True
    answer = http.post("/orders", json={"user_id": 2, "amount_cents": 500})
    assert answer.status_code == 201
    assert payments_module.ledger.charges == charges + 1  # two requests, one charge
    keys = [h["idempotency-key"] for path, h in seen["payments"].requests[-2:]]
    assert keys == [answer.json()["id"]] * 2


def test_payments_down_gives_503_then_opens_the_circuit(shop):
    http, served, _ = shop
    breaker = orders_module.payments.breaker
    breaker.reset()
    served["payments"].stop(keep_port=True)
    try:
        codes = [
            http.post("/orders", json={"user_id": 1, "amount_cents": 100}).json()["error"]["code"] for _ in range(6)
        ]
    finally:
        served["payments"].restart()
    assert codes[0] == "upstream_unavailable" and codes[-1] == "circuit_open"
    assert breaker.state == "open"
    refused = http.post("/orders", json={"user_id": 1, "amount_cents": 100})
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    breaker.reset()  # what open_for (15 s) would do by itself
    assert http.post("/orders", json={"user_id": 1, "amount_cents": 100}).status_code == 201
