"""CodePipeline Lambda invoke actions: Lift reports the job's result to CodePipeline.

`body` is the action's `UserParameters` (JSON parsed when it is JSON); `ctx.record` gives
`job_id`, `user_parameters`, `input_artifacts`, `output_artifacts`, `artifact_credentials`,
`continuation_token`, `encryption_key`. When the handler returns, Lift calls
`PutJobSuccessResult` (a returned dict of strings becomes the action's output variables;
return `ContinueJob(token)` to be invoked again with that continuation token); when it
raises, `PutJobFailureResult` with the exception's message (the exception logged at ERROR with
the request id). Once CodePipeline has the job's result the invocation returns: CodePipeline
invokes the function asynchronously, so a failed invocation would be retried by Lambda, running
the action again for a job that is already over. Only when the result cannot be reported does
the invocation fail (Lambda's retry reports it then). The CodePipeline client is boto3's
(`lift-lambda[aws]`), made once.
"""

from __future__ import annotations

from typing import Any

from lift.sources.record import Record, decode_json_or_text
from lift.sources.triggers import returned_wrong, run_handler

__all__ = ["CodePipelineJob", "ContinueJob", "dispatch"]

_client: Any = None


class ContinueJob:
    """Return it to report the job in progress: CodePipeline invokes the action again with `token`."""

    def __init__(self, token: str) -> None:
        self.token = token


def client() -> Any:
    """The CodePipeline client (created once; `app.codepipeline_client` may be assigned for tests)."""
    global _client
    if _client is None:
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError('CodePipeline jobs need boto3: pip install "lift-lambda[aws]"') from exc
        _client = boto3.client("codepipeline")
    return _client


class CodePipelineJob(Record):
    kind = "codepipeline"

    @property
    def job(self) -> dict[str, Any]:
        return self.raw.get("CodePipeline.job") or {}

    @property
    def record_id(self) -> str | None:
        return self.job.get("id")

    job_id = record_id

    @property
    def data(self) -> dict[str, Any]:
        return self.job.get("data") or {}

    @property
    def user_parameters(self) -> str | None:
        return ((self.data.get("actionConfiguration") or {}).get("configuration") or {}).get("UserParameters")

    @property
    def input_artifacts(self) -> list[dict[str, Any]]:
        return self.data.get("inputArtifacts") or []

    @property
    def output_artifacts(self) -> list[dict[str, Any]]:
        return self.data.get("outputArtifacts") or []

    @property
    def artifact_credentials(self) -> dict[str, str]:
        return self.data.get("artifactCredentials") or {}

    @property
    def continuation_token(self) -> str | None:
        return self.data.get("continuationToken")

    @property
    def encryption_key(self) -> dict[str, str] | None:
        return self.data.get("encryptionKey")

    def payload(self) -> Any:
        params = self.user_parameters
        return decode_json_or_text(params) if params else None


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> None:
    record = CodePipelineJob(event)
    if record.job_id.__class__ is not str or not record.job_id:  # nothing to report the result to
        raise app._malformed_event("codepipeline", "$['CodePipeline.job'].id", "expected a job id (text)", context)
    pipeline = getattr(app, "codepipeline_client", None) or client()
    try:
        result = run_handler(app, handlers[0], event, context, "codepipeline", record)
    except Exception as exc:  # (logged by run_handler) the job fails; the action is not run again
        try:
            pipeline.put_job_failure_result(
                jobId=record.job_id,
                failureDetails={"type": "JobFailed", "message": f"{type(exc).__name__}: {exc}"[:5000]},
            )
        except Exception:  # CodePipeline was not told: Lambda's retry runs the job again and reports it
            raise exc from None
        return None
    try:
        if isinstance(result, ContinueJob):
            pipeline.put_job_success_result(jobId=record.job_id, continuationToken=result.token)
        elif isinstance(result, dict) and result:
            pipeline.put_job_success_result(
                jobId=record.job_id, outputVariables={str(k): str(v) for k, v in result.items()}
            )
        else:
            pipeline.put_job_success_result(jobId=record.job_id)
    except Exception as exc:  # a result CodePipeline refused (output variables it does not take, ...)
        returned_wrong(app, event, context, "codepipeline", record, exc)
        pipeline.put_job_failure_result(  # the job fails now, naming why, instead of waiting for its timeout
            jobId=record.job_id,
            failureDetails={"type": "JobFailed", "message": f"the job's result was refused: {exc}"[:5000]},
        )
    return None
