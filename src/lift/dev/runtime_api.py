"""A local Lambda Runtime API, so an app can run under AWS's real runtime client.

`RuntimeEmulator` serves the Runtime API endpoints (`invocation/next`, `{id}/response`,
`{id}/error`, `init/error`) on 127.0.0.1 and runs `python -m awslambdaric <handler>` as a
subprocess against it. Each `invoke(event)` is reported the way Lambda reports it: the
response, or the error document (`errorMessage`, `errorType`, `stackTrace`) for handler
errors, init errors, timeouts (the runtime is killed) and runtime exits.

    with RuntimeEmulator("app.handler", cwd="path/to/project") as rt:
        result = rt.invoke({"hello": "world"})
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["RuntimeEmulator", "InvokeResult", "RuntimeNotAvailable"]

API_PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # (6291556: the limit Lambda's errors name)
MAX_REQUEST_BYTES = 6 * 1024 * 1024  # a synchronous Invoke's payload, refused before the function runs
REQUEST_TOO_LARGE = {
    "errorMessage": f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation",
    "errorType": "RequestTooLargeException",
}  # (what Lambda answers a synchronous Invoke whose payload is too large)


def response_too_large(size: int) -> dict[str, str]:
    """What Lambda reports for a function whose response is over its 6 MB limit."""
    return {
        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


REGION = "us-east-1"  # the function's region when the environment names none
ACCOUNT = "123456789012"


class RuntimeNotAvailable(RuntimeError):
    """The runtime interface client (`awslambdaric`) is not installed."""


@dataclass
class InvokeResult:
    """What a caller of Lambda's Invoke API would see for one invocation."""

    request_id: str
    kind: str  # "response", "error", "init_error", "timeout", "exit", or "rejected" (the function never ran)
    payload: Any  # the decoded response, or the error document
    raw: bytes = b""
    duration_ms: float = 0.0
    logs: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "response"

    @property
    def error(self) -> dict[str, Any] | None:
        """The error document (`errorMessage`, `errorType`, `stackTrace`), or None on success."""
        return None if self.ok else self.payload

    @property
    def function_error(self) -> str | None:
        """The `X-Amz-Function-Error` header Lambda would send ("Unhandled" on any failure of the function;
        none for a request Lambda refused, which is an error of the Invoke call itself)."""
        return None if self.ok or self.kind == "rejected" else "Unhandled"


@dataclass
class _Invocation:
    request_id: str
    body: bytes
    timeout: float
    trace_id: str
    client_context: str | None = None  # JSON, as the Lambda-Runtime-Client-Context header carries it
    cognito_identity: str | None = None  # JSON, for Lambda-Runtime-Cognito-Identity
    deadline: float = 0.0  # monotonic, set when the runtime picks the event up
    picked_up: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[str, bytes] | None = None

    def resolve(self, kind: str, body: bytes) -> bool:
        if self.done.is_set():
            return False
        self.result = (kind, body)
        self.done.set()
        return True


class _RuntimeAPIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: RuntimeEmulator) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", 0), _RuntimeAPIHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A runtime killed (timeout, init error, exit) with a connection open resets it: expected,
        and no reason to print socketserver's traceback among the function's output."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RuntimeAPIHandler(BaseHTTPRequestHandler):
    """The Runtime API endpoints, with the headers the real service sends."""

    protocol_version = "HTTP/1.1"
    server: _RuntimeAPIServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == f"{API_PREFIX}/restore/next":
            # SnapStart (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start): the runtime ran its before-snapshot
            # hooks and waits here while Lambda takes the snapshot; its answer is the restore, at once
            # (locally, one copy), after which the runtime runs its after-restore hooks
            return self._reply(200, {})
        if self.path != f"{API_PREFIX}/invocation/next":
            return self._reply(404, {"errorType": "InvalidRequest", "errorMessage": f"Unknown path {self.path}"})
        invocation = self.server.emulator._next_invocation(self.connection)
        if invocation is None:  # shutting down, or the runtime that asked is gone
            self.close_connection = True
            return None
        deadline_ms = int((time.time() + invocation.timeout) * 1000)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", self.server.emulator.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id", invocation.trace_id)
        if invocation.client_context is not None:
            self.send_header("Lambda-Runtime-Client-Context", invocation.client_context)
        if invocation.cognito_identity is not None:
            self.send_header("Lambda-Runtime-Cognito-Identity", invocation.cognito_identity)
        self.send_header("Content-Length", str(len(invocation.body)))
        self.end_headers()
        self.wfile.write(invocation.body)
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator
        if self.path in (f"{API_PREFIX}/init/error", f"{API_PREFIX}/restore/error"):
            emulator._init_failed(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            return self._reply(202, {"status": "OK"})
        prefix = f"{API_PREFIX}/invocation/"
        if not self.path.startswith(prefix):
            return self._reply(404, {"errorType": "InvalidRequest", "errorMessage": f"Unknown path {self.path}"})
        request_id, _, action = self.path[len(prefix) :].partition("/")
        if action not in ("response", "error"):
            return self._reply(404, {"errorType": "InvalidRequest", "errorMessage": f"Unknown path {self.path}"})
        invocation = emulator._current
        if invocation is None or invocation.request_id != request_id or invocation.done.is_set():
            return self._reply(400, {"errorType": "InvalidRequestID", "errorMessage": "Invalid request ID"})
        if action == "error":
            document = _error_document(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            invocation.resolve("error", json.dumps(document).encode())
            return self._reply(202, {"status": "OK"})
        if len(body) > MAX_RESPONSE_BYTES:
            invocation.resolve("error", json.dumps(response_too_large(len(body))).encode())
            return self._reply(
                413,
                {
                    "errorType": "RequestEntityTooLarge",
                    "errorMessage": f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                },
            )
        invocation.resolve("response", body)
        return self._reply(202, {"status": "OK"})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class RuntimeEmulator:
    """Runs `handler` (e.g. "app.handler") under awslambdaric against a local Runtime API.

    `timeout` is the function timeout in seconds (the runtime is killed when it passes);
    `init_timeout` bounds how long the runtime may take to ask for its first event.
    `log_sink`, if given, receives each line the runtime prints as it arrives.
    """

    def __init__(
        self,
        handler: str,
        *,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 3.0,
        init_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        function_name: str = "lift-local",
        memory_mb: int = 128,
        python: str | None = None,
        log_sink: Callable[[str], Any] | None = None,
    ) -> None:
        self.handler = handler
        self.cwd = str(Path(cwd or os.getcwd()).resolve())
        self.timeout = timeout
        self.init_timeout = init_timeout
        self.extra_env = dict(env or {})
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.python = python or sys.executable
        self.log_sink = log_sink
        # the function's region: the one the developer's environment (or `env`) names, so the app's AWS calls
        # go where they would from the function, and its ARN says so
        names = {**os.environ, **self.extra_env}
        self.region = names.get("AWS_REGION") or names.get("AWS_DEFAULT_REGION") or REGION
        self.function_arn = f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{function_name}"
        self.init_error: dict[str, Any] | None = None
        self.starts = 0  # how many runtime processes were started (cold starts)
        self._server: _RuntimeAPIServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: queue.Queue[_Invocation] = queue.Queue()
        self._current: _Invocation | None = None
        self._closed = threading.Event()
        self._invoke_lock = threading.Lock()
        self._logs: list[str] = []
        self._logs_lock = threading.Lock()
        self._log_pipe: _LogPipe | None = None  # the current runtime's stdout
        self._waiting = 0  # requests for the next event being held (a runtime idle between invocations)
        self._waiting_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def address(self) -> str:
        """`host:port` of the Runtime API (the value of AWS_LAMBDA_RUNTIME_API)."""
        if self._server is None:
            raise RuntimeError("The emulator is not started")
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeEmulator:
        """Start the Runtime API server and the runtime process (its init phase begins now)."""
        _require_runtime_client(self.python)
        self._closed.clear()
        if self._server is None:
            self._server = _RuntimeAPIServer(self)
            threading.Thread(target=self._server.serve_forever, name="lift-runtime-api", daemon=True).start()
        self._start_runtime()
        return self

    def close(self) -> None:
        """Stop the runtime process and the server."""
        self._closed.set()
        self._kill_runtime()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def shutdown(self, grace: float = 0.5) -> int | None:
        """Shut the execution environment down as Lambda does for a function with extensions:
        SIGTERM to the runtime, SIGKILL if it is still running after `grace` seconds (Lambda gives
        500 ms). Returns the runtime's exit status (negative: the signal that ended it), or None when
        no runtime was running. The next `invoke` starts a fresh one (a cold start)."""
        process = self._process
        if process is None or process.poll() is not None:
            return None
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._kill_runtime()
        self._process = None
        return process.returncode

    def __enter__(self) -> RuntimeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def runtime_env(self) -> dict[str, str]:
        """The environment Lambda gives the runtime, pointed at this emulator."""
        env = dict(os.environ)  # AWS credentials pass through, like the execution role's on Lambda
        env.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
        paths = [self.cwd, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": self.address,
                "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                # the runtime's Python, not this one's: awslambdaric reads it (on 3.12+ it polls for events on
                # a thread and writes results' non-ASCII text as is), and so may the app
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{_python_version(self.python)}",
                "LAMBDA_TASK_ROOT": self.cwd,
                "LAMBDA_RUNTIME_DIR": str(Path(self.python).parent),
                "_HANDLER": self.handler,
                "TZ": ":UTC",
                "PYTHONPATH": os.pathsep.join(paths),
                "PYTHONUNBUFFERED": "1",
                "LAMBDA_DISABLE_PREVIEW_WARN": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def _start_runtime(self) -> None:
        self.init_error = None
        self.starts += 1
        self._process = subprocess.Popen(
            # -P: the task root comes first on sys.path once, from PYTHONPATH, as on Lambda (with -m alone it
            # was there twice, and every import that looks past it paid a second failed lookup)
            [self.python, "-P", "-m", "awslambdaric", self.handler],
            cwd=self.cwd,
            env=self.runtime_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        self._log_pipe = _LogPipe(self._process.stdout, self._log_line)
        threading.Thread(target=self._read_logs, args=(self._log_pipe,), name="lift-runtime-logs", daemon=True).start()

    def _kill_runtime(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait(timeout=5)

    def _read_logs(self, pipe: _LogPipe) -> None:
        """Collect the runtime's lines as they come (for `log_sink`), until its stdout closes."""
        while True:
            select.select([pipe.fd], [], [], 1.0)
            with self._logs_lock:
                if not pipe.pump():
                    pipe.close()
                    return

    def _log_line(self, line: str) -> None:  # (called with _logs_lock held)
        self._logs.append(line)
        if self.log_sink is not None:
            self.log_sink(line.rstrip("\n"))

    def _log_mark(self) -> int:
        with self._logs_lock:
            return len(self._logs)

    def _logs_since(self, mark: int) -> str:
        """The lines printed since `mark`. The runtime wrote an invocation's lines before it posted
        the outcome, so they are all in the pipe by now: read what is left there, rather than wait
        for the reader thread to get to it."""
        with self._logs_lock:
            if self._log_pipe is not None:
                self._log_pipe.pump()
            return "".join(self._logs[mark:])

    @property
    def logs(self) -> str:
        """Everything the runtime printed so far."""
        with self._logs_lock:
            return "".join(self._logs)

    # -- invocation ---------------------------------------------------------------------
    def invoke(
        self,
        event: Any,
        *,
        timeout: float | None = None,
        client_context: Mapping[str, Any] | None = None,
        cognito_identity: Mapping[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> InvokeResult:
        """Send one event and wait for the outcome, as a synchronous Lambda Invoke does.

        `client_context` (`{"client": {...}, "custom": {...}, "env": {...}}`, what the Invoke API's
        ClientContext carries) and `cognito_identity` (`{"cognitoIdentityId", "cognitoIdentityPoolId"}`)
        reach the handler's `context.client_context` / `context.identity`; `trace_id` is the X-Ray
        header (`Root=1-...;Parent=...;Sampled=1`) the runtime puts in `_X_AMZN_TRACE_ID`. An event
        over 6 MB is refused as Lambda refuses it (kind "rejected"): the function never runs."""
        if self._server is None:
            raise RuntimeError("Start the emulator first (use it as a context manager)")
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        if len(body) > MAX_REQUEST_BYTES:
            error = json.dumps(REQUEST_TOO_LARGE).encode()
            return InvokeResult(str(uuid.uuid4()), "rejected", _decode(error), error)
        with self._invoke_lock:
            if self._process is None or self._process.poll() is not None:
                self._kill_runtime()
                self._start_runtime()  # Lambda re-initializes after a crash, timeout or init error
            invocation = _Invocation(
                str(uuid.uuid4()),
                body,
                timeout or self.timeout,
                trace_id or _trace_id(),
                None if client_context is None else json.dumps(client_context),
                None if cognito_identity is None else json.dumps(cognito_identity),
            )
            mark = self._log_mark()
            started = time.monotonic()
            self._current = invocation
            self._pending.put(invocation)
            kind, raw = self._wait(invocation, started)
            self._current = None
            _drain(self._pending)
            if kind == "timeout" and invocation.picked_up:  # the line Lambda itself logs
                with self._logs_lock:
                    if self._log_pipe is not None:
                        self._log_pipe.pump()
                    now = time.time()
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
                    self._log_line(
                        f"{stamp} {invocation.request_id} Task timed out after {invocation.timeout:.2f} seconds\n"
                    )
            if kind in ("timeout", "exit", "init_error"):
                self._kill_runtime()
            duration = (time.monotonic() - started) * 1000
            return InvokeResult(invocation.request_id, kind, _decode(raw), raw, duration, self._logs_since(mark))

    def _wait(self, invocation: _Invocation, started: float) -> tuple[str, bytes]:
        process = self._process
        assert process is not None
        restarted = False
        while not invocation.done.wait(0.01):
            now = time.monotonic()
            if not invocation.picked_up and not restarted and process.poll() is not None and self.init_error is None:
                # The runtime died between invocations (e.g. after a failed post): re-initialize once.
                self._kill_runtime()
                self._start_runtime()
                process, restarted, started = self._process, True, now
                assert process is not None
                continue
            if invocation.picked_up and now > invocation.deadline:
                invocation.resolve(
                    "timeout",
                    _error_doc(
                        f"RequestId: {invocation.request_id} Error: Task timed out after {invocation.timeout:.2f} seconds",
                        "Sandbox.Timedout",
                    ),
                )
            elif not invocation.picked_up and now - started > self.init_timeout:
                invocation.resolve(
                    "timeout",
                    _error_doc(
                        f"RequestId: {invocation.request_id} Error: Runtime did not ask for an event within "
                        f"{self.init_timeout:.2f} seconds (init timed out)",
                        "Sandbox.Timedout",
                    ),
                )
            elif process.poll() is not None:
                invocation.done.wait(0.05)  # a final POST may still be in flight
                invocation.resolve(
                    "exit",
                    _error_doc(
                        f"RequestId: {invocation.request_id} Error: Runtime exited with error: "
                        f"{_exit_description(process.returncode)}",
                        "Runtime.ExitError",
                    ),
                )
        assert invocation.result is not None
        return invocation.result

    # -- called by the server ------------------------------------------------------------
    def _next_invocation(self, connection: socket.socket) -> _Invocation | None:
        """The next event for the runtime that asked on `connection`; None when the emulator closes or
        that runtime is gone (ended while it waited: the event is left for the runtime started next)."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            while not self._closed.is_set():
                try:
                    invocation = self._pending.get(timeout=0.1)
                except queue.Empty:
                    if _peer_gone(connection):
                        return None
                    continue
                if invocation.done.is_set():
                    continue
                if _peer_gone(connection):
                    self._pending.put(invocation)
                    return None
                invocation.deadline = time.monotonic() + invocation.timeout
                invocation.picked_up = True
                return invocation
            return None
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _init_failed(self, body: bytes, error_type: str | None) -> None:
        document = _error_document(body, error_type)
        self.init_error = document
        current = self._current
        if current is not None:
            current.resolve("init_error", json.dumps(document).encode())


class _LogPipe:
    """The runtime's stdout, read without blocking into whole lines (a line cut by a read waits for
    its end; at end of file the rest is a line). Callers hold the emulator's logs lock."""

    def __init__(self, stdout: Any, on_line: Callable[[str], None]) -> None:
        self.stdout = stdout
        self.fd = stdout.fileno()
        os.set_blocking(self.fd, False)
        self.on_line = on_line
        self.partial = b""
        self.eof = False

    def pump(self) -> bool:
        """Read everything the pipe holds now; False once it is closed (end of file)."""
        while not self.eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                if self.partial:
                    self.on_line(self.partial.decode("utf-8", "replace"))
                    self.partial = b""
                break
            *lines, self.partial = (self.partial + chunk).split(b"\n")
            for line in lines:
                self.on_line(line.decode("utf-8", "replace") + "\n")
        return False

    def close(self) -> None:
        self.stdout.close()


def _peer_gone(connection: socket.socket) -> bool:
    """Whether the runtime on `connection` has closed it (ended): its end of file is waiting there.
    (A runtime sends nothing else while it waits for an event.)"""
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:  # nothing to read: still there, waiting
        return False
    except OSError:
        return True


_VERSIONS: dict[str, str] = {}


def _python_version(python: str) -> str:
    """`python`'s "major.minor" (asked once per interpreter)."""
    if python == sys.executable:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    if python not in _VERSIONS:
        code = "import sys; print('%d.%d' % sys.version_info[:2])"
        _VERSIONS[python] = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    return _VERSIONS[python]


def _require_runtime_client(python: str) -> None:
    if python == sys.executable:
        import importlib.util

        if importlib.util.find_spec("awslambdaric") is None:
            raise RuntimeNotAvailable('The Lambda runtime interface client is missing: pip install "lift-lambda[dev]"')


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


# How Lambda (a Go program) words a runtime ended by a signal: "signal: killed" (an out-of-memory kill),
# "signal: segmentation fault" (a C extension's crash), "signal: interrupt" (an unhandled KeyboardInterrupt)
_SIGNAL_WORDS = {
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
}


def _exit_description(returncode: int) -> str:
    """Lambda's words for how the runtime process ended: "exit status 3", "signal: killed"."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    try:
        return f"signal: {_SIGNAL_WORDS.get(signal.Signals(number), f'signal {number}')}"
    except ValueError:
        return f"signal: signal {number}"


def _error_doc(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _error_document(body: bytes, error_type: str | None) -> dict[str, Any]:
    """What Lambda reports for a runtime's init or invocation error: the JSON document the runtime
    posted, its type from the `Lambda-Runtime-Function-Error-Type` header when the document has none
    (a runtime may post any body, or none)."""
    document = _decode(body)
    if not isinstance(document, dict):
        document = {"errorMessage": "" if document is None else str(document)}
    if not document.get("errorType"):
        document["errorType"] = error_type or "Runtime.Unknown"
    return document


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _drain(pending: queue.Queue[_Invocation]) -> None:
    while True:
        try:
            pending.get_nowait()
        except queue.Empty:
            return
