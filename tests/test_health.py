"""Health checks against real dependencies: redis-server, DynamoDB Local and a local HTTP server."""

from __future__ import annotations

import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lift import App
from lift.health import HealthRegistry, dynamodb_table, http_get, memory_headroom, redis_ping
from lift.testing import TestClient


class _Dependency(BaseHTTPRequestHandler):
    seen_headers: list[dict[str, str]] = []

    def do_GET(self):
        type(self).seen_headers.append(dict(self.headers))
        if self.path == "/slow":
            time.sleep(1.5)
        status = 503 if self.path == "/down" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_dependency():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dependency)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def health_table(dynamodb_endpoint):
    import boto3

    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name=os.environ["AWS_DEFAULT_REGION"])
    name = f"health-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    client.get_waiter("table_exists").wait(TableName=name)
    return name


def test_redis_ping_against_a_real_server(redis_url):
    registry = HealthRegistry()
    registry.add("cache", redis_ping(redis_url))
    registry.add("cache-down", redis_ping("redis://127.0.0.1:1/0", timeout=0.5), critical=False)
    report = registry.run()
    checks = {c.name: c for c in report.checks}
    assert checks["cache"].status == "ok" and checks["cache"].latency_ms >= 0
    assert checks["cache-down"].status == "fail" and "Connection" in checks["cache-down"].error
    assert report.healthy and report.status == "degraded"


def test_dynamodb_describe_table_against_dynamodb_local(dynamodb_endpoint, health_table):
    registry = HealthRegistry()
    registry.add("orders", dynamodb_table(health_table, endpoint_url=dynamodb_endpoint))
    registry.add("missing", dynamodb_table("no-such-table", endpoint_url=dynamodb_endpoint))
    result = registry.run().to_dict()["checks"]
    assert result["orders"]["status"] == "ok"
    assert result["orders"]["details"] == {"table": health_table, "status": "ACTIVE"}
    assert result["missing"]["status"] == "fail"
    assert "ResourceNotFoundException" in result["missing"]["error"]


def test_http_get_check_and_trace_propagation(http_dependency, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    _Dependency.seen_headers.clear()
    registry = HealthRegistry()
    registry.add("billing", http_get(http_dependency + "/ok"))
    registry.add("payments", http_get(http_dependency + "/down"))
    report = registry.run()
    checks = {c.name: c for c in report.checks}
    assert checks["billing"].ok and checks["billing"].details == {"status_code": 200}
    assert checks["payments"].status == "fail" and "503" in checks["payments"].error
    assert not report.healthy and report.http_status == 503
    # the check is an outgoing call made through Lift: it carries the trace headers
    # (run in worker threads, where the Lambda environment variable is still visible)
    assert all(h.get("X-Amzn-Trace-Id", "").startswith("Root=1-5759e988") for h in _Dependency.seen_headers)


def test_checks_run_in_parallel_with_per_check_timeouts(http_dependency):
    registry = HealthRegistry()
    registry.add("slow-a", http_get(http_dependency + "/slow", timeout=5), timeout=0.3)
    registry.add("slow-b", lambda: time.sleep(1.0), timeout=0.3, critical=False)
    registry.add("fast", lambda: None)
    # two checks that each finish only once the other has started: both ok only when run at the same
    # time (one after the other, the first would wait out its timeout), whatever the machine's load
    started = {name: threading.Event() for name in ("meet-1", "meet-2")}

    def meet(me: str, other: str):
        def check() -> bool:
            started[me].set()
            return started[other].wait(10)

        return check

    registry.add("meet-1", meet("meet-1", "meet-2"), timeout=15)
    registry.add("meet-2", meet("meet-2", "meet-1"), timeout=15)
    report = registry.run()
    checks = {c.name: c for c in report.checks}
    assert checks["slow-a"].status == "timeout" and "0.3s" in checks["slow-a"].error
    assert checks["slow-b"].status == "timeout"
    assert checks["fast"].ok and checks["meet-1"].ok and checks["meet-2"].ok
    assert report.http_status == 503


def test_results_are_cached_for_the_configured_interval():
    calls = []
    registry = HealthRegistry(cache_ttl=0.3)
    registry.add("counted", lambda: calls.append(1))
    first = registry.run()
    second = registry.run()
    assert len(calls) == 1 and not first.cached and second.cached
    time.sleep(0.35)
    registry.run()
    assert len(calls) == 2


def test_check_results_false_and_exceptions_and_details():
    registry = HealthRegistry()
    registry.add("false", lambda: False, critical=False)
    registry.add("raises", lambda: 1 / 0, critical=False)
    registry.add("details", lambda: {"queue_depth": 3})

    async def async_check():
        return {"async": True}

    registry.add("async", async_check)
    checks = registry.run().to_dict()["checks"]
    assert checks["false"]["status"] == "fail"
    assert checks["raises"]["error"].startswith("ZeroDivisionError")
    assert checks["details"]["details"] == {"queue_depth": 3}
    assert checks["async"]["details"] == {"async": True}
    with pytest.raises(ValueError, match="already registered"):
        registry.add("false", lambda: True)


def test_memory_headroom():
    registry = HealthRegistry()
    registry.add("plenty", memory_headroom(limit_mb=100_000))
    registry.add("tight", memory_headroom(limit_mb=1, min_free_mb=0.5), critical=False)
    checks = registry.run().to_dict()["checks"]
    assert checks["plenty"]["status"] == "ok" and checks["plenty"]["details"]["used_mb"] > 1
    assert checks["tight"]["status"] == "fail" and "MB free" in checks["tight"]["error"]


def test_mounted_endpoints(redis_url):
    app = App("svc")
    state = {"db_up": True}
    app.health.add("cache", redis_ping(redis_url))
    app.health.add("db", lambda: state["db_up"])
    app.health.add("search", lambda: False, critical=False)
    app.health.cache_ttl = 0
    app.health.mount(app)
    client = TestClient(app)

    summary = client.get("/health")
    assert summary.status_code == 200
    body = summary.json()
    assert body["status"] == "degraded"
    assert set(body["checks"]) == {"cache", "db", "search"}
    assert body["checks"]["cache"]["status"] == "ok" and "latency_ms" in body["checks"]["cache"]
    assert summary.headers["Cache-Control"] == "no-store"

    ready = client.get("/health/ready").json()
    assert set(ready["checks"]) == {"cache", "db"}

    state["db_up"] = False
    assert client.get("/health").status_code == 503
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["db"]["status"] == "fail"
    live = client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_endpoints_only_exist_once_mounted():
    app = App("svc")
    app.health.add("x", lambda: True)
    assert TestClient(app).get("/health").status_code == 404
    app.health.mount(app, prefix="/_status")
    assert TestClient(app).get("/_status/ready").status_code == 200


def test_mount_with_middleware_protects_the_endpoints():
    from lift.errors import Unauthorized

    def require_key(ctx, call_next):
        if ctx.request.headers.get("x-health-key") != "k":
            raise Unauthorized("health key required")
        return call_next(ctx)

    app = App("svc")
    app.health.add("x", lambda: True)
    app.health.mount(app, middleware=[require_key])
    client = TestClient(app)
    assert client.get("/health").status_code == 401
    assert client.get("/health", headers={"X-Health-Key": "k"}).status_code == 200


def test_a_hung_check_is_not_started_again_while_it_still_runs():
    release = threading.Event()
    started = []

    def hangs():
        started.append(1)
        release.wait(5)

    registry = HealthRegistry(cache_ttl=0)
    registry.add("hangs", hangs, timeout=0.1)
    try:
        assert registry.run().checks[0].status == "timeout"
        assert registry.run().checks[0].status == "timeout"
        assert len(started) == 1
    finally:
        release.set()
    # once the hung call has returned (its thread finishes on its own time), a run starts the check again
    deadline = time.monotonic() + 10
    while len(started) < 2 and time.monotonic() < deadline:
        registry.run()
    assert len(started) == 2


def test_cache_ttl_from_environment(monkeypatch):
    monkeypatch.setenv("LIFT_HEALTH_CACHE_TTL", "42")
    assert HealthRegistry().cache_ttl == 42.0
