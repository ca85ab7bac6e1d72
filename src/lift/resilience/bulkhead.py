"""Bulkhead: at most `limit` concurrent calls to one dependency, from threads and coroutines alike.

    bulkhead = Bulkhead("payments", limit=10, max_wait=0.05)
    with bulkhead:                 # threads: waits up to max_wait, then BulkheadFull (503)
        ...
    async with bulkhead:           # coroutines: the same slots, waiting without blocking the loop
        ...

One counter is shared by both kinds of caller. A thread waits on a condition; a coroutine waits on
a future that `release()` (from any thread) hands the freed slot to, through its loop's
`call_soon_threadsafe`. The standard library's semaphores each serve only one of the two worlds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

from lift.resilience.errors import BulkheadFull
from lift.resilience.timeouts import checked_number

__all__ = ["Bulkhead"]


class Bulkhead:
    def __init__(self, name: str, limit: int, *, max_wait: float = 0.0) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs limit >= 1")
        self.name = name
        self.limit = limit
        self.max_wait = checked_number("Bulkhead max_wait", max_wait)
        self.in_use = 0
        self.peak = 0  # highest concurrency seen, for metrics and tests
        self.rejected = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._thread_waiters = 0
        self._async_waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = deque()

    def _full(self) -> BulkheadFull:
        self.rejected += 1
        return BulkheadFull(details={"dependency": self.name, "limit": self.limit}, retry_after=1.0)

    def _take(self) -> None:
        self.in_use += 1
        if self.in_use > self.peak:
            self.peak = self.in_use

    # -- threads ------------------------------------------------------------------------
    def acquire(self, timeout: float | None = None) -> None:
        """Take a slot, waiting up to `timeout` (default `max_wait`); BulkheadFull otherwise."""
        with self._lock:  # the condition's own lock: the fast path skips Condition's Python methods
            in_use = self.in_use
            if in_use < self.limit:
                self.in_use = in_use = in_use + 1
                if in_use > self.peak:
                    self.peak = in_use
                return
            wait = self.max_wait if timeout is None else timeout
            if wait > 0:
                deadline = time.monotonic() + wait
                self._thread_waiters += 1
                try:
                    while self.in_use >= self.limit:
                        left = deadline - time.monotonic()
                        if left <= 0 or (not self._cond.wait(left) and self.in_use >= self.limit):
                            raise self._full()
                finally:
                    self._thread_waiters -= 1
                self._take()
                return
            raise self._full()

    def release(self) -> None:
        """Give a slot back: to a waiting coroutine first, else to a waiting thread."""
        with self._lock:
            while self._async_waiters:
                loop, future = self._async_waiters.popleft()
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_hand_over, future, self)
                    return  # the slot now belongs to that waiter (or comes back if it gave up)
            self.in_use -= 1
            if self._thread_waiters:
                self._cond.notify()

    def __enter__(self) -> Bulkhead:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # -- coroutines -----------------------------------------------------------------------
    async def acquire_async(self, timeout: float | None = None) -> None:
        wait = self.max_wait if timeout is None else timeout
        with self._lock:
            if self.in_use < self.limit:
                self._take()
                return
            if wait <= 0:
                raise self._full()
            loop = asyncio.get_running_loop()
            future: asyncio.Future[bool] = loop.create_future()
            entry = (loop, future)
            self._async_waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), wait)
        except BaseException as stopped:  # timed out, or the waiter was cancelled: no slot leaks
            with self._lock:
                try:
                    self._async_waiters.remove(entry)
                    handed = False
                except ValueError:
                    handed = True  # release() already chose this waiter: its slot must go back
            if handed:
                future.cancel()
                if future.done() and not future.cancelled():
                    self.release()
            if isinstance(stopped, TimeoutError):
                raise self._full() from None
            raise

    async def __aenter__(self) -> Bulkhead:
        await self.acquire_async()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<Bulkhead {self.name} {self.in_use}/{self.limit}>"


def _hand_over(future: asyncio.Future[bool], bulkhead: Bulkhead) -> None:
    """On the waiter's loop: give it the slot, or give the slot back if it stopped waiting."""
    if future.done():
        bulkhead.release()
        return
    with bulkhead._lock:
        if bulkhead.in_use > bulkhead.peak:
            bulkhead.peak = bulkhead.in_use
    future.set_result(True)
