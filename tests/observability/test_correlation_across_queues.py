"""One correlation id across a queue or a topic: an SQS or SNS message carrying the caller's id as a
message attribute is logged (and passed on to the calls its handler makes) under that id."""

from __future__ import annotations

import json

import pytest

from lift import App, Context
from lift.middleware.logging import RequestLogging
from lift.services.propagation import headers_for
from lift.testing import TestClient, events
from observability.emf_spec import log_lines


def run(app: App, event: dict, capsys) -> dict[str, dict]:
    """Each record's 'handled' line, by the order id in its body."""
    TestClient(app).invoke(event)
    return {line["order"]: line for line in log_lines(capsys.readouterr().out) if line["message"] == "handled"}


def queue_app(source: str) -> tuple[App, dict[str, str]]:
    app = App(name="orders")
    app.use(RequestLogging())
    sent: dict[str, str] = {}

    def handle(ctx: Context, body: dict) -> None:
        sent[body["order"]] = headers_for(ctx)["X-Correlation-Id"]
        ctx.logger.info("handled", order=body["order"])

    (app.sqs if source == "sqs" else app.sns)("orders")(handle)
    return app, sent


@pytest.mark.parametrize("source", ["sqs", "sns"])
def test_a_messages_correlation_attribute_is_the_correlation_id(source, capsys):
    app, sent = queue_app(source)
    attributes = [
        {"X-Correlation-Id": "checkout-42"},
        {"correlationId": "cart-7", "X-Request-Id": "req-1"},  # a correlation id wins over a request id
        {"x-request-id": "req-9"},
        {"X-Correlation-Id": "two words\nand a line"},  # not an id: not taken
        {},
    ]
    records = []
    for i, attrs in enumerate(attributes):
        body = json.dumps({"order": str(i)})
        if source == "sqs":
            records.append(events.sqs_message(body, message_attributes=attrs))
        else:
            records += events.sns("orders", body, message_attributes=attrs)["Records"]
    lines = run(app, {"Records": records}, capsys)
    assert [lines[str(i)]["correlation_id"] for i in range(3)] == ["checkout-42", "cart-7", "req-9"]
    for i in (3, 4):  # no usable attribute: the record's own request id, as before
        assert lines[str(i)]["correlation_id"] == lines[str(i)]["request_id"]
    assert sent == {str(i): lines[str(i)]["correlation_id"] for i in range(5)}
