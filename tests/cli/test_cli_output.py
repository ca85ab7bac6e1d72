"""What the CLI prints, as a script reads it: the result alone on stdout, the app's log lines on
stderr, never wrapped; `lift dev` prints each line once and stops when no app ever loaded."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests.servers import LIFT_DEV_LISTENING, ServerProcess

LOGGING_APP = """
    from lift import App, Context
    from lift.middleware.logging import RequestLogging
    from lift.middleware.metrics import RequestMetrics

    app = App(name="chatty")
    app.use(RequestLogging(), RequestMetrics(route_metrics=True))
    LONG = "a log message long enough to be wrapped by any 80-column console: " + "x" * 120


    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        print("a plain print from the handler")
        ctx.logger.info(LONG, extra={"order_id": order_id})
        return {"id": order_id}
"""


@pytest.fixture
def chatty_project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(LOGGING_APP))
    return tmp_path


def json_lines(text: str) -> list[dict]:
    """Every line of `text` that starts a JSON object, parsed: a wrapped line fails here."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_invoke_prints_only_the_result_on_stdout(cli, chatty_project):
    result = cli("invoke", "--event-type", "http", "--path", "/orders/7", cwd=chatty_project)
    assert result.code == 0, result
    answer = json.loads(result.stdout)  # stdout is the result and nothing else
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"id": 7}
    logs = json_lines(result.stderr)
    message = next(line for line in logs if line.get("message", "").startswith("a log message long"))
    assert message["order_id"] == 7 and message["service"] == "chatty"
    assert any("_aws" in line for line in logs)  # the EMF metrics went to stderr too
    assert "a plain print from the handler" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("awslambdaric") is None, reason="needs the dev extra's awslambdaric")
def test_invoke_under_the_runtime_keeps_log_lines_whole(cli, chatty_project):
    result = cli("invoke", "--runtime", "--event-type", "http", "--path", "/orders/8", cwd=chatty_project)
    assert result.code == 0, result
    assert json.loads(json.loads(result.stdout)["body"]) == {"id": 8}
    logs = json_lines(result.stderr)
    assert any(line.get("message", "").endswith("x" * 120) for line in logs), result.stderr


def test_bench_output_is_the_table_or_json_alone(cli, chatty_project):
    as_json = cli("bench", "-n", "5", "--cold-runs", "1", "--json", cwd=chatty_project, timeout=300)
    assert as_json.code == 0, as_json
    assert json.loads(as_json.stdout)["routes"][0]["status"] == 200
    table = cli("bench", "-n", "5", "--cold-runs", "1", cwd=chatty_project, timeout=300)
    assert table.code == 0, table
    assert "/orders/" in table.stdout and "a log message" not in table.stdout and "{" not in table.stdout
    assert "a log message" in table.stderr


def test_dev_with_an_attribute_that_is_not_there_exits_2(cli, chatty_project):
    result = cli("dev", "app:wrong_attr", "--no-reload", cwd=chatty_project, timeout=60)
    assert result.code == 2, result
    assert "wrong_attr" in result.stderr


def test_dev_with_an_app_whose_import_raises_exits_1_with_the_traceback(cli, tmp_path):
    (tmp_path / "broken.py").write_text(
        "from lift import App\napp = App(name='b')\nraise RuntimeError('config missing')\n"
    )
    result = cli("dev", "broken:app", "--no-reload", cwd=tmp_path, timeout=60)
    assert result.code == 1, result
    assert "RuntimeError: config missing" in result.stderr


def test_dev_prints_each_log_line_once(chatty_project, tmp_path):
    argv = [sys.executable, "-m", "lift.cli", "dev", "--port", "0", "--no-reload"]
    env = {**os.environ, "NO_COLOR": "1"}
    server = ServerProcess(argv, LIFT_DEV_LISTENING, log=tmp_path / "lift-dev.log", cwd=chatty_project, env=env)
    try:
        with urllib.request.urlopen(f"{server.url}/orders/5", timeout=30) as response:
            assert json.loads(response.read()) == {"id": 5}
    finally:
        server.stop(signal.SIGINT)
    # the handler logs before it returns, so its lines were written before the answer came back
    output = server.output()
    assert output.count("a log message long enough") == 1, output


@pytest.mark.parametrize("command", [["invoke"], ["dev"], ["send", "sqs"], ["events", "generate"], ["bench"]])
def test_help_names_every_option_in_full_without_type_tags(cli, command):
    result = cli(*command, "--help")
    assert result.code == 0, result
    assert "<str>" not in result.stdout and "<bool>" not in result.stdout and "<int" not in result.stdout
    assert "…" not in result.stdout  # no option name cut short
    if command == ["invoke"]:
        assert "--name, --queue, --topic, --bucket, --rule, --table, --stream, --route NAME" in result.stdout
        assert "--path PATH" in result.stdout
