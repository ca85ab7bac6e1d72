"""One line per event: a failed request or record is one log line with the request id, at the
level of its failure, for every trigger (the real AWS samples of ../shared/corpus/events, read in
place when that folder exists), with or without RequestLogging. Before, RequestLogging's access
line and the core's failure line both reported each failure (two ERROR lines per failed SQS
message, a 500 or a 404), and an auth failure was its WARNING plus the 4xx line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lift import App, Context
from lift.errors import BadRequest
from lift.middleware.auth import jwt_auth
from lift.middleware.logging import RequestLogging
from lift.sources import source_of
from lift.sources.cognito import TRIGGERS as COGNITO_TRIGGERS
from lift.testing import TestClient, events, lambda_context
from observability.emf_spec import log_lines

CORPUS = Path("/work/shared/corpus/events")
_HERE = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "events"
if (_HERE / "SOURCES.md").is_file():
    CORPUS = _HERE
# Triggers whose answer is a call to AWS (a ResponseURL PUT, WriteGetObjectResponse, PutJobResult)
NEEDS_AWS = {"custom_resource", "s3_object_lambda", "codepipeline"}
SERIOUS = {"WARNING", "ERROR", "CRITICAL"}
SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def _samples() -> list[tuple[str, object]]:
    if not (CORPUS / "SOURCES.md").is_file():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8-sig"))
        if source_of(event) not in NEEDS_AWS:
            found.append((str(path.relative_to(CORPUS)), event))
    return found


def failing_app() -> App:
    """Every trigger registered to a handler that fails."""
    app = App("orders")
    app.use(RequestLogging())

    def fail(ctx: Context) -> None:
        raise RuntimeError("the ledger said no")

    for register in (
        app.sqs("*"),
        app.sns("*"),
        app.s3("*"),
        app.eventbridge(),
        app.schedule("*"),
        app.dynamodb_stream("*"),
        app.kinesis("*"),
        app.websocket("$connect"),
        app.websocket("$disconnect"),
        app.websocket("$default"),
        app.firehose(),
        app.kafka(),
        app.cloudwatch_logs(),
        app.ses(),
        app.mq(),
        app.appsync(),
        app.appsync_authorizer(),
        app.bedrock_agent(),
        app.s3_batch(),
        app.secrets_rotation(),
        app.authorizer(),
        *(app.cognito(trigger) for trigger in COGNITO_TRIGGERS),
    ):
        register(fail)
    app.invoke(fail)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

    @app.route("/", methods=methods)
    @app.route("/{path+}", methods=methods)
    def http(ctx: Context) -> None:
        raise RuntimeError("the ledger said no")

    return app


@pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")
def test_each_failure_of_every_real_event_is_one_line_with_the_request_id(capsys):
    app = failing_app()
    wrong = {}
    for name, event in _samples():
        context = lambda_context()
        try:
            app.handler(copy.deepcopy(event), context)
        except Exception:
            pass  # (an asynchronous source's failure raises, so Lambda retries it)
        lines = log_lines(capsys.readouterr().out)
        access = [line for line in lines if line["logger"] == "lift.access"]
        serious = [line for line in lines if line["level"] in SERIOUS]
        problems = []
        if not serious:
            problems.append("no line says it failed")
        # (a stream or FIFO record held back after its lane's failure is its own event: one line each)
        if [line for line in serious if line["logger"] != "lift.access" and " not run: " not in line["message"]]:
            problems.append("a failure line besides the access line")
        if [line for line in lines if line.get("request_id") != context.aws_request_id]:
            problems.append("a line without the request id")
        if [line for line in access if line.get("record_id") and line["level"] not in SERIOUS]:
            problems.append("a failed record's line below WARNING")
        if problems:
            wrong[name] = (problems, [(x["logger"], x["level"], x["message"][:80]) for x in lines])
    assert wrong == {}


def test_a_failed_sqs_message_is_one_error_line_naming_it(capsys):
    app = App("orders")
    app.use(RequestLogging())

    @app.sqs("orders")
    def on_order(ctx: Context, body: str) -> None:
        if body == "bad":
            raise RuntimeError("the ledger said no")
        if body == "invalid":
            raise BadRequest("no amount")

    event = events.sqs("orders", ["good", "bad", "invalid"])
    context = lambda_context()
    TestClient(app).invoke(event, context)
    lines = log_lines(capsys.readouterr().out)
    ids = [record["messageId"] for record in event["Records"]]
    assert [(x["record_id"], x["level"], x["outcome"]) for x in lines] == [
        (ids[0], "INFO", "ok"),
        (ids[1], "ERROR", "error"),
        (ids[2], "WARNING", "error"),
    ]
    failed, rejected = lines[1], lines[2]
    assert failed["message"].startswith(f"sqs record {ids[1]} failed (request_id={context.aws_request_id})")
    assert failed["exception"]["type"] == "RuntimeError" and "the ledger said no" in failed["exception"]["traceback"]
    assert rejected["message"].startswith(f"sqs record {ids[2]} rejected") and "exception" not in rejected


def test_a_record_refused_by_a_middleware_is_one_warning_line(capsys):
    def refuse(ctx: Context, call_next):
        from lift import Response

        return Response({"error": "no"}, status=409)

    app = App("orders")
    app.use(RequestLogging())

    @app.sqs("orders", middleware=[refuse])
    def on_order(ctx: Context, body: str) -> None: ...

    event = events.sqs("orders", ["a"])
    result = TestClient(app).invoke(event, lambda_context())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    (line,) = log_lines(capsys.readouterr().out)  # before: an INFO "processed" line saying ok, and a WARNING
    assert line["level"] == "WARNING" and line["outcome"] == "error" and line["status"] == 409


def logged_app(with_access_log: bool) -> App:
    """An app with RequestLogging, or with Lift's JSON lines only (`configure`)."""
    app = App("orders")
    if with_access_log:
        app.use(RequestLogging())
    else:
        from lift.observability import logging as lift_logging

        lift_logging.configure(force=True)
    return app


@pytest.mark.parametrize("with_access_log", [True, False], ids=["access log", "no access log"])
def test_an_http_failure_is_one_line(with_access_log, capsys):
    app = logged_app(with_access_log)

    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        raise RuntimeError("the ledger said no")

    client = TestClient(app)
    for path, status, level in (("/orders/7", 500, "ERROR"), ("/nowhere", 404, "INFO"), ("/orders/x", 422, "INFO")):
        response = client.get(path)
        assert response.status_code == status
        (line,) = log_lines(capsys.readouterr().out)
        assert line["level"] == level and line["request_id"] == response.json()["error"]["request_id"]
        if status == 500:
            assert line["exception"]["type"] == "RuntimeError"
        if with_access_log:
            assert line["logger"] == "lift.access" and line["status"] == status


@pytest.mark.parametrize("with_access_log", [True, False], ids=["access log", "no access log"])
def test_an_auth_failure_is_one_line_with_its_reason(with_access_log, capsys):
    app = logged_app(with_access_log)
    app.use(jwt_auth(secret=SECRET))

    @app.get("/orders")
    def orders(ctx: Context) -> list:
        return []

    client = TestClient(app)
    for headers, level in (({"Authorization": "Bearer not-a-token"}, "WARNING"), ({}, "INFO")):
        response = client.get("/orders", headers=headers)
        assert response.status_code == 401
        (line,) = log_lines(capsys.readouterr().out)  # before: lift.auth's line and the 401's own
        assert (
            line["level"] == level
            and line["auth_failure"]
            and line["request_id"] == response.json()["error"]["request_id"]
        )


@pytest.mark.parametrize("how", ["access_log=False", "lift.access off"])
def test_without_an_access_line_the_failure_line_is_still_written(how, capsys):
    import logging

    app = App("orders")
    app.use(RequestLogging(access_log=how != "access_log=False"))

    @app.get("/orders")
    def orders(ctx: Context) -> list:
        raise RuntimeError("the ledger said no")

    access = logging.getLogger("lift.access")
    level = access.level
    if how == "lift.access off":
        access.setLevel(logging.CRITICAL)
    try:
        response = TestClient(app).get("/orders")
    finally:
        access.setLevel(level)
    assert response.status_code == 500
    (line,) = log_lines(capsys.readouterr().out)
    assert line["logger"] == "lift" and line["level"] == "ERROR" and line["exception"]["type"] == "RuntimeError"
    from lift.observability import logging as lift_logging

    assert lift_logging.HELD == [0]  # nothing left held
