"""The dashboard's sample buttons for the triggers of issue 15: each sample reaches the handler
it was sent for (registry.event_sources -> sample_event -> app.handler), patterns included."""

from __future__ import annotations

from typing import Any

from lift import App, Context
from lift.dev import registry
from lift.dev.samples import sample_event
from lift.testing import lambda_context


def test_every_sample_button_reaches_its_handler() -> None:
    app = App(name="samples")
    seen: list[str] = []

    def record(name: str) -> Any:
        def handler(ctx: Context) -> Any:
            seen.append(name)
            return {"sub": "u-1"} if name == "authorizer" else None

        handler.__name__ = name
        return handler

    app.authorizer()(record("authorizer"))
    app.cognito("pre_sign_up")(record("cognito"))
    app.firehose("clicks-*")(record("firehose"))
    app.kafka("orders")(record("kafka"))
    app.cloudwatch_logs("/aws/lambda/payments")(record("cloudwatch_logs"))
    app.ses("*@example.com")(record("ses"))
    app.mq("jobs")(record("mq"))
    app.appsync("Query.*")(record("appsync"))
    app.appsync_authorizer()(record("appsync_authorizer"))
    app.bedrock_agent("/claims/{id}", "GET")(record("bedrock_agent"))
    app.secrets_rotation("*", secret="db-*")(record("secrets_rotation"))
    sources = registry.event_sources(app)
    assert len(sources) == 11
    for source in sources:
        event = sample_event(source["kind"], source["name"], None, **source["options"])
        before = len(seen)
        app.handler(event, lambda_context())
        assert seen[before:] == [source["kind"]], (source, event)
