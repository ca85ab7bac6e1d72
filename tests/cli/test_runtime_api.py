"""Lift apps under AWS's real runtime interface client, against Lift's Runtime API emulator."""

from __future__ import annotations

import json
import os
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from lift.dev.runtime_api import RuntimeEmulator
from lift.testing import events

pytest.importorskip("awslambdaric")

ROOT = Path(__file__).resolve().parents[2]


def write_module(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_users_api_under_awslambdaric_rest_and_http():
    with RuntimeEmulator("examples.users_api.app.handler", cwd=ROOT, timeout=10) as rt:
        created = rt.invoke(
            events.apigw_rest(
                "POST",
                "/users",
                body=json.dumps({"name": "Ada", "email": "ada@x.io"}),
                headers={"Content-Type": "application/json"},
            )
        )
        assert created.ok, created.payload
        assert created.payload["statusCode"] == 201
        user = json.loads(created.payload["body"])
        assert user["name"] == "Ada"

        fetched = rt.invoke(events.apigw_http("GET", f"/users/{user['id']}"))
        assert fetched.ok and fetched.payload["statusCode"] == 200
        assert json.loads(fetched.payload["body"]) == user  # same process: state kept between invocations

        invalid = rt.invoke(
            events.apigw_http(
                "POST", "/users", body=json.dumps({"name": ""}), headers={"Content-Type": "application/json"}
            )
        )
        assert invalid.ok and invalid.payload["statusCode"] == 422
        assert json.loads(invalid.payload["body"])["error"]["code"]
        assert rt.starts == 1


def test_the_task_root_is_first_on_sys_path_once(tmp_path):
    write_module(
        tmp_path,
        "paths",
        """
        import sys

        def handler(event, context):
            return sys.path
        """,
    )
    with RuntimeEmulator("paths.handler", cwd=tmp_path) as rt:
        result = rt.invoke({})
    assert result.ok, result.payload
    assert result.payload[0] == str(tmp_path)
    assert result.payload.count(str(tmp_path)) == 1


def test_import_error_is_reported_as_init_error(tmp_path):
    write_module(tmp_path, "broken", "import module_that_does_not_exist\n")
    with RuntimeEmulator("broken.handler", cwd=tmp_path) as rt:
        result = rt.invoke({"x": 1})
    assert result.kind == "init_error" and not result.ok
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert result.error["errorMessage"] == (
        "Unable to import module 'broken': No module named 'module_that_does_not_exist'"
    )
    assert result.function_error == "Unhandled"
    assert rt.init_error == result.error


def test_missing_handler_attribute_is_an_init_error(tmp_path):
    write_module(tmp_path, "nohandler", "value = 1\n")
    with RuntimeEmulator("nohandler.handler", cwd=tmp_path) as rt:
        result = rt.invoke({})
    assert result.kind == "init_error"
    assert result.error["errorType"] == "Runtime.HandlerNotFound"


def test_handler_exception_reported_with_type_and_stack(tmp_path):
    write_module(
        tmp_path,
        "fails",
        """
        from lift import App

        app = App(name="fails")

        def handler(event, context):
            if event.get("plain"):
                raise ValueError("bad order 42")
            return app.handler(event, context)
    """,
    )
    with RuntimeEmulator("fails.handler", cwd=tmp_path) as rt:
        result = rt.invoke({"plain": True})
        assert result.kind == "error"
        assert result.error["errorType"] == "ValueError"
        assert result.error["errorMessage"] == "bad order 42"
        assert any("fails.py" in frame for frame in result.error["stackTrace"])
        assert "bad order 42" in result.logs
        unmatched = rt.invoke({"no": "route"})  # the runtime survives a handler error
        assert unmatched.kind == "error" and rt.starts == 1
        assert unmatched.error["errorType"] == "UnmatchedEvent"


def test_timeout_kills_the_runtime_and_next_invoke_starts_a_fresh_one(tmp_path):
    write_module(
        tmp_path,
        "slow",
        """
        import os, time

        def handler(event, context):
            if event.get("sleep"):
                time.sleep(event["sleep"])
            return {"pid": os.getpid(), "remaining": context.get_remaining_time_in_millis()}
    """,
    )
    with RuntimeEmulator("slow.handler", cwd=tmp_path, timeout=1.0) as rt:
        first = rt.invoke({})
        assert first.ok and 0 < first.payload["remaining"] <= 1000
        timed_out = rt.invoke({"sleep": 30})
        assert timed_out.kind == "timeout"
        assert timed_out.error["errorType"] == "Sandbox.Timedout"
        assert timed_out.error["errorMessage"].endswith("Task timed out after 1.00 seconds")
        with pytest.raises(ProcessLookupError):  # the runtime that timed out was killed
            os.kill(first.payload["pid"], 0)
        after = rt.invoke({})
        assert after.ok and after.payload["pid"] != first.payload["pid"]
        assert rt.starts == 2


def test_runtime_exit_is_reported(tmp_path):
    write_module(
        tmp_path,
        "exits",
        """
        import os

        def handler(event, context):
            os._exit(3)
    """,
    )
    with RuntimeEmulator("exits.handler", cwd=tmp_path) as rt:
        result = rt.invoke({})
    assert result.kind == "exit"
    assert result.error["errorType"] == "Runtime.ExitError"
    assert result.error["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_runtime_api_headers_and_unknown_request_id(tmp_path):
    write_module(
        tmp_path,
        "echo",
        """
        import os

        def handler(event, context):
            return {"arn": context.invoked_function_arn, "id": context.aws_request_id,
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"), "fn": context.function_name,
                    "memory": context.memory_limit_in_mb}
    """,
    )
    with RuntimeEmulator("echo.handler", cwd=tmp_path, function_name="orders") as rt:
        result = rt.invoke({"a": 1})
        assert result.ok
        assert result.payload["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:orders"
        assert result.payload["id"] == result.request_id
        assert result.payload["trace"].startswith("Root=1-")
        assert result.payload["fn"] == "orders" and result.payload["memory"] == "128"
        request = urllib.request.Request(
            f"http://{rt.address}/2018-06-01/runtime/invocation/nope/response", data=b"{}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=5)
        assert err.value.code == 400
        assert json.loads(err.value.read())["errorType"] == "InvalidRequestID"


def test_response_over_6mb_is_rejected_like_lambda(tmp_path):
    write_module(
        tmp_path,
        "big",
        """
        def handler(event, context):
            return "x" * event["n"]
    """,
    )
    with RuntimeEmulator("big.handler", cwd=tmp_path) as rt:
        fits = rt.invoke({"n": 2_000_000})
        assert fits.ok and len(fits.payload) == 2_000_000
        too_big = rt.invoke({"n": 7_000_000})
        assert too_big.kind == "error"
        assert too_big.error["errorType"] == "Function.ResponseSizeTooLarge"
        assert rt.invoke({"n": 3}).payload == "xxx"  # awslambdaric died on the 413; Lambda re-inits
        assert rt.starts == 2


LIFT_APP = """
    import time

    import msgspec
    from lift import App, Context
    from lift.errors import NotFound

    app = App(name="orders")


    class Order(msgspec.Struct):
        id: str
        qty: int


    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        if order_id == 0:
            raise NotFound("no order 0")
        if order_id == 13:
            raise RuntimeError("secret internals")
        if order_id == 99:
            time.sleep(30)
        ctx.logger.info("served order", extra={"order_id": order_id})
        return {"id": order_id, "cold": ctx.cold_start}


    @app.sqs("orders")
    def on_order(body: Order) -> None:
        if body.qty < 0:
            raise ValueError("negative quantity")


    @app.s3("uploads")
    def on_upload(ctx: Context) -> None:
        raise RuntimeError("cannot read " + ctx.record.key)


    handler = app.handler
"""


def _log_lines(logs: str) -> list[dict]:
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def test_a_lift_app_under_awslambdaric_answers_errors_and_timeouts_as_lambda_reports_them(tmp_path):
    write_module(tmp_path, "orders_app", LIFT_APP)
    with RuntimeEmulator("orders_app.handler", cwd=tmp_path, timeout=3.0) as rt:
        ok = rt.invoke(events.apigw_rest("GET", "/orders/5"))
        assert ok.ok and ok.payload["statusCode"] == 200
        assert json.loads(ok.payload["body"]) == {"id": 5, "cold": True}
        (line,) = [entry for entry in _log_lines(ok.logs) if entry["message"] == "served order"]
        assert line["request_id"] == ok.request_id and line["level"] == "INFO"  # the invocation's own id

        missing = rt.invoke(events.apigw_http("GET", "/orders/0"))
        assert missing.ok and missing.payload["statusCode"] == 404
        assert json.loads(missing.payload["body"])["error"] == {
            "code": "not_found",
            "message": "no order 0",
            "request_id": missing.request_id,
            "details": None,
        }

        crash = rt.invoke(events.alb("GET", "/orders/13"))  # a bug: a 500 answer, the invocation itself succeeds
        assert crash.ok and crash.payload["statusCode"] == 500
        assert crash.payload["statusDescription"] == "500 Internal Server Error"
        assert "secret" not in crash.payload["body"]
        (error_line,) = [entry for entry in _log_lines(crash.logs) if entry["level"] == "ERROR"]
        assert error_line["request_id"] == crash.request_id and "secret internals" in json.dumps(error_line)

        batch = events.sqs("orders", [{"id": "a", "qty": 1}, {"id": "b", "qty": -1}, "not json", {"id": "c", "qty": 2}])
        ids = [record["messageId"] for record in batch["Records"]]
        partial = rt.invoke(batch)
        assert partial.ok and partial.payload == {
            "batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]
        }

        failed = rt.invoke(events.s3("uploads", "in/a b.txt"))  # asynchronous: the invocation fails, Lambda retries
        assert failed.kind == "error" and failed.function_error == "Unhandled"
        assert failed.error["errorType"] == "RuntimeError"
        assert failed.error["errorMessage"] == "cannot read in/a b.txt"
        assert failed.error["requestId"] == failed.request_id
        assert type(failed.error["stackTrace"]) is list and any(
            "orders_app.py" in f for f in failed.error["stackTrace"]
        )

        timed_out = rt.invoke(events.apigw_rest("GET", "/orders/99"))
        assert timed_out.kind == "timeout" and timed_out.error["errorType"] == "Sandbox.Timedout"
        assert (
            timed_out.error["errorMessage"]
            == f"RequestId: {timed_out.request_id} Error: Task timed out after 3.00 seconds"
        )

        fresh = rt.invoke(events.apigw_rest("GET", "/orders/6"))  # a new execution environment: a cold start again
        assert fresh.ok and json.loads(fresh.payload["body"]) == {"id": 6, "cold": True}
        assert rt.starts == 2


def test_client_context_cognito_identity_and_trace_header_reach_the_handler(tmp_path):
    write_module(
        tmp_path,
        "whoami",
        """
        import os

        def handler(event, context):
            cc, identity = context.client_context, context.identity
            return {"custom": cc and cc.custom, "app": cc and cc.client.app_title, "env": cc and cc.env,
                    "identity": [identity.cognito_identity_id, identity.cognito_identity_pool_id],
                    "trace": os.environ.get("_X_AMZN_TRACE_ID")}
    """,
    )
    trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
    with RuntimeEmulator("whoami.handler", cwd=tmp_path) as rt:
        result = rt.invoke(
            {},
            client_context={"client": {"app_title": "orders-ios"}, "custom": {"tenant": "t1"}, "env": {"locale": "fr"}},
            cognito_identity={"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"},
            trace_id=trace,
        )
        assert result.ok, result
        assert result.payload == {
            "custom": {"tenant": "t1"},
            "app": "orders-ios",
            "env": {"locale": "fr"},
            "identity": ["us-east-1:abc", "us-east-1:pool"],
            "trace": trace,
        }
        plain = rt.invoke({})  # the next invocation carries none of them
        assert plain.payload["custom"] is None and plain.payload["identity"] == [None, None]
        assert plain.payload["trace"] != trace


def test_an_event_over_6mb_is_refused_before_the_function_runs(tmp_path):
    write_module(
        tmp_path,
        "counted",
        """
        import pathlib

        def handler(event, context):
            with (pathlib.Path(__file__).parent / "calls").open("a") as calls:
                calls.write("call\\n")
            return len(event["data"])
    """,
    )
    with RuntimeEmulator("counted.handler", cwd=tmp_path) as rt:
        refused = rt.invoke({"data": "x" * (6 * 1024 * 1024)})
        assert refused.kind == "rejected" and not refused.ok and refused.function_error is None
        assert refused.error == {
            "errorMessage": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
            "errorType": "RequestTooLargeException",
        }
        assert rt.invoke({"data": "x" * 5_000_000}).payload == 5_000_000  # under the limit: runs
        assert (tmp_path / "calls").read_text() == "call\n" and rt.starts == 1


def test_an_error_posted_without_a_document_is_typed_by_its_error_type_header(tmp_path):
    """A runtime may post any body to /invocation/{id}/error; Lambda types it by the
    Lambda-Runtime-Function-Error-Type header (this handler posts as a custom runtime would)."""
    write_module(
        tmp_path,
        "custom",
        """
        import os
        import urllib.request

        def handler(event, context):
            url = (f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation/"
                   f"{context.aws_request_id}/error")
            request = urllib.request.Request(url, data=b"disk full", method="POST",
                                             headers={"Lambda-Runtime-Function-Error-Type": "Function.DiskFull"})
            urllib.request.urlopen(request, timeout=5).read()
            return "not reached by the caller"
    """,
    )
    with RuntimeEmulator("custom.handler", cwd=tmp_path) as rt:
        result = rt.invoke({})
        assert result.kind == "error", result
        assert result.error == {"errorMessage": "disk full", "errorType": "Function.DiskFull"}


def test_result_logs_hold_every_line_the_invocation_printed_however_slow_the_reader(tmp_path):
    """The lines are read from the runtime's pipe when the outcome arrives, not after a pause: a
    consumer that takes its time (a slow terminal here) never leaves lines out of `result.logs`."""
    write_module(
        tmp_path,
        "chatty",
        """
        def handler(event, context):
            for i in range(event["lines"]):
                print(f"line {i}")
            return "done"
    """,
    )
    slow_terminal = []

    def sink(line: str) -> None:
        slow_terminal.append(line)
        time.sleep(0.002)

    with RuntimeEmulator("chatty.handler", cwd=tmp_path, log_sink=sink) as rt:
        result = rt.invoke({"lines": 300})
        assert result.ok
        printed = [line for line in result.logs.splitlines() if line.startswith("line ")]
        assert printed == [f"line {i}" for i in range(300)]


def test_lift_invoke_runtime_reports_an_event_over_6mb_as_lambda_refuses_it(cli, tmp_path):
    write_module(tmp_path, "app", "from lift import App\napp = App(name='x')\n")
    (tmp_path / "big.json").write_text(json.dumps({"data": "x" * (6 * 1024 * 1024)}))
    result = cli("invoke", "--runtime", "app:app", "big.json", cwd=tmp_path)
    assert result.code == 1, result
    assert result.json()["errorType"] == "RequestTooLargeException"
    assert "Traceback" not in result.stderr
    assert "Error: Lambda refused the request: RequestTooLargeException: Request must be smaller" in result.stderr


def test_a_connection_reset_by_a_killed_runtime_prints_no_traceback(tmp_path, capfd):
    """When the runtime is killed (timeout, init error, exit) its open connection is reset: that is
    expected, and socketserver's 'Exception occurred during processing of request' traceback must not
    show among the function's output (it did, now and then, after `lift invoke --runtime` init errors)."""
    import shutil
    import socket
    import struct
    import threading

    def connection_threads() -> set[threading.Thread]:
        # (is_alive: threading.enumerate() also lists a thread being started, which join() refuses)
        return {t for t in threading.enumerate() if "process_request_thread" in t.name and t.is_alive()}

    # a "runtime" that exits at once: the only connection to the Runtime API is the test's own
    with RuntimeEmulator("none.handler", cwd=tmp_path, python=shutil.which("true")) as rt:
        before = connection_threads()
        host, port = rt.address.split(":")
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n")  # unfinished
        deadline = time.monotonic() + 30
        while not (mine := connection_threads() - before) and time.monotonic() < deadline:
            time.sleep(0.01)
        (handler_thread,) = mine
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, as a killed process's connection
        handler_thread.join(30)
        assert not handler_thread.is_alive()
    err = capfd.readouterr().err
    assert "Exception occurred during processing of request" not in err and "ConnectionResetError" not in err


def test_lift_invoke_in_process_refuses_what_lambda_refuses_over_6mb(cli, tmp_path):
    """Without --runtime too: an event over 6 MB is refused before the app runs, and a response over
    6 MB is Lambda's Function.ResponseSizeTooLarge (the function ran; Lambda would not deliver it)."""
    write_module(
        tmp_path,
        "app",
        "from lift import App\napp = App(name='x')\n\n"
        "@app.invoke\ndef run(ctx, body: dict):\n    return {'data': 'x' * body['size']}\n",
    )
    (tmp_path / "big.json").write_text(json.dumps({"size": 1, "data": "x" * (6 * 1024 * 1024)}))
    refused = cli("invoke", "app:app", "big.json", cwd=tmp_path)
    assert refused.code == 1 and refused.json()["errorType"] == "RequestTooLargeException", refused
    assert "Error: Lambda refused the request: RequestTooLargeException: Request must be smaller" in refused.stderr

    (tmp_path / "asks.json").write_text(json.dumps({"size": 6 * 1024 * 1024 + 100}))
    too_big = cli("invoke", "app:app", "asks.json", cwd=tmp_path)
    assert too_big.code == 1 and too_big.json()["errorType"] == "Function.ResponseSizeTooLarge", too_big
    assert "Error: Handler error: Function.ResponseSizeTooLarge: Response payload size (629156" in too_big.stderr
    assert "exceeded maximum allowed payload size (6291556 bytes)" in too_big.stderr
    assert "Traceback" not in too_big.stderr

    (tmp_path / "fits.json").write_text(json.dumps({"size": 10}))
    assert cli("invoke", "app:app", "fits.json", cwd=tmp_path).json() == {"data": "x" * 10}


def test_a_runtime_ended_by_a_signal_is_reported_in_lambdas_words(tmp_path):
    """Lambda reports a runtime killed by the kernel (out of memory) as "Runtime exited with error:
    signal: killed" (a crash in a C extension as "signal: segmentation fault"); the emulator said
    "exit status -9", which no one searching Lambda's messages would find. An unhandled
    KeyboardInterrupt makes Python end itself with SIGINT: "signal: interrupt"."""
    write_module(
        tmp_path,
        "dies",
        """
        import os, signal

        def handler(event, context):
            if event["how"] == "interrupt":
                raise KeyboardInterrupt
            os.kill(os.getpid(), getattr(signal, event["how"]))
    """,
    )
    with RuntimeEmulator("dies.handler", cwd=tmp_path) as rt:
        for how, words in (("SIGKILL", "killed"), ("SIGTERM", "terminated"), ("interrupt", "interrupt")):
            result = rt.invoke({"how": how})
            assert result.kind == "exit" and result.error["errorType"] == "Runtime.ExitError", result
            assert result.error["errorMessage"] == (
                f"RequestId: {result.request_id} Error: Runtime exited with error: signal: {words}"
            )
        assert rt.invoke({"how": "SIGKILL"}).kind == "exit" and rt.starts == 4  # a fresh runtime each time
