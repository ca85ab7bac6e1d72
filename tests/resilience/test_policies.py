"""The resilience policies on their own: breaker windows, backoff, budget, bulkhead, deadlines."""

from __future__ import annotations

import asyncio
import threading
import time
from email.utils import formatdate

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
    Timeouts,
    guard,
    parse_retry_after,
)
from lift.testing import TestClient
from lift.testing.context import lambda_context


def outcomes(breaker: CircuitBreaker, results: str, elapsed: float = 0.0) -> None:
    for r in results:
        probe = breaker.acquire()
        breaker.record(probe, elapsed, r == "x")


def test_breaker_opens_on_failure_rate_over_the_sliding_window():
    breaker = CircuitBreaker("dep", window=4, min_calls=4, failure_rate=0.5)
    outcomes(breaker, "x.x")  # 2 of 3: not enough calls yet
    assert breaker.state == "closed"
    outcomes(breaker, ".")  # 2 of 4 = 50%
    assert breaker.state == "open" and breaker.opened == 1


def test_old_failures_slide_out_of_the_window():
    breaker = CircuitBreaker("dep", window=4, min_calls=4, failure_rate=0.75)
    outcomes(breaker, "xx..")  # 50%
    outcomes(breaker, "..")  # the window is now "....": the failures slid out
    outcomes(breaker, "xx")  # "..xx": 50% again, never 75%
    assert breaker.state == "closed" and breaker.failure_ratio() == 0.5


def test_open_refuses_then_half_open_allows_limited_trials(breaker_clock):
    breaker = CircuitBreaker("dep", window=2, min_calls=2, open_for=0.05, half_open_calls=2)
    outcomes(breaker, "xx")
    breaker_clock.advance(0.049)
    with pytest.raises(CircuitOpen) as caught:
        breaker.acquire()
    assert caught.value.status == 503 and caught.value.retry_after <= 0.05
    breaker_clock.advance(0.002)
    assert breaker.state == "half_open"
    first, second = breaker.acquire(), breaker.acquire()
    assert first and second
    with pytest.raises(CircuitOpen):  # a third concurrent trial is refused
        breaker.acquire()
    breaker.record(first, 0.0, True)  # one failed trial re-opens
    assert breaker.state == "open"


def test_slow_calls_open_the_breaker_even_when_they_succeed():
    breaker = CircuitBreaker("dep", window=5, min_calls=5, slow_call=0.5, slow_rate=0.6)
    outcomes(breaker, "..", elapsed=0.1)
    outcomes(breaker, "...", elapsed=0.7)
    assert breaker.state == "open"


def test_breaker_call_wraps_any_function():
    breaker = CircuitBreaker("dep", window=1, min_calls=1, open_for=60)
    assert breaker.call(lambda x: x * 2, 21) == 42
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: 1)

    async def ok():
        return "fine"

    fresh = CircuitBreaker("dep2")
    assert asyncio.run(fresh.call_async(ok)) == "fine"


def test_a_cancelled_call_async_is_no_failure_and_gives_its_trial_back():
    """A caller that gave up (a client gone, a `wait_for` timeout of its own) was counted as the
    dependency failing: a cancelled half-open trial re-opened the circuit, and cancellations alone
    opened a closed one."""
    closed = CircuitBreaker("dep", window=1, min_calls=1)
    half_open = CircuitBreaker("dep", window=1, min_calls=1, open_for=0.0, half_open_calls=1)
    outcomes(half_open, "x")  # opened; open_for=0: the next call is the one trial

    async def hangs() -> None:
        await asyncio.Event().wait()

    async def ok() -> str:
        return "fine"

    async def cancel_one(breaker: CircuitBreaker) -> None:
        call = asyncio.create_task(breaker.call_async(hangs))
        await asyncio.sleep(0)  # the call is inside hangs(), its permission taken
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancel_one(closed))
    assert closed.state == "closed" and closed.failure_ratio() == 0.0
    asyncio.run(cancel_one(half_open))
    assert half_open.state == "half_open"
    assert asyncio.run(half_open.call_async(ok)) == "fine"  # the slot came back: this trial closes it
    assert half_open.state == "closed"


def test_full_jitter_backoff_stays_within_its_bounds():
    policy = RetryPolicy(5, base=0.1, cap=0.5)
    for retry, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5)):
        delays = [policy.backoff(retry) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays) and max(delays) > ceiling / 2
    assert policy.delay(1, retry_after=2.0) == 2.0
    assert policy.delay(1, retry_after=60.0) is None  # longer than max_retry_after: give up


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    sent = time.time()
    seconds = parse_retry_after(formatdate(sent + 10, usegmt=True))  # (a date has whole seconds)
    assert int(sent) + 10 - time.time() <= seconds <= 10
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_budget_is_a_fraction_of_recent_requests():
    budget = RetryBudget(ratio=0.1, min_retries=1, window=10)
    for _ in range(50):
        budget.record_request()
    spent = sum(budget.try_spend() for _ in range(20))
    assert spent == 5 and budget.exhausted == 15 and budget.available() == 0


def test_deadline_follows_the_lambda_remaining_time():
    policy = Timeouts(10.0, attempt=3.0, margin=0.2)

    made = time.monotonic()

    class Ctx:
        lambda_context = lambda_context(timeout_ms=1000)

    deadline = policy.deadline(Ctx())
    remaining = deadline.remaining()
    assert deadline.from_lambda and 0.8 - (time.monotonic() - made) - 0.001 <= remaining <= 0.8  # 1 s - margin
    assert deadline.attempt_timeout() <= 0.8
    fixed = policy.deadline(None)
    assert not fixed.from_lambda and fixed.attempt_timeout() == pytest.approx(3.0, abs=0.01)


def test_bulkhead_threads_wait_up_to_max_wait():
    bulkhead = Bulkhead("dep", 1, max_wait=30)
    bulkhead.acquire()
    start = time.monotonic()
    threading.Timer(0.1, bulkhead.release).start()
    bulkhead.acquire()  # gets the slot once it is released (a lost wake-up would wait all of max_wait)
    assert 0.05 < time.monotonic() - start < 30
    with pytest.raises(BulkheadFull):
        bulkhead.acquire(timeout=0.05)
    bulkhead.release()
    assert bulkhead.in_use == 0


def test_a_thread_releasing_hands_its_slot_to_a_waiting_coroutine():
    bulkhead = Bulkhead("dep", 1, max_wait=2.0)
    bulkhead.acquire()

    async def waiter():
        threading.Timer(0.05, bulkhead.release).start()
        await bulkhead.acquire_async()
        held = bulkhead.in_use
        bulkhead.release()
        return held

    assert asyncio.run(waiter()) == 1 and bulkhead.in_use == 0

    async def gives_up():
        bulkhead.acquire()
        try:
            await bulkhead.acquire_async(timeout=0.05)
        finally:
            bulkhead.release()

    with pytest.raises(BulkheadFull):
        asyncio.run(gives_up())
    assert bulkhead.in_use == 0


def test_guard_middleware_trips_a_routes_breaker():
    app = App(name="guarded")
    breaker = CircuitBreaker("report", window=2, min_calls=2, open_for=60)

    @app.get("/report", middleware=[guard(breaker=breaker, bulkhead=Bulkhead("report", 4))])
    def report(ctx: Context) -> dict:
        raise RuntimeError("backend down")

    client = TestClient(app)
    assert [client.get("/report").status_code for _ in range(2)] == [500, 500]
    refused = client.get("/report")
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "circuit_open"
    assert refused.headers["Retry-After"] == "60"


def test_a_cancelled_bulkhead_waiter_leaks_no_slot():
    bulkhead = Bulkhead("dep", limit=1, max_wait=30)

    async def cancel_a_waiter() -> None:
        bulkhead.acquire()  # the only slot, held
        waiter = asyncio.create_task(bulkhead.acquire_async())
        await asyncio.sleep(0)  # the waiter runs up to its wait for the slot
        waiter.cancel()  # as a disconnected ASGI client or an outer timeout does
        with pytest.raises(asyncio.CancelledError):
            await waiter
        bulkhead.release()
        await asyncio.sleep(0)  # a slot handed to the gone waiter would come back here, if at all

    asyncio.run(cancel_a_waiter())
    assert bulkhead.in_use == 0
    bulkhead.acquire(timeout=0)  # free for the next caller
    bulkhead.release()


def test_a_guarded_route_refused_by_its_bulkhead_keeps_the_half_open_trial():
    breaker = CircuitBreaker("report", window=1, min_calls=1, open_for=0.0, half_open_calls=1)
    breaker.record(breaker.acquire(), 0.0, True)  # opened; open_for=0: the next call is the trial
    bulkhead = Bulkhead("report", 1)
    app = App(name="reports")

    @app.get("/report", middleware=[guard(breaker=breaker, bulkhead=bulkhead)])
    def report(ctx: Context) -> dict:
        return {"ok": True}

    client = TestClient(app)
    bulkhead.acquire()  # full
    assert client.get("/report").json()["error"]["code"] == "bulkhead_full"
    bulkhead.release()
    assert client.get("/report").status_code == 200  # the trial runs, and closes the circuit
    assert breaker.state == "closed"


def test_half_open_admits_exactly_half_open_calls_among_many_threads():
    breaker = CircuitBreaker("dep", window=1, min_calls=1, open_for=0.0, half_open_calls=3)
    breaker.record(breaker.acquire(), 0.0, True)  # opened; open_for=0: half-open at the next call
    start = threading.Barrier(32)
    permits: list[int] = []
    refused: list[CircuitOpen] = []

    def caller() -> None:
        start.wait(30)
        try:
            permits.append(breaker.acquire())
        except CircuitOpen as err:
            refused.append(err)

    threads = [threading.Thread(target=caller) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert permits == [True, True, True] and len(refused) == 29
    for probe in permits:
        breaker.record(probe, 0.0, False)
    assert breaker.state == "closed"


def test_threads_and_coroutines_share_a_bulkheads_slots_exactly():
    bulkhead = Bulkhead("dep", limit=3, max_wait=30)
    lock = threading.Lock()
    inside = [0]
    seen: list[int] = []

    def enter() -> None:
        with lock:
            inside[0] += 1
            seen.append(inside[0])

    def leave() -> None:
        with lock:
            inside[0] -= 1

    def thread_caller() -> None:
        for _ in range(20):
            with bulkhead:
                enter()
                time.sleep(0)
                leave()

    async def coroutine_caller() -> None:
        for _ in range(20):
            async with bulkhead:
                enter()
                await asyncio.sleep(0)
                leave()

    async def coroutines() -> None:
        await asyncio.gather(*(coroutine_caller() for _ in range(6)))

    threads = [threading.Thread(target=thread_caller) for _ in range(6)]
    threads.append(threading.Thread(target=asyncio.run, args=(coroutines(),)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(seen) == 240 and max(seen) <= 3 and bulkhead.peak <= 3
    assert bulkhead.in_use == 0 and bulkhead.rejected == 0


def test_only_trial_calls_decide_a_half_open_circuit():
    breaker = CircuitBreaker("dep", window=1, min_calls=1, open_for=0.0, half_open_calls=1)
    old_failure = breaker.acquire()  # started while closed, still running
    old_success = breaker.acquire()
    breaker.record(breaker.acquire(), 0.0, True)  # another call fails: open (half-open at once)
    trial = breaker.acquire()
    assert trial and breaker.state == "half_open" and breaker.opened == 1
    breaker.record(old_failure, 12.0, True)  # its timeout is old news: it re-opens nothing
    assert breaker.opened == 1
    breaker.record(old_success, 0.0, False)  # nor does a late success close the circuit
    assert breaker.state == "half_open"
    breaker.record(trial, 0.01, False)  # the trial decides
    assert breaker.state == "closed" and breaker.opened == 1


def test_a_trial_from_an_earlier_half_open_period_decides_nothing(breaker_clock):
    """half_open_calls=2: trials A and B go out, A fails and the circuit re-opens; in the next half-open
    period trial C goes out, then B (still from the first period) succeeds. B was counted as one of this
    period's two successes, so C alone closed the circuit; and had B been cancelled, its `abandon` freed a
    slot of this period (a third trial in flight). Each trial now belongs to its own period."""
    breaker = CircuitBreaker("dep", window=1, min_calls=1, open_for=1.0, half_open_calls=2)
    breaker.record(breaker.acquire(), 0.0, True)  # open
    breaker_clock.advance(1.0)
    a, b = breaker.acquire(), breaker.acquire()
    breaker.record(a, 0.0, True)  # re-opened
    breaker_clock.advance(1.0)
    c = breaker.acquire()
    breaker.record(b, 0.0, False)  # late: from the period before
    breaker.record(c, 0.0, False)
    assert breaker.state == "half_open"  # one of the two trials this period asks for
    breaker.abandon(b)  # (a stale give-back frees nothing)
    d = breaker.acquire()
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    breaker.record(d, 0.0, False)
    assert breaker.state == "closed"


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (lambda: Timeouts(NAN), "Timeouts total"),
        (lambda: Timeouts(INF), "Timeouts total"),
        (lambda: Timeouts(5, NAN), "Timeouts attempt"),
        (lambda: Timeouts(5, connect=-1), "Timeouts connect"),
        (lambda: Timeouts(5, margin=NAN), "Timeouts margin"),
        (lambda: Timeouts(5).deadline(None, NAN), "timeout"),
        (lambda: RetryPolicy(3, base=NAN), "RetryPolicy base"),
        (lambda: RetryPolicy(3, cap=-1), "RetryPolicy cap"),
        (lambda: RetryPolicy(3, max_retry_after=NAN), "RetryPolicy max_retry_after"),
        (lambda: RetryBudget(ratio=NAN), "RetryBudget ratio"),
        (lambda: Bulkhead("b", 2, max_wait=NAN), "Bulkhead max_wait"),
        (lambda: Bulkhead("b", 2, max_wait=-1), "Bulkhead max_wait"),
        (lambda: CircuitBreaker("c", open_for=NAN), "CircuitBreaker open_for"),
        (lambda: CircuitBreaker("c", open_for=-1), "CircuitBreaker open_for"),
        (lambda: CircuitBreaker("c", slow_call=NAN), "CircuitBreaker slow_call"),
        (lambda: LoadShedder(max_queue_ms=NAN), "LoadShedder max_queue_ms"),
        (lambda: LoadShedder(min_remaining_ms=NAN), "LoadShedder min_remaining_ms"),
        (lambda: LoadShedder(max_in_flight=0), "LoadShedder max_in_flight"),
        (lambda: LoadShedder(retry_after=-1), "LoadShedder retry_after"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_nan_or_negative_setting_is_refused_when_the_policy_is_made(make, setting):
    """A NaN compares false with everything, so `if x < 0` let it through and it switched off what it set:
    CircuitBreaker(open_for=nan) let calls through the moment it opened, slow_call=nan counted no call
    slow, a NaN timeout or max_wait broke every call. Each is a ValueError naming the setting now."""
    with pytest.raises(ValueError, match=setting):
        make()


def test_retry_after_may_be_waited_for_without_bound_only_when_asked():
    assert RetryPolicy(3, max_retry_after=INF).delay(1, 30.0) == 30.0
