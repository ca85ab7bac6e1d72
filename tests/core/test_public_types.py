"""Lift ships `py.typed`: a user's own type checker reads Lift's hints. This runs mypy --strict on a
small app written the way the README writes one, and checks it sees exactly the one mistake in it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_APP = textwrap.dedent(
    """
    from __future__ import annotations

    import msgspec

    from lift import App, Context, Response
    from lift.errors import BadRequest, LiftError, NotFound


    class NotAnOrder(BadRequest):  # users subclass the error classes
        code = "not_an_order"


    class Order(msgspec.Struct):
        id: int


    app = App(name="typed")


    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> Order:
        if order_id < 0:
            raise NotAnOrder("negative id")
        if order_id == 0:
            raise NotFound("no such order")
        return Order(order_id)


    @app.sqs("orders")
    def on_order(ctx: Context, body: Order) -> None:
        ctx.logger.info("order %s", body.id)


    @app.exception_handler(KeyError)
    def missing_key(ctx: Context, exc: KeyError) -> Response:
        return Response.json({"missing": str(exc)}, status=400)


    def refuse() -> BadRequest:
        return BadRequest("bad", details=[{"location": "body"}])


    def first_error(errors: list[LiftError]) -> int:
        return errors[0].status


    def content_type(ctx: Context) -> str | None:
        return ctx.headers.get("content-type")


    def header_or_default(ctx: Context) -> str:
        return ctx.headers.get("x-tenant", "default")


    order: Order = get_order(Context(app, {}, None, "rest"), 1)  # a decorated handler keeps its type
    """
)
MISTAKE = 'wrong: Order = get_order(Context(app, {}, None, "rest"), "1")  # the one mistake\n'


@pytest.mark.timeout(240)
def test_a_users_strict_type_checker_accepts_lift_apps_and_catches_their_mistakes(tmp_path: Path) -> None:
    source = tmp_path / "user_app.py"
    source.write_text(USER_APP + MISTAKE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--follow-imports",
            "silent",
            "--ignore-missing-imports",
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    mistake_line = len((USER_APP + MISTAKE).splitlines())
    assert len(errors) == 1, result.stdout
    assert f"user_app.py:{mistake_line}:" in errors[0] and "arg-type" in errors[0], errors
