"""Resilience on real calls: retries, budget, circuit breaker, bulkhead, load shedding."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from lift import App, Context
from lift.resilience import (
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpen,
    LoadShedder,
    RetryBudget,
    RetryPolicy,
)
from lift.services import ServiceClient, ServiceError
from lift.testing import TestClient
from lift.testing.context import lambda_context
from tests.servers import Served


def fast_retry(attempts: int = 3, budget: RetryBudget | None = None) -> RetryPolicy:
    return RetryPolicy(attempts, base=0.001, cap=0.005, budget=budget or RetryBudget(min_retries=100))


def test_idempotent_call_is_retried_until_the_callee_recovers(users):
    users.rec.fail_first = 2
    client = ServiceClient("users", base_url=users.url, retry=fast_retry(3), breaker=False)
    assert client.get("/flaky") == {"ok": True}
    assert users.rec.hits["/flaky"] == 3 and client.stats["retries"] == 2
    client.close()


def test_post_is_not_retried_without_an_idempotency_key(users):
    users.rec.fail_first = 1
    client = ServiceClient("users", base_url=users.url, retry=fast_retry(3), breaker=False)
    with pytest.raises(ServiceError) as caught:
        client.post("/charges", body={"amount": 5})
    assert caught.value.code == "upstream_unavailable" and users.rec.hits["/charges"] == 1

    users.rec.fail_first = 1
    answer = client.post("/charges", body={"amount": 5}, idempotency_key="charge-77")
    assert answer == {"charged": True, "key": "charge-77"} and users.rec.hits["/charges"] == 3
    client.close()


def test_retry_after_is_waited_for(users):
    app = App(name="throttling")

    @app.get("/limited")
    def limited(ctx: Context):
        from lift.errors import TooManyRequests

        if not ctx.headers.get("x-second"):
            hits.append(time.monotonic())
            if len(hits) == 1:
                raise TooManyRequests("slow down", retry_after=1)
        return {"ok": True}

    hits: list[float] = []
    served = Served(app.asgi)
    try:
        client = ServiceClient("throttling", base_url=served.url, retry=fast_retry(2), breaker=False)
        assert client.get("/limited") == {"ok": True}
        assert len(hits) == 2 and hits[1] - hits[0] >= 0.95
        client.close()
    finally:
        served.stop()


def test_retries_stop_at_the_budget(users):
    users.rec.fail_first = 1000
    budget = RetryBudget(ratio=0.0, min_retries=3)
    client = ServiceClient("users", base_url=users.url, retry=fast_retry(3, budget), breaker=False)
    for _ in range(5):
        with pytest.raises(ServiceError):
            client.get("/flaky")
    # 5 calls and a budget of 3 retries: 8 requests reached the callee, not 15
    assert users.rec.hits["/flaky"] == 8
    assert budget.exhausted >= 2 and client.stats["retries"] == 3
    client.close()


def test_failing_callee_opens_the_circuit_and_recovers_half_open(users, breaker_clock):
    breaker = CircuitBreaker("users", window=4, min_calls=4, failure_rate=0.5, open_for=0.3, half_open_calls=2)
    client = ServiceClient("users", base_url=users.url, retry=1, breaker=breaker)
    changes: list[tuple[str, str]] = []
    breaker.listeners.append(lambda b, old, new: changes.append((old, new)))
    for _ in range(4):
        with pytest.raises(ServiceError) as caught:
            client.get("/boom")
        assert caught.value.code == "upstream_error"
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as caught:
        client.get("/boom")
    err = caught.value
    assert (err.status, err.code) == (503, "circuit_open") and err.headers["Retry-After"] == "1"
    assert err.details["service"] == "users"
    assert users.rec.hits["/boom"] == 4  # the refused call never reached the callee

    breaker_clock.advance(0.35)
    assert client.get("/users/1")["name"] == "Ada"  # trial call 1
    assert breaker.state == "half_open"
    client.get("/users/2")  # trial call 2: closed again
    assert breaker.state == "closed"
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    client.close()


def test_slow_callee_opens_the_circuit_by_slow_call_rate(users):
    breaker = CircuitBreaker("users", window=3, min_calls=3, slow_call=0.1, slow_rate=1.0, open_for=30)
    client = ServiceClient("users", base_url=users.url, retry=1, breaker=breaker)
    for _ in range(3):
        assert client.get("/slow", query={"ms": 150}) == {"slept": True}  # slow, yet successful
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        client.get("/users/1")
    client.close()


def test_an_open_circuit_is_shared_through_a_store(users, store_factory):
    """Two execution environments (each its own store client) on Redis, DynamoDB Local, memory."""
    first = CircuitBreaker("users-shared", window=2, min_calls=2, open_for=30, store=store_factory())
    second = CircuitBreaker("users-shared", window=2, min_calls=2, open_for=30, store=store_factory(), sync_interval=0)
    a = ServiceClient("users", base_url=users.url, retry=1, breaker=first)
    b = ServiceClient("users", base_url=users.url, retry=1, breaker=second)
    assert b.get("/users/1")["id"] == 1
    for _ in range(2):
        with pytest.raises(ServiceError):
            a.get("/boom")
    hits = users.rec.hits["/boom"]
    with pytest.raises(CircuitOpen) as caught:  # another environment: refused without trying
        b.get("/boom")
    assert users.rec.hits["/boom"] == hits and second.state == "open"
    assert 25 <= caught.value.retry_after <= 30  # until the first one's opening ends, not a fresh 30 s
    a.close()
    b.close()


def test_a_failing_store_leaves_the_breaker_in_process(users, dead_port):
    from lift.stores import RedisStore

    dead = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.2)
    breaker = CircuitBreaker("users-alone", window=3, min_calls=3, failure_rate=0.6, store=dead, sync_interval=0)
    client = ServiceClient("users", base_url=users.url, retry=1, breaker=breaker)
    assert client.get("/users/1")["id"] == 1  # the store is unreachable: the call still goes through
    for _ in range(2):
        with pytest.raises(ServiceError):
            client.get("/boom")
    assert breaker.state == "open"  # opened locally, its publication failed and was logged
    client.close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_bulkhead_limits_concurrent_calls_from_threads(users):
    bulkhead = Bulkhead("users", 2)
    client = ServiceClient("users", base_url=users.url, retry=1, breaker=False, bulkhead=bulkhead)
    outcomes: list[str] = []

    def call():
        try:
            client.get("/gate")
            outcomes.append("ok")
        except BulkheadFull as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    wait_for(lambda: bulkhead.rejected == 4)  # two calls are held at the callee, four were refused
    users.rec.gate.set()
    for t in threads:
        t.join()
    assert bulkhead.peak == 2 and users.rec.hits["/gate"] == 2
    assert outcomes.count("ok") == 2 and outcomes.count("bulkhead_full") == 4
    client.close()


def test_bulkhead_makes_coroutines_wait_their_turn(users):
    users.rec.slow_ms = 100
    bulkhead = Bulkhead("users", 2, max_wait=5.0)
    client = ServiceClient("users", base_url=users.url, retry=1, breaker=False, bulkhead=bulkhead)

    async def burst():
        return await asyncio.gather(*(client.aio.get("/slow") for _ in range(6)))

    assert asyncio.run(burst()) == [{"slept": True}] * 6
    assert users.rec.peak == 2 and bulkhead.peak == 2 and bulkhead.in_use == 0
    client.close()


def _shedding_app(shedder: LoadShedder, gate: threading.Event | None = None) -> App:
    app = App(name="busy")
    app.use(shedder)

    @app.get("/work")
    def work() -> dict:
        if gate is not None:
            gate.wait(10)
        else:
            time.sleep(0.6)
        return {"done": True}

    return app


def test_load_shedding_answers_503_under_a_burst():
    shedder = LoadShedder(max_in_flight=3, retry_after=2)
    gate = threading.Event()
    served = Served(shedder.wrap_asgi(_shedding_app(shedder, gate).asgi))
    try:

        async def burst():
            async with httpx.AsyncClient(base_url=served.url, timeout=20) as http:
                calls = [asyncio.create_task(http.get("/work")) for _ in range(10)]
                while shedder.shed < 7:  # three are held in flight, seven are refused at once
                    await asyncio.sleep(0.005)
                gate.set()
                return await asyncio.gather(*calls)

        answers = asyncio.run(asyncio.wait_for(burst(), 20))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == 3 and statuses.count(503) == 7
        shed = next(a for a in answers if a.status_code == 503)
        assert shed.headers["retry-after"] == "2"
        assert shed.json()["error"]["code"] == "overloaded"
        # the server releases a slot once its app has returned, which may be just after the client has
        # read the answer (another thread): every slot comes back, at once on an idle machine
        wait_for(lambda: shedder.in_flight == 0)
        assert shedder.shed == 7
    finally:
        served.stop()


def test_requests_that_queued_too_long_are_shed(monkeypatch):
    monkeypatch.setenv("LIFT_ASGI_THREADS", "1")  # one handler thread: the rest queue
    shedder = LoadShedder(max_queue_ms=250)
    served = Served(shedder.wrap_asgi(_shedding_app(shedder).asgi))
    try:

        async def burst():
            async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
                return await asyncio.gather(*(http.get("/work") for _ in range(3)))

        statuses = sorted(a.status_code for a in asyncio.run(burst()))
        assert statuses[0] == 200 and statuses[-1] == 503
    finally:
        served.stop()


def test_lambda_with_too_little_time_left_sheds_at_once():
    shedder = LoadShedder(min_remaining_ms=500)
    client = TestClient(_shedding_app(shedder))
    response = client.get("/work", context=lambda_context(timeout_ms=300))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "overloaded" and response.headers["Retry-After"] == "1"


def test_only_health_paths_escape_shedding():
    app = App(name="clinic")
    app.use(LoadShedder(min_remaining_ms=500))
    for path in ("/health", "/health/ready", "/healthcare/visits"):
        app.get(path)(lambda: {"ok": True})
    client = TestClient(app)
    late = lambda_context(timeout_ms=300)
    assert client.get("/health", context=late).status_code == 200
    assert client.get("/health/ready", context=late).status_code == 200
    assert client.get("/healthcare/visits", context=late).status_code == 503  # an ordinary route


def test_calls_never_wait_past_the_lambda_deadline(users):
    app = App(name="deadline")
    users_client = app.service("users", base_url=users.url, timeout=10.0, retry=1, breaker=False)

    @app.get("/proxy")
    def proxy(ctx: Context) -> dict:
        return users_client.get("/slow", query={"ms": 1200})

    start = time.monotonic()
    response = TestClient(app).get("/proxy", context=lambda_context(timeout_ms=700))
    elapsed = time.monotonic() - start
    assert response.status_code == 504 and response.json()["error"]["code"] == "upstream_timeout"
    assert elapsed < 3.0  # 504 before the callee (1.2 s) answers: the 500 ms left, not the 10 s timeout


@pytest.mark.parametrize(
    ("sent", "passed_on"),
    [("99999999999999999999", "86400"), ("Fri, 31 Dec 9999 23:59:59 GMT", "86400"), ("120", "120"), ("١٢٠", None)],
)
def test_a_callees_retry_after_reaches_the_client_bounded(sent, passed_on):
    """A callee's 503 says when to come back; the caller's own 503 passes that on, but never more
    than a day, and a value that is not delta-seconds (Unicode digits) or an HTTP date not at all."""
    callee = App(name="maintenance")

    @callee.get("/busy")
    def busy(ctx: Context):
        from lift.errors import ServiceUnavailable

        raise ServiceUnavailable("down for maintenance", headers={"Retry-After": sent})

    caller = App(name="front")
    served = Served(callee.asgi)
    client = ServiceClient("maintenance", base_url=served.url, retry=fast_retry(1), breaker=False)

    @caller.get("/")
    def front(ctx: Context):
        return client.get("/busy")

    try:
        response = TestClient(caller).get("/")
    finally:
        client.close()
        served.stop()
    assert response.status_code == 503 and response.json()["error"]["code"] == "upstream_unavailable"
    assert response.headers.get("retry-after") == passed_on


@pytest.mark.parametrize("retry", [0, 1, None, False])
def test_retry_zero_means_one_attempt_and_no_retry(users, retry):
    """`app.service(..., retry=0)` raised `attempts must be at least 1` at registration; it means no
    retry: one attempt at a failing callee, whose 503 the caller gets."""
    users.rec.fail_first = 1
    app = App(name="orders")
    client = app.service("users-no-retry", base_url=users.url, retry=retry, breaker=False)
    with pytest.raises(ServiceError) as caught:
        client.get("/flaky")
    assert caught.value.status == 503 and users.rec.hits["/flaky"] == 1 and client.stats["retries"] == 0
    app.shutdown()


@pytest.mark.parametrize("retry", [-1, 2.5, "3"])
def test_a_retry_setting_that_is_not_a_count_is_refused_when_the_client_is_made(retry):
    with pytest.raises(ValueError, match="retry="):
        ServiceClient("users", base_url="http://127.0.0.1:9", retry=retry)
