"""Pushing to WebSocket clients through the API Gateway Management API (and, with
`lift.websocket.connections`, to a user, a tenant or everyone connected).

`WebSocketClient.send/close/broadcast` post to `https://{domain}/{stage}/@connections/{id}`
with boto3 (imported on first use). A connection that is gone (`GoneException`, HTTP 410) is
reported per connection, so callers can delete it from wherever they keep connections.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from lift import serialization

__all__ = ["MAX_MESSAGE_BYTES", "BroadcastResult", "ConnectionGone", "MessageTooLarge", "WebSocketClient", "client_for"]

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message payload quota (a fixed limit)


class ConnectionGone(Exception):
    """The connection no longer exists (API Gateway answered 410 `GoneException`)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(f"WebSocket connection {connection_id} is gone")
        self.connection_id = connection_id


class MessageTooLarge(ValueError):
    """The message is over API Gateway's 128 KB WebSocket payload limit: no connection could receive it,
    so nothing was sent (send a link or a smaller message instead)."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"WebSocket message of {size} bytes is over API Gateway's {MAX_MESSAGE_BYTES} byte "
            "(128 KB) limit; nothing was sent"
        )
        self.size = size


class BroadcastResult:
    """What a broadcast did: ids `sent`, ids `gone` (clean these up), and `failed` {id: error}."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gone: list[str] = []
        self.failed: dict[str, Exception] = {}

    def __repr__(self) -> str:
        return f"<BroadcastResult sent={len(self.sent)} gone={self.gone} failed={list(self.failed)}>"


_NO_DATA: Any = object()


def _encode(data: Any) -> bytes:
    """The message's bytes; MessageTooLarge past API Gateway's 128 KB limit (every connection would
    refuse it: one clear error before any send instead of a PayloadTooLargeException per connection)."""
    if isinstance(data, bytes):
        payload = data
    elif isinstance(data, str):
        payload = data.encode("utf-8")
    else:
        payload = serialization.encode_json(data)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(len(payload))
    return payload


def run_concurrently(fn: Callable[[Any], None], items: list[Any], concurrency: int) -> None:
    """`fn(item)` for every item, at most `concurrency` at a time (on this thread for one item)."""
    if len(items) <= 1 or concurrency <= 1:
        for item in items:
            fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(concurrency, len(items)), thread_name_prefix="lift-ws") as pool:
        list(pool.map(fn, items))


def _region_of(endpoint: str) -> str | None:
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) > 3 and parts[1] == "execute-api":
        return parts[2]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


_THROTTLED = {"TooManyRequestsException", "LimitExceededException", "ThrottlingException"}


def _aws_error(exc: BaseException) -> tuple[str | None, int | None]:
    """The error code and HTTP status of a botocore ClientError (None, None for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, None
    return (response.get("Error") or {}).get("Code"), (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")


def retry_throttled(call: Callable[[], Any], retries: int, base_delay: float) -> Any:
    """`call()`, again up to `retries` times while API Gateway answers it with too many sends (429,
    TooManyRequestsException...), after exponential backoff with full jitter; any other error, or the
    last throttle, is raised."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            code, status = _aws_error(exc)
            if attempt >= retries or not (code in _THROTTLED or status == 429):
                raise
            import random
            import time

            time.sleep(random.uniform(0, base_delay * 2**attempt))
            attempt += 1


class WebSocketClient:
    """Sends to, closes and inspects WebSocket connections of one API stage."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str | None = None,
        client: Any = None,
        connections: Any = None,
        timeout: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.region = region
        self.timeout = timeout  # seconds a send may wait to connect, and for its answer
        self._client = client
        self._lock = threading.Lock()
        self.connections = connections  # a lift.websocket.connections.ConnectionStore, for the fan-outs

    @property
    def client(self) -> Any:
        """The boto3 `apigatewaymanagementapi` client, created once."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        if not self.endpoint:
            raise RuntimeError(
                "No WebSocket endpoint: set LIFT_WEBSOCKET_ENDPOINT "
                "(https://{api-id}.execute-api.{region}.amazonaws.com/{stage}) or assign "
                "app.websocket_client = WebSocketClient(endpoint=...)"
            )
        try:
            import boto3
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise ImportError('Sending to WebSocket connections needs boto3: pip install "lift-lambda[aws]"') from None
        from botocore.config import Config

        # As many pooled connections as a fan-out sends at once (botocore's default pool is 10), and
        # no botocore retries: a throttled send is retried by `send` alone (botocore's own retries
        # inside ours made a fan-out to an always-throttled connection send 15 times, not 5). Bounded
        # waits: botocore's 60 s let each send to an endpoint that stopped answering hold a request (and
        # a fan-out to 1,000 connections, 16 at a time, an hour) far past API Gateway's 29 s.
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.endpoint,
            region_name=self.region or _region_of(self.endpoint),
            config=Config(
                max_pool_connections=64,
                retries={"total_max_attempts": 1},
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
            ),
        )

    @staticmethod
    def _is_gone(exc: Exception) -> bool:
        code, status = _aws_error(exc)
        return code == "GoneException" or status == 410

    retries_throttles = True  # (fan_out leaves the retries of a throttled send to `send`)

    def send(
        self,
        connection_id: str,
        data: Any,
        *,
        retries: int = 4,
        base_delay: float = 0.05,
        connected_at: float | None = None,
    ) -> None:
        """Send `data` (bytes, str, or anything JSON-encodable); raises ConnectionGone, after removing
        the connection from the tracked connection store (`track_connections`) when there is one. A
        throttled send (429) is retried up to `retries` times with exponential backoff and full jitter.
        A message over 128 KB raises MessageTooLarge without being sent. A connection stored less than 30 s
        ago is kept (API Gateway answers 410 until its `$connect` completes); `connected_at` (when it was
        stored, if the caller knows) spares reading it."""
        payload = _encode(data)
        try:
            retry_throttled(
                lambda: self.client.post_to_connection(ConnectionId=connection_id, Data=payload), retries, base_delay
            )
        except Exception as exc:
            if self._is_gone(exc):
                self._forget(connection_id, connected_at)
                raise ConnectionGone(connection_id) from exc
            raise

    def _forget(self, connection_id: str, connected_at: float | None = None) -> None:
        """Remove a connection API Gateway says is gone from the tracked store (its `$disconnect` may
        never come: it came, or was lost, before the store knew the connection)."""
        if self.connections is not None:
            from lift.websocket.connections import forget

            forget(self.connections, connection_id, connected_at)

    def close(self, connection_id: str) -> bool:
        """Disconnect a client; False when it was already gone (and then removed from the tracked store)."""
        try:
            self.client.delete_connection(ConnectionId=connection_id)
        except Exception as exc:
            if self._is_gone(exc):
                self._forget(connection_id)
                return False
            raise
        return True

    def info(self, connection_id: str) -> dict[str, Any]:
        """The connection's `ConnectedAt`, `Identity` and `LastActiveAt`; raises ConnectionGone (after
        removing it from the tracked store)."""
        try:
            return self.client.get_connection(ConnectionId=connection_id)
        except Exception as exc:
            if self._is_gone(exc):
                self._forget(connection_id)
                raise ConnectionGone(connection_id) from exc
            raise

    def broadcast(self, connection_ids: Any, data: Any = _NO_DATA, *, filter: Any = None, concurrency: int = 16) -> Any:
        """`broadcast(ids, data)`: send `data` to those connections, `concurrency` at a time (a
        BroadcastResult). `broadcast(data, filter=fn)`: send to every stored connection `fn(connection)`
        accepts (all when no filter) and return a FanOutSummary; needs `track_connections`."""
        if data is _NO_DATA:
            payload = _encode(connection_ids)  # (MessageTooLarge before the store is read)
            found = self._store("broadcast").all()
            targets = [c for c in found if filter is None or filter(c)]
            return self._fan_out(targets, payload, concurrency)
        payload = _encode(data)
        result = BroadcastResult()
        lock = threading.Lock()

        def send(connection_id: str) -> None:
            try:
                self.send(connection_id, payload)
            except ConnectionGone:
                with lock:
                    result.gone.append(connection_id)
            except Exception as exc:
                with lock:
                    result.failed[connection_id] = exc
            else:
                with lock:
                    result.sent.append(connection_id)

        targets = list(connection_ids)
        run_concurrently(send, targets, concurrency)
        order = {connection_id: i for i, connection_id in enumerate(targets)}  # (the order given, not of answers)
        result.sent.sort(key=order.__getitem__)
        result.gone.sort(key=order.__getitem__)
        return result

    def send_to_user(self, user_id: str, data: Any, *, concurrency: int = 16) -> Any:
        """Send `data` to every connection of `user_id` (a FanOutSummary); needs `track_connections`."""
        return self._fan_out(self._store("send_to_user").by_user(_named("send_to_user", user_id)), data, concurrency)

    def send_to_tenant(self, tenant_id: str, data: Any, *, concurrency: int = 16) -> Any:
        """Send `data` to every connection of `tenant_id` (a FanOutSummary); needs `track_connections`."""
        store = self._store("send_to_tenant")
        return self._fan_out(store.by_tenant(_named("send_to_tenant", tenant_id)), data, concurrency)

    def _store(self, what: str) -> Any:
        if self.connections is None:
            raise RuntimeError(
                f"ctx.ws.{what} needs a connection store: track_connections(app, store) (lift.websocket.connections)"
            )
        return self.connections

    def _fan_out(self, targets: list[Any], data: Any, concurrency: int) -> Any:
        from lift.websocket.connections import fan_out

        return fan_out(self, self.connections, targets, data, concurrency=concurrency)

    def __repr__(self) -> str:
        return f"<WebSocketClient {self.endpoint}>"


def _named(what: str, value: Any) -> str:
    """A user or tenant id to fan out to; a ValueError for None or "" (`ctx.tenant_id` of a request without
    a tenant), which str() made "None": the connections of a tenant or user of that name."""
    if value is None or value == "":
        raise ValueError(f"ctx.ws.{what} needs an id, got {value!r}")
    return str(value)


_clients: dict[str, WebSocketClient] = {}
_clients_lock = threading.Lock()


def client_for(ctx: Any) -> WebSocketClient:
    """The client for a context: an assigned `app.websocket_client` if any, else the event's own
    API stage for WebSocket events (or `LIFT_WEBSOCKET_ENDPOINT`), else the app's client."""
    record = ctx.record
    app = ctx.app
    if getattr(app, "_websocket_client_assigned", False):
        client = app.websocket_client
    elif ctx.source == "websocket" and record is not None and record.domain:
        override = os.environ.get("LIFT_WEBSOCKET_ENDPOINT")
        endpoint = override or record.endpoint
        with _clients_lock:
            client = _clients.get(endpoint)
            if client is None:
                client = _clients[endpoint] = WebSocketClient(endpoint)
    else:
        client = app.websocket_client
    store = getattr(app, "connection_store", None)
    if store is not None and client.connections is None:
        client.connections = store
    return client
