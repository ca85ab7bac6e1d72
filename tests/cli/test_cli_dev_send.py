"""`lift dev` serving an app and `lift send` firing triggers at it, both as real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.servers import LIFT_DEV_LISTENING, ServerProcess

pytest.importorskip("uvicorn")


def start_lift_dev(project: Path, log: Path) -> ServerProcess:
    """`lift dev --port 0 --no-reload` serving `project`, on the port it says it took."""
    argv = [sys.executable, "-m", "lift.cli", "dev", "--port", "0", "--no-reload"]
    return ServerProcess(argv, LIFT_DEV_LISTENING, log=log, cwd=project, env={**os.environ, "NO_COLOR": "1"})


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def dev_server(events_project: Path, tmp_path_factory: pytest.TempPathFactory):
    """`lift dev --no-reload` on a port of its own, serving the events project; yields its URL."""
    server = start_lift_dev(events_project, tmp_path_factory.mktemp("dev") / "lift-dev.log")
    try:
        assert get_json(f"{server.url}/health") == {"status": "ok"}, server.output()
        yield server.url
    finally:
        server.stop(signal.SIGINT)


def test_dev_port_0_takes_a_free_port_says_which_and_serves_on_it(events_project, tmp_path):
    # another server already listens on the port a "find a free port" helper handed out
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        server = start_lift_dev(events_project, tmp_path / "lift-dev.log")
        try:
            assert server.port not in (0, taken)
            assert get_json(f"{server.url}/health") == {"status": "ok"}  # lift dev's app answers there
            assert get_json(f"{server.url}/_lift/api/state")["app"]["ref"] == "app:app"
            output = server.output()
        finally:
            assert server.stop(signal.SIGINT) == 0
    # the address line keeps its format, with the port taken (uvicorn's line too)
    assert f"lift dev: serving app:app on http://127.0.0.1:{server.port} (rest payload); " in output
    assert f"dashboard http://127.0.0.1:{server.port}/_lift/" in output
    assert f"Uvicorn running on http://127.0.0.1:{server.port} (Press CTRL+C to quit)" in output


def test_send_each_trigger_to_the_dev_server(cli, dev_server, events_project, tmp_path):
    sent = cli("send", "sqs", "orders", '{"order_id": "a1", "amount": 5}', "--url", dev_server)
    assert sent.code == 0, sent
    assert sent.json() == {"batchItemFailures": []}

    (tmp_path / "order.json").write_text('{"order_id": "b2", "amount": 7}')
    from_file = cli("send", "sqs", "orders", "--file", str(tmp_path / "order.json"), "--url", dev_server)
    assert from_file.code == 0, from_file

    s3 = cli("send", "s3", "uploads", "in/report 1.csv", "--url", dev_server)
    assert s3.code == 0, s3

    event = cli("send", "event", "payments", "PaymentSettled", '{"payment": 9}', "--url", dev_server)
    assert event.code == 0, event

    schedule = cli("send", "schedule", "nightly-report", "--url", dev_server)
    assert schedule.code == 0, schedule
    assert schedule.json() is None  # asynchronous sources return nothing, as on Lambda
    assert (events_project / "triggers.log").read_text().splitlines() == [
        "s3 in/report 1.csv",
        "settled {'payment': 9}",
        "report done",
    ]

    event_file = tmp_path / "sqs.json"
    event_file.write_text(
        cli(
            "events", "generate", "sqs", "--queue", "orders", "-n", "2", "--body", '{"order_id": "c3", "amount": 1}'
        ).stdout
    )
    raw = cli("send", "raw", str(event_file), "--url", dev_server)
    assert raw.code == 0, raw
    assert raw.json() == {"batchItemFailures": []}


def test_send_shows_failed_sqs_records(cli, dev_server):
    result = cli("send", "sqs", "orders", '{"order_id": "x", "amount": -1}', "--url", dev_server)
    assert result.code == 0, result
    assert len(result.json()["batchItemFailures"]) == 1


def test_send_to_an_unmatched_source_fails(cli, dev_server):
    result = cli("send", "schedule", "no-such-rule", "--url", dev_server)
    assert result.code == 1, result
    assert "no-such-rule" in result.stderr
    assert result.stdout == ""  # no `null` result before the error


def test_send_usage_errors_and_no_server(cli, tmp_path, dead_port):
    assert cli("send", "sqs", "orders").code == 2  # neither BODY nor --file
    assert cli("send", "event", "payments", "Settled", "{not json").code == 2
    result = cli("send", "sqs", "orders", "{}", "--url", f"http://127.0.0.1:{dead_port}")
    assert result.code == 1
    assert "No dev server at" in result.stderr


def test_dev_port_in_use_is_exit_1(cli, events_project):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = cli("dev", "--port", str(port), "--no-reload", cwd=events_project, timeout=30)
    assert result.code == 1, result
    assert f"Port {port} is in use" in result.stderr


def test_dev_missing_app_is_exit_2(cli, tmp_path):
    result = cli("dev", "--no-reload", cwd=tmp_path, timeout=30)
    assert result.code == 2, result
    assert "No app found" in result.stderr
    missing = cli("dev", "ghost:app", "--no-reload", cwd=tmp_path, timeout=30)
    assert missing.code == 2 and "Cannot find module 'ghost'" in missing.stderr
    assert cli("dev", "--payload", "soap", cwd=tmp_path).code == 2
