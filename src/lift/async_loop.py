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
    """The process-wide loop async handlers run on (created once, reused forever): the loop the app's
    init made current (`asyncio.set_event_loop`, or `asyncio.get_event_loop()` on 3.11), if it did and
    it is open, so what init bound to it (a client's connections, a lock, a queue) works in handlers."""
    import asyncio

    global _loop
    if _loop is None or _loop.is_closed():
        current = getattr(getattr(asyncio.get_event_loop_policy(), "_local", None), "_loop", None)
        if current is not None and not current.is_closed() and not current.is_running():
            _loop = current
        else:
            _loop = asyncio.new_event_loop()
    return _loop


_warned: Any = None  # the pending tasks already reported (a WeakSet)


def _report_pending(asyncio: Any, loop: Any) -> None:
    """One WARNING line for the tasks an async handler left pending on the loop when it returned: they
    run only while a later invocation runs it, and are lost when Lambda ends the environment first."""
    global _warned
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not pending:
        return
    if _warned is None:
        import weakref

        _warned = weakref.WeakSet()
    new = [task for task in pending if task not in _warned]
    if not new:
        return
    _warned.update(new)
    from lift.errors import lift_logger

    names = ", ".join(sorted({getattr(task.get_coro(), "__qualname__", task.get_name()) for task in new}))
    lift_logger().warning(
        "%d asyncio task(s) still pending when the async handler returned (%s): they run only while a later "
        "invocation runs, and are lost if the environment ends first; await them before returning",
        len(new),
        names,
        extra={"pending_tasks": len(new)},
    )


class HandlerCancelled(RuntimeError):
    """An async handler ended in `asyncio.CancelledError` (its own code cancelled what it awaited)."""


def run_async(coro: Any) -> Any:
    """Run a coroutine on the shared loop; from inside a running loop, on a helper thread's loop."""
    asyncio, threading = _async_modules()
    # (asyncio's test without the RuntimeError: run inside an `except`, a handler's exception would
    # carry "no running event loop" as its context, printed in every traceback of its failure)
    if asyncio._get_running_loop() is None and threading.current_thread() is threading.main_thread():
        loop = event_loop()
        try:
            return loop.run_until_complete(coro)
        except asyncio.CancelledError as exc:  # (a BaseException: it would pass every `except Exception`)
            # nothing cancels this loop's task from outside: the handler's own code was cancelled, a
            # failure of that request or record alone (as it is on the helper thread's loop below)
            raise HandlerCancelled("the async handler's coroutine was cancelled") from exc
        finally:
            _report_pending(asyncio, loop)
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
