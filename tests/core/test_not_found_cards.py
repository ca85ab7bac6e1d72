"""The default 404 quotes the path, and error bodies never carry a card number: one in an unknown
path is masked, on the inline 404 (no middleware) and through a middleware chain, on every HTTP source."""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from urllib.parse import quote, unquote

import pytest

from lift import App
from lift.testing import events, lambda_context, trigger_events
from tests.core.asgi_get import asgi_get

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


# -- a card number the client encoded: decoded, then masked (never echoed in any form) ----------------
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "4111111111111111")  # "４１１１..." (an IME's digits)
ENCODED_PATHS = [
    "/pay/4111%201111%201111%201111",  # spaces escaped
    "/pay/4111%2D1111%2D1111%2D1111",  # dashes escaped
    "/pay/4111%2d1111%2d1111%2d1111",  # (lower case)
    "/pay/4111+1111+1111+1111",  # a form's spaces
    "/pay/4111%2B1111%2B1111%2B1111",  # (escaped)
    "/pay/%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31",  # every digit escaped
    "/pay/4111%25201111%25201111%25201111",  # an escape of an escape
    "/pay/" + quote(FULL_WIDTH),  # full-width digits, as a URL carries them
    "/pay/" + quote("4111\u30001111\u30001111\u30001111"),  # an ideographic space between groups
    "/pay/5500%200055%205555%205559",
]
LATTICE = {
    "lattice": trigger_events.vpc_lattice,
    "lattice1": lambda m, p: trigger_events.vpc_lattice(m, p, version="1.0"),
}


def _decoded_digits(text: str) -> str:
    """Every digit `text` holds, in any form a reader could turn back into the number."""
    for _ in range(4):
        text = unquote(text)
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _assert_masked(message: str) -> None:
    digits = _decoded_digits(message)
    assert "4111111111111111" not in digits and "5500005555555559" not in digits, message
    assert "******" in message, message


@pytest.mark.parametrize("info", [False, True], ids=["quiet", "info"])
@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", [*BUILDERS, *LATTICE])
def test_a_card_number_the_client_encoded_is_decoded_then_masked(
    source: str, middleware: bool, info: bool, caplog
) -> None:
    caplog.set_level(logging.INFO if info else logging.WARNING, logger="lift")
    app = make_app(middleware)
    build = BUILDERS.get(source) or LATTICE[source]
    for path in ENCODED_PATHS:
        caplog.clear()
        answer = app.handler(build("GET", path), lambda_context(aws_request_id="req-card"))
        assert answer["statusCode"] == 404, (path, answer)
        error = json.loads(answer["body"])["error"]
        assert error["code"] == "not_found" and error["message"].startswith("No route for GET /pay/"), error
        _assert_masked(error["message"])
        lines = [r.getMessage() for r in caplog.records if r.name == "lift"]
        assert len(lines) == (1 if info else 0), lines
        for line in lines:  # the 4xx line quotes the path too (where the request went)
            assert "req-card" in line
            _assert_masked(line)


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_encoded_digits_that_are_not_a_card_number_are_quoted_as_sent(middleware: bool) -> None:
    app = make_app(middleware)
    for path in ("/orders/1234%20567890123", "/x/2026%2D12%2D05%2B1234567", "/a+b/4111%201111%201111%201112"):
        answer = app.handler(events.apigw_rest("GET", path), lambda_context())
        assert json.loads(answer["body"])["error"]["message"] == f"No route for GET {path}"


@pytest.mark.parametrize("base", ["", "/v1"], ids=["unmapped", "mapped"])
@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_an_encoded_card_number_is_masked_behind_a_custom_domain(base: str, middleware: bool) -> None:
    """A REST API on a custom domain (with or without a base path mapping), and an app with a base path."""
    for app in (make_app(middleware), App(name="based", base_path="/v1")):
        for path in ENCODED_PATHS:
            proxy = unquote(path).lstrip("/")  # API Gateway decodes path parameters
            event = events.apigw_rest(
                "GET", f"{base}{path}", resource="/{proxy+}", path_params={"proxy": proxy}, domain="api.example.com"
            )
            answer = app.handler(event, lambda_context())
            assert answer["statusCode"] == 404, (base, path, answer)
            _assert_masked(json.loads(answer["body"])["error"]["message"])


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_the_asgi_adapter_masks_a_card_number_in_any_form(middleware: bool) -> None:
    """ASGI servers decode the path (scope["path"]): `+`, spaces and other scripts' digits stay."""
    app = make_app(middleware)

    async def go() -> list[tuple[int, dict]]:
        return [await asgi_get(app, path.encode()) for path in ENCODED_PATHS]

    for path, (status, body) in zip(ENCODED_PATHS, asyncio.run(go()), strict=True):
        assert status == 404, (path, body)
        _assert_masked(body["error"]["message"])
