"""Resources and pools: created once, shared, re-created after failures, closed at shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from lift import App
from lift.resources import Pool, PoolClosed, PoolTimeout, ResourceRegistry
from lift.testing import TestClient


class Client:
    created = 0

    def __init__(self, fail: bool = False) -> None:
        if fail:
            raise ConnectionError("cannot connect")
        type(self).created += 1
        self.number = type(self).created
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def reset_counter():
    Client.created = 0


def test_prewarmed_resource_is_created_at_registration_and_shared_across_invocations():
    app = App("svc")
    app.resource("db", Client)
    assert Client.created == 1  # at init, before any request

    @app.get("/n")
    def n(ctx) -> dict:
        return {"number": ctx.resource("db").number}

    client = TestClient(app)
    assert [client.get("/n").json()["number"] for _ in range(3)] == [1, 1, 1]
    assert Client.created == 1


def test_lazy_resource_is_created_on_first_use():
    app = App("svc")
    app.resource("db", Client, prewarm=False)
    assert Client.created == 0
    app.get("/n")(lambda ctx: {"number": ctx.resource("db").number})
    assert TestClient(app).get("/n").json() == {"number": 1}


def test_failed_factory_is_retried_on_next_use(capsys):
    attempts = []

    def flaky() -> Client:
        attempts.append(1)
        return Client(fail=len(attempts) < 3)

    registry = ResourceRegistry()
    registry.add("db", flaky)  # prewarm fails: logged, not raised
    with pytest.raises(ConnectionError):
        registry.get("db")
    assert registry.get("db").number == 1
    assert registry.get("db").number == 1
    assert len(attempts) == 3


def test_resource_failing_its_check_is_closed_and_recreated():
    registry = ResourceRegistry()
    healthy = {"ok": True}
    registry.add("db", Client, check=lambda c: healthy["ok"], check_interval=0)
    first = registry.get("db")
    assert registry.get("db") is first
    healthy["ok"] = False
    second = registry.get("db")
    assert second is not first and first.closed
    healthy["ok"] = True
    assert registry.get("db") is second


def test_reset_recreates_on_demand():
    registry = ResourceRegistry()
    registry.add("db", Client)
    first = registry.get("db")
    registry.reset("db")
    assert first.closed and registry.get("db").number == 2


def test_shutdown_closes_every_resource_with_its_close_function():
    app = App("svc")
    closed = []
    app.resource("a", Client)
    app.resource("b", lambda: "plain-object", close=closed.append)
    app.resource("c", Client, prewarm=False)  # never used: nothing to close
    a = app.resources.get("a")
    app.shutdown()
    assert a.closed and closed == ["plain-object"]
    app.shutdown()  # twice is fine
    assert closed == ["plain-object"]


def test_unknown_resource_is_a_clear_error():
    app = App("svc")
    app.get("/x")(lambda ctx: ctx.resource("nope"))
    with pytest.raises(KeyError, match="app.resource"):
        app.resources.get("nope")


def test_sigterm_closes_resources_when_an_extension_is_present(tmp_path):
    marker = tmp_path / "closed.txt"
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        from lift import App
        app = App("svc")
        app.resource("db", lambda: "conn", close=lambda c: open({str(marker)!r}, "w").write("closed " + c))
        print("ready", flush=True)
        time.sleep(30)
    """)
    env = {**os.environ, "LIFT_SHUTDOWN_ON_SIGTERM": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert marker.read_text() == "closed conn"


def test_no_sigterm_handler_without_an_extension():
    code = (
        "import signal; from lift import App; app = App('x'); app.resource('r', object);"
        "print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)"
    )
    env = {**os.environ, "LIFT_SHUTDOWN_ON_SIGTERM": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


# -- Pool ----------------------------------------------------------------------------------
def test_pool_reuses_connections_and_respects_max_size():
    pool = Pool(Client, max_size=2, acquire_timeout=0.2)
    with pool.connection() as a, pool.connection() as b:
        assert a is not b and pool.in_use == 2
        with pytest.raises(PoolTimeout):
            pool.acquire()
    assert pool.idle == 2
    with pool.connection() as c:
        assert c in (a, b)
    assert Client.created == 2


def test_pool_waiter_gets_a_connection_when_one_is_released():
    pool = Pool(Client, max_size=1, acquire_timeout=30)  # (bounded: reached only when the release is lost)
    conn = pool.acquire()
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    time.sleep(0.1)
    pool.release(conn)
    waiter.join(30)
    assert got == [conn]


def test_pool_prewarm_check_on_borrow_and_idle_timeout():
    broken = set()
    pool = Pool(Client, min_size=2, max_size=3, check=lambda c: c.number not in broken, idle_timeout=0.2)
    pool.prewarm()
    assert pool.size == 2 and Client.created == 2
    broken.update({1, 2})
    conn = pool.acquire()  # both idle ones fail the check: closed, a new one is made
    assert conn.number == 3 and pool.size == 1
    pool.release(conn)
    time.sleep(0.25)
    fresh = pool.acquire()  # the idle one expired
    assert conn.closed and fresh.number == 4


def test_pool_discards_a_connection_whose_user_failed_with_an_io_error():
    pool = Pool(Client, max_size=1)
    with pytest.raises(ConnectionResetError), pool.connection() as conn:
        raise ConnectionResetError("peer reset")
    assert conn.closed and pool.size == 0
    with pytest.raises(ValueError), pool.connection() as conn2:
        raise ValueError("application error")
    assert not conn2.closed and pool.idle == 1


def test_pool_close():
    pool = Pool(Client, max_size=2)
    idle = pool.acquire()
    busy = pool.acquire()
    pool.release(idle)
    pool.close()
    assert idle.closed and not busy.closed
    pool.release(busy)
    assert busy.closed
    with pytest.raises(PoolClosed):
        pool.acquire()


def test_pool_rejects_bad_sizes():
    with pytest.raises(ValueError):
        Pool(Client, min_size=3, max_size=2)
