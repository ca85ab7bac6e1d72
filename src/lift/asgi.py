"""The App as an ASGI application (`app.asgi`), for containers under uvicorn.

HTTP requests become a `Request` built straight from the ASGI scope and go through the same
routing, middleware and typed handlers as on Lambda. Where a route runs is decided per route
(`Placement`, docs/asgi.md): in the thread pool until its runs have shown it never waits and
stays within a 1 ms budget, then on the event loop (a thread hand-off costs about as much as
the rest of a cheap request); a route seen waiting there goes back to the pool for good, so a
blocking handler does not stall the loop. WebSocket connections are served the way API
Gateway's WebSocket API serves them (`WebSocketGateway`): `$connect`, route selection by a
JSON key, `$disconnect`, each as an event through `app.handler`. The lifespan protocol
pre-warms resources at startup and closes them at shutdown.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import gc
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any

from lift import serialization
from lift.app import to_response
from lift.context import Context, Headers, QueryParams, Request, Response
from lift.env_settings import env_number
from lift.routing import canonical_path, is_encoded_by_clients

if TYPE_CHECKING:
    from lift.app import App

__all__ = [
    "AsgiApp",
    "AsgiRequest",
    "ClientLeft",
    "WebSocketGateway",
    "asgi_app",
    "payload_too_large",
    "prewarm_resources",
    "read_body",
    "response_headers",
    "route_keys_of",
    "send_response",
    "UnsendableHeader",
    "websocket_event",
    "wire_path",
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_log = logging.getLogger("lift.asgi")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class AsgiRequest(Request):
    """A request read from an ASGI scope; the body is read before dispatch.

    Its path is the one the client sent, still percent-encoded (the scope's `raw_path`), as API
    Gateway, ALB, function URLs and VPC Lattice hand it to a Lambda source: routed alike (an escaped
    "/" stays inside its segment: `/files/a%2Fb` is one parameter `a/b`, never two segments) and
    answered alike (a 404 names the path as sent); path parameters are decoded."""

    __slots__ = ()
    source = "asgi"
    path_encoded = True

    def __init__(self, scope: Scope, body: bytes, path: str) -> None:
        # Request.__init__'s three fields, set here: one call less on every request.
        self.event = scope
        self.method = scope["method"]
        self.path = path
        self._body = body

    def _load_headers(self) -> Headers:
        values: dict[str, list[str]] = {}
        for name, value in self.event["headers"]:
            values.setdefault(name.decode("latin-1").lower(), []).append(header_text(value))
        return Headers(values)

    @property
    def content_type(self) -> str | None:
        """The Content-Type, found in the scope without decoding every header (ASGI names are lower-case)."""
        if self._headers is None:
            for name, value in self.event["headers"]:
                if name == b"content-type":
                    return header_text(value)
            return None
        return self._headers.get("content-type")

    def _load_query(self) -> QueryParams:
        raw = self.event.get("query_string") or b""
        return QueryParams.parse(header_text(raw)) if raw else QueryParams()

    def _raw_body(self) -> str | None:
        return self._body.decode("utf-8", errors="replace") if self._body else None

    def body_size(self) -> int:
        return len(self._body or b"")

    @property
    def source_ip(self) -> str | None:
        client = self.event.get("client")
        return client[0] if client else None

    @property
    def url(self) -> str:
        host = self.headers.get("host", "localhost")
        query = (self.event.get("query_string") or b"").decode("latin-1")
        return f"{self.event.get('scheme', 'http')}://{host}{self.path}" + (f"?{query}" if query else "")


def header_text(value: bytes) -> str:
    """A header value's (or a query string's) bytes as text, as a Lambda source gets it from AWS:
    UTF-8 (`é` sent as its two UTF-8 bytes is `é`, not `Ã©`), and Latin-1 for bytes that are not
    UTF-8 (RFC 9110's obs-text), so no byte is ever lost or refused."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def asgi_app(app: App, *, dispatch: str | None = None, threaded: bool | None = None) -> AsgiApp:
    """The ASGI application serving `app` (what `app.asgi` returns).

    `dispatch` says where a route's middleware and handler run:
    - `"auto"` (the default): in the thread pool until the route has shown it is cheap (16 runs
      in a row within the inline budget, 1 ms), then on the event loop; a run on the loop that
      overruns the budget and is seen blocking (or burning CPU) sends the route back to the pool for
      good. Routes registered with `blocking=True` always use the pool, `blocking=False` the loop.
    - `"threads"`: always in the thread pool (no blocking handler can ever stall the loop);
    - `"loop"`: always on the event loop (for services whose handlers never block).
    The default comes from `LIFT_ASGI_DISPATCH`; `threaded=True`/`False` (or
    `LIFT_ASGI_THREADED=0`) are the older spelling of `"threads"`/`"loop"`.
    """
    return AsgiApp(app, dispatch=dispatch, threaded=threaded)


DISPATCH_MODES = ("auto", "threads", "loop")
DIRECT, AWAITED, CHAIN = 0, 1, 2  # a sync handler alone, an async handler alone, anything with middleware
PROBATION_RUNS = 16  # cheap runs in a row, in the pool, before a route moves to the event loop
SUSPECT_RUNS = 8  # instrumented runs on the loop after a slow one, to tell blocking from preemption
_MAX_ON_LOOP_SECONDS = 0.001  # default inline budget; LIFT_ASGI_INLINE_BUDGET_MS


def _dispatch_mode(dispatch: str | None, threaded: bool | None) -> str:
    if dispatch is None:
        if threaded is not None:
            dispatch = "threads" if threaded else "loop"
        else:
            dispatch = os.environ.get("LIFT_ASGI_DISPATCH") or (
                "loop" if os.environ.get("LIFT_ASGI_THREADED") == "0" else "auto"
            )
    if dispatch not in DISPATCH_MODES:
        raise ValueError(f"dispatch must be one of {', '.join(DISPATCH_MODES)}, not {dispatch!r}")
    return dispatch


class Placement:
    """Where one route's chain runs (`dispatch="auto"`), and what its runs have shown so far.

    Probation, in the pool: a run counts as cheap when it finished within the budget, or was slow
    only because the OS ran something else meanwhile (a loaded machine): no voluntary context
    switch and little CPU, read with `getrusage` around the run (~1 us, so only on probation).
    On the loop, a run is timed with `perf_counter` only; the first `SUSPECT_RUNS` runs there, and
    the `SUSPECT_RUNS` after any slow one, are *watched* with `getrusage`: one that switched out
    voluntarily (it waited for a socket, a sleep or a lock, however briefly) or used more CPU than
    the budget sends the route to the pool for good. The loop's thread has the GIL to itself, so
    a voluntary switch there is the handler waiting, never a GIL hand-off.
    """

    __slots__ = ("inline", "pinned", "cheap_runs", "suspect_runs", "name", "kind", "excused", "fast")

    def __init__(self, name: str, inline: bool = False, pinned: bool = False, kind: int = 0) -> None:
        self.name = name
        self.kind = kind  # DIRECT, AWAITED or CHAIN: how a run on the loop calls it
        self.inline = inline
        self.pinned = pinned  # never moves (a `blocking=` mark, a forced mode, or seen blocking)
        self.cheap_runs = 0
        self.suspect_runs = 0
        self.excused = False  # a watched run let off because the collector ran in it or the OS preempted it
        self.settle()

    def settle(self) -> None:
        """Note whether a run takes the quickest path (`fast`): a sync handler alone, on the loop, not
        watched. Called after every change of `inline` or `suspect_runs`."""
        self.fast = self.inline and not self.suspect_runs and self.kind == DIRECT

    def suspect(self, runs: int = SUSPECT_RUNS) -> None:
        """Watch the next `runs` runs on the loop (`getrusage` around each)."""
        self.suspect_runs = runs
        self.fast = False

    def ran_in_pool(self, seconds: float, budget: float, usage: tuple[Any, Any] | None) -> None:
        """Count a run in the pool: `seconds` of wall clock, and the thread's usage before and after."""
        if seconds > budget:
            if usage is None:
                self.cheap_runs = 0
                return
            before, after = usage
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            if after.ru_nvcsw > before.ru_nvcsw or cpu > budget:
                self.cheap_runs = 0  # it waited for something (or computed for long): not for the loop
                return
            # slow only because the OS ran something else meanwhile (a loaded machine): cheap
        self.cheap_runs += 1
        if self.cheap_runs >= PROBATION_RUNS:
            self.inline = True
            self.suspect()  # its first runs on the loop are watched too

    def blocked(self, why: str) -> None:
        """A run on the loop was seen blocking: this route uses the pool from now on."""
        self.inline = False
        self.pinned = True
        self.settle()
        _log.warning("route %s blocked the event loop (%s): it runs in the thread pool from now on", self.name, why)

    def __repr__(self) -> str:
        where = "loop" if self.inline else "pool"
        return f"<Placement {self.name} {where}{' pinned' if self.pinned else ''}>"


class AsgiApp:
    """An ASGI 3 application for one Lift App: HTTP, WebSocket and lifespan."""

    def __init__(self, app: App, *, dispatch: str | None = None, threaded: bool | None = None) -> None:
        self.app = app
        self.dispatch = _dispatch_mode(dispatch, threaded)
        # (read here: a value that is no usable number is a clear error at once, not a 500 per request)
        self.inline_budget = (
            env_number("LIFT_ASGI_INLINE_BUDGET_MS", _MAX_ON_LOOP_SECONDS * 1000, allow_zero=True) / 1000
        )
        self.threads = int(env_number("LIFT_ASGI_THREADS", 40, integer=True))
        self._executor: ThreadPoolExecutor | None = None
        self._placements: dict[Any, Placement] = {}  # chain -> where it runs
        self.websockets = WebSocketGateway(lambda: app)
        self._ws_client_checked = False

    @property
    def threaded(self) -> bool:
        """True when every request runs in the thread pool (`dispatch="threads"`)."""
        return self.dispatch == "threads"

    def placement(self, method: str, path: str) -> Placement | None:
        """Where the route answering `method path` runs now (None before its first request)."""
        ctx = self.app.new_context(None, None, "asgi", Request({}, method, path))
        return self._placements.get(self.app.chain_for(ctx)[0])

    def _use_in_process_websocket_client(self) -> None:
        """Let `ctx.ws` reach this process's clients directly (unless the user assigned a client)."""
        self._ws_client_checked = True
        app = self.app
        if (
            route_keys_of(app)
            and not getattr(app, "_websocket_client_assigned", False)
            and not os.environ.get("LIFT_WEBSOCKET_ENDPOINT")
        ):
            from lift.websocket import WebSocketClient

            app.websocket_client = WebSocketClient(client=InProcessManagementApi(self.websockets))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request: read the body, route, run the chain where its Placement says, send.
        (Served here, the commonest scope, without a second coroutine; any other by `_serve_other`.)"""
        if scope["type"] != "http" or (self.websockets.connections and scope["path"].startswith("/@connections/")):
            await self._serve_other(scope, receive, send)
            return
        app = self.app
        method = scope["method"]
        body: bytes | None = None
        if method in _BODILESS and scope.get("http_version") in _HTTP_1:
            # An HTTP/1 request without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3;
            # ASGI servers send header names in lower case): nothing to receive.
            body = b""
            for name, _ in scope["headers"]:
                if name in _BODY_HEADERS:
                    body = None
                    break
        if body is None:
            unread = expects_too_much(scope, app._max_body_size)  # (never asked for: refused unread)
            if not unread:
                message = await receive()
                if message.get("more_body") or message["type"] != "http.request":
                    try:
                        body = await read_body(receive, app._max_body_size, message)
                    except ClientLeft:  # nothing to answer, and a handler must never see a truncated body
                        _log.info(
                            "client left before its request body was complete: %s %s not run", method, scope["path"]
                        )
                        return
                else:
                    body = message.get("body", b"")
                    if len(body) > app._max_body_size:
                        body = None
            if body is None:  # over the limit: reading it is the 413, inside the chain (see _OversizedRequest)
                scope[_BODY_LIMIT] = app._max_body_size
                if unread:  # (the body may still come: the connection cannot carry another request)
                    send = closing(send)
        raw_path = scope.get("raw_path")  # (the path as sent, as the Lambda sources route it: see AsgiRequest)
        path = raw_path.decode("latin-1") if raw_path else wire_path(scope["path"])
        root_path = scope.get("root_path")
        if root_path or app.base_path:
            path = _routed_path(path, root_path or "", app.base_path)
        request = _new(AsgiRequest if body is not None else _OversizedRequest)  # AsgiRequest(...) without the call
        request.event, request.method, request.path, request._body = scope, method, path, body
        cold = app._cold
        if cold:
            app._cold = False
        # The router's one-lookup cases (a static path, one trailing parameter) first, as the
        # Lambda path does; anything else goes through App.chain_for.
        router = app.router
        entry = router._static.get(path)
        if entry is None:
            parent, _, last = path.rpartition("/")
            entry = router._param_tail.get(parent)
            if entry is not None:
                if last >= "/" and "%" not in last:  # (not empty; ".."/"." are refused in App.chain_for)
                    request._path_params = {entry.param_names[0]: last}
                else:
                    entry = None
        endpoint = entry.methods.get(method) if entry is not None else None
        if endpoint is not None:
            ctx = Context(app, None, None, "asgi", request, cold, entry.template)  # type: ignore[union-attr]
            chain = endpoint.chain
        else:
            if path[:1] != "/" and "://" in path:  # an absolute-form target (`GET http://host/a`, RFC 9112 3.2.2)
                request.path = path = _routed_path(origin_form(path), root_path or "", app.base_path)
            ctx = Context(app, None, None, "asgi", request, cold)
            try:
                chain, endpoint = app.chain_for(ctx)
            except Exception as exc:  # a path the router cannot decode: the error contract, never an escape
                await send_response(send, app.error_response(ctx, exc))
                return
        place = self._placements.get(chain)
        if place is None:
            if endpoint is not None and not endpoint.prepared:  # a route's first request: its chain made now,
                endpoint.prepare()  # and placed by what it is (no middleware: the chain is its `run`)
                chain = endpoint.chain
            place = self._placements.get(chain) or self._place(chain, endpoint)
        if place.fast and method != "HEAD":
            # No middleware around a sync handler: a dict or list result goes out as JSON
            # without a Response object in between (the commonest request).
            started = perf_counter()
            running = _get_running_loop()
            _set_running_loop(None)  # the handler sees the loop's thread as a worker sees its own
            try:
                result = endpoint.call(ctx)
            except Exception as exc:
                result = app.error_response(ctx, exc)
            finally:
                _set_running_loop(running)
            if app._invocation_hooks:
                app._end_invocation(scope)
            cls = result.__class__
            if cls is dict or cls is list:
                data = _encode(result)
                if perf_counter() - started > self.inline_budget and not place.pinned:
                    place.suspect()  # blocking, or the OS preempting us: the next runs tell
                await send(
                    {
                        "type": "http.response.start",
                        "status": endpoint.status,
                        "headers": [_JSON_TYPE, (b"content-length", b"%d" % len(data))],
                    }
                )
                await send({"type": "http.response.body", "body": data})
                return
            response = result if cls is Response else self._result_response(ctx, result, endpoint.status)
            if perf_counter() - started > self.inline_budget and not place.pinned:
                place.suspect()
        elif place.inline:
            if place.kind == AWAITED:
                try:
                    response = await self._respond_async(ctx, endpoint)
                except asyncio.CancelledError:  # (the server's shutdown ran out of grace)
                    response = self._stopped(ctx)
            elif place.suspect_runs:
                response = self._respond_watched(ctx, chain, place)
            else:  # a chain with middleware, or a HEAD request to a route without
                started = perf_counter()
                response = self._respond_on_loop(ctx, chain)
                if perf_counter() - started > self.inline_budget and not place.pinned:
                    place.suspect()
        else:
            # in a copy of the request's context, as on the loop: a context variable one request sets
            # in a pool thread is never seen by the next request that thread runs
            try:
                response = await asyncio.get_running_loop().run_in_executor(
                    self.executor, _copy_context().run, self._respond_in_pool, ctx, chain, place
                )
            except asyncio.CancelledError:  # (the server's shutdown ran out of grace; the thread runs on)
                response = self._stopped(ctx)
        status = response.status
        if status.__class__ is not int or not 200 <= status <= 599:  # (set after the Response was made, or a 1xx)
            response = app.status_fault(ctx, response)
        if response.__class__ is not Response and hasattr(response, "chunks"):  # lift.streaming
            from lift.streaming import stream_to_asgi

            try:
                await stream_to_asgi(
                    send,
                    receive,
                    response,
                    self.executor,
                    head_only=scope["method"] == "HEAD",
                    request_id=ctx.request_id,
                    on_error=lambda exc: app.error_response(ctx, exc),  # (failed before its first chunk)
                )
            except UnsendableHeader as exc:  # (raised before anything was sent: the error contract's 500)
                await send_response(send, app.error_response(ctx, exc))
            return
        head = scope["method"] == "HEAD"  # (the method on the wire: a `head` request routed as HEAD gets its body)
        if head and response.body:
            response.headers.setdefault("Content-Length", str(len(response.body)))
            response.body = b""
        try:
            await send_response(send, response, head)
        except UnsendableHeader as exc:  # (raised before anything was sent: the error contract's 500 instead)
            await send_response(send, app.error_response(ctx, exc))

    http = __call__

    async def _serve_other(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A scope other than an HTTP request for the app: the local WebSocket Management API, a
        WebSocket connection, the lifespan protocol."""
        kind = scope["type"]
        if kind == "http":
            try:
                await self.websockets.management_api(scope, receive, send)
            except ClientLeft:
                pass
        elif kind == "websocket":
            if not self._ws_client_checked:
                self._use_in_process_websocket_client()
            await self.websockets.serve(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    def _place(self, chain: Any, endpoint: Any) -> Placement:
        """The Placement of a chain seen for the first time: from the mode, the route's mark and its handler."""
        if endpoint is None:
            name, mark, is_async, bare = "405", None, False, False
        else:
            name = f"{'|'.join(endpoint.methods)} {endpoint.template or '(not found)'}"
            mark = endpoint.meta.get("blocking")
            is_async, bare = endpoint.binder.is_async, chain is endpoint.run
        kind = (AWAITED if is_async else DIRECT) if bare else CHAIN
        if self.dispatch == "threads" or mark is True:
            place = Placement(name, inline=False, pinned=True, kind=kind)
        elif is_async:  # awaited on the loop when nothing sync wraps it; else the chain waits for it in the pool
            place = Placement(name, inline=bare, pinned=True, kind=kind)
        elif self.dispatch == "loop" or mark is False:
            place = Placement(name, inline=True, pinned=True, kind=kind)
        else:
            place = Placement(name, kind=kind)
        self._placements[chain] = place
        return place

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The handler threads: `LIFT_ASGI_THREADS` of them (40, like Starlette's thread limiter)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="lift-asgi")
        return self._executor

    def _respond(self, ctx: Context, chain: Any) -> Response:
        """Run a chain (middleware and handler): its Response, or the error contract's."""
        app = self.app
        try:
            response = chain(ctx)
            if response.__class__ is not Response:  # a middleware that returned a plain value
                response = to_response(response)
        except Exception as exc:
            response = app.error_response(ctx, exc)
        if app._invocation_hooks:
            app._end_invocation(ctx.request.event)  # type: ignore[union-attr]
        return response

    def _respond_in_pool(self, ctx: Context, chain: Any, place: Placement) -> Response:
        if place.pinned:
            return self._respond(ctx, chain)
        usage = _thread_usage
        before = usage() if usage is not None else None
        started = perf_counter()
        response = self._respond(ctx, chain)
        elapsed = perf_counter() - started
        place.ran_in_pool(elapsed, self.inline_budget, (before, usage()) if usage is not None else None)
        return response

    def _respond_on_loop(self, ctx: Context, chain: Any) -> Response:
        """Run a chain on the loop's thread, which it sees as a worker thread sees it: no running
        loop (so `asyncio.run` and Lift's `run_async` work there as they do in the pool)."""
        running = _get_running_loop()
        _set_running_loop(None)
        try:
            return self._respond(ctx, chain)
        finally:
            _set_running_loop(running)

    def _stopped(self, ctx: Context) -> Response:
        """The answer for a request the server cancelled while its handler ran (uvicorn does once its
        graceful shutdown's time is up): the error contract's 503, which a client may retry elsewhere,
        and one WARNING; never uvicorn's bare 500 and an 'Exception in ASGI application' traceback."""
        from lift.errors import ServiceUnavailable

        request = ctx.request
        request_id = ctx.request_id
        _log.warning(
            "Stopped while %s %s was running (the server's shutdown): answered 503 (request_id=%s)",
            request.method,  # type: ignore[union-attr]
            request.path,  # type: ignore[union-attr]
            request_id,
            extra={"request_id": request_id},
        )
        err = ServiceUnavailable("The server is shutting down; try again")
        return Response.json(err.to_dict(request_id), status=503)

    def _result_response(self, ctx: Context, result: Any, status: int) -> Response:
        try:
            return to_response(result, status)
        except Exception as exc:  # a result msgspec cannot encode
            return self.app.error_response(ctx, exc)

    def _respond_watched(self, ctx: Context, chain: Any, place: Placement) -> Response:
        """A run on the loop after a slow one, with the thread's resource usage read around it."""
        place.suspect_runs -= 1
        place.settle()
        usage = _thread_usage
        if usage is None:  # no per-thread usage here (not Linux): a second slow run is taken as blocking
            started = perf_counter()
            response = self._respond_on_loop(ctx, chain)
            elapsed = perf_counter() - started
            if elapsed > self.inline_budget:
                place.blocked(f"{elapsed * 1000:.1f} ms")
            return response
        collections = _collections()
        before = usage()
        started = perf_counter()
        response = self._respond_on_loop(ctx, chain)
        elapsed = perf_counter() - started
        after = usage()
        why = None
        if after.ru_nvcsw > before.ru_nvcsw:  # it waited for something (a socket, a sleep, a lock), however briefly
            why = f"a run waited, {elapsed * 1000:.2f} ms in all"
        elif elapsed > self.inline_budget:
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            if cpu > self.inline_budget:
                why = f"a run took {cpu * 1000:.1f} ms of CPU"
        if why is None:
            place.excused = False
        elif not place.excused and (after.ru_nivcsw > before.ru_nivcsw or _collections() != collections):
            # The garbage collector ran during it: a full collection of a large heap takes milliseconds,
            # whichever request's allocation set it off, and the finalizers it runs may wait or hand the
            # GIL to other threads. Or the OS took the CPU from it (a loaded machine): a thread that
            # wanted the GIL meanwhile (a pool worker finishing) gets it handed over, and the run waits
            # to have it back, a voluntary switch as blocking would be. Its next run is watched too and
            # judged without this excuse.
            place.excused = True
            place.suspect(max(place.suspect_runs, 1))
        else:
            place.blocked(why)
        return response

    async def _respond_async(self, ctx: Context, endpoint: Any) -> Response:
        """An async handler without middleware, awaited on the server's own loop."""
        app = self.app
        try:
            result = await endpoint.call(ctx)
            cls = result.__class__
            if cls is dict or cls is list:
                response = Response._raw(_encode(result), endpoint.status, "application/json")
            else:
                response = result if cls is Response else to_response(result, endpoint.status)
        except Exception as exc:
            response = app.error_response(ctx, exc)
        if app._invocation_hooks:
            app._end_invocation(ctx.request.event)  # type: ignore[union-attr]
        return response

    # -- lifespan ------------------------------------------------------------------
    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await asyncio.get_running_loop().run_in_executor(None, prewarm_resources, self.app)
                except Exception as exc:
                    _log.exception("ASGI startup failed")
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await asyncio.get_running_loop().run_in_executor(None, self.app.shutdown)
                except Exception as exc:
                    _log.exception("ASGI shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                if self._executor is not None:
                    self._executor.shutdown(wait=False)
                    self._executor = None
                await send({"type": "lifespan.shutdown.complete"})
                return


_JSON_TYPE = (b"content-type", b"application/json")
_HTTP_1 = ("1.1", "1.0")
_BODILESS = ("GET", "HEAD", "DELETE", "OPTIONS")  # the methods whose requests seldom have a body
_BODY_HEADERS = (b"content-length", b"transfer-encoding")


_new = object.__new__
_copy_context = contextvars.copy_context
_encode = serialization.encode_json
_get_running_loop = asyncio._get_running_loop
_set_running_loop = asyncio._set_running_loop


def _usage_of_this_thread() -> Callable[[], Any] | None:
    """`getrusage` for the calling thread, where the platform has it (Linux)."""
    try:
        import resource

        who = resource.RUSAGE_THREAD  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        return None
    return lambda: resource.getrusage(who)


_thread_usage = _usage_of_this_thread()


def _collections() -> int:
    """Garbage collections run so far, every generation (read around a watched run only)."""
    return sum(generation["collections"] for generation in gc.get_stats())


def prewarm_resources(app: App) -> None:
    """Create the resources not created yet (e.g. a database unreachable at import time).

    Resources registered with `prewarm=False` stay lazy when the registry records that flag.
    """
    registry = app._resources
    if registry is None:
        return
    definitions = getattr(registry, "_defs", {})
    for name in list(registry.names):
        if not registry.is_created(name) and getattr(definitions.get(name), "prewarm", True):
            try:
                registry.get(name)
            except Exception:
                _log.warning(
                    "resource %s could not be created at startup; will retry on first use", name, exc_info=True
                )


def wire_path(path: str) -> str:
    """A decoded path encoded again, for a server that gives no `raw_path` (ASGI makes it optional):
    as a client sends it (lift.routing.WIRE_SAFE kept as it is)."""
    from urllib.parse import quote

    from lift.routing import WIRE_SAFE

    return quote(path, safe=WIRE_SAFE)


def origin_form(target: str) -> str:
    """The path of an absolute-form request target (`http://host/a/b` -> `/a/b`), which a server must
    accept (RFC 9112 3.2.2) and an ASGI server passes on whole as `raw_path`: routed by its path, as
    API Gateway, an ALB and `lift dev` route it."""
    rest = target.partition("://")[2]
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


def _routed_path(path: str, root_path: str, base_path: str) -> str:
    """The path the router sees: without the server's mount point (root_path) or the app's base path."""
    for prefix in (root_path, base_path):
        if prefix:
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix) :] or "/"
            elif "%" in path or "%" in prefix or is_encoded_by_clients(prefix):
                path = _without_spelled_prefix(path, prefix.rstrip("/"))
    return path or "/"


def _without_spelled_prefix(path: str, prefix: str) -> str:
    """`path` (as sent, percent-encoded) without `prefix` spelled another way: decoded, as ASGI gives
    `root_path` (Starlette's Mount("/café") with `/caf%C3%A9/...` on the wire), or in another hex case.
    The prefix's segments are compared in their canonical spelling (lift.routing.canonical_path)."""
    count = prefix.count("/")
    parts = path.split("/", count + 1)
    if not prefix or len(parts) <= count or canonical_path("/".join(parts[: count + 1])) != canonical_path(prefix):
        return path
    return "/" + parts[count + 1] if len(parts) > count + 1 else "/"


class ClientLeft(Exception):
    """The client disconnected before its request body was complete (`read_body`): the request is
    not run (a handler would get a truncated body) and nothing is answered."""


async def read_body(receive: Receive, limit: int, first: dict[str, Any] | None = None) -> bytes | None:
    """The whole request body, or None when it exceeds `limit` bytes (`first`: a message already received);
    ClientLeft when the client disconnects before its last part."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message, first = first or await receive(), None
        if message["type"] == "http.disconnect":
            raise ClientLeft
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def expects_too_much(scope: Scope, limit: int) -> bool:
    """Whether the request announces a body over `limit` bytes (its Content-Length) and waits to be asked
    for it (`Expect: 100-continue`): it is refused unread, as an ASGI server sends "100 Continue" on the
    app's first receive. (A client that sends its body at once has it read up to the limit as before:
    a connection closed on a body still arriving is reset, and the answer lost with it.)"""
    length = expect = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"expect":
            expect = value
    return (
        expect is not None
        and expect.lower() == b"100-continue"
        and length is not None
        and length.isdigit()
        and int(length) > limit
    )


def closing(send: Send) -> Send:
    """`send`, with `Connection: close` added to the response: the request's body was left unread, so
    what the client sends next on the connection would be read as a new request."""

    async def send_and_close(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
        await send(message)

    return send_and_close


_BODY_LIMIT = "lift.body_limit"  # (in the scope of a request whose body was over the app's limit)


class _OversizedRequest(AsgiRequest):
    """A request whose body was over the app's limit (read no further than the limit). Reading its
    body raises the 413 there, as reading it does from a Lambda event (`Request.body`): middleware
    (CORS, security headers, logging, metrics) and the error contract see it like any other request,
    and a handler that never reads the body answers as it would on Lambda."""

    __slots__ = ()

    @property
    def max_body(self) -> int:  # type: ignore[override]
        return int(self.event[_BODY_LIMIT])

    @max_body.setter
    def max_body(self, value: int) -> None:  # (a route's `limits(max_body=...)` lowers it)
        self.event[_BODY_LIMIT] = value

    @property
    def body(self) -> bytes:
        raise self._too_large()

    def _raw_body(self) -> str | None:
        raise self._too_large()

    def body_size(self) -> int:
        return self.max_body + 1


def payload_too_large(limit: int) -> Response:
    """The 413 for a body over `limit` bytes, refused before a request exists (its own request id):
    the answer a Lambda source gives the same body (`Request.body`), code and message alike."""
    from lift.errors import PayloadTooLarge

    err = PayloadTooLarge(f"Request body exceeds the {limit}-byte limit")
    return Response.json(err.to_dict(str(uuid.uuid4())), status=413)


_HEADER_NAMES: dict[str, bytes] = {}  # "Content-Type" -> b"content-type", for the names apps use (capped)


def _header_name(name: str) -> bytes:
    encoded = name.lower().encode("latin-1")
    if len(_HEADER_NAMES) < 1024:
        _HEADER_NAMES[name] = encoded
    return encoded


class UnsendableHeader(ValueError):
    """A response header (or cookie) with a line break or NUL in its value: no HTTP server can send it
    (h11 refuses it and drops the connection), and it would split the header if one did. Raised by
    `send_response` before anything is sent."""


def _header_value(value: str, name: str) -> bytes:
    """A response header's (or cookie's) value as sent: Latin-1, or its UTF-8 for text Latin-1 cannot
    hold (`€`, as a Lambda source hands it to AWS); UnsendableHeader for a line break or NUL."""
    if not value.isprintable() and ("\r" in value or "\n" in value or "\0" in value):
        raise UnsendableHeader(f"Response header {name!r} holds a line break or NUL, which HTTP cannot carry")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def response_headers(response: Response) -> list[tuple[bytes, bytes]]:
    """A streamed response's headers and cookies as `send_response` sends them (Latin-1, or UTF-8 for
    text Latin-1 cannot hold); UnsendableHeader for a line break or NUL."""
    headers = [
        (
            _HEADER_NAMES.get(name) or _header_name(name),
            _header_value(value if value.__class__ is str else str(value), name),
        )
        for name, value in response.headers.items()
    ]
    headers.extend((b"set-cookie", _header_value(cookie, "Set-Cookie")) for cookie in response.cookies)
    return headers


async def send_response(send: Send, response: Response, head: bool = False) -> None:
    """Write a Lift Response to an ASGI connection: one `http.response.start`, one body message.

    The Content-Length sent is the body's own, unless `head` (the client's method is HEAD: the
    response's header tells the length of the body a GET would get): a header that disagrees with
    the body (a HEAD answer to a `head` request, which HTTP servers take for another method; a
    handler's own mistake) would make the server cut the response off mid-way. A 204 or 304 has no
    body (HTTP forbids one: the server would fail the response), nor a Content-Length for it."""
    body = response.body
    status = response.status
    headers = []
    has_length = False
    if status == 204 or status == 304:
        body, has_length = b"", True
    for name, value in response.headers.items():
        key = _HEADER_NAMES.get(name) or _header_name(name)
        if key == b"content-length":
            if not head or has_length:
                continue
            has_length = True
        headers.append((key, _header_value(value if value.__class__ is str else str(value), name)))
    if not has_length:
        headers.append((b"content-length", b"%d" % len(body)))
    for cookie in response.cookies:
        headers.append((b"set-cookie", _header_value(cookie, "Set-Cookie")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- WebSocket: API Gateway's WebSocket API, played locally -----------------------------------
def route_keys_of(app: Any) -> set[str]:
    """The WebSocket route keys `app` registered (`$connect`, `$default`, custom keys)."""
    return {h.name for h in getattr(app, "event_handlers", ()) if h.source == "websocket" and h.name}


def _connection_id() -> str:
    """An id shaped like API Gateway's (12 url-safe base64 characters and an '=')."""
    return base64.b64encode(secrets.token_bytes(9)).decode().replace("/", "_").replace("+", "-")[:12] + "="


def websocket_event(
    event_type: str,
    route_key: str,
    connection_id: str,
    *,
    domain: str,
    stage: str,
    connected_at: int,
    source_ip: str = "127.0.0.1",
    user_agent: str | None = None,
    headers: dict[str, list[str]] | None = None,
    query: dict[str, list[str]] | None = None,
    body: str | None = None,
    is_base64: bool = False,
    disconnect_status: int | None = None,
) -> dict[str, Any]:
    """An API Gateway WebSocket API event (CONNECT, MESSAGE or DISCONNECT) as AWS sends it."""
    now = datetime.now(UTC)
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": secrets.token_urlsafe(12),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": secrets.token_urlsafe(12),
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": "local",
    }
    event: dict[str, Any] = {"requestContext": ctx, "isBase64Encoded": is_base64}
    if event_type == "MESSAGE":
        ctx["messageId"] = secrets.token_urlsafe(12)
        event["body"] = body if body is not None else ""
    if headers is not None:
        event["headers"] = {k: v[-1] for k, v in headers.items()}
        event["multiValueHeaders"] = headers
    if event_type == "CONNECT":
        event["queryStringParameters"] = {k: v[-1] for k, v in (query or {}).items()} or None
        event["multiValueQueryStringParameters"] = query or None
    if disconnect_status is not None:
        ctx["disconnectStatusCode"] = disconnect_status
        ctx["disconnectReason"] = ""
    return event


class Connection:
    """One connected WebSocket client."""

    def __init__(
        self, connection_id: str, send: Send, loop: asyncio.AbstractEventLoop, source_ip: str, user_agent: str | None
    ) -> None:
        self.id = connection_id
        self._send = send
        self.loop = loop
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.thread = threading.get_ident()  # the loop's thread
        self.connected_at = time.time()
        self.last_active_at = self.connected_at
        self.closed = False

    async def send(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            await self._send({"type": "websocket.send", "bytes": data})
        else:
            await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int = 1000) -> None:
        if not self.closed:
            self.closed = True
            await self._send({"type": "websocket.close", "code": code})

    def info(self) -> dict[str, Any]:
        fmt = "%Y-%m-%dT%H:%M:%S.000Z"
        return {
            "ConnectedAt": datetime.fromtimestamp(self.connected_at, UTC).strftime(fmt),
            "Identity": {"SourceIp": self.source_ip, "UserAgent": self.user_agent},
            "LastActiveAt": datetime.fromtimestamp(self.last_active_at, UTC).strftime(fmt),
        }


Invoker = Callable[[dict[str, Any]], Awaitable[Any]]
# API Gateway's WebSocket message quota (not adjustable): a larger message closes the connection with 1009
MAX_WEBSOCKET_MESSAGE = 128 * 1024


def _message_size(message: dict[str, Any]) -> int:
    """A received WebSocket message's size in bytes (a text one's UTF-8; its length in characters when
    that alone is over the quota)."""
    text = message.get("text")
    if text is None:
        return len(message.get("bytes") or b"")
    return len(text) if len(text) > MAX_WEBSOCKET_MESSAGE else len(text.encode("utf-8"))


class WebSocketGateway:
    """Serves WebSocket clients like API Gateway: each frame becomes an event for `app.handler`.

    `invoke(event)` runs an event (default: `app.handler` in a worker thread); the dev server
    passes its own to record activity. Route selection reads `route_key_field` (default
    `action`, or `LIFT_WEBSOCKET_ROUTE_KEY`) from JSON messages; unknown keys go to `$default`.
    """

    def __init__(
        self,
        get_app: Callable[[], Any],
        invoke: Invoker | None = None,
        *,
        stage: str = "local",
        route_key_field: str | None = None,
    ) -> None:
        self.get_app = get_app
        self.invoke = invoke or self._invoke_handler
        self.stage = stage
        self.route_key_field = route_key_field or os.environ.get("LIFT_WEBSOCKET_ROUTE_KEY", "action")
        self.connections: dict[str, Connection] = {}

    async def _invoke_handler(self, event: dict[str, Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.get_app().handler, event, None)

    def select_route(self, body: str) -> str:
        """The route key for a message, as API Gateway's `$request.body.<field>` selection does."""
        keys = route_keys_of(self.get_app())
        try:
            value = serialization.decode_json(body.encode("utf-8"))
        except Exception:
            return "$default"
        key = value.get(self.route_key_field) if isinstance(value, dict) else None
        if isinstance(key, str) and key in keys:
            return key
        return "$default"

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        headers = multi_headers(scope)
        query = multi_query(scope)
        client = scope.get("client") or ("127.0.0.1", 0)
        user_agent = (headers.get("User-Agent") or headers.get("user-agent") or [None])[-1]
        host = (headers.get("Host") or headers.get("host") or ["127.0.0.1"])[-1]
        conn_id = _connection_id()
        connected_at = int(time.time() * 1000)
        common = {
            "domain": host,
            "stage": self.stage,
            "connected_at": connected_at,
            "source_ip": client[0],
            "user_agent": user_agent,
        }
        conn = Connection(conn_id, send, asyncio.get_running_loop(), client[0], user_agent)
        self.connections[conn_id] = conn
        keys = route_keys_of(self.get_app())
        if not keys:  # the app has no WebSocket API
            del self.connections[conn_id]
            await send({"type": "websocket.close", "code": 1008})
            return
        if "$connect" in keys:
            event = websocket_event("CONNECT", "$connect", conn_id, headers=headers, query=query, **common)
            status = await self._status_of(event)
            if status >= 300:
                del self.connections[conn_id]
                await send({"type": "websocket.close", "code": 1008})
                return
        close_code = 1000
        try:  # (from the accept on: a client gone by then still gets its $disconnect, as on API Gateway)
            try:
                await send({"type": "websocket.accept"})
            except OSError:  # the client left while $connect ran (uvicorn's ClientDisconnected)
                close_code = 1006  # (an abnormal closure, as API Gateway reports a dropped connection)
                return
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    close_code = message.get("code", 1000)
                    break
                conn.last_active_at = time.time()
                if _message_size(message) > MAX_WEBSOCKET_MESSAGE:  # as API Gateway: no event, the connection closed
                    _log.warning("WebSocket message over 128 KB: connection %s closed with 1009", conn_id)
                    close_code = 1009
                    await conn.close(1009)
                    break
                await self._on_message(conn, message, common)
        finally:
            self.connections.pop(conn_id, None)
            conn.closed = True
            if "$disconnect" in route_keys_of(self.get_app()):
                event = websocket_event(
                    "DISCONNECT", "$disconnect", conn_id, headers=headers, disconnect_status=close_code, **common
                )
                await self._status_of(event)

    async def _on_message(self, conn: Connection, message: dict[str, Any], common: dict[str, Any]) -> None:
        if message.get("text") is not None:
            body, is_b64 = message["text"], False
            route = self.select_route(body)
        else:
            body, is_b64 = base64.b64encode(message.get("bytes") or b"").decode(), True
            route = "$default"
        event = websocket_event("MESSAGE", route, conn.id, body=body, is_base64=is_b64, **common)
        try:
            result = await self.invoke(event)
        except Exception:
            _log.exception("WebSocket route %s failed (connection %s)", route, conn.id)
            await conn.send(serialization.encode_json({"message": "Internal server error", "connectionId": conn.id}))
            return
        if isinstance(result, dict) and result.get("body"):
            data = result["body"]
            raw = base64.b64decode(data) if result.get("isBase64Encoded") else str(data).encode("utf-8")
            if not conn.closed:
                await conn.send(raw)

    async def _status_of(self, event: dict[str, Any]) -> int:
        try:
            result = await self.invoke(event)
        except Exception:
            _log.exception("WebSocket %s failed", event["requestContext"]["routeKey"])
            return 500
        if isinstance(result, dict) and isinstance(result.get("statusCode"), int):
            return result["statusCode"]
        return 200

    # -- the Management API (POST/GET/DELETE /@connections/{id}) -------------------
    async def post(self, connection_id: str, data: bytes) -> bool:
        """Send `data` to a connection; False when it is gone (API Gateway's 410)."""
        conn = self.connections.get(connection_id)
        if conn is None or conn.closed:
            return False
        await conn.send(data)
        return True

    def post_threadsafe(self, connection_id: str, data: bytes, timeout: float = 5.0) -> bool:
        """`post` from a worker thread (in-process delivery, no HTTP)."""
        conn = self.connections.get(connection_id)
        if conn is None or conn.closed:
            return False
        return asyncio.run_coroutine_threadsafe(self.post(connection_id, data), conn.loop).result(timeout)

    async def management_api(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer API Gateway Management API calls for local connections (loopback clients only)."""
        client = scope.get("client")
        if client and client[0] not in _LOOPBACK:
            await send_response(send, Response.json({"message": "Forbidden"}, status=403))
            return
        conn_id = scope["path"].rsplit("/@connections/", 1)[1].strip("/")
        from urllib.parse import unquote

        conn_id = unquote(conn_id)
        body = await read_body(receive, 128 * 1024)  # (None past API Gateway's 128 KB message quota)
        conn = self.connections.get(conn_id)
        method = scope["method"]
        if conn is None or conn.closed:
            response = Response.json(
                {"message": "GoneException"}, status=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        elif method == "POST":
            if body is None:  # (was read as an empty body: the client got an empty message, the caller a 200)
                response = Response.json({"message": "PayloadTooLargeException"}, status=413)
            else:
                await conn.send(body)
                response = Response(None, 200)
        elif method == "GET":
            response = Response.json(conn.info())
        elif method == "DELETE":
            await conn.close()
            response = Response(None, 204)
        else:
            response = Response.json({"message": "Method not allowed"}, status=405)
        await send_response(send, response)


class GoneError(Exception):
    """Shaped like botocore's ClientError for a 410 `GoneException`."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(f"GoneException: connection {connection_id} is gone")
        self.response = {
            "Error": {"Code": "GoneException", "Message": str(self)},
            "ResponseMetadata": {"HTTPStatusCode": 410},
        }


class InProcessManagementApi:
    """The Management API calls `WebSocketClient` makes, answered by this process's gateway.

    Under `app.asgi` the clients are connected to this very process, so `ctx.ws.send` hands the
    data to the connection directly instead of going through HTTP and boto3.
    """

    def __init__(self, gateway: WebSocketGateway) -> None:
        self.gateway = gateway
        self._pending: set[asyncio.Task[Any]] = set()  # sends queued from the loop's own thread

    def _connection(self, connection_id: str) -> Connection:
        conn = self.gateway.connections.get(connection_id)
        if conn is None or conn.closed:
            raise GoneError(connection_id)
        return conn

    def _run(self, conn: Connection, coro: Any) -> Any:
        if threading.get_ident() == conn.thread:
            # A handler running on the loop's own thread (`lift.asgi` runs cheap handlers there):
            # it cannot wait for the loop, so the send is queued and goes out once it returns.
            task = conn.loop.create_task(coro)
            self._pending.add(task)
            task.add_done_callback(self._sent)
            return None
        return asyncio.run_coroutine_threadsafe(coro, conn.loop).result(10)

    def _sent(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("sending to a WebSocket connection failed", exc_info=task.exception())

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        conn = self._connection(ConnectionId)
        self._run(conn, conn.send(Data if isinstance(Data, bytes) else str(Data).encode("utf-8")))
        return {}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        conn = self._connection(ConnectionId)
        self._run(conn, conn.close())
        return {}

    def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        return self._connection(ConnectionId).info()


def multi_headers(scope: Scope) -> dict[str, list[str]]:
    """The scope's headers as an API Gateway event's `multiValueHeaders` (names capitalized, values
    as `header_text` reads them): the WebSocket events and lift dev's HTTP events are built from them."""
    values: dict[str, list[str]] = {}
    for name, value in scope.get("headers") or []:
        key = "-".join(p.capitalize() for p in name.decode("latin-1").split("-"))
        values.setdefault(key, []).append(header_text(value))
    return values


def multi_query(scope: Scope, errors: str = "replace") -> dict[str, list[str]]:
    """The scope's query string as `multiValueQueryStringParameters` (read as `header_text` reads it).
    `errors`: what an escape that is not UTF-8 (`%FF`) decodes to (U+FFFD), or "strict" (UnicodeDecodeError)."""
    from urllib.parse import parse_qsl

    values: dict[str, list[str]] = {}
    for k, v in parse_qsl(header_text(scope.get("query_string") or b""), keep_blank_values=True, errors=errors):
        values.setdefault(k, []).append(v)
    return values
