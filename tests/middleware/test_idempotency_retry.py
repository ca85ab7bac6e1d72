"""The lock write reached the store but its answer was lost: the store client's own retry
(botocore's, redis-py's) finds the request's own IN_PROGRESS lock, and that is the lock taken,
not a concurrent duplicate (which would get 409 until the lock expired, the handler never run).

A real TCP proxy between the store client and the session's DynamoDB Local / redis-server holds
the answer to the lock write past the client's timeout."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from delaying_proxy import store_behind_proxy as behind_proxy

from lift import App, Context
from lift.middleware.idempotency import idempotency, idempotent
from lift.stores import redis as redis_store
from lift.testing import TestClient, events

CLIENT_TIMEOUT = 1.5  # the store client's read timeout
HELD_FOR = 3.5  # how long the proxy holds the lock write's answer


@pytest.fixture(params=["dynamodb", "redis"])
def store_behind_proxy(request: pytest.FixtureRequest):
    """(store, proxy, the parts that identify the lock write) on a real server behind the proxy."""
    prefix = f"retry-{uuid.uuid4().hex[:12]}:"
    store, proxy = behind_proxy(request.param, request, prefix, CLIENT_TIMEOUT)
    if request.param == "dynamodb":
        lock_write = (b"DynamoDB_20120810.PutItem", b"attribute_not_exists(pk)", prefix.encode())
    else:
        store.put_if_absent_or_get("warm-up", {"loads": "the script"}, ttl=5)  # EVALSHA now runs it at once
        script_sha = hashlib.sha1(redis_store._PUT_IF_ABSENT_OR_GET.encode()).hexdigest().encode()
        lock_write = (script_sha, prefix.encode())
    yield store, proxy, lock_write
    proxy.close()
    store.close()


def test_http_request_runs_when_its_lock_write_answer_was_lost(store_behind_proxy):
    store, proxy, lock_write = store_behind_proxy
    runs: list[str] = []
    app = App(name="orders")
    app.use(idempotency(store))

    @app.post("/orders", status=201)
    def create_order(ctx: Context) -> dict:
        runs.append(ctx.request.json()["item"])
        return {"order": len(runs)}

    client = TestClient(app)
    proxy.hold_answer_to(lock_write, HELD_FOR)
    first = client.post("/orders", json={"item": "book"}, headers={"Idempotency-Key": "k-1"})
    assert proxy.held == 1 and proxy.triggered == 2, "the client did not retry the lock write it timed out on"
    assert first.status_code == 201, first.json()
    assert runs == ["book"]
    again = client.post("/orders", json={"item": "book"}, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json() and runs == ["book"]


def test_record_runs_when_its_lock_write_answer_was_lost(store_behind_proxy):
    store, proxy, lock_write = store_behind_proxy
    charged: list[str] = []
    app = App(name="payments")

    @app.sqs("charges")
    @idempotent(store=store, key="charge_id")
    def charge(ctx: Context, body: dict) -> None:
        charged.append(body["charge_id"])

    proxy.hold_answer_to(lock_write, HELD_FOR)
    event = events.sqs("charges", ['{"charge_id": "c-1"}'])
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}
    assert proxy.held == 1 and proxy.triggered == 2
    assert charged == ["c-1"]
    assert TestClient(app).invoke(event) == {"batchItemFailures": []}  # redelivered: skipped
    assert charged == ["c-1"]
