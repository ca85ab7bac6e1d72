"""Lift apps driven by AWS's own runtime interface client (awslambdaric), as Lambda runs them.

Each test starts one runtime process (Lift's Runtime API emulator, lift.dev.runtime_api) and sends it
all its events, so the whole module costs a few runtime starts.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lift.dev.runtime_api import RuntimeEmulator
from lift.testing import events

pytest.importorskip("awslambdaric")

CARD = "4111111111111111"


def write_app(tmp_path: Path, source: str, name: str = "fn") -> Path:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return tmp_path


def json_lines(logs: str) -> list[dict]:
    """Every line the runtime printed, each of which must be one JSON object."""
    return [json.loads(line) for line in logs.splitlines() if line.strip()]


UPLOADS = """
    from lift import App, Context

    app = App(name="uploads")


    @app.s3("uploads")
    def on_upload(ctx: Context) -> None:
        ctx.metrics.add("Uploads", 1, unit="Count")
        if ctx.record.key.startswith("bad/"):
            raise RuntimeError("unreadable upload")


    handler = app.handler
"""


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_the_cores_failure_line_is_lifts_json_with_card_numbers_masked_under_the_runtimes_logging(tmp_path, log_format):
    """An app that never touches ctx.logger: awslambdaric's own root handler was still in place when
    the core logged a record's failure, so the line came out in the runtime's text ("[ERROR]\\t..."),
    with the card number in the object key in clear, and the EMF line printed next was glued to the
    end of its traceback (no JSON a log query could read)."""
    write_app(tmp_path, UPLOADS)
    env = {"AWS_LAMBDA_LOG_FORMAT": log_format}
    with RuntimeEmulator("fn.handler", cwd=tmp_path, env=env) as rt:
        failed = rt.invoke(events.s3("uploads", f"bad/{CARD}.csv"))
        assert failed.kind == "error" and failed.error["errorType"] == "RuntimeError"
        assert CARD not in failed.logs
        # (the runtime's own report of the exception follows: its text, or its JSON with errorType)
        lines = [json.loads(line) for line in failed.logs.splitlines() if line.startswith("{")]
        (failure,) = [line for line in lines if line.get("logger") == "lift"]
        assert failure["level"] == "ERROR" and failure["request_id"] == failed.request_id
        assert "bad/411111******1111.csv" in failure["message"]
        assert failure["exception"]["type"] == "RuntimeError"
        (emf,) = [line for line in lines if "_aws" in line]
        assert emf["Uploads"] == 1 and emf["request_id"] == failed.request_id

        ok = rt.invoke(events.s3("uploads", "good/a.csv"))  # the next invocation: its metrics only
        assert ok.ok
        (emf,) = json_lines(ok.logs)
        assert emf["Uploads"] == 1 and emf["request_id"] == ok.request_id
        assert rt.starts == 1


SHUTDOWN = """
    import os
    import pathlib

    from lift import App, Context

    app = App(name="conns")


    class Connection:
        def close(self) -> None:
            pathlib.Path(os.environ["CLOSED_FILE"]).write_text("closed")


    app.resource("db", Connection)


    @app.invoke
    def run(ctx: Context, body: dict) -> int:
        ctx.resource("db")
        return os.getpid()


    handler = app.handler
"""


def test_sigterm_at_shutdown_closes_resources_while_the_runtime_waits_for_an_event(tmp_path):
    """With an extension, Lambda sends SIGTERM to an idle runtime and SIGKILL 500 ms later. The
    runtime client waits for the next event in a C call that retries on EINTR, so Lift's Python
    handler never ran: the environment was killed with its resources open (nothing flushed)."""
    write_app(tmp_path, SHUTDOWN)
    closed = tmp_path / "closed"
    env = {"LIFT_SHUTDOWN_ON_SIGTERM": "1", "CLOSED_FILE": str(closed)}
    with RuntimeEmulator("fn.handler", cwd=tmp_path, env=env) as rt:
        first, second = rt.invoke({}), rt.invoke({})
        assert first.ok and second.payload == first.payload  # one environment
        assert rt.shutdown(grace=30) == 0  # (ended by SIGTERM within the grace, not by SIGKILL)
        assert closed.read_text() == "closed"
        again = rt.invoke({})  # a new environment
        assert again.ok and again.payload != first.payload and rt.starts == 2


SNAPSTART = """
    import os
    import random

    from lift import App, Context

    random.seed(7)  # what every copy restored from one snapshot would share
    app = App(name="snap")
    made = []
    app.resource("client", lambda: made.append(os.getpid()) or len(made))


    @app.invoke
    def run(ctx: Context, body: dict) -> dict:
        return {"client": ctx.resource("client"), "made": len(made), "draw": random.random()}


    handler = app.handler
"""


def test_snapstart_hooks_run_under_the_runtime_client(tmp_path):
    """awslambdaric runs the before-snapshot hooks, then waits on /runtime/restore/next, then runs
    the after-restore ones. The emulator answered 404 there, so a SnapStart function could not start
    (an init error) and Lift's hooks could not be run under the real runtime."""
    write_app(tmp_path, SNAPSTART)
    with RuntimeEmulator("fn.handler", cwd=tmp_path, env={"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}) as rt:
        result = rt.invoke({})
        assert result.ok, result.payload
        # made before the snapshot, closed and made again after the restore; random re-seeded from the OS
        assert result.payload["client"] == 2 and result.payload["made"] == 2
        assert result.payload["draw"] != random_after_seed(7)
        assert rt.invoke({}).payload["made"] == 2  # once per restore, not per invocation


def random_after_seed(seed: int) -> float:
    import random

    return random.Random(seed).random()
