"""Hostile mutations of every real AWS sample event, through every trigger.

Each sample of the corpus (../shared/corpus/events, read in place; the module skips without it) is
sent to one App with a handler for every trigger, then deterministic single-field mutations of it:
every field at any depth (dict keys, and the first three items of each list) in turn removed, set to
null, to a value of another JSON type (number, text, list, object, bool), to an empty text, list or
object, to a 1 MB text, to text no UTF-8 can carry (a lone surrogate) or to hostile text (bad
percent-escapes, `/../..`, a NUL). All thirteen on every field is about 190k calls, so each field
gets three of them (PER_FIELD): the kinds at indexes `(3 * field number + j + crc32(sample name)) %
13`, j = 0..2. Consecutive fields get the next kinds of the cycle
and each sample starts elsewhere in it, so every kind meets every kind of field across the corpus
(about 45k calls, the same on every run; `LIFT_MUTATIONS_PER_FIELD=13` runs every kind on every field).
Then the hand-picked hostile cases: bodies that are not UTF-8 or nest 10,000 levels, duplicate and
oddly cased headers, multi-value headers that disagree with the single ones, a record that is not an
object or has no id, a batch of 10,000 records.

The contract each answer is held to (DESIGN.md, docs/event-sources.md):
- HTTP (REST, HTTP API, ALB, function URL, VPC Lattice): a dict of the service's shape (statusCode
  int, headers of text, body text, isBase64Encoded bool), below 500, an error body of the error
  contract, no ERROR log line for a client's mistake and a WARNING with the request id for a
  malformed event; nothing escapes `app.handler`.
- Batches (SQS, Kinesis, DynamoDB streams): `{"batchItemFailures": [...]}`, never an exception; each
  record runs at most once, every record not reported ran exactly once, the mutated record is the
  only one reported (but for its shard's or FIFO group's later records, and "" for a record
  without an id, which retries the batch as documented).
- Other triggers: they return, or raise a Lift error (`LiftError`: `malformed_event`,
  `UnmatchedEvent`; or `RecordsFailed` of Lift errors), never a KeyError/TypeError/... from Lift.
- Authorizers: a field the handler reads, of a type API Gateway never sends, is denied (the handler
  here allows everyone); nothing malformed is allowed.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from lift import App, Context
from lift.errors import LiftError, RecordsFailed
from lift.sources import source_of
from lift.testing import lambda_context

CORPUS = Path("/work/shared/corpus/events")
pytestmark = pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")

HTTP = {"rest", "http", "alb", "url", "lattice"}
BATCH = {"sqs", "kinesis", "dynamodb"}
HUGE = "x" * (1 << 20)
KINDS = (
    "remove",
    "null",
    "number",
    "text",
    "list",
    "object",
    "bool",
    "empty text",
    "empty list",
    "empty object",
    "1 MB",
    "lone surrogate",
    "hostile text",
)
VALUES: dict[str, Any] = {
    "null": None,
    "number": 7,
    "text": "x",
    "list": [1],
    "object": {"x": 1},
    "bool": True,
    "empty text": "",
    "empty list": [],
    "empty object": {},
    "1 MB": HUGE,
    "lone surrogate": "a\udcffb",  # what a JSON "\\udcff" escape decodes to: text no UTF-8 can carry
    "hostile text": "%ZZ%C3%28/../..\x00",  # bad percent-escapes, a path climbing out, a NUL
}
COGNITO = ("pre_sign_up", "post_confirmation", "pre_authentication", "post_authentication", "pre_token_generation",
           "define_auth_challenge", "create_auth_challenge", "verify_auth_challenge_response", "custom_message",
           "user_migration", "custom_email_sender", "custom_sms_sender", "inbound_federation")  # fmt: skip
# the fields an authorizer's handler reads (AuthorizerRequest): one of another type must be denied
AUTHORIZER_READS = {
    ("type",), ("version",), ("authorizationToken",), ("identitySource",), ("headers",), ("multiValueHeaders",),
    ("queryStringParameters",), ("multiValueQueryStringParameters",), ("pathParameters",), ("stageVariables",),
    ("cookies",), ("httpMethod",), ("path",), ("rawPath",), ("rawQueryString",), ("routeKey",),
    ("requestContext", "apiId"), ("requestContext", "stage"), ("requestContext", "requestId"),
    ("requestContext", "connectionId"), ("requestContext", "routeKey"), ("requestContext", "http"),
    ("requestContext", "identity"),
}  # fmt: skip


def _samples() -> list[tuple[str, str]]:
    if not CORPUS.is_dir():
        return []
    return [(str(p.relative_to(CORPUS)), p.read_text(encoding="utf-8-sig")) for p in sorted(CORPUS.rglob("*.json"))]


SAMPLES = _samples()


# -- the app: a handler for every trigger, recording which raw record each call got ----------------------
class Recorder:
    def __init__(self) -> None:
        self.ran: list[int] = []  # id() of each record's raw dict, once per handler call

        def record(ctx: Context, body: Any = None) -> None:
            self.ran.append(id(ctx.record.raw) if ctx.record is not None else 0)

        self.handler = record


@pytest.fixture(scope="module")
def server():
    from tests.sources.recording_server import RecordingServer

    server = RecordingServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(server) -> tuple[App, Recorder]:
    import boto3
    from botocore.config import Config

    app, recorder = App(name="mutations"), Recorder()
    config = Config(retries={"max_attempts": 1}, inject_host_prefix=False)
    for service in ("codepipeline", "s3"):  # their answers go to a local server, never to AWS
        client = boto3.client(
            service, endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x",
            aws_secret_access_key="x", config=config,
        )  # fmt: skip
        setattr(app, "codepipeline_client" if service == "codepipeline" else "s3_object_lambda_client", client)

    @app.route("/{path+}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    def echo(ctx: Context, path: str) -> dict:  # reads every part of the request
        request = ctx.request
        return {
            "query": request.query.to_dict(),
            "headers": dict(request.headers.items()),
            "cookies": request.cookies,
            "ip": request.source_ip,
            "url": request.url,
            "text": request.text,
        }

    @app.route("/", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    def root(ctx: Context) -> dict:
        return {"length": len(ctx.body), "headers": dict(ctx.request.headers.items())}

    for register in (app.sqs, app.kinesis, app.dynamodb_stream, app.sns, app.s3, app.schedule):
        register("*")(recorder.handler)
    app.eventbridge()(recorder.handler)
    for route_key in ("$connect", "$disconnect", "$default"):
        app.websocket(route_key)(recorder.handler)
    app.authorizer()(lambda ctx: "user-1")  # allows everyone: only Lift can deny
    for trigger in COGNITO:
        app.cognito(trigger)(lambda ctx: None)
    app.firehose()(lambda ctx: None)
    app.kafka()(lambda ctx, body: None)
    app.cloudwatch_logs()(lambda ctx, body: None)
    app.ses()(lambda ctx: None)
    app.mq()(lambda ctx, body: None)
    app.appsync()(lambda ctx, body: {"ok": True})
    app.appsync_authorizer()(lambda ctx: True)
    app.bedrock_agent()(lambda ctx, body: {"ok": True})
    app.s3_batch()(lambda ctx, body: "done")
    app.secrets_rotation()(lambda ctx: None)
    app.custom_resource()(lambda ctx, body: {"Done": "yes"})
    app.codepipeline()(lambda ctx: None)
    app.s3_object_lambda()(lambda ctx, body: "changed")
    app.invoke(lambda body: "invoked")
    return app, recorder


def _local(event: Any, server) -> Any:
    """The sample with its presigned URLs (custom resource answer, S3 Object Lambda input) pointed here."""
    if isinstance(event, dict):
        if isinstance(event.get("ResponseURL"), str):
            event["ResponseURL"] = f"{server.url}/cfn"
        context = event.get("getObjectContext")
        if isinstance(context, dict) and isinstance(context.get("inputS3Url"), str):
            context["inputS3Url"] = f"{server.url}/object"
    return event


# -- mutations ----------------------------------------------------------------------------------------------
def fields(value: Any, prefix: tuple = ()) -> list[tuple]:
    """The path of every field: dict keys at any depth, and the first three items of each list."""
    found: list[tuple] = []
    if type(value) is dict:
        for key, child in value.items():
            found.append((*prefix, key))
            found += fields(child, (*prefix, key))
    elif type(value) is list:
        for i, child in enumerate(value[:3]):
            found.append((*prefix, i))
            found += fields(child, (*prefix, i))
    return found


def mutate(event: Any, path: tuple, kind: str) -> Any:
    """`event` with the field at `path` removed or replaced by the value of `kind` (in place)."""
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    if kind == "remove":
        del parent[path[-1]]
    else:
        value = VALUES[kind]
        parent[path[-1]] = copy.deepcopy(value) if type(value) in (list, dict) else value
    return event


# kinds of mutation each field gets (of the 13): see the module docstring; 13 runs them all
PER_FIELD = int(os.environ.get("LIFT_MUTATIONS_PER_FIELD", "3"))


def mutations(name: str, event: Any) -> list[tuple[tuple, str]]:
    """PER_FIELD kinds per field, deterministic: see the module docstring."""
    start = zlib.crc32(name.encode())
    return [
        (path, KINDS[(i * PER_FIELD + j + start) % len(KINDS)])
        for i, path in enumerate(fields(event))
        for j in range(PER_FIELD)
    ]


# -- the contract -------------------------------------------------------------------------------------------
class LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_lines():
    handler, logger = LogLines(), logging.getLogger("lift")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def http_problem(out: Any, source: str, logs: list[logging.LogRecord], request_id: str) -> str | None:
    if type(out) is not dict or type(out.get("statusCode")) is not int:
        return f"not a response: {str(out)[:200]}"
    if type(out.get("body")) is not str or type(out.get("isBase64Encoded")) is not bool:
        return f"body/isBase64Encoded of the wrong type: {str(out)[:200]}"
    headers = out.get("headers") or {}
    if type(headers) is not dict or any(type(k) is not str or type(v) is not str for k, v in headers.items()):
        return f"headers not text: {headers!r}"[:300]
    status = out["statusCode"]
    if status == 500 and source == "alb" and '"code":"response_too_large"' in out["body"]:
        return None  # the echo answers a 1 MB value back: over an ALB's 1 MB limit, the documented clear 500
    if status >= 500:
        return f"{status}: {out['body'][:200]}"
    if source in ("alb", "lattice") and not out.get("statusDescription", "").startswith(str(status)):
        return f"statusDescription {out.get('statusDescription')!r}"
    if status >= 400 and out["body"] and not out.get("isBase64Encoded"):
        error = json.loads(out["body"]).get("error")
        if type(error) is not dict or set(error) != {"code", "message", "request_id", "details"}:
            return f"error body not the contract: {out['body'][:200]}"
        if error["code"] == "malformed_event" and not any(
            r.levelno == logging.WARNING and request_id in r.getMessage() for r in logs
        ):
            return "malformed_event without a WARNING line naming the request id"
    if any(r.levelno >= logging.ERROR for r in logs):
        return f"ERROR logged for a {status}: {logs[-1].getMessage()[:200]}"
    return None


def batch_problem(
    out: Any, exc: BaseException | None, source: str, raws: list, ran: list[int], mutated: int | None
) -> str | None:
    if exc is not None:
        return f"raised {type(exc).__name__}: {exc}"[:300]
    # (a tumbling window's batch answers its state too: a dict)
    if type(out) is not dict or set(out) - {"state"} != {"batchItemFailures"} or type(out.get("state", {})) is not dict:
        return f"not a batch answer: {str(out)[:200]}"
    reported = [f["itemIdentifier"] for f in out["batchItemFailures"]]
    counts = {i: ran.count(id(raw)) for i, raw in enumerate(raws)}
    if any(n > 1 for n in counts.values()):
        return f"a record ran twice: {counts}"
    ids = [_id_of(source, raw) for raw in raws]
    if not all(r == "" or (type(r) is str and r in ids) for r in reported):
        return f"reported ids no record has: {reported} (records: {ids})"
    ordered = source != "sqs" or any(
        type(raw) is dict and type(raw.get("attributes")) is dict and raw["attributes"].get("MessageGroupId")
        for raw in raws
    )
    for i in range(len(raws)):
        if counts[i] == 0 and ids[i] not in reported and "" not in reported:
            return f"record {i} neither ran nor was reported: {reported}"
        if i == mutated or ids[i] not in reported:
            continue
        # only the mutated record is reported (ordered: and its later ones; a shared id cannot tell)
        if (mutated is None or not ordered or i < mutated) and (mutated is None or ids.count(ids[i]) == 1):
            return f"record {i} ({ids[i]}) reported though only record {mutated} was changed: {reported}"
    return None


def _id_of(source: str, raw: Any) -> Any:
    try:
        if source == "sqs":
            return raw["messageId"]
        if source == "kinesis":
            return raw["kinesis"]["sequenceNumber"]
        return raw["dynamodb"]["SequenceNumber"]
    except (KeyError, TypeError, IndexError):
        return None


def other_problem(out: Any, exc: BaseException | None, source: str, event: Any, path: tuple, kind: str) -> str | None:
    if exc is not None:
        if isinstance(exc, LiftError) or type(exc).__name__ == "ClientError":  # (or the AWS API's own answer)
            return None
        if isinstance(exc, RecordsFailed) and all(isinstance(e, LiftError) for _, e in exc.failures):
            return None
        return f"raised {type(exc).__name__}: {exc}"[:300]
    if source == "authorizer":
        allowed = out.get("isAuthorized") is True or any(
            s.get("Effect") == "Allow" for s in (out.get("policyDocument") or {}).get("Statement", [])
        )
        if allowed and path in AUTHORIZER_READS and kind not in ("remove", "null") and _wrong_type(path, kind, event):
            return f"allowed with {path} set to a {kind}"
    return None


def _wrong_type(path: tuple, kind: str, original: Any) -> bool:
    value = original
    for key in path:
        value = value[key]
    new = VALUES[kind]
    if path == ("identitySource",):  # text (REST) or a list of text (HTTP API)
        return not (type(new) is str or (type(new) is list and all(type(v) is str for v in new)))
    return type(new) is not type(value) and not (type(new) is int and type(value) is float)


def check(app: App, recorder: Recorder, event: Any, original: Any, path: tuple | None, kind: str, logs) -> str | None:
    """Send `event` (a mutation of `original`) and return what breaks the contract, or None."""
    source = source_of(event)
    raws = list(event["Records"]) if source in BATCH else []
    recorder.ran.clear()
    logs.records.clear()
    context = lambda_context()
    out = exc = None
    try:
        out = app.handler(event, context)
    except Exception as e:  # judged below, by source
        exc = e
    if source in HTTP:
        if exc is not None:
            return f"raised {type(exc).__name__}: {exc}"[:300]
        return http_problem(out, source, logs.records, context.aws_request_id)
    if source in BATCH:
        mutated = path[1] if path and len(path) > 1 and path[0] == "Records" else None
        return batch_problem(out, exc, source, raws, recorder.ran, mutated)
    if source == "websocket":
        if exc is not None and not isinstance(exc, LiftError):
            return f"raised {type(exc).__name__}: {exc}"[:300]
        if exc is None and (
            type(out) is not dict or type(out.get("statusCode")) is not int or out["statusCode"] >= 500
        ):
            return f"answer {str(out)[:200]}"
        return None
    return other_problem(out, exc, source, original, path or (), kind)


def test_the_corpus_is_there() -> None:
    assert len(SAMPLES) >= 480


@pytest.mark.filterwarnings("error:NotImplemented should not be used:DeprecationWarning")  # a matcher's __eq__
def test_every_single_field_mutation_of_every_real_sample_keeps_the_contract(app, server, log_lines) -> None:
    app, recorder = app
    broken: dict[str, str] = {}
    count = 0
    for name, text in SAMPLES:
        original = _local(json.loads(text), server)
        assert check(app, recorder, copy.deepcopy(original), original, None, "none", log_lines) is None, name
        for path, kind in mutations(name, original):
            event = mutate(_local(json.loads(text), server), path, kind)
            count += 1
            problem = check(app, recorder, event, original, path, kind, log_lines)
            if problem is not None:
                broken[f"{name} {path} -> {kind} ({source_of(event)})"] = problem
    assert count > 10_000
    assert broken == {}, _report(broken, 15)


# -- the defects these mutations found, each kept as a named case -------------------------------------------
PT = "powertools-lambda-python/"
DEFECTS = [
    # (id, sample, path, kind, what Lift must do now)
    ("sqs-arn-number", PT + "sqsEvent.json", ("Records", 0, "eventSourceARN"), "number", "every record runs"),
    ("sqs-arn-list", PT + "sqsEvent.json", ("Records", 0, "eventSourceARN"), "list", "every record runs"),
    ("sqs-last-record-null", PT + "sqsEvent.json", ("Records", 1), "null", "the others run, '' reported"),
    ("sqs-last-record-text", PT + "sqsEvent.json", ("Records", 1), "text", "the others run, '' reported"),
    ("kinesis-arn-bool", PT + "kinesisStreamEvent.json", ("Records", 0, "eventSourceARN"), "bool", "every record runs"),
    ("kinesis-record-list", PT + "kinesisStreamEvent.json", ("Records", 1), "list", "the others run, '' reported"),
    ("dynamodb-arn-object", PT + "dynamoStreamEvent.json", ("Records", 1, "eventSourceARN"), "object",
     "every record runs"),
    ("dynamodb-record-number", PT + "dynamoStreamEvent.json", ("Records", 1), "number", "the others run, '' reported"),
    ("eventbridge-detail-type-list", PT + "eventBridgeEvent.json", ("detail-type",), "list", "malformed_event"),
    ("eventbridge-source-object", PT + "eventBridgeEvent.json", ("source",), "object", "malformed_event"),
    ("cognito-trigger-number", PT + "cognitoPreSignUpEvent.json", ("triggerSource",), "number", "malformed_event"),
    ("firehose-records-text", PT + "kinesisFirehosePutEvent.json", ("records",), "text", "malformed_event"),
    ("firehose-record-null", PT + "kinesisFirehosePutEvent.json", ("records", 0), "null", "malformed_event"),
    ("firehose-stream-arn-number", PT + "kinesisFirehosePutEvent.json", ("deliveryStreamArn",), "number",
     "malformed_event"),
    ("mq-messages-text", PT + "activeMQEvent.json", ("messages",), "text", "malformed_event"),
    ("rabbitmq-queues-list", PT + "rabbitMQEvent.json", ("rmqMessagesByQueue",), "list", "malformed_event"),
    ("mq-messages-1mb-text", PT + "activeMQEvent.json", ("messages",), "1 MB", "malformed_event"),
    ("rabbitmq-queue-1mb-text", PT + "rabbitMQEvent.json", ("rmqMessagesByQueue", "pizzaQueue::/"), "1 MB",
     "malformed_event"),
    ("ses-recipients-1mb-text", PT + "sesEvent.json", ("Records", 0, "ses", "receipt", "recipients"), "1 MB",
     "malformed_event"),
    ("url-cookies-1mb-text", "aws-lambda-go/lambda-urls-request.json", ("cookies",), "1 MB",
     "answered 200, one cookie header"),
    ("kafka-records-list", PT + "kafkaEventMsk.json", ("records",), "list", "malformed_event"),
    ("kafka-partition-object", PT + "kafkaEventMsk.json", ("records", "mytopic-0"), "object", "malformed_event"),
    ("ses-recipient-number", PT + "sesEvent.json", ("Records", 0, "ses", "receipt", "recipients", 0), "number",
     "malformed_event"),
    ("ses-receipt-text", PT + "sesEvent.json", ("Records", 0, "ses", "receipt"), "text", "malformed_event"),
    ("s3-batch-tasks-text", PT + "s3BatchOperationEventSchemaV1.json", ("tasks",), "text", "malformed_event"),
    ("secrets-rotation-secret-number", PT + "secretsManagerEvent.json", ("SecretId",), "number", "malformed_event"),
    ("cloudwatch-logs-data-text", PT + "cloudWatchLogEvent.json", ("awslogs", "data"), "text", "malformed_event"),
    ("cloudwatch-logs-data-empty", PT + "cloudWatchLogEvent.json", ("awslogs", "data"), "empty text",
     "malformed_event"),
    ("cloudwatch-logs-data-null", PT + "cloudWatchLogEvent.json", ("awslogs", "data"), "null", "malformed_event"),
    ("codepipeline-job-id-number", PT + "codePipelineEvent.json", ("CodePipeline.job", "id"), "number",
     "malformed_event, nothing sent"),
    ("codepipeline-job-null", PT + "codePipelineEvent.json", ("CodePipeline.job",), "null",
     "malformed_event, nothing sent"),
    ("object-lambda-context-null", PT + "s3ObjectEventIAMUser.json", ("getObjectContext",), "null",
     "malformed_event, nothing sent"),
    ("object-lambda-route-number", PT + "s3ObjectEventIAMUser.json", ("getObjectContext", "outputRoute"), "number",
     "malformed_event, nothing sent"),
    ("object-lambda-route-not-a-label", PT + "s3ObjectEventIAMUser.json", ("getObjectContext", "outputRoute"),
     "hostile text", "malformed_event, nothing sent"),
    ("object-lambda-access-point-number", PT + "s3ObjectEventIAMUser.json", ("configuration", "accessPointArn"),
     "number", "malformed_event"),
    ("bedrock-request-body-number", PT + "bedrockAgentPostEvent.json", ("requestBody",), "number", "answered 200"),
    ("bedrock-property-name-list", PT + "bedrockAgentPostEvent.json",
     ("requestBody", "content", "application/json", "properties", 0, "name"), "list", "answered 200"),
    ("websocket-route-key-list", "aws-lambda-go/apigw-websocket-request-disconnect.json",
     ("requestContext", "routeKey"), "list", "400 malformed_event"),
    ("websocket-route-key-number", "aws-lambda-go/apigw-websocket-request-disconnect.json",
     ("requestContext", "routeKey"), "number", "400 malformed_event"),
    ("lattice-header-empty-list", PT + "vpcLatticeV2EventWithHeaders.json", ("headers", "accept"), "empty list",
     "answered 200, no such header"),
    ("rest-multi-query-1mb-text", PT + "apiGatewayProxyEvent.json", ("multiValueQueryStringParameters", "parameter1"),
     "1 MB", "answered 200, one value"),
    ("rest-multi-header-1mb-text", PT + "apiGatewayProxyEvent.json", ("multiValueHeaders", "Header1"), "1 MB",
     "answered 200, one value"),
    ("authorizer-token-number", PT + "apiGatewayAuthorizerTokenEvent.json", ("authorizationToken",), "number",
     "denied"),
    ("authorizer-v2-headers-list", PT + "apiGatewayAuthorizerV2Event.json", ("headers",), "list", "denied"),
    ("authorizer-v2-cookies-number", PT + "apiGatewayAuthorizerV2Event.json", ("cookies",), "number", "denied"),
    ("authorizer-request-http-text", PT + "apiGatewayAuthorizerV2Event.json", ("requestContext", "http"), "text",
     "denied"),
]  # fmt: skip


def _report(broken: dict[str, str], first: int) -> str:
    """The failure message: ASCII (a lone surrogate in an event must not break pytest-xdist's report)
    and each problem cut to 2,000 characters (a problem can quote a 6 MB event)."""
    shown = {name: problem[:2000] for name, problem in list(broken.items())[:first]}
    return ascii(f"{len(broken)} broken, e.g. {shown}")


def _sample(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8-sig"))


@pytest.mark.parametrize(("sample", "path", "kind", "expected"), [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_each_defect_the_mutations_found_stays_fixed(app, server, log_lines, sample, path, kind, expected) -> None:
    app, recorder = app
    original = _local(_sample(sample), server)
    event = mutate(copy.deepcopy(original), path, kind)
    raws = list(event["Records"]) if isinstance(event.get("Records"), list) else []
    recorder.ran.clear()
    server.requests.clear()
    context = lambda_context()
    if expected.startswith("malformed_event"):
        with pytest.raises(LiftError) as info:
            app.handler(event, context)
        assert (info.value.status, info.value.code) == (400, "malformed_event")
        warnings = [r.getMessage() for r in log_lines.records if r.levelno == logging.WARNING]
        assert any(m.startswith("Malformed") and context.aws_request_id in m for m in warnings), warnings
        if expected.endswith("nothing sent"):
            assert server.requests == []  # no job result or object answer built from a malformed event
        return
    out = app.handler(event, context)
    if expected == "every record runs":
        assert out == {"batchItemFailures": []}
        assert sorted(recorder.ran) == sorted(id(raw) for raw in raws)
    elif expected == "the others run, '' reported":
        assert out == {"batchItemFailures": [{"itemIdentifier": ""}]}  # Lambda retries the batch, as documented
        assert recorder.ran == [id(raw) for raw in raws if type(raw) is dict]
    elif expected == "answered 200":
        assert out["response"]["httpStatusCode"] == 200
    elif expected == "denied":
        assert out.get("isAuthorized") is False or out["policyDocument"]["Statement"][0]["Effect"] == "Deny"
        assert any("Malformed authorizer event" in r.getMessage() for r in log_lines.records)
    elif expected == "400 malformed_event":
        assert out["statusCode"] == 400 and json.loads(out["body"])["error"]["code"] == "malformed_event"
        assert recorder.ran == []  # no handler ran for a route key API Gateway never sends
    else:
        assert out["statusCode"] == 200, out
        answer = json.loads(out["body"])
        if expected == "answered 200, one cookie header":
            assert len(answer["cookies"]) <= 1  # never a million one-letter cookies
        elif expected == "answered 200, no such header":
            assert "accept" not in answer["headers"]
        elif path[0] == "multiValueQueryStringParameters":
            assert answer["query"]["parameter1"] == [HUGE]  # one value, never a million characters
        else:
            assert answer["headers"]["header1"] == HUGE


# -- hand-picked hostile input through every real HTTP sample ----------------------------------------------
class Item(msgspec.Struct):
    name: str


def _typed_app() -> App:
    app = App(name="hostile-bodies")

    @app.post("/typed", status=201)
    def typed(body: Item) -> dict:
        return {"name": body.name}

    @app.post("/json")
    def parsed(ctx: Context) -> dict:
        return {"json": ctx.request.json(), "headers": dict(ctx.request.headers.items())}

    return app


TYPED = _typed_app()
HTTP_SAMPLES = [(name, text) for name, text in SAMPLES if source_of(json.loads(text)) in HTTP]


def retarget(event: dict, path: str, body: str, b64: bool = False) -> dict:
    """The sample made a POST of `body` to `path` (every field its service sends kept as it was)."""
    source = source_of(event)
    event["body"] = body
    if source in ("rest", "alb"):
        event["httpMethod"], event["path"] = "POST", path
        if source == "rest":
            event["resource"], event["pathParameters"] = path, None
    elif source in ("http", "url"):
        event["rawPath"], event["routeKey"], event["pathParameters"] = path, "$default", None
        event["requestContext"]["routeKey"] = "$default"
        event["requestContext"]["http"].update(method="POST", path=path)
    else:  # VPC Lattice v1 (snake_case) and v2
        event["method"] = "POST"
        event["raw_path" if "raw_path" in event else "path"] = path
    event["is_base64_encoded" if "is_base64_encoded" in event else "isBase64Encoded"] = b64
    return event


DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000  # 10,000 levels
DEEP_ARRAY = "[" * 10_000 + "]" * 10_000
HOSTILE_BODIES = {  # body, isBase64Encoded
    "valid": ('{"name": "x"}', False),
    "invalid UTF-8 in base64": (base64.b64encode(b'{"name": "\xff\xfe\xfd"}').decode(), True),
    "a UTF-8 encoded lone surrogate in base64": (base64.b64encode(b'{"name": "\xed\xb3\xbf"}').decode(), True),
    "an escaped lone surrogate": ('{"name": "\\udcff"}', False),
    "a lone surrogate in the event's text": ('{"name": "\udcff"}', False),
    "not base64": ("!!!not base64!!!", True),
    "an object 10,000 levels deep": (DEEP_OBJECT, False),
    "an array 10,000 levels deep": (DEEP_ARRAY, False),
    "an object 10,000 levels deep in base64": (base64.b64encode(DEEP_OBJECT.encode()).decode(), True),
}


@pytest.mark.parametrize("route", ["/typed", "/json"])
@pytest.mark.parametrize("body", list(HOSTILE_BODIES), ids=list(HOSTILE_BODIES))
def test_hostile_bodies_through_every_real_http_sample_are_4xx_never_500(route, body, log_lines) -> None:
    text, b64 = HOSTILE_BODIES[body]
    broken = {}
    for name, sample in HTTP_SAMPLES:
        event = retarget(json.loads(sample), route, text, b64)
        source = source_of(event)
        log_lines.records.clear()
        context = lambda_context()
        out = TYPED.handler(event, context)
        problem = http_problem(out, source, log_lines.records, context.aws_request_id)
        if problem is None and (out["statusCode"] < 400) != (body == "valid"):
            problem = f"answered {out['statusCode']}: {out['body'][:200]}"
        if problem is not None:
            broken[name] = problem
    assert len(HTTP_SAMPLES) >= 150
    assert broken == {}


HEADER_CASES = {
    "duplicate names in three casings": (
        {"content-type": "application/json", "CONTENT-TYPE": "text/plain", "Content-Type": "application/json"},
        None,
    ),
    "oddly cased names": ({"cOnTeNt-TyPe": "application/json", "X-FoRwArDeD-FoR": "1.2.3.4, 5.6.7.8"}, None),
    "multi-value headers disagreeing with the single ones": (
        {"Content-Type": "application/json", "X-Tag": "one"},
        {"Content-Type": ["text/plain"], "X-Tag": ["two", "three"], "Only-Multi": ["m"]},
    ),
    "a header only in the multi-value map, with no values": ({"Content-Type": "application/json"}, {"X-Empty": []}),
}


@pytest.mark.parametrize("case", list(HEADER_CASES), ids=list(HEADER_CASES))
def test_odd_headers_through_every_real_http_sample_get_a_well_formed_answer(case, log_lines) -> None:
    single, multi = HEADER_CASES[case]
    broken = {}
    for name, sample in HTTP_SAMPLES:
        event = retarget(json.loads(sample), "/json", '{"name": "x"}')
        event["headers"] = dict(single)
        if "multiValueHeaders" in event or multi is not None:
            event["multiValueHeaders"] = copy.deepcopy(multi) if multi is not None else {}
        log_lines.records.clear()
        context = lambda_context()
        out = TYPED.handler(event, context)
        problem = http_problem(out, source_of(event), log_lines.records, context.aws_request_id)
        if problem is None and out["statusCode"] == 200:
            headers = json.loads(out["body"])["headers"]
            if any(k != k.lower() for k in headers) or headers.get("content-type") not in (
                "application/json", "text/plain", None,  # (ALB reads only multiValueHeaders when it has them)
            ):  # fmt: skip
                problem = f"headers read as {headers}"
        if problem is not None:
            broken[name] = problem
    assert broken == {}


# -- records: one bad record in a batch of 10,000 -----------------------------------------------------------
class Order(msgspec.Struct):
    order_id: str


def _batch_app(seen: list) -> App:
    app = App(name="big-batches")

    @app.sqs("*")
    def order(body: Order) -> None:
        seen.append(body.order_id)

    app.kinesis("*")(lambda ctx, body: seen.append(ctx.record.sequence_number))
    app.dynamodb_stream("*")(lambda ctx, body: seen.append(ctx.record.sequence_number))
    return app


@pytest.mark.timeout(90)  # bounded: 10,000 records must never make the batch hang
@pytest.mark.parametrize("source", ["sqs", "kinesis", "dynamodb"])
def test_a_batch_of_10000_real_records_with_one_hostile_record(source, log_lines) -> None:
    sample = {
        "sqs": PT + "sqsEvent.json",
        "kinesis": PT + "kinesisStreamEvent.json",
        "dynamodb": PT + "dynamoStreamEvent.json",
    }[source]
    template = _sample(sample)["Records"][0]
    records = []
    for i in range(10_000):
        record = copy.deepcopy(template)
        if source == "sqs":
            record["messageId"], record["body"] = f"m-{i}", json.dumps({"order_id": str(i)})
        elif source == "kinesis":
            record["kinesis"]["sequenceNumber"] = f"{i:08d}"
        else:
            record["dynamodb"]["SequenceNumber"] = f"{i:08d}"
        records.append(record)
    bad = 5_000
    if source == "sqs":
        records[bad]["body"] = '{"order_id":' * 10_000 + '"x"' + "}" * 10_000  # nests past the parser's limit
    elif source == "kinesis":
        records[bad]["kinesis"]["data"] = "!!! not base64 !!!"
    else:
        records[bad]["dynamodb"]["NewImage"] = {"id": {"X": 1}}  # not DynamoDB JSON
    seen: list = []
    out = _batch_app(seen).handler({"Records": records}, lambda_context())
    ids = [_id_of(source, r) for r in records]
    reported = [f["itemIdentifier"] for f in out["batchItemFailures"]]
    if source == "sqs":
        assert reported == [ids[bad]]  # a standard queue: that message alone
        assert seen == [str(i) for i in range(10_000) if i != bad]
    else:  # a stream: Lambda checkpoints at the failure, so it and its shard's later records are reported
        assert reported == ids[bad:]
        assert seen == ids[:bad]
    assert [r.levelno for r in log_lines.records].count(logging.ERROR) == 0  # the record's fault: a WARNING


@pytest.mark.parametrize("source", ["sqs", "kinesis", "dynamodb"])
def test_a_failing_record_without_an_id_fails_the_batch_as_documented(source) -> None:
    """A record AWS never sends (no messageId/sequenceNumber) cannot be named: "" makes Lambda retry the batch."""
    names = {"sqs": "sqsEvent.json", "kinesis": "kinesisStreamEvent.json", "dynamodb": "dynamoStreamEvent.json"}
    event = _sample(PT + names[source])
    first, second = event["Records"][0], event["Records"][1]
    if source == "sqs":
        first["body"] = '{"order_id": "1"}'
        del second["messageId"]
        second["body"] = "[" * 10_000 + "]" * 10_000
    elif source == "kinesis":
        del second["kinesis"]["sequenceNumber"]
        second["kinesis"]["data"] = "!!!"
    else:
        del second["dynamodb"]["SequenceNumber"]
        second["dynamodb"]["NewImage"] = {"id": {"X": 1}}
    seen: list = []
    out = _batch_app(seen).handler(event, lambda_context())
    assert out == {"batchItemFailures": [{"itemIdentifier": ""}]}
    assert seen == (["1"] if source == "sqs" else [_id_of(source, first)])  # the good record ran, once


def _value_at(event: Any, path: tuple) -> Any:
    for key in path:
        event = event[key]
    return event


def test_a_1mb_text_where_aws_sends_a_list_or_object_costs_memory_in_proportion(app, server) -> None:
    """A 1 MB text walked character by character is a million records, cookies or values (over 50 MB):
    in place of every list and object of two samples of each source, the peak stays within 16 MB."""
    import tracemalloc

    app, _ = app
    by_source: dict[str, list[str]] = {}
    for _name, text in SAMPLES:
        by_source.setdefault(source_of(json.loads(text)), []).append(text)
    heavy = {}
    for texts in by_source.values():
        for text in texts[:2]:
            original = json.loads(text)
            for path in fields(original):
                if type(_value_at(original, path)) not in (list, dict):
                    continue
                event = mutate(_local(json.loads(text), server), path, "1 MB")
                tracemalloc.start()
                try:
                    app.handler(event, lambda_context())
                except Exception:  # (what it raises is the main test's business)
                    pass
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                if peak > 16 << 20:
                    heavy[f"{source_of(original)} {path}"] = f"{peak >> 20} MB"
    assert heavy == {}


@pytest.mark.parametrize("message_id", [[1], 7, {"x": 1}], ids=["list", "number", "object"])
def test_a_failing_sqs_message_whose_id_is_not_text_is_reported_as_blank(message_id) -> None:
    """Found by two-field mutations (messageId and body): the id went into batchItemFailures as it was
    (`[1]`), an answer Lambda cannot read; now "", as for a missing id (Lambda retries the batch)."""
    event = _sample(PT + "sqsEvent.json")
    first, second = event["Records"][0], event["Records"][1]
    first["body"], second["body"], second["messageId"] = '{"order_id": "1"}', '{"order_id": 5}', message_id
    seen: list = []
    assert _batch_app(seen).handler(event, lambda_context()) == {"batchItemFailures": [{"itemIdentifier": ""}]}
    assert seen == ["1"]


def test_two_fields_mutated_at_once_keep_the_contract(app, server, log_lines) -> None:
    """20 seeded pairs of fields per sample (about 9k events), each pair given two seeded kinds; every
    rule of the single-field test holds but which record a batch reports (two records may change)."""
    import random

    app, recorder = app
    rng = random.Random(7)
    broken = {}
    for name, text in SAMPLES:
        original = _local(json.loads(text), server)
        paths = fields(original)
        for _ in range(20 if len(paths) > 1 else 0):
            first, second = rng.sample(paths, 2)
            kinds = rng.choice(KINDS), rng.choice(KINDS)
            event = _local(json.loads(text), server)
            try:
                mutate(mutate(event, first, kinds[0]), second, kinds[1])
            except (KeyError, IndexError, TypeError):  # the first removed or replaced the second's parent
                continue
            problem = check(app, recorder, event, original, None, "two", log_lines)
            if problem is not None and "reported though only record" not in problem:
                broken[f"{name} {first} -> {kinds[0]}, {second} -> {kinds[1]}"] = problem
    assert broken == {}, _report(broken, 10)
