"""Running the real `lift` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class CLIResult:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}>"


def run_cli(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
    columns: str | None = "200",
) -> CLIResult:
    """`python -m lift.cli ARGS` with this interpreter (lift is installed in its environment);
    `columns=None`: no COLUMNS, as in a CI log or a pipe (Rich then assumes 80 columns)."""
    env = {**os.environ, "COLUMNS": columns or "", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    if columns is None:
        del env["COLUMNS"]
    proc = subprocess.run(
        [sys.executable, "-m", "lift.cli", *args],
        cwd=cwd or ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return CLIResult(proc)


@pytest.fixture
def cli():
    return run_cli


EVENTS_APP = """
    import pathlib

    import msgspec
    from lift import App, Context
    from lift.middleware import request_id

    LOG = pathlib.Path(__file__).with_name("triggers.log")


    def note(line: str) -> None:
        with LOG.open("a") as log:
            log.write(line + "\\n")

    app = App(name="orders-service")
    app.use(request_id())


    class Order(msgspec.Struct):
        order_id: str
        amount: float


    @app.sqs("orders")
    def process_order(ctx: Context, body: Order) -> None:
        if body.amount < 0:
            raise ValueError("negative amount")


    @app.s3("uploads", events=["ObjectCreated:*"])
    def on_upload(ctx: Context) -> dict:
        note(f"s3 {ctx.record.key}")
        return {"key": ctx.record.key}


    @app.eventbridge(source="payments", detail_type="PaymentSettled")
    def settled(ctx: Context, body: dict) -> dict:
        note(f"settled {body}")
        return {"settled": body}


    @app.schedule("nightly-report")
    def nightly(ctx: Context) -> str:
        note("report done")
        return "report done"


    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}
"""


@pytest.fixture
def events_project(tmp_path: Path) -> Path:
    """A project directory whose app.py registers HTTP and event-source handlers."""
    (tmp_path / "app.py").write_text(textwrap.dedent(EVENTS_APP))
    return tmp_path
