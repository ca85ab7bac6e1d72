"""Time that a test moves, for the stores: expiries are judged without sleeping through them.

Memory and DynamoDB judge every expiry on their `clock` (the client's epoch seconds), so a manual
clock replaces it. Redis expires keys on the server's own clock, which nothing moves: `advance` then
does to this store's keys what that much time would do (the ones it outlives are deleted, the others'
expiries shortened), so the same test runs on every backend and no loaded machine can make a lock
expire early, or late, behind a test's back.
"""

from __future__ import annotations

import time
from typing import Any


class ManualClock:
    """A clock (seconds) that moves only when `advance` is called."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StoreTime:
    """The time `stores` see: frozen at creation, moved by `advance(seconds)` for all of them at once."""

    def __init__(self, *stores: Any) -> None:
        self.clock = ManualClock()
        self.stores = stores
        for store in stores:
            store.clock = self.clock

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        aged = set()
        for store in self.stores:
            if type(store).__name__ == "RedisStore" and store.prefix not in aged:  # (clients of one prefix: once)
                aged.add(store.prefix)
                _age_redis_keys(store, seconds)


def _age_redis_keys(store: Any, seconds: float) -> None:
    client, step = store.client, int(seconds * 1000)
    for name in client.scan_iter(match=store.prefix + "*", count=500):
        left = client.pttl(name)
        if left < 0:  # -1: never expires; -2: gone meanwhile
            continue
        if left <= step:
            client.delete(name)
        else:
            client.pexpire(name, left - step)
