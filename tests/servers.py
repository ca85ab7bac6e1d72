"""Servers the tests start on 127.0.0.1, each on a port no other process can take first.

A port found free and let go (bind port 0, read the number, close the socket) can be taken by another
process before the server binds it: on a shared machine running other test sessions the server then
fails to start, or the test talks to someone else's server. So no server here is given a port chosen
in advance:
- in this process (`Served`: uvicorn in a thread) the socket is bound to port 0 and listening before
  uvicorn is handed it, and the port is read back from the socket;
- in a subprocess (`ServerProcess`: `lift dev`, `python -m lift.dev.server`, uvicorn's CLI, the web
  adapter script) the server is told port 0 and the port is read from the line it prints once it
  listens (`LIFT_DEV_LISTENING`, `UVICORN_LISTENING`).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "LIFT_DEV_LISTENING",
    "UVICORN_LISTENING",
    "Served",
    "ServerDidNotStart",
    "ServerProcess",
    "listening_socket",
    "served_as_asgi_and_dev",
    "uvicorn_process",
]

# what `lift dev` / `python -m lift.dev.server` print once their socket listens
LIFT_DEV_LISTENING = re.compile(r"lift dev: serving \S+ on http://127\.0\.0\.1:(\d+)")
# what uvicorn logs (at level info) once it listens
UVICORN_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")

# SO_REUSEPORT (Linux, BSDs) lets `Served.stop(keep_port=True)` hold the port with a second socket
# bound beside the listening one, so the port is never free between stop and restart
_REUSE_PORT = getattr(socket, "SO_REUSEPORT", None)


class ServerDidNotStart(RuntimeError):
    """A test server exited, or did not say it listens, before its deadline (the message holds its output)."""


def listening_socket(port: int = 0, *, listen: bool = True) -> socket.socket:
    """A TCP socket on 127.0.0.1:`port` (0: one the OS picks), listening unless `listen` is false.

    It is bound with SO_REUSEPORT where the platform has it, so that `Served` can hand its port from
    one socket to the next; no other process can bind the port unless it asks for that port number
    with SO_REUSEPORT as the same user."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if _REUSE_PORT is not None:
            sock.setsockopt(socket.SOL_SOCKET, _REUSE_PORT, 1)
        sock.bind(("127.0.0.1", port))
        if listen:
            sock.listen(256)
    except BaseException:
        sock.close()
        raise
    return sock


class Served:
    """An ASGI app under uvicorn in a thread of this process, on a port of its own, until `stop()`.

    `stop(keep_port=True)` stops serving but keeps the port: bound and not listening, so connections
    are refused (as from a dead instance) and no other process can take it; `restart()` then serves
    the app again on the same port. `config` overrides uvicorn.Config's arguments."""

    def __init__(self, asgi: Any, **config: Any) -> None:
        self.asgi = asgi
        self.config = {"log_level": "warning", "lifespan": "off", "backlog": 256, **config}
        sock = listening_socket()
        self.port: int = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._holder: socket.socket | None = None
        self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(self.asgi, host="127.0.0.1", port=self.port, **self.config))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{self.port}"
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                sock.close()
                raise ServerDidNotStart(f"uvicorn did not start on {self.url}")
            time.sleep(0.01)

    def stop(self, keep_port: bool = False) -> None:
        """Stop serving (connections to the port are refused from now on); with `keep_port`, hold
        the port for `restart()`."""
        if keep_port and self._holder is None and _REUSE_PORT is not None:
            self._holder = listening_socket(self.port, listen=False)
        self.server.should_exit = True
        self.thread.join(10)
        if not keep_port:
            self._release()

    def restart(self) -> None:
        """Serve the app again on the same port (held since `stop(keep_port=True)`)."""
        try:
            sock = listening_socket(self.port)
        except OSError as exc:
            raise ServerDidNotStart(f"cannot serve on {self.url} again: {exc}") from exc
        self._serve(sock)
        self._release()

    def _release(self) -> None:
        if self._holder is not None:
            self._holder.close()
            self._holder = None


class ServerProcess:
    """A server in a subprocess, told to take any free port, and the port it says it took.

    `argv` must make the server listen on port 0 of 127.0.0.1 and print a line `listening` matches
    (group 1: the port) once it listens. Its output (stdout and stderr) goes to `log`. The process
    runs in a session of its own: `stop()` signals it and everything it started."""

    def __init__(
        self,
        argv: list[str],
        listening: re.Pattern[str],
        *,
        log: Path,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.argv = argv
        self.log_path = Path(log)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.port = self._wait_for_port(listening, timeout)
        except BaseException:
            self.stop(signal.SIGKILL)
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self, listening: re.Pattern[str], timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            found = listening.search(self.output())
            if found:
                return int(found.group(1))
            if self.proc.poll() is not None:
                raise ServerDidNotStart(
                    f"{self._name()} exited with {self.proc.returncode} before it listened:\n{self.output()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise ServerDidNotStart(
                    f"{self._name()} did not say it listens within {timeout} s:\n{self.output()[-4000:]}"
                )
            time.sleep(0.02)

    def _name(self) -> str:
        return " ".join(self.argv[:4] if self.argv[0] == sys.executable else self.argv[:2])

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Signal the server's session (SIGKILL after `timeout` s); its exit code."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signum)
                self.proc.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def uvicorn_process(
    app: str,
    *args: str,
    log: Path,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """`python -m uvicorn APP` on a free port of 127.0.0.1 (info log level, no access log)."""
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "0", "--log-level", "info"]
    return ServerProcess([*argv, "--no-access-log", *args], UVICORN_LISTENING, log=log, cwd=cwd, env=env)


@contextmanager
def served_as_asgi_and_dev(
    root: Path, module: str, source: str, *, http_payload: bool = False
) -> Iterator[tuple[Any, dict[str, Served]]]:
    """`source` written to `root/<module>.py`, imported by an in-process dev server, and its `app`
    under uvicorn twice: as `app.asgi` ("asgi") and behind that dev server ("dev", REST payloads).
    Yields the module (one import, shared by both) and the servers; everything is stopped and
    forgotten after. `http_payload`: a second dev server too, with HTTP API payloads ("dev-http",
    on an import of its own)."""
    import textwrap

    from lift.dev.server import DevServer

    (root / f"{module}.py").write_text(textwrap.dedent(source))
    dev = DevServer(f"{module}:app", project_dir=root, reload=False)
    dev.start()
    devs = [dev]
    servers: dict[str, Served] = {}
    try:
        imported = sys.modules[module]
        servers["asgi"] = Served(imported.app.asgi)
        servers["dev"] = Served(dev, lifespan="on")
        if http_payload:
            devs.append(DevServer(f"{module}:app", project_dir=root, reload=False, payload="http"))
            devs[-1].start()
            servers["dev-http"] = Served(devs[-1], lifespan="on")
        yield imported, servers
    finally:
        for served in servers.values():
            served.stop()
        for each in devs:
            each.stop()
        sys.modules.pop(module, None)
        if str(dev.loader.project_dir) in sys.path:
            sys.path.remove(str(dev.loader.project_dir))
