"""VPC Lattice v1/v2 requests are HTTP requests: routed by the app's routes, answered ALB-style."""

from __future__ import annotations

import json

import pytest

from lift import App, Context, Response
from lift.sources import source_of
from lift.testing import events, lambda_context


def _app() -> App:
    app = App()

    @app.post("/orders/{order_id}")
    def create(ctx: Context, order_id: str, body: dict) -> Response:
        data = {
            "source": ctx.source,
            "id": order_id,
            "body": body,
            "q": ctx.query.get("x"),
            "h": ctx.headers.get("x-a"),
        }
        return Response.json(data, status=201).set_cookie("s", "1")

    return app


def test_lattice_v2_request_is_routed_and_answered() -> None:
    event = events.vpc_lattice("POST", "/orders/7", body={"n": 1}, query={"x": "y"}, headers={"x-a": "b"})
    assert source_of(event) == "lattice"
    out = _app().handler(event, lambda_context())
    assert out["statusCode"] == 201 and out["statusDescription"] == "201 Created"
    assert out["isBase64Encoded"] is False
    assert out["headers"]["Content-Type"] == "application/json"
    assert out["headers"]["Set-Cookie"].startswith("s=1")
    assert json.loads(out["body"]) == {"source": "lattice", "id": "7", "body": {"n": 1}, "q": "y", "h": "b"}


def test_lattice_v1_request_with_a_base64_body() -> None:
    event = events.vpc_lattice("POST", "/orders/8", body={"n": 2}, version="1.0", is_base64=True)
    assert "raw_path" in event and source_of(event) == "lattice"
    out = _app().handler(event, lambda_context())
    assert out["statusCode"] == 201
    assert json.loads(out["body"])["body"] == {"n": 2}


def test_unknown_lattice_path_is_a_404() -> None:
    out = _app().handler(events.vpc_lattice("GET", "/nowhere"), lambda_context())
    assert out["statusCode"] == 404 and json.loads(out["body"])["error"]["code"] == "not_found"


# -- hostile Lattice requests: the caller's (or a hand-made event's) fault is a 4xx, never a 500 ------------
def _echo_app() -> App:
    app = App()

    @app.route("/{path+}", methods=["GET", "POST"])
    def echo(ctx: Context, path: str) -> dict:
        return {"body": ctx.request.text, "headers": len(ctx.request.headers), "query": ctx.query.to_dict()}

    return app


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_body_that_is_not_base64_is_a_400(version) -> None:
    event = events.vpc_lattice("POST", "/orders", body="x", version="1.0" if version == "v1" else "2.0")
    event["body"] = "!!not base64"
    event["is_base64_encoded" if version == "v1" else "isBase64Encoded"] = True
    out = _echo_app().handler(event, None)
    assert out["statusCode"] == 400 and out["statusDescription"] == "400 Bad Request"
    assert json.loads(out["body"])["error"]["code"] == "invalid_base64"


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(("field", "value"), [("body", "caf\udcff"), ("headers", 5), ("method", 5)])
def test_a_field_lattice_never_sends_is_a_400_malformed_event(version, field, value, caplog) -> None:
    caplog.set_level("WARNING", logger="lift")
    event = events.vpc_lattice("POST", "/orders", body="x", version="1.0" if version == "v1" else "2.0")
    event[field] = value
    out = _echo_app().handler(event, None)
    assert out["statusCode"] == 400, out
    error = json.loads(out["body"])["error"]
    assert error["code"] == "malformed_event" and error["details"][0]["path"].startswith(f"$.{field}")
    assert any(r.getMessage().startswith("Malformed lattice event") for r in caplog.records)


# -- path parameters: percent-decoded as on every other HTTP source --------------------------------------
ESCAPED = {
    "/users/a%20b": "a b",
    "/users/caf%C3%A9": "café",
    "/users/a%2Fb": "a/b",  # an escaped "/" is part of the value, not a separator
    "/users/a%2fb": "a/b",
    "/users/50%25off": "50%off",
    "/users/50%": "50%",  # an invalid escape stays as sent
    "/users/%zz": "%zz",
    "/users/%2e%2ex": "..x",
    "/users/plain": "plain",
    "/files/a%20b/c%2Fd": "a b/c/d",  # a greedy parameter: each escape decoded once
    "/files/x%2520y": "x%20y",  # (an escaped escape: decoded once, as the other sources do)
}


def _params_app(middleware: bool) -> App:
    app = App(name="params")
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.get("/users/{user_id}")
    def user(ctx: Context, user_id: str) -> dict:
        return {"value": user_id, "params": ctx.path_params}

    @app.get("/files/{key+}")
    def file(ctx: Context, key: str) -> dict:
        return {"value": key, "params": ctx.path_params}

    return app


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_path_parameters_are_percent_decoded_as_on_the_other_sources(version: str, middleware: bool) -> None:
    app = _params_app(middleware)
    for path, expected in ESCAPED.items():
        out = app.handler(events.vpc_lattice("GET", path, version=version), lambda_context())
        assert out["statusCode"] == 200, (path, out)
        answer = json.loads(out["body"])
        assert answer["value"] == expected, (path, answer)
        assert list(answer["params"].values()) == [expected]
        for build in (events.alb, events.apigw_http, events.function_url):  # one implementation, one answer
            assert json.loads(app.handler(build("GET", path), lambda_context())["body"]) == answer, (build, path)
