"""Per-request overhead of Lift's idempotency and rate limiting on each store, and Lift's
`@idempotent` against Powertools' `@idempotent` with DynamoDB Local as the store for both.

Starts redis-server and DynamoDB Local on free 127.0.0.1 ports (tests/services.py; or uses
LIFT_TEST_REDIS_URL / LIFT_TEST_DYNAMODB_ENDPOINT). Variants run in interleaved rounds so
machine noise hits them alike; the report gives medians and ratios from one run:

    .bench-venv/bin/python bench/bench_idempotency.py [--rounds 7] [--requests 60]

(the bench venv has Powertools; boto3 and redis-py are installed into it when missing).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))


def ensure_clients() -> None:
    """boto3 and redis-py in this interpreter (the bench venv only has Powertools' own deps)."""
    missing = [name for name in ("boto3", "redis") if importlib.util.find_spec(name) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)


ensure_clients()

import services as test_services

from lift import App, Context
from lift.middleware.idempotency import idempotency
from lift.middleware.idempotency import idempotent as lift_idempotent
from lift.middleware.rate_limit import rate_limit
from lift.stores.dynamodb import DynamoDBStore, create_table
from lift.stores.memory import MemoryStore
from lift.stores.redis import RedisStore
from lift.testing import events, lambda_context

Variant = Callable[[int], Callable[[], object]]  # prepare(n) -> run one request


def start_services() -> tuple[str, str, list]:
    test_services.use_dummy_aws_credentials()
    started = []
    redis_url = os.environ.get("LIFT_TEST_REDIS_URL")
    if not redis_url:
        server = test_services.start_redis()
        started.append(server)
        redis_url = f"redis://127.0.0.1:{server.port}/0"
    endpoint = os.environ.get("LIFT_TEST_DYNAMODB_ENDPOINT")
    if not endpoint:
        server = test_services.start_dynamodb_local()
        started.append(server)
        endpoint = f"http://127.0.0.1:{server.port}"
    return redis_url, endpoint, started


def http_app(*middleware) -> App:
    app = App(name="bench-idem")
    app.use(*middleware)

    @app.post("/orders", status=201)
    def create_order(ctx: Context) -> dict:
        return {"id": "o-1", "item": "book"}

    return app


def http_variant(app: App, fresh_key: bool, same_key: str | None = None) -> Variant:
    """Requests through app.handler; events (with unique keys when `fresh_key`) built beforehand."""

    def prepare(n: int) -> Callable[[], object]:
        def event(i: int) -> dict:
            headers = {"Content-Type": "application/json"}
            if fresh_key:
                headers["Idempotency-Key"] = uuid.uuid4().hex
            elif same_key:
                headers["Idempotency-Key"] = same_key
            return events.apigw_rest("POST", "/orders", body='{"item": "book"}', headers=headers)

        batch = iter([(event(i), lambda_context()) for i in range(n)])
        handler = app.handler

        def run() -> object:
            ev, lc = next(batch)
            result = handler(ev, lc)
            assert result["statusCode"] == 201, result
            return result

        return run

    return prepare


def function_variant(handler: Callable, fresh_key: bool) -> Variant:
    """A direct-invoke handler(event, context) with `{"id": ...}` payloads."""

    def prepare(n: int) -> Callable[[], object]:
        fixed = uuid.uuid4().hex
        batch = iter(
            [({"id": uuid.uuid4().hex if fresh_key else fixed, "amount": 42}, lambda_context()) for _ in range(n)]
        )

        def run() -> object:
            event, context = next(batch)
            return handler(event, context)

        return run

    return prepare


def measure(variants: dict[str, Variant], rounds: int, requests: int) -> dict[str, float]:
    """Median per-request microseconds of each variant over interleaved rounds."""
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    for prepare in variants.values():  # warm-up: connections, scripts, first keys
        run = prepare(5)
        for _ in range(5):
            run()
    for _ in range(rounds):
        for name, prepare in variants.items():
            run = prepare(requests)
            samples = []
            for _ in range(requests):
                start = time.perf_counter()
                run()
                samples.append(time.perf_counter() - start)
            per_round[name].append(statistics.median(samples) * 1e6)
    return {name: statistics.median(values) for name, values in per_round.items()}


def powertools_handler(endpoint: str) -> Callable:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent,
    )

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    try:
        client.create_table(
            TableName="powertools-idempotency",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except client.exceptions.ResourceInUseException:
        pass
    layer = DynamoDBPersistenceLayer(table_name="powertools-idempotency", boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="id", use_local_cache=False)

    @idempotent(persistence_store=layer, config=config)
    def handler(event: dict, context: object) -> dict:
        return {"charged": event["amount"]}

    return handler


def lift_handler(store) -> Callable:
    @lift_idempotent(store=store, key="id")
    def handler(event: dict, context: object) -> dict:
        return {"charged": event["amount"]}

    return handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    redis_url, endpoint, started = start_services()
    try:
        create_table("lift-bench", endpoint_url=endpoint, region="us-east-1")
        stores = {
            "memory": MemoryStore(),
            "redis": RedisStore(redis_url, prefix=f"bench-{uuid.uuid4().hex[:6]}:"),
            "dynamodb": DynamoDBStore("lift-bench", endpoint_url=endpoint, region="us-east-1"),
        }
        http: dict[str, Variant] = {"bare": http_variant(http_app(), fresh_key=False)}
        for backend, store in stores.items():
            http[f"idempotency/{backend}/first"] = http_variant(http_app(idempotency(store)), fresh_key=True)
            http[f"idempotency/{backend}/replay"] = http_variant(
                http_app(idempotency(store)), fresh_key=False, same_key=uuid.uuid4().hex
            )
            for algorithm in ("fixed", "sliding", "token_bucket"):
                limiter = rate_limit(10**9, 3600, store=store, algorithm=algorithm)
                http[f"rate_limit/{backend}/{algorithm}"] = http_variant(http_app(limiter), fresh_key=False)
        functions: dict[str, Variant] = {
            "plain function": function_variant(lambda event, context: {"charged": event["amount"]}, True),
            "lift @idempotent/first": function_variant(lift_handler(stores["dynamodb"]), True),
            "powertools @idempotent/first": function_variant(powertools_handler(endpoint), True),
            "lift @idempotent/replay": function_variant(lift_handler(stores["dynamodb"]), False),
            "powertools @idempotent/replay": function_variant(powertools_handler(endpoint), False),
        }
        http_results = measure(http, args.rounds, args.requests)
        function_results = measure(functions, args.rounds, args.requests)
    finally:
        for server in started:
            server.stop()

    if args.json:
        print(json.dumps({"http": http_results, "functions": function_results}, indent=2))
        return
    bare = http_results["bare"]
    print(f"HTTP POST through app.handler: median per request ({args.rounds} rounds x {args.requests})")
    print(f"  {'variant':36} {'median':>10} {'overhead':>10} {'x bare':>8}")
    for name, value in http_results.items():
        print(f"  {name:36} {value:8.1f}us {value - bare:8.1f}us {value / bare:8.2f}")
    print("\nDirect-invoke handler, DynamoDB Local as the store for both libraries")
    print(f"  {'variant':36} {'median':>10} {'vs Powertools':>14}")
    for name, value in function_results.items():
        other = name.replace("lift", "powertools")
        ratio = f"{value / function_results[other]:.2f}" if other != name and other in function_results else ""
        print(f"  {name:36} {value:8.1f}us {ratio:>14}")


if __name__ == "__main__":
    main()
