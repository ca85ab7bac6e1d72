"""Who is connected: a store of WebSocket connections that Lift keeps on `$connect`/`$disconnect`,
and fan-out to a user, a tenant or everyone.

    from lift.websocket.connections import DynamoDBConnections, track_connections

    track_connections(app, DynamoDBConnections("chat-connections"))

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.connection_attributes["room"] = ctx.record.query.get("room")   # kept with the connection

    @app.post("/rooms/{room}/messages")
    def post(ctx: Context, room: str, body: Message) -> dict:
        summary = ctx.ws.broadcast(body, filter=lambda c: c.attributes.get("room") == room)
        return summary.to_dict()                                          # sent / failed / removed

After a `$connect` handler accepts the connection, its id, the authenticated user
(`ctx.user_id`), the tenant (`ctx.tenant_id`), the time and the attributes the handler set are
stored; `$disconnect` removes it. A send that finds a connection gone (410) removes it too.

Three backends, one interface: `MemoryConnections` (dev, tests), `DynamoDBConnections` (a table
keyed by connection id with a GSI per user and per tenant and TTL, made by `create_table` or
the deploy model) and `RedisConnections` (a hash per connection, a set per user/tenant).
The DynamoDB layout is written here because Lift's key-value store cannot query by user or
tenant; queries go to the GSIs, never to a scan, except for `broadcast` to everyone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from lift.stage_names import StageTable

__all__ = [
    "Connection",
    "ConnectionStore",
    "DynamoDBConnections",
    "FanOutSummary",
    "MemoryConnections",
    "RedisConnections",
    "connection_store_of",
    "track_connections",
]

DEFAULT_TTL = 2 * 60 * 60  # API Gateway closes every WebSocket connection after 2 hours
# API Gateway answers a send with 410 until the connection's $connect has completed (its integration
# timeout is 29 s), and Lift stores a connection just before: a 410 to a younger one is no proof it is gone.
CONNECTING_SECONDS = 30.0
_age_clock = time.time  # the clock a connection's age is judged by (one place, so tests can move it)


class Connection(msgspec.Struct, kw_only=True):
    """One open WebSocket connection, as stored."""

    id: str
    user_id: str | None = None
    tenant_id: str | None = None
    connected_at: float = 0.0
    attributes: dict[str, Any] = {}
    expires_at: float | None = None


class FanOutSummary(msgspec.Struct, kw_only=True):
    """What a fan-out did: connection ids `sent`, `failed` ({id: error}) and `removed` (gone, 410)."""

    sent: list[str] = []
    failed: dict[str, str] = {}
    removed: list[str] = []

    def to_dict(self) -> dict[str, Any]:
        return {"sent": len(self.sent), "failed": len(self.failed), "removed": len(self.removed)}


class ConnectionStore:
    """The interface every backend implements."""

    ttl: float = DEFAULT_TTL

    def put(self, connection: Connection) -> None:
        raise NotImplementedError

    def get(self, connection_id: str) -> Connection | None:
        raise NotImplementedError

    def delete(self, connection_id: str) -> None:
        raise NotImplementedError

    def by_user(self, user_id: str) -> list[Connection]:
        raise NotImplementedError

    def by_tenant(self, tenant_id: str) -> list[Connection]:
        raise NotImplementedError

    def all(self) -> Iterator[Connection]:
        raise NotImplementedError

    def _alive(self, connection: Connection | None) -> Connection | None:
        if connection is None or (connection.expires_at is not None and connection.expires_at <= time.time()):
            return None
        return connection


# -- memory ------------------------------------------------------------------------------------------


class MemoryConnections(ConnectionStore):
    """Connections in this process (the dev server, tests): thread-safe, expiring after `ttl`."""

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self._items: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def put(self, connection: Connection) -> None:
        # Kept as the other backends keep it, through JSON: attributes JSON cannot hold fail here as they
        # do on DynamoDB and Redis (not first in production), and a tuple reads back as a list everywhere.
        kept = msgspec.json.decode(msgspec.json.encode(connection), type=Connection)
        with self._lock:
            self._items[connection.id] = kept

    def get(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self._alive(self._items.get(connection_id))

    def delete(self, connection_id: str) -> None:
        with self._lock:
            self._items.pop(connection_id, None)

    def _select(self, test: Callable[[Connection], bool]) -> list[Connection]:
        with self._lock:
            found = list(self._items.values())
        return [c for c in found if self._alive(c) is not None and test(c)]

    def by_user(self, user_id: str) -> list[Connection]:
        return self._select(lambda c: c.user_id == user_id)

    def by_tenant(self, tenant_id: str) -> list[Connection]:
        return self._select(lambda c: c.tenant_id == tenant_id)

    def all(self) -> Iterator[Connection]:
        return iter(self._select(lambda c: True))


# -- DynamoDB ------------------------------------------------------------------------------------------

USER_INDEX = "by-user"
TENANT_INDEX = "by-tenant"


def create_table(name: str, *, client: Any = None, endpoint_url: str | None = None, region: str | None = None) -> None:
    """Create a connections table (on-demand, TTL on `expires_at`, GSIs by user and tenant)."""
    import boto3

    client = client or boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "connection_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "connection_id", "AttributeType": "S"},
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "tenant_id", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, attribute in ((USER_INDEX, "user_id"), (TENANT_INDEX, "tenant_id"))
        ],
    )
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})


class DynamoDBConnections(StageTable, ConnectionStore):
    """Connections in a DynamoDB table (see `create_table`); queries by user and tenant use GSIs."""

    def __init__(
        self,
        table: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        ttl: float = DEFAULT_TTL,
        timeout: float = 2.0,
    ) -> None:
        self.table = table
        self.ttl = ttl
        self._client = client
        self._endpoint_url, self._region, self._timeout = endpoint_url, region, timeout

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use with DynamoDBStore's bounds (`timeout` seconds to connect
        and to read, one retry): botocore's own (60 s, up to 10 attempts for DynamoDB) let a `$connect`
        or a fan-out wait minutes on an endpoint that stopped answering."""
        if self._client is None:
            from lift.stores.dynamodb import _client

            self._client = _client(self._endpoint_url, self._region, self._timeout)
        return self._client

    def put(self, connection: Connection) -> None:
        item: dict[str, Any] = {
            "connection_id": {"S": connection.id},
            "connected_at": {"N": repr(connection.connected_at)},
            "attributes": {"S": msgspec.json.encode(connection.attributes).decode()},
        }
        if connection.user_id:
            item["user_id"] = {"S": connection.user_id}
        if connection.tenant_id:
            item["tenant_id"] = {"S": connection.tenant_id}
        if connection.expires_at is not None:
            item["expires_at"] = {"N": str(int(connection.expires_at))}
        self.client.put_item(TableName=self.table_name, Item=item)

    @staticmethod
    def _from_item(item: dict[str, Any]) -> Connection:
        return Connection(
            id=item["connection_id"]["S"],
            user_id=item.get("user_id", {}).get("S"),
            tenant_id=item.get("tenant_id", {}).get("S"),
            connected_at=float(item.get("connected_at", {}).get("N", 0)),
            attributes=msgspec.json.decode(item.get("attributes", {}).get("S", "{}")),
            expires_at=float(item["expires_at"]["N"]) if "expires_at" in item else None,
        )

    def get(self, connection_id: str) -> Connection | None:
        found = self.client.get_item(
            TableName=self.table_name, Key={"connection_id": {"S": connection_id}}, ConsistentRead=True
        )
        return self._alive(self._from_item(found["Item"])) if "Item" in found else None

    def delete(self, connection_id: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={"connection_id": {"S": connection_id}})

    def _query(self, index: str, attribute: str, value: str) -> list[Connection]:
        found: list[Connection] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression="#a = :v",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"S": value}},
        ):
            found += [c for c in map(self._from_item, page["Items"]) if self._alive(c)]
        return found

    def by_user(self, user_id: str) -> list[Connection]:
        return self._query(USER_INDEX, "user_id", user_id)

    def by_tenant(self, tenant_id: str) -> list[Connection]:
        return self._query(TENANT_INDEX, "tenant_id", tenant_id)

    def all(self) -> Iterator[Connection]:
        for page in self.client.get_paginator("scan").paginate(TableName=self.table_name):
            for connection in map(self._from_item, page["Items"]):
                if self._alive(connection):
                    yield connection


# -- Redis ---------------------------------------------------------------------------------------------


class RedisConnections(ConnectionStore):
    """Connections in Redis: `<prefix>c:<id>` holds the connection (expiring), `<prefix>u:<user>`,
    `<prefix>t:<tenant>` and `<prefix>all` are sets of ids, cleaned of expired ids when read."""

    def __init__(
        self, url: str, *, prefix: str = "lift:ws:", ttl: float = DEFAULT_TTL, client: Any = None, timeout: float = 1.0
    ) -> None:
        self.url, self.prefix, self.ttl, self.timeout = url, prefix, ttl, timeout
        self._client = client

    @property
    def client(self) -> Any:
        """The redis-py client, made on first use with RedisStore's bounds (`timeout` seconds per wait, one
        retry on a lost connection: a restarted server)."""
        if self._client is None:
            from lift.stores.redis import redis_client

            self._client = redis_client(self.url, self.timeout)
        return self._client

    def put(self, connection: Connection) -> None:
        key = f"{self.prefix}c:{connection.id}"
        pipe = self.client.pipeline()
        ttl = max(1, int((connection.expires_at or time.time() + self.ttl) - time.time()))
        pipe.set(key, msgspec.json.encode(connection), ex=ttl)
        pipe.sadd(f"{self.prefix}all", connection.id)
        if connection.user_id:
            pipe.sadd(f"{self.prefix}u:{connection.user_id}", connection.id)
        if connection.tenant_id:
            pipe.sadd(f"{self.prefix}t:{connection.tenant_id}", connection.id)
        pipe.execute()

    def get(self, connection_id: str) -> Connection | None:
        data = self.client.get(f"{self.prefix}c:{connection_id}")
        return self._alive(msgspec.json.decode(data, type=Connection)) if data else None

    def delete(self, connection_id: str) -> None:
        connection = self.get(connection_id)
        pipe = self.client.pipeline()
        pipe.delete(f"{self.prefix}c:{connection_id}")
        pipe.srem(f"{self.prefix}all", connection_id)
        if connection is not None and connection.user_id:
            pipe.srem(f"{self.prefix}u:{connection.user_id}", connection_id)
        if connection is not None and connection.tenant_id:
            pipe.srem(f"{self.prefix}t:{connection.tenant_id}", connection_id)
        pipe.execute()

    def _members(self, set_key: str) -> list[Connection]:
        ids = sorted(i.decode() if isinstance(i, bytes) else i for i in self.client.smembers(set_key))
        if not ids:
            return []
        values = self.client.mget([f"{self.prefix}c:{i}" for i in ids])
        found, expired = [], []
        for connection_id, data in zip(ids, values):
            connection = self._alive(msgspec.json.decode(data, type=Connection)) if data is not None else None
            if connection is None:
                expired.append(connection_id)
            else:
                found.append(connection)
        if expired:
            self.client.srem(set_key, *expired)
        return found

    def by_user(self, user_id: str) -> list[Connection]:
        return self._members(f"{self.prefix}u:{user_id}")

    def by_tenant(self, tenant_id: str) -> list[Connection]:
        return self._members(f"{self.prefix}t:{tenant_id}")

    def all(self) -> Iterator[Connection]:
        return iter(self._members(f"{self.prefix}all"))


# -- keeping the store on $connect / $disconnect -------------------------------------------------------


def connection_store_of(app: Any) -> ConnectionStore | None:
    """The store `track_connections` gave `app`, or None."""
    return getattr(app, "connection_store", None)


def track_connections(app: Any, store: ConnectionStore) -> ConnectionStore:
    """Keep `store` up to date from `app`'s WebSocket events: after a `$connect` handler accepts
    (or when there is none), the connection is stored with `ctx.user_id`, `ctx.tenant_id` (set by
    auth/tenancy middleware) and `ctx.connection_attributes`; `$disconnect` removes it. It also
    gives `ctx.ws.send_to_user/send_to_tenant/broadcast` the store to fan out from."""
    if connection_store_of(app) is not None:
        raise ValueError("track_connections: this app already tracks its connections")
    app.connection_store = store
    app.use(_ConnectionTracking(store))
    registered = {h.name for h in app.event_handlers if getattr(h, "source", None) == "websocket"}
    for route_key in ("$connect", "$disconnect"):
        if route_key not in registered:
            app.websocket(route_key)(_accept)
    return store


def _accept() -> None:
    """The `$connect`/`$disconnect` handler Lift registers when the app has none (an app's own,
    registered later, takes its place)."""


_accept.lift_placeholder = True  # type: ignore[attr-defined]


class _ConnectionTracking:
    """The middleware behind `track_connections` (a no-op for every other event source)."""

    def __init__(self, store: ConnectionStore) -> None:
        self.store = store

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.source != "websocket":
            return call_next(ctx)
        record = ctx.record
        route_key = record.route_key
        if route_key == "$connect":
            ctx.connection_attributes = {}
            response = call_next(ctx)
            if getattr(response, "status", 200) < 400:
                now = time.time()
                self.store.put(
                    Connection(
                        id=record.connection_id,
                        user_id=_text(ctx.user_id),
                        tenant_id=_text(ctx.tenant_id),
                        connected_at=now,
                        attributes=dict(ctx.connection_attributes),
                        expires_at=now + self.store.ttl,
                    )
                )
            return response
        if route_key == "$disconnect":
            try:
                return call_next(ctx)
            finally:
                self.store.delete(record.connection_id)
        return call_next(ctx)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- fan-out -----------------------------------------------------------------------------------------


def connecting(connected_at: float | None) -> bool:
    """Whether a connection stored at `connected_at` may still be completing its `$connect` (API Gateway
    answers 410 to sends until then)."""
    return connected_at is not None and _age_clock() - connected_at < CONNECTING_SECONDS


def forget(store: ConnectionStore, connection_id: str, connected_at: float | None = None) -> None:
    """Remove a connection API Gateway says is gone (410), unless it was stored less than
    CONNECTING_SECONDS ago (`connected_at`, else read from the store): then its `$connect` may not have
    completed yet, and removing it would hide a live connection from every fan-out for its 2 hours. A
    store failure is logged, never raised (the entry expires on its own)."""
    try:
        if connected_at is None:
            found = store.get(connection_id)
            connected_at = None if found is None else found.connected_at
        if connecting(connected_at):
            return
        store.delete(connection_id)
    except Exception as exc:
        import logging

        logging.getLogger("lift.websocket").warning("gone connection %s not removed: %s", connection_id, exc)


def fan_out(
    client: Any,
    store: ConnectionStore | None,
    connections: Iterable[Connection],
    data: Any,
    *,
    concurrency: int = 16,
    retries: int = 4,
    base_delay: float = 0.05,
) -> FanOutSummary:
    """Send `data` to every connection with at most `concurrency` sends in flight: a gone (410)
    connection is removed from `store` (one stored under CONNECTING_SECONDS ago is kept and reported
    failed: API Gateway answers 410 until a `$connect` completes), a throttled send is retried with exponential backoff and
    full jitter up to `retries` times, any other failure is reported, never raised. A message over
    API Gateway's 128 KB limit raises MessageTooLarge before any send."""
    from lift.websocket import ConnectionGone, _encode, retry_throttled, run_concurrently

    payload = _encode(data)
    summary = FanOutSummary(sent=[], failed={}, removed=[])
    lock = threading.Lock()

    retried_by_client = getattr(client, "retries_throttles", False)  # (WebSocketClient.send retries itself)

    def send(connection: Connection) -> None:
        try:
            if retried_by_client:
                client.send(
                    connection.id, payload, retries=retries, base_delay=base_delay, connected_at=connection.connected_at
                )
            else:
                retry_throttled(lambda: client.send(connection.id, payload), retries, base_delay)
        except ConnectionGone as gone:
            if store is not None and store is not getattr(client, "connections", None):  # else send did
                forget(store, connection.id, connection.connected_at)
            with lock:
                if connecting(connection.connected_at):  # kept: it may still be completing its $connect
                    summary.failed[connection.id] = f"ConnectionGone: {gone} (connected just now: kept)"
                else:
                    summary.removed.append(connection.id)
            return
        except Exception as exc:
            with lock:
                summary.failed[connection.id] = f"{type(exc).__name__}: {exc}"
            return
        with lock:
            summary.sent.append(connection.id)

    run_concurrently(send, list(connections), concurrency)
    return summary
