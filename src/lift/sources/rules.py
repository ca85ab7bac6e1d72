"""Which service sent an event: one documented rule per source, by fields only that service sends.

`lift.sources.source_of` decides the HTTP and record-batch sources with a few key tests (the
hot paths); every event those tests leave over comes here, to `other_source`. `RULES` states
every source's rule, the fast ones included, as a predicate: the table in
docs/event-sources.md, and what the corpus test evaluates on real AWS samples to prove that
no event matches two rules and that `source_of` agrees with the table. An event no rule
claims is a direct invocation (`@app.invoke` receives it unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["RULES", "Rule", "other_source", "rules_matching"]


KAFKA_SOURCES = ("aws:kafka", "SelfManagedKafka", "aws:SelfManagedKafka")


class Rule(NamedTuple):
    source: str
    fields: str  # the rule in words (docs/event-sources.md)
    test: Callable[[Any], bool]
    fast: bool = False  # decided by source_of's own key tests, before other_source


def _ctx(event: dict[str, Any]) -> dict[str, Any]:
    ctx = event.get("requestContext")
    return ctx if type(ctx) is dict else {}


def _record_source(event: dict[str, Any]) -> str | None:
    records = event.get("Records")
    if type(records) is list and records and type(records[0]) is dict:
        return records[0].get("eventSource") or records[0].get("EventSource")
    return None


def _is_authorizer(e: dict[str, Any]) -> bool:
    return "methodArn" in e or "routeArn" in e


def _is_rest(e: dict[str, Any]) -> bool:
    ctx = _ctx(e)
    return (
        "httpMethod" in e
        and "elb" not in ctx
        and not _is_authorizer(e)
        and ("connectionId" not in ctx or "resource" in e)
        and "actionGroup" not in e
    )


def _is_websocket(e: dict[str, Any]) -> bool:
    ctx = _ctx(e)
    return "connectionId" in ctx and not _is_authorizer(e) and not ("httpMethod" in e and "resource" in e)


def _is_http(e: dict[str, Any], url: bool) -> bool:
    if "rawPath" not in e or "httpMethod" in e or "routeArn" in e:
        return False
    return (".lambda-url." in (_ctx(e).get("domainName") or "")) is url


def _is_appsync_resolver(e: Any) -> bool:
    return type(e) is dict and type(e.get("info")) is dict and "arguments" in e and "fieldName" in e["info"]


def _is_appsync_authorizer(e: dict[str, Any]) -> bool:
    ctx = _ctx(e)
    return (
        "authorizationToken" in e
        and "methodArn" not in e
        and "apiId" in ctx
        and ("queryString" in ctx or "queryDocument" in ctx)
    )


def _is_pipe_batch(e: Any) -> bool:
    """A list of SQS messages: the batch EventBridge Pipes hands a Lambda target from an SQS source."""
    return type(e) is list and bool(e) and type(e[0]) is dict and e[0].get("eventSource") == "aws:sqs"


def _is_lattice(e: dict[str, Any]) -> bool:
    if "raw_path" in e and "method" in e:  # v1
        return True
    return "method" in e and "path" in e and "serviceNetworkArn" in _ctx(e)  # v2


def _dict_rule(test: Callable[[dict[str, Any]], bool]) -> Callable[[Any], bool]:
    return lambda event: type(event) is dict and test(event)


def _records(name: str) -> Callable[[Any], bool]:
    return _dict_rule(lambda e: "Records" in e and _record_source(e) == name)


RULES: tuple[Rule, ...] = (
    # -- decided by source_of's fast tests ------------------------------------------------
    Rule("rest", "`httpMethod`; no `methodArn`, `actionGroup`, `requestContext.elb` (a `connectionId` only with `resource`)", _dict_rule(_is_rest), True),
    Rule("alb", "`httpMethod` and `requestContext.elb`", _dict_rule(lambda e: "httpMethod" in e and "elb" in _ctx(e)), True),
    Rule("http", "`rawPath`; no `routeArn`; domain not `*.lambda-url.*`", _dict_rule(lambda e: _is_http(e, False)), True),
    Rule("url", "`rawPath` and a `requestContext.domainName` with `.lambda-url.`", _dict_rule(lambda e: _is_http(e, True)), True),
    Rule("websocket", "`requestContext.connectionId`; no `methodArn` (and not `httpMethod` with `resource`)", _dict_rule(_is_websocket), True),
    Rule("authorizer", "`methodArn` (REST TOKEN/REQUEST, HTTP API 1.0, WebSocket) or `routeArn` (HTTP API 2.0)", _dict_rule(_is_authorizer), True),
    Rule("bedrock_agent", "`messageVersion`, `agent` and `actionGroup` (OpenAPI and function-details forms)", _dict_rule(lambda e: "actionGroup" in e and "agent" in e and "messageVersion" in e), True),
    Rule("sqs", "`Records[0].eventSource` is `aws:sqs`", _records("aws:sqs"), True),
    Rule("sns", "`Records[0].EventSource` is `aws:sns`", _records("aws:sns"), True),
    Rule("s3", "`Records[0].eventSource` is `aws:s3`", _records("aws:s3"), True),
    Rule("dynamodb", "`Records[0].eventSource` is `aws:dynamodb`", _records("aws:dynamodb"), True),
    Rule("kinesis", "`Records[0].eventSource` is `aws:kinesis`", _records("aws:kinesis"), True),
    Rule("eventbridge", "`detail-type` and `source`; `detail-type` is not `Scheduled Event`", _dict_rule(lambda e: "detail-type" in e and "source" in e and e["detail-type"] != "Scheduled Event"), True),
    Rule("schedule", "`detail-type` is `Scheduled Event` (and `source`)", _dict_rule(lambda e: "source" in e and e.get("detail-type") == "Scheduled Event"), True),
    # -- decided here (other_source), after the fast tests ---------------------------------
    Rule("ses", "`Records[0].eventSource` is `aws:ses`", _records("aws:ses")),
    Rule("kafka", "`eventSource` is `aws:kafka` (MSK) or `SelfManagedKafka` / `aws:SelfManagedKafka`, and `records`", _dict_rule(lambda e: e.get("eventSource") in KAFKA_SOURCES and "records" in e)),
    Rule("mq", "`eventSource` is `aws:amq` or `aws:mq` (ActiveMQ) or `aws:rmq` (RabbitMQ)", _dict_rule(lambda e: e.get("eventSource") in ("aws:amq", "aws:mq", "aws:rmq"))),
    Rule("cloudwatch_logs", "`awslogs.data`", _dict_rule(lambda e: type(e.get("awslogs")) is dict and "data" in e["awslogs"])),
    Rule("firehose", "`deliveryStreamArn` and `records`", _dict_rule(lambda e: "deliveryStreamArn" in e and "records" in e)),
    Rule("cognito", "`triggerSource` and `userPoolId`", _dict_rule(lambda e: "triggerSource" in e and "userPoolId" in e)),
    Rule("custom_resource", "`RequestType`, `StackId` and `ResponseURL` (or `LogicalResourceId`: the CDK provider framework's onEvent)", _dict_rule(lambda e: "RequestType" in e and "StackId" in e and ("ResponseURL" in e or "LogicalResourceId" in e))),
    Rule("s3_object_lambda", "`getObjectContext` and `xAmzRequestId`", _dict_rule(lambda e: "getObjectContext" in e and "xAmzRequestId" in e)),
    Rule("s3_batch", "`invocationSchemaVersion`, `job` and `tasks`", _dict_rule(lambda e: "invocationSchemaVersion" in e and "job" in e and "tasks" in e)),
    Rule("secrets_rotation", "`Step`, `SecretId` and `ClientRequestToken`", _dict_rule(lambda e: "Step" in e and "SecretId" in e and "ClientRequestToken" in e)),
    Rule("codepipeline", "`CodePipeline.job`", _dict_rule(lambda e: "CodePipeline.job" in e)),
    Rule("appsync", "`info.fieldName` and `arguments`; or a non-empty list of those (batch resolver)", lambda e: _is_appsync_resolver(e) or (type(e) is list and bool(e) and all(_is_appsync_resolver(x) for x in e))),
    Rule("appsync_authorizer", "`authorizationToken`, `requestContext.apiId` and `requestContext.queryString` (or `queryDocument`); no `methodArn`", _dict_rule(_is_appsync_authorizer)),
    Rule("sqs", "a non-empty list whose first item's `eventSource` is `aws:sqs` (EventBridge Pipes from an SQS queue)", _is_pipe_batch),
    Rule("lattice", "`raw_path` and `method` (v1), or `method`, `path` and `requestContext.serviceNetworkArn` (v2)", _dict_rule(_is_lattice)),
)  # fmt: skip

# authorizer and bedrock_agent first: their forms without httpMethod/rawPath (TOKEN authorizers,
# function-form agents) are common and their tests are cheap
_SLOW = tuple(rule for rule in RULES if rule.source in ("authorizer", "bedrock_agent")) + tuple(
    rule for rule in RULES if not rule.fast
)


def other_source(event: Any) -> str:
    """The source whose rule claims `event` (checked after source_of's fast tests), else "invoke"."""
    for rule in _SLOW:
        if rule.test(event):
            return rule.source
    return "invoke"


def rules_matching(event: Any) -> list[str]:
    """Every source whose rule matches `event` (the corpus test expects at most one)."""
    return [rule.source for rule in RULES if rule.test(event)]
