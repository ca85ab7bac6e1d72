"""Long-running jobs: accepted by a request at once, run outside its time limit, followed by
`GET /jobs/{id}` or pushed over WebSocket.

    app.jobs.configure(store=DynamoDBStore("svc-state"), queue="svc-jobs")
    app.jobs.mount(app)                                   # GET /jobs/{job_id}, POST /jobs/{job_id}/cancel

    @app.job("report")
    def report(ctx: Context, body: ReportRequest, progress) -> dict:
        for i, month in enumerate(body.months):
            progress(100 * i / len(body.months), f"month {month}")
        return {"rows": 1234}

    @app.post("/reports")
    def start(ctx: Context, body: ReportRequest) -> Response:
        return ctx.jobs.start("report", body).accepted()     # 202, Location: /jobs/<id>

A started job is saved as `queued` in the job store (any `lift.stores` backend) and its id is
sent to the jobs queue. On Lambda that is an SQS queue (the deploy model creates it with a worker
function of a long timeout); the same app consumes it, runs the job function and records
`running` -> `succeeded` / `failed` / `cancelled` with progress, result or error. A failed run is
retried by SQS redelivery until `max_attempts`, then the job is `failed` with its last error (its
dead-letter state). Outside Lambda (the dev server, tests) jobs run on a local worker thread
through `app.handler` with the same SQS event, retries included.

Updates go to the WebSocket connection that started the job (or every connection of the user
who did, when the app tracks connections): `{"type": "job.progress" | "job.succeeded" |
"job.failed" | "job.cancelled", "job": {...}}`.
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import logging
import os
import re
import threading
import time
import typing
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from lift.errors import Conflict
from lift.stores.base import scoped_key

__all__ = ["Job", "JobBusy", "JobCancelled", "Jobs", "JobsForContext", "jobs_of"]

_log = logging.getLogger("lift.jobs")

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
TERMINAL = (SUCCEEDED, FAILED, CANCELLED)
_SWAP_ATTEMPTS = 50  # compare-and-set attempts of a transition racing other writers of one job
_LEASE_MARGIN_S = 1.0
_JOB_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: anything else names no job (and never reaches the store)
RESULT_LINK_SECONDS = 3600  # how long a shown result link works (each GET /jobs/{id} makes a new one)
MAX_INLINE_RESULT = 300_000  # bytes of JSON kept in the job record (DynamoDB items stop at 400 KB)
MAX_TEXT = 2000  # characters of an error or progress message kept in the record (the rest is cut)
_RECORD_HEADROOM = 32 * 1024  # what a started job's record may grow by (error, message, timestamps) on its store
_lease_clock = time.time  # the clock workers' leases are set and judged by (one place, so tests can move it)


class JobCancelled(Exception):
    """Raised by `progress()` when the job was cancelled (or another worker took it over after this
    one's lease ran out): the job function stops there."""


class JobBusy(Conflict):
    """A delivery of a job another worker is running (its lease has not run out): the record fails,
    so the queue delivers it again later, when the job has finished or its worker has died. A 409,
    so the record's failure is logged as a WARNING (a duplicate delivery is not an error)."""

    code = "job_busy"


class Job(msgspec.Struct, kw_only=True):
    """A job's state as stored and as `GET /jobs/{id}` shows it."""

    id: str
    name: str
    status: str = QUEUED
    progress: float = 0.0
    message: str | None = None
    result: Any = None
    result_url: str | None = None  # (made when shown, from result_key: a link that works when it is read)
    result_key: str | None = None  # the S3 key of a result too large for the record
    error: str | None = None
    attempts: int = 0
    max_attempts: int = 3
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    tenant_id: str | None = None
    user_id: str | None = None
    connection_id: str | None = None
    body: Any = None
    claim: str | None = None  # the running worker's token
    lease_until: float | None = None  # when a running worker's invocation ends at the latest

    def public(self) -> dict[str, Any]:
        """What clients see (the request body, the notification target and the worker's lease stay private)."""
        data = msgspec.to_builtins(self)
        for private in ("body", "connection_id", "user_id", "claim", "lease_until", "result_key"):
            data.pop(private, None)
        return dict(data)

    def accepted(self, prefix: str = "/jobs") -> Any:
        """The 202 answer for a started job: its id and where to follow it (`Location`)."""
        return _accepted(self, f"{prefix.rstrip('/')}/{self.id}")


def _accepted(job: Job, url: str) -> Any:
    from lift.context import Response

    response = Response.json({"job_id": job.id, "status": job.status, "status_url": url}, status=202)
    response.headers["Location"] = url
    return response


class _Definition:
    def __init__(self, name: str, fn: Callable[..., Any], max_attempts: int) -> None:
        self.name, self.fn, self.max_attempts = name, fn, max_attempts
        params = inspect.signature(fn).parameters
        hints = typing.get_type_hints(fn)
        self.params = list(params)
        self.body_type = hints.get("body", Any)
        unknown = [p for p in self.params if p not in ("ctx", "body", "progress")]
        if unknown:
            raise TypeError(f"@app.job({name!r}): a job function takes ctx, body and progress, not {unknown}")

    def call(self, ctx: Any, body: Any, progress: Callable[..., None]) -> Any:
        values = {"ctx": ctx, "body": body, "progress": progress}
        return self.fn(**{p: values[p] for p in self.params})


class Jobs:
    """An app's jobs: definitions, the store, the queue, and the worker (`app.jobs`)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.definitions: dict[str, _Definition] = {}
        self.store: Any = None
        self.queue = "lift-jobs"
        self.transport = "auto"
        self.ttl = 7 * 24 * 3600
        self.retry_delay = 1.0
        self.result_bucket: str | None = None
        self._worker_registered = False
        self._queue_url: str | None = None
        self._sqs: Any = None
        self._s3_client: Any = None
        self._recent: collections.deque[str] = collections.deque(maxlen=100)  # for the dev dashboard

    def configure(
        self,
        *,
        store: Any = None,
        queue: str | None = None,
        transport: str | None = None,
        ttl: float | None = None,
        retry_delay: float | None = None,
        result_bucket: str | None = None,
    ) -> Jobs:
        """Where jobs live (`store`: a lift.stores backend; memory by default) and run (`queue`: the
        SQS queue name; `transport`: "sqs", "local" or "auto" = SQS on Lambda, local elsewhere)."""
        if store is not None:
            self.store = store
            self.app.add_store(store)  # deployment creates and grants its table
        if queue is not None:
            if self._worker_registered and queue != self.queue:
                raise ValueError("configure the jobs queue before defining jobs")
            self.queue = queue
        if transport is not None:
            if transport not in ("sqs", "local", "auto"):
                raise ValueError(f"jobs transport must be sqs, local or auto, not {transport!r}")
            self.transport = transport
        self.ttl = ttl or self.ttl
        self.retry_delay = self.retry_delay if retry_delay is None else retry_delay
        self.result_bucket = result_bucket or self.result_bucket
        return self

    # -- definitions ----------------------------------------------------------------------------
    def define(self, name: str, *, max_attempts: int = 3) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """The `@app.job(name)` decorator."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            if name in self.definitions:
                raise ValueError(f"@app.job({name!r}) is already defined")
            self.definitions[name] = _Definition(name, fn, max_attempts)
            if not self._worker_registered:
                from lift.context import Context

                def run_job(ctx: Context, body: dict) -> None:  # type: ignore[type-arg]
                    self._run_message(ctx, body)

                run_job.__annotations__ = {"ctx": Context, "body": dict, "return": None}
                self.app.sqs(self.queue)(run_job)
                self._worker_registered = True
            return fn

        return register

    def _store(self) -> Any:
        if self.store is None:
            from lift.stores.memory import MemoryStore

            self.store = MemoryStore()
        return self.store

    # -- state ----------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        found = self._read(job_id)
        return found[0] if found is not None else None

    def _save(self, job: Job) -> None:
        self._store().put(f"job#{job.id}", msgspec.to_builtins(job), ttl=self.ttl)

    def _read(self, job_id: str) -> tuple[Job, Any] | None:
        """The job and the record it was read from (what `_swap` expects to find)."""
        if not _JOB_ID.fullmatch(job_id):
            return None
        data = self._store().get(f"job#{job_id}")
        return None if data is None else (msgspec.convert(data, Job), data)

    def _swap(self, stored: Any, job: Job) -> Any:
        """Write `job` only if its record is still `stored`: the record written, or None when another
        writer (a cancel, another worker) changed it first. Every transition goes through here, so a
        terminal status is never overwritten and two workers never both run a job."""
        record = msgspec.to_builtins(job)
        store, key = self._store(), f"job#{job.id}"
        if store.compare_and_set(key, stored, record, ttl=self.ttl):
            return record
        # The write may have applied with its answer lost (a timeout): the store client's retry then
        # finds our own record instead of `stored`. Ours carries this worker's claim, so it is no one else's.
        return record if store.get(key) == record else None

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or running job (a running one stops at its next `progress()`, and what it
        returns afterwards is not recorded: the job stays cancelled)."""
        for _ in range(_SWAP_ATTEMPTS):
            found = self._read(job_id)
            if found is None:
                return None
            job, stored = found
            if job.status in TERMINAL:
                return job
            job.status, job.finished_at = CANCELLED, time.time()
            if self._swap(stored, job) is not None:
                self._notify(job, "job.cancelled")
                return job
        raise RuntimeError(f"job {job_id}: could not cancel it, its record kept changing")

    # -- starting ----------------------------------------------------------------------------------
    def start(
        self,
        name: str,
        body: Any = None,
        *,
        ctx: Any = None,
        idempotency_key: str | None = None,
        notify_connection: str | None = None,
    ) -> Job:
        """Save job `name` as queued and send it to the jobs queue; with an `idempotency_key`, a
        second start with the same key returns the first job."""
        definition = self.definitions.get(name)
        if definition is None:
            raise KeyError(f"no job named {name!r}; defined: {sorted(self.definitions)}")
        tenant = getattr(ctx, "tenant_id", None) if ctx is not None else None
        job = Job(
            id=uuid.uuid4().hex,
            name=name,
            max_attempts=definition.max_attempts,
            created_at=time.time(),
            tenant_id=None if tenant is None else str(tenant),
            user_id=_text(getattr(ctx, "user_id", None)) if ctx is not None else None,
            connection_id=notify_connection or (getattr(ctx, "connection_id", None) if ctx is not None else None),
            body=msgspec.to_builtins(body),
        )
        self._check_fits(job)
        self._save(job)  # before the key names it: a concurrent start that finds the key finds the job
        key = None if idempotency_key is None else _idempotency_store_key(tenant, name, idempotency_key)
        if key is not None:
            first = self._first_job(key, job)
            if first is not None:
                self._store().delete(f"job#{job.id}")
                return first
        try:
            self._enqueue(job)
        except Exception:
            # No worker will ever see this job: forget it and free its key, so the caller's retry (with the
            # same idempotency key) starts it anew instead of being handed a job that stays queued.
            try:
                self._store().delete(f"job#{job.id}")
                if key is not None:
                    self._store().delete(key, expected=job.id)
            except Exception as exc:  # the send's error is the one to report
                _log.warning("job %s was not sent and could not be forgotten: %s", job.id, exc)
            raise
        self._recent.append(job.id)
        return job

    def _check_fits(self, job: Job) -> None:
        """A 413 when the job's record would not fit its store (a DynamoDB item stops at 400 KB) with
        room left for what the run adds: the caller's body is too large, not the service broken."""
        limit = self._store().value_limit(f"job#{job.id}")
        if limit is None:
            return
        size = len(msgspec.json.encode(msgspec.to_builtins(job)))
        if size + _RECORD_HEADROOM > limit:
            from lift.errors import PayloadTooLarge

            raise PayloadTooLarge(
                f"job {job.name}: its body is {size} bytes of JSON, over the {limit - _RECORD_HEADROOM} "
                "its job store keeps",
                details={"limit": limit - _RECORD_HEADROOM},
            )

    def _first_job(self, key: str, job: Job) -> Job | None:
        """The job an idempotency key already names, or None once `job` holds the key."""
        store = self._store()
        wrote, existing = store.put_if_absent_or_get(key, job.id, ttl=self.ttl)
        for _ in range(_SWAP_ATTEMPTS):
            # (the key naming this job: our own write, its answer lost and the store client's retry refused)
            if wrote or existing == job.id:
                return None
            found = self.get(existing)
            if found is not None:
                return found
            # the key's job has expired: take the key over, unless a concurrent start did first
            wrote = store.compare_and_set(key, existing, job.id, ttl=self.ttl)
            if not wrote:
                wrote, existing = store.put_if_absent_or_get(key, job.id, ttl=self.ttl)
        raise RuntimeError(f"job {job.name}: idempotency key {key!r} kept changing")

    def recent(self) -> list[Job]:
        """The jobs this process started lately, newest first (what the dev dashboard lists)."""
        found = (self.get(job_id) for job_id in reversed(self._recent))
        return [job for job in found if job is not None]

    def _enqueue(self, job: Job) -> None:
        message = msgspec.json.encode({"lift_job": job.id, "name": job.name}).decode()
        if self._transport() == "sqs":
            self._send_sqs(message)
        else:
            threading.Thread(target=self._run_locally, args=(message, job.max_attempts), daemon=True).start()

    def _transport(self) -> str:
        if self.transport != "auto":
            return self.transport
        return "sqs" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "local"

    def _send_sqs(self, message: str) -> None:
        if self._sqs is None:
            import boto3

            self._sqs = boto3.session.Session().client("sqs")
        if self._queue_url is None:
            self._queue_url = (
                os.environ.get("LIFT_JOBS_QUEUE_URL") or self._sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
            )
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message)

    def _run_locally(self, message: str, attempts: int) -> None:
        """The local worker: the SQS event Lambda would deliver, redelivered while it fails."""
        from lift.testing import events, lambda_context

        event = events.sqs(self.queue, [message])
        for attempt in range(1, attempts + 1):
            event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(attempt)
            result = self.app.handler(event, lambda_context(function_name=f"{self.app.name}-jobs", timeout_ms=900_000))
            if not (isinstance(result, dict) and result.get("batchItemFailures")):
                return
            time.sleep(self.retry_delay)

    # -- running -----------------------------------------------------------------------------------
    def _run_message(self, ctx: Any, body: dict) -> None:  # the SQS handler of the jobs queue
        job_id = body.get("lift_job") if isinstance(body, dict) else None
        claimed = self._claim(job_id, ctx) if isinstance(job_id, str) else None
        if claimed is None:
            return
        job, stored, definition = claimed
        # The job runs as the tenant and user who started it: what it starts, caches or pushes is theirs.
        ctx.tenant_id, ctx.user_id = job.tenant_id, job.user_id
        self._notify(job, "job.progress")
        state = {"stored": stored}
        try:
            body_value = (
                msgspec.convert(job.body, definition.body_type) if definition.body_type is not Any else job.body
            )
            result = definition.call(ctx, body_value, self._progress(job, state))
        except JobCancelled:
            return
        except Exception as exc:
            error = _cut(f"{type(exc).__name__}: {exc}")
            _log.error("job %s (%s) attempt %d failed: %s", job.id, job.name, job.attempts, error, exc_info=True)
            if job.attempts < job.max_attempts:
                job.status, job.error, job.claim, job.lease_until = QUEUED, error, None, None
                if self._swap(state["stored"], job) is not None:  # else cancelled meanwhile: nothing to retry
                    raise  # the record fails: SQS delivers it again
                return
            self._finish(job, state["stored"], FAILED, error=error)
            return
        self._finish(job, state["stored"], SUCCEEDED, result=result)

    def _claim(self, job_id: str, ctx: Any) -> tuple[Job, Any, _Definition] | None:
        """Take the job for this worker (queued -> running, one compare-and-set: of concurrent
        deliveries exactly one wins); None when there is nothing to run. A job another worker runs
        raises JobBusy until its lease (that worker's invocation) runs out; then it is taken over."""
        for _ in range(_SWAP_ATTEMPTS):
            found = self._read(job_id)
            if found is None:
                _log.warning("jobs: message for an unknown job %r dropped", job_id)
                return None
            job, stored = found
            if job.status in TERMINAL:
                return None  # a redelivery of a finished job, or a cancelled one
            now = _lease_clock()
            if job.status == RUNNING and job.lease_until is not None and job.lease_until > now:
                raise JobBusy(f"job {job.id} is running on another worker until {job.lease_until:.0f}")
            definition = self.definitions.get(job.name)
            if definition is None:
                self._finish(job, stored, FAILED, error=f"no job named {job.name!r} in this app")
                return None
            if job.status == RUNNING and job.attempts >= job.max_attempts:  # its last worker died
                self._finish(job, stored, FAILED, error=f"the worker of attempt {job.attempts} stopped (timeout)")
                return None
            job.attempts += 1
            job.status, job.started_at, job.error = RUNNING, job.started_at or now, None
            job.claim = uuid.uuid4().hex
            job.lease_until = now + _lease_seconds(ctx)
            record = self._swap(stored, job)
            if record is not None:
                return job, record, definition
        raise JobBusy(f"job {job_id}: its record kept changing while this worker tried to take it")

    def _progress(self, job: Job, state: dict[str, Any]) -> Callable[..., None]:
        def progress(percent: float, message: str | None = None) -> None:
            job.progress = max(0.0, min(100.0, float(percent)))
            job.message = None if message is None else _cut(str(message))
            record = self._swap(state["stored"], job)
            if record is None:  # cancelled, or taken over by another worker: stop here
                raise JobCancelled(job.id)
            state["stored"] = record
            self._notify(job, "job.progress")

        return progress

    def _finish(self, job: Job, stored: Any, status: str, *, result: Any = None, error: str | None = None) -> None:
        job.status, job.finished_at, job.error = status, time.time(), error
        job.claim = job.lease_until = None
        if status == SUCCEEDED:
            job.progress = 100.0
            try:
                data = msgspec.to_builtins(result)
                encoded = msgspec.json.encode(data)
            except (TypeError, msgspec.EncodeError) as exc:
                # The job ran: say why its result is missing (the error escaped before: the job stayed
                # `running` until its lease ran out, then ran again).
                _log.error("job %s (%s): its result is not JSON: %s", job.id, job.name, exc)
                data, encoded = None, b""
                job.status, job.error = FAILED, _cut(f"the result is not JSON: {type(exc).__name__}: {exc}")
            if len(encoded) > self._inline_room(job):
                try:
                    job.result_key = self._store_large_result(job, encoded)
                except Exception as exc:  # the job ran; say why its result is missing instead of running it again
                    _log.error("job %s (%s): result not kept: %s", job.id, job.name, exc)
                    job.status, job.error = FAILED, f"{type(exc).__name__}: {exc}"
                job.result = None
            else:
                job.result = data
        if self._swap(stored, job) is None:
            _log.info("job %s: %s not recorded, the job was cancelled (or taken over) while it ran", job.id, status)
            return
        self._notify(job, f"job.{job.status}")

    def _inline_room(self, job: Job) -> int:
        """How many bytes of result the job's record can hold: MAX_INLINE_RESULT, or less when the
        record's other fields (a large body) leave less than that below the store's item limit."""
        limit = self._store().value_limit(f"job#{job.id}")
        if limit is None:
            return MAX_INLINE_RESULT
        others = len(msgspec.json.encode(msgspec.to_builtins(job)))
        return min(MAX_INLINE_RESULT, limit - others)

    def _store_large_result(self, job: Job, encoded: bytes) -> str:
        if not self.result_bucket:
            raise ValueError(
                f"job {job.id}: the result is {len(encoded)} bytes, over the {max(0, self._inline_room(job))} "
                "its record can hold; "
                "configure app.jobs.configure(result_bucket=...) to keep large results in S3"
            )
        key = f"lift-jobs/{job.name}/{job.id}.json"
        self._s3().put_object(Bucket=self.result_bucket, Key=key, Body=encoded, ContentType="application/json")
        return key

    def _s3(self) -> Any:
        if self._s3_client is None:
            import boto3
            from botocore.config import Config

            # (SigV4 links: SigV2's are refused in every region opened since 2014)
            self._s3_client = boto3.session.Session().client("s3", config=Config(signature_version="s3v4"))
        return self._s3_client

    def public(self, job: Job) -> dict[str, Any]:
        """What clients see of `job`; a result kept in S3 as a presigned link made now, valid for
        an hour at most and never past the job's expiry. (A link made when the job finished
        would die with the worker's temporary credentials, and SigV4 refuses one over 7 days.)"""
        data = job.public()
        if job.result_key and self.result_bucket:
            left = (job.finished_at or time.time()) + self.ttl - time.time()
            data["result_url"] = str(
                self._s3().generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.result_bucket, "Key": job.result_key},
                    ExpiresIn=max(1, int(min(RESULT_LINK_SECONDS, left))),
                )
            )
        return data

    def _notify(self, job: Job, kind: str) -> None:
        """Push the job's state to the connection that started it, else to its user's connections."""
        if not job.connection_id and not job.user_id:
            return
        message = {"type": kind, "job": self.public(job)}
        try:
            if message["job"].get("result") is not None and len(_ws_encode(message)) > _ws_limit():
                # (API Gateway refuses a message over 128 KB: the update goes without it, GET /jobs/{id} has it)
                message["job"]["result"] = None
                message["job"]["result_omitted"] = True
            client = self.app.websocket_client  # (with the app's connection store, when it tracks connections)
            if job.connection_id:
                client.send(job.connection_id, message)
            elif client.connections is not None and job.user_id:
                client.send_to_user(job.user_id, message)
        except Exception as exc:  # a notification never fails the job
            _log.warning("job %s: update %s not delivered: %s", job.id, kind, exc)

    # -- HTTP ---------------------------------------------------------------------------------------
    def mount(self, app: Any, prefix: str = "/jobs") -> None:
        """`GET {prefix}/{job_id}` (the job, 404 for another tenant's) and `POST {prefix}/{job_id}/cancel`."""
        from lift.errors import NotFound

        def visible(ctx: Any, job_id: str) -> Job:
            job = self.get(job_id)
            if job is None or (
                job.tenant_id is not None and (ctx.tenant_id is None or str(ctx.tenant_id) != job.tenant_id)
            ):
                raise NotFound(f"job {job_id} not found")
            return job

        def get_job(ctx: Any, job_id: str) -> dict[str, Any]:
            return self.public(visible(ctx, job_id))

        def cancel_job(ctx: Any, job_id: str) -> dict[str, Any]:
            visible(ctx, job_id)
            job = self.cancel(job_id)
            assert job is not None
            return self.public(job)

        get_job.__annotations__ = {"ctx": _context_type(), "job_id": str, "return": dict}
        cancel_job.__annotations__ = {"ctx": _context_type(), "job_id": str, "return": dict}
        app.get(f"{prefix.rstrip('/')}/{{job_id}}")(get_job)
        app.post(f"{prefix.rstrip('/')}/{{job_id}}/cancel")(cancel_job)


def _lease_seconds(ctx: Any) -> float:
    """How long a worker may hold a job: its invocation's remaining time (15 minutes without one)."""
    remaining = getattr(ctx, "remaining_ms", None) if getattr(ctx, "lambda_context", None) is not None else None
    return (remaining() / 1000 if remaining is not None else 900.0) + _LEASE_MARGIN_S


def _cut(text: str) -> str:
    """`text` kept to MAX_TEXT characters (an exception's or a progress message's text can be any size;
    the job's record cannot)."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _idempotency_store_key(tenant: Any, name: str, idempotency_key: Any) -> str:
    """The store key of a start's idempotency key: scoped by tenant (escaped, so no tenant's key can
    name another's) and by job name; a key over 200 characters is kept as its SHA-256 (store keys are
    bounded: DynamoDB's at 2,048 bytes)."""
    text = str(idempotency_key)
    part = "k:" + text if len(text) <= 200 else "h:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return scoped_key("jobkey", name, part, tenant_id=None if tenant is None else str(tenant))


def _ws_encode(message: Any) -> bytes:
    from lift import serialization

    return serialization.encode_json(message)


def _ws_limit() -> int:
    from lift.websocket import MAX_MESSAGE_BYTES

    return MAX_MESSAGE_BYTES


def _context_type() -> Any:
    from lift.context import Context

    return Context


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class JobsForContext:
    """`ctx.jobs`: start, read and cancel jobs on behalf of this request (its tenant, user and
    WebSocket connection are recorded with the job)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.jobs = jobs_of(ctx.app)

    def start(
        self, name: str, body: Any = None, *, idempotency_key: str | None = None, notify_connection: str | None = None
    ) -> Job:
        return self.jobs.start(
            name, body, ctx=self.ctx, idempotency_key=idempotency_key, notify_connection=notify_connection
        )

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        return self.jobs.cancel(job_id)


_registry_lock = threading.Lock()


def jobs_of(app: Any) -> Jobs:
    """The app's `Jobs` (created on first use)."""
    jobs = getattr(app, "_lift_jobs", None)
    if jobs is None:
        with _registry_lock:
            jobs = getattr(app, "_lift_jobs", None)
            if jobs is None:
                jobs = Jobs(app)
                app._lift_jobs = jobs
    return jobs
