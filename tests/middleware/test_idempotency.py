"""Idempotency through real API Gateway events and direct calls, on memory, DynamoDB Local and Redis."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import msgspec
import pytest

from lift import App, Context, Response
from lift.errors import BadRequest
from lift.middleware.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    idempotency,
    idempotent,
    key_from_expression,
)
from lift.stores.base import scoped_key
from lift.stores.redis import RedisStore
from lift.testing import FrozenLambdaContext, TestClient, events, lambda_context
from tests.store_time import StoreTime


def set_tenant_from_header(ctx: Context, call_next):
    """Stand-in for the tenancy middleware: the tenant as it would resolve it."""
    if ctx.request is not None:
        ctx.tenant_id = ctx.request.headers.get("x-test-tenant")
    return call_next(ctx)


class Orders:
    """An app whose handlers count how often they really ran."""

    def __init__(self, store, **options):
        self.runs = 0
        self.fail_next: list[Exception] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.seen_ttl: list[float | None] = []
        self.probe_lock_ttl = False
        self.middleware = idempotency(store, **options)
        self.app = App(name="orders")
        self.app.use(set_tenant_from_header, self.middleware)

        @self.app.post("/orders", status=201)
        def create_order(ctx: Context) -> Response:
            self.runs += 1
            self.entered.set()
            self.release.wait(10)
            if self.fail_next:
                raise self.fail_next.pop(0)
            key = ctx.request.headers.get("idempotency-key")
            if key and self.probe_lock_ttl:
                self.seen_ttl.append(self.middleware.ledger.store.ttl(self.middleware.record_key(ctx, key)))
            order = {"id": f"o-{self.runs}", "item": ctx.request.json()["item"]}
            response = Response.json(order, status=201, headers={"Location": f"/orders/o-{self.runs}"})
            response.set_cookie("last_order", order["id"])
            return response

        @self.app.post("/refunds", status=201)
        def create_refund(ctx: Context) -> dict:
            self.runs += 1
            return {"refund": self.runs}

        @self.app.get("/orders")
        def list_orders(ctx: Context) -> dict:
            self.runs += 1
            return {"orders": []}


def post(client, key=None, item="book", path="/orders", **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json={"item": item}, headers=headers)


def test_a_retry_replays_the_first_response(store):
    orders = Orders(store)
    client = TestClient(orders.app)
    first = post(client, "k-1")
    again = post(client, "k-1")
    assert orders.runs == 1
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == {"id": "o-1", "item": "book"}
    assert again.headers["Location"] == "/orders/o-1"
    assert again.cookies == first.cookies and "last_order=o-1" in again.cookies[0]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


@pytest.mark.parametrize("source", ["http", "alb", "url"])
def test_replay_works_on_every_http_source(source):
    orders = Orders(None)
    client = TestClient(orders.app, source=source)
    assert post(client, "k").json() == post(client, "k").json()
    assert orders.runs == 1


def test_same_key_with_another_payload_is_422(store):
    orders = Orders(store)
    client = TestClient(orders.app)
    assert post(client, "k-1", item="book").status_code == 201
    reused = post(client, "k-1", item="lamp")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert orders.runs == 1


def test_same_key_with_another_query_is_422_and_the_same_query_in_any_order_replays():
    """POST /refunds?amount=100 then ?amount=5 with one key: the query is part of what was asked for.
    Before, only path and body were compared: the second got the first's 100 refund replayed as its own."""
    orders = Orders(None)
    client = TestClient(orders.app)
    key = {"Idempotency-Key": "r-1"}
    assert client.post("/refunds?amount=100&currency=EUR", json={}, headers=key).status_code == 201
    again = client.post("/refunds?currency=EUR&amount=100", json={}, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/refunds?amount=5&currency=EUR", json={}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert orders.runs == 1


def test_without_payload_hashing_the_key_alone_decides(store):
    orders = Orders(store, hash_payload=False)
    client = TestClient(orders.app)
    post(client, "k-1", item="book")
    assert post(client, "k-1", item="lamp").json()["item"] == "book"


def test_two_simultaneous_requests_run_the_handler_exactly_once(store_factory):
    """Two Lambda instances (each its own store client) get the same request at the same moment."""
    orders_a, orders_b = Orders(store_factory()), Orders(store_factory())
    runs = []
    for orders in (orders_a, orders_b):
        orders.release.clear()  # the handler holds until both requests have been answered or locked out
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def send(name, orders):
        barrier.wait(timeout=30)
        results[name] = post(TestClient(orders.app), "pay-42")
        orders_a.release.set()
        orders_b.release.set()

    threads = [threading.Thread(target=send, args=(n, o)) for n, o in (("a", orders_a), ("b", orders_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    runs = orders_a.runs + orders_b.runs
    statuses = sorted(r.status_code for r in results.values())
    assert runs == 1
    assert statuses == [201, 409]
    conflict = next(r for r in results.values() if r.status_code == 409)
    assert conflict.json()["error"]["code"] == "idempotency_in_progress"
    assert conflict.headers["Retry-After"] == "1"
    # Once the first has finished, a retry replays it.
    replay = post(TestClient(orders_a.app), "pay-42")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert orders_a.runs + orders_b.runs == 1


def test_many_concurrent_duplicates_run_once(store_factory):
    instances = [Orders(store_factory()) for _ in range(8)]
    for orders in instances:
        orders.release.clear()
    barrier = threading.Barrier(len(instances))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(orders):
        barrier.wait(timeout=30)
        response = post(TestClient(orders.app), "same-key")
        with lock:
            statuses.append(response.status_code)
            if statuses.count(409) == len(instances) - 1 or len(statuses) == len(instances):
                for other in instances:
                    other.release.set()

    threads = [threading.Thread(target=send, args=(o,)) for o in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(o.runs for o in instances) == 1
    assert sorted(statuses) == [201] + [409] * (len(instances) - 1)


def test_a_5xx_is_never_kept_so_a_retry_runs_again(store):
    orders = Orders(store, cache_client_errors=True)
    client = TestClient(orders.app)
    orders.fail_next.append(RuntimeError("database down"))
    assert post(client, "k").status_code == 500
    retried = post(client, "k")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert orders.runs == 2


def test_client_errors_are_not_kept_by_default(store):
    orders = Orders(store)
    client = TestClient(orders.app)
    orders.fail_next.append(BadRequest("card declined"))
    assert post(client, "k").status_code == 400
    assert post(client, "k").status_code == 201
    assert orders.runs == 2


def test_client_errors_are_replayed_when_asked(store):
    orders = Orders(store, cache_client_errors=True)
    client = TestClient(orders.app)
    orders.fail_next.append(BadRequest("card declined"))
    first = post(client, "k")
    again = post(client, "k")
    assert first.status_code == again.status_code == 400
    assert again.json()["error"]["message"] == "card declined"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert orders.runs == 1


def test_keys_are_scoped_by_tenant(store):
    orders = Orders(store)
    client = TestClient(orders.app)
    acme = post(client, "k", **{"X-Test-Tenant": "acme"})
    globex = post(client, "k", **{"X-Test-Tenant": "globex"})
    assert orders.runs == 2
    assert acme.json()["id"] != globex.json()["id"]
    assert "Idempotent-Replayed" not in globex.headers
    assert post(client, "k", **{"X-Test-Tenant": "acme"}).json() == acme.json()


def test_keys_are_scoped_by_user(store):
    """Idempotency keys are not secrets (they show in logs, proxies, client code): a user who sends another
    user's key with the same body gets a run of their own, never the other's response replayed."""
    runs: list[str] = []
    app = App(name="payments")

    def authenticate(ctx: Context, call_next):  # stands in for jwt_auth: the caller's user id
        ctx.user_id = ctx.request.headers.get("x-test-user")
        return call_next(ctx)

    app.use(authenticate, idempotency(store))

    @app.post("/payments", status=201)
    def pay(ctx: Context) -> dict:
        runs.append(ctx.user_id)
        return {"payment": f"p-{len(runs)}", "card": f"card of {ctx.user_id}"}

    client = TestClient(app)
    ann = client.post("/payments", json={"amount": 5}, headers={"Idempotency-Key": "k-1", "X-Test-User": "ann"})
    bob = client.post("/payments", json={"amount": 5}, headers={"Idempotency-Key": "k-1", "X-Test-User": "bob"})
    assert bob.status_code == 201 and "Idempotent-Replayed" not in bob.headers
    assert bob.json() == {"payment": "p-2", "card": "card of bob"} and runs == ["ann", "bob"]
    again = client.post("/payments", json={"amount": 5}, headers={"Idempotency-Key": "k-1", "X-Test-User": "ann"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == ann.json()


def test_keys_are_scoped_by_route(store):
    orders = Orders(store)
    client = TestClient(orders.app)
    post(client, "k")
    refund = post(client, "k", path="/refunds")
    assert refund.status_code == 201 and refund.json() == {"refund": 2}
    assert orders.runs == 2


def test_requests_without_a_key_and_safe_methods_are_not_touched(store):
    orders = Orders(store)
    client = TestClient(orders.app)
    post(client)
    post(client)
    client.get("/orders", headers={"Idempotency-Key": "k"})
    client.get("/orders", headers={"Idempotency-Key": "k"})
    assert orders.runs == 4


def test_a_required_key_is_a_400_when_missing_or_malformed():
    orders = Orders(None, required=True)
    client = TestClient(orders.app)
    missing = post(client)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_missing"
    assert post(client, "x" * 300).status_code == 400
    assert orders.runs == 0


def test_the_lock_expires_with_the_invocation(store):
    """The IN_PROGRESS lock lives as long as the Lambda invocation may, plus a second."""
    orders = Orders(store)
    orders.probe_lock_ttl = True
    client = TestClient(orders.app)
    client.post(
        "/orders", json={"item": "book"}, headers={"Idempotency-Key": "k"}, context=lambda_context(timeout_ms=5000)
    )
    assert len(orders.seen_ttl) == 1 and 1.0 < orders.seen_ttl[0] <= 6.0


def test_a_crashed_invocation_blocks_the_key_only_until_its_lock_expires(store):
    from lift.sources import apigw_rest

    clock = StoreTime(store)
    orders = Orders(store)
    client = TestClient(orders.app)
    event = client.build_event("POST", "/orders", json={"item": "book"}, headers={"Idempotency-Key": "k"})
    # A first invocation took the lock for its 30 s and died (timeout, crash): only its lock remains.
    ctx = Context(orders.app, event, FrozenLambdaContext(remaining_ms=30_000), "rest")
    ctx.route = "/orders"
    ctx.request = apigw_rest.request_from_event(event)
    orders.middleware.ledger.begin(orders.middleware.record_key(ctx, "k"), None, ctx.remaining_ms() / 1000)
    assert post(client, "k").status_code == 409  # a retry while the lock holds
    clock.advance(25)
    assert post(client, "k").status_code == 409  # (the lock lives the invocation's 30 s plus 1 s)
    clock.advance(7)  # past the lock's lifetime
    assert post(client, "k").status_code == 201
    assert orders.runs == 1


def test_store_down_fails_closed_with_503_and_one_log_line(dead_port, caplog):
    dead = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.3)
    orders = Orders(dead)
    with caplog.at_level(logging.INFO, logger="lift"):
        response = post(TestClient(orders.app), "k")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert orders.runs == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "fail_closed" in lines[0] and response.json()["error"]["request_id"] in lines[0]


def test_store_down_fails_a_record_alone_with_one_log_line_naming_it(dead_port, caplog):
    """Before, the record's failure was said twice: the store error, then the batch's ERROR with a traceback."""
    dead = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.3)
    app = App(name="charges")

    @app.sqs("orders")
    @idempotent(store=dead, key="order_id")
    def charge(ctx: Context, body: dict) -> dict:
        return {"charged": body["order_id"]}

    event = events.sqs(records=[events.sqs_message({"order_id": "o-1"}, message_id="m-1")])
    with caplog.at_level(logging.INFO, logger="lift"):
        assert app.handler(event, lambda_context()) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "sqs record m-1" in lines[0] and "fail_closed" in lines[0]


def test_store_down_fails_open_when_configured(caplog, dead_port):
    dead = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.3)
    orders = Orders(dead, fail_open=True)
    assert post(TestClient(orders.app), "k").status_code == 201
    assert orders.runs == 1
    assert any("fail_open" in r.getMessage() and "request_id=" in r.getMessage() for r in caplog.records)


# -- the decorator: direct invokes, records, functions ----------------------------------------


def test_idempotent_function_runs_once_per_key(store):
    charged = []

    @idempotent(store=store, key="payment.id")
    def charge(event: dict, context=None) -> dict:
        charged.append(event["payment"]["amount"])
        return {"charged": event["payment"]["amount"], "n": len(charged)}

    event = {"payment": {"id": "p-1", "amount": 42}}
    assert charge(event, lambda_context()) == {"charged": 42, "n": 1}
    assert charge(event, lambda_context()) == {"charged": 42, "n": 1}
    assert charge({"payment": {"id": "p-2", "amount": 7}}, lambda_context())["n"] == 2
    assert charged == [42, 7]
    with pytest.raises(IdempotencyKeyReused):
        charge({"payment": {"id": "p-1", "amount": 99}}, lambda_context())


def test_idempotent_without_a_key_uses_the_whole_payload(store):
    seen = []

    @idempotent(store=store)
    def handle(ctx: Context, body: dict) -> None:
        seen.append(body)

    handle(None, {"a": 1})
    handle(None, {"a": 1})
    handle(None, {"a": 2})
    assert seen == [{"a": 1}, {"a": 2}]


def test_an_sqs_redelivery_is_skipped(store):
    """The same SQS message delivered twice (at-least-once) is processed once; the key is in its JSON body."""
    processed = []

    @idempotent(store=store, key="body.order_id", hash_payload="body")
    def on_message(record: dict) -> str:
        processed.append(record["messageId"])
        return "ok"

    record = {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": '{"order_id": "o-77", "total": 12.5}',
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
        "awsRegion": "us-east-1",
    }
    redelivery = {
        **record,
        "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
        "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"},
    }
    assert on_message(record) == "ok"
    assert on_message(redelivery) == "ok"
    assert processed == [record["messageId"]]
    # The same order id with other content is a misuse of the key, not a duplicate.
    with pytest.raises(IdempotencyKeyReused):
        on_message({**record, "body": '{"order_id": "o-77", "total": 99}'})


def test_a_failing_call_is_not_kept(store):
    attempts = []

    @idempotent(store=store, key="id")
    def flaky(job: dict) -> str:
        attempts.append(job["id"])
        if len(attempts) == 1:
            raise ConnectionError("downstream timeout")
        return "done"

    with pytest.raises(ConnectionError):
        flaky({"id": "j1"})
    assert flaky({"id": "j1"}) == "done"
    assert flaky({"id": "j1"}) == "done"
    assert attempts == ["j1", "j1"]


def test_concurrent_duplicate_calls_run_once_and_others_are_in_progress(store_factory):
    runs, outcomes = [], []
    release = threading.Event()
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def make():
        @idempotent(store=store_factory(), key="id", scope="jobs.process")
        def process(job: dict) -> str:
            runs.append(job["id"])
            release.wait(10)
            return "done"

        return process

    def call(process):
        barrier.wait(timeout=30)
        try:
            result = process({"id": "j-1"})
        except IdempotencyInProgress:
            result = "in-progress"
        with lock:
            outcomes.append(result)
            if outcomes.count("in-progress") == 5:
                release.set()

    functions = [make() for _ in range(6)]
    threads = [threading.Thread(target=call, args=(f,)) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    release.set()
    assert runs == ["j-1"]
    assert sorted(outcomes) == ["done"] + ["in-progress"] * 5


def test_tenant_scoping_applies_to_functions(store):
    runs = []

    @idempotent(store=store, key="id")
    def handle(ctx: Context, body: dict) -> int:
        runs.append(ctx.tenant_id)
        return len(runs)

    app = App(name="t")
    acme, globex = Context(app, {}, None, "invoke"), Context(app, {}, None, "invoke")
    acme.tenant_id, globex.tenant_id = "acme", "globex"
    assert handle(acme, {"id": 1}) == 1
    assert handle(globex, {"id": 1}) == 2
    assert handle(acme, {"id": 1}) == 1
    assert runs == ["acme", "globex"]


def test_a_required_key_missing_from_the_payload_is_an_error(store):
    @idempotent(store=store, key="id", required=True)
    def handle(body: dict) -> None:
        return None

    with pytest.raises(IdempotencyKeyMissing):
        handle({"other": 1})


def test_async_functions_are_supported(store):
    import asyncio

    runs = []

    @idempotent(store=store, key="id")
    async def handle(body: dict) -> dict:
        runs.append(body["id"])
        return {"ok": body["id"]}

    assert asyncio.run(handle({"id": "a"})) == {"ok": "a"}
    assert asyncio.run(handle({"id": "a"})) == {"ok": "a"}
    assert runs == ["a"]


def test_key_expressions():
    payload = {"detail": {"items": [{"sku": "A1"}, {"sku": "B2"}], "id": "x"}, "body": '{"order": {"id": 7}}'}
    assert key_from_expression("detail.id")(payload) == "x"
    assert key_from_expression("detail.items[1].sku")(payload) == "B2"
    assert key_from_expression("detail.items[-1].sku")(payload) == "B2"
    assert key_from_expression("body.order.id")(payload) == 7
    assert key_from_expression("detail.id, body.order.id")(payload) == ["x", 7]
    assert key_from_expression("detail.missing")(payload) is None
    assert key_from_expression("detail.items[5].sku")(payload) is None
    with pytest.raises(ValueError):
        key_from_expression("detail..id")


# -- through app.handler: SQS batches and direct invokes ---------------------------------------


class Payment(msgspec.Struct):
    payment_id: str
    amount: int


def test_sqs_redelivery_through_the_app_is_skipped_with_the_decorator(store):
    app = App(name="payments")
    charged: list[str] = []

    @app.sqs("payments")
    @idempotent(store=store, key="payment_id")
    def charge(ctx: Context, body: Payment) -> dict:
        charged.append(body.payment_id)
        return {"charged": body.amount}

    first = events.sqs_message({"payment_id": "p-1", "amount": 10}, queue="payments")
    redelivered = {
        **first,
        "receiptHandle": "AQEBredelivered",
        "attributes": {**first["attributes"], "ApproximateReceiveCount": "2"},
    }
    other = events.sqs_message({"payment_id": "p-2", "amount": 5}, queue="payments")
    result = app.handler(events.sqs("payments", records=[first, other]), lambda_context())
    assert result == {"batchItemFailures": []}
    result = app.handler(events.sqs("payments", records=[redelivered]), lambda_context())
    assert result == {"batchItemFailures": []}
    assert charged == ["p-1", "p-2"]


@pytest.mark.parametrize("concurrency", [None, 4])
def test_a_message_delivered_twice_in_one_batch_runs_once(store, concurrency):
    """SQS can put one message (same messageId and body) twice in a batch. In order, the second is
    skipped with the first's result; in concurrent lanes it is skipped, or, while the first still
    runs, failed for redelivery (then skipped). Never charged twice, never the whole batch failed."""
    import asyncio

    app = App(name="payments")
    charged: list[str] = []

    @app.sqs("payments", concurrency=concurrency)
    @idempotent(store=store, key="payment_id")
    async def charge(ctx: Context, body: Payment) -> None:
        charged.append(body.payment_id)
        await asyncio.sleep(0)

    message = events.sqs_message({"payment_id": "p-7", "amount": 3}, queue="payments")
    other = events.sqs_message({"payment_id": "p-8", "amount": 4}, queue="payments")
    result = app.handler(events.sqs("payments", records=[message, other, dict(message)]), lambda_context())
    assert result["batchItemFailures"] in ([], [{"itemIdentifier": message["messageId"]}])
    if concurrency is None:
        assert result["batchItemFailures"] == []
    again = app.handler(events.sqs("payments", records=[message]), lambda_context())  # the redelivery
    assert again == {"batchItemFailures": []}
    assert sorted(charged) == ["p-7", "p-8"]


def test_sqs_duplicate_in_progress_fails_the_record_for_redelivery(store):
    app = App(name="payments")
    charged: list[str] = []

    @app.sqs("payments")
    @idempotent(store=store, key="payment_id")
    def charge(ctx: Context, body: Payment) -> None:
        charged.append(body.payment_id)

    message = events.sqs_message({"payment_id": "p-9", "amount": 1}, queue="payments")
    # Another instance holds the lock for this payment right now.
    key = scoped_key("fn", charge.idempotency.scope, hashlib.sha256(b'"p-9"').hexdigest())
    assert store.put_if_absent(key, {"status": "IN_PROGRESS", "hash": None, "token": "other"}, ttl=30)
    result = app.handler(events.sqs("payments", records=[message]), lambda_context())
    assert result == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert charged == []


def test_idempotency_middleware_covers_records_when_given_a_key(store):
    app = App(name="payments")
    app.use(idempotency(store, key="payment_id"))
    charged: list[str] = []

    @app.sqs("payments")
    def charge(ctx: Context, body: Payment) -> None:
        charged.append(body.payment_id)

    @app.sqs("audit")
    def audit(ctx: Context, body: Payment) -> None:
        charged.append("audit:" + body.payment_id)

    payment = {"payment_id": "p-1", "amount": 10}
    batch = [events.sqs_message(payment, queue="payments"), events.sqs_message(payment, queue="payments")]
    assert app.handler(events.sqs("payments", records=batch), lambda_context()) == {"batchItemFailures": []}
    # The same payload on another queue is a different key.
    app.handler(events.sqs("audit", [payment]), lambda_context())
    assert charged == ["p-1", "audit:p-1"]


def test_direct_invoke_is_idempotent_through_the_middleware(store):
    app = App(name="jobs")
    app.use(idempotency(store, key="job.id"))
    runs: list[str] = []

    @app.invoke
    def run_job(ctx: Context, body: dict) -> dict:
        runs.append(body["job"]["id"])
        return {"ran": body["job"]["id"], "n": len(runs)}

    assert app.handler({"job": {"id": "j-1"}}, lambda_context()) == {"ran": "j-1", "n": 1}
    assert app.handler({"job": {"id": "j-1"}}, lambda_context()) == {"ran": "j-1", "n": 1}
    assert app.handler({"job": {"id": "j-2"}}, lambda_context()) == {"ran": "j-2", "n": 2}
    with pytest.raises(IdempotencyKeyReused):
        app.handler({"job": {"id": "j-1", "extra": True}}, lambda_context())


def test_records_pass_through_the_http_only_middleware(store):
    app = App(name="payments")
    app.use(idempotency(store))
    charged: list[str] = []

    @app.sqs("payments")
    def charge(ctx: Context, body: Payment) -> None:
        charged.append(body.payment_id)

    payment = {"payment_id": "p-1", "amount": 10}
    app.handler(events.sqs("payments", [payment, payment]), lambda_context())
    assert charged == ["p-1", "p-1"]


def _big_answer_app(store, path: str, answer) -> tuple[TestClient, list[int]]:
    """A client of an app whose one POST route (under idempotency) returns `answer(run number)`."""
    runs: list[int] = []
    app = App(name="big")
    app.use(idempotency(store))

    @app.post(path)
    def big(ctx: Context) -> object:
        runs.append(1)
        return answer(len(runs))

    return TestClient(app), runs


def test_a_large_response_is_replayed_whole(store):
    """A 1.5 MB JSON answer (over DynamoDB's 400 KB item limit as it is) is kept compressed and replayed
    byte for byte on every backend; before, DynamoDB refused to store it and the retry got 409s until the
    lock expired, then ran the handler again."""
    client, runs = _big_answer_app(
        store,
        "/reports",
        lambda run: {"rows": [{"n": i, "label": f"row {i} of the report", "run": run} for i in range(30_000)]},
    )
    first = post(client, "big-1", path="/reports")
    assert first.status_code == 200 and len(first.body) > 1_000_000
    again = post(client, "big-1", path="/reports")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.body == first.body
    assert len(runs) == 1
    reused = post(client, "big-1", item="other", path="/reports")  # the payload check holds on a packed record
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"


def test_a_response_too_large_to_keep_is_refused_never_run_again(store):
    """1 MB of random bytes cannot be compressed under DynamoDB's item limit: a duplicate is told at once
    that the first request completed (409 idempotency_outcome_not_kept), not that it is in progress, and
    the handler never runs again, also after the lock's lifetime. Memory and Redis keep and replay it."""
    import os

    clock = StoreTime(store)  # the lock (the invocation's 30 s + 1 s) lasts until the test moves time
    client, runs = _big_answer_app(store, "/exports", lambda run: Response.binary(os.urandom(1_000_000)))
    headers = {"Idempotency-Key": "exp-1"}
    first = client.post("/exports", json={}, headers=headers, context=FrozenLambdaContext(remaining_ms=30_000))
    assert first.status_code == 200
    clock.advance(40)  # past the lock's lifetime, well within the completed record's hour
    again = client.post("/exports", json={}, headers=headers)
    if type(store).__name__ != "DynamoDBStore":
        assert again.status_code == 200 and again.body == first.body
    else:
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "idempotency_outcome_not_kept"
        assert "Retry-After" not in again.headers
    assert len(runs) == 1  # once per key: never for the duplicate


def test_an_idempotent_function_with_a_large_result_runs_once(store):
    import os

    clock = StoreTime(store)
    runs = []

    @idempotent(store=store, key="id", lock_timeout=30.0)
    def render(event: dict) -> dict:
        runs.append(1)
        return {"pages": ["page " * 20] * 20_000, "noise": os.urandom(600_000).hex()}

    first = render({"id": "doc-1"})
    clock.advance(40)  # past the lock's lifetime
    again = render({"id": "doc-1"})
    assert again == (None if type(store).__name__ == "DynamoDBStore" else first)
    assert len(runs) == 1  # once per key: never for the duplicate


def _post_in_a_process(backend: str, address: str, prefix: str, ready, start, answers) -> None:
    """One 'Lambda instance' in its own process: its own app and store client, one POST with the shared key."""
    from lift.stores.dynamodb import DynamoDBStore

    if backend == "redis":
        store = RedisStore(address, prefix=prefix, timeout=15)
    else:
        store = DynamoDBStore("lift-test", endpoint_url=address, prefix=prefix, timeout=15)
    app = App(name="payments")
    app.use(idempotency(store))

    @app.post("/payments", status=201)
    def pay(ctx: Context) -> dict:
        run = store.increment("handler-runs")  # counted in the shared store: every process sees it
        # Still running while the other processes' requests arrive, however slowly a loaded machine schedules
        # them: wait until the other two have their answers (a bounded wait, so a run-twice defect fails the
        # test rather than hanging it).
        deadline = time.monotonic() + 20
        while (store.get("answered") or 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"payment": "p-1", "run": run}

    client = TestClient(app)
    ready.put(True)
    start.wait(60)
    response = client.post("/payments", json={"amount": 42}, headers={"Idempotency-Key": "pay-once"})
    if response.status_code != 201:
        store.increment("answered")
    answers.put((response.status_code, response.json()))


@pytest.mark.parametrize("backend", ["redis", "dynamodb"])
def test_processes_sending_one_key_at_once_run_the_handler_once(request, backend):
    """Three processes (three Lambda instances) send the same request with one key at the same moment:
    one runs it, the others get 409 idempotency_in_progress, and a retry after it finished is a replay."""
    import multiprocessing
    import uuid

    from lift.stores.dynamodb import DynamoDBStore

    address = request.getfixturevalue("redis_url" if backend == "redis" else "dynamodb_endpoint")
    if backend == "dynamodb":
        request.getfixturevalue("dynamodb_table")
    spawn = multiprocessing.get_context("spawn")
    ready, start, answers = spawn.Queue(), spawn.Event(), spawn.Queue()
    prefix = f"idem-proc-{uuid.uuid4().hex[:8]}:"
    processes = [
        spawn.Process(target=_post_in_a_process, args=(backend, address, prefix, ready, start, answers))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    for _ in processes:  # every process has imported Lift and built its app: none starts ahead of the others
        ready.get(timeout=90)
    start.set()
    results = [answers.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(30)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409, 409]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"idempotency_in_progress"}
    store = (
        RedisStore(address, prefix=prefix)
        if backend == "redis"
        else DynamoDBStore("lift-test", endpoint_url=address, prefix=prefix)
    )
    assert store.get("handler-runs") == 1
    app = App(name="payments")
    app.use(idempotency(store))

    @app.post("/payments", status=201)
    def pay(ctx: Context) -> dict:
        raise AssertionError("a replay must not run the handler")

    replay = TestClient(app).post("/payments", json={"amount": 42}, headers={"Idempotency-Key": "pay-once"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == next(body for status, body in results if status == 201)
    store.close()
