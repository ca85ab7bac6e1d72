"""Apps to deploy: one using every trigger the model knows, built fresh for each test."""

from __future__ import annotations

from typing import Any

import pytest

from lift import App, Context


def full_app(extra_route: bool = False) -> App:
    """HTTP + SQS (standard and FIFO) + SNS + S3 + EventBridge + schedule + Kinesis + WebSocket + stores."""
    import boto3

    from lift.middleware.idempotency import idempotency
    from lift.middleware.rate_limit import rate_limit
    from lift.stores.dynamodb import DynamoDBStore

    app = App(name="shop")
    client = boto3.client("dynamodb", region_name="eu-west-1")
    app.use(
        idempotency(store=DynamoDBStore("shop-state", client=client)),
        rate_limit("10/second", store=DynamoDBStore("shop-limits", client=client)),
    )
    app.resource("clock", lambda: object())

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, Any]:
        return {"id": order_id}

    @app.post("/orders", status=201)
    def create_order(ctx: Context) -> dict[str, Any]:
        return {}

    if extra_route:

        @app.delete("/orders/{order_id}")
        def delete_order(order_id: int) -> None:
            return None

    @app.sqs("shop-orders")
    def on_order(body: dict) -> None: ...

    @app.sqs("shop-payments.fifo")
    def on_payment(body: dict) -> None: ...

    @app.sns("shop-alerts")
    def on_alert(body: str) -> None: ...

    @app.s3("shop-uploads", events=["ObjectCreated:*"], prefix="in/")
    def on_upload(ctx: Context) -> None: ...

    @app.eventbridge(source="payments", detail_type="PaymentSettled")
    def on_settled(body: dict) -> None: ...

    @app.schedule("shop-nightly", cron="0 3 * * ? *")
    def nightly(ctx: Context) -> None:
        ctx.state["ran"] = True

    @app.kinesis("shop-clicks")
    def on_click(body: dict) -> None: ...

    @app.websocket("$connect")
    def connect(ctx: Context) -> None: ...

    @app.websocket("chat")
    def chat(ctx: Context, body: dict) -> None: ...

    return app


@pytest.fixture
def app() -> App:
    return full_app()
