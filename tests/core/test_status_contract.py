"""An HTTP status outside 100-599 never reaches API Gateway (which would answer the client 502).

A `Response`, a `LiftError` (and a subclass's own `status`) and a route's `status=` refuse one when
they are made, with an error naming the value; a Response or error whose status was set to one
afterwards is answered with the error contract's 500 and one ERROR line carrying the request id, on
every HTTP source and under ASGI.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

import httpx
import pytest

from lift import App, Context, Response
from lift.errors import LiftError, NotFound
from lift.middleware import request_id
from lift.testing import lambda_context
from tests.core.http_events import BUILDERS
from tests.servers import Served

SOURCES = ["rest", "http", "alb", "url", "lattice"]


@pytest.mark.parametrize("status", [0, 99, 600, 999, -200, 10**6])
def test_a_response_with_a_status_out_of_range_is_refused_naming_it(status: int) -> None:
    with pytest.raises(ValueError, match=rf"HTTP status must be from 100 to 599, got {status}"):
        Response({"a": 1}, status)
    with pytest.raises(ValueError, match=str(status)):
        Response.json({"a": 1}, status=status)
    with pytest.raises(ValueError, match=str(status)):
        LiftError(status, "odd", "odd status")


@pytest.mark.parametrize("status", ["200", 200.0, True, None, b"200"])
def test_a_response_with_a_status_that_is_not_an_int_is_refused_naming_it(status: object) -> None:
    with pytest.raises(TypeError, match=rf"got {status!r} \({type(status).__name__}\)"):
        Response(None, status)  # type: ignore[arg-type]
    if not isinstance(status, str | type(None)):
        with pytest.raises(TypeError, match=type(status).__name__):
            LiftError(status, "odd", "odd status")  # type: ignore[arg-type]


def test_valid_statuses_are_kept_as_plain_ints() -> None:
    created = Response({"id": 1}, HTTPStatus.CREATED)
    assert created.status == 201 and type(created.status) is int
    assert LiftError(HTTPStatus.PAYMENT_REQUIRED, "pay", "Pay first").status == 402
    assert LiftError("404", "gone", "Gone").status == 404  # a string of digits, as before
    assert LiftError("just a message").status == 500
    assert Response(None, 100).status == 100 and Response(None, 599).status == 599


def test_a_lift_error_subclass_with_a_bad_status_fails_when_it_is_defined() -> None:
    with pytest.raises(ValueError, match="got 1000"):

        class Odd(LiftError):
            status = 1000

    class Teapot(LiftError):
        status = HTTPStatus.IM_A_TEAPOT
        code = "teapot"

    assert Teapot().status == 418 and type(Teapot.status) is int


def test_a_route_with_a_bad_status_is_refused_at_registration() -> None:
    app = App()
    with pytest.raises(ValueError, match="got 600"):

        @app.post("/things", status=600)
        def create() -> dict:
            return {}

    with pytest.raises(TypeError, match="'201'"):
        app.post("/things", status="201")(lambda: {})
    app.post("/things", status=HTTPStatus.CREATED)(lambda: {"ok": True})
    assert app.routes[0].methods["POST"].status == 201


def make_app(*, middleware: bool) -> App:
    app = App(name="status")
    if middleware:
        app.use(request_id())

    @app.get("/mutated/{status}")
    def mutated(ctx: Context, status: int) -> Response:
        response = Response({"ok": True})
        response.status = status  # past the constructor's check: caught before the answer is sent
        return response

    @app.get("/enum")
    def enum(ctx: Context) -> Response:
        response = Response({"ok": True})
        response.status = HTTPStatus.ACCEPTED  # valid, if not a plain int
        return response

    @app.get("/informational/{status}")
    def informational(ctx: Context, status: int) -> Response:
        return Response({"ok": True}, status)  # (a 1xx passes the constructor: it is an HTTP status)

    @app.get("/error/{status}")
    def error(ctx: Context, status: int) -> dict:
        err = NotFound("no such thing")
        err.status = status
        raise err

    return app


def _one_error_line(caplog: pytest.LogCaptureFixture, request_id: str) -> logging.LogRecord:
    lines = [r for r in caplog.records if r.name == "lift" and r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.ERROR and request_id in lines[0].getMessage()
    assert lines[0].request_id == request_id  # type: ignore[attr-defined]
    return lines[0]


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("path", ["/mutated/1000", "/mutated/0", "/error/700"])
def test_a_result_carrying_a_bad_status_answers_a_structured_500_and_one_error_line(
    source: str, middleware: bool, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lift")
    app = make_app(middleware=middleware)
    result = app.handler(BUILDERS[source]("GET", path), lambda_context(aws_request_id="req-bad-status"))
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "error": {
            "code": "internal_error",
            "message": "Internal server error",
            "request_id": "req-bad-status",
            "details": None,
        }
    }
    line = _one_error_line(caplog, "req-bad-status")
    assert path.rpartition("/")[2] in line.getMessage()  # names the status it refused


@pytest.mark.parametrize("source", SOURCES)
def test_a_valid_status_that_is_not_a_plain_int_is_sent(source: str) -> None:
    result = make_app(middleware=False).handler(BUILDERS[source]("GET", "/enum"), lambda_context())
    assert result["statusCode"] == 202 and type(result["statusCode"]) is int


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_asgi_answers_a_bad_status_with_a_structured_500_and_one_error_line(
    middleware: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lift")
    app = make_app(middleware=middleware)

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return [await client.get(path) for path in ("/mutated/1000", "/error/42", "/enum")]

    mutated, error, enum = asyncio.run(go())
    for response in (mutated, error):
        assert response.status_code == 500
        body = response.json()["error"]
        assert body["code"] == "internal_error" and body["request_id"]
    assert enum.status_code == 202
    lines = [r for r in caplog.records if r.name == "lift" and r.levelno >= logging.WARNING]
    assert [r.levelno for r in lines] == [logging.ERROR, logging.ERROR]
    assert "1000" in lines[0].getMessage() and "42" in lines[1].getMessage()
    assert mutated.json()["error"]["request_id"] in lines[0].getMessage()


INFORMATIONAL = ["/informational/100", "/informational/101", "/informational/103", "/informational/199", "/error/101"]


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("path", INFORMATIONAL)
def test_a_handler_answering_a_1xx_gets_a_structured_500_and_one_error_line_on_every_source(
    source: str, middleware: bool, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 1xx is no final answer (101 switches protocols, which Lift never does): API Gateway would
    answer the client 502 for one, an ASGI server drops the connection."""
    caplog.set_level(logging.INFO, logger="lift")
    app = make_app(middleware=middleware)
    result = app.handler(BUILDERS[source]("GET", path), lambda_context(aws_request_id="req-1xx"))
    assert (result["statusCode"], json.loads(result["body"])["error"]) == (
        500,
        {"code": "internal_error", "message": "Internal server error", "request_id": "req-1xx", "details": None},
    )
    assert path.rpartition("/")[2] in _one_error_line(caplog, "req-1xx").getMessage()


@pytest.mark.parametrize("middleware", [False, True], ids=["direct", "middleware"])
def test_a_1xx_answer_under_uvicorn_is_the_500_not_a_dropped_connection(
    middleware: bool, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("uvicorn", reason="uvicorn (the dev extra) is installed only where the tooling is tested")
    caplog.set_level(logging.INFO, logger="lift")
    served = Served(make_app(middleware=middleware).asgi)
    try:
        with httpx.Client(base_url=served.url, timeout=10) as client:
            responses = [client.get(path) for path in INFORMATIONAL]
    finally:
        served.stop()
    lines = [r for r in caplog.records if r.name == "lift" and r.levelno >= logging.WARNING]
    assert [r.levelno for r in lines] == [logging.ERROR] * len(INFORMATIONAL)
    for path, response, line in zip(INFORMATIONAL, responses, lines, strict=True):
        body = response.json()["error"]
        assert (response.status_code, body["code"]) == (500, "internal_error"), path
        assert body["request_id"] in line.getMessage() and path.rpartition("/")[2] in line.getMessage()


def test_a_route_answering_a_1xx_is_refused_at_registration() -> None:
    app = App()
    with pytest.raises(ValueError, match="HTTP status 101 is informational"):
        app.get("/switch", status=101)(lambda: {})
