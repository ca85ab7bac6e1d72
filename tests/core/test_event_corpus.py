"""Lift against the corpus of real AWS sample events (../shared/corpus/events, see its SOURCES.md).

Runs only where that folder exists; the samples are read in place, never copied into the repo.
Every sample is claimed by exactly one documented rule (lift.sources.rules) or by none (then
it reaches @app.invoke unchanged), and App.handler's fast paths agree with the rule table.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lift import App, Context
from lift.errors import RecordsFailed, UnmatchedEvent
from lift.sources import source_of
from lift.sources.cognito import TRIGGERS as COGNITO_TRIGGERS
from lift.sources.rules import RULES, rules_matching
from lift.sources.triggers import TRIGGER_SOURCES
from lift.testing import lambda_context

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "events"
if not CORPUS.is_dir():  # a worktree: the corpus sits next to the repositories' parent
    CORPUS = Path("/work/shared/corpus/events")

pytestmark = pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")


def _samples() -> list[tuple[str, object]]:
    if not CORPUS.is_dir():
        return []
    return [
        (str(path.relative_to(CORPUS)), json.loads(path.read_text(encoding="utf-8-sig")))
        for path in sorted(CORPUS.rglob("*.json"))
    ]


SAMPLES = _samples()


def test_the_corpus_is_there() -> None:
    assert len(SAMPLES) >= 480  # 487 when collected; a shrinking corpus would hide regressions


def test_no_two_rules_claim_the_same_sample() -> None:
    overlaps = {name: found for name, event in SAMPLES if len(found := rules_matching(event)) > 1}
    assert overlaps == {}


def test_source_of_follows_the_rule_table() -> None:
    wrong = {}
    for name, event in SAMPLES:
        matched = rules_matching(event)
        expected = matched[0] if matched else "invoke"
        if source_of(event) != expected:
            wrong[name] = (source_of(event), expected)
    assert wrong == {}


def test_app_handler_dispatches_every_sample_to_the_source_of_its_rule() -> None:
    """The fast paths in App.handler (REST, record batches) agree with source_of."""
    app = App()
    seen: list[str] = []
    for source in {rule.source for rule in RULES} | {"invoke"}:
        app.register_source(source, lambda event, context, source: seen.append(source))
    wrong = {}
    for name, event in SAMPLES:
        seen.clear()
        app.handler(copy.deepcopy(event), lambda_context())
        if seen != [source_of(event)]:
            wrong[name] = (seen[:], source_of(event))
    assert wrong == {}


def test_every_rule_claims_some_real_sample() -> None:
    claimed = {source_of(event) for _, event in SAMPLES}
    assert {rule.source for rule in RULES} - claimed == set()


def test_unclaimed_samples_and_triggers_without_handlers_reach_invoke_unchanged() -> None:
    app = App()
    received: list = []

    @app.invoke
    def anything(body: object) -> str:
        received.append(body)
        return "handled"

    count = 0
    for name, event in SAMPLES:
        if source_of(event) not in {"invoke", *TRIGGER_SOURCES}:
            continue
        received.clear()
        original = copy.deepcopy(event)
        assert app.handler(event, lambda_context()) == "handled", name
        assert received == [original], name
        count += 1
    assert count > 150


def _answering_app() -> App:
    """An app with a plain handler for every trigger, to answer each real sample."""
    app = App()
    app.authorizer()(lambda ctx: "user-1")
    for trigger in ("pre_sign_up", "post_confirmation", "pre_authentication", "post_authentication",
                    "pre_token_generation", "define_auth_challenge", "create_auth_challenge",
                    "verify_auth_challenge_response", "custom_message", "user_migration", "custom_email_sender",
                    "custom_sms_sender", "inbound_federation"):  # fmt: skip
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
    app.route("/{path+}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])(lambda ctx, path: {})
    return app


ANSWERS = {
    "authorizer": lambda out: "policyDocument" in out or "isAuthorized" in out,
    "cognito": lambda out: isinstance(out, dict) and "triggerSource" in out,
    "firehose": lambda out: all(r["result"] == "Ok" for r in out["records"]),
    "kafka": lambda out: out == {"batchItemFailures": []},
    "cloudwatch_logs": lambda out: out is None,
    "lattice": lambda out: out["statusCode"] in (200, 204) and "statusDescription" in out,
    "ses": lambda out: out is None,
    "mq": lambda out: out is None,
    "appsync": lambda out: out == {"ok": True} or (isinstance(out, list) and all(o == {"ok": True} for o in out)),
    "appsync_authorizer": lambda out: out == {"isAuthorized": True, "resolverContext": {}},
    "bedrock_agent": lambda out: out["messageVersion"] == "1.0" and out["response"]["actionGroup"],
    "s3_batch": lambda out: [r["resultCode"] for r in out["results"]] == ["Succeeded"] * len(out["results"]),
    "secrets_rotation": lambda out: out is None,
}


def test_every_claimed_sample_gets_its_services_answer() -> None:
    app = _answering_app()
    wrong = {}
    for name, event in SAMPLES:
        source = source_of(event)
        if source not in ANSWERS:
            continue
        try:
            out = app.handler(copy.deepcopy(event), lambda_context())
        except UnmatchedEvent:
            if source == "cognito" and event["triggerSource"].split("_")[0] not in COGNITO_TRIGGERS.values():
                continue  # SDK fixtures with a placeholder triggerSource ("trigger_source"): no trigger to guess
            wrong[name] = "unmatched"
            continue
        except Exception as exc:  # pragma: no cover - reported below
            wrong[name] = repr(exc)
            continue
        if not ANSWERS[source](out):
            wrong[name] = out
    assert wrong == {}


def test_every_amazon_mq_sample_reaches_the_mq_handler() -> None:
    """AWS's own ActiveMQ example (and aws-lambda-go's) says `"eventSource": "aws:mq"` where the other
    SDKs say `aws:amq`: both went to @app.invoke, as an unknown event, before."""
    app = App()
    seen: list[str] = []
    app.mq()(lambda ctx, body: seen.append(body))
    found = {name: event for name, event in SAMPLES if "mq" in name.lower() and name.endswith(".json")}
    assert len(found) >= 8 and any(event.get("eventSource") == "aws:mq" for event in found.values())
    for name, event in found.items():
        seen.clear()
        assert source_of(event) == "mq", name
        assert app.handler(copy.deepcopy(event), lambda_context()) is None, name
        expected = event.get("messages") or [m for ms in event["rmqMessagesByQueue"].values() for m in ms]
        assert len(seen) == len(expected), name


def test_custom_resource_and_codepipeline_samples_report_to_their_service() -> None:
    import boto3
    from botocore.config import Config

    from tests.sources.recording_server import RecordingServer

    server = RecordingServer()
    try:
        app = App()
        app.custom_resource()(lambda ctx, body: {"Done": "yes"})
        app.codepipeline()(lambda ctx: None)
        app.codepipeline_client = boto3.client(
            "codepipeline", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x",
            aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}),
        )  # fmt: skip
        count = 0
        for name, event in SAMPLES:
            source = source_of(event)
            if source not in ("custom_resource", "codepipeline"):
                continue
            event = copy.deepcopy(event)
            if source == "custom_resource":
                event["ResponseURL"] = f"{server.url}/cfn"  # the sample's presigned URL, pointed here
            server.requests.clear()
            app.handler(event, lambda_context())
            (sent,) = server.requests
            if source == "custom_resource":
                answer = json.loads(sent["body"])
                assert (answer["Status"], answer["RequestId"], answer["Data"]) == (
                    "SUCCESS", event["RequestId"], {"Done": "yes"},
                ), name  # fmt: skip
            else:
                assert sent["headers"]["X-Amz-Target"].endswith("PutJobSuccessResult"), name
            count += 1
        assert count >= 10
    finally:
        server.close()


# -- the main triggers: what each real sample reaches, and what Lift answers ---------------------------
HTTP_KINDS = ("rest", "http", "alb", "url")
STREAM_IDS = {  # the itemIdentifier Lambda expects for each batch source
    "sqs": lambda r: r["messageId"],
    "kinesis": lambda r: r["kinesis"]["sequenceNumber"],
    "dynamodb": lambda r: r["dynamodb"]["SequenceNumber"],
}


def _recording_app(seen: list, fail: set) -> App:
    """Catch-all handlers for the main triggers, recording what each call received; an id in `fail` raises."""
    app = App()

    def record(kind: str, ident: object) -> None:
        seen.append((kind, ident))
        if ident in fail:
            raise RuntimeError(f"record {ident} failed")

    @app.route("/{path+}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    def any_path(ctx: Context, path: str) -> dict:
        record("http", (ctx.method, ctx.path))
        return {"method": ctx.method, "cookies": ctx.request.cookies, "length": len(ctx.body)}

    @app.route("/", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    def root(ctx: Context) -> dict:
        record("http", (ctx.method, "/"))
        return {"method": ctx.method, "length": len(ctx.body)}

    app.sqs("*")(lambda ctx, body: record("sqs", ctx.record.message_id))
    app.kinesis("*")(lambda ctx, body: record("kinesis", ctx.record.sequence_number))
    app.dynamodb_stream("*")(lambda ctx, body: record("dynamodb", ctx.record.sequence_number))
    app.sns("*")(lambda ctx, body: record("sns", ctx.record.message_id))
    app.s3("*")(lambda ctx, body: record("s3", (ctx.record.bucket, ctx.record.key)))
    app.eventbridge()(lambda ctx, body: record("eventbridge", ctx.record.id))
    app.schedule("*")(lambda ctx: record("schedule", ctx.record.rule))
    for route_key in ("$connect", "$disconnect", "$default"):
        app.websocket(route_key)(lambda ctx, body=None: record("websocket", ctx.record.connection_id))
    return app


def _b64_invalid(event: dict) -> bool:
    import binascii

    if not event.get("isBase64Encoded") or not event.get("body"):
        return False
    try:
        binascii.a2b_base64(event["body"], strict_mode=True)
    except ValueError:
        return True
    return False


def test_every_real_http_sample_reaches_its_route_and_gets_its_services_answer() -> None:
    seen: list = []
    app = _recording_app(seen, set())
    count = 0
    for name, event in SAMPLES:
        source = source_of(event)
        if source not in HTTP_KINDS:
            continue
        seen.clear()
        out = app.handler(copy.deepcopy(event), lambda_context())
        count += 1
        if _b64_invalid(event):  # SDK fixtures with "isBase64Encoded": true on plain text: the client's fault
            assert out["statusCode"] == 400, name
            assert json.loads(out["body"])["error"]["code"] == "invalid_base64", name
            continue
        assert out["statusCode"] == 200, (name, out)
        http = event["requestContext"].get("http") or {}
        method = event.get("httpMethod") or http.get("method") or "GET"  # (a null httpMethod is read as GET)
        assert [kind for kind, _ in seen] == ["http"] and seen[0][1][0] == method.upper(), name
        assert type(out["isBase64Encoded"]) is bool and type(out["body"]) is str, name
        if source == "alb":
            assert out["statusDescription"] == "200 OK", name
            assert ("multiValueHeaders" in out) == ("multiValueHeaders" in event), name  # the request's header mode
        else:
            assert out["headers"]["Content-Type"] == "application/json", name
        if method.upper() != "HEAD":
            answer = json.loads(out["body"])
            assert answer["method"] == method.upper(), name
    assert count >= 150


@pytest.mark.parametrize("kind", ["sqs", "kinesis", "dynamodb"])
def test_every_real_batch_sample_runs_each_record_once_and_a_failed_record_is_reported_alone(kind) -> None:
    seen: list = []
    count = 0
    for name, event in SAMPLES:
        if source_of(event) != kind:
            continue
        ids = [STREAM_IDS[kind](r) for r in event["Records"]]
        out = _recording_app(seen, set()).handler(copy.deepcopy(event), lambda_context())
        window = {"state": event["state"]} if "window" in event else {}  # a tumbling window takes its state back
        assert out == {"batchItemFailures": [], **window}, name
        assert seen == [(kind, i) for i in ids], name
        bad = ids[len(ids) // 2]  # fail the middle record: it (and for a stream, its shard's later ones) is reported
        seen.clear()
        out = _recording_app(seen, {bad}).handler(copy.deepcopy(event), lambda_context())
        reported = [f["itemIdentifier"] for f in out["batchItemFailures"]]
        assert reported[0] == bad, name
        if kind == "sqs" and not any(r.get("attributes", {}).get("MessageGroupId") for r in event["Records"]):
            assert reported == [bad], name  # a standard queue: nothing else is retried
        else:
            assert set(reported) <= set(ids[ids.index(bad) :]), name  # ordering: only it and later records
        seen.clear()
        count += 1
    assert count >= 5


@pytest.mark.parametrize("kind", ["sns", "s3", "eventbridge", "schedule", "websocket"])
def test_every_real_async_sample_reaches_its_handler_and_a_failure_fails_the_invocation(kind) -> None:
    from urllib.parse import unquote_plus

    seen: list = []
    count = 0
    for name, event in SAMPLES:
        if source_of(event) != kind:
            continue
        if kind == "s3" and "s3" not in event["Records"][0]:  # (S3 test events and Glacier fixtures)
            continue
        seen.clear()
        _recording_app(seen, set()).handler(copy.deepcopy(event), lambda_context())
        if kind == "sns":
            assert seen == [("sns", r["Sns"]["MessageId"]) for r in event["Records"]], name
        elif kind == "s3":
            expected = [(r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"])) for r in event["Records"]]
            assert seen == [("s3", e) for e in expected], name
        elif kind == "eventbridge":
            assert seen == [("eventbridge", event["id"])], name
        elif kind == "schedule":
            assert seen == [("schedule", event["resources"][0].rpartition("/")[2])], name
        else:
            assert seen == [("websocket", event["requestContext"]["connectionId"])], name
        failing = {ident for _, ident in seen}
        if kind == "websocket":  # API Gateway waits for the answer: a 500 in its format
            out = _recording_app([], failing).handler(copy.deepcopy(event), lambda_context())
            assert out["statusCode"] == 500 and json.loads(out["body"])["error"]["code"] == "internal_error", name
        elif len(seen) == 1:
            with pytest.raises(RuntimeError, match="failed"):  # an asynchronous source: Lambda retries the event
                _recording_app([], failing).handler(copy.deepcopy(event), lambda_context())
        else:  # several records: each one ran once, then the invocation fails naming every failed one
            ran: list = []
            with pytest.raises(RecordsFailed, match=f"{len(seen)} of {len(seen)} ") as info:
                _recording_app(ran, failing).handler(copy.deepcopy(event), lambda_context())
            assert ran == seen and len(info.value.record_ids) == len(seen), name
            assert isinstance(info.value.__cause__, RuntimeError), name
        count += 1
    assert count >= 1


@pytest.mark.parametrize(
    ("sample", "proxy", "wire_path"),
    [  # real HTTP API captures (one API, 2020): API Gateway decoded the path but for the escaped "/"
        (
            "encode-space-in-resource-path-httpapi-v2.json",
            "api/resourcepath/string/tmh/file name.xml",
            "/api/resourcepath/string/tmh/file name.xml",
        ),
        (
            "encode-slash-in-resource-path-httpapi-v2.json",
            "api/resourcepath/encoding/a/b",
            "/api/resourcepath/encoding/a%2Fb",
        ),
    ],
)
def test_an_http_api_sample_with_a_decoded_path_gives_the_parameter_api_gateway_gave(
    sample: str, proxy: str, wire_path: str
) -> None:
    path = CORPUS / "aws-lambda-dotnet" / "Amazon.Lambda.AspNetCoreServer.Test" / sample
    event = json.loads(path.read_text(encoding="utf-8-sig"))
    assert event["pathParameters"] == {"proxy": proxy}  # (what API Gateway itself decoded)
    app = App(name="decoded")

    @app.get("/{proxy+}")
    def anything(ctx: Context, proxy: str) -> dict:
        return {"proxy": proxy, "path": ctx.path}

    out = app.handler(event, lambda_context())  # (ctx.path: as API Gateway passed it on, a "%" escaped)
    assert (out["statusCode"], json.loads(out["body"])) == (200, {"proxy": proxy, "path": wire_path})
