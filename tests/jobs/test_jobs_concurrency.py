"""Jobs under concurrency on memory, DynamoDB Local and redis-server: duplicate deliveries to several
workers, cancel racing the worker, a worker that dies, concurrent starts with one idempotency key."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from lift import App, Context, Response
from lift.testing import TestClient, events, frozen_lambda_context, lambda_context


class Workers:
    """App instances sharing one job store backend (each its own client, like Lambda instances)."""

    def __init__(self, store_factory, queue: str) -> None:
        self.store_factory, self.queue = store_factory, queue
        self.runs: list[str] = []
        self.release = threading.Event()
        self.returned = []
        self.lock = threading.Lock()

    def app(self, transport: str = "local") -> App:
        app = App("svc")
        app.jobs.configure(store=self.store_factory(), queue=self.queue, transport=transport, retry_delay=0.01)
        app.jobs.mount(app)

        @app.job("export", max_attempts=3)
        def export(ctx: Context, body: dict, progress) -> dict:
            with self.lock:
                self.runs.append(body["name"])
                run = len(self.runs)
            progress(10, "started")
            self.release.wait(body.get("hold", 5))
            if body.get("more", True):
                progress(90, "almost")
            return {"run": run}

        @app.post("/exports")
        def start(ctx: Context, body: dict) -> Response:
            key = ctx.headers.get("idempotency-key")
            return ctx.jobs.start("export", body, idempotency_key=key).accepted()

        return app


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def sqs_queue(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_endpoint)
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]

    def receive() -> str:
        [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        return message["Body"]

    return queue, receive


def test_duplicate_deliveries_to_several_workers_run_the_job_once(store_factory, sqs_queue, caplog):
    """SQS delivers at least once: the same job message reaches four workers at the same moment. One
    takes the job (a compare-and-set queued -> running); the others fail their record, so SQS delivers
    it again later, and a delivery after the job finished does nothing. Before, all four ran it."""
    queue, receive = sqs_queue
    workers = Workers(store_factory, queue)
    front = TestClient(workers.app(transport="sqs"))
    job_id = front.post("/exports", json={"name": "q3"}).json()["job_id"]
    message = receive()
    apps = [workers.app() for _ in range(4)]
    barrier = threading.Barrier(len(apps))
    results: list[dict] = []

    def deliver(app: App) -> None:
        barrier.wait(10)
        result = app.handler(events.sqs(queue, [message]), lambda_context(timeout_ms=60_000))
        with workers.lock:
            results.append(result or {})

    threads = [threading.Thread(target=deliver, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(results) >= 3 or len(workers.runs) > 1)
    workers.release.set()
    for thread in threads:
        thread.join(20)
    assert workers.runs == ["q3"]
    assert sorted(len(r.get("batchItemFailures", [])) for r in results) == [0, 1, 1, 1]
    busy = [r for r in caplog.records if "job_busy" in r.getMessage()]  # a duplicate is not an error
    assert len(busy) == 3 and {r.levelname for r in busy} == {"WARNING"}
    job = front.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["attempts"] == 1 and job["result"] == {"run": 1}
    assert "claim" not in job and "lease_until" not in job
    late = apps[1].handler(events.sqs(queue, [message]), lambda_context())
    assert not (late or {}).get("batchItemFailures") and workers.runs == ["q3"]


def test_a_cancelled_job_stays_cancelled_when_its_function_returns(store_factory):
    """Cancelled while its function runs past its last progress call: what the function returns later
    is not recorded over the cancel the client was told about."""
    workers = Workers(store_factory, "svc-jobs")
    client = TestClient(workers.app())
    before = set(threading.enumerate())
    job_id = client.post("/exports", json={"name": "big", "more": False}).json()["job_id"]
    local_worker = [t for t in threading.enumerate() if t not in before]  # (the local transport's thread)
    wait_for(lambda: client.get(f"/jobs/{job_id}").json()["progress"] == 10)
    assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    workers.release.set()  # the function returns {"run": 1} without another progress call
    for thread in local_worker:  # until its outcome has been handled, however long a loaded machine takes
        thread.join(20)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["result"] is None and job["progress"] == 10


@pytest.fixture
def lease_clock(monkeypatch):
    """The clock job leases are set and judged by, moved only by `lease_clock.advance(seconds)`: a lease
    runs out when the test says so, never because a loaded machine was slow between two steps."""

    class ShiftedClock:
        def __init__(self) -> None:
            self.offset = 0.0

        def __call__(self) -> float:
            return time.time() + self.offset

        def advance(self, seconds: float) -> None:
            self.offset += seconds

    import lift.jobs

    clock = ShiftedClock()
    monkeypatch.setattr(lift.jobs, "_lease_clock", clock)
    return clock


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(store_factory, sqs_queue, lease_clock):
    """A worker whose invocation ends (timeout) without finishing holds the job only for its own
    lifetime: a redelivery before that fails (retried later), one after it runs the job again (attempt
    2), and the first worker, if it was only stalled, can no longer write over the job."""
    queue, receive = sqs_queue
    workers = Workers(store_factory, queue)
    front = TestClient(workers.app(transport="sqs"))
    job_id = front.post("/exports", json={"name": "stalled", "hold": 30}).json()["job_id"]
    message = receive()
    stalled, rescuer = workers.app(), workers.app()
    first = threading.Thread(  # its invocation has 60 s left when it takes the job: a lease of 61 s
        target=stalled.handler,
        args=(events.sqs(queue, [message]), frozen_lambda_context(remaining_ms=60_000)),
        daemon=True,
    )
    first.start()
    wait_for(lambda: len(workers.runs) == 1)
    early = rescuer.handler(events.sqs(queue, [message]), lambda_context())
    assert len(early["batchItemFailures"]) == 1 and len(workers.runs) == 1
    lease_clock.advance(62)  # the first worker's invocation has ended
    rescued: list = []
    second = threading.Thread(
        target=lambda: rescued.append(rescuer.handler(events.sqs(queue, [message]), lambda_context()))
    )
    second.start()
    wait_for(lambda: len(workers.runs) == 2)
    workers.release.set()  # both functions now run on; only the rescuer's outcome counts
    second.join(20)
    first.join(20)
    assert not (rescued[0] or {}).get("batchItemFailures")
    job = front.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["attempts"] == 2 and job["result"] == {"run": 2}


def test_concurrent_starts_with_one_idempotency_key_make_one_job(store_factory):
    workers = Workers(store_factory, "svc-jobs")
    workers.release.set()
    apps = [workers.app() for _ in range(6)]
    barrier = threading.Barrier(len(apps))
    ids: list[str] = []

    def start(app: App) -> None:
        barrier.wait(10)
        answer = TestClient(app).post("/exports", json={"name": "once"}, headers={"Idempotency-Key": "exp-7"})
        with workers.lock:
            ids.append(answer.json()["job_id"])

    threads = [threading.Thread(target=start, args=(app,)) for app in apps]
    before = set(threading.enumerate())
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(ids) == 6 and len(set(ids)) == 1
    client = TestClient(apps[0])
    wait_for(lambda: client.get(f"/jobs/{ids[0]}").json()["status"] == "succeeded")
    for thread in set(threading.enumerate()) - before:  # every local worker the starts set off has ended
        thread.join(20)
    assert workers.runs == ["once"]


def test_a_claim_whose_answer_was_lost_is_still_this_workers(request):
    """The worker's claim (queued -> running, a conditional PutItem) reaches DynamoDB but its answer is
    lost; botocore's retry then finds the worker's own claim. That is the claim taken: the job runs and
    succeeds (before: read as another worker's, every delivery failed with JobBusy and the job stayed
    `running` until the lease ran out, 15 minutes on the local worker)."""
    with tally_behind_proxy(request) as (app, proxy, prefix):
        proxy.hold_answer_to((b"DynamoDB_20120810.PutItem", b"v = :expected", prefix), 3.5)
        job = app.jobs.start("tally", {"values": [1, 2, 3]})
        client = TestClient(app)
        wait_for(lambda: client.get(f"/jobs/{job.id}").json()["status"] in ("succeeded", "failed"), timeout=10)
        assert proxy.held == 1 and proxy.triggered == 3, "the claim, botocore's retry of it, the finish"
        done = client.get(f"/jobs/{job.id}").json()
        assert (done["status"], done["attempts"], done["result"]) == ("succeeded", 1, {"total": 6})


@contextlib.contextmanager
def tally_behind_proxy(request) -> Iterator[tuple[App, Any, bytes]]:
    """(app, proxy, key prefix): an app whose job "tally" sums its body's values, its job store on DynamoDB
    Local behind a DelayingProxy (the client times out after 1.5 s and retries)."""
    from delaying_proxy import store_behind_proxy

    prefix = f"jobs-retry-{uuid.uuid4().hex[:8]}:"
    store, proxy = store_behind_proxy("dynamodb", request, prefix, timeout=1.5)
    try:
        app = App("svc")
        app.jobs.configure(store=store, queue="svc-jobs", transport="local", retry_delay=0.01)
        app.jobs.mount(app)

        @app.job("tally")
        def tally(body: dict) -> dict:
            return {"total": sum(body["values"])}

        yield app, proxy, prefix.encode()
    finally:
        proxy.close()
        store.close()


def test_a_hostile_job_id_is_a_404_on_every_store(store):
    """Job ids are Lift's own (32 hex digits): anything else, however long or odd, is a 404 without a
    store call (a 3000-character id was a 500 on DynamoDB, whose keys stop at 2048 bytes)."""
    app = App("svc")
    app.jobs.configure(store=store, transport="local")
    app.jobs.mount(app)

    @app.job("noop")
    def noop() -> None:
        return None

    client = TestClient(app)
    for job_id in ("x" * 3000, "%E2%98%83", "job%23other", "A" * 32):
        assert client.get(f"/jobs/{job_id}").status_code == 404, job_id[:40]
        assert client.post(f"/jobs/{job_id}/cancel").status_code == 404, job_id[:40]
    real = app.jobs.start("noop")
    assert client.get(f"/jobs/{real.id}").status_code == 200


def test_a_start_whose_idempotency_key_answer_was_lost_still_runs_its_job(request):
    """`ctx.jobs.start(..., idempotency_key=...)`: the write naming the job under its key reaches DynamoDB
    but its answer is lost, and botocore's retry finds the key already naming this very job. That is this
    start's key: the job is sent and runs. Before, the start took it for an earlier start's job, deleted
    its own record and returned it: a 202 whose job was never sent and whose status_url was a 404."""
    with tally_behind_proxy(request) as (app, proxy, prefix):
        proxy.hold_answer_to((b"DynamoDB_20120810.PutItem", b"jobkey", prefix), 3.5)
        job = app.jobs.start("tally", {"values": [1, 2, 3]}, idempotency_key="order-17")
        assert proxy.held == 1 and proxy.triggered >= 2, "the key's write and botocore's retry of it"
        client = TestClient(app)
        wait_for(lambda: client.get(f"/jobs/{job.id}").json().get("status") in ("succeeded", "failed"), timeout=10)
        assert client.get(f"/jobs/{job.id}").json()["result"] == {"total": 6}
        assert app.jobs.start("tally", {"values": [9]}, idempotency_key="order-17").id == job.id
