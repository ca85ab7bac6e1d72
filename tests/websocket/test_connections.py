"""The connection store on every backend, kept by Lift from real-shaped WebSocket events."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator

import pytest

from lift import App, Context
from lift.errors import Forbidden
from lift.testing import events, lambda_context
from lift.websocket.connections import (
    Connection,
    DynamoDBConnections,
    MemoryConnections,
    RedisConnections,
    create_table,
    track_connections,
)


@pytest.fixture(scope="module")
def connections_table(dynamodb_endpoint: str) -> str:
    name = f"ws-connections-{uuid.uuid4().hex[:8]}"
    create_table(name, endpoint_url=dynamodb_endpoint, region=os.environ["AWS_DEFAULT_REGION"])
    return name


@pytest.fixture(params=["memory", "dynamodb", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryConnections()
    if request.param == "dynamodb":
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        table = request.getfixturevalue("connections_table")
        store = DynamoDBConnections(table, endpoint_url=endpoint, region=os.environ["AWS_DEFAULT_REGION"])
        for connection in list(store.all()):
            store.delete(connection.id)
        return store
    return RedisConnections(request.getfixturevalue("redis_url"), prefix=f"t-{uuid.uuid4().hex[:8]}:")


def conn(cid: str, user: str | None, tenant: str | None, **attrs) -> Connection:
    now = time.time()
    return Connection(id=cid, user_id=user, tenant_id=tenant, connected_at=now, attributes=attrs, expires_at=now + 600)


@pytest.fixture
def settled(monkeypatch):
    """Connections judged by an age an hour on: past CONNECTING_SECONDS, so a 410 for one is final (a
    younger one may still be completing its $connect, and a 410 keeps it)."""
    monkeypatch.setattr("lift.websocket.connections._age_clock", lambda: time.time() + 3600)


def test_store_contract(store):
    store.put(conn("c1", "u1", "acme", room="lobby"))
    store.put(conn("c2", "u1", "acme"))
    store.put(conn("c3", "u2", "globex"))
    store.put(conn("c4", None, None))
    assert store.get("c1").attributes == {"room": "lobby"} and store.get("c1").user_id == "u1"
    assert sorted(c.id for c in store.by_user("u1")) == ["c1", "c2"]
    assert [c.id for c in store.by_tenant("globex")] == ["c3"]
    assert sorted(c.id for c in store.all()) == ["c1", "c2", "c3", "c4"]
    store.delete("c1")
    assert store.get("c1") is None
    assert [c.id for c in store.by_user("u1")] == ["c2"]
    assert store.by_tenant("nobody") == [] and store.by_user("nobody") == []


def test_expired_connections_are_not_returned(store):
    past = time.time() - 5
    store.put(Connection(id="old", user_id="u9", tenant_id="t9", connected_at=past - 10, expires_at=past))
    assert store.get("old") is None
    assert store.by_user("u9") == [] and store.by_tenant("t9") == []


def ws_app(store) -> App:
    app = App("chat")

    def identity(ctx: Context, call_next):  # stands in for auth + tenancy middleware on $connect
        if ctx.source == "websocket" and ctx.record.route_key == "$connect":
            ctx.user_id = ctx.record.query.get("user")
            ctx.tenant_id = ctx.record.query.get("tenant")
        return call_next(ctx)

    app.use(identity)
    track_connections(app, store)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        if ctx.record.query.get("user") == "mallory":
            raise Forbidden("not you")
        ctx.connection_attributes["room"] = ctx.record.query.get("room", "lobby")

    return app


@contextlib.contextmanager
def management_api(monkeypatch, live: set[str], handler: type | None = None) -> Iterator[type]:
    """A local API Gateway Management API (tests/sources/test_websocket.py's, or `handler`, a subclass
    of it) answering for the `live` connections, with LIFT_WEBSOCKET_ENDPOINT pointing at it."""
    import threading
    from http.server import ThreadingHTTPServer

    from sources.test_websocket import ManagementAPI

    monkeypatch.setattr(ManagementAPI, "live", set(live))
    monkeypatch.setattr(ManagementAPI, "received", [])
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler or ManagementAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LIFT_WEBSOCKET_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}/prod")
    try:
        yield ManagementAPI
    finally:
        server.shutdown()
        server.server_close()


def test_connect_and_disconnect_keep_the_store(store):
    app = ws_app(store)
    ok = app.handler(
        events.websocket_connect(connection_id="A1=", query={"user": "u1", "tenant": "acme", "room": "r7"}),
        lambda_context(),
    )
    assert ok["statusCode"] == 200
    stored = store.get("A1=")
    assert (stored.user_id, stored.tenant_id, stored.attributes) == ("u1", "acme", {"room": "r7"})
    assert stored.expires_at > time.time() + 3000
    refused = app.handler(events.websocket_connect(connection_id="M1=", query={"user": "mallory"}), lambda_context())
    assert refused["statusCode"] == 403 and store.get("M1=") is None
    app.handler(events.websocket_disconnect(connection_id="A1="), lambda_context())
    assert store.get("A1=") is None


def test_tracking_without_handlers_registers_accepting_ones():
    store = MemoryConnections()
    app = App("bare")
    track_connections(app, store)
    assert app.handler(events.websocket_connect(connection_id="B1="), lambda_context())["statusCode"] == 200
    assert store.get("B1=") is not None
    app.handler(events.websocket_disconnect(connection_id="B1="), lambda_context())
    assert store.get("B1=") is None
    with pytest.raises(ValueError, match="already tracks"):
        track_connections(app, store)


def test_fan_out_needs_a_store():
    app = App("nostore")
    with pytest.raises(RuntimeError, match="track_connections"):
        app.websocket_client.send_to_user("u1", {"hi": 1})


def test_a_send_to_a_gone_connection_removes_it_from_the_store(store, monkeypatch, settled):
    """`ctx.ws.send` to a connection API Gateway answers 410 for (the client left without a
    `$disconnect` reaching us) raises ConnectionGone and forgets it, as fan-outs do: a job's progress
    pushes or a user's fan-out no longer target it. Before, only fan-outs removed it."""
    from lift.websocket import ConnectionGone

    with management_api(monkeypatch, {"live-1="}):
        app = ws_app(store)
        outcomes: list[str] = []

        @app.websocket("notify")
        def notify(ctx: Context, body: dict) -> None:
            try:
                ctx.ws.send(body["to"], {"note": "hi"})
                outcomes.append("sent")
            except ConnectionGone:
                outcomes.append("gone")

        for cid in ("live-1=", "left-1="):
            app.handler(events.websocket_connect(connection_id=cid, query={"user": "u9"}), lambda_context())
        for cid in ("live-1=", "left-1="):
            message = events.websocket_message({"to": cid}, route_key="notify", connection_id="live-1=")
            app.handler(message, lambda_context())
        assert outcomes == ["sent", "gone"]
        assert store.get("left-1=") is None and store.get("live-1=") is not None
        assert [c.id for c in store.by_user("u9")] == ["live-1="]


@pytest.mark.parametrize("backend", ["dynamodb", "redis"])
def test_a_connect_whose_store_stops_answering_is_refused_within_the_stores_timeout(backend, silent_server):
    """The connection store's server accepts but never answers: `$connect` is refused (500, nothing
    stored) once the store's timeout has passed, as with DynamoDBStore and RedisStore. Before, the
    DynamoDB store used botocore's defaults (60 s reads, up to 10 attempts): the `$connect` waited
    minutes, past API Gateway's 29 s, and a fan-out from an HTTP route hung the same way."""
    import threading

    if backend == "dynamodb":
        store = DynamoDBConnections(
            "ws", endpoint_url=f"http://127.0.0.1:{silent_server}", region="us-east-1", timeout=0.3
        )
    else:
        store = RedisConnections(f"redis://127.0.0.1:{silent_server}/0", timeout=0.3)
    app = ws_app(store)
    answers: list = []
    connecting = threading.Thread(
        target=lambda: answers.append(app.handler(events.websocket_connect(connection_id="S1="), lambda_context())),
        daemon=True,
    )
    connecting.start()
    connecting.join(30)  # (bounded: reached only when a store call waits on the silent server unbounded)
    assert not connecting.is_alive(), "the $connect still waits on the silent store"
    assert answers[0]["statusCode"] == 500


def test_app_websocket_client_fans_out_to_a_tenant_with_some_connections_gone(store, monkeypatch, settled):
    """24 connections of two tenants, a third of them gone (410 from the Management API): a send to one
    tenant through `app.websocket_client` (a script, a scheduled task) reaches exactly its live
    connections, reports and forgets its gone ones, and never touches the other tenant's (on memory,
    DynamoDB Local and redis-server, 16 sends at a time). Before, `app.websocket_client` had no
    connection store outside `ctx.ws`: every fan-out raised "needs a connection store:
    track_connections(app, store)" in an app that tracked its connections."""
    ids = {tenant: [f"{tenant}-{i}=" for i in range(12)] for tenant in ("acme", "globex")}
    gone = {cid for cids in ids.values() for cid in cids[::3]}
    with management_api(monkeypatch, {cid for cids in ids.values() for cid in cids} - gone) as api:
        app = ws_app(store)
        for tenant, cids in ids.items():
            for cid in cids:
                event = events.websocket_connect(connection_id=cid, query={"user": f"u-{cid}", "tenant": tenant})
                assert app.handler(event, lambda_context())["statusCode"] == 200
        summary = app.websocket_client.send_to_tenant("acme", {"notice": "maintenance"})
        acme_live = sorted(set(ids["acme"]) - gone)
        assert sorted(summary.sent) == acme_live and summary.failed == {}
        assert sorted(summary.removed) == sorted(set(ids["acme"]) & gone)
        assert sorted(cid for _, cid, _ in api.received) == acme_live
        assert sorted(c.id for c in store.by_tenant("acme")) == acme_live
        assert sorted(c.id for c in store.by_tenant("globex")) == sorted(ids["globex"])  # untouched


def test_a_throttled_connection_is_tried_as_often_as_documented(store, monkeypatch):
    """A send API Gateway keeps answering 429 (TooManyRequestsException) is tried 1 + 4 times, whether
    by `ctx.ws.send` or in a fan-out, then reported: botocore's own retries ran inside Lift's, so a
    fan-out sent it 15 times and took seconds longer than the docs say."""
    from sources.test_websocket import ManagementAPI

    attempts: list[str] = []

    class Throttling(ManagementAPI):
        def do_POST(self) -> None:
            cid = self._connection()
            if cid != "busy=":
                return super().do_POST()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            attempts.append(cid)
            self._error(429, "TooManyRequestsException", "Too Many Requests")

    with management_api(monkeypatch, {"live-1=", "busy="}, Throttling):
        app = ws_app(store)
        for cid in ("live-1=", "busy="):
            app.handler(events.websocket_connect(connection_id=cid, query={"user": "u1"}), lambda_context())
        summary = app.websocket_client.send_to_user("u1", {"note": "hi"})
        assert summary.sent == ["live-1="] and list(summary.failed) == ["busy="]
        assert "TooManyRequestsException" in summary.failed["busy="]
        assert len(attempts) == 5
        attempts.clear()
        with pytest.raises(Exception) as raised:
            app.websocket_client.send("busy=", {"note": "hi"})
        assert "TooManyRequests" in str(raised.value) and len(attempts) == 5


def test_a_message_over_api_gateways_128_kb_limit_is_refused_before_any_send(monkeypatch):
    """API Gateway refuses a WebSocket message over 128 KB (PayloadTooLargeException) whoever it goes to:
    `send` and every fan-out raise MessageTooLarge, naming the limit, before reaching the Management API.
    Before, each connection's send failed on its own (a fan-out to 1,000 connections made 1,000 calls
    and reported each as failed), and a message of exactly 128 KB still goes."""
    from lift.websocket import MAX_MESSAGE_BYTES, MessageTooLarge

    store = MemoryConnections()
    with management_api(monkeypatch, {"a=", "b="}) as api:
        app = ws_app(store)
        for cid in ("a=", "b="):
            app.handler(events.websocket_connect(connection_id=cid, query={"user": "u1", "tenant": "acme"}), None)
        client = app.websocket_client
        big = b"x" * (MAX_MESSAGE_BYTES + 1)
        for attempt in (
            lambda: client.send("a=", big),
            lambda: client.send("a=", {"text": "y" * MAX_MESSAGE_BYTES}),
            lambda: client.send_to_user("u1", big),
            lambda: client.send_to_tenant("acme", big),
            lambda: client.broadcast(big),
            lambda: client.broadcast(["a=", "b="], big),
        ):
            with pytest.raises(MessageTooLarge, match="131072 byte"):
                attempt()
        assert api.received == []
        client.send("a=", b"x" * MAX_MESSAGE_BYTES)
        assert [len(data) for _, _, data in api.received] == [MAX_MESSAGE_BYTES]


def test_a_broadcast_to_given_ids_sends_them_concurrently(monkeypatch, settled):
    """`ctx.ws.broadcast(ids, data)` (the old form) sends `concurrency` at a time like the fan-outs: the
    Management API here holds each send until 4 are in flight at once. Before, it sent one connection
    after another whatever `concurrency=` said, so a broadcast to thousands took thousands of round trips
    end to end; the gone ones are still reported and forgotten."""
    import threading

    from sources.test_websocket import ManagementAPI

    together = threading.Barrier(4, timeout=30)  # (bounded: waited out only when sends are serial)

    class Gathering(ManagementAPI):
        def do_POST(self) -> None:
            if self._connection() in self.live:
                together.wait()
            return super().do_POST()

    ids = [f"c{i}=" for i in range(10)]
    store = MemoryConnections()
    with management_api(monkeypatch, set(ids[:8]), Gathering):
        app = ws_app(store)
        for cid in ids:
            app.handler(events.websocket_connect(connection_id=cid, query={"user": "u1"}), lambda_context())
        result = app.websocket_client.broadcast(ids, {"note": "hi"}, concurrency=8)
        assert sorted(result.sent) == ids[:8] and sorted(result.gone) == ids[8:] and result.failed == {}
        assert sorted(c.id for c in store.by_user("u1")) == ids[:8]


def test_a_job_result_too_large_for_a_message_is_pushed_without_it(monkeypatch):
    """A job whose 200 KB result fits its record but not a WebSocket message (API Gateway's limit is
    128 KB and it answers 413 above it, as this Management API does): the connection that started it
    still hears `job.succeeded`, with `result_omitted` instead of the result, which GET /jobs/{id} has.
    Before, that last push failed (logged) and the client never learned that the job had finished."""
    import json
    import threading

    from sources.test_websocket import ManagementAPI

    from lift.testing import TestClient
    from lift.websocket import MAX_MESSAGE_BYTES

    class Limited(ManagementAPI):
        def do_POST(self) -> None:
            if int(self.headers.get("Content-Length") or 0) > MAX_MESSAGE_BYTES:
                self.rfile.read(int(self.headers["Content-Length"]))
                return self._error(413, "PayloadTooLargeException", "Payload too large")
            return super().do_POST()

    with management_api(monkeypatch, {"w1="}, Limited) as api:
        app = App("reports")
        app.jobs.configure(transport="local", retry_delay=0.01)
        app.jobs.mount(app)
        ran = threading.Event()

        @app.job("big", max_attempts=1)
        def big() -> dict:
            ran.set()
            return {"rows": "r" * 200_000}

        @app.post("/big")
        def start(ctx: Context) -> dict:
            return {"job_id": ctx.jobs.start("big", notify_connection="w1=").id}

        before = set(threading.enumerate())
        client = TestClient(app)
        job_id = client.post("/big").json()["job_id"]
        for thread in set(threading.enumerate()) - before:
            thread.join(30)  # the local worker (bounded: waited out only when it hangs)
        assert ran.is_set()
        pushes = [json.loads(data) for _, _, data in api.received]
        assert [p["type"] for p in pushes] == ["job.progress", "job.succeeded"]
        assert pushes[-1]["job"]["result_omitted"] is True and pushes[-1]["job"]["result"] is None
        assert len(client.get(f"/jobs/{job_id}").json()["result"]["rows"]) == 200_000


def test_a_fan_out_to_a_management_api_that_stops_answering_ends_within_its_timeout(silent_server):
    """The Management API accepts connections and never answers: each send fails after the client's
    `timeout=` (5 s by default) and the fan-out reports them all failed. Before, botocore's 60 s read
    timeout held every send, so a fan-out to 1,000 connections (16 at a time) took an hour, far past API
    Gateway's 29 s for the request that made it."""
    import threading

    from lift.websocket import WebSocketClient

    store = MemoryConnections()
    for i in range(20):
        store.put(conn(f"s{i}=", "u1", "acme"))
    client = WebSocketClient(f"http://127.0.0.1:{silent_server}/prod", region="us-east-1", timeout=0.3)
    client.connections = store
    summaries: list = []
    fanning = threading.Thread(target=lambda: summaries.append(client.send_to_tenant("acme", {"n": 1})), daemon=True)
    fanning.start()
    fanning.join(30)  # (bounded: reached only when a send waits unbounded)
    assert not fanning.is_alive(), "the fan-out still waits on the silent Management API"
    assert summaries[0].sent == [] and len(summaries[0].failed) == 20
    assert all("timeout" in error.lower() for error in summaries[0].failed.values())


def test_a_fan_out_to_no_tenant_or_user_is_refused_not_sent_to_the_one_named_none(monkeypatch):
    """`ctx.ws.send_to_tenant(ctx.tenant_id, ...)` in a request without a tenant: a ValueError saying so.
    Before, the id became the text "None" and the message went to the connections of a tenant (or user)
    of that name: another customer's clients."""
    with management_api(monkeypatch, {"n1="}) as api:
        app = ws_app(MemoryConnections())
        app.handler(events.websocket_connect(connection_id="n1=", query={"user": "None", "tenant": "None"}), None)
        client = app.websocket_client
        for fan_out in (client.send_to_tenant, client.send_to_user):
            for nobody in (None, ""):
                with pytest.raises(ValueError, match="needs an id"):
                    fan_out(nobody, {"secret": 1})
        assert api.received == []
        assert client.send_to_tenant("None", {"hello": 1}).sent == ["n1="]


def test_close_or_info_of_a_gone_connection_removes_it_from_the_store(store, monkeypatch, settled):
    """`ctx.ws.close(id)` and `ctx.ws.info(id)` on a connection API Gateway answers 410 for forget it, as
    `send` does (on memory, DynamoDB Local and redis-server): its `$disconnect` already came or was lost.
    Before, both left it stored, so every fan-out to its user or tenant tried it again for up to 2 hours."""
    from lift.websocket import ConnectionGone

    with management_api(monkeypatch, {"here="}):
        app = ws_app(store)
        for cid in ("here=", "left-a=", "left-b="):
            app.handler(events.websocket_connect(connection_id=cid, query={"user": "u5"}), lambda_context())
        client = app.websocket_client
        assert client.close("left-a=") is False
        with pytest.raises(ConnectionGone):
            client.info("left-b=")
        assert client.info("here=")["Identity"]["SourceIp"] == "203.0.113.7"
        assert [c.id for c in store.by_user("u5")] == ["here="]


def test_a_connection_still_completing_its_connect_is_not_forgotten_on_410(store, monkeypatch):
    """Lift stores a connection when its `$connect` handler accepts it, before API Gateway has completed
    the connection, and API Gateway answers 410 to sends until then. A fan-out (or `ctx.ws.send`) in that
    window keeps the connection (reported failed) instead of forgetting it; once it is 30 s old a 410 is
    final. Before, it was removed: the live connection was left out of every fan-out for its 2 hours."""
    from lift.websocket import ConnectionGone
    from lift.websocket.connections import CONNECTING_SECONDS

    age = [0.0]
    monkeypatch.setattr("lift.websocket.connections._age_clock", lambda: time.time() + age[0])
    with management_api(monkeypatch, {"old="}) as api:  # "new=" is not live yet: its $connect runs
        app = ws_app(store)
        for cid in ("old=", "new="):
            app.handler(events.websocket_connect(connection_id=cid, query={"user": "u7"}), lambda_context())
        summary = app.websocket_client.send_to_user("u7", {"n": 1})
        assert summary.sent == ["old="] and summary.removed == [] and list(summary.failed) == ["new="]
        with pytest.raises(ConnectionGone):
            app.websocket_client.send("new=", {"n": 2})
        assert sorted(c.id for c in store.by_user("u7")) == ["new=", "old="]
        api.live.add("new=")  # API Gateway completed it
        assert sorted(app.websocket_client.send_to_user("u7", {"n": 3}).sent) == ["new=", "old="]
        api.live.discard("new=")  # and it left without a $disconnect reaching the app
        age[0] = CONNECTING_SECONDS
        assert app.websocket_client.send_to_user("u7", {"n": 4}).removed == ["new="]
        assert [c.id for c in store.by_user("u7")] == ["old="]


def test_lift_tables_makes_a_connections_table_its_fan_outs_can_query(dynamodb_endpoint, tmp_path):
    """`DynamoDBLocal.create_app_tables` (the `lift_tables` fixture of a user's tests) makes a tracked
    `DynamoDBConnections` table with the by-user and by-tenant indexes `lift deploy` gives it, so
    `send_to_user`/`send_to_tenant` work in the user's tests. Before, it made the key only: every fan-out
    failed with "The table does not have the specified index: by-user"."""
    from lift.testing.pytest_plugin import DynamoDBLocal

    name = f"chat-connections-{uuid.uuid4().hex[:8]}"
    store = DynamoDBConnections(name, endpoint_url=dynamodb_endpoint, region=os.environ["AWS_DEFAULT_REGION"])
    app = ws_app(store)
    assert name in DynamoDBLocal(dynamodb_endpoint).create_app_tables(app, root=tmp_path)
    app.handler(events.websocket_connect(connection_id="L1=", query={"user": "u1", "tenant": "acme"}), None)
    assert [c.id for c in store.by_user("u1")] == ["L1="] and [c.id for c in store.by_tenant("acme")] == ["L1="]


def test_connection_attributes_are_kept_as_json_on_every_backend(store):
    """What a `$connect` handler puts in `ctx.connection_attributes` is kept as JSON by every backend: a
    tuple reads back as a list, and a value JSON cannot hold refuses the connection (500, nothing stored)
    on memory as on DynamoDB and Redis. Before, MemoryConnections kept the objects themselves, so a
    user's tests passed and every `$connect` failed once deployed."""
    app = App("attrs")
    track_connections(app, store)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.connection_attributes["seat"] = ("row", 7)
        if ctx.record.query.get("odd"):
            ctx.connection_attributes["since"] = object()

    assert app.handler(events.websocket_connect(connection_id="J1="), lambda_context())["statusCode"] == 200
    assert store.get("J1=").attributes == {"seat": ["row", 7]}
    odd = app.handler(events.websocket_connect(connection_id="J2=", query={"odd": "1"}), lambda_context())
    assert odd["statusCode"] == 500 and store.get("J2=") is None
