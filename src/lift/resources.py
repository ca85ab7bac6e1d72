"""Resources shared across invocations: clients created once per execution environment.

    app.resource("db", lambda: psycopg.connect(DSN), close=lambda c: c.close())
    @app.get("/x")
    def x(ctx): ctx.resource("db").execute(...)

A resource is created at registration (the init phase, which Lambda does not bill against the
request and may run with more CPU) when `prewarm=True`, else on first use. A factory that fails
is not cached: the next use tries again. `check` (if given) is run at most every
`check_interval` seconds on use, and a resource that fails it is closed and re-created;
`reset(name)` does the same on demand. Everything is closed by `app.shutdown()`, and on SIGTERM
when a Lambda extension is present (Lambda only sends SIGTERM to functions with extensions).
`Pool` is a small generic connection pool for clients that are not thread-safe.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

__all__ = ["ResourceRegistry", "Pool", "PoolTimeout", "PoolClosed", "extension_present", "install_sigterm_handler"]

_log = logging.getLogger("lift.resources")
T = TypeVar("T")


def _default_close(instance: Any) -> None:
    closer = getattr(instance, "close", None)
    if callable(closer):
        closer()


class _Definition:
    __slots__ = ("name", "factory", "close", "check", "check_interval")

    def __init__(
        self,
        name: str,
        factory: Callable[[], Any],
        close: Callable[[Any], Any] | None,
        check: Callable[[Any], Any] | None,
        check_interval: float,
    ) -> None:
        self.name = name
        self.factory = factory
        self.close = close or _default_close
        self.check = check
        self.check_interval = check_interval


class ResourceRegistry:
    """Named resources: created once, shared, re-created after a failure, closed at shutdown."""

    def __init__(self) -> None:
        self._defs: dict[str, _Definition] = {}
        self._instances: dict[str, Any] = {}
        self._checked_at: dict[str, float] = {}
        self._lock = threading.RLock()
        self.created_ms: dict[str, float] = {}

    def add(
        self,
        name: str,
        factory: Callable[[], Any],
        *,
        close: Callable[[Any], Any] | None = None,
        prewarm: bool = True,
        check: Callable[[Any], Any] | None = None,
        check_interval: float = 30.0,
    ) -> None:
        """Register `factory` under `name`; with `prewarm`, create it now (at init)."""
        if name in self._defs:
            raise ValueError(f"A resource named {name!r} is already registered")
        if not callable(factory):
            raise TypeError(f"The factory for resource {name!r} must be callable")
        self._defs[name] = _Definition(name, factory, close, check, check_interval)
        if prewarm:
            try:
                self.get(name)
            except Exception:
                _log.warning(
                    "resource %s could not be created at init; will retry on first use",
                    name,
                    exc_info=True,
                    extra={"resource": name},
                )

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    @property
    def names(self) -> list[str]:
        return list(self._defs)

    def is_created(self, name: str) -> bool:
        return name in self._instances

    def get(self, name: str) -> Any:
        """The shared instance of `name`, created (or re-created after a failed check) as needed."""
        instance = self._instances.get(name, _MISSING)
        if instance is not _MISSING:
            definition = self._defs[name]
            if definition.check is None or time.monotonic() - self._checked_at[name] < definition.check_interval:
                return instance
            if self._passes(definition, instance):
                self._checked_at[name] = time.monotonic()
                return instance
            _log.warning("resource %s failed its check; re-creating it", name, extra={"resource": name})
            self.reset(name)
        return self._create(name)

    @staticmethod
    def _passes(definition: _Definition, instance: Any) -> bool:
        try:
            return definition.check(instance) is not False  # type: ignore[misc]
        except Exception:
            return False

    def _create(self, name: str) -> Any:
        definition = self._defs.get(name)
        if definition is None:
            raise KeyError(f"No resource named {name!r}; register it with app.resource({name!r}, factory)")
        with self._lock:
            instance = self._instances.get(name, _MISSING)
            if instance is not _MISSING:
                return instance
            start = time.perf_counter()
            instance = definition.factory()
            elapsed = round((time.perf_counter() - start) * 1000, 3)
            self._instances[name] = instance
            self._checked_at[name] = time.monotonic()
            self.created_ms[name] = elapsed
        _log.info("resource %s ready", name, extra={"resource": name, "create_ms": elapsed})
        return instance

    def reset(self, name: str) -> None:
        """Close and forget the current instance of `name`; the next use creates a new one."""
        with self._lock:
            instance = self._instances.pop(name, _MISSING)
            self._checked_at.pop(name, None)
        if instance is not _MISSING:
            self._close_one(self._defs[name], instance)

    def close_all(self) -> list[str]:
        """Close every created resource (newest first). Returns the names whose close failed."""
        failed = []
        with self._lock:
            created = list(self._instances.items())
            self._instances.clear()
            self._checked_at.clear()
        for name, instance in reversed(created):
            if not self._close_one(self._defs[name], instance):
                failed.append(name)
        return failed

    @staticmethod
    def _close_one(definition: _Definition, instance: Any) -> bool:
        try:
            definition.close(instance)
            return True
        except Exception:
            _log.warning(
                "closing resource %s failed", definition.name, exc_info=True, extra={"resource": definition.name}
            )
            return False


_MISSING: Any = object()


# -- SIGTERM ----------------------------------------------------------------------------------
def extension_present() -> bool:
    """True when a Lambda extension is installed (Lambda then sends SIGTERM before shutdown)."""
    flag = os.environ.get("LIFT_SHUTDOWN_ON_SIGTERM")
    if flag is not None:
        return flag.lower() in ("1", "true", "yes")
    try:
        return bool(os.listdir("/opt/extensions"))
    except OSError:
        return False


def install_sigterm_handler(on_shutdown: Callable[[], Any]) -> bool:
    """On SIGTERM, run `on_shutdown` then exit (chaining any earlier Python handler).

    Returns False when it cannot be installed (not the main thread)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.getsignal(signal.SIGTERM)

    def handle(signum: int, frame: Any) -> None:
        try:
            on_shutdown()
        finally:
            if callable(previous):
                previous(signum, frame)
            else:
                raise SystemExit(0)

    signal.signal(signal.SIGTERM, handle)
    if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        # Under Lambda's runtime client the main thread waits for the next event inside a C call that
        # retries when a signal interrupts it, so a Python handler would run only after another event
        # came, and Lambda's SIGKILL follows SIGTERM within 500 ms: a thread of ours takes SIGTERM instead
        # (blocked here, so this thread and every thread started later leave it to that one)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        threading.Thread(
            target=_shut_down_on_sigterm, args=(on_shutdown, previous), name="lift-sigterm", daemon=True
        ).start()
    return True


def _shut_down_on_sigterm(on_shutdown: Callable[[], Any], previous: Any) -> None:
    """Wait for SIGTERM, run `on_shutdown` and any earlier Python handler, then end the process
    (with status 0, as the handler on the main thread does)."""
    import signal
    import sys

    signal.sigwait({signal.SIGTERM})
    try:
        on_shutdown()
        if callable(previous):
            previous(signal.SIGTERM, None)
    except BaseException:
        _log.exception("shutdown on SIGTERM failed")
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # (a closed or broken stream: nothing left to save)
                pass
        os._exit(0)


# -- pool -------------------------------------------------------------------------------------
class PoolTimeout(TimeoutError):
    """No connection became free within the acquire timeout."""


class PoolClosed(RuntimeError):
    """The pool was closed."""


class Pool(Generic[T]):
    """A bounded pool of connections: `with pool.connection() as conn: ...`.

    At most `max_size` connections exist; `min_size` are created by `prewarm()`. Idle ones older
    than `idle_timeout` seconds are closed; `check(conn)` runs on every borrow and a failing
    connection is replaced. A connection whose user raised one of `discard_on` is closed.
    """

    def __init__(
        self,
        factory: Callable[[], T],
        *,
        close: Callable[[T], Any] | None = None,
        min_size: int = 0,
        max_size: int = 10,
        idle_timeout: float = 300.0,
        check: Callable[[T], Any] | None = None,
        acquire_timeout: float = 10.0,
        discard_on: tuple[type[BaseException], ...] = (OSError,),
    ) -> None:
        if max_size < 1 or min_size < 0 or min_size > max_size:
            raise ValueError(f"Pool sizes must satisfy 0 <= min_size <= max_size >= 1 (got {min_size}, {max_size})")
        self.factory = factory
        self._close_fn = close or _default_close
        self.min_size = min_size
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self.check = check
        self.acquire_timeout = acquire_timeout
        self.discard_on = discard_on
        self._idle: deque[tuple[T, float]] = deque()
        self._size = 0
        self._closed = False
        self._cond = threading.Condition()

    @property
    def size(self) -> int:
        """Connections that exist (idle + in use)."""
        return self._size

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def in_use(self) -> int:
        return self._size - len(self._idle)

    def prewarm(self) -> None:
        """Create connections until `min_size` exist."""
        while True:
            with self._cond:
                if self._closed or self._size >= self.min_size:
                    return
                self._size += 1
            try:
                conn = self.factory()
            except BaseException:
                with self._cond:
                    self._size -= 1
                raise
            self.release(conn)

    def acquire(self, timeout: float | None = None) -> T:
        """Borrow a healthy connection, creating one if under `max_size`; waits otherwise."""
        deadline = time.monotonic() + (self.acquire_timeout if timeout is None else timeout)
        while True:
            conn, create = self._take(deadline)
            if create:
                try:
                    return self.factory()
                except BaseException:
                    self._forget()
                    raise
            if self._healthy(conn):
                return conn
            self._discard(conn)

    def _take(self, deadline: float) -> tuple[Any, bool]:
        """An idle connection (False) or permission to create one (True); expired ones are closed."""
        expired: list[T] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise PoolClosed("the pool is closed")
                    now = time.monotonic()
                    while self._idle and now - self._idle[0][1] > self.idle_timeout:
                        expired.append(self._idle.popleft()[0])
                        self._size -= 1
                    if self._idle:
                        return self._idle.pop()[0], False
                    if self._size < self.max_size:
                        self._size += 1
                        return None, True
                    remaining = deadline - now
                    if remaining <= 0:
                        raise PoolTimeout(f"no connection free within the timeout ({self.max_size} in use)")
                    self._cond.wait(remaining)
        finally:
            for conn in expired:
                self._close_quietly(conn)

    def _healthy(self, conn: T) -> bool:
        if self.check is None:
            return True
        try:
            return self.check(conn) is not False
        except Exception:
            return False

    def release(self, conn: T, *, discard: bool = False) -> None:
        """Give a connection back (`discard=True` closes it instead)."""
        if discard:
            self._discard(conn)
            return
        with self._cond:
            if not self._closed:
                self._idle.append((conn, time.monotonic()))
                self._cond.notify()
                return
            self._size -= 1
        self._close_quietly(conn)

    def _discard(self, conn: T) -> None:
        self._forget()
        self._close_quietly(conn)

    def _forget(self) -> None:
        with self._cond:
            self._size -= 1
            self._cond.notify()

    def _close_quietly(self, conn: T) -> None:
        try:
            self._close_fn(conn)
        except Exception:
            _log.warning("closing a pooled connection failed", exc_info=True)

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[T]:
        """Borrow a connection for the `with` block."""
        conn = self.acquire(timeout)
        try:
            yield conn
        except self.discard_on:
            self.release(conn, discard=True)
            raise
        except BaseException:
            self.release(conn)
            raise
        else:
            self.release(conn)

    def close(self) -> None:
        """Close idle connections now; ones in use are closed when given back."""
        with self._cond:
            self._closed = True
            idle = [conn for conn, _ in self._idle]
            self._idle.clear()
            self._size -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            self._close_quietly(conn)

    def __repr__(self) -> str:
        return f"<Pool size={self._size} idle={len(self._idle)} max={self.max_size}>"
