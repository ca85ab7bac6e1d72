"""Jobs with inputs of any size and hostile idempotency keys, on memory, DynamoDB Local and redis-server:
a record the store cannot hold is the client's 413 or a `failed` job that says why, never a 500 or a job
left `running`; idempotency keys of any length work and never name another tenant's job."""

from __future__ import annotations

import threading
import time

import pytest

from lift import App, Context, Response
from lift.jobs import MAX_TEXT
from lift.testing import TestClient


def jobs_app(store) -> App:
    app = App("svc")
    app.jobs.configure(store=store, transport="local", retry_delay=0.01)
    app.jobs.mount(app)

    def tenant_from_header(ctx: Context, call_next):  # stands in for the tenancy middleware
        if ctx.request is not None:
            ctx.tenant_id = ctx.headers.get("x-tenant")
        return call_next(ctx)

    app.use(tenant_from_header)

    @app.job("export", max_attempts=1)
    def export(body: dict) -> dict:
        if body.get("fail"):
            raise ValueError("upstream said: " + "x" * body["fail"])
        if body.get("opaque"):
            return {"rows": threading.Lock()}  # (no JSON for it)
        return {"rows": "r" * body.get("result", 0)}

    @app.post("/exports")
    def start(ctx: Context, body: dict) -> Response:
        return ctx.jobs.start("export", body, idempotency_key=ctx.headers.get("idempotency-key")).accepted()

    return app


def finished(client: TestClient, job_id: str, tenant: str | None = None) -> dict:
    """The job once it has left queued/running (bounded: reached only when the worker is wrong)."""
    headers = {"X-Tenant": tenant} if tenant else {}
    deadline = time.monotonic() + 30
    while True:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, f"job stayed {job['status']}"
        time.sleep(0.02)


@pytest.fixture
def workers_done():
    """Joins the local worker threads a test's starts set off, so none outlives its test."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        thread.join(30)


def test_a_body_its_job_store_cannot_hold_is_a_413(store, workers_done):
    """A 500 KB body: DynamoDB items stop at 400 KB, so the start is the client's 413 saying the limit
    (before: the PutItem's ValidationException was a 500); stores without a limit accept it."""
    client = TestClient(jobs_app(store))
    answer = client.post("/exports", json={"pad": "p" * 500_000})
    limit = store.value_limit("job#" + "0" * 32)
    if limit is None:
        assert answer.status_code == 202
        assert finished(client, answer.json()["job_id"])["status"] == "succeeded"
    else:
        assert answer.status_code == 413, answer.text
        error = answer.json()["error"]
        assert error["code"] == "payload_too_large" and 0 < error["details"]["limit"] < limit


def test_a_result_that_does_not_fit_beside_its_body_fails_the_job_with_the_reason(store, workers_done):
    """A 200 KB body and a 250 KB result: each under the 300 KB inline limit, together over a DynamoDB
    item. The job is `failed` with the reason (before: every write of its outcome failed and it stayed
    `running` until its lease ran out, then ran again); stores without a limit keep the result."""
    client = TestClient(jobs_app(store))
    answer = client.post("/exports", json={"pad": "p" * 200_000, "result": 250_000})
    assert answer.status_code == 202
    job = finished(client, answer.json()["job_id"])
    if store.value_limit("job#" + "0" * 32) is None:
        assert job["status"] == "succeeded" and len(job["result"]["rows"]) == 250_000
    else:
        assert job["status"] == "failed" and job["result"] is None
        assert "result_bucket" in job["error"] and "250011 bytes" in job["error"]


def test_a_huge_error_is_kept_cut_and_the_job_fails(store, workers_done):
    """An exception whose text is 500 KB: the job is `failed` with the start of the text (before, on
    DynamoDB, recording it failed and the job stayed `running`)."""
    client = TestClient(jobs_app(store))
    job = finished(client, client.post("/exports", json={"fail": 500_000}).json()["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"].startswith("ValueError: upstream said: xxx") and len(job["error"]) == MAX_TEXT


def test_idempotency_keys_of_any_length_are_kept_per_tenant(store, workers_done):
    """A 3000-character key works (before: a 500 on DynamoDB, whose keys stop at 2048 bytes), and a
    tenant whose id holds the separator cannot make its key name another tenant's job (before, tenant
    "acme" with key "k#export#K" was answered with tenant "acme#export#k"'s job for key "K")."""
    client = TestClient(jobs_app(store))
    long_key = "k" * 3000
    first = client.post("/exports", json={}, headers={"Idempotency-Key": long_key, "X-Tenant": "acme"})
    again = client.post("/exports", json={}, headers={"Idempotency-Key": long_key, "X-Tenant": "acme"})
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]
    theirs = client.post("/exports", json={}, headers={"Idempotency-Key": "K", "X-Tenant": "acme#export#k"})
    ours = client.post("/exports", json={}, headers={"Idempotency-Key": "k#export#K", "X-Tenant": "acme"})
    assert theirs.status_code == ours.status_code == 202
    assert ours.json()["job_id"] != theirs.json()["job_id"]
    assert finished(client, ours.json()["job_id"], tenant="acme")["status"] == "succeeded"


def test_a_start_whose_message_could_not_be_sent_can_be_retried_with_its_key(store, moto_endpoint, monkeypatch):
    """The jobs queue cannot be reached when a job starts: the start fails, and the client's retry with
    the same idempotency key, once the queue is back, starts a job a worker receives. Before, the failed
    start left the job `queued` and its key naming it: every retry was a 202 for a job never sent."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_endpoint)
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    app = App("svc")
    app.jobs.configure(store=store, queue=queue, transport="sqs")
    app.jobs.mount(app)

    @app.job("export")
    def export(body: dict) -> dict:
        return body

    @app.post("/exports")
    def start(ctx: Context, body: dict) -> Response:
        return ctx.jobs.start("export", body, idempotency_key=ctx.headers.get("idempotency-key")).accepted()

    client = TestClient(app)
    headers = {"Idempotency-Key": "exp-1"}
    assert client.post("/exports", json={"n": 1}, headers=headers).status_code == 500  # no such queue yet
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    retried = client.post("/exports", json={"n": 1}, headers=headers)
    assert retried.status_code == 202
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)["Messages"]
    assert message["Body"].startswith('{"lift_job":"' + retried.json()["job_id"] + '"')


def test_a_job_runs_as_the_tenant_and_user_that_started_it(store, workers_done):
    """The worker's ctx carries the job's tenant and user, so a job the job starts belongs to that
    tenant too: another tenant's GET of it is a 404. Before, the worker's ctx had no tenant, and a job
    started from a job was stored without one: visible to every tenant."""
    app = jobs_app(store)
    seen: list = []

    @app.job("parent")
    def parent(ctx: Context) -> dict:
        seen.append((ctx.tenant_id, ctx.user_id))
        return {"child": ctx.jobs.start("export", {}).id}

    @app.post("/parents")
    def start_parent(ctx: Context) -> Response:
        ctx.user_id = "u-7"
        return ctx.jobs.start("parent").accepted()

    client = TestClient(app)
    job_id = client.post("/parents", headers={"X-Tenant": "acme"}).json()["job_id"]
    child = finished(client, job_id, tenant="acme")["result"]["child"]
    assert seen == [("acme", "u-7")]
    assert finished(client, child, tenant="acme")["status"] == "succeeded"
    assert client.get(f"/jobs/{child}", headers={"X-Tenant": "globex"}).status_code == 404


def test_a_result_that_is_not_json_fails_the_job_with_the_reason(store, workers_done):
    """A job function returning what JSON cannot hold (a lock in a dict): the job is `failed` at once,
    saying why, and runs once. Before, the encoding error escaped the worker: the job stayed `running`
    until its lease ran out (15 minutes) and was then run again."""
    client = TestClient(jobs_app(store))
    job = finished(client, client.post("/exports", json={"opaque": True}).json()["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1 and job["result"] is None
    assert job["error"].startswith("the result is not JSON: TypeError:") and "lock" in job["error"]


def test_a_job_of_the_tenant_named_none_is_not_shown_to_requests_without_a_tenant(workers_done):
    """A tenant whose id is the text "None": a request with no tenant gets a 404 for its job, as for any
    other tenant's. Before, the tenant check compared str(None) with the job's tenant and showed it."""
    client = TestClient(jobs_app(None))
    job_id = client.post("/exports", json={}, headers={"X-Tenant": "None"}).json()["job_id"]
    assert finished(client, job_id, tenant="None")["status"] == "succeeded"
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert client.post(f"/jobs/{job_id}/cancel").status_code == 404
