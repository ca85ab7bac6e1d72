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


class Claim(msgspec.Struct):
    id: str
    amount: int
    rate: float
    urgent: bool
    tags: list[str]


def test_bedrock_agent_values_sent_as_text_fill_a_typed_model_by_their_declared_type() -> None:
    """A Bedrock agent sends every parameter and body property as text beside its declared type
    (`{"type": "integer", "value": "5"}`): a typed body field (`amount: int`) failed validation on every
    call (a REPROMPT the agent could never satisfy). An untyped body still gets the values as sent."""
    app = App()
    got: list = []

    @app.bedrock_agent("file_claim")
    def typed(body: Claim) -> str:
        got.append(body)
        return "filed"

    @app.bedrock_agent("/claims", "POST")
    def openapi(ctx: Context, body: Claim) -> dict:
        got.append((body, ctx.record.request_body["amount"], ctx.record.parameters))
        return {}

    @app.bedrock_agent("echo")
    def untyped(body):  # type: ignore[no-untyped-def]  # (no hint: the values as sent)
        got.append(body)
        return "ok"

    @app.bedrock_agent("echo_dict")
    def as_dict(body: dict) -> str:  # a dict hint is a type: the values as declared
        got.append(body)
        return "ok"

    values = {"id": "c-1", "amount": 1200, "rate": 2.5, "urgent": True, "tags": ["car", "glass"]}
    claim = Claim("c-1", 1200, 2.5, True, ["car", "glass"])
    out = app.handler(events.bedrock_agent_function("file_claim", parameters=values), lambda_context())
    assert out["response"]["functionResponse"] == {"responseBody": {"TEXT": {"body": "filed"}}}
    event = events.bedrock_agent("/claims", "POST", parameters={"amount": 7}, body=values)
    assert app.handler(event, lambda_context())["response"]["httpStatusCode"] == 200
    for function in ("echo", "echo_dict"):
        app.handler(events.bedrock_agent_function(function, parameters={"amount": 7, "ok": False}), lambda_context())
    assert got == [
        claim, (claim, "1200", {"amount": "7"}), {"amount": "7", "ok": "false"}, {"amount": 7, "ok": False}
    ]  # fmt: skip

    # text that is not what its type says stays text: the model names it, the agent is asked again
    wrong = events.bedrock_agent_function("file_claim", parameters=values)
    wrong["parameters"][1]["value"] = "twelve hundred"
    refused = app.handler(wrong, lambda_context())["response"]["functionResponse"]
    assert refused["responseState"] == "REPROMPT"
    assert "$.amount" in refused["responseBody"]["TEXT"]["body"]


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


@pytest.mark.parametrize("broker", ["activemq", "rabbitmq"])
def test_an_amazon_mq_batch_runs_every_message_then_fails_naming_the_failed_ones(broker, caplog) -> None:
    """No partial batch response for Amazon MQ: the broker redelivers the whole batch when the invocation
    fails, and after its redeliveries sends the batch to its dead-letter queue. Every message runs on each
    attempt, so a poison message never keeps the ones after it from being handled; each failure is logged
    alone, then `RecordsFailed` names the failed messages, chained to the first failure."""
    import logging

    from lift.errors import RecordsFailed

    app = App()
    seen: list = []

    @app.mq("orders")
    def order(ctx: Context, body: dict) -> None:
        seen.append(body["n"])
        if body["n"] in (2, 4):
            raise ValueError(f"order {body['n']} refused")

    build = events.amazon_mq if broker == "activemq" else events.rabbitmq
    event = build("orders", [{"n": n} for n in range(1, 6)])
    ids = (
        [m["messageID"] for m in event["messages"]]
        if broker == "activemq"
        else [m["basicProperties"]["messageId"] for m in event["rmqMessagesByQueue"]["orders::/"]]
    )
    caplog.set_level(logging.INFO, logger="lift")
    with pytest.raises(RecordsFailed) as raised:
        app.handler(event, lambda_context(aws_request_id="req-mq"))
    assert seen == [1, 2, 3, 4, 5]  # the messages after the first failure ran too
    assert raised.value.record_ids == [ids[1], ids[3]]
    assert str(raised.value).startswith("2 of 5 mq records failed")
    assert isinstance(raised.value.__cause__, ValueError) and str(raised.value.__cause__) == "order 2 refused"
    errors = [r.getMessage() for r in caplog.records if r.name == "lift" and r.levelname == "ERROR"]
    assert len(errors) == 2 and all("req-mq" in line for line in errors)
    assert ids[1] in errors[0] and ids[3] in errors[1]
    seen.clear()  # a batch with no failure answers None, every message run once
    assert app.handler(build("orders", [{"n": 1}, {"n": 3}]), lambda_context()) is None and seen == [1, 3]


def test_an_amazon_mq_message_for_a_queue_without_a_handler_runs_no_message() -> None:
    """A RabbitMQ batch may hold several queues: one without a handler is a configuration error that fails
    the invocation before any message runs (each attempt then does the same, and nothing runs twice)."""
    from lift.errors import UnmatchedEvent

    app = App()
    seen: list = []
    app.mq("orders")(lambda body: seen.append(body))
    event = events.rabbitmq("orders", [{"n": 1}])
    event["rmqMessagesByQueue"].update(events.rabbitmq("audit", [{"n": 2}])["rmqMessagesByQueue"])
    with pytest.raises(UnmatchedEvent):
        app.handler(event, lambda_context())
    assert seen == []


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
