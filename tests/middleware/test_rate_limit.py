"""Rate limiting through real API Gateway/ALB events, against memory, DynamoDB Local and Redis."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from lift import App, Context
from lift.middleware.rate_limit import Limit, fixed_window, rate_limit, sliding_window
from lift.stores import MemoryStore
from lift.stores.redis import RedisStore
from lift.testing import TestClient, events, lambda_context
from tests.store_time import StoreTime

FOREVER = 10**7  # a window long enough that no test crosses a window boundary


def identify_from_headers(ctx: Context, call_next):
    """Stand-in for an authenticator: the caller's user and tenant as a gateway authorizer would set them."""
    if ctx.request is not None:
        ctx.user_id = ctx.request.headers.get("x-test-user")
        ctx.tenant_id = ctx.request.headers.get("x-test-tenant")
        plan = ctx.request.headers.get("x-test-plan")
        ctx.claims = {"plan": plan} if plan else None
    return call_next(ctx)


def make_app(limiter) -> App:
    app = App(name="rl-test")
    app.use(identify_from_headers, limiter)

    @app.get("/items")
    def list_items(ctx: Context) -> dict:
        return {"items": []}

    @app.post("/items", status=201)
    def create_item(ctx: Context) -> dict:
        return {"created": True}

    return app


@pytest.mark.parametrize("algorithm", ["fixed", "sliding", "token_bucket"])
def test_limit_then_429_with_headers_and_retry_after(store, algorithm):
    client = TestClient(make_app(rate_limit(3, FOREVER, store=store, algorithm=algorithm)))
    seen = [client.get("/items") for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in seen] == ["2", "1", "0"]
    assert seen[0].headers["RateLimit-Limit"] == "3" and seen[0].headers["X-RateLimit-Limit"] == "3"
    assert int(seen[0].headers["RateLimit-Reset"]) > 0
    assert int(seen[0].headers["X-RateLimit-Reset"]) > time.time()

    rejected = client.get("/items")
    assert rejected.status_code == 429
    body = rejected.json()["error"]
    assert body["code"] == "too_many_requests" and body["request_id"]
    assert int(rejected.headers["Retry-After"]) >= 1
    assert rejected.headers["RateLimit-Remaining"] == "0"


def test_fixed_window_opens_again_in_the_next_window(store):
    limit = Limit(2, 10)
    assert [fixed_window(store, "k", limit, now).allowed for now in (100.0, 105.0, 109.9)] == [True, True, False]
    again = fixed_window(store, "k", limit, 110.0)
    assert again.allowed and again.remaining == 1 and again.reset_after == 10


def test_an_instance_whose_clock_runs_behind_still_counts_into_its_window(store_factory):
    """Two Lambda instances, B's clock 1.5 s behind A's. A fills window N just before it ends; once A's
    clock has moved on, B is still in window N and must find it full. Before, the window's counter
    lived 1 s past A's end of the window: on Redis (expiry on the server's clock) B found it gone and
    admitted a 4th request in window N."""
    if store_factory.backend == "memory":
        pytest.skip("one in-process store has one clock")
    a, b = store_factory(), store_factory()
    time_of = StoreTime(a, b)
    time_of.clock.now = 1_000 * 600 + 599.5  # 0.5 s before a 10-minute window ends, on A's clock
    b.clock = lambda: time_of.clock() - 1.5
    limit = Limit(3, 600)
    assert [fixed_window(a, "k", limit, a.clock()).allowed for _ in range(3)] == [True] * 3
    time_of.advance(1.6)  # A is in window N+1; B (599.6 on its clock) is still in window N
    assert not fixed_window(b, "k", limit, b.clock()).allowed
    assert fixed_window(a, "k", limit, a.clock()).allowed


def test_sub_second_windows_do_not_share_a_counter(store):
    limit = Limit(1, 0.5)
    assert fixed_window(store, "k", limit, 100.0).allowed
    assert not fixed_window(store, "k", limit, 100.2).allowed
    assert fixed_window(store, "k", limit, 100.5).allowed


def test_users_are_counted_separately(store):
    client = TestClient(make_app(rate_limit(1, FOREVER, store=store)))
    assert client.get("/items", headers={"X-Test-User": "alice"}).status_code == 200
    assert client.get("/items", headers={"X-Test-User": "alice"}).status_code == 429
    assert client.get("/items", headers={"X-Test-User": "bob"}).status_code == 200


def test_tenants_never_share_counters(store):
    """The same user id in two tenants: one tenant exhausting its quota leaves the other alone."""
    client = TestClient(make_app(rate_limit(1, FOREVER, store=store)))
    acme = {"X-Test-User": "u1", "X-Test-Tenant": "acme"}
    globex = {"X-Test-User": "u1", "X-Test-Tenant": "globex"}
    assert client.get("/items", headers=acme).status_code == 200
    assert client.get("/items", headers=acme).status_code == 429
    assert client.get("/items", headers=globex).status_code == 200


def test_without_a_user_the_tenant_then_a_checked_api_key_then_ip_is_counted():
    app = make_app(rate_limit(1, FOREVER, store=MemoryStore()))
    client = TestClient(app)
    assert client.get("/items", headers={"X-Test-Tenant": "acme"}).status_code == 200
    assert client.get("/items", headers={"X-Test-Tenant": "acme"}).status_code == 429

    def gateway_checked(key_id: str) -> int:  # a method with apiKeyRequired: API Gateway names the key
        event = events.apigw_rest("GET", "/items", headers={"X-Api-Key": f"secret-of-{key_id}"})
        event["requestContext"]["identity"].update(apiKey=f"secret-of-{key_id}", apiKeyId=key_id)
        return app.handler(event, lambda_context())["statusCode"]

    assert [gateway_checked("k-123"), gateway_checked("k-123"), gateway_checked("k-456")] == [200, 429, 200]
    # No identity at all: the client IP (the events' sourceIp) is the key.
    assert client.get("/items").status_code == 200
    assert client.get("/items").status_code == 429


def test_an_api_key_header_nobody_checked_buys_no_fresh_quota():
    """A client rotating X-Api-Key values is counted by its IP: a new value is not a new caller."""
    client = TestClient(make_app(rate_limit(2, FOREVER, store=MemoryStore())))
    statuses = [client.get("/items", headers={"X-Api-Key": f"guess-{n}"}).status_code for n in range(4)]
    assert statuses == [200, 200, 429, 429]
    other_ip = client.get("/items", headers={"X-Api-Key": "guess-9", "X-Forwarded-For": "203.0.113.9"})
    assert other_ip.status_code == 429  # (X-Forwarded-For is believed only with trusted_proxies)


def test_keys_checked_by_api_key_auth_are_counted_apart():
    from lift.auth.api_keys import hash_api_key
    from lift.middleware.auth import api_key_auth

    app = App(name="rl-keys")
    keys = {hash_api_key(k): {"name": k} for k in ("k-1", "k-2")}
    app.use(api_key_auth(keys), rate_limit(1, FOREVER, store=MemoryStore()))

    @app.get("/items")
    def list_items(ctx: Context) -> dict:
        return {"items": []}

    client = TestClient(app)
    assert [client.get("/items", headers={"X-Api-Key": k}).status_code for k in ("k-1", "k-1", "k-2")] == [
        200,
        429,
        200,
    ]
    assert client.get("/items", headers={"X-Api-Key": "k-3"}).status_code == 401


def test_per_route_by_default_and_global_when_asked():
    per_route = TestClient(make_app(rate_limit(1, FOREVER, store=MemoryStore())))
    assert per_route.get("/items").status_code == 200
    assert per_route.post("/items", json={}).status_code == 201
    assert per_route.get("/items").status_code == 429

    everywhere = TestClient(make_app(rate_limit(1, FOREVER, store=MemoryStore(), scope="global")))
    assert everywhere.get("/items").status_code == 200
    assert everywhere.post("/items", json={}).status_code == 429


def test_plan_limits_apply_per_tenant_plan():
    limiter = rate_limit(1, FOREVER, store=MemoryStore(), plans={"pro": 3})
    client = TestClient(make_app(limiter))
    free = {"X-Test-Tenant": "small"}
    pro = {"X-Test-Tenant": "big", "X-Test-Plan": "pro"}
    assert [client.get("/items", headers=free).status_code for _ in range(2)] == [200, 429]
    assert [client.get("/items", headers=pro).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_spoofed_x_forwarded_for_is_ignored_without_trusted_proxies():
    client = TestClient(make_app(rate_limit(1, FOREVER, store=MemoryStore())))
    assert client.get("/items", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    # A new fake address per request does not buy a new quota: API Gateway's sourceIp counts.
    assert client.get("/items", headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 429


@pytest.mark.parametrize("source", ["rest", "http", "alb"])
def test_behind_cloudfront_the_trusted_proxy_entry_is_the_client(source):
    """CloudFront -> API Gateway/ALB: with one trusted proxy, the address CloudFront saw is the client."""
    client = TestClient(make_app(rate_limit(1, FOREVER, store=MemoryStore(), trusted_proxies=1)), source=source)
    edge = "130.176.0.10"

    def from_client(ip: str, spoofed: str | None = None):
        # CloudFront appends the address it saw; an ALB then appends the peer it saw (the edge),
        # while API Gateway keeps the edge in requestContext sourceIp (the builder's 203.0.113.7).
        chain = [x for x in (spoofed, ip) if x] + ([edge] if source == "alb" else [])
        return client.get("/items", headers={"X-Forwarded-For": ", ".join(chain)})

    assert from_client("198.51.100.1").status_code == 200
    assert from_client("198.51.100.1", spoofed="9.9.9.9").status_code == 429
    assert from_client("198.51.100.2").status_code == 200


def test_an_edge_optimized_rest_apis_own_cloudfront_hop_is_not_the_client():
    """Your CloudFront -> an edge-optimized REST API: API Gateway's own edge appends its address after the
    one it names as sourceIp (your CloudFront's), as in AWS's samples ("15.248.3.126, 130.176.209.21" with
    sourceIp 15.248.3.126). The client is one trusted hop left of sourceIp, never AWS's edge, which every
    caller through that edge shares (before, they all shared one quota)."""
    app = make_app(rate_limit(1, FOREVER, store=MemoryStore(), trusted_proxies=1))
    client = TestClient(app)
    your_cloudfront, apigw_edge = "54.239.1.1", "130.176.209.21"

    def from_client(ip: str) -> int:
        event = client.build_event(
            "GET", "/items", headers={"X-Forwarded-For": f"{ip}, {your_cloudfront}, {apigw_edge}"}
        )
        event["requestContext"]["identity"]["sourceIp"] = your_cloudfront
        return app.handler(event, lambda_context())["statusCode"]

    assert [from_client("198.51.100.1"), from_client("198.51.100.2")] == [200, 200]
    assert from_client("198.51.100.1") == 429


def test_websocket_clients_are_counted_by_their_own_address():
    """WebSocket messages have no headers: the client is requestContext.identity.sourceIp. Before, every
    connection was counted as one 'anonymous' caller, so one chatty client got everyone's messages 429'd."""
    app = App(name="rl-ws")
    app.use(rate_limit(2, FOREVER, store=MemoryStore()))

    @app.websocket("$default")
    def message(ctx: Context) -> None:
        return None

    def send(ip: str) -> int:
        event = events.websocket_message("hi")
        event["requestContext"]["identity"]["sourceIp"] = ip
        return app.handler(event, lambda_context())["statusCode"]

    assert [send("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert [send("198.51.100.2") for _ in range(3)] == [200, 200, 429]


def test_store_down_fails_open_with_an_error_log(caplog, dead_port):
    dead = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.3)
    client = TestClient(make_app(rate_limit(1, FOREVER, store=dead)))
    with caplog.at_level(logging.ERROR, logger="lift.rate_limit"):
        responses = [client.get("/items") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "RateLimit-Limit" not in responses[0].headers
    errors = [r for r in caplog.records if r.name == "lift.rate_limit"]
    assert len(errors) == 3 and "request_id=" in errors[0].getMessage() and "fail_open" in errors[0].getMessage()


def test_store_down_fails_closed_when_configured_with_one_log_line(dead_port, caplog):
    dead = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.3)
    client = TestClient(make_app(rate_limit(1, FOREVER, store=dead, fail_closed=True)))
    with caplog.at_level(logging.INFO, logger="lift"):
        response = client.get("/items")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "fail_closed" in lines[0]  # (before, the 503 wrote a second ERROR line)


@pytest.mark.parametrize("algorithm", ["fixed", "sliding", "token_bucket"])
def test_threads_hammering_one_key_never_exceed_the_limit(store_factory, algorithm):
    """16 threads, each its own store client (like separate Lambda instances), 240 requests (128 on DynamoDB), limit 25."""
    limit, threads, per_thread = 25, 16, 8 if store_factory.backend == "dynamodb" else 15
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def make_client():
        limiter = rate_limit(limit, FOREVER, store=store_factory(), algorithm=algorithm, fail_closed=True)
        return TestClient(make_app(limiter))

    def worker(client):
        barrier.wait(timeout=30)
        for _ in range(per_thread):
            status = client.get("/items", headers={"X-Test-User": "hammer"}).status_code
            with lock:
                results.append(status)

    workers = [threading.Thread(target=worker, args=(make_client(),)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == threads * per_thread
    assert results.count(200) == limit
    assert results.count(429) == threads * per_thread - limit


def test_sliding_window_weighs_the_previous_window(store):
    limit = Limit(10, 100)
    # 8 hits late in window [0, 100).
    for _ in range(8):
        assert sliding_window(store, "k", limit, 90.0).allowed
    # At t=150 the previous window weighs 0.5 -> estimate 4 + current; 6 more fit, the 7th does not.
    allowed = [sliding_window(store, "k", limit, 150.0).allowed for _ in range(7)]
    assert allowed == [True] * 6 + [False]
    # At t=190 the previous window weighs 0.1 -> 0.8 + 6 current: 3 more fit.
    assert [sliding_window(store, "k", limit, 190.0).allowed for _ in range(4)] == [True] * 3 + [False]


def test_limit_specs_parse():
    assert Limit.parse("100/minute") == Limit(100, 60)
    assert Limit.parse("10/s") == Limit(10, 1)
    assert Limit.parse("5/10s") == Limit(5, 10)
    assert Limit.parse("1000/hours") == Limit(1000, 3600)
    with pytest.raises(ValueError):
        Limit.parse("lots")
    with pytest.raises(ValueError):
        Limit.parse("0/minute")


def _hammer_in_a_process(backend: str, address: str, prefix: str, limit: int, hits: int, queue) -> None:
    """One 'Lambda instance' in its own process: its own store client, `hits` hits on one key."""
    from lift.stores.dynamodb import DynamoDBStore
    from lift.stores.redis import RedisStore

    if backend == "redis":
        store = RedisStore(address, prefix=prefix, timeout=15)
    else:
        store = DynamoDBStore("lift-test", endpoint_url=address, prefix=prefix, timeout=15)
    allowed = sum(fixed_window(store, "k", Limit(limit, FOREVER), time.time()).allowed for _ in range(hits))
    queue.put(allowed)


@pytest.mark.parametrize("backend", ["redis", "dynamodb"])
def test_processes_hammering_one_key_never_exceed_the_limit(request, backend):
    """4 processes x 15 hits with a limit of 20: exactly 20 are allowed across all of them."""
    import multiprocessing
    import uuid

    address = request.getfixturevalue("redis_url" if backend == "redis" else "dynamodb_endpoint")
    if backend == "dynamodb":
        request.getfixturevalue("dynamodb_table")
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    prefix = f"proc-{uuid.uuid4().hex[:8]}:"
    processes = [
        spawn.Process(target=_hammer_in_a_process, args=(backend, address, prefix, 20, 15, queue)) for _ in range(4)
    ]
    for p in processes:
        p.start()
    allowed = [queue.get(timeout=60) for _ in processes]
    for p in processes:
        p.join(30)
    assert sum(allowed) == 20


def _ws_app(limiter) -> App:
    app = App(name="rl-ws-connect")
    app.use(limiter)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        return None

    return app


def _connect(app: App, forwarded: str, source_ip: str) -> int:
    event = events.websocket_connect(headers={"X-Forwarded-For": forwarded})
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    return app.handler(event, lambda_context())["statusCode"]


def test_websocket_connect_behind_a_trusted_proxy_counts_each_client():
    """CloudFront -> a WebSocket API: `$connect` carries the handshake's X-Forwarded-For ("client, edge")
    and API Gateway names the edge as sourceIp. `trusted_proxies=1` was ignored on WebSocket events (only
    sourceIp was read), so every client connecting through one edge shared one quota: the second client
    was refused. Now each client is counted by the entry the trusted proxy added, and a spoofed entry left
    of it buys no new quota."""
    edge = "130.176.0.10"
    app = _ws_app(rate_limit(1, FOREVER, store=MemoryStore(), trusted_proxies=1))
    assert _connect(app, f"198.51.100.1, {edge}", edge) == 200
    assert _connect(app, f"198.51.100.2, {edge}", edge) == 200
    assert _connect(app, f"9.9.9.9, 198.51.100.1, {edge}", edge) == 429


def test_websocket_connect_without_trusted_proxies_ignores_x_forwarded_for():
    """With no trusted proxy, a `$connect` client cannot get a new quota by sending a new X-Forwarded-For
    (the address AWS saw, sourceIp, is counted), as for HTTP."""
    app = _ws_app(rate_limit(1, FOREVER, store=MemoryStore()))
    assert _connect(app, "1.1.1.1", "198.51.100.7") == 200
    assert _connect(app, "2.2.2.2, 3.3.3.3", "198.51.100.7") == 429
    assert _connect(app, "198.51.100.8", "198.51.100.8") == 200
