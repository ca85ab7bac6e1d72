"""Errors: the LiftError family and body shape, `raise ... from` chains, exception handlers,
custom not-found, unhandled exceptions (500, logged, never leaked), 413 and the 6 MB limit."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import msgspec
import pytest

from lift import App, Context, Response
from lift.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    LiftError,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    find_lift_error,
)
from lift.testing import TestClient, lambda_context

SOURCES = ["rest", "http", "alb", "url"]


def _raising(exc: BaseException) -> App:
    app = App()

    @app.get("/fail")
    def fail(ctx: Context) -> None:
        raise exc

    return app


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (BadRequest("bad input"), 400, "bad_request"),
        (Unauthorized("who are you"), 401, "unauthorized"),
        (Forbidden("not yours"), 403, "forbidden"),
        (NotFound("no such user"), 404, "not_found"),
        (Conflict("exists"), 409, "conflict"),
        (PayloadTooLarge("too big"), 413, "payload_too_large"),
        (ValidationFailed("bad", details=[{"path": "$.a"}]), 422, "validation_failed"),
        (TooManyRequests("slow down"), 429, "too_many_requests"),
        (LiftError(402, "payment_required", "Pay first", {"amount": 5}), 402, "payment_required"),
    ],
)
@pytest.mark.parametrize("source", SOURCES)
def test_lift_error_becomes_the_error_contract(exc: LiftError, status: int, code: str, source: str) -> None:
    ctx = lambda_context(aws_request_id="req-123")
    res = TestClient(_raising(exc), source=source).get("/fail", context=ctx)
    assert res.status_code == status
    assert res.headers["Content-Type"] == "application/json"
    assert res.json() == {
        "error": {"code": code, "message": exc.message, "request_id": "req-123", "details": exc.details}
    }


def test_error_subclasses_keep_default_messages_and_accept_code_and_headers() -> None:
    assert NotFound().message == "Not found"
    err = Conflict("dup", details={"id": 1}, code="duplicate_user", headers={"X-Conflict": "1"})
    res = TestClient(_raising(err)).get("/fail")
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "duplicate_user"
    assert res.json()["error"]["details"] == {"id": 1}
    assert res.headers["X-Conflict"] == "1"


def test_unauthorized_and_too_many_requests_carry_their_headers() -> None:
    res = TestClient(_raising(Unauthorized(challenge='Bearer realm="api"'))).get("/fail")
    assert res.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    res = TestClient(_raising(TooManyRequests(retry_after=30))).get("/fail")
    assert res.status_code == 429 and res.headers["Retry-After"] == "30"


def test_lift_error_is_found_through_raise_from_chains() -> None:
    app = App()

    @app.get("/wrapped")
    def wrapped(ctx: Context) -> None:
        try:
            try:
                raise NotFound("user 7 not found")
            except NotFound as inner:
                raise KeyError("lookup") from inner
        except KeyError as middle:
            raise RuntimeError("repository failed") from middle

    @app.get("/implicit")
    def implicit(ctx: Context) -> None:
        try:
            raise Forbidden("no access")
        except Forbidden:
            raise ValueError("during handling")

    client = TestClient(app)
    res = client.get("/wrapped")
    assert res.status_code == 404
    assert res.json()["error"]["message"] == "user 7 not found"
    assert client.get("/implicit").status_code == 403


def test_find_lift_error_survives_cycles() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert find_lift_error(a) is None
    c = RuntimeError("c")
    c.__cause__ = Conflict("x")
    assert isinstance(find_lift_error(c), Conflict)


@pytest.mark.parametrize("source", SOURCES)
def test_unhandled_exception_is_500_without_its_text_and_logged_with_traceback(
    source: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()

    @app.get("/boom")
    def boom(ctx: Context) -> None:
        raise ValueError("db password=hunter2")

    caplog.set_level(logging.ERROR, logger="lift")
    res = TestClient(app, source=source).get("/boom", context=lambda_context(aws_request_id="req-boom"))
    assert res.status_code == 500
    assert "hunter2" not in res.text and "ValueError" not in res.text
    assert res.json() == {
        "error": {
            "code": "internal_error",
            "message": "Internal server error",
            "request_id": "req-boom",
            "details": None,
        }
    }
    records = [r for r in caplog.records if r.name == "lift" and r.levelno == logging.ERROR]
    assert len(records) == 1
    record = records[0]
    assert "req-boom" in record.getMessage()
    assert getattr(record, "request_id", None) == "req-boom"
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert "hunter2" in caplog.text  # the operator sees the full traceback
    assert "Traceback" in caplog.text


def test_server_side_lift_errors_are_logged_with_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="lift")
    res = TestClient(_raising(LiftError(503, "upstream_down", "Try later"))).get(
        "/fail", context=lambda_context(aws_request_id="req-503")
    )
    assert res.status_code == 503
    assert any("req-503" in r.getMessage() and r.exc_info for r in caplog.records)


def test_exception_handler_registry() -> None:
    class PaymentDeclined(Exception):
        def __init__(self, reason: str) -> None:
            super().__init__(reason)
            self.reason = reason

    class CardExpired(PaymentDeclined):
        pass

    app = App()

    @app.exception_handler(PaymentDeclined)
    def declined(ctx: Context, exc: PaymentDeclined) -> Response:
        return Response.json({"declined": exc.reason, "request_id": ctx.request_id}, status=402)

    @app.exception_handler(KeyError)
    def missing(ctx: Context, exc: KeyError) -> dict:
        return {"missing": str(exc.args[0])}

    @app.exception_handler(LookupError)
    def failing_handler(ctx: Context, exc: LookupError) -> None:
        raise Conflict("handled as conflict")

    app.get("/declined")(lambda: (_ for _ in ()).throw(PaymentDeclined("insufficient funds")))
    app.get("/expired")(lambda: (_ for _ in ()).throw(CardExpired("expired")))
    app.get("/key")(lambda: {}["nope"])
    app.get("/index")(lambda: [][1])

    client = TestClient(app)
    res = client.get("/declined", context=lambda_context(aws_request_id="r1"))
    assert (res.status_code, res.json()) == (402, {"declined": "insufficient funds", "request_id": "r1"})
    assert client.get("/expired").json()["declined"] == "expired"  # subclasses use the base's handler
    key = client.get("/key")
    assert key.status_code == 500 and key.json() == {"missing": "nope"}  # a plain value -> sent with 500
    index = client.get("/index")  # IndexError -> LookupError's handler, which raises a LiftError
    assert index.status_code == 409 and index.json()["error"]["message"] == "handled as conflict"


def test_a_plain_value_from_a_lift_errors_handler_keeps_the_errors_status() -> None:
    app = App()

    @app.exception_handler(NotFound)
    def not_found(ctx: Context, exc: NotFound) -> dict:
        return {"missing": exc.message}

    @app.exception_handler(ZeroDivisionError)
    def division(ctx: Context, exc: ZeroDivisionError) -> dict:
        return {"oops": "division"}

    app.get("/orders/{oid}")(lambda oid: (_ for _ in ()).throw(NotFound(f"order {oid}")))
    app.get("/crash")(lambda: 1 / 0)
    client = TestClient(app)
    res = client.get("/orders/7")
    assert (res.status_code, res.json()) == (404, {"missing": "order 7"})
    crash = client.get("/crash")
    assert (crash.status_code, crash.json()) == (500, {"oops": "division"})


def test_handler_for_exception_catches_unhandled_errors_but_not_lift_errors() -> None:
    app = App()

    @app.exception_handler(Exception)
    def everything(ctx: Context, exc: Exception) -> Response:
        return Response.json({"oops": type(exc).__name__}, status=500)

    @app.exception_handler(Conflict)
    def conflict(ctx: Context, exc: Conflict) -> Response:
        return Response.json({"conflict": exc.message}, status=409)

    app.get("/crash")(lambda: 1 / 0)
    app.get("/conflict")(lambda: (_ for _ in ()).throw(Conflict("taken")))
    client = TestClient(app)
    assert client.get("/crash").json() == {"oops": "ZeroDivisionError"}
    assert client.get("/conflict").json() == {"conflict": "taken"}
    missing = client.get("/missing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_custom_not_found_handler_runs_inside_global_middleware() -> None:
    app = App()

    def stamp(ctx: Context, call_next):
        response = call_next(ctx)
        response.headers["X-Stamped"] = "1"
        return response

    app.use(stamp)

    @app.not_found
    def not_found(ctx: Context) -> dict:
        return {"nothing_at": ctx.path, "method": ctx.method}

    res = TestClient(app).get("/no/such/page")
    assert res.status_code == 404
    assert res.json() == {"nothing_at": "/no/such/page", "method": "GET"}
    assert res.headers["X-Stamped"] == "1"


def test_custom_not_found_handler_returning_a_response_keeps_its_status() -> None:
    app = App()
    app.not_found(lambda ctx: Response.redirect("/home", 302))
    res = TestClient(app).get("/old")
    assert res.status_code == 302 and res.headers["Location"] == "/home"


def test_errors_raised_by_middleware_become_the_error_contract() -> None:
    app = App()

    def guard(ctx: Context, call_next):
        if ctx.headers.get("x-block"):
            raise Forbidden("blocked by guard")
        if ctx.headers.get("x-crash"):
            raise RuntimeError("guard crashed: secret")
        return call_next(ctx)

    app.use(guard)
    app.get("/x")(lambda: {"ok": True})
    client = TestClient(app)
    assert client.get("/x").json() == {"ok": True}
    blocked = client.get("/x", headers={"X-Block": "1"})
    assert blocked.status_code == 403 and blocked.json()["error"]["message"] == "blocked by guard"
    crashed = client.get("/x", headers={"X-Crash": "1"})
    assert crashed.status_code == 500 and "secret" not in crashed.text


@pytest.mark.parametrize("source", SOURCES)
def test_body_over_the_configured_limit_is_413(source: str) -> None:
    app = App(max_body_size=1024)

    @app.post("/upload")
    def upload(body: dict) -> dict:
        return {"keys": len(body)}

    client = TestClient(app, source=source)
    small = client.post("/upload", json={"a": "x" * 100})
    assert small.status_code == 200
    big = client.post("/upload", json={"a": "x" * 5000})
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    assert "1024" in big.json()["error"]["message"]
    big_b64 = client.post(
        "/upload",
        body=msgspec.json.encode({"a": "y" * 5000}),
        is_base64=True,
        headers={"Content-Type": "application/json"},
    )
    assert big_b64.status_code == 413


@pytest.mark.parametrize("source", SOURCES)
def test_body_limit_also_applies_when_the_handler_reads_the_body_itself(source: str) -> None:
    app = App(max_body_size=256)
    app.post("/json")(lambda ctx: {"n": len(ctx.json()["a"])})
    app.post("/raw")(lambda ctx: {"n": len(ctx.body)})
    client = TestClient(app, source=source)
    assert client.post("/json", json={"a": "x" * 10}).json() == {"n": 10}
    for path in ("/json", "/raw"):
        res = client.post(path, json={"a": "x" * 1000})
        assert res.status_code == 413, path
        assert res.json()["error"]["code"] == "payload_too_large"


def test_body_limit_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_MAX_BODY_SIZE", "64")
    app = App()
    app.post("/u")(lambda body: body)
    assert app.max_body_size == 64
    assert TestClient(app).post("/u", json={"k": "v" * 100}).status_code == 413


@pytest.mark.parametrize("source", SOURCES)
def test_response_over_6mb_is_a_clear_500(source: str, caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    app.get("/huge")(lambda: {"data": "x" * (6 * 1024 * 1024)})
    app.get("/huge-binary")(lambda: Response(b"\x00" * (5 * 1024 * 1024), content_type="application/octet-stream"))
    caplog.set_level(logging.ERROR, logger="lift")
    client = TestClient(app, source=source)
    for path in ("/huge", "/huge-binary"):  # 5 MB binary is over 6 MB once base64-encoded
        res = client.get(path, context=lambda_context(aws_request_id="req-big"))
        assert res.status_code == 500
        error = res.json()["error"]
        assert error["code"] == "response_too_large"
        assert ("1 MB" if source == "alb" else "6 MB") in error["message"]  # an ALB refuses over 1 MB
        assert error["request_id"] == "req-big"
        assert len(res.raw["body"]) < 1024
    assert any("req-big" in r.getMessage() for r in caplog.records)


def test_response_just_under_the_limit_is_sent() -> None:
    app = App()
    app.get("/big")(lambda: "x" * (5 * 1024 * 1024))
    res = TestClient(app).get("/big")
    assert res.status_code == 200 and len(res.body) == 5 * 1024 * 1024


# -- the error classes made on first use -------------------------------------------------------------


def test_error_classes_keep_their_public_names() -> None:
    """`from lift.errors import X`, `lift.errors.X` and `import *` give one class each, named
    `lift.errors.X` (reprs, pickling), though they are made on first use."""
    import pickle

    import lift.errors as errors

    namespace: dict[str, object] = {}
    exec("from lift.errors import *", namespace)
    for name in errors.__all__:
        assert namespace[name] is getattr(errors, name)
    for cls in (BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized):
        assert cls is getattr(errors, cls.__name__) and cls.__module__ == "lift.errors"
        assert issubclass(cls, LiftError)
        again = pickle.loads(pickle.dumps(cls("gone")))
        assert type(again) is cls and again.message == "gone"
    assert repr(errors.RecordsFailed) == "<class 'lift.errors.RecordsFailed'>"
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchError'"):
        errors.NoSuchError  # noqa: B018
    with pytest.raises(ImportError):
        exec("from lift.errors import NoSuchError", {})


def test_a_first_request_makes_no_error_class_it_does_not_raise() -> None:
    """`import lift`, an App, its first 200 and a default 404 create none of the 12 error classes
    besides LiftError and ValidationFailed (about 1.4M instructions of a cold start); a handler that
    raises one makes them then, and its answer is as always."""
    code = textwrap.dedent("""
        import json, sys
        from lift import App, Context
        from lift.testing import events, lambda_context

        app = App(name="lazy-errors")

        @app.get("/users/{id}")
        def get_user(ctx: Context, id: int) -> dict:
            return {"id": id}

        @app.get("/gone/{id}")
        def gone(ctx: Context, id: int) -> dict:
            import lift.errors

            raise lift.errors.NotFound("no such user", code="user_not_found")

        def call(path, resource, params=None):
            event = events.apigw_rest("GET", path, resource=resource, path_params=params)
            return app.handler(event, lambda_context())

        answer = call("/users/7", "/users/{id}", {"id": "7"})
        print(json.dumps([answer["statusCode"], json.loads(answer["body"]), "lift.error_classes" in sys.modules]))
        for path, resource, params in (("/nothing", "/{proxy+}", {"proxy": "nothing"}), ("/gone/1", "/gone/{id}", {"id": "1"})):
            answer = call(path, resource, params)
            code = json.loads(answer["body"])["error"]["code"]
            print(json.dumps([answer["statusCode"], code, "lift.error_classes" in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    first, not_found, raised = (json.loads(line) for line in out.stdout.splitlines())
    assert first == [200, {"id": 7}, False], out.stderr
    assert not_found == [404, "not_found", False], out.stderr
    assert raised == [404, "user_not_found", True], out.stderr


@pytest.mark.parametrize("source", SOURCES)
def test_a_body_limit_set_after_registration_applies_to_every_route(source: str) -> None:
    app = App()

    @app.post("/typed/{kind}")
    def typed(kind: str, body: dict) -> dict:
        return {"kind": kind, "keys": len(body)}

    app.post("/raw")(lambda ctx: {"n": len(ctx.body)})
    client = TestClient(app, source=source)
    assert client.post("/typed/a", json={"a": "x" * 500}).status_code == 200  # prepared under the 6 MB default
    app.max_body_size = 256
    for path in ("/typed/a", "/raw"):
        res = client.post(path, json={"a": "x" * 500})
        assert res.status_code == 413, path
        assert "256" in res.json()["error"]["message"]
    assert client.post("/typed/b", json={"a": "x"}).json() == {"kind": "b", "keys": 1}
    app.max_body_size = 4096
    assert client.post("/typed/a", json={"a": "x" * 500}).json() == {"kind": "a", "keys": 1}
    with pytest.raises(ValueError, match="max_body_size"):
        app.max_body_size = 0
