"""Debug sampling with requests running side by side (the ASGI thread pool): a sampled request
keeps its DEBUG lines to the end, an unsampled one never gets any, and the level comes back.

Before, each sampled request set the root logger to DEBUG and put back the level it found: an
unsampled request wrote DEBUG lines while a sampled one ran, a sampled request lost its own
once another ended, and the root logger stayed at DEBUG for good when two overlapped."""

from __future__ import annotations

import random
import threading

import pytest

from lift import App
from lift.middleware.logging import RequestLogging
from lift.observability import logging as lift_logging
from lift.testing import TestClient
from observability.emf_spec import log_lines

WAIT = 20  # seconds; only reached when the code under test is wrong


def test_overlapping_sampled_and_unsampled_requests(capsys, monkeypatch):
    # requests "a" and "b" are sampled, "c" is not (the draw is made in the request's own thread)
    monkeypatch.setattr(random, "random", lambda: 0.99 if threading.current_thread().name == "c" else 0.0)
    app = App("svc")
    app.use(RequestLogging(level="INFO", sample_rate=0.5))
    all_in = threading.Barrier(3, timeout=WAIT)
    c_logged, a_ended = threading.Event(), threading.Event()

    @app.get("/r/{name}")
    def r(ctx, name: str) -> dict:
        all_in.wait()
        if name == "c":  # while "a" and "b" run sampled
            ctx.logger.debug("debug of c")
            c_logged.set()
        elif name == "a":
            assert c_logged.wait(WAIT)
            ctx.logger.debug("debug of a")
        else:  # "b", once "a" has ended
            assert a_ended.wait(WAIT)
            ctx.logger.debug("debug of b")
        return {}

    client = TestClient(app)
    statuses: dict[str, int] = {}

    def call(name: str) -> None:
        statuses[name] = client.get(f"/r/{name}").status_code

    threads = {name: threading.Thread(target=call, args=(name,), name=name) for name in "abc"}
    for thread in threads.values():
        thread.start()
    threads["a"].join(WAIT)
    a_ended.set()
    for thread in threads.values():
        thread.join(WAIT)
    assert statuses == {"a": 200, "b": 200, "c": 200}

    lift_logging.get_logger().debug("after every request")
    messages = {x["message"]: x for x in log_lines(capsys.readouterr().out)}
    assert messages["debug of a"]["sampled"] is True
    assert messages["debug of b"]["sampled"] is True
    assert "debug of c" not in messages
    assert "after every request" not in messages
    assert {m for m in messages if m.startswith("GET")} == {"GET /r/{name} 200"}


@pytest.mark.parametrize("rate", ["nan", "NaN", "-nan"])
def test_a_sample_rate_that_is_not_a_number_samples_nothing(capsys, monkeypatch, rate):
    # (min(1.0, max(0.0, nan)) is 1.0: every invocation was logged at DEBUG)
    monkeypatch.setenv("LIFT_LOG_SAMPLE_RATE", rate)
    app = App("svc")
    app.use(RequestLogging(level="INFO"))
    app.get("/d")(lambda ctx: ctx.logger.debug("debug detail") or {})
    TestClient(app).get("/d")
    assert "debug detail" not in {x["message"] for x in log_lines(capsys.readouterr().out)}


def test_a_batch_is_sampled_as_one_invocation(capsys, monkeypatch):
    # "logs 10% of invocations at DEBUG": each record of a batch was drawn on its own, so one
    # invocation's records came out partly at DEBUG (here: every other one)
    draws = iter([0.0, 0.99] * 10)
    monkeypatch.setattr(random, "random", lambda: next(draws))
    app = App("svc")
    app.use(RequestLogging(level="INFO", sample_rate=0.5))

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        ctx.logger.debug("debug of " + body)

    client = TestClient(app)
    client.sqs("orders", ["a", "b", "c", "d"])  # the first draw (0.0): all four at DEBUG
    client.sqs("orders", ["e", "f", "g", "h"])  # the next draw (0.99): none
    messages = [x["message"] for x in log_lines(capsys.readouterr().out) if x["message"].startswith("debug of")]
    assert messages == ["debug of a", "debug of b", "debug of c", "debug of d"]
