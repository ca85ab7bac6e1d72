"""`lift test`: the project's pytest with the plugin and the services the project declares."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lift.cli.run_tests import affected_tests

PYPROJECT = """
[tool.lift]
app = "app:app"

[tool.lift.test]
services = ["redis"]
"""

APP = """
from lift import App

app = App("svc")

@app.get("/ping")
def ping() -> dict:
    return {"ok": True}
"""

TESTS = """
import os
import time


def test_ping(lift_client):
    assert lift_client.get("/ping").json() == {"ok": True}


def test_declared_redis_is_shared(redis_server):
    assert redis_server.url == os.environ["LIFT_TEST_REDIS_URL"]
    client = redis_server.client()
    assert client.ping()


def test_slow():
    time.sleep(0.2)
"""


def make_project(tmp_path: Path, tests: str = TESTS, pyproject: str = PYPROJECT) -> Path:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(textwrap.dedent(tests))
    return tmp_path


def test_runs_the_suite_with_declared_services_and_names_slow_tests(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("LIFT_TEST_REDIS_URL", raising=False)
    project = make_project(tmp_path)
    result = cli("test", "--", "-p", "no:cacheprovider", cwd=project)
    assert result.code == 0, result
    assert "3 passed" in result.stdout
    assert "slowest" in result.stdout and "test_slow" in result.stdout
    assert "redis on redis://127.0.0.1:" in result.stderr


def test_exit_code_is_pytests(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("LIFT_TEST_REDIS_URL", raising=False)
    project = make_project(
        tmp_path, tests="def test_fails():\n    assert 1 == 2\n", pyproject='[tool.lift]\napp = "app:app"\n'
    )
    result = cli("test", "--slowest", "0", "--", "-p", "no:cacheprovider", cwd=project)
    assert result.code == 1, result
    assert "1 failed" in result.stdout and "slowest" not in result.stdout


def test_unknown_service_is_a_usage_error(cli, tmp_path):
    project = make_project(tmp_path, pyproject='[tool.lift.test]\nservices = ["postgres"]\n')
    result = cli("test", cwd=project)
    assert result.code == 2
    assert "unknown ['postgres']" in result.stderr and "redis" in result.stderr


def test_a_misspelt_test_key_is_a_usage_error(cli, tmp_path):
    project = make_project(tmp_path, pyproject='[tool.lift.test]\nservice = ["redis"]\n')
    result = cli("test", cwd=project)
    assert result.code == 2
    assert "unknown key 'service'" in result.stderr and "services" in result.stderr


def test_affected_tests_follow_imports(tmp_path):
    (tmp_path / "tests").mkdir()
    uses = tmp_path / "tests" / "test_orders.py"
    uses.write_text("from orders import create\n")
    other = tmp_path / "tests" / "test_users.py"
    other.write_text("import users\n")
    assert affected_tests([tmp_path / "orders.py"], tmp_path) == [str(uses)]
    assert affected_tests([other], tmp_path) == [str(other)]
    assert affected_tests([tmp_path / "README.md"], tmp_path) is None
    assert affected_tests([tmp_path / "unrelated.py"], tmp_path) is None


def test_watch_reruns_the_tests_that_import_a_changed_module(tmp_path):
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading
    import time

    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n"
    )
    (tmp_path / "tests" / "test_other.py").write_text("def test_other():\n    assert True\n")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lift.cli", "test", "--watch", "--slowest", "0", "--", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def wait_for(text: str, timeout: float = 60) -> list[str]:
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError(f"{text!r} not printed; got {seen}")

    try:
        wait_for("2 passed")
        wait_for("watching for changes")  # printed once the watcher is armed: no sleep needed
        (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")  # a bug, saved
        seen = wait_for("1 failed")
        rerun = next(line for line in seen if "rerunning" in line)
        assert "test_calc.py" in rerun and "test_other.py" not in rerun
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
