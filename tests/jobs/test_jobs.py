"""Jobs: started by a request, run outside it through the jobs queue, followed by GET /jobs/{id}."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import msgspec
import pytest

from lift import App, Context, Response
from lift.testing import TestClient, events, lambda_context


class Report(msgspec.Struct):
    months: list[str]
    fail_times: int = 0


def make_app(store=None, transport="local", queue="svc-jobs") -> tuple[App, dict]:
    app = App("svc")
    app.jobs.configure(store=store, queue=queue, transport=transport, retry_delay=0.01)
    app.jobs.mount(app)
    seen: dict = {"attempts": 0, "progress": []}

    @app.job("report", max_attempts=3)
    def report(ctx: Context, body: Report, progress) -> dict:
        seen["attempts"] += 1
        if seen["attempts"] <= body.fail_times:
            raise RuntimeError(f"upstream down (attempt {seen['attempts']})")
        for i, month in enumerate(body.months):
            progress(100 * (i + 1) / len(body.months), f"month {month}")
            seen["progress"].append(month)
        return {"rows": len(body.months) * 10}

    @app.job("slow")
    def slow(ctx: Context, progress) -> None:
        for i in range(200):
            progress(i / 2)
            time.sleep(0.01)

    @app.post("/reports")
    def start(ctx: Context, body: Report) -> Response:
        key = ctx.headers.get("idempotency-key")
        return ctx.jobs.start("report", body, idempotency_key=key).accepted()

    @app.post("/slow")
    def start_slow(ctx: Context) -> Response:
        return ctx.jobs.start("slow").accepted()

    return app, seen


def wait_status(client: TestClient, job_id: str, statuses: tuple[str, ...], timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} stayed {job['status']}")


def test_a_job_runs_outside_the_request_and_reports_its_result(store):
    app, seen = make_app(store)
    client = TestClient(app)
    started = client.post("/reports", json={"months": ["jan", "feb", "mar", "apr"]})
    assert started.status_code == 202
    job_id = started.json()["job_id"]
    assert started.headers["Location"] == f"/jobs/{job_id}" == started.json()["status_url"]
    job = wait_status(client, job_id, ("succeeded", "failed"))
    assert job["status"] == "succeeded" and job["result"] == {"rows": 40} and job["progress"] == 100
    assert job["attempts"] == 1 and job["message"] == "month apr" and job["finished_at"] >= job["started_at"]
    assert "body" not in job and seen["progress"] == ["jan", "feb", "mar", "apr"]


def test_a_failing_job_is_retried_then_fails_with_its_error():
    app, seen = make_app()
    client = TestClient(app)
    flaky = client.post("/reports", json={"months": ["jan"], "fail_times": 2}).json()["job_id"]
    job = wait_status(client, flaky, ("succeeded", "failed"))
    assert job["status"] == "succeeded" and job["attempts"] == 3
    seen["attempts"] = 0
    dead = client.post("/reports", json={"months": ["jan"], "fail_times": 5}).json()["job_id"]
    job = wait_status(client, dead, ("succeeded", "failed"))
    assert job["status"] == "failed" and job["attempts"] == 3
    assert job["error"] == "RuntimeError: upstream down (attempt 3)"


def test_idempotent_start_returns_the_same_job():
    app, _ = make_app()
    client = TestClient(app)
    headers = {"Idempotency-Key": "k-42"}
    first = client.post("/reports", json={"months": ["jan"]}, headers=headers).json()["job_id"]
    again = client.post("/reports", json={"months": ["jan"]}, headers=headers).json()["job_id"]
    other = client.post("/reports", json={"months": ["jan"]}, headers={"Idempotency-Key": "k-43"}).json()["job_id"]
    assert first == again != other


def test_cancel_stops_a_running_job_at_its_next_progress():
    app, _ = make_app()
    client = TestClient(app)
    job_id = client.post("/slow").json()["job_id"]
    wait_status(client, job_id, ("running",))
    assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    time.sleep(0.1)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["progress"] < 100


def test_unknown_job_and_another_tenants_job_are_404():
    app, _ = make_app()
    client = TestClient(app)
    assert client.get("/jobs/nope").status_code == 404
    job = app.jobs.start("report", Report(months=["jan"]))
    job.tenant_id = "acme"
    app.jobs._save(job)
    assert client.get(f"/jobs/{job.id}").status_code == 404


def test_sqs_transport_sends_the_job_to_the_queue_and_the_worker_runs_it(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_endpoint)
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    app, _ = make_app(transport="sqs", queue=queue)
    client = TestClient(app)
    job_id = client.post("/reports", json={"months": ["jan", "feb"]}).json()["job_id"]
    assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"]) == {"lift_job": job_id, "name": "report"}
    result = app.handler(events.sqs(queue, [message["Body"]]), lambda_context())  # what Lambda delivers
    assert not (result or {}).get("batchItemFailures")
    assert client.get(f"/jobs/{job_id}").json()["result"] == {"rows": 20}


def test_a_job_function_with_the_wrong_parameters_is_refused_at_registration():
    app = App("bad")
    with pytest.raises(TypeError, match="ctx, body and progress"):

        @app.job("bad")
        def bad(ctx, payload) -> None: ...


def test_the_deploy_model_lets_the_function_send_jobs_and_names_the_queue():
    from lift.deploy import build_deployment, config_from_dict
    from lift.deploy.cloudformation import render
    from lift.stores.dynamodb import DynamoDBStore

    app, _ = make_app(store=DynamoDBStore("svc-state", region="eu-west-1"), transport="sqs", queue="svc-jobs")
    deployment = build_deployment(app, config_from_dict({"region": "eu-west-1"}, "pyproject.toml"), "prod")
    [queue] = [q for q in deployment.queues if q.name == "svc-jobs-prod"]
    statements = {s.sid: s for s in deployment.role(deployment.function.role_id).statements}
    send = next(s for s in statements.values() if "sqs:SendMessage" in s.actions)
    assert send.resources == (queue.arn,)
    assert any(t.name == "svc-state-prod" for t in deployment.tables)  # the job store's table is created
    env = dict(render(deployment)["Resources"][deployment.function.id]["Properties"]["Environment"]["Variables"])
    assert env["LIFT_JOBS_QUEUE_URL"] == {"Fn::Sub": "${" + queue.id + "}"}  # the queue's URL (its Ref)


def test_a_large_result_is_kept_in_s3_and_each_read_gives_a_working_link(moto_endpoint, monkeypatch):
    """Over 300 KB the result goes to S3; GET /jobs/{id} gives a presigned link made at that read,
    valid an hour at most (a link made when the job finished would outlive SigV4's 7-day limit
    with a long ttl, and die with the worker's temporary credentials)."""
    import urllib.parse
    import urllib.request

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    bucket = f"results-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    app = App("svc")
    app.jobs.configure(transport="local", result_bucket=bucket, ttl=30 * 24 * 3600)
    app.jobs.mount(app)
    rows = [{"n": i, "text": "x" * 40} for i in range(8000)]  # ~480 KB of JSON

    @app.job("export")
    def export(ctx: Context, progress) -> list:
        return rows

    @app.post("/exports")
    def start(ctx: Context) -> Response:
        return ctx.jobs.start("export", None).accepted()

    client = TestClient(app)
    job_id = client.post("/exports").json()["job_id"]
    shown = wait_status(client, job_id, ("succeeded", "failed"))
    assert shown["status"] == "succeeded" and shown["result"] is None and "result_key" not in shown
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(shown["result_url"]).query)
    assert 0 < int(query["X-Amz-Expires"][0]) <= 3600
    with urllib.request.urlopen(shown["result_url"], timeout=10) as answer:
        assert json.loads(answer.read()) == rows
