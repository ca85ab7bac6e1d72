"""CodePipeline jobs and S3 Object Lambda report through AWS APIs moto does not serve
(PutJobSuccessResult/PutJobFailureResult, WriteGetObjectResponse): a real boto3 client talks
to a recording HTTP server on 127.0.0.1, and the test asserts the requests boto3 sent."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from lift import App, Context
from lift.errors import Forbidden
from lift.sources import source_of
from lift.sources.codepipeline import ContinueJob
from lift.testing import events, lambda_context
from tests.sources.recording_server import RecordingServer


@pytest.fixture
def server():
    server = RecordingServer()
    yield server
    server.close()


def _client(service: str, server: RecordingServer):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


def _calls(server: RecordingServer) -> list[tuple[str, dict]]:
    return [(r["headers"].get("X-Amz-Target"), json.loads(r["body"])) for r in server.requests]


def test_codepipeline_job_success_failure_and_continuation(server: RecordingServer) -> None:
    app = App()
    app.codepipeline_client = _client("codepipeline", server)

    @app.codepipeline()
    def deploy(ctx: Context, body: dict):
        if body.get("fail"):
            raise RuntimeError("tests failed")
        if body.get("wait"):
            return ContinueJob("step-2")
        return {"version": body["version"]}

    event = events.codepipeline_job({"version": "1.2"}, job_id="job-1")
    assert source_of(event) == "codepipeline"
    app.handler(event, lambda_context())
    app.handler(events.codepipeline_job({"wait": True}, job_id="job-2"), lambda_context())
    # the failure is reported, and the invocation returns: CodePipeline invokes asynchronously, so a raised
    # exception made Lambda run the failed action twice more (each retry's report refused: the job was over)
    assert app.handler(events.codepipeline_job({"fail": True}, job_id="job-3"), lambda_context()) is None
    assert _calls(server) == [
        ("CodePipeline_20150709.PutJobSuccessResult", {"jobId": "job-1", "outputVariables": {"version": "1.2"}}),
        ("CodePipeline_20150709.PutJobSuccessResult", {"jobId": "job-2", "continuationToken": "step-2"}),
        (
            "CodePipeline_20150709.PutJobFailureResult",
            {"jobId": "job-3", "failureDetails": {"type": "JobFailed", "message": "RuntimeError: tests failed"}},
        ),
    ]


def test_s3_object_lambda_transforms_the_original(server: RecordingServer) -> None:
    original = RecordingServer(answer=b"hello world", content_type="text/plain")
    try:
        app = App()
        app.s3_object_lambda_client = _client("s3", server)

        @app.s3_object_lambda()
        def upper(ctx: Context, body: bytes) -> bytes:
            if ctx.record.user_identity.get("arn", "").endswith("/Mallory"):
                raise Forbidden("not for you")
            return body.upper()

        event = events.s3_object_lambda(f"{original.url}/photo.txt?X-Amz-Signature=abc")
        assert source_of(event) == "s3_object_lambda"
        assert app.handler(event, lambda_context()) == {"status_code": 200}
        assert original.requests[0]["path"] == "/photo.txt?X-Amz-Signature=abc"
        sent = server.requests[0]
        assert sent["method"] == "POST" and sent["path"].startswith("/WriteGetObjectResponse")
        assert sent["headers"]["x-amz-request-route"] == "io-use1-001"
        assert sent["headers"]["x-amz-request-token"] == "OutputToken"
        assert sent["headers"]["x-amz-fwd-status"] == "200" and sent["body"] == b"HELLO WORLD"

        event["userIdentity"]["arn"] = "arn:aws:iam::123456789012:user/Mallory"
        assert app.handler(event, lambda_context()) == {"status_code": 403}
        refused = server.requests[1]["headers"]
        assert (refused["x-amz-fwd-status"], refused["x-amz-fwd-error-code"]) == ("403", "forbidden")
    finally:
        original.close()


def test_a_job_result_codepipeline_refuses_fails_the_job_naming_why(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    def refuse_success(request: dict) -> tuple[int, bytes] | None:  # as CodePipeline answers a bad output variable
        if request["headers"].get("X-Amz-Target", "").endswith("PutJobSuccessResult"):
            error = {"__type": "ValidationException", "message": "Invalid output variable key: 'build id'"}
            return 400, json.dumps(error).encode()
        return None

    server = RecordingServer(refuse=refuse_success)
    try:
        app = App()
        app.codepipeline_client = _client("codepipeline", server)
        app.codepipeline()(lambda ctx: {"build id": "42"})
        context = lambda_context()
        caplog.set_level(logging.INFO, logger="lift")
        assert app.handler(events.codepipeline_job(job_id="job-9"), context) is None  # the job's over: no retry
        # was: the refused success was the last word, the job waited for its timeout (an hour by default)
        assert [target for target, _ in _calls(server)] == [
            "CodePipeline_20150709.PutJobSuccessResult",
            "CodePipeline_20150709.PutJobFailureResult",
        ]
        failure = _calls(server)[1][1]
        assert failure["jobId"] == "job-9" and "Invalid output variable key" in failure["failureDetails"]["message"]
        (line,) = [r for r in caplog.records if r.name.startswith("lift")]
        assert line.levelno == logging.ERROR and context.aws_request_id in line.getMessage()
    finally:
        server.close()


def test_a_failed_job_that_cannot_be_reported_fails_the_invocation_so_lambda_retries_it(caplog) -> None:
    """Only when CodePipeline could not be told does the invocation fail, with the handler's own exception."""
    import logging

    def unavailable(request: dict) -> tuple[int, bytes] | None:
        return 500, b'{"__type": "InternalFailure", "message": "down"}'

    server = RecordingServer(refuse=unavailable)
    try:
        app = App()
        app.codepipeline_client = _client("codepipeline", server)

        @app.codepipeline()
        def deploy(ctx: Context) -> None:
            raise RuntimeError("tests failed")

        with pytest.raises(RuntimeError, match="tests failed"):
            app.handler(events.codepipeline_job(job_id="job-5"), lambda_context())
        assert {target for target, _ in _calls(server)} == {
            "CodePipeline_20150709.PutJobFailureResult"
        }  # (+ boto3's retry)
        assert [r.levelno for r in caplog.records if r.name.startswith("lift")] == [logging.ERROR]
    finally:
        server.close()
