"""What classifying an event costs, per source: `App.handler` on one event of each kind, the
handler doing nothing, so the figure is detection + dispatch + the answer.

The HTTP and SQS kinds are the hot paths the trigger rules (lift.sources.rules) must not slow
down; the trigger kinds show what the rules after the fast paths cost.

    .venv/bin/python bench/bench_classify.py [--rounds 9] [--calls 2000]
    bash bench/callgrind.sh bench/bench_classify.py rest     # load-independent instructions per call
"""

from __future__ import annotations

import argparse
import statistics
import time

from lift import App
from lift.testing import events


def make_app() -> App:
    app = App()
    app.get("/items/{item_id}")(lambda item_id: None)
    app.sqs("orders")(lambda body: None)
    app.authorizer()(lambda ctx: "user-1")
    app.cognito("pre_sign_up")(lambda ctx: None)
    app.kafka("orders")(lambda body: None)
    return app


EVENTS = {
    "rest": lambda: events.apigw_rest("GET", "/items/1"),
    "http": lambda: events.apigw_http("GET", "/items/1"),
    "sqs": lambda: events.sqs("orders", ["x"]),
    "authorizer": lambda: events.apigw_token_authorizer("Bearer t"),
    "cognito": lambda: events.cognito("pre_sign_up"),
    "kafka": lambda: events.kafka("orders", ["x"]),
}


def run(kind: str, calls: int) -> float:
    handler, event = make_app().handler, EVENTS[kind]()
    start = time.perf_counter()
    for _ in range(calls):
        handler(event, None)
    return (time.perf_counter() - start) / max(calls, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument(
        "--only", help="run one kind (rest, http, sqs, authorizer, cognito, kafka), e.g. under callgrind"
    )
    args = parser.parse_args()
    if args.only:
        run(args.only, args.calls)
        return
    with open("/proc/loadavg") as f:
        print(f"load average: {f.read().split()[0]}")
    for kind in EVENTS:
        median = statistics.median(run(kind, args.calls) for _ in range(args.rounds))
        print(f"{kind:<11} {median * 1e6:7.2f} us per event (median of {args.rounds})")


if __name__ == "__main__":
    main()
