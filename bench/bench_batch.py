"""Per-record cost of an SQS batch: Lift's `@app.sqs` vs a bare loop vs Powertools' BatchProcessor.

Run with the bench virtualenv (bench/setup.sh installs Powertools there; `bench/run.sh` runs it
after the HTTP comparison):

    .bench-venv/bin/python bench/bench_batch.py [--rounds 41] [--calls 500] [--clock cpu|wall]

One 10-record SQS event (built with `lift.testing.events`), each body a small JSON order
decoded into a `msgspec.Struct`, all records succeeding; every variant's answer is checked
before timing. Each round times `--calls` batches of every variant back to back (the order
rotates from round to round); "vs bare" is the median over rounds of the variant's time divided
by the bare loop's in the same round, so a slow spell of a shared machine hits both sides of
each ratio alike. Every variant's user function does the same work (checks `qty`), called once
per record:

- bare loop: `for record in event["Records"]` decoding the body with a msgspec decoder, calling
  the handler, collecting `batchItemFailures` in a try/except: the floor for any framework.
- lift (body): `@app.sqs("orders") def handle(body: Order)` through `app.handler` (source
  detection, queue match, typed body, partial-failure response); with no `ctx` parameter no
  context is made for a message that succeeds.
- lift (ctx, body): `def handle(ctx: Context, body: Order)`: a Context per record (its SQSRecord
  is made only if the handler reads `ctx.record`).
- lift (ctx, body) + middleware: the same with one global pass-through middleware around every record;
  + 3 middleware: three of them (what each further middleware adds).
- powertools: `BatchProcessor(EventType.SQS)` + `process_partial_response`, the record handler
  decoding `record.body` with the same msgspec decoder (so both sides pay the same decoding).

Target (issue 3): Lift within 2x the bare loop per record.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import msgspec

from lift import App, Context
from lift.testing import events, lambda_context

RECORDS = 10


class Order(msgspec.Struct):
    order_id: str
    customer: str
    qty: int
    price: float


_decoder = msgspec.json.Decoder(Order)
_sink: list[Any] = []


def handle_order(body: Order) -> None:
    """The work every variant does per record, in the user's one function: check the typed
    order. The bare loop calls this function; `lift (body)` registers it as the handler; the other
    variants' handlers do the same check in their own body (one user function call per record
    everywhere)."""
    if body.qty < 0:
        raise ValueError("negative quantity")


def bare_loop(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            handle_order(_decoder.decode(record["body"]))
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def lift_handler(middleware: int, with_ctx: bool = True) -> Any:
    app = App(name="bench-batch")
    for _ in range(middleware):  # pass-through middleware, each its own function
        app.use(lambda ctx, call_next: call_next(ctx))

    if with_ctx:

        @app.sqs("orders")
        def on_order(ctx: Context, body: Order) -> None:
            if body.qty < 0:
                raise ValueError("negative quantity")
    else:
        app.sqs("orders")(handle_order)

    return app.handler


def powertools_handler() -> Any:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: Any) -> None:
        body = _decoder.decode(record.body)
        if body.qty < 0:
            raise ValueError("negative quantity")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


CLOCK = time.process_time  # CPU time: other work on a shared machine does not count (--clock wall)


def per_call_us(fn: Any, event: dict[str, Any], context: Any, calls: int) -> float:
    start = CLOCK()
    for _ in range(calls):
        fn(event, context)
    return (CLOCK() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="cpu: time.process_time (default, robust on a shared machine); wall: perf_counter",
    )
    parser.add_argument(
        "--only",
        help="run one variant (by prefix) --calls batches and exit, untimed: for callgrind "
        '(bash bench/callgrind.sh bench/bench_batch.py "lift (ctx, body) + middleware")',
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    bodies = [{"order_id": f"o-{i}", "customer": f"c-{i % 3}", "qty": i + 1, "price": 9.5 + i} for i in range(RECORDS)]
    event = events.sqs("orders", bodies)
    context = lambda_context()
    variants: dict[str, Any] = {
        "bare loop": bare_loop,
        "lift (body)": lift_handler(0, with_ctx=False),
        "lift (ctx, body)": lift_handler(0),
        "lift (ctx, body) + middleware": lift_handler(1),
        "lift (ctx, body) + 3 middleware": lift_handler(3),
    }
    try:
        if not args.only or args.only.startswith("powertools"):
            variants["powertools BatchProcessor"] = powertools_handler()
    except ImportError:
        print("(powertools not installed: run bench/setup.sh and use .bench-venv/bin/python)", file=sys.stderr)
    for name, fn in variants.items():  # every variant must succeed on every record
        result = fn(event, context)
        if result != {"batchItemFailures": []}:
            raise SystemExit(f"{name}: unexpected result {result!r}")
    if args.only:
        fn = (
            variants[args.only]
            if args.only in variants
            else next(v for k, v in variants.items() if k.startswith(args.only))
        )
        for _ in range(args.calls):
            fn(event, context)
        return
    samples: dict[str, list[float]] = {name: [] for name in variants}
    ratios: dict[str, list[float]] = {name: [] for name in variants}  # per round: vs the bare loop's
    for fn in variants.values():  # warm up
        per_call_us(fn, event, context, max(50, args.calls // 10))
    names = list(variants)
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]  # rotate: no variant always first
        times = {name: per_call_us(variants[name], event, context, args.calls) / RECORDS for name in order}
        for name, value in times.items():
            samples[name].append(value)
            ratios[name].append(value / times["bare loop"])
    print(
        f"SQS batch of {RECORDS} records, typed msgspec body; median of {args.rounds} rounds x "
        f"{args.calls} batches, {args.clock} clock (Python {sys.version.split()[0]})"
    )
    print(f"{'variant':<32}{'median us/record':>17}{'vs bare':>9}{'best us/record':>16}")
    for name, values in samples.items():
        print(
            f"{name:<32}{statistics.median(values):>17.2f}{statistics.median(ratios[name]):>8.2f}x{min(values):>16.2f}"
        )
    print("(vs bare: the median over rounds of the variant's time over the bare loop's in the same round)")
    for name in ("lift (body)", "lift (ctx, body)"):
        ratio = statistics.median(ratios[name])
        print(f"target: {name} within 2x the bare loop -> {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
