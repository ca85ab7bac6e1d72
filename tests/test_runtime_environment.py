"""What a function sees of its execution environment under AWS's runtime client (awslambdaric),
against Lift's Runtime API emulator: the variables Lambda sets, and the process's life across
invocations (oversized results, timeouts, async handlers)."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from lift.dev.runtime_api import RuntimeEmulator

pytest.importorskip("awslambdaric")

ENV_PROBE = """
    import os
    import sys
    import time

    NAMES = (
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "_HANDLER",
        "LAMBDA_TASK_ROOT", "TZ", "AWS_REGION", "AWS_DEFAULT_REGION",
    )


    def handler(event, context):
        return {
            "env": {name: os.environ.get(name) for name in NAMES},
            "python": "%d.%d" % sys.version_info[:2],
            "arn": context.invoked_function_arn,
            "utc_offset": time.localtime().tm_gmtoff,
            "text": "café",
        }
"""


def write_module(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_the_reserved_variables_are_lambdas_and_the_region_is_the_developers(tmp_path):
    """The function's region was always us-east-1, whatever AWS_REGION the developer had set, so an
    app's AWS calls under `lift invoke --runtime` went to another region than the app's own."""
    write_module(tmp_path, "probe", ENV_PROBE)
    with RuntimeEmulator(
        "probe.handler", cwd=tmp_path, function_name="orders", memory_mb=512, env={"AWS_REGION": "eu-west-1"}
    ) as rt:
        result = rt.invoke({})
    assert result.ok, result.payload
    env = result.payload["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_python{result.payload['python']}"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "orders" and env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/orders"
    assert "/[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["_HANDLER"] == "probe.handler" and env["LAMBDA_TASK_ROOT"] == str(tmp_path)
    assert env["TZ"] == ":UTC" and result.payload["utc_offset"] == 0
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert result.payload["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:orders"


def _other_python_with_the_runtime_client() -> str | None:
    """An interpreter of another Python version with awslambdaric (the bench's, when it is installed)."""
    mine = f"py{sys.version_info.major}.{sys.version_info.minor}"
    bench = Path(sys.executable).resolve().parents[2] / ".bench-venv"
    if not bench.is_dir():
        bench = Path(sys.executable).parents[2] / ".bench-venv"
    for name in ("py3.12", "py3.13"):
        python = bench / name / "bin" / "python"
        if (
            name != mine
            and python.exists()
            and list((bench / name / "lib").glob("python3.*/site-packages/awslambdaric"))
        ):
            return str(python)
    return None


def test_aws_execution_env_names_the_runtimes_python_not_the_emulators(tmp_path):
    """AWS_EXECUTION_ENV was the emulator's own Python: a 3.12 runtime started from a 3.11 `lift` was told
    it ran on python3.11, so awslambdaric polled for events without its thread and wrote the results'
    non-ASCII text as \\u escapes, unlike on Lambda."""
    python = _other_python_with_the_runtime_client()
    if python is None:
        pytest.skip("no interpreter of another Python version with awslambdaric (the bench's virtualenvs)")
    write_module(tmp_path, "probe", ENV_PROBE)
    with RuntimeEmulator("probe.handler", cwd=tmp_path, python=python) as rt:
        result = rt.invoke({})
    assert result.ok, result.payload
    assert result.payload["python"] != f"{sys.version_info.major}.{sys.version_info.minor}"
    assert result.payload["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_python{result.payload['python']}"
    assert '"text": "café"'.encode() in result.raw  # as the runtime writes it on Lambda's python3.12+


BIG_RESULTS = """
    from lift import App, Context

    app = App(name="exports")


    @app.invoke
    def export(ctx: Context, body: dict):
        size = body["size"]
        return {"rows": ["x" * 1000] * (size // 1000), "cold": ctx.cold_start} if body.get("rows") else "x" * size


    handler = app.handler
"""


def test_a_result_over_lambdas_limit_fails_that_invocation_alone_and_the_runtime_goes_on(tmp_path):
    """A Lift handler's result over 6 MB went to the runtime client, which Lambda answers 413: awslambdaric
    died, so the next invocation was a cold start (the app's init again). Lift now fails the invocation
    with Lambda's own error type and one log line, before the runtime posts anything."""
    write_module(tmp_path, "exports", BIG_RESULTS)
    with RuntimeEmulator("exports.handler", cwd=tmp_path, timeout=20) as rt:
        assert rt.invoke({"size": 3_000_000}).payload == "x" * 3_000_000
        for event in ({"size": 6_300_000}, {"size": 6_300_000, "rows": True}):
            too_big = rt.invoke(event)
            assert too_big.kind == "error" and too_big.function_error == "Unhandled"
            assert too_big.error["errorType"] == "Function.ResponseSizeTooLarge"
            assert too_big.error["errorMessage"].startswith("Response payload size (63")
            assert too_big.error["errorMessage"].endswith("exceeded maximum allowed payload size (6291556 bytes).")
            lifts = [json.loads(line) for line in too_big.logs.splitlines() if line.startswith("{")]
            (line,) = [entry for entry in lifts if entry["level"] == "ERROR"]
            assert line["request_id"] == too_big.request_id and "6291556" in line["message"]
        after = rt.invoke({"size": 2000, "rows": True})
        assert after.ok and after.payload == {"rows": ["x" * 1000] * 2, "cold": False}
        assert rt.starts == 1


SLOW = """
    import time

    from lift import App, Context

    app = App(name="reports")


    @app.invoke
    def build(ctx: Context, body: dict) -> dict:
        ctx.metrics.add("ReportsStarted", 1, unit="Count")
        if body.get("slow"):
            time.sleep(60)
        ctx.metrics.add("ReportsBuilt", 1, unit="Count")
        return {"cold": ctx.cold_start}


    handler = app.handler
"""


def test_a_handler_that_runs_into_its_timeout_still_leaves_its_metrics_and_a_line_saying_so(tmp_path):
    """Lambda kills a function at its timeout: the metrics Lift held for the invocation's end were lost,
    and nothing in the function's own logs said which request ran out of time. The watch flushes them
    shortly before the deadline (here 1.5 s before it: no race with the kill however loaded the machine)."""
    write_module(tmp_path, "reports", SLOW)
    env = {"LIFT_TIMEOUT_FLUSH_MS": "1500"}
    with RuntimeEmulator("reports.handler", cwd=tmp_path, timeout=2.0, env=env) as rt:
        quick = rt.invoke({})  # in time: no warning, both metrics at its end
        assert quick.ok and quick.payload == {"cold": True}
        lines = [json.loads(line) for line in quick.logs.splitlines() if line.startswith("{")]
        assert [line for line in lines if "ReportsBuilt" in line] and not [
            line for line in lines if line.get("level") == "WARNING"
        ]

        slow = rt.invoke({"slow": True})
        assert slow.kind == "timeout" and slow.error["errorType"] == "Sandbox.Timedout"
        lines = [json.loads(line) for line in slow.logs.splitlines() if line.startswith("{")]
        (emf,) = [line for line in lines if "_aws" in line]
        assert emf["ReportsStarted"] == 1 and emf["request_id"] == slow.request_id
        (warning,) = [line for line in lines if line.get("level") == "WARNING"]
        assert warning["request_id"] == slow.request_id and "about to time out" in warning["message"]
        (platform,) = [line for line in slow.logs.splitlines() if "Task timed out" in line]  # Lambda's own line
        assert re.fullmatch(
            rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {slow.request_id} Task timed out after 2.00 seconds", platform
        )

        after = rt.invoke({})  # Lambda starts a new runtime: the next invocation works (a cold start)
        assert after.ok and after.payload == {"cold": True} and rt.starts == 2


ASYNC_APP = """
    import asyncio

    from lift import App, Context

    app = App(name="feeds")

    # init binds things to the loop it makes current, as clients that open connections at import do
    init_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(init_loop)
    ready = init_loop.create_future()
    init_loop.call_soon(ready.set_result, "warm")  # (done once the loop runs: a connection being opened)
    lock = asyncio.Lock()
    finished = []


    async def later(n):
        await asyncio.sleep(0)
        finished.append(n)


    async def forever():
        await asyncio.Event().wait()


    @app.invoke
    async def feed(ctx: Context, body: dict) -> dict:
        async with lock:
            state = await ready  # a future of the init loop: "attached to a different loop" on any other
        if body.get("spawn"):
            asyncio.ensure_future(later(body["spawn"]))
        if body.get("forever"):
            asyncio.ensure_future(forever())
        return {"state": state, "same_loop": asyncio.get_running_loop() is init_loop, "finished": list(finished)}


    handler = app.handler
"""


def test_async_handlers_share_init_loop_and_pending_tasks_are_reported_once(tmp_path):
    """An async handler ran on a loop of Lift's own, not the one the app's init had made current, so a
    future, lock or client connection made at init failed in every invocation ("attached to a different
    loop"); and a task still pending when the handler returned was silently left to a later invocation
    (lost if Lambda ended the environment first). Now the init loop is the handlers' loop, and each such
    task is reported once, in one WARNING line."""
    write_module(tmp_path, "feeds", ASYNC_APP)
    with RuntimeEmulator("feeds.handler", cwd=tmp_path) as rt:
        first = rt.invoke({})
        assert first.ok, first.payload
        assert first.payload == {"state": "warm", "same_loop": True, "finished": []}
        spawned = rt.invoke({"spawn": 1, "forever": True})
        assert spawned.ok and spawned.payload["same_loop"]
        lines = [json.loads(line) for line in spawned.logs.splitlines() if line.startswith("{")]
        (warning,) = [line for line in lines if line["level"] == "WARNING"]
        assert "2 asyncio task(s) still pending" in warning["message"]
        assert "forever" in warning["message"] and "later" in warning["message"]
        assert warning["request_id"] == spawned.request_id
        again = rt.invoke({})  # the task left over ran on the same loop; the one still waiting is not reported again
        assert again.ok and again.payload["finished"] == [1] and again.payload["same_loop"]
        assert not [line for line in again.logs.splitlines() if '"WARNING"' in line]
        assert "Event loop is closed" not in rt.logs and rt.starts == 1


WORKERS = """
    import os

    from lift import App, Context

    app = App(name="workers")
    served = []


    @app.invoke
    def run(ctx: Context, body: dict) -> dict:
        served.append(body["n"])
        return {"pid": os.getpid(), "served": list(served), "cold": ctx.cold_start}


    handler = app.handler
"""


def test_managed_instances_concurrency_runs_worker_processes_each_one_invocation_at_a_time(tmp_path):
    """Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY): awslambdaric forks that many workers, each
    importing the app and running one invocation at a time, as Lambda's Python runtime does; Lift keeps
    no state across processes. The emulator hands out one invocation at a time (concurrent `invoke` calls
    wait their turn), so each result is whole and each worker's first invocation is its cold start."""
    import threading

    write_module(tmp_path, "workers", WORKERS)
    with RuntimeEmulator("workers.handler", cwd=tmp_path, env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"}) as rt:
        results: list = []
        threads = [threading.Thread(target=lambda n=n: results.append(rt.invoke({"n": n}))) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(result.ok for result in results), [result.payload for result in results]
        by_pid: dict[int, list] = {}
        for result in results:
            by_pid.setdefault(result.payload["pid"], []).append(result.payload)
        assert 1 <= len(by_pid) <= 2 and rt.starts == 1
        for payloads in by_pid.values():  # each worker's own memory: what it served, one at a time
            payloads.sort(key=lambda p: len(p["served"]))
            assert [p["cold"] for p in payloads] == [True] + [False] * (len(payloads) - 1)
            assert [len(p["served"]) for p in payloads] == list(range(1, len(payloads) + 1))
        assert sorted(n for p in results for n in [p.payload["served"][-1]]) == list(range(6))
