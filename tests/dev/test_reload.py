"""Hot reload: edits are picked up in-process; a broken edit keeps the last good app serving."""

from __future__ import annotations

import json
from pathlib import Path

from dev.dev_server_process import APP_SOURCE, DevServerProcess, write_project


def _version(server: DevServerProcess) -> tuple[str, dict]:
    _status, headers, body = server.request("GET", "/hello/x")
    return json.loads(body)["version"], headers


def test_edit_reloads_broken_edit_keeps_last_good_app_then_recovers(tmp_path: Path) -> None:
    app_file = write_project(tmp_path)
    server = DevServerProcess(tmp_path)
    try:
        pid = server.proc.pid
        assert _version(server)[0] == "v1"
        app_file.write_text(APP_SOURCE.replace('VERSION = "v1"', 'VERSION = "v2"'))
        server.wait_for(lambda: _version(server)[0] == "v2", timeout=10, interval=0.05)

        app_file.write_text(APP_SOURCE.replace('VERSION = "v1"', 'VERSION = "v3" +'))  # a syntax error
        server.wait_for(lambda: server.get("/_lift/api/state")["app"]["error"], timeout=10, interval=0.05)
        version, headers = _version(server)
        assert version == "v2"  # the last good app keeps serving
        assert "failed to import" in headers["x-lift-reload-error"]
        error = server.get("/_lift/api/state")["app"]["error"]
        assert "SyntaxError" in error and "app.py" in error
        assert "SyntaxError" in server.output()  # shown on the console too

        app_file.write_text(APP_SOURCE.replace('VERSION = "v1"', 'VERSION = "v4"'))
        server.wait_for(lambda: _version(server)[0] == "v4", timeout=10, interval=0.05)
        version, headers = _version(server)
        assert "x-lift-reload-error" not in headers
        assert server.get("/_lift/api/state")["app"]["error"] is None
        assert server.proc.pid == pid and server.proc.poll() is None  # reloaded in-process
        assert "reloaded devdemo.app:app" in server.output()
    finally:
        server.stop()


def test_helper_module_edits_are_reimported(tmp_path: Path) -> None:
    write_project(tmp_path, APP_SOURCE.replace('VERSION = "v1"', "from devdemo.settings import VERSION"))
    settings = tmp_path / "devdemo" / "settings.py"
    settings.write_text('VERSION = "from-settings-1"\n')
    server = DevServerProcess(tmp_path)
    try:
        assert _version(server)[0] == "from-settings-1"
        settings.write_text('VERSION = "from-settings-2"\n')
        server.wait_for(lambda: _version(server)[0] == "from-settings-2", timeout=10, interval=0.05)
    finally:
        server.stop()


def test_server_starts_when_the_app_fails_to_import_and_serves_once_fixed(tmp_path: Path) -> None:
    app_file = write_project(tmp_path, APP_SOURCE + "\nraise RuntimeError('broken at import')\n")
    server = DevServerProcess(tmp_path)
    try:
        status, headers, body = server.request("GET", "/hello/x")
        assert status == 500
        error = json.loads(body)["error"]
        assert error["code"] == "import_error" and "broken at import" in error["details"]["traceback"]
        status, headers, body = server.request("GET", "/hello/x", headers={"Accept": "text/html"})
        assert status == 500 and headers["content-type"].startswith("text/html") and b"broken at import" in body
        app_file.write_text(APP_SOURCE)
        server.wait_for(lambda: server.request("GET", "/hello/x")[0] == 200, timeout=10, interval=0.05)
    finally:
        server.stop()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    write_project(tmp_path)
    server = DevServerProcess(tmp_path, "--no-reload")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "lift.dev.server", "devdemo.app:app", "--port", str(server.port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            env=server_env(),
            check=False,
        )
        assert proc.returncode == 1
        assert f"Port {server.port}" in proc.stderr and "in use" in proc.stderr
    finally:
        server.stop()


def server_env() -> dict[str, str]:
    import os

    from dev.dev_server_process import ROOT

    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}
