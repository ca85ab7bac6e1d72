"""What a trigger's handler returns reaches its service in the shape that service takes: models become
JSON data, and a value the service cannot take fails as the handler's own mistake (one ERROR line
with the request id, the record's id; for Firehose that record alone), never as a malformed event."""

from __future__ import annotations

import dataclasses
import json
import logging

import msgspec
import pytest

from lift import App
from lift.errors import LiftError
from lift.testing import events, lambda_context


class Post(msgspec.Struct):
    id: str
    title: str


@dataclasses.dataclass
class Author:
    name: str


class Opaque:
    """A value no JSON encoder knows."""


def test_an_appsync_resolver_returning_a_model_answers_json_data_the_runtime_can_send() -> None:
    app = App()
    app.appsync("Query.getPost")(lambda body: Post(body["id"], "Hello"))
    app.appsync("Post.author")(lambda ctx: [Author("jane")])

    out = app.handler(events.appsync_resolver("Query.getPost", {"id": "7"}), lambda_context())
    assert json.dumps(out) == '{"id": "7", "title": "Hello"}'  # (the runtime's json.dumps: a Struct failed it)
    out = app.handler(events.appsync_batch("Post.author"), lambda_context())
    assert json.dumps(out) == '[[{"name": "jane"}], [{"name": "jane"}]]'


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("lift")]


BAD_RETURNS = {  # source -> (register a handler returning `value`, an event of that source)
    "cognito": (lambda app, fn: app.cognito("pre_sign_up")(fn), lambda: events.cognito("pre_sign_up")),
    "ses": (lambda app, fn: app.ses()(fn), lambda: events.ses()),
    "appsync": (lambda app, fn: app.appsync()(fn), lambda: events.appsync_resolver()),
    "appsync_authorizer": (lambda app, fn: app.appsync_authorizer()(fn), lambda: events.appsync_authorizer()),
    "bedrock_agent": (lambda app, fn: app.bedrock_agent()(fn), lambda: events.bedrock_agent()),
    "authorizer": (lambda app, fn: app.authorizer()(fn), lambda: events.apigw_token_authorizer()),
}


@pytest.mark.parametrize("source", sorted(BAD_RETURNS))
def test_a_value_the_service_cannot_take_fails_as_the_handlers_mistake(
    source: str, caplog: pytest.LogCaptureFixture
) -> None:
    register, event = BAD_RETURNS[source]
    app = App()
    register(app, lambda ctx: Opaque())
    context = lambda_context()
    caplog.set_level(logging.INFO, logger="lift")
    with pytest.raises(Exception) as info:
        app.handler(event(), context)
    assert not isinstance(info.value, LiftError)  # was BadRequest "Malformed <source> event": blamed AWS's event
    (line,) = _lines(caplog)
    assert line.levelno == logging.ERROR and context.aws_request_id in line.getMessage()
    assert "Malformed" not in line.getMessage() and type(info.value).__name__ in line.getMessage()


def test_a_firehose_record_whose_value_does_not_encode_fails_alone(caplog: pytest.LogCaptureFixture) -> None:
    app = App()

    @app.firehose()
    def transform(body: dict) -> object:
        return Opaque() if body["n"] == 1 else {"n": body["n"] * 10}

    event = events.firehose(records=[{"n": 0}, {"n": 1}, {"n": 2}])
    context = lambda_context()
    caplog.set_level(logging.INFO, logger="lift")
    out = app.handler(event, context)  # was: the whole delivery failed (BadRequest "Malformed firehose event")
    assert [r["result"] for r in out["records"]] == ["Ok", "ProcessingFailed", "Ok"]
    assert out["records"][1]["data"] == event["records"][1]["data"]  # the original data, for the error output
    (line,) = _lines(caplog)
    assert line.levelno == logging.ERROR and context.aws_request_id in line.getMessage()
    assert event["records"][1]["recordId"] in line.getMessage()
