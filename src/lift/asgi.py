"""The App as an ASGI application (`app.asgi`), for containers under uvicorn.

HTTP requests become a `Request` built straight from the ASGI scope and go through
`App.respond` (the same routing, middleware and typed handlers as on Lambda), in a worker
thread so blocking handlers never stall the event loop. WebSocket connections are served the
way API Gateway's WebSocket API serves them (`WebSocketGateway`): `$connect`, route selection
by a JSON key, `$disconnect`, each as an event through `app.handler`. The lifespan protocol
pre-warms resources at startup and closes them at shutdown.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lift import serialization
from lift.context import Context, Headers, QueryParams, Request, Response

if TYPE_CHECKING:
    from lift.app import App

__all__ = [
    "AsgiApp",
    "AsgiRequest",
    "WebSocketGateway",
    "asgi_app",
    "prewarm_resources",
    "read_body",
    "route_keys_of",
    "send_response",
    "websocket_event",
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_log = logging.getLogger("lift.asgi")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class AsgiRequest(Request):
    """A request read from an ASGI scope; the body is read before dispatch."""

    __slots__ = ()
    source = "asgi"

    def __init__(self, scope: Scope, body: bytes, path: str) -> None:
        super().__init__(scope, scope["method"], path)
        self._body = body

    def _load_headers(self) -> Headers:
        values: dict[str, list[str]] = {}
        for name, value in self.event["headers"]:
            values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        return Headers(values)

    def _load_query(self) -> QueryParams:
        raw = self.event.get("query_string") or b""
        return QueryParams.parse(raw.decode("latin-1")) if raw else QueryParams()

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


def asgi_app(app: App, *, threaded: bool = True) -> AsgiApp:
    """The ASGI application serving `app` (what `app.asgi` returns).

    `threaded` (default) runs each request's middleware and handler in the thread pool, so a
    blocking handler never stalls the server; `threaded=False` (or `LIFT_ASGI_THREADED=0`)
    dispatches on the event loop, faster when every handler is quick and never blocks.
    """
    return AsgiApp(app, threaded=threaded)


class AsgiApp:
    """An ASGI 3 application for one Lift App: HTTP, WebSocket and lifespan."""

    def __init__(self, app: App, *, threaded: bool = True) -> None:
        self.app = app
        self.threaded = threaded and os.environ.get("LIFT_ASGI_THREADED", "1") != "0"
        self._executor: ThreadPoolExecutor | None = None
        self.websockets = WebSocketGateway(lambda: app)
        self._ws_client_checked = False

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
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith("/@connections/") and self.websockets.connections:
                await self.websockets.management_api(scope, receive, send)
            else:
                await self.http(scope, receive, send)
        elif kind == "websocket":
            if not self._ws_client_checked:
                self._use_in_process_websocket_client()
            await self.websockets.serve(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    # -- HTTP ----------------------------------------------------------------------
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        body = await read_body(receive, app.max_body_size)
        if body is None:
            await send_response(send, _too_large(app.max_body_size))
            return
        request = AsgiRequest(scope, body, _routed_path(scope["path"], scope.get("root_path", ""), app.base_path))
        ctx = app.new_context(None, None, "asgi", request)
        if self.threaded:
            response = await asyncio.get_running_loop().run_in_executor(self.executor, self._respond, ctx)
        else:
            response = self._respond(ctx)
        if response.__class__ is not Response and hasattr(response, "chunks"):  # lift.streaming
            from lift.streaming import stream_to_asgi

            await stream_to_asgi(
                send, receive, response, self.executor, head_only=request.method == "HEAD", request_id=ctx.request_id
            )
            return
        if request.method == "HEAD" and response.body:
            response.headers.setdefault("Content-Length", str(len(response.body)))
            response.body = b""
        await send_response(send, response)

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The handler threads: `LIFT_ASGI_THREADS` of them (40, like Starlette's thread limiter)."""
        if self._executor is None:
            size = int(os.environ.get("LIFT_ASGI_THREADS") or 40)
            self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="lift-asgi")
        return self._executor

    def _respond(self, ctx: Context) -> Response:
        app = self.app
        try:
            return app.respond(ctx)
        finally:
            if app._invocation_hooks:
                app._end_invocation(ctx.request.event if ctx.request is not None else None)

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


def _routed_path(path: str, root_path: str, base_path: str) -> str:
    """The path the router sees: without the server's mount point (root_path) or the app's base path."""
    for prefix in (root_path, base_path):
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
    return path or "/"


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _too_large(limit: int) -> Response:
    from lift.errors import LiftError

    err = LiftError(413, "payload_too_large", f"The request body is larger than {limit} bytes")
    return Response.json(err.to_dict(str(uuid.uuid4())), status=413)


async def send_response(send: Send, response: Response) -> None:
    """Write a Lift Response to an ASGI connection."""
    body = response.body
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
    if not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    headers.extend((b"set-cookie", c.encode("latin-1")) for c in response.cookies)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
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
        headers = _multi_headers(scope)
        query = _multi_query(scope)
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
        await send({"type": "websocket.accept"})
        close_code = 1000
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    close_code = message.get("code", 1000)
                    break
                conn.last_active_at = time.time()
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
        body = await read_body(receive, 128 * 1024 + 1) or b""
        conn = self.connections.get(conn_id)
        method = scope["method"]
        if conn is None or conn.closed:
            response = Response.json(
                {"message": "GoneException"}, status=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        elif method == "POST":
            if len(body) > 128 * 1024:
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

    def _connection(self, connection_id: str) -> Connection:
        conn = self.gateway.connections.get(connection_id)
        if conn is None or conn.closed:
            raise GoneError(connection_id)
        return conn

    def _run(self, conn: Connection, coro: Any) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is conn.loop:
            coro.close()
            raise RuntimeError("ctx.ws must be called from a handler's worker thread, not the event loop")
        return asyncio.run_coroutine_threadsafe(coro, conn.loop).result(10)

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


def _multi_headers(scope: Scope) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in scope.get("headers") or []:
        key = "-".join(p.capitalize() for p in name.decode("latin-1").split("-"))
        values.setdefault(key, []).append(value.decode("latin-1"))
    return values


def _multi_query(scope: Scope) -> dict[str, list[str]]:
    from urllib.parse import parse_qsl

    values: dict[str, list[str]] = {}
    for k, v in parse_qsl((scope.get("query_string") or b"").decode("latin-1"), keep_blank_values=True):
        values.setdefault(k, []).append(v)
    return values
