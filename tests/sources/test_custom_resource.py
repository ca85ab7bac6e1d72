"""CloudFormation custom resources: the answer is always PUT to the ResponseURL (a real local server)."""

from __future__ import annotations

import json
import logging
import time

import pytest

from lift import App, Context
from lift.sources import source_of
from lift.sources.custom_resource import CustomResourceResult
from lift.testing import events, lambda_context
from tests.sources.recording_server import RecordingServer


@pytest.fixture
def server():
    server = RecordingServer(answer=b"")
    yield server
    server.close()


def _sent(server: RecordingServer) -> dict:
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request["method"] == "PUT" and request["path"] == "/response?sig=1"
    assert request["headers"].get("Content-Type") == ""
    return json.loads(request["body"])


def _event(server: RecordingServer, request_type: str = "Create", **options) -> dict:
    return events.custom_resource(request_type, response_url=f"{server.url}/response?sig=1", **options)


def test_create_puts_success_with_the_data(server: RecordingServer) -> None:
    app = App()

    @app.custom_resource("Custom::Bucket")
    def bucket(ctx: Context, body: dict) -> CustomResourceResult:
        assert ctx.record.request_type == "Create"
        return CustomResourceResult({"Arn": f"arn:aws:s3:::{body['Name']}"}, physical_resource_id=body["Name"])

    event = _event(server, resource_type="Custom::Bucket", properties={"Name": "logs"})
    assert source_of(event) == "custom_resource"
    app.handler(event, lambda_context())
    assert _sent(server) == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "logs",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": "MyThing",
        "NoEcho": False,
        "Data": {"Arn": "arn:aws:s3:::logs"},
    }


def test_update_keeps_the_physical_id_and_a_failure_is_put_as_failed(server: RecordingServer) -> None:
    app = App()

    @app.custom_resource()
    def thing(ctx: Context) -> None:
        if ctx.record.request_type == "Delete":
            raise RuntimeError("still in use")

    app.handler(_event(server, "Update", physical_resource_id="thing-1", old_properties={"A": "1"}), lambda_context())
    sent = _sent(server)
    assert (sent["Status"], sent["PhysicalResourceId"], sent["Data"]) == ("SUCCESS", "thing-1", {})
    server.requests.clear()
    out = app.handler(_event(server, "Delete", physical_resource_id="thing-1"), lambda_context())
    sent = _sent(server)
    assert sent["Status"] == "FAILED" and sent["PhysicalResourceId"] == "thing-1"
    assert sent["Reason"].startswith("RuntimeError: still in use (see CloudWatch log stream ")
    assert out == sent


def test_near_the_timeout_failed_is_sent_once(server: RecordingServer) -> None:
    app = App()

    @app.custom_resource(timeout_margin=0.2)
    def slow(ctx: Context) -> dict:
        # still running when the timer answers, however late a loaded machine runs the timer (bounded:
        # with no timer, it ends after 10 s and its own success is the one answer)
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"late": True}

    app.handler(_event(server), lambda_context(timeout_ms=300))
    sent = _sent(server)  # exactly one answer: the timer's, the late success is not sent
    assert sent["Status"] == "FAILED" and sent["Reason"] == "The custom resource handler timed out"


def test_an_unknown_resource_type_still_answers_failed(server: RecordingServer) -> None:
    app = App()
    app.custom_resource("Custom::Known")(lambda ctx: None)
    with pytest.raises(Exception):
        app.handler(_event(server, resource_type="Custom::Other"), lambda_context())
    assert _sent(server)["Status"] == "FAILED"


class _Opaque:
    """A value no JSON encoder knows."""


@pytest.mark.parametrize(
    ("returned", "why"),
    [
        (lambda: _Opaque(), "Cannot encode"),  # was: no PUT at all, the stack waited an hour
        (lambda: "arn:aws:s3:::logs", "Data must be an object"),  # was: SUCCESS with "Data": "..." (refused)
        (lambda: [1, 2], "Data must be an object"),
        (lambda: {"Blob": "x" * 5000}, "at most 4096"),  # was: a 5 KB answer ("Response object is too long")
        (lambda: CustomResourceResult({}, physical_resource_id=123), "PhysicalResourceId"),  # was sent as a number
        (lambda: CustomResourceResult({}, physical_resource_id="p" * 1025), "PhysicalResourceId"),
    ],
    ids=["unencodable", "text", "list", "over-4096-bytes", "number-physical-id", "long-physical-id"],
)
def test_an_answer_cloudformation_would_refuse_is_sent_as_failed_naming_why(
    server: RecordingServer, returned, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()
    app.custom_resource()(lambda ctx: returned())
    context = lambda_context()
    caplog.set_level(logging.INFO, logger="lift")
    out = app.handler(_event(server, "Update", physical_resource_id="thing-1"), context)
    sent = _sent(server)  # exactly one PUT, whatever the handler returned
    assert (sent["Status"], sent["PhysicalResourceId"], sent["Data"]) == ("FAILED", "thing-1", {})
    assert why in sent["Reason"] and out == sent
    assert len(server.requests[0]["body"]) <= 4096
    (line,) = [r for r in caplog.records if r.name.startswith("lift")]
    assert line.levelno == logging.ERROR and context.aws_request_id in line.getMessage()


def test_a_long_failure_reason_is_cut_to_fit_cloudformations_4096_bytes(server: RecordingServer) -> None:
    app = App()

    @app.custom_resource()
    def thing(ctx: Context) -> None:
        raise RuntimeError("é" * 3000)  # 6 bytes each in the JSON answer: was an 18 KB answer CloudFormation refused

    app.handler(_event(server), lambda_context())
    sent = _sent(server)
    assert len(server.requests[0]["body"]) <= 4096
    assert (
        sent["Status"] == "FAILED" and sent["Reason"].startswith("RuntimeError: éé") and sent["Reason"].endswith("...")
    )
    assert len(server.requests[0]["body"]) > 4000  # as much of the reason as fits


def test_behind_the_cdk_provider_framework_the_answer_is_returned_and_a_failure_raised(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The CDK provider framework's onEvent gets CloudFormation's request without its ResponseURL
    and answers CloudFormation itself from what the function returns (or raises). Such events went
    to @app.invoke as unknown events."""
    app = App()

    @app.custom_resource("Custom::Bucket")
    def bucket(ctx: Context, body: dict) -> object:
        if body.get("Fail"):
            raise RuntimeError("quota exceeded")
        if ctx.record.request_type == "Create":
            return CustomResourceResult({"Arn": f"arn:aws:s3:::{body['Name']}"}, physical_resource_id=body["Name"])
        if body.get("Huge"):
            return {"Blob": "x" * 5000}
        return None

    create = events.custom_resource(
        "Create", resource_type="Custom::Bucket", properties={"Name": "logs"}, response_url=None
    )
    assert "ResponseURL" not in create and source_of(create) == "custom_resource"
    assert app.handler(create, lambda_context()) == {"PhysicalResourceId": "logs", "Data": {"Arn": "arn:aws:s3:::logs"}}
    delete = events.custom_resource(
        "Delete", resource_type="Custom::Bucket", physical_resource_id="logs", response_url=None
    )
    assert app.handler(delete, lambda_context()) == {}  # the framework keeps the resource's id
    failing = events.custom_resource(
        "Update", resource_type="Custom::Bucket", properties={"Fail": 1}, response_url=None
    )
    with caplog.at_level(logging.ERROR, logger="lift"), pytest.raises(RuntimeError, match="quota exceeded"):
        app.handler(failing, lambda_context())
    huge = events.custom_resource("Update", resource_type="Custom::Bucket", properties={"Huge": 1}, response_url=None)
    with pytest.raises(ValueError, match="CloudFormation takes at most 4096"):
        app.handler(huge, lambda_context())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and "quota exceeded" in errors[0].getMessage() + str(errors[0].exc_info)
    assert server.requests == []  # nothing PUT anywhere


def test_the_cdk_provider_framework_samples_of_the_corpus_are_custom_resources() -> None:
    from pathlib import Path

    corpus = Path("/work/shared/corpus/events")
    local = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "events"
    corpus = local if local.is_dir() else corpus
    samples = sorted(corpus.rglob("*custom-resource-provider*.json")) if corpus.is_dir() else []
    if not samples:
        pytest.skip("no event corpus here")
    app = App()
    seen = []
    app.custom_resource()(lambda ctx, body: seen.append(ctx.record.request_type) or {"Seen": body["Key1"]})
    for path in samples:
        event = json.loads(path.read_text())
        answer = app.handler(event, lambda_context())
        assert answer == {"Data": {"Seen": event["ResourceProperties"]["Key1"]}}, path.name
    assert sorted(seen) == ["Create", "Delete", "Update"]
