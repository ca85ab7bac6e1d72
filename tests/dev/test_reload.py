"""Hot reload: edits are picked up in-process; a broken edit keeps the last good app serving."""

from __future__ import annotations

import json
import threading
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
        # shown on the console too (written by the watcher's thread just after the state changed: waited for)
        server.wait_for(lambda: "SyntaxError" in server.output(), timeout=10)

        app_file.write_text(APP_SOURCE.replace('VERSION = "v1"', 'VERSION = "v4"'))
        server.wait_for(lambda: _version(server)[0] == "v4", timeout=10, interval=0.05)
        version, headers = _version(server)
        assert "x-lift-reload-error" not in headers
        assert server.get("/_lift/api/state")["app"]["error"] is None
        assert server.proc.pid == pid and server.proc.poll() is None  # reloaded in-process
        server.wait_for(lambda: "reloaded devdemo.app:app" in server.output(), timeout=10)
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


def test_an_app_that_never_imported_stops_the_server_with_its_traceback(tmp_path: Path) -> None:
    """With no app ever loaded there is no last good app to keep: exit 1 (the import raised) with
    the traceback, or 2 when the reference names nothing, instead of serving 500s forever."""
    import subprocess
    import sys

    write_project(tmp_path, APP_SOURCE + "\nraise RuntimeError('broken at import')\n")
    argv = [sys.executable, "-m", "lift.dev.server", "devdemo.app:app", "--port", "0", "--no-reload"]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=server_env())
    assert proc.returncode == 1, proc.stderr
    assert "RuntimeError: broken at import" in proc.stderr and "devdemo.app:app failed to import" in proc.stderr
    argv[3] = "devdemo.app:nothing_here"
    write_project(tmp_path)
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=server_env())
    assert proc.returncode == 2 and "has no attribute 'nothing_here'" in proc.stderr, proc.stderr


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


def test_an_edit_saved_as_soon_as_the_watcher_started_is_seen(tmp_path: Path) -> None:
    # start() returns once the watch is set up: an edit right after it is never missed (it was, on a
    # loaded machine, while the watcher thread was still starting)
    from lift.dev.watcher import SourceWatcher

    seen: list[list[str]] = []
    changed = threading.Event()
    module = tmp_path / "module.py"
    module.write_text("x = 1\n")
    watcher = SourceWatcher(tmp_path, lambda paths: (seen.append(paths), changed.set()))
    watcher.start()
    try:
        module.write_text("x = 2\n")
        assert changed.wait(10), "the edit was not seen"
        assert seen[0] == [str(module)]
    finally:
        watcher.stop()
