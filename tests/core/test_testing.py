"""lift.testing: the TestClient for each HTTP source, the event builders and the fake Lambda context."""

from __future__ import annotations

import base64
import time

import pytest

from lift import App, Context
from lift.sources import apigw_rest, source_of
from lift.testing import LambdaContext, TestClient, events, lambda_context

SOURCES = ["rest", "http", "alb", "url", "lattice"]


@pytest.fixture
def app() -> App:
    app = App()

    @app.route("/echo/{name}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo(ctx: Context, name: str) -> dict:
        return {
            "source": ctx.source,
            "method": ctx.method,
            "name": name,
            "query": ctx.query.to_dict(),
            "json": ctx.json() if ctx.body else None,
            "x": ctx.headers.get("x-test"),
            "cookies": ctx.request.cookies,
        }

    return app


@pytest.mark.parametrize("source", SOURCES)
def test_client_sends_the_real_event_of_each_source(app: App, source: str) -> None:
    client = TestClient(app, source=source)
    res = client.put("/echo/bob?a=1", json={"k": "v"}, headers={"X-Test": "yes"}, cookies={"c": "1"}, query={"b": "2"})
    assert res.status_code == 200
    assert res.json() == {
        "source": source,
        "method": "PUT",
        "name": "bob",
        "query": {"a": ["1"], "b": ["2"]},
        "json": {"k": "v"},
        "x": "yes",
        "cookies": {"c": "1"},
    }
    assert source_of(client.last_event) == source


@pytest.mark.parametrize("source", SOURCES)
def test_every_verb_helper(app: App, source: str) -> None:
    client = TestClient(app, source=source)
    for verb in ("get", "post", "put", "patch", "delete"):
        assert getattr(client, verb)("/echo/x").json()["method"] == verb.upper()
    head = client.head("/echo/x")
    assert head.status_code == 200 and head.body == b""
    assert client.options("/echo/x").status_code == 204


def test_unknown_source_is_refused(app: App) -> None:
    with pytest.raises(ValueError, match="source"):
        TestClient(app, source="grpc")


def test_test_response_decodes_the_raw_result(app: App) -> None:
    res = TestClient(app).get("/echo/z")
    assert res.raw["statusCode"] == res.status_code == 200
    assert res.text == res.body.decode()
    assert res.headers["content-type"] == "application/json"
    assert "TestResponse 200" in repr(res)


def test_invoke_passes_any_event(app: App) -> None:
    client = TestClient(app)
    out = client.invoke(events.apigw_http("GET", "/echo/q"))
    assert out["statusCode"] == 200


def test_fake_lambda_context() -> None:
    made = time.monotonic()
    ctx = lambda_context(function_name="orders", timeout_ms=3000, memory_limit_in_mb=256)
    assert isinstance(ctx, LambdaContext)
    assert ctx.function_name == "orders" and ctx.memory_limit_in_mb == 256
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:orders"
    remaining = ctx.get_remaining_time_in_millis()
    assert 3000 - (time.monotonic() - made) * 1000 - 1 <= remaining <= 3000  # counted down from its creation
    assert lambda_context().aws_request_id != lambda_context().aws_request_id
    short = lambda_context(timeout_ms=20)
    time.sleep(0.03)
    assert short.get_remaining_time_in_millis() == 0


# -- builders: shaped like AWS's events -----------------------------------------------------------

REST_KEYS = set(apigw_rest.EVENT_KEYS)  # the keys of a REST event as AWS documents them
REST_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "httpMethod",
    "identity",
    "path",
    "protocol",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "resourceId",
    "resourcePath",
    "stage",
}
V2_KEYS = {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext", "isBase64Encoded"}
V2_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "routeKey",
    "stage",
    "time",
    "timeEpoch",
}


def test_rest_builder_shape() -> None:
    event = events.apigw_rest("POST", "/users/1?x=1&x=2", body='{"a":1}', headers={"Content-Type": "application/json"})
    assert REST_KEYS <= set(event)
    assert REST_CONTEXT_KEYS <= set(event["requestContext"])
    assert event["resource"] == "/{proxy+}" and event["pathParameters"] == {"proxy": "users/1"}
    assert event["path"] == "/users/1" and event["httpMethod"] == "POST"
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["requestContext"]["identity"]["sourceIp"] == events.SOURCE_IP
    assert event["requestContext"]["stage"] == "prod" and event["requestContext"]["path"] == "/prod/users/1"
    assert event["body"] == '{"a":1}' and event["isBase64Encoded"] is False


def test_rest_builder_root_and_nulls() -> None:
    event = events.apigw_rest("GET", "/")
    assert event["resource"] == "/" and event["pathParameters"] is None
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_http_builder_shape() -> None:
    event = events.apigw_http("GET", "/a b?x=1&x=2", headers={"Accept": ["a/b", "c/d"]}, cookies=["s=1"])
    assert V2_KEYS <= set(event)
    assert V2_CONTEXT_KEYS <= set(event["requestContext"])
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/a b"  # (decoded, as AWS passes it on)
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["headers"]["accept"] == "a/b,c/d"
    assert all(name == name.lower() for name in event["headers"])
    assert event["cookies"] == ["s=1"]
    assert "body" not in event


def test_function_url_builder_shape() -> None:
    event = events.function_url("POST", "/hook", body=b"\xff\x01")
    assert V2_KEYS <= set(event)
    assert event["requestContext"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    assert event["requestContext"]["apiId"] == event["requestContext"]["domainPrefix"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x01"


def test_alb_builder_shape() -> None:
    single = events.alb("GET", "/p", query={"q": "a b"}, headers={"X-A": "1"})
    assert set(single) == {
        "requestContext",
        "httpMethod",
        "path",
        "body",
        "isBase64Encoded",
        "headers",
        "queryStringParameters",
    }
    assert "targetGroupArn" in single["requestContext"]["elb"]
    assert single["queryStringParameters"] == {"q": "a%20b"}
    assert single["headers"]["x-a"] == "1" and single["body"] == ""
    multi = events.alb("GET", "/p", query={"q": ["1", "2"]}, multi_value=True)
    assert set(multi) == {
        "requestContext",
        "httpMethod",
        "path",
        "body",
        "isBase64Encoded",
        "multiValueHeaders",
        "multiValueQueryStringParameters",
    }
    assert multi["multiValueQueryStringParameters"] == {"q": ["1", "2"]}


def test_builders_make_fresh_request_ids() -> None:
    assert events.apigw_rest()["requestContext"]["requestId"] != events.apigw_rest()["requestContext"]["requestId"]
    assert events.apigw_http(request_id="fixed")["requestContext"]["requestId"] == "fixed"


def test_split_path() -> None:
    assert events.split_path("/a/b?x=1&x=2&y=") == ("/a/b", {"x": ["1", "2"], "y": [""]})
    assert events.split_path("?z=1") == ("/", {"z": ["1"]})


@pytest.mark.parametrize("source", SOURCES)
def test_builders_send_the_path_percent_encoded_as_aws_does(source: str) -> None:
    """REST APIs, ALB, function URLs and Lattice pass the path on as the client sent it: encoded
    (a REST API's `/{proxy+}` parameter too: `{"proxy": "foo%20bar"}` for `/foo%20bar`); an HTTP API
    decodes it, but for an escaped "/" (`apigw_http`)."""
    for sent in ("/foo bar/café", "/foo%20bar/caf%C3%A9"):
        event = TestClient(App(), source=source).build_event("GET", sent + "?q=a b")
        path = event.get("rawPath") or event.get("path")
        assert path == ("/foo bar/café" if source == "http" else "/foo%20bar/caf%C3%A9"), (sent, path)
        if source == "rest":
            assert event["pathParameters"] == {"proxy": "foo%20bar/caf%C3%A9"}
