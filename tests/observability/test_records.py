"""Logs and metrics for event-source batches: a line per record, one EMF flush per invocation."""

from __future__ import annotations

import json
import uuid

from lift import App
from lift.middleware.logging import RequestLogging
from lift.middleware.metrics import RequestMetrics
from lift.testing import lambda_context
from observability.emf_spec import emf_lines, log_lines, metric_values, validate_emf

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"


def sqs_event(*bodies: dict) -> dict:
    """An SQS event as Lambda delivers it (standard queue, JSON bodies)."""
    records = []
    for body in bodies:
        text = json.dumps(body)
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + uuid.uuid4().hex,
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185",
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def make_app() -> App:
    app = App("orders")
    app.use(RequestLogging(), RequestMetrics(route_metrics=True, cold_start=False))

    @app.sqs("orders")
    def handle(ctx, body: dict) -> None:
        ctx.logger.info("processing", order=body["id"])
        ctx.metrics.add("OrdersProcessed", 1, unit="Count")
        if body.get("fail"):
            raise ValueError(f"order {body['id']} is invalid")

    return app


def test_batch_logs_a_line_per_record_and_flushes_metrics_once(capsys):
    app = make_app()
    event = sqs_event({"id": 1}, {"id": 2, "fail": True}, {"id": 3})
    result = app.handler(event, lambda_context())
    failed_id = event["Records"][1]["messageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": failed_id}]}

    out = capsys.readouterr().out
    access = [x for x in log_lines(out) if x["logger"] == "lift.access"]
    assert [(x["record_id"], x["outcome"]) for x in access] == [
        (event["Records"][0]["messageId"], "ok"),
        (failed_id, "error"),
        (event["Records"][2]["messageId"], "ok"),
    ]
    failure = access[1]
    assert failure["level"] == "ERROR" and failure["error_code"] == "ValueError" and failure["status"] == 500
    tracebacks = [x for x in log_lines(out) if "exception" in x]  # once, in the core's failure line
    assert [(x["exception"]["type"], x["record_id"], x["service"]) for x in tracebacks] == [
        ("ValueError", failed_id, "orders")
    ]
    assert all(x["source"] == "sqs" for x in access)

    docs = emf_lines(out)
    assert all(validate_emf(d) == [] for d in docs)
    assert metric_values(docs, "OrdersProcessed") == [1, 1, 1]
    assert sorted(metric_values(docs, "RecordFailures", source="sqs")) == [0, 0, 1]
    assert metric_values(docs, "Records", source="sqs") == [1, 1, 1]
    # one flush for the invocation: each dimension set appears once
    assert len(docs) == 2


def test_otel_span_per_record(capsys, otel_exporter):
    from lift.middleware.tracing import Tracing

    provider, exporter = otel_exporter
    app = App("orders")
    app.use(Tracing(tracer_provider=provider))

    @app.sqs("orders")
    def handle(ctx, body: dict) -> None:
        if body.get("fail"):
            raise ValueError("invalid")

    app.handler(sqs_event({"id": 1}, {"id": 2, "fail": True}), lambda_context())
    ok, failed = exporter.get_finished_spans()
    assert ok.name == "sqs process" and ok.kind.name == "CONSUMER"
    assert ok.attributes["faas.trigger"] == "pubsub" and ok.attributes["lift.source"] == "sqs"
    assert failed.status.status_code.name == "ERROR"
    assert failed.events[0].name == "exception"


def test_an_sqs_records_span_links_to_its_producers_trace(otel_exporter):
    """SQS carries the sender's trace in the `AWSTraceHeader` system attribute; before, the record's
    span had no tie to it (a trace ended at the queue). Now the CONSUMER span links to it; a
    malformed header (or none) gives no link and no failure."""
    from lift.middleware.tracing import Tracing
    from lift.testing import events

    provider, exporter = otel_exporter
    app = App("orders")
    app.use(Tracing(tracer_provider=provider))

    @app.sqs("orders")
    def handle(ctx, body: str) -> None: ...

    event = events.sqs("orders", ["a", "b", "c"])
    producer = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    event["Records"][0]["attributes"]["AWSTraceHeader"] = producer
    event["Records"][1]["attributes"]["AWSTraceHeader"] = "Root=not-a-trace;Parent=zz"
    assert app.handler(event, lambda_context()) == {"batchItemFailures": []}
    linked, malformed, plain = exporter.get_finished_spans()
    (link,) = linked.links
    assert format(link.context.trace_id, "032x") == "5759e988bd862e3fe1be46a994272793"
    assert format(link.context.span_id, "016x") == "53995c3f42cd8ad8" and link.context.is_remote
    assert not malformed.links and not plain.links
