"""The warm request path keeps what it learns about one event for the next (which domain is API
Gateway's own, which is a function URL's): events of every HTTP source and domain, interleaved in
one execution environment, must each get their own answer."""

from __future__ import annotations

import json

import pytest

from lift import App, Context
from lift.testing import events, lambda_context


def make_app() -> App:
    app = App(name="users")

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: int) -> dict:
        return {"id": user_id, "source": ctx.source, "path": ctx.path, "params": ctx.path_params}

    @app.get("/v1/users/{user_id}")
    def get_v1_user(ctx: Context, user_id: int) -> dict:  # what a custom domain's mapping must not reach
        return {"v1": user_id}

    return app


def _on_domain(event: dict, domain: str) -> dict:
    """The event as AWS sends it through a custom domain name (only the domain fields differ)."""
    event["requestContext"]["domainName"] = domain
    event["requestContext"]["domainPrefix"] = domain.split(".")[0]
    return event


def interleaved() -> list[tuple[str, dict, dict]]:
    """(name, event, the answer's body) for every HTTP source, API Gateway's own domains and custom ones."""
    own = {"id": 5, "path": "/users/5", "params": {"user_id": "5"}}
    rest_route = {"resource": "/users/{user_id}", "path_params": {"user_id": "5"}}
    custom_v2 = events.apigw_http("GET", "/v1/users/5", route_key="GET /users/{user_id}")
    custom_v2["pathParameters"] = {"user_id": "5"}
    own_v2 = events.apigw_http("GET", "/users/5", route_key="GET /users/{user_id}")
    own_v2["pathParameters"] = {"user_id": "5"}
    return [
        ("rest", events.apigw_rest("GET", "/users/5", **rest_route), {**own, "source": "rest"}),
        (
            "rest, custom domain",
            events.apigw_rest("GET", "/v1/users/5", domain="api.example.com", **rest_route),
            {**own, "source": "rest"},
        ),
        ("rest, v1 route", events.apigw_rest("GET", "/v1/users/5"), {"v1": 5}),
        ("http", own_v2, {**own, "source": "http"}),
        ("http, custom domain", _on_domain(custom_v2, "api.example.com"), {**own, "source": "http"}),
        ("function url", events.function_url("GET", "/users/5"), {**own, "source": "url"}),
        ("http, $default route", events.apigw_http("GET", "/users/5"), {**own, "source": "http"}),
        ("alb", events.alb("GET", "/users/5"), {**own, "source": "alb"}),
        ("function url, v1 route", events.function_url("GET", "/v1/users/5"), {"v1": 5}),
    ]


@pytest.mark.parametrize("rounds", [2])
def test_interleaved_sources_and_domains_each_get_their_own_answer(rounds: int) -> None:
    app = make_app()
    cases = interleaved()
    for _ in range(rounds):
        for order in (cases, cases[::-1]):
            for name, event, expected in order:
                out = app.handler(event, lambda_context())
                assert out["statusCode"] == 200, (name, out)
                assert json.loads(out["body"]) == expected, name


def test_a_hook_added_on_the_instance_runs_after_every_source() -> None:
    app = make_app()
    seen: list[str] = []
    app.on_invocation_end(lambda event: seen.append("end"))
    for _name, event, _expected in interleaved():
        app.handler(event, lambda_context())
    assert seen == ["end"] * len(interleaved())
