"""The default 404 quotes the path, and error bodies never carry a card number: one in an unknown
path is masked, on the inline 404 (no middleware) and through a middleware chain, on every HTTP source."""

from __future__ import annotations

import json
import logging

import pytest

from lift import App
from lift.testing import events, lambda_context

BUILDERS = {"rest": events.apigw_rest, "http": events.apigw_http, "alb": events.alb, "url": events.function_url}
CARD_PATHS = ["/pay/4111111111111111", "/pay/4111-1111-1111-1111", "/5500005555555559"]


def make_app(middleware: bool) -> App:
    app = App(name="cards")
    if middleware:
        app.use(lambda ctx, call_next: call_next(ctx))

    @app.get("/users/{id}")
    def get_user(id: int) -> dict:
        return {"id": id}

    return app


@pytest.mark.parametrize("info", [False, True], ids=["quiet", "info"])
@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", BUILDERS)
def test_a_card_number_in_an_unknown_path_is_masked_in_the_404(
    source: str, middleware: bool, info: bool, caplog
) -> None:
    caplog.set_level(logging.INFO if info else logging.WARNING, logger="lift")
    app = make_app(middleware)
    for path in CARD_PATHS:
        answer = app.handler(BUILDERS[source]("GET", path), lambda_context())
        assert answer["statusCode"] == 404
        error = json.loads(answer["body"])["error"]
        assert error["code"] == "not_found" and error["message"].startswith("No route for GET /")
        digits = "".join(ch for ch in error["message"] if ch.isdigit())
        assert "4111111111111111" not in digits and "5500005555555559" not in digits, error["message"]
        assert "******" in error["message"]


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_digits_that_are_not_a_card_number_are_quoted_as_sent(middleware: bool) -> None:
    app = make_app(middleware)
    for path in ("/orders/1234567890123", "/x/2026-12-05", "/v1/12/34"):
        answer = app.handler(events.apigw_rest("GET", path), lambda_context())
        assert json.loads(answer["body"])["error"]["message"] == f"No route for GET {path}"
