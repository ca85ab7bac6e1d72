"""The real dev server (a subprocess) against clients that open a connection and stall: a request line
or headers that never finish (slowloris) no longer hold a connection for good."""

from __future__ import annotations

import socket
from pathlib import Path

from dev.dev_server_process import DevServerProcess, write_project


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):  # (the socket's timeout bounds the wait: only a defect reaches it)
        data += chunk
    return data


def test_a_request_whose_headers_never_finish_is_closed_with_a_408(tmp_path: Path) -> None:
    write_project(tmp_path)
    server = DevServerProcess(tmp_path, "--no-reload", env={"LIFT_DEV_HEADER_TIMEOUT": "1"})
    try:
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=30) as stalled,
            socket.create_connection(("127.0.0.1", server.port), timeout=30) as silent,
        ):
            # a keep-alive connection: its first request is answered, its second never finishes its headers
            stalled.sendall(b"GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n")
            first = b""
            while not first.endswith(b"}") and (chunk := stalled.recv(65536)):
                first += chunk
            assert first.startswith(b"HTTP/1.1 200") and b'"hello":"ada"' in first
            stalled.sendall(b"GET /hello/bob HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            assert _read_until_closed(stalled).startswith(b"HTTP/1.1 408 Request Timeout\r\n")  # (was never)
            assert _read_until_closed(silent) == b""  # a connection that never sent a byte: closed
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def test_a_header_timeout_that_is_no_number_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    from dev.dev_server_process import ROOT

    write_project(tmp_path)
    env = {"PYTHONPATH": str(ROOT / "src"), "LIFT_DEV_HEADER_TIMEOUT": "soon", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "lift.dev.server", "devdemo.app:app", "--port", "0", "--no-reload"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "LIFT_DEV_HEADER_TIMEOUT='soon' must be a number above 0" in done.stderr
    assert "Traceback" not in done.stderr
