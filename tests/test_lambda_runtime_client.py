"""Lift apps driven by AWS's own runtime interface client (awslambdaric), as Lambda runs them.

Each test starts one runtime process (Lift's Runtime API emulator, lift.dev.runtime_api) and sends it
all its events, so the whole module costs a few runtime starts.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
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
        waited_until = time.monotonic() + 30
        while not rt._waiting and time.monotonic() < waited_until:
            time.sleep(0.01)  # (until the runtime waits for its next event, where Lambda's SIGTERM finds it)
        assert rt._waiting
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


CORPUS = Path("/work/shared/corpus/events")  # real AWS samples, read in place (SOURCES.md there)

EVERY_TRIGGER = """
    import datetime
    import decimal

    from core.test_event_corpus import _answering_app  # (a handler for every trigger of the corpus)
    from lift import Context

    app = _answering_app()
    for register in (app.sqs, app.sns, app.s3, app.schedule, app.dynamodb_stream, app.kinesis):
        register("*")(lambda ctx: ctx.logger.info("record"))
    app.eventbridge()(lambda ctx: None)
    for route_key in ("$connect", "$disconnect", "$default"):
        app.websocket(route_key)(lambda ctx: None)


    @app.invoke
    def direct(ctx: Context, body: object) -> dict:
        ctx.logger.info("invoked")
        return {"at": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), "d": decimal.Decimal("2.5"),
                "b": b"\\x00\\x01"}


    handler = app.handler
"""


@pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")
def test_every_real_sample_through_one_runtime_process(tmp_path):
    """The 487 samples through one awslambdaric process: every one answered as a JSON result (no
    invocation error, no 5xx), every line printed is one JSON object, and none crashes or
    restarts the runtime. Then the samples no trigger claims, to an app without @app.invoke: each
    an UnmatchedEvent invocation error with one ERROR line of Lift's naming its request id."""
    from lift.sources import source_of

    samples = [json.loads(path.read_text(encoding="utf-8-sig")) for path in sorted(CORPUS.rglob("*.json"))]
    assert len(samples) >= 480
    write_app(tmp_path, EVERY_TRIGGER)
    wrong = {}
    paths = os.pathsep.join([str(tmp_path), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "PYTHONPATH": paths}
    with RuntimeEmulator("fn.handler", cwd=tmp_path, env=env) as rt:
        for number, event in enumerate(samples):
            result = rt.invoke(event)
            status = result.payload.get("statusCode", 200) if isinstance(result.payload, dict) else 200
            if not result.ok or status >= 500:
                wrong[number] = (source_of(event), result.kind, str(result.payload)[:200])
            json.loads(result.raw, parse_constant=lambda name: pytest.fail(f"{name} in a result"))
            for line in json_lines(result.logs):
                assert line.get("request_id") == result.request_id, line
        assert wrong == {}
        assert rt.invoke({"any": "payload"}).payload == {"at": "2024-01-01T00:00:00Z", "d": 2.5, "b": "AAE="}
        assert rt.starts == 1

    unclaimed = [event for event in samples if source_of(event) == "invoke"]
    assert len(unclaimed) > 50
    write_app(tmp_path, "from lift import App\napp = App(name='nothing')\nhandler = app.handler\n", "bare")
    with RuntimeEmulator("bare.handler", cwd=tmp_path) as rt:
        for event in unclaimed:
            result = rt.invoke(event)
            assert result.kind == "error" and result.error["errorType"] == "UnmatchedEvent", result.payload
            (line,) = [line for line in result.logs.splitlines() if line.startswith("{")]
            logged = json.loads(line)
            assert logged["level"] == "ERROR" and logged["request_id"] == result.request_id
        assert rt.starts == 1


PLAIN_LOGGING = """
    import logging

    from lift import App, Context
    from lift.errors import NotFound

    app = App(name="plain")
    log = logging.getLogger("mine")


    @app.get("/items/{n}")
    def item(ctx: Context, n: int) -> dict:
        log.warning("looking up %s", n)
        if n == 0:
            raise NotFound("no item 0")
        return {"n": n}


    handler = app.handler
"""


def test_plain_logging_lines_keep_the_request_id_once_lifts_handler_replaces_the_runtimes(tmp_path):
    """The runtime's handler wrote the request id in every line; once Lift's JSON handler had taken
    its place (the first ctx.logger, or the core's first 4xx/5xx line), the lines of any other logger
    in an app without RequestLogging had no request id, and named the function, not the app."""
    write_app(tmp_path, PLAIN_LOGGING)
    with RuntimeEmulator("fn.handler", cwd=tmp_path) as rt:
        missing = rt.invoke(events.apigw_rest("GET", "/items/0"))
        assert missing.payload["statusCode"] == 404
        (not_found,) = [line for line in json_lines(missing.logs.split("\n", 1)[1]) if line["logger"] == "lift"]
        assert not_found["request_id"] == missing.request_id
        for n in (1, 2):
            found = rt.invoke(events.apigw_http("GET", f"/items/{n}"))
            (line,) = json_lines(found.logs)
            assert line["message"] == f"looking up {n}" and line["logger"] == "mine"
            assert line["request_id"] == found.request_id and line["service"] == "plain"


CHARGES = """
    from lift import App, Context

    app = App(name="charges")


    @app.invoke
    def charge(ctx: Context, body: dict) -> None:
        raise ValueError(f"card {body['card']} declined")


    @app.s3("receipts")
    def on_receipt(ctx: Context) -> None:
        raise RuntimeError("unreadable receipt")


    handler = app.handler
"""


def test_card_numbers_are_masked_in_what_the_runtime_reports_of_a_failure(tmp_path):
    """A handler's exception leaves the app for awslambdaric, which writes its message to the
    function's log ("[ERROR] ValueError: ...") and returns it to the caller as errorMessage: the card
    number was in clear there while Lift's own line of the same failure had it masked. So was an S3
    object key holding one in the message naming a multi-record event's failed records."""
    write_app(tmp_path, CHARGES)
    with RuntimeEmulator("fn.handler", cwd=tmp_path) as rt:
        declined = rt.invoke({"card": CARD})
        assert declined.kind == "error" and declined.error["errorType"] == "ValueError"
        assert declined.error["errorMessage"] == "card 411111******1111 declined"
        assert CARD not in declined.logs and "411111******1111" in declined.logs

        event = events.s3("receipts", f"in/{CARD}.pdf")
        event["Records"].append(events.s3("receipts", "in/other.pdf")["Records"][0])
        failed = rt.invoke(event)
        assert failed.kind == "error" and failed.error["errorType"] == "RecordsFailed"
        assert "s3://receipts/in/411111******1111.pdf" in failed.error["errorMessage"]
        assert CARD not in failed.logs


ITEMS = """
    import decimal

    from lift import App, Context

    app = App(name="items")


    @app.invoke
    def read_item(ctx: Context, body: dict) -> dict:  # as boto3 reads an item from DynamoDB
        return {"price": decimal.Decimal("9.99"), "stock": decimal.Decimal("3"), "ratio": float(body["ratio"])}


    handler = app.handler
"""


def test_a_direct_invocations_result_has_numbers_where_the_handler_had_decimals(tmp_path):
    """boto3 reads every DynamoDB number as a Decimal. An HTTP route answered them as JSON numbers, but
    @app.invoke (and AppSync) results were made with msgspec.to_builtins, which writes a Decimal as text:
    a Step Functions Choice on "price" or an AppSync Float field got "9.99". And a NaN went out as
    `NaN`, which is no JSON (JSON.parse refuses it)."""
    write_app(tmp_path, ITEMS)
    with RuntimeEmulator("fn.handler", cwd=tmp_path) as rt:
        result = rt.invoke({"ratio": "nan"})
        assert result.ok, result.payload
        assert json.loads(result.raw, parse_constant=lambda name: pytest.fail(f"{name} is no JSON")) == {
            "price": 9.99,
            "stock": 3,
            "ratio": None,
        }
