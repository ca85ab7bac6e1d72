"""Application Load Balancer targets: with and without multi-value headers, percent-encoded
queries, and responses with `statusDescription` in the header mode the request used."""

from __future__ import annotations

import base64
import json

import pytest

from lift import App, Context, Response
from lift.sources import source_of
from lift.testing import TestClient, events, lambda_context


@pytest.fixture
def app() -> App:
    app = App()

    @app.route("/things/{name}", methods=["GET", "POST"])
    def thing(ctx: Context, name: str) -> dict:
        return {
            "name": name,
            "query": ctx.query.to_dict(),
            "accept": ctx.headers.getall("accept"),
            "ip": ctx.request.source_ip,
            "body": ctx.body.decode("latin-1"),
        }

    @app.get("/cookies")
    def cookies(ctx: Context) -> Response:
        resp = Response.json({"ok": True})
        resp.set_cookie("a", "1")
        resp.set_cookie("b", "2")
        resp.set_cookie("c", "3")
        return resp

    @app.post("/made", status=201)
    def made() -> dict:
        return {"made": True}

    @app.get("/zip")
    def zipped() -> Response:
        return Response.binary(b"PK\x03\x04\x00\xff", "application/zip")

    return app


def _data(out: dict) -> dict:
    return json.loads(out["body"])


def test_detected_as_alb() -> None:
    assert source_of(events.alb("GET", "/x")) == "alb"
    assert source_of(events.alb("GET", "/x", multi_value=True)) == "alb"


def test_percent_encoded_query_is_decoded(app: App) -> None:
    event = events.alb("GET", "/things/x", query={"q": "a b&c", "emoji": "\u2713"})
    assert event["queryStringParameters"] == {"q": "a%20b%26c", "emoji": "%E2%9C%93"}
    assert _data(app.handler(event, lambda_context()))["query"] == {"q": ["a b&c"], "emoji": ["\u2713"]}


def test_plus_in_query_is_a_space(app: App) -> None:
    event = events.alb("GET", "/things/x")
    event["queryStringParameters"] = {"q": "hello+world"}
    assert _data(app.handler(event, lambda_context()))["query"] == {"q": ["hello world"]}


def test_multi_value_mode(app: App) -> None:
    event = events.alb(
        "GET", "/things/x", multi_value=True, headers={"Accept": ["a/b", "c/d"]}, query={"tag": ["x y", "z"]}
    )
    assert "headers" not in event and "queryStringParameters" not in event
    assert event["multiValueQueryStringParameters"] == {"tag": ["x%20y", "z"]}
    out = app.handler(event, lambda_context())
    assert _data(out)["accept"] == ["a/b", "c/d"]
    assert _data(out)["query"] == {"tag": ["x y", "z"]}
    assert "multiValueHeaders" in out and "headers" not in out
    assert out["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert out["statusDescription"] == "200 OK"


def test_single_value_mode_response_uses_headers(app: App) -> None:
    out = app.handler(events.alb("POST", "/made"), lambda_context())
    assert out["statusCode"] == 201
    assert out["statusDescription"] == "201 Created"
    assert out["headers"]["Content-Type"] == "application/json"
    assert "multiValueHeaders" not in out
    assert out["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("status", "description"), [(404, "404 Not Found"), (405, "405 Method Not Allowed"), (204, "204 No Content")]
)
def test_status_description_for_every_status(status: int, description: str) -> None:
    app = App()
    app.get("/s")(lambda: Response(None, status))
    app.post("/only-post")(lambda: {})
    path = {404: "/missing", 405: "/only-post", 204: "/s"}[status]
    out = app.handler(events.alb("GET", path), lambda_context())
    assert (out["statusCode"], out["statusDescription"]) == (status, description)


def test_the_status_lines_written_without_lookup_are_the_standard_phrases() -> None:
    from http import HTTPStatus

    from lift.sources.alb import STATUS_LINES

    renamed = {422: "Unprocessable Content"}  # RFC 9110's name (HTTPStatus has it from Python 3.13)
    assert STATUS_LINES == {s: f"{s} {renamed.get(s) or HTTPStatus(s).phrase}" for s in STATUS_LINES}


def test_status_descriptions_use_rfc_9110_names_on_every_python() -> None:
    # Python 3.13 renamed four phrases; an ALB answer must not depend on the Lambda runtime's version
    app = App(max_body_size=16)

    @app.post("/small")
    def small(body: dict[str, int]) -> dict:
        return body

    app.get("/range")(lambda: Response(None, 416))
    app.get("/long")(lambda: Response(None, 414))
    big = app.handler(
        events.alb("POST", "/small", body='{"a": ' + "1" * 40 + "}", headers={"Content-Type": "application/json"}),
        lambda_context(),
    )
    assert (big["statusCode"], big["statusDescription"]) == (413, "413 Content Too Large")
    for path, line in (("/range", "416 Range Not Satisfiable"), ("/long", "414 URI Too Long")):
        out = app.handler(events.alb("GET", path), lambda_context())
        assert out["statusDescription"] == line


@pytest.mark.parametrize("multi_value", [False, True])
def test_the_default_404_and_an_invalid_body_have_their_status_lines(multi_value: bool) -> None:
    app = App()

    @app.post("/typed")
    def typed(body: dict[str, int]) -> dict:
        return body

    missing = app.handler(events.alb("GET", "/missing", multi_value=multi_value), lambda_context())
    invalid = app.handler(
        events.alb(
            "POST", "/typed", body='{"a": "x"}', headers={"Content-Type": "application/json"}, multi_value=multi_value
        ),
        lambda_context(),
    )
    assert (missing["statusCode"], missing["statusDescription"]) == (404, "404 Not Found")
    assert (invalid["statusCode"], invalid["statusDescription"]) == (422, "422 Unprocessable Content")
    key = "multiValueHeaders" if multi_value else "headers"
    assert missing[key]["Content-Type"] == invalid[key]["Content-Type"]


def test_unknown_status_code_still_has_a_description() -> None:
    app = App()
    app.get("/odd")(lambda: Response(None, 599))
    out = app.handler(events.alb("GET", "/odd"), lambda_context())
    assert out["statusDescription"].startswith("599")


def test_cookies_in_multi_value_mode(app: App) -> None:
    out = app.handler(events.alb("GET", "/cookies", multi_value=True), lambda_context())
    assert [c.split(";")[0] for c in out["multiValueHeaders"]["Set-Cookie"]] == ["a=1", "b=2", "c=3"]


def test_cookies_in_single_value_mode_are_all_delivered(app: App) -> None:
    out = app.handler(events.alb("GET", "/cookies"), lambda_context())
    set_cookie = {k: v for k, v in out["headers"].items() if k.lower() == "set-cookie"}
    assert len(set_cookie) == 3  # distinct casings carry one cookie each
    assert sorted(v.split(";")[0] for v in set_cookie.values()) == ["a=1", "b=2", "c=3"]


def test_source_ip_from_x_forwarded_for(app: App) -> None:
    event = events.alb("GET", "/things/x", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    assert _data(app.handler(event, lambda_context()))["ip"] == "203.0.113.9"


def test_binary_request_and_response(app: App) -> None:
    raw = b"\x00\x01\x02\xfe"
    event = events.alb("POST", "/things/x", body=raw, headers={"Content-Type": "application/octet-stream"})
    assert event["isBase64Encoded"] is True
    assert _data(app.handler(event, lambda_context()))["body"].encode("latin-1") == raw
    out = app.handler(events.alb("GET", "/zip"), lambda_context())
    assert out["isBase64Encoded"] is True and base64.b64decode(out["body"]) == b"PK\x03\x04\x00\xff"


def test_encoded_path_parameter_is_decoded() -> None:
    app = App()
    app.get("/files/{name}")(lambda name: {"name": name})
    event = events.alb("GET", "/files/x")
    event["path"] = "/files/report%202024.pdf"
    assert json.loads(app.handler(event, lambda_context())["body"]) == {"name": "report 2024.pdf"}


def test_client_for_alb(app: App) -> None:
    client = TestClient(app, source="alb", multi_value=True)
    res = client.get("/things/y?tag=1&tag=2")
    assert res.json()["query"] == {"tag": ["1", "2"]}
    assert client.last_event["requestContext"]["elb"]["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:")
