"""Async handlers: one event loop for the whole Lambda execution environment, never one per invocation.

Imported when the first async handler is prepared (or by a batch or stream that runs a coroutine),
so an app of plain `def` handlers never builds these functions and their exception class at cold start.
`lift.app` still answers for `run_async`, `event_loop` and `HandlerCancelled`.
"""

from __future__ import annotations

import _thread
from typing import Any

__all__ = ["HandlerCancelled", "event_loop", "run_async"]

_asyncio_modules: Any = None


def _async_modules() -> Any:
    """(asyncio, threading), imported once: only apps with async handlers pay for them."""
    global _asyncio_modules
    if _asyncio_modules is None:
        import asyncio
        import threading

        _asyncio_modules = (asyncio, threading)
    return _asyncio_modules


_loop: Any = None
_thread_loop: Any = None
_loop_lock = _thread.allocate_lock()


def event_loop() -> Any:
    """The process-wide loop async handlers run on (created once, reused forever)."""
    import asyncio

    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop


class HandlerCancelled(RuntimeError):
    """An async handler ended in `asyncio.CancelledError` (its own code cancelled what it awaited)."""


def run_async(coro: Any) -> Any:
    """Run a coroutine on the shared loop; from inside a running loop, on a helper thread's loop."""
    asyncio, threading = _async_modules()
    # (asyncio's test without the RuntimeError: run inside an `except`, a handler's exception would
    # carry "no running event loop" as its context, printed in every traceback of its failure)
    if asyncio._get_running_loop() is None and threading.current_thread() is threading.main_thread():
        try:
            return event_loop().run_until_complete(coro)
        except asyncio.CancelledError as exc:  # (a BaseException: it would pass every `except Exception`)
            # nothing cancels this loop's task from outside: the handler's own code was cancelled, a
            # failure of that request or record alone (as it is on the helper thread's loop below)
            raise HandlerCancelled("the async handler's coroutine was cancelled") from exc
    # Worker threads (ASGI, the dev server) share the helper thread's loop: one loop cannot
    # run_until_complete from several threads at once.
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def _background_loop() -> Any:
    import asyncio

    global _thread_loop
    with _loop_lock:
        if _thread_loop is None:
            _thread_loop = asyncio.new_event_loop()
            import threading

            threading.Thread(target=_thread_loop.run_forever, name="lift-async", daemon=True).start()
        return _thread_loop
