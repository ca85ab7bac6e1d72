"""Errors are logged and counted by their status whatever the middleware order, and every line
names the app's service and function: what an operator reads in CloudWatch."""

from __future__ import annotations

import json
import logging

import pytest

from lift import App, Context
from lift.errors import BadRequest, ServiceUnavailable
from lift.middleware.auth import jwt_auth
from lift.middleware.logging import RequestLogging
from lift.middleware.metrics import RequestMetrics
from lift.testing import TestClient, events, lambda_context
from observability.emf_spec import emf_lines, log_lines, metric_values

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def refuse_with(error: Exception):
    def refuse(ctx: Context, call_next):
        raise error

    return refuse


def orders_app(*middleware) -> App:
    app = App(name="orders")
    app.use(*middleware)

    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        return {"id": order_id}

    return app


ORDERS = {
    "README order (logging, metrics, auth)": lambda: [
        RequestLogging(),
        RequestMetrics(route_metrics=True),
        jwt_auth(secret=SECRET),
    ],
    "metrics outermost": lambda: [RequestMetrics(route_metrics=True), RequestLogging(), jwt_auth(secret=SECRET)],
}


def call(app: App, capsys) -> tuple[object, list[dict], list[dict]]:
    context = lambda_context(function_name="orders-fn")
    response = TestClient(app).get("/orders/7", context=context)
    out = capsys.readouterr().out
    return response, log_lines(out), emf_lines(out)


@pytest.mark.parametrize("order", ORDERS, ids=list(ORDERS))
def test_a_401_from_auth_is_a_client_error_with_one_access_line(order, capsys):
    response, lines, docs = call(orders_app(*ORDERS[order]()), capsys)
    assert response.status_code == 401
    access = [line for line in lines if line["logger"] == "lift.access"]
    assert len(access) == 1, lines
    assert access[0]["status"] == 401 and access[0]["level"] == "INFO" and access[0]["route"] == "/orders/{order_id}"
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL") or "exception" in line], lines
    dims = {"route": "/orders/{order_id}", "method": "GET"}
    assert metric_values(docs, "ClientErrors", **dims) == [1]
    assert metric_values(docs, "ServerErrors", **dims) == [0]
    assert all(line["service"] == "orders" and line["function_name"] == "orders-fn" for line in lines), lines


@pytest.mark.parametrize("order", ["logging first", "metrics first"])
def test_a_5xx_lift_error_from_a_middleware_is_a_server_error(order, capsys):
    unavailable = refuse_with(ServiceUnavailable("the ledger is down"))
    observers = [RequestLogging(), RequestMetrics(route_metrics=True)]
    app = orders_app(*(observers if order == "logging first" else observers[::-1]), unavailable)
    response, lines, docs = call(app, capsys)
    assert response.status_code == 503
    access = [line for line in lines if line["logger"] == "lift.access"]
    assert len(access) == 1 and access[0]["status"] == 503 and access[0]["level"] == "ERROR"
    dims = {"route": "/orders/{order_id}", "method": "GET"}
    assert metric_values(docs, "ServerErrors", **dims) == [1]
    assert metric_values(docs, "ClientErrors", **dims) == [0]
    assert all(line["service"] == "orders" for line in lines), lines


def test_an_unexpected_error_from_a_middleware_is_one_traceback(capsys):
    app = orders_app(RequestLogging(), RequestMetrics(route_metrics=True), refuse_with(RuntimeError("bug")))
    response, lines, docs = call(app, capsys)
    assert response.status_code == 500 and "bug" not in response.text
    assert len([line for line in lines if "exception" in line]) == 1, lines
    access = [line for line in lines if line["logger"] == "lift.access"]
    assert len(access) == 1 and access[0]["status"] == 500 and access[0]["level"] == "ERROR"
    assert metric_values(docs, "ServerErrors", route="/orders/{order_id}", method="GET") == [1]


def test_a_rejected_record_is_a_warning_naming_the_service(capsys):
    app = App(name="orders")
    app.use(RequestLogging())

    @app.sqs("orders")
    def on_order(ctx: Context, body: dict) -> None:
        if "amount" not in body:
            raise BadRequest("an order needs an amount")

    event = events.sqs("orders", [json.dumps({"amount": 1}), json.dumps({"id": 2})])
    result = TestClient(app).invoke(event, context=lambda_context(function_name="orders-fn"))
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    lines = log_lines(capsys.readouterr().out)
    assert not [line for line in lines if line["level"] == "ERROR" or "exception" in line], lines
    rejected = [line for line in lines if line["level"] == "WARNING"]
    assert rejected and all(line["record_id"] == event["Records"][1]["messageId"] for line in rejected)
    assert all(line["service"] == "orders" and line["function_name"] == "orders-fn" for line in lines), lines


def test_lines_outside_a_request_name_the_app_not_lift(capsys):
    app = orders_app(RequestLogging())
    TestClient(app).get("/orders/1", context=lambda_context(function_name="orders-fn"))
    logging.getLogger("botocore.credentials").warning("found credentials in environment variables")
    lines = log_lines(capsys.readouterr().out)
    background = next(line for line in lines if line["logger"] == "botocore.credentials")
    assert background["service"] == "orders" and background["function_name"] == "orders-fn"


def test_stdlib_extra_fields_go_to_the_top_level(capsys):
    app = App(name="orders")
    app.use(RequestLogging())

    @app.sqs("orders")
    def on_order(ctx: Context, body: dict) -> None:
        ctx.logger.info("order", extra={"message_id": ctx.record.message_id}, amount=body["amount"])

    event = events.sqs("orders", [json.dumps({"amount": 5})])
    TestClient(app).invoke(event)
    line = next(line for line in log_lines(capsys.readouterr().out) if line["message"] == "order")
    assert line["message_id"] == event["Records"][0]["messageId"] and line["amount"] == 5
    assert "extra" not in line
