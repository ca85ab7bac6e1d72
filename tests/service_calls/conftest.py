from __future__ import annotations

import pytest

from tests.servers import Served
from tests.service_calls.apps import Recorder, users_app


class UsersServer:
    def __init__(self) -> None:
        self.app, self.rec = users_app()
        self.served = Served(self.app.asgi)
        self.url = self.served.url

    def reset(self) -> Recorder:
        rec = self.rec
        with rec.lock:
            rec.seen.clear()
            rec.hits.clear()
            rec.peak = rec.in_flight  # a request of an earlier test may still be running
            rec.fail_first = 0
            rec.slow_ms = 0
            rec.gate.clear()
        return rec


@pytest.fixture(scope="session")
def users_server():
    server = UsersServer()
    yield server
    server.served.stop()


@pytest.fixture
def users(users_server):
    """The users service on a real port, its recorder reset for this test."""
    users_server.reset()
    return users_server
