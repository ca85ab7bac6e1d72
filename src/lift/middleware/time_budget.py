"""`stop_near_timeout`: batch records that would start too close to Lambda's timeout fail unrun.

A batch that runs past the function's timeout fails whole: Lambda retries every record of it, those
that succeeded included, and a batch that always needs longer than the timeout never makes progress
(its messages reach the dead-letter queue, the later ones never run). With this middleware, a record
that would start with less than `margin_ms` left is not run: it fails alone, reported in
`batchItemFailures` and redelivered, while the records that already ran are deleted or checkpointed.

    from lift.middleware.time_budget import stop_near_timeout

    @app.sqs("orders", middleware=[stop_near_timeout(margin_ms=10_000)])
    def on_order(body: Order) -> None: ...

Choose a margin above the longest a record takes. It applies to the sources with a partial batch
response (SQS, Kinesis, DynamoDB streams, Kafka) on Lambda; other sources and local calls without a
Lambda context pass through. Each record it stops gets one WARNING line (`... rejected (request_id=...):
time_budget: 1200 ms left before the function times out, under the 10000 ms margin: not run`); on FIFO
queues and streams the records after it are held back as after any failure, so order is kept.
The middleware reads the time left once per record: opt-in, so other handlers pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lift.context import Context, Response
from lift.errors import LiftError

__all__ = ["BATCH_SOURCES", "stop_near_timeout"]

BATCH_SOURCES = frozenset(("sqs", "kinesis", "dynamodb", "kafka"))


def stop_near_timeout(margin_ms: int = 5_000) -> Callable[[Context, Callable[[Context], Response]], Response]:
    """Middleware failing, unrun, each batch record that would start with less than `margin_ms` left."""
    if margin_ms.__class__ is not int or margin_ms <= 0:
        raise ValueError(f"margin_ms must be a positive int (milliseconds), not {margin_ms!r}")

    def stop_near_timeout(ctx: Context, call_next: Callable[[Context], Any]) -> Any:
        if ctx.source in BATCH_SOURCES and ctx.lambda_context is not None:
            left = ctx.remaining_ms()
            if left < margin_ms:
                raise LiftError(
                    408,
                    "time_budget",
                    f"{left} ms left before the function times out, under the {margin_ms} ms margin: not run",
                )
        return call_next(ctx)

    return stop_near_timeout
