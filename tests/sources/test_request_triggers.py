"""Bedrock agents, AppSync resolvers and authorizers, SES, Amazon MQ, S3 Batch Operations, Secrets
Manager rotation: each answered in the exact format its service requires."""

from __future__ import annotations

import json

import msgspec
import pytest

from lift import App, Context
from lift.errors import NotFound, Unauthorized
from lift.sources import source_of
from lift.sources.appsync import AppSyncAuthorization
from lift.sources.s3_batch import TemporaryFailure
from lift.testing import events, lambda_context


class Reminder(msgspec.Struct):
    claimId: str
    pendingDocuments: str


def test_bedrock_agent_openapi_action_is_answered_not_served_as_http() -> None:
    app = App()

    @app.get("/send-reminders")
    def http_route() -> dict:
        raise AssertionError("a Bedrock agent event is not an HTTP request")

    @app.bedrock_agent("/send-reminders", "POST")
    def remind(ctx: Context, body: Reminder) -> dict:
        return {"sent": body.claimId, "tenant": ctx.record.session_attributes["tenant"]}

    event = events.bedrock_agent("/send-reminders", "POST", body={"claimId": "20", "pendingDocuments": "vat"})
    assert "httpMethod" in event and source_of(event) == "bedrock_agent"
    assert app.handler(event, lambda_context()) == {
        "messageVersion": "1.0",
        "response": {
            "actionGroup": "ClaimManagement",
            "apiPath": "/send-reminders",
            "httpMethod": "POST",
            "httpStatusCode": 200,
            "responseBody": {"application/json": {"body": '{"sent":"20","tenant":"t-1"}'}},
        },
        "sessionAttributes": {"tenant": "t-1"},
        "promptSessionAttributes": {},
    }


def test_bedrock_agent_function_form_and_errors() -> None:
    app = App()

    @app.bedrock_agent("get_claim")
    def get_claim(ctx: Context, body: dict) -> str:
        if body["id"] == "0":
            raise NotFound("no such claim")
        return f"claim {body['id']} is open"

    out = app.handler(events.bedrock_agent_function("get_claim", parameters={"id": "7"}), lambda_context())
    assert out["response"] == {
        "actionGroup": "ClaimManagement",
        "function": "get_claim",
        "functionResponse": {"responseBody": {"TEXT": {"body": "claim 7 is open"}}},
    }
    refused = app.handler(events.bedrock_agent_function("get_claim", parameters={"id": "0"}), lambda_context())
    response = refused["response"]["functionResponse"]
    assert response["responseState"] == "REPROMPT"
    assert json.loads(response["responseBody"]["TEXT"]["body"])["error"]["code"] == "not_found"


def test_appsync_direct_resolver_and_batch() -> None:
    app = App()

    @app.appsync("Query.getPost")
    def get_post(ctx: Context, body: dict) -> dict:
        return {"id": body["id"], "title": f"post {body['id']}", "field": ctx.record.field}

    @app.appsync("Post.author")
    def author(ctx: Context) -> dict:
        if ctx.record.source["id"] == "bad":
            raise ValueError("no author")
        return {"name": f"author of {ctx.record.source['id']}"}

    event = events.appsync_resolver("Query.getPost", {"id": "1"})
    assert source_of(event) == "appsync"
    assert app.handler(event, lambda_context()) == {"id": "1", "title": "post 1", "field": "Query.getPost"}
    batch = events.appsync_batch("Post.author", [{"id": "1"}, {"id": "bad"}, {"id": "3"}])
    assert source_of(batch) == "appsync"
    assert app.handler(batch, lambda_context()) == [{"name": "author of 1"}, None, {"name": "author of 3"}]


def test_appsync_authorizer() -> None:
    app = App()

    @app.appsync_authorizer()
    def authorize(ctx: Context) -> AppSyncAuthorization:
        if ctx.record.authorization_token != "allow":
            raise Unauthorized()
        return AppSyncAuthorization({"sub": "u-1", "tenant_id": "t-1"}, denied_fields=["Post.secret"], ttl_override=60)

    event = events.appsync_authorizer("allow")
    assert source_of(event) == "appsync_authorizer"
    assert app.handler(event, lambda_context()) == {
        "isAuthorized": True,
        "resolverContext": {"sub": "u-1", "tenant_id": "t-1"},
        "deniedFields": ["Post.secret"],
        "ttlOverride": 60,
    }
    assert app.handler(events.appsync_authorizer("nope"), lambda_context()) == {"isAuthorized": False}


def test_ses_mail_and_disposition() -> None:
    app = App()
    seen: list = []

    @app.ses("*@example.com")
    def mail(ctx: Context, body: dict) -> str | None:
        seen.append((body["subject"], ctx.record.verdict("spam"), ctx.record.headers["From"]))
        return "STOP_RULE" if ctx.record.verdict("spam") == "FAIL" else None

    event = events.ses(["orders@example.com"], subject="Order 7")
    assert source_of(event) == "ses"
    assert app.handler(event, lambda_context()) is None
    assert app.handler(events.ses(["x@example.com"], spam="FAIL"), lambda_context()) == {"disposition": "STOP_RULE"}
    assert seen[0] == ("Order 7", "PASS", "jane@example.com")


def test_amazon_mq_activemq_and_rabbitmq() -> None:
    app = App()
    seen: list = []

    @app.mq("orders")
    def order(ctx: Context, body: dict) -> None:
        seen.append((ctx.record.queue, body))
        if body.get("fail"):
            raise ValueError("boom")

    assert app.handler(events.amazon_mq("orders", [{"n": 1}]), lambda_context()) is None
    assert app.handler(events.rabbitmq("orders", [{"n": 2}]), lambda_context()) is None
    assert seen == [("orders", {"n": 1}), ("orders", {"n": 2})]
    with pytest.raises(ValueError):  # no partial batch response for Amazon MQ: the invocation fails
        app.handler(events.amazon_mq("orders", [{"fail": True}]), lambda_context())


def test_s3_batch_operations_answers_every_task() -> None:
    app = App()

    @app.s3_batch("my-bucket")
    def task(ctx: Context, body: dict) -> dict:
        if body["key"] == "retry.jpg":
            raise TemporaryFailure("slow down")
        if body["key"] == "bad.jpg":
            raise ValueError("corrupt")
        return {"copied": body["key"], "mode": ctx.record.user_arguments.get("mode")}

    event = events.s3_batch(
        "my-bucket", ["a b.jpg", "retry.jpg", "bad.jpg"], version="2.0", user_arguments={"mode": "x"}
    )
    assert source_of(event) == "s3_batch"
    out = app.handler(event, lambda_context())
    ids = [t["taskId"] for t in event["tasks"]]
    assert out == {
        "invocationSchemaVersion": "2.0",
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": [
            {"taskId": ids[0], "resultCode": "Succeeded", "resultString": '{"copied":"a b.jpg","mode":"x"}'},
            {"taskId": ids[1], "resultCode": "TemporaryFailure", "resultString": "TemporaryFailure: slow down"},
            {"taskId": ids[2], "resultCode": "PermanentFailure", "resultString": "ValueError: corrupt"},
        ],
    }


def test_secrets_rotation_steps() -> None:
    app = App()
    steps: list = []

    @app.secrets_rotation("*", secret="db-*")
    def rotate(ctx: Context) -> None:
        steps.append((ctx.record.step, ctx.record.secret_name))
        if ctx.record.step == "testSecret":
            raise RuntimeError("cannot log in with the new password")

    for step in ("createSecret", "setSecret"):
        assert app.handler(events.secrets_rotation(step, "db-password"), lambda_context()) is None
    with pytest.raises(RuntimeError):
        app.handler(events.secrets_rotation("testSecret", "db-password"), lambda_context())
    assert steps == [("createSecret", "db-password"), ("setSecret", "db-password"), ("testSecret", "db-password")]
    with pytest.raises(ValueError):
        app.secrets_rotation("rotate")


@pytest.mark.parametrize(
    ("version", "field", "bad"),
    [("1.0", "s3BucketArn", 5), ("1.0", "s3BucketArn", ["arn:aws:s3:::my-bucket"]), ("1.0", "s3BucketArn", None),
     ("2.0", "s3Bucket", {"name": "my-bucket"}), ("2.0", "s3Bucket", "")],
)  # fmt: skip
def test_an_s3_batch_task_without_a_bucket_as_text_fails_alone(version, field, bad, caplog) -> None:
    """A task whose bucket (ARN) is not text fails alone (PermanentFailure naming the field), logged once
    with the request id; the other tasks are answered."""
    caplog.set_level("INFO", logger="lift")
    app = App()

    @app.s3_batch("my-bucket")
    def task(ctx: Context, body: dict) -> str:
        return f"copied {body['key']}"

    event = events.s3_batch("my-bucket", ["a.jpg", "b.jpg", "c.jpg"], version=version)
    event["tasks"][1][field] = bad
    out = app.handler(event, lambda_context(aws_request_id="req-batch"))
    ids = [t["taskId"] for t in event["tasks"]]
    assert [(r["taskId"], r["resultCode"]) for r in out["results"]] == [
        (ids[0], "Succeeded"),
        (ids[1], "PermanentFailure"),
        (ids[2], "Succeeded"),
    ]
    assert field in out["results"][1]["resultString"]
    lines = [r for r in caplog.records if r.name == "lift" and r.levelname != "DEBUG"]
    assert [r.levelname for r in lines] == ["WARNING"]
    assert "req-batch" in lines[0].getMessage() and ids[1] in lines[0].getMessage()
