"""The suite's own test servers (tests/servers.py) come up on a port of their own even when another
process already holds the port a find-a-free-port helper would have handed out, and the test talks
to them, not to the other process."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lift import App, Context
from tests.servers import UVICORN_LISTENING, Served, ServerDidNotStart, ServerProcess, uvicorn_process

ROOT = Path(__file__).resolve().parents[1]
SVC = """
from lift import App

app = App(name="svc")


@app.get("/who")
def who() -> dict:
    return {"app": "svc"}
"""


@pytest.fixture
def other_server() -> Iterator[int]:
    """Another process's server: a socket listening on the port a free-port helper would give next."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _app(name: str) -> App:
    app = App(name=name)

    @app.get("/who")
    def who(ctx: Context) -> dict:
        return {"app": name}

    return app


def _bind_fails(port: int, reuse_addr: bool) -> bool:
    with socket.socket() as sock:
        if reuse_addr:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return True
    return False


def test_served_listens_on_a_port_of_its_own_and_holds_it_between_stop_and_restart(other_server: int) -> None:
    served = Served(_app("users").asgi)
    try:
        assert served.port != other_server
        assert httpx.get(f"{served.url}/who", timeout=10).json() == {"app": "users"}

        served.stop(keep_port=True)
        with pytest.raises(httpx.ConnectError):  # refused, as from a dead instance
            httpx.get(f"{served.url}/who", timeout=10)
        # ... and no other process can take the port meanwhile, with or without SO_REUSEADDR
        assert _bind_fails(served.port, reuse_addr=False) and _bind_fails(served.port, reuse_addr=True)

        served.restart()
        assert httpx.get(f"{served.url}/who", timeout=10).json() == {"app": "users"}
    finally:
        served.stop()
    assert not _bind_fails(served.port, reuse_addr=True)  # let go once stopped for good


def test_a_uvicorn_process_says_which_port_it_took_and_answers_there(tmp_path: Path, other_server: int) -> None:
    (tmp_path / "svc.py").write_text(SVC)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    with uvicorn_process("svc:app.asgi", log=tmp_path / "log", cwd=tmp_path, env=env) as server:
        assert server.port not in (0, other_server)
        assert httpx.get(f"{server.url}/who", timeout=10).json() == {"app": "svc"}
    assert server.proc.returncode is not None  # stopped on leaving the block


def test_a_server_that_exits_before_it_listens_is_a_clear_error_with_its_output(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('cannot start: no config'); sys.exit(3)"]
    with pytest.raises(ServerDidNotStart, match=r"(?s)exited with 3 before it listened:.*cannot start: no config"):
        ServerProcess(argv, UVICORN_LISTENING, log=tmp_path / "log")


def test_a_server_that_never_says_it_listens_is_stopped_at_the_deadline(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import os, time; print('starting', os.getpid(), flush=True); time.sleep(60)"]
    with pytest.raises(ServerDidNotStart, match=r"(?s)did not say it listens within 0.5 s:.*starting"):
        ServerProcess(argv, UVICORN_LISTENING, log=tmp_path / "log", timeout=0.5)
    pid = int((tmp_path / "log").read_text().split()[1])
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(pid, 0)
