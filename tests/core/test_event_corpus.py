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

from lift import App
from lift.errors import UnmatchedEvent
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
