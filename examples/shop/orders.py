"""The orders service of the shop: it calls users and payments.

Where they are comes from the environment (`LIFT_SERVICE_USERS_URL`,
`LIFT_SERVICE_PAYMENTS_URL`; on AWS: Cloud Map or the stacks' outputs). The users client is
generated from the users app itself (one typed method per route); payments is called by path.
Each order's id is the payment's idempotency key, so a retried charge never charges twice.
"""

from __future__ import annotations

import threading
import uuid

import msgspec

from examples.shop import users as users_service
from examples.shop.payments import NewPayment, Payment
from lift import App, Context
from lift.errors import Forbidden, NotFound
from lift.middleware import request_id
from lift.middleware.tracing import Tracing
from lift.resilience import CircuitBreaker, LoadShedder
from lift.services import client_for


class NewOrder(msgspec.Struct):
    user_id: int
    amount_cents: int


class Order(msgspec.Struct):
    id: str
    user_id: int
    customer: str
    amount_cents: int
    payment_id: str


shedder = LoadShedder(max_in_flight=64, max_queue_ms=2000, min_remaining_ms=300)

app = App(name="orders")
app.use(request_id(), Tracing(mode="headers"), shedder)
app.health.mount(app)

users = client_for(users_service.app, client=app.service("users", timeout=2.0, retry=3))
payments = app.service(
    "payments",
    timeout=5.0,
    retry=3,  # POSTs are retried only because each carries an idempotency key
    breaker=CircuitBreaker("payments", window=10, min_calls=5, failure_rate=0.5, open_for=15),
    bulkhead=20,
)

orders: dict[str, Order] = {}
_lock = threading.Lock()


@app.post("/orders", status=201)
def create_order(ctx: Context, body: NewOrder) -> Order:
    user = users.get_user(body.user_id)  # a User; the callee's 404 is our 404
    if user.blocked:
        raise Forbidden("This customer may not order", code="customer_blocked")
    order_id = f"ord_{uuid.uuid4().hex[:12]}"
    payment = payments.post(
        "/payments",
        body=NewPayment(user.id, body.amount_cents),
        response=Payment,
        idempotency_key=order_id,
    )
    order = Order(order_id, user.id, user.name, body.amount_cents, payment.id)
    with _lock:
        orders[order_id] = order
    return order


@app.get("/orders/{order_id}")
def get_order(order_id: str) -> Order:
    order = orders.get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    return order


handler = app.handler
asgi = shedder.wrap_asgi(app.asgi)
