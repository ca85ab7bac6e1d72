"""The payments service of the shop: charges, made at most once per idempotency key."""

from __future__ import annotations

import threading
import uuid

import msgspec

from lift import App, Context, Header
from lift.errors import Conflict, NotFound
from lift.middleware import request_id
from lift.middleware.tracing import Tracing


class NewPayment(msgspec.Struct):
    user_id: int
    amount_cents: int
    currency: str = "EUR"


class Payment(msgspec.Struct):
    id: str
    user_id: int
    amount_cents: int
    currency: str
    status: str = "captured"


class Ledger:
    """Payments by idempotency key: a retried charge answers the first one's payment."""

    def __init__(self) -> None:
        self.by_key: dict[str, Payment] = {}
        self.by_id: dict[str, Payment] = {}
        self.charges = 0  # how many times money actually moved
        self.lock = threading.Lock()

    def charge(self, key: str, new: NewPayment) -> Payment:
        with self.lock:
            existing = self.by_key.get(key)
            if existing is not None:
                return existing
            payment = Payment(f"pay_{uuid.uuid4().hex[:12]}", new.user_id, new.amount_cents, new.currency)
            self.by_key[key] = self.by_id[payment.id] = payment
            self.charges += 1
            return payment


ledger = Ledger()
LIMIT_CENTS = 500_00

app = App(name="payments")
app.use(request_id(), Tracing(mode="headers"))
app.health.mount(app)


@app.post("/payments", status=201)
def create_payment(
    ctx: Context, body: NewPayment, idempotency_key: str = Header("Idempotency-Key", default="")
) -> Payment:
    if body.amount_cents > LIMIT_CENTS:
        raise Conflict("Card declined: amount over the limit", code="card_declined", details={"limit": LIMIT_CENTS})
    return ledger.charge(idempotency_key or uuid.uuid4().hex, body)


@app.get("/payments/{payment_id}")
def get_payment(payment_id: str) -> Payment:
    payment = ledger.by_id.get(payment_id)
    if payment is None:
        raise NotFound(f"Payment {payment_id} not found")
    return payment


handler = app.handler
asgi = app.asgi
