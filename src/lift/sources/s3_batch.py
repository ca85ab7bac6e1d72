"""S3 Batch Operations (schema 1.0 and 2.0): one handler call per task, every task answered.

`body` is the task (`ctx.record`: `bucket`, `key` (URL-decoded), `version_id`, `task_id`,
`job_id`, `user_arguments` (2.0)). The return value becomes the task's `resultString` (text
as is, anything else as JSON) with `Succeeded`; raising `TemporaryFailure` answers
`TemporaryFailure` (S3 retries the task), any other exception `PermanentFailure` with the
exception's message. The answer keeps the invocation's schema version and id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from lift import serialization
from lift.batch import RecordResult, log_record_failure
from lift.errors import LiftError
from lift.sources.record import Record, malformed_record

__all__ = ["S3BatchTask", "TemporaryFailure", "dispatch"]


class TemporaryFailure(Exception):
    """Raise it to have S3 Batch Operations retry the task."""


class S3BatchTask(Record):
    kind = "s3_batch"
    job: dict[str, Any] = {}

    @property
    def record_id(self) -> str | None:
        return self.raw.get("taskId")

    task_id = record_id

    @property
    def bucket(self) -> str:
        """`s3Bucket` (2.0), else the name in `s3BucketArn` (1.0); a task with neither as text is
        malformed (a `malformed_record` BadRequest: that task fails alone)."""
        bucket = self.raw.get("s3Bucket")
        if bucket and bucket.__class__ is str:
            return bucket
        if bucket is not None:
            raise malformed_record("s3Bucket", "a bucket name", bucket)
        arn = self.raw.get("s3BucketArn")
        if arn.__class__ is not str or not arn:
            raise malformed_record("s3BucketArn", "a bucket ARN", arn)
        return arn.rsplit(":", 1)[-1]

    @property
    def key(self) -> str:
        return unquote_plus(self.raw.get("s3Key") or "")

    @property
    def version_id(self) -> str | None:
        return self.raw.get("s3VersionId")

    @property
    def job_id(self) -> str | None:
        return self.job.get("id")

    @property
    def user_arguments(self) -> dict[str, str]:
        return self.job.get("userArguments") or {}

    def payload(self) -> Any:
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id, "task_id": self.task_id}


def _result_string(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else serialization.encode_json(value).decode("utf-8")


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    results = []
    job = event.get("job") or {}
    for raw in event.get("tasks") or ():
        task = S3BatchTask(raw, job=job)
        try:
            bucket = task.bucket
        except LiftError as exc:  # a task without a bucket as text: it fails alone, logged once
            ctx = app.new_context(event, context, "s3_batch")
            ctx.record = task
            log_record_failure(ctx, task, exc)
            results.append({"taskId": task.task_id, "resultCode": "PermanentFailure", "resultString": exc.message})
            continue
        handler = next((h for h in handlers if h.match(bucket)), None)
        if handler is None:
            raise app._unmatched_event("s3_batch", f"bucket {bucket!r}", context)
        ctx = app.new_context(event, context, "s3_batch")
        ctx.record = task
        try:
            result = handler.chain(ctx)
            value = result.value if isinstance(result, RecordResult) else result
            results.append({"taskId": task.task_id, "resultCode": "Succeeded", "resultString": _result_string(value)})
        except Exception as exc:
            log_record_failure(ctx, task, exc)
            code = "TemporaryFailure" if isinstance(exc, TemporaryFailure) else "PermanentFailure"
            results.append({"taskId": task.task_id, "resultCode": code, "resultString": f"{type(exc).__name__}: {exc}"})
    return {
        "invocationSchemaVersion": event.get("invocationSchemaVersion"),
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event.get("invocationId"),
        "results": results,
    }
