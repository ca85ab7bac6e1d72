"""A deployable service: HTTP + an SQS consumer + a schedule + a DynamoDB store table.

    lift synth dev      # the CloudFormation template and what it creates
    lift deploy dev     # package, upload, change set, deploy (see README.md)

Orders are kept in the same Lift store (one DynamoDB table) that makes POST /orders idempotent.
"""

from __future__ import annotations

import os
import time
import uuid

import msgspec

from lift import App, Context
from lift.errors import NotFound
from lift.middleware.idempotency import idempotency
from lift.stores.dynamodb import DynamoDBStore

TABLE = "orders-service-state"
store = DynamoDBStore(TABLE, region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")

app = App(name="orders-service")
app.use(idempotency(store=store))  # POST with an Idempotency-Key header runs once
app.add_store(store)


class NewOrder(msgspec.Struct):
    item: str
    quantity: int


class Order(msgspec.Struct):
    id: str
    item: str
    quantity: int
    status: str = "new"


class Payment(msgspec.Struct):
    order_id: str
    amount_cents: int


def _load(order_id: str) -> Order:
    found = store.get(f"order:{order_id}")
    if found is None:
        raise NotFound(f"Order {order_id} not found")
    return msgspec.convert(found, Order)


@app.post("/orders", status=201)
def create_order(body: NewOrder) -> Order:
    order = Order(id=uuid.uuid4().hex[:12], item=body.item, quantity=body.quantity)
    store.put(f"order:{order.id}", msgspec.to_builtins(order))
    return order


@app.get("/orders/{order_id}")
def get_order(order_id: str) -> Order:
    return _load(order_id)


@app.sqs("orders-service-payments")
def on_payment(ctx: Context, body: Payment) -> None:
    """A payment marks its order paid; an unknown order fails this message alone (batchItemFailures)."""
    order = _load(body.order_id)
    order.status = "paid"
    store.put(f"order:{order.id}", msgspec.to_builtins(order))


@app.schedule("orders-service-nightly", cron="0 3 * * ? *")
def nightly(ctx: Context) -> None:
    store.put("report:last-run", int(time.time()))
    ctx.logger.info("nightly report done")


handler = app.handler
