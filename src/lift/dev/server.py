"""The local dev server: every trigger through `app.handler`, hot reload, and a live dashboard.

    python -m lift.dev.server service.app:app --port 8000 [--payload http] [--no-reload]

`--port 0` takes any free port; the first line printed says which.

HTTP requests become real API Gateway events (REST payload 1.0 or HTTP API 2.0) and go
through `app.handler`, so local behaviour equals Lambda's. WebSocket clients talk to an
emulated API Gateway WebSocket API (with a local Management API at `/@connections/{id}`),
`POST /_lift/events` runs any raw Lambda event (SQS events get queue semantics: redelivery
and a local DLQ), declared schedules fire on their own, and `/_lift/` is the dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import mimetypes
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lift import serialization
from lift.asgi import (
    ClientLeft,
    UnsendableHeader,
    WebSocketGateway,
    closing,
    expects_too_much,
    payload_too_large,
    read_body,
    send_response,
)
from lift.context import Response
from lift.dev import registry
from lift.dev.activity import Activity, LogCapture
from lift.dev.authorizer import LocalAuthorizer
from lift.dev.bridge import bad_gateway, event_from_request, response_from_result
from lift.dev.loader import AppLoader
from lift.dev.queues import LocalQueues, failed_ids, queue_name
from lift.dev.samples import sample_event, schedule_event
from lift.dev.schedule import Scheduler
from lift.dev.settings import SettingError, env_number
from lift.errors import LiftError
from lift.sources import source_of

__all__ = ["AppNotLoaded", "DevServer", "DevServerError", "main", "serve"]

_log = logging.getLogger("lift.dev")
_console = logging.getLogger("lift.dev.console")  # one line per record invocation; not on the dashboard
STATIC_DIR = Path(__file__).parent / "static"
_MAX_EVENT_BYTES = 6 * 1024 * 1024
# API Gateway's quota (REST and HTTP APIs, not adjustable): "total combined size of request line and
# header values", 10240 bytes; a larger request never reaches the function
_MAX_REQUEST_LINE_AND_HEADERS = 10240


class DevServerError(RuntimeError):
    """The dev server cannot start (port in use, bad app reference...)."""


class AppNotLoaded(DevServerError):
    """No app was ever loaded: the reference names none (`usage`), or its import raised (`detail`)."""

    def __init__(self, message: str, usage: bool, detail: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage
        self.detail = detail


class DevServer:
    """The dev server's ASGI application and the machinery around the user's app."""

    def __init__(
        self,
        app_ref: str,
        *,
        payload: str = "rest",
        reload: bool = True,
        host: str = "127.0.0.1",
        port: int = 8000,
        project_dir: str | os.PathLike[str] | None = None,
        profile_every: int = 0,
        profile_memory: bool = False,
    ) -> None:
        if payload not in ("rest", "http"):
            raise DevServerError(f"payload must be 'rest' or 'http', not {payload!r}")
        self.payload = payload
        self.reload_enabled = reload
        self.host, self.port = host, port
        self.loader = AppLoader(app_ref, project_dir)
        self.activity = Activity()
        self.queues = LocalQueues(self.invoke)
        self.scheduler = Scheduler(self._schedules, self.fire_schedule)
        self.websockets = WebSocketGateway(lambda: self.loader.app, self._invoke_websocket)
        self.watcher: Any = None
        self.started_at = time.time()
        # the function timeout: API Gateway's integration limit (29 s) unless LIFT_DEV_TIMEOUT says otherwise
        self.timeout = env_number("LIFT_DEV_TIMEOUT", 29)
        # how long a request's body may take to arrive once its headers have (a client trickling it held
        # the connection, and the request, for good)
        self.body_timeout = env_number("LIFT_DEV_BODY_TIMEOUT", 30)
        self.profiler: Any = None
        if profile_every:
            from lift.dev.profiling import RequestProfiler

            self.profiler = RequestProfiler(every=profile_every, memory=profile_memory)
        self.tests = TestRun(self.activity)
        self._import_costs: tuple[int, list[dict[str, Any]]] | None = None
        self.running = 0  # invocations in progress (one may outlive its timeout: a thread cannot be stopped)
        self._running_lock = threading.Lock()
        self._in_flight: dict[int, int] = {}  # id(app) -> its invocations in progress
        self._retiring: dict[int, Any] = {}  # apps replaced by a reload, closed once their invocations end
        self.authorizer = LocalAuthorizer(_authorizer_config(project_dir), payload)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Load the app, capture logs, start the watcher and the scheduler (before serving)."""
        self.log_capture = LogCapture(self.activity)
        logging.getLogger().addHandler(self.log_capture)
        if self.loader.load():
            self._prepare(self.loader.app)
        elif self.loader.app is None:  # nothing to keep serving: stop with the error
            logging.getLogger().removeHandler(self.log_capture)
            if self.loader.error_is_reference:
                raise AppNotLoaded(self.loader.error or f"Cannot load {self.loader.app_ref}", usage=True)
            raise AppNotLoaded(f"{self.loader.app_ref} failed to import", usage=False, detail=self.loader.error)
        if self.reload_enabled:
            from lift.dev.watcher import SourceWatcher

            self.watcher = SourceWatcher(self.loader.project_dir, self.on_source_change)
            self.watcher.start()
        self.scheduler.start()

    def stop(self) -> None:
        logging.getLogger().removeHandler(getattr(self, "log_capture", None))  # type: ignore[arg-type]
        self.scheduler.stop()
        if self.watcher is not None:
            self.watcher.stop()
        app = self.loader.app
        if app is not None and hasattr(app, "shutdown"):
            app.shutdown()

    def on_source_change(self, paths: list[str]) -> None:
        old = self.loader.app
        ok = self.loader.load()
        names = ", ".join(os.path.relpath(p, self.loader.project_dir) for p in paths[:3]) or "restart"
        if ok:
            self._prepare(self.loader.app)
            print(
                f"lift dev: reloaded {self.loader.app_ref} in {self.loader.last_reload_ms:.0f} ms ({names})",
                file=sys.stderr,
            )
            self.scheduler.refresh()
            if old is not None and old is not self.loader.app:
                self._retire(old)
        self.activity.publish(
            {"type": "reload", "ok": ok, "error": self.loader.error, "generation": self.loader.generation}
        )

    def _prepare(self, app: Any) -> None:
        """Keep capturing logs (the app may reconfigure logging) and point its WebSocket client here."""
        root = logging.getLogger()
        if self.log_capture not in root.handlers:
            root.addHandler(self.log_capture)
        if hasattr(type(app), "websocket_client") and not getattr(app, "_websocket_client_assigned", False):
            from lift.websocket import WebSocketClient

            endpoint = f"http://{self.host}:{self.port}"
            app.websocket_client = WebSocketClient(endpoint=endpoint, client=LocalManagementClient(endpoint))

    def _schedules(self) -> dict[str, str]:
        app = self.loader.app
        return registry.schedules(app) if app is not None else {}

    # -- running events ----------------------------------------------------------------
    def invoke(self, event: Any) -> tuple[Any, str | None]:
        """Run one event through `app.handler` as Lambda would; records it for the dashboard."""
        with self._running_lock:  # (the app read under the lock: a reload retiring it sees this invocation)
            app = self.loader.app
            if app is None:
                return None, f"The app failed to import:\n{self.loader.error}"
            self.running += 1
            self._in_flight[id(app)] = self._in_flight.get(id(app), 0) + 1
        try:
            return self._run_handler(app, event)
        finally:
            with self._running_lock:
                self.running -= 1
                left = self._in_flight.pop(id(app)) - 1
                if left:
                    self._in_flight[id(app)] = left
                retired = None if left else self._retiring.pop(id(app), None)
            if retired is not None:
                _close_app(retired)

    def _retire(self, old: Any) -> None:
        """Close an app a reload replaced (its resources, health checks): now, or when the invocations
        still running in it end; closing them under a running handler would fail its call midway."""
        with self._running_lock:
            if self._in_flight.get(id(old)):
                self._retiring[id(old)] = old
                return
        _close_app(old)

    def _run_handler(self, app: Any, event: Any) -> tuple[Any, str | None]:
        from lift.testing import lambda_context

        context = lambda_context(function_name=getattr(app, "name", "lift-dev"), timeout_ms=int(self.timeout * 1000))
        started = time.perf_counter()
        result: Any = None
        error: str | None = None
        profiled = self.profiler is not None and self.profiler.selected()
        try:
            if profiled:
                label = _label_of(event)
                result = self.profiler.run(lambda: app.handler(event, context), context.aws_request_id, label)
            else:
                result = app.handler(event, context)
        # (sys.exit() in a handler: on Lambda the runtime exits, Runtime.ExitError; not a dev server crash)
        except (Exception, SystemExit) as exc:
            error = f"{type(exc).__name__}: {exc}"
            _log.error(
                "invocation failed (request_id=%s)\n%s",
                context.aws_request_id,
                traceback.format_exc(),
                extra={"request_id": context.aws_request_id},
            )
        self._record(
            event, result, error, (time.perf_counter() - started) * 1000, context.aws_request_id, profiled=profiled
        )
        return result, error

    async def _invoke_websocket(self, event: dict[str, Any]) -> Any:
        """A WebSocket event; a `$connect` first goes through `@app.authorizer` when there is one."""
        if (event.get("requestContext") or {}).get("eventType") == "CONNECT" and LocalAuthorizer.registered(
            self.loader.app
        ):
            refused = await asyncio.get_running_loop().run_in_executor(
                None, self.authorizer.check_connect, self.loader.app, event, self.invoke
            )
            if refused is not None:
                return {"statusCode": refused}
        return await self._invoke_async(event)

    async def _invoke_async(self, event: dict[str, Any]) -> Any:
        result, error = await asyncio.get_running_loop().run_in_executor(None, self.invoke, event)
        if error is not None:
            raise RuntimeError(error)
        return result

    def run_event(self, event: Any) -> tuple[Any, str | None]:
        """Run a raw event; SQS events get queue semantics (redelivery, DLQ)."""
        if source_of(event) == "sqs":
            return self.queues.deliver(event)
        return self.invoke(event)

    def fire_schedule(self, rule: str) -> None:
        self.run_event(schedule_event(rule, self.scheduler.now()))

    def _record(
        self, event: Any, result: Any, error: str | None, ms: float, request_id: str, profiled: bool = False
    ) -> None:
        source = source_of(event)
        status: int | str = "error" if error else "ok"
        extra: dict[str, Any] = {}
        if profiled:
            extra["profiled"] = True
        if source in ("rest", "http", "alb", "url"):
            if isinstance(result, dict) and isinstance(result.get("statusCode"), int):
                status = result["statusCode"]
            elif error:
                status = 502
            method, target = _http_method_and_path(event)
            key = f"{method} {self._template_for(target) or target}"
            kind = "http"
        else:
            method, target, key = source.upper(), _target_of(source, event), ""
            kind = source
            if source == "websocket" and isinstance(result, dict) and isinstance(result.get("statusCode"), int):
                status = result["statusCode"]
            records = event.get("Records") if isinstance(event, dict) else None
            if records and source == "sqs":
                failed = failed_ids(result, error, records)
                status = "failed" if failed else "ok"
                extra = {
                    "records": len(records),
                    "failed": len(failed),
                    "receive_count": max(
                        int((r.get("attributes") or {}).get("ApproximateReceiveCount") or 1) for r in records
                    ),
                }
            elif isinstance(result, dict) and result.get("batchItemFailures"):  # (Kafka's are under "records")
                status = "failed"
            key = f"{method} {target}"
        self.activity.record(
            kind=kind,
            method=method,
            target=target,
            status=status,
            duration_ms=ms,
            request_id=request_id,
            stats_key=key,
            error=error,
            event=event,
            result=result,
            **extra,
        )
        if kind != "http":  # uvicorn's access log already prints HTTP requests
            detail = (
                f" {extra['records'] - extra['failed']}/{extra['records']} ok, receive #{extra['receive_count']}"
                if "records" in extra
                else ""
            )
            _console.info("%s %s -> %s%s (%.1f ms, request_id=%s)", method, target, status, detail, ms, request_id)

    def _template_for(self, path: str) -> str | None:
        app = self.loader.app
        try:
            entry, _ = app.router.lookup(path)
        except Exception:
            return None
        return entry.template if entry is not None else None

    # -- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            self.activity.loop = asyncio.get_running_loop()
            await self.websockets.serve(scope, receive, send)
        elif kind == "http":
            self.activity.loop = asyncio.get_running_loop()
            path = scope["path"]
            try:
                if path == "/_lift" or path.startswith("/_lift/"):
                    await self._internal(scope, receive, send)
                elif "/@connections/" in path:
                    await self.websockets.management_api(scope, receive, send)
                else:
                    await self._http(scope, receive, send)
            except ClientLeft:  # (mid-body: no event is made of a truncated body, and no one to answer)
                _log.info("client left before its request body was complete: %s %s not run", scope["method"], path)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                self.activity.loop = loop
                # invocations run in threads, like concurrent Lambda environments; asyncio's default
                # pool (CPUs + 4) would make slow handlers queue behind each other
                loop.set_default_executor(_InvocationPool(max_workers=32, thread_name_prefix="lift-dev"))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if _request_line_and_header_values(scope) > _MAX_REQUEST_LINE_AND_HEADERS:
            await send_response(
                send,
                Response.json(
                    {
                        "message": f"Request line and header values are larger than {_MAX_REQUEST_LINE_AND_HEADERS} bytes"
                    },
                    status=431,
                ),
            )
            return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        if self.loader.app is None:
            await send_response(send, self._import_error_response(scope))
            return
        try:
            event = event_from_request(scope, body, self.payload)
        except LiftError as err:  # (the app's own error body, as payload_too_large's 413)
            await send_response(send, Response.json(err.to_dict(str(uuid.uuid4())), status=err.status))
            return
        if LocalAuthorizer.registered(self.loader.app):  # API Gateway calls @app.authorizer first
            refused = await asyncio.get_running_loop().run_in_executor(
                None, self.authorizer.check, self.loader.app, event, self.invoke
            )
            if refused is not None:
                await send_response(send, refused)
                return
        streamed: list[Any] = []  # a streamed response, handed over instead of collected (lift.streaming)
        running = asyncio.get_running_loop().run_in_executor(None, self._invoke_streaming, event, streamed)
        try:
            result, error = await asyncio.wait_for(asyncio.shield(running), self.timeout)
        except TimeoutError:
            # Lambda would stop the function; a thread cannot be stopped, so it finishes unobserved
            _log.error(
                "Task timed out after %.2f seconds: %s %s (LIFT_DEV_TIMEOUT)",
                self.timeout,
                scope["method"],
                scope["path"],
            )
            response = Response.json({"message": "Endpoint request timed out"}, status=504)
        except asyncio.CancelledError:  # Ctrl-C while the handler runs: uvicorn's graceful shutdown ran out
            _log.warning("Stopped while %s %s was running: answered 503", scope["method"], scope["path"])
            try:
                await send_response(send, Response.json({"message": "Service Unavailable"}, status=503))
            except Exception:  # the client is gone: there is no one to answer
                pass
            return  # (not re-raised: the server is stopping; uvicorn would print it as the app's crash)
        else:
            response = bad_gateway() if error is not None else response_from_result(result)
        if self.loader.error:
            response.headers["X-Lift-Reload-Error"] = "the last edit failed to import; serving the last good app"
        if streamed and response.status < 500:
            from lift.streaming import stream_to_asgi

            try:
                await stream_to_asgi(send, receive, streamed[0])
            except UnsendableHeader:  # (a result API Gateway cannot send either: its 502)
                _log.error("The function's response has a header with a line break or NUL: answered 502")
                await send_response(send, bad_gateway())
            return
        try:
            await send_response(send, response, scope["method"] == "HEAD")
        except UnsendableHeader:  # (a result API Gateway cannot send either: its 502)
            _log.error("The function's response has a header with a line break or NUL: answered 502")
            await send_response(send, bad_gateway())

    async def _read_body(
        self, scope: dict[str, Any], receive: Any, send: Any, too_large: Response | None = None
    ) -> bytes | None:
        """The request's body, or None once answered: a 413 for one over Lambda's 6 MB (refused unread, the
        connection closed, when the client waits for "100 Continue" to send it), a 408 closing the
        connection for one not all in `body_timeout` seconds after the headers."""
        send_413 = send
        if expects_too_much(scope, _MAX_EVENT_BYTES):
            send_413 = closing(send)
        else:
            try:
                body = await asyncio.wait_for(read_body(receive, _MAX_EVENT_BYTES), self.body_timeout)
            except TimeoutError:
                _log.warning(
                    "request body not complete %s s after its headers: %s %s answered 408 (LIFT_DEV_BODY_TIMEOUT)",
                    self.body_timeout,
                    scope["method"],
                    scope["path"],
                )
                message = f"Request body not received within {self.body_timeout:g} seconds"
                await send_response(closing(send), Response.json({"message": message}, status=408))
                return None
            if body is not None:
                return body
        # (by default as app.asgi and the app answer it)
        await send_response(send_413, too_large or payload_too_large(_MAX_EVENT_BYTES))
        return None

    def _invoke_streaming(self, event: Any, streamed: list[Any]) -> tuple[Any, str | None]:
        """`invoke`, with a streamed response handed to `streamed` to be sent chunk by chunk."""
        from lift.streaming import passthrough

        with passthrough(streamed.append):
            return self.invoke(event)

    def _import_error_response(self, scope: dict[str, Any]) -> Response:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        error = self.loader.error or "unknown error"
        if "text/html" in accept:
            from html import escape

            page = (
                f"<!doctype html><title>Import error</title><body style='font-family:sans-serif'>"
                f"<h1>{escape(self.loader.app_ref)} failed to import</h1><p>Fix the code and save: the "
                f"dev server reloads it.</p><pre style='background:#fee;padding:1em'>{escape(error)}</pre>"
            )
            return Response.html(page, status=500)
        return Response.json(
            {
                "error": {
                    "code": "import_error",
                    "message": f"{self.loader.app_ref} failed to import",
                    "details": {"traceback": error},
                }
            },
            status=500,
        )

    # -- /_lift/* -------------------------------------------------------------------------
    async def _internal(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        sub = path[len("/_lift") :].strip("/")
        loop = asyncio.get_running_loop()
        if sub == "stream":
            await self._stream(receive, send)
            return
        body = await self._read_body(
            scope, receive, send, Response.json({"error": "event larger than 6 MB"}, status=413)
        )
        if body is None:
            return
        if method == "GET" and sub == "":
            response = _static("dashboard.html")
        elif method == "GET" and sub.startswith("static/"):
            response = _static(sub[len("static/") :])
        elif method == "GET" and sub == "api/state":
            response = Response.json(self.state())
        elif method == "GET" and sub.startswith("api/invocations/") and sub.rsplit("/", 1)[1].isdigit():
            detail_text = self.activity.detail_json(int(sub.rsplit("/", 1)[1]))
            response = Response(
                detail_text or "null", 404 if detail_text is None else 200, content_type="application/json"
            )
        elif method == "GET" and sub == "api/health":
            response = Response.json(await loop.run_in_executor(None, self.health))
        elif method == "POST" and sub == "events":
            response = await self._post_event(body)
        elif method == "POST" and sub == "send":
            response = await self._send_sample(body)
        elif sub.startswith(("api/profiles", "api/imports", "api/restart", "api/tests")) or sub.endswith("/replay"):
            response = await self._action(method, sub, body)
        elif method == "POST" and sub.startswith("queues/") and sub.endswith("/redrive"):
            count = self.queues.redrive(sub[len("queues/") : -len("/redrive")])
            response = Response.json({"redriven": count})
        elif method == "GET" and (sub in ("docs", "openapi.json") or sub.startswith("swagger/")):
            from lift.dev import docs

            response = docs.response_for(sub, self.loader.app)
        else:
            response = Response.json({"error": f"no dev-server endpoint {method} {path}"}, status=404)
        await send_response(send, response)

    async def _action(self, method: str, sub: str, body: bytes) -> Response:
        """The dashboard's actions: profiles, import costs, restart, tests, replay."""
        loop = asyncio.get_running_loop()
        parts = sub.split("/")
        if method == "GET" and sub == "api/profiles":
            profiler = self.profiler
            return Response.json(
                {
                    "enabled": profiler is not None,
                    "engine": profiler.engine if profiler else None,
                    "every": profiler.every if profiler else None,
                    "slowest": profiler.slowest() if profiler else [],
                }
            )
        if method == "GET" and len(parts) in (3, 4) and parts[:2] == ["api", "profiles"]:
            profile = self._find_profile(parts[2])
            if profile is None:
                return Response.json(
                    {"error": f"no profile {parts[2]} (profiling on: {self.profiler is not None})"}, 404
                )
            if len(parts) == 4 and parts[3] == "html":
                if profile.html is None:
                    return Response.json({"error": "no HTML for this profile (cProfile engine)"}, status=404)
                return Response.html(profile.html)
            return Response.json({**profile.summary(), "tree": profile.tree})
        if method == "GET" and sub == "api/imports":
            try:
                return Response.json({"imports": await loop.run_in_executor(None, self.import_costs)})
            except RuntimeError as exc:
                return Response.json({"error": str(exc)}, status=500)
        if method == "POST" and sub == "api/restart":
            ok = await loop.run_in_executor(None, self.restart)
            return Response.json({"ok": ok, "error": self.loader.error, "generation": self.loader.generation})
        if method == "POST" and sub == "api/tests":
            spec = serialization.decode_json(body) if body else {}
            args = spec.get("args") if isinstance(spec, dict) else None
            if args is not None and not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
                return Response.json({"error": "args must be a list of strings"}, status=400)
            if not self.tests.start(self.loader.project_dir, args or []):
                return Response.json({"error": "a test run is already running"}, status=409)
            return Response.json(self.tests.state(), status=202)
        if method == "GET" and sub == "api/tests":
            return Response.json(self.tests.state())
        if method == "POST" and len(parts) == 4 and parts[:2] == ["api", "invocations"] and parts[3] == "replay":
            detail = self.activity.detail(int(parts[2])) if parts[2].isdigit() else None
            if detail is None or detail.get("event") is None:
                return Response.json({"error": f"no recorded invocation {parts[2]}"}, status=404)
            result, error = await loop.run_in_executor(None, self.run_event, detail["event"])
            return Response.json({"result": result, "error": error})
        return Response.json({"error": f"no dev-server endpoint {method} /_lift/{sub}"}, status=404)

    def _find_profile(self, key: str) -> Any:
        if self.profiler is None:
            return None
        return self.profiler.get(int(key)) if key.isdigit() else self.profiler.for_request(key)

    def restart(self) -> bool:
        """Re-import the app now, as a saved edit would (the dashboard's restart button)."""
        self.on_source_change([])
        return self.loader.error is None

    def import_costs(self, limit: int = 40) -> list[dict[str, Any]]:
        """What importing the app's module costs at a cold start, per module (cached per reload)."""
        generation = self.loader.generation
        if self._import_costs is None or self._import_costs[0] != generation:
            from lift.dev.profiling import import_costs

            module = self.loader.app_ref.partition(":")[0]
            costs = import_costs(module, self.loader.project_dir)
            rows = [
                {"module": c.module, "self_us": c.self_us, "cumulative_us": c.cumulative_us, "depth": c.depth}
                for c in costs
            ]
            self._import_costs = (generation, rows)
        return self._import_costs[1][:limit]

    async def _post_event(self, body: bytes) -> Response:
        try:
            event = serialization.decode_json(body)
        except Exception as exc:
            return Response.json({"result": None, "error": f"The body is not a JSON Lambda event: {exc}"}, status=400)
        result, error = await asyncio.get_running_loop().run_in_executor(None, self.run_event, event)
        return Response.json({"result": result, "error": error})

    async def _send_sample(self, body: bytes) -> Response:
        try:
            spec = serialization.decode_json(body or b"{}")
            options = spec.get("options") or {}
            event = sample_event(spec["kind"], spec.get("name") or "", spec.get("body"), **options)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Response.json({"result": None, "error": f"Bad sample request: {exc}"}, status=400)
        result, error = await asyncio.get_running_loop().run_in_executor(None, self.run_event, event)
        return Response.json({"result": result, "error": error, "event": event})

    async def _stream(self, receive: Any, send: Any) -> None:
        """Server-Sent Events: every invocation, log record and reload as it happens."""
        queue = self.activity.subscribe()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"retry: 1000\n\n", "more_body": True})
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            while not disconnected.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, disconnected}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    data = json.dumps(getter.result(), default=str)
                    await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})
                else:
                    getter.cancel()
                    if not disconnected.done():
                        await send({"type": "http.response.body", "body": b": keepalive\n\n", "more_body": True})
        except OSError:
            pass
        except asyncio.CancelledError:  # Ctrl-C with the dashboard open: uvicorn's 2 s grace ran out
            try:  # (the feed ends as a feed does: the page's EventSource reconnects to the next server)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except Exception:
                pass
        finally:
            self.activity.unsubscribe(queue)
            disconnected.cancel()

    def summary(self) -> str:
        """What the app registered, for the console at startup."""
        app = self.loader.app
        if app is None:
            return "lift dev: no app loaded yet"
        routes = registry.http_routes(app)
        lines = [f"  {r['method']:9s} {r['path']}" for r in routes]
        lines += [f"  {s['kind']:9s} {s['name']}" for s in registry.event_sources(app)]
        return f"lift dev: {len(routes)} routes, {len(lines) - len(routes)} event handlers\n" + "\n".join(lines)

    # -- what the dashboard shows -----------------------------------------------------------
    def state(self) -> dict[str, Any]:
        app = self.loader.app
        loader = self.loader
        return {
            "app": {
                "ref": loader.app_ref,
                "name": getattr(app, "name", None),
                "generation": loader.generation,
                "error": loader.error,
                "loaded_at": loader.loaded_at,
                "last_reload_ms": loader.last_reload_ms,
                "payload": self.payload,
                "reload": self.reload_enabled,
                "started_at": self.started_at,
            },
            "routes": registry.http_routes(app) if app is not None else [],
            "sources": registry.event_sources(app) if app is not None else [],
            "schedules": [
                {
                    "rule": rule,
                    "expression": expr,
                    "next": self.scheduler.next_fires().get(rule),
                    "error": self.scheduler.errors.get(rule),
                }
                for rule, expr in self._schedules().items()
            ],
            "invocations": list(self.activity.invocations)[-200:],
            "stats": self.activity.route_stats(),
            "logs": list(self.activity.logs)[-200:],
            "queues": self.queues.snapshot(),
            "websockets": [
                {"connection_id": c.id, "source_ip": c.source_ip, "connected_at": c.connected_at}
                for c in self.websockets.connections.values()
            ],
            "health_available": app is not None and getattr(app, "_health", None) is not None,
            "profiling": {"enabled": self.profiler is not None, "engine": getattr(self.profiler, "engine", None)},
            "tests": self.tests.state(),
            "jobs": self._jobs(app),
        }

    @staticmethod
    def _jobs(app: Any) -> list[dict[str, Any]]:
        jobs = getattr(app, "_lift_jobs", None) if app is not None else None
        if jobs is None:
            return []
        try:
            return [jobs.public(job) for job in jobs.recent()]
        except Exception as exc:  # a store that cannot be read must not break the dashboard
            return [{"id": "?", "name": "?", "status": f"unreadable: {exc}"}]

    def health(self) -> dict[str, Any] | None:
        app = self.loader.app
        registry_ = getattr(app, "_health", None) if app is not None else None
        if registry_ is None:
            return None
        try:
            return registry_.run(use_cache=False).to_dict()
        except Exception as exc:
            return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}


def _request_line_and_header_values(scope: dict[str, Any]) -> int:
    """The bytes API Gateway counts against its 10240-byte quota: the request line and the header values."""
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    line = len(scope["method"]) + 1 + len(path) + (len(query) + 1 if query else 0) + len(" HTTP/1.1")
    return line + sum(len(value) for _, value in scope.get("headers") or [])


def _close_app(app: Any) -> None:
    if hasattr(app, "shutdown"):
        try:
            app.shutdown()
        except Exception:
            _log.exception("closing the previous app failed")


class _InvocationPool(ThreadPoolExecutor):
    """The threads invocations run in. Stopping does not wait for them: a handler running past its
    timeout cannot be stopped, and asyncio.run would wait for it before Ctrl-C could end `lift dev`."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


class TestRun:
    """The dashboard's "run the tests": one pytest subprocess at a time, its output streamed as it comes."""

    def __init__(self, activity: Activity, keep_lines: int = 2000) -> None:
        self.activity = activity
        self.keep_lines = keep_lines
        self.lines: list[str] = []
        self.exit_code: int | None = None
        self.running = False
        self.started_at: float | None = None
        self._lock = threading.Lock()

    def start(self, project_dir: Path, args: list[str]) -> bool:
        with self._lock:
            if self.running:
                return False
            self.running, self.exit_code, self.lines, self.started_at = True, None, [], time.time()
        threading.Thread(target=self._run, args=(project_dir, args), daemon=True, name="lift-dev-tests").start()
        return True

    def _run(self, project_dir: Path, args: list[str]) -> None:
        argv = [sys.executable, "-m", "pytest", "-q", "--color=no", *args]
        self.activity.publish({"type": "tests", "started": True, "argv": argv[2:]})
        code = -1
        try:
            with subprocess.Popen(
                argv, cwd=project_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
            ) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    self._line(line.rstrip("\n"))
                code = proc.wait()
        except OSError as exc:
            self._line(f"could not start pytest: {exc}")
        with self._lock:
            self.running, self.exit_code = False, code
        self.activity.publish({"type": "tests", "done": True, "exit_code": code})

    def _line(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            del self.lines[: -self.keep_lines]
        self.activity.publish({"type": "tests", "line": line})

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "running": self.running,
                "exit_code": self.exit_code,
                "started_at": self.started_at,
                "output": self.lines[-400:],
            }


def _label_of(event: Any) -> str:
    """`GET /path` for an HTTP event, `SQS orders` for a record batch: how a profile is listed."""
    source = source_of(event)
    if source in ("rest", "http", "alb", "url") and isinstance(event, dict):
        return " ".join(_http_method_and_path(event))
    return f"{source.upper()} {_target_of(source, event)}"


def _http_method_and_path(event: dict[str, Any]) -> tuple[str, str]:
    """An HTTP event's method and path (payload 1.0 or 2.0); a sent event may lack either (a sample
    with `"httpMethod": null`), which the dashboard shows as "?" rather than failing on."""
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(event.get("httpMethod") or http.get("method") or "?"), str(event.get("path") or http.get("path") or "?")


class LocalManagementClient:
    """A boto3 Management API client for the dev server's endpoint, created on first use.

    It signs with throwaway credentials (the dev server ignores signatures), so `lift dev`
    never needs AWS credentials and never sets them in the environment the app sees.
    """

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id="lift-dev",
                aws_secret_access_key="lift-dev",
            )
        return getattr(self._client, name)


async def _wait_disconnect(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def _target_of(source: str, event: Any) -> str:
    """A short label for an event: queue, topic, bucket/key, detail type, rule, route key."""
    if not isinstance(event, dict):
        return type(event).__name__
    records = event.get("Records") or []
    first = records[0] if records and isinstance(records[0], dict) else {}
    if source == "sqs":
        return queue_name(first)
    if source == "sns":
        return (first.get("Sns") or {}).get("TopicArn", "").rsplit(":", 1)[-1]
    if source == "s3":
        s3 = first.get("s3") or {}
        return f"{(s3.get('bucket') or {}).get('name')}/{(s3.get('object') or {}).get('key')}"
    if source in ("dynamodb", "kinesis"):
        arn = first.get("eventSourceARN") or ""
        return arn.split("/")[1] if "/" in arn else arn
    if source == "schedule":
        resources = event.get("resources") or [""]
        return str(resources[0]).rsplit("/", 1)[-1]
    if source == "eventbridge":
        return f"{event.get('source')} / {event.get('detail-type')}"
    if source == "websocket":
        return (event.get("requestContext") or {}).get("routeKey", "")
    return source


def _authorizer_config(project_dir: str | os.PathLike[str] | None) -> Any:
    """`[tool.lift.authorizer]` of the project's default stage (None when absent or invalid)."""
    from lift.deploy.config import ConfigError, load_config

    try:
        return load_config(project_dir or ".").stage().authorizer
    except ConfigError as exc:
        _log.warning("[tool.lift.authorizer] not read: %s", exc)
        return None


def _static(name: str) -> Response:
    path = (STATIC_DIR / name).resolve()
    if not path.is_file() or STATIC_DIR.resolve() not in path.parents:
        return Response.json({"error": f"no static file {name}"}, status=404)
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype == "application/javascript":
        ctype += "; charset=utf-8"
    return Response(path.read_bytes(), 200, {"Cache-Control": "no-cache"}, content_type=ctype)


def _listen(host: str, port: int) -> socket.socket:
    """The dev server's socket, bound and listening before the app loads: the port is the server's from
    here on (no window between a check and the bind for another process to take it), and `port` 0
    takes any free port (read back from the socket). A port in use is a clear error before the import."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog: a client connecting before uvicorn runs waits in it
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DevServerError(
                f"Port {port} on {host} is in use ({exc.strerror}); pick another with --port (0: any free port)"
            ) from None
        raise DevServerError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(
    app_ref: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = True,
    payload: str = "rest",
    profile_every: int = 0,
    profile_memory: bool = False,
) -> None:
    """Run the dev server until interrupted (what `lift dev` calls). Blocking."""
    try:
        import uvicorn
    except ImportError as exc:
        raise DevServerError('The dev server needs uvicorn: pip install "lift-lambda[dev]"') from exc
    sock = _listen(host, port)
    port = sock.getsockname()[1]  # the one it took, with --port 0
    server: DevServer | None = None
    try:
        os.environ["LIFT_WEBSOCKET_ENDPOINT"] = f"http://{host}:{port}"
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        # a deployed function's environment copied here must not let local runs set the deployed
        # instance's health in Cloud Map: locally the health schedule is an ordinary schedule name
        os.environ.pop("LIFT_CLOUD_MAP_HEALTH_SCHEDULE", None)  # lift.cloud_map_health.SCHEDULE_ENV
        _configure_console_logging()
        try:
            header_seconds = env_number("LIFT_DEV_HEADER_TIMEOUT", 10)
            server = DevServer(
                app_ref,
                payload=payload,
                reload=reload,
                host=host,
                port=port,
                profile_every=profile_every,
                profile_memory=profile_memory,
            )
        except SettingError as exc:
            raise DevServerError(str(exc)) from None
        server.start()
        print(
            f"lift dev: serving {app_ref} on http://{host}:{port} ({payload} payload); "
            f"dashboard http://{host}:{port}/_lift/",
            file=sys.stderr,
        )
        print(server.summary(), file=sys.stderr)
        config = uvicorn.Config(
            server,
            host=host,
            port=port,
            lifespan="on",
            log_level="info",
            access_log=True,
            timeout_graceful_shutdown=2,
            http=_h11_with_header_timeout(header_seconds),
        )
        _uvicorn_on(uvicorn.Server, host, port)(config).run(sockets=[sock])
    finally:  # (also when uvicorn re-raises the Ctrl-C it caught, as it does once stopped)
        sock.close()
        if server is not None and server.running:
            # a handler still running (past its timeout) is in a worker thread the interpreter would wait
            # for at exit: Ctrl-C would leave the terminal hanging until the handler returns
            print(f"lift dev: stopped; {server.running} invocation(s) still running were abandoned", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def _h11_with_header_timeout(seconds: float) -> type:
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request line and headers have not all
    arrived `seconds` (LIFT_DEV_HEADER_TIMEOUT, 10) after it opened or after its last response: uvicorn
    waits for them forever, so a client that sends a request's start and stalls (or trickles a header a
    byte at a time) held the connection for good. A client that sent part of a request hears a 408."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._await_headers()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(seconds, self._headers_overdue)

        def _headers_overdue(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return  # a request is in (its body, its handler or its answer under way)
            if self.cycle is not None and not self.cycle.response_complete:
                return
            if self.conn.trailing_data[0]:  # (part of a request line or of its headers)
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.transport.close()

    return Protocol


def _uvicorn_on(base: type, host: str, port: int) -> Any:
    """uvicorn's Server, saying where it runs as it does for a port it binds itself (it does not
    for sockets it is given)."""

    class Server(base):  # type: ignore[misc,valid-type]
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            logging.getLogger("uvicorn.error").info(
                "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port
            )

    return Server


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Plain lines on stderr until the app installs Lift's JSON handler (`RequestLogging`): from
    then on that handler prints every line and this one stays quiet, so no line shows twice."""

    def emit(self, record: logging.LogRecord) -> None:
        if any(getattr(handler, "lift_handler", False) for handler in logging.getLogger().handlers):
            return
        super().emit(record)


def _configure_console_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = _ConsoleHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lift.dev.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("app", help="the app as module:attr, e.g. service.app:app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port (printed at start)")
    parser.add_argument(
        "--payload",
        choices=["rest", "http"],
        default="rest",
        help="API Gateway payload: rest (1.0) or http (HTTP API 2.0)",
    )
    parser.add_argument("--no-reload", dest="reload", action="store_false", help="do not watch for changes")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile one request in N (1: all)")
    parser.add_argument("--profile-memory", action="store_true", help="also record tracemalloc's peak per request")
    args = parser.parse_args(argv)
    try:
        serve(
            args.app,
            host=args.host,
            port=args.port,
            reload=args.reload,
            payload=args.payload,
            profile_every=args.profile,
            profile_memory=args.profile_memory,
        )
    except DevServerError as exc:
        if isinstance(exc, AppNotLoaded) and exc.detail:
            print(exc.detail, file=sys.stderr)
        print(f"lift dev: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, AppNotLoaded) and exc.usage else 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
