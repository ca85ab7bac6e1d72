"""`RequestLogging(log_event=True)` logs the raw event "redacted": secrets inside its text fields
are masked too, not only those under sensitive keys. Before, a JSON or form body's password
(every HTTP source, base64 bodies too), an HTTP API's or function URL's `rawQueryString` token
and an SQS message body's password were written to the log as sent."""

from __future__ import annotations

import base64
import json

import pytest

from lift import App
from lift.middleware.logging import RequestLogging
from lift.testing import TestClient
from observability.emf_spec import log_lines


def make_app() -> App:
    app = App("svc")
    app.use(RequestLogging(level="DEBUG", log_event=True, access_log=False))
    app.post("/login")(lambda ctx: {})

    @app.sqs("signups")
    def signup(ctx, body: dict) -> None:
        pass

    return app


def logged_events(out: str) -> list[dict]:
    return [x["event"] for x in log_lines(out) if x["message"] == "event received"]


@pytest.mark.parametrize("source", ["rest", "http", "alb", "url"])
def test_secrets_in_bodies_and_query_strings_are_masked(capsys, source):
    client = TestClient(make_app(), source=source)
    client.post("/login?token=q-secret&page=2", body={"user": "ada", "password": "json-secret"})
    client.post(
        "/login",
        body="user=ada&password=form-secret",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    client.post("/login", body=b'{"user": "ada", "api_key": "binary-secret"}', is_base64=True)
    out = capsys.readouterr().out
    assert "secret" not in out
    json_body, form_body, binary_body = logged_events(out)
    assert json.loads(json_body["body"]) == {"user": "ada", "password": "***"}
    assert form_body["body"] == "user=ada&password=***"
    assert binary_body["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(binary_body["body"])) == {"user": "ada", "api_key": "***"}
    if "rawQueryString" in json_body:
        assert json_body["rawQueryString"] == "token=***&page=2"


def test_secrets_in_record_bodies_are_masked(capsys):
    TestClient(make_app()).sqs("signups", [{"user": "ada", "password": "sqs-secret"}])
    out = capsys.readouterr().out
    assert "sqs-secret" not in out
    (event,) = logged_events(out)
    assert json.loads(event["Records"][0]["body"]) == {"user": "ada", "password": "***"}
