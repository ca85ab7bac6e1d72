"""Each `lift.testing.events` builder against the real AWS samples of its kind (the event corpus,
../shared/corpus/events, read in place; the module skips without it).

For every builder, the key tree of what it builds is compared with the key trees of the samples
Lift assigns to the same source (and sub-kind): no key that no sample has, every key that every
sample has, the JSON types AWS uses at each key, and the formats every sample agrees on (ARNs,
ISO-8601 or CLF timestamps, UUIDs, epoch seconds or milliseconds). Keys whose names are data
(headers, query parameters, attribute names, ...) compare as one `*` key.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lift.sources import source_of
from lift.testing import events

CORPUS = Path("/work/shared/corpus/events")
pytestmark = pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")

# objects whose keys are data, not part of the event's shape
DATA_KEYS = {
    "headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
    "query_string_parameters", "pathParameters", "stageVariables", "authorizer", "messageAttributes",
    "MessageAttributes", "Keys", "NewImage", "OldImage", "M", "userAttributes", "clientMetadata",
    "validationData", "ResourceProperties", "OldResourceProperties", "detail", "stash", "arguments", "variables",
    "sessionAttributes", "promptSessionAttributes", "requestHeaders", "userArguments", "rmqMessagesByQueue",
    "claims", "resolverContext", "privateChallengeParameters", "publicChallengeParameters", "properties",
    "source", "records",
}  # fmt: skip
DATA_KEYS_AT = (re.compile(r"\.records\.\*\[\]\.headers\[\]$"),)  # Kafka: [{"name": [bytes]}]


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(type(value), "null")


FORMATS = [
    ("arn", re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+")),
    ("iso8601-ms", re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")),
    ("iso8601", re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")),
    ("clf-time", re.compile(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000")),
    ("rfc2822", re.compile(r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")),
]


def _format(value: Any) -> str | None:
    if isinstance(value, str):
        return next((name for name, rx in FORMATS if rx.fullmatch(value)), "text")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "epoch-ms" if 1e12 <= value < 1e13 else "epoch-s" if 1e9 <= value < 1e10 else "number"
    return None


class Tree:
    """Each key path of an event (list items as `[]`, data keys as `*`) with its JSON types and formats."""

    def __init__(self, event: Any) -> None:
        self.types: dict[str, set[str]] = defaultdict(set)
        self.formats: dict[str, set[str | None]] = defaultdict(set)
        self._walk(event, "$")

    def _walk(self, value: Any, path: str) -> None:
        self.types[path].add(_type(value))
        self.formats[path].add(_format(value))
        if isinstance(value, dict):
            data = path.rsplit(".", 1)[-1] in DATA_KEYS or any(rx.search(path) for rx in DATA_KEYS_AT)
            for key, item in value.items():
                self._walk(item, f"{path}.{'*' if data else key}")
        elif isinstance(value, list):
            for item in value:
                self._walk(item, f"{path}[]")


def _corpus() -> dict[str, list[tuple[str, Any]]]:
    found: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for path in sorted(CORPUS.rglob("*.json")) if CORPUS.is_dir() else []:
        event = json.loads(path.read_text(encoding="utf-8-sig"))
        found[source_of(event)].append((str(path.relative_to(CORPUS)), event))
    return found


SAMPLES = _corpus()


def _is(**fields: Any) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, dict) and all(e.get(k) == v for k, v in fields.items())


def _ws(kind: str) -> Callable[[Any], bool]:
    return lambda e: e["requestContext"].get("eventType") == kind


def _cognito(prefix: str) -> Callable[[Any], bool]:
    return lambda e: str(e.get("triggerSource", "")).split("_")[0] == prefix


IMAGE = {"keys": {"id": "1"}, "new_image": {"id": "1", "n": 2}, "old_image": {"id": "1", "n": 1}}
# (case, source Lift gives the samples, which of them, the builder's event)
CASES: list[tuple[str, str, Callable[[Any], bool] | None, Callable[[], Any]]] = [
    ("rest", "rest", None, lambda: events.apigw_rest("POST", "/a?x=1", body="hi", headers={"Content-Type": "text/plain"})),
    ("http", "http", None, lambda: events.apigw_http("POST", "/a?x=1", body="hi", cookies=["a=b"])),
    ("url", "url", None, lambda: events.function_url("POST", "/a?x=1", body="hi", cookies=["a=b"])),
    ("alb", "alb", lambda e: "headers" in e, lambda: events.alb("GET", "/a?x=1")),
    ("alb-multi-value", "alb", lambda e: "multiValueHeaders" in e, lambda: events.alb("GET", "/a?x=1", multi_value=True)),
    ("lattice-v2", "lattice", _is(version="2.0"), lambda: events.vpc_lattice("POST", "/a?x=1", body="x")),
    ("lattice-v1", "lattice", lambda e: "raw_path" in e, lambda: events.vpc_lattice("POST", "/a?x=1", body="x", version="1.0")),
    ("sqs", "sqs", None, lambda: events.sqs("orders", [{"a": 1}], message_attributes={"n": 1, "s": "x"})),
    ("sqs-fifo", "sqs", None, lambda: events.sqs("orders.fifo", [{"a": 1}])),
    ("sqs-from-sns", "sqs", None, lambda: events.sqs_from_sns("orders", "alerts", ["hi"])),
    ("sqs-from-eventbridge", "sqs", None, lambda: events.sqs_from_eventbridge("orders", [events.eventbridge()])),
    ("s3-via-sqs", "sqs", None, lambda: events.s3_via_sqs()),
    ("sns", "sns", None, lambda: events.sns("alerts", "hi", subject="s", message_attributes={"a": "b"})),
    ("s3-via-sns", "sns", None, lambda: events.s3_via_sns()),
    ("s3-put", "s3", lambda e: e["Records"][0]["eventName"].startswith("ObjectCreated"), lambda: events.s3()),
    ("s3-delete", "s3", lambda e: e["Records"][0]["eventName"].startswith("ObjectRemoved"),
     lambda: events.s3(event_name="ObjectRemoved:Delete")),
    ("eventbridge", "eventbridge", None, lambda: events.eventbridge("payments", "PaymentSettled", {"x": 1})),
    ("s3-via-eventbridge", "eventbridge", _is(source="aws.s3", **{"detail-type": "Object Created"}),
     lambda: events.s3_via_eventbridge()),
    ("schedule", "schedule", None, lambda: events.schedule()),
    ("dynamodb", "dynamodb", None, lambda: events.dynamodb_stream("orders", [{"event_name": "MODIFY", **IMAGE}])),
    ("kinesis", "kinesis", None, lambda: events.kinesis("clicks", [{"a": 1}])),
    ("websocket-connect", "websocket", _ws("CONNECT"), lambda: events.websocket_connect(query={"t": "1"})),
    ("websocket-message", "websocket", _ws("MESSAGE"), lambda: events.websocket_message("hi")),
    ("websocket-disconnect", "websocket", _ws("DISCONNECT"), lambda: events.websocket_disconnect()),
    ("token-authorizer", "authorizer", _is(type="TOKEN"), lambda: events.apigw_token_authorizer()),
    ("request-authorizer", "authorizer",
     lambda e: e.get("type") == "REQUEST" and "version" not in e and "$connect" not in e.get("methodArn", "$connect"),
     lambda: events.apigw_request_authorizer(headers={"a": "b"}, query={"q": "1"})),
    ("http-authorizer-v2", "authorizer", _is(version="2.0"),
     lambda: events.http_api_authorizer(headers={"authorization": "x"}, query={"q": "1"})),
    ("http-authorizer-v1", "authorizer", _is(version="1.0"),
     lambda: events.http_api_authorizer(version="1.0", headers={"authorization": "x"}, query={"q": "1"})),
    ("firehose", "firehose", None, lambda: events.firehose()),
    ("kafka", "kafka", None, lambda: events.kafka(headers={"h": "v"})),
    ("cloudwatch-logs", "cloudwatch_logs", None, lambda: events.cloudwatch_logs()),
    ("ses", "ses", None, lambda: events.ses()),
    ("activemq", "mq", lambda e: "messages" in e, lambda: events.amazon_mq()),
    ("rabbitmq", "mq", lambda e: "rmqMessagesByQueue" in e, lambda: events.rabbitmq()),
    ("custom-resource-create", "custom_resource", _is(RequestType="Create"), lambda: events.custom_resource()),
    ("custom-resource-update", "custom_resource", _is(RequestType="Update"), lambda: events.custom_resource("Update")),
    ("custom-resource-delete", "custom_resource", _is(RequestType="Delete"), lambda: events.custom_resource("Delete")),
    ("appsync-resolver", "appsync", lambda e: isinstance(e, dict), lambda: events.appsync_resolver()),
    ("appsync-authorizer", "appsync_authorizer", None, lambda: events.appsync_authorizer()),
    ("bedrock-agent", "bedrock_agent", lambda e: "apiPath" in e,
     lambda: events.bedrock_agent(parameters={"a": 1}, body={"x": 1})),
    ("s3-object-lambda", "s3_object_lambda", None, lambda: events.s3_object_lambda()),
    ("s3-batch-v1", "s3_batch", _is(invocationSchemaVersion="1.0"), lambda: events.s3_batch()),
    ("s3-batch-v2", "s3_batch", _is(invocationSchemaVersion="2.0"), lambda: events.s3_batch(version="2.0")),
    ("secrets-rotation", "secrets_rotation", None, lambda: events.secrets_rotation()),
    ("codepipeline", "codepipeline", None, lambda: events.codepipeline_job("x")),
    *[
        (f"cognito-{trigger}", "cognito", _cognito(source.split("_")[0]), (lambda t: lambda: events.cognito(t))(trigger))
        for trigger, source in {
            "pre_sign_up": "PreSignUp", "post_confirmation": "PostConfirmation",
            "pre_authentication": "PreAuthentication", "post_authentication": "PostAuthentication",
            "pre_token_generation": "TokenGeneration", "define_auth_challenge": "DefineAuthChallenge",
            "create_auth_challenge": "CreateAuthChallenge", "verify_auth_challenge_response": "VerifyAuthChallengeResponse",
            "custom_message": "CustomMessage", "user_migration": "UserMigration",
        }.items()
    ],
]  # fmt: skip

# Where the samples (SDK fixtures, some written by hand) disagree with AWS's documentation, the
# documentation wins; each exception says why.
NOT_REQUIRED = {
    ("lattice-v2", "$.requestContext.identity.x509SanDns"): "sent only for mTLS clients",
    ("sqs", "$.Records[].messageAttributes.*.binaryValue"): "docs: a String attribute has no binaryValue",
    ("http-authorizer-v1", "$.requestContext.identity.apiKey"): "HTTP APIs have no API keys",
    ("http-authorizer-v1", "$.requestContext.identity.clientCert"): "sent only for mTLS clients",
}
ALLOWED_EXTRA = {
    **{("websocket-connect", p): "docs: $connect carries the handshake's query string (no sample has one)" for p in (
        "$.queryStringParameters", "$.queryStringParameters.*", "$.multiValueQueryStringParameters",
        "$.multiValueQueryStringParameters.*", "$.multiValueQueryStringParameters.*[]")},
    ("websocket-connect", "$.requestContext.identity.userAgent"): "the $connect of the WebSocket authorizer sample has it",
    **{("activemq", p): "the Lambda guide's example (with-mq); each SDK fixture spells these its own way" for p in (
        "$.messages[].correlationId", "$.messages[].replyTo", "$.messages[].type")},
}  # fmt: skip
WRONG_TYPE_ALLOWED = {("activemq", "$.messages[].expiration"): "the Lambda guide's example sends a string"}


def _case_ids() -> list[str]:
    return [case[0] for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=_case_ids())
def test_builder_has_the_shape_of_the_real_samples(case: tuple[str, str, Any, Callable[[], Any]]) -> None:
    name, source, which, build = case
    samples = [event for _, event in SAMPLES[source] if which is None or which(event)]
    assert samples, f"no real {source} sample for {name}"
    trees = [Tree(event) for event in samples]
    built = Tree(build())
    aws_types: dict[str, set[str]] = defaultdict(set)
    for tree in trees:
        for path, types in tree.types.items():
            aws_types[path] |= types
    extra = sorted(p for p in built.types if p not in aws_types and (name, p) not in ALLOWED_EXTRA)
    wrong_types = {  # (null where AWS sends nothing: its fixtures leave such keys out or fill them in)
        p: (t, aws_types[p])
        for p, t in built.types.items()
        if p in aws_types and not t - {"null"} <= aws_types[p] and aws_types[p] != {"null"}
        and (name, p) not in WRONG_TYPE_ALLOWED
    }  # fmt: skip
    missing = []
    for path in aws_types:
        parent = path[:-2] if path.endswith("[]") else path.rsplit(".", 1)[0]
        if path.endswith(".*") or path in built.types or "object" not in built.types.get(parent, set()):
            continue  # (data keys; or the builder has no object there to hold it)
        having_parent = [t for t in trees if "object" in t.types.get(parent, set())]
        if all(path in t.types for t in having_parent) and (name, path) not in NOT_REQUIRED:
            missing.append(path)
    formats = {}
    for path, fmts in built.formats.items():
        seen = set().union(*(t.formats[path] for t in trees if path in t.formats))
        fmts = fmts - {None}  # (null: see the types)
        agreed = len(seen) == 1 and None not in seen and sum(path in t.formats for t in trees) >= 2
        if agreed and fmts and fmts != seen and "*" not in path:
            formats[path] = (fmts, seen)
    problems = {"no sample has": extra, "types": wrong_types, "every sample has": sorted(missing), "formats": formats}
    assert {k: v for k, v in problems.items() if v} == {}
