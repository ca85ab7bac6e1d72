"""`lift events generate` samples for the triggers beyond the core sources (authorizers, Cognito,
Firehose, Kafka, ...), built by `lift.testing.events` like every other sample."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lift.testing import events

__all__ = ["TRIGGER_SAMPLES"]


def _body(o: Any, default: Any) -> Any:
    return default if o.body is None else o.body


def _authorizer(o: Any) -> dict[str, Any]:
    """--name token (REST TOKEN, the default), request (REST REQUEST), http (HTTP API 2.0), http-1.0, websocket."""
    kind = o.name or "token"
    headers = {"Authorization": "Bearer example-token", **(o.headers or {})}
    if kind == "request":
        return events.apigw_request_authorizer(o.method, o.path, headers=headers)
    if kind in ("http", "http-2.0", "http-1.0"):
        return events.http_api_authorizer(
            o.method, o.path, headers=headers, version="1.0" if kind == "http-1.0" else "2.0"
        )
    if kind == "websocket":
        return events.websocket_authorizer(headers=headers)
    return events.apigw_token_authorizer("Bearer example-token", method=o.method, path=o.path)


def _bedrock_agent(o: Any) -> dict[str, Any]:
    """--name get_claim: the function form (`@app.bedrock_agent("get_claim")`); else the OpenAPI form
    for --path and --method (`/claims` by default)."""
    if o.name and o.path == "/":
        return events.bedrock_agent_function(o.name)
    return events.bedrock_agent(o.path if o.path != "/" else "/claims", o.method)


def _lattice(o: Any) -> dict[str, Any]:
    return events.vpc_lattice(o.method, o.path, body=o.body, headers=o.headers)


TRIGGER_SAMPLES: dict[str, Callable[[Any], Any]] = {
    "authorizer": _authorizer,
    "cognito": lambda o: events.cognito(o.name or "pre_sign_up"),
    "firehose": lambda o: events.firehose(o.name or "my-stream", [_body(o, {"hello": "world"})] * o.count),
    "kafka": lambda o: events.kafka(o.name or "my-topic", [_body(o, {"hello": "world"})] * o.count),
    "cloudwatch_logs": lambda o: events.cloudwatch_logs(o.name or "/aws/lambda/my-function", [_body(o, "hello")] * o.count),
    "lattice": _lattice,
    "ses": lambda o: events.ses([o.name or "orders@example.com"]),
    "mq": lambda o: events.amazon_mq(o.name or "my-queue", [_body(o, {"hello": "world"})] * o.count),
    "custom_resource": lambda o: events.custom_resource(o.event_name or "Create", resource_type=o.name or "Custom::Thing", properties=o.body if isinstance(o.body, dict) else None),
    "appsync": lambda o: events.appsync_resolver(o.name or "Query.getPost", o.body if isinstance(o.body, dict) else {"id": "1"}),
    "appsync_authorizer": lambda o: events.appsync_authorizer(),
    "bedrock_agent": _bedrock_agent,
    "s3_object_lambda": lambda o: events.s3_object_lambda(access_point=o.name or "my-olap"),
    "s3_batch": lambda o: events.s3_batch(o.name or "my-bucket", [o.key]),
    "secrets_rotation": lambda o: events.secrets_rotation(o.event_name or "createSecret", o.name or "my-secret"),
    "codepipeline": lambda o: events.codepipeline_job(o.body),
}  # fmt: skip
