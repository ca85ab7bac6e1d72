"""Health checks: a registry of dependency checks, run in parallel, served on opt-in endpoints.

    app.health.add("orders-table", dynamodb_table("orders"))
    app.health.add("cache", redis_ping(os.environ["REDIS_URL"]), critical=False)
    app.health.mount(app)            # GET /health, /health/live, /health/ready

A check is a callable returning None/True (healthy), False (unhealthy) or a dict of details
(healthy, the dict is reported); raising marks it unhealthy with the error. Each runs with its
own timeout; results are cached for `cache_ttl` seconds so a busy health endpoint does not
hammer the dependencies. A failing *critical* check makes `/health` and `/health/ready` 503.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "HealthRegistry",
    "HealthReport",
    "CheckResult",
    "dynamodb_table",
    "redis_ping",
    "http_get",
    "memory_headroom",
]

_log = logging.getLogger("lift.health")
Check = Callable[[], Any]


class CheckResult:
    """The outcome of one check: status ("ok", "fail", "timeout"), latency and error."""

    __slots__ = ("name", "status", "latency_ms", "critical", "error", "details")

    def __init__(
        self, name: str, status: str, latency_ms: float, critical: bool, error: str | None = None, details: Any = None
    ) -> None:
        self.name = name
        self.status = status
        self.latency_ms = latency_ms
        self.critical = critical
        self.error = error
        self.details = details

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "latency_ms": self.latency_ms, "critical": self.critical}
        if self.error is not None:
            out["error"] = self.error
        if self.details is not None:
            out["details"] = self.details
        return out


class HealthReport:
    """The results of one run. `healthy` is False when any critical check failed."""

    __slots__ = ("checks", "checked_at", "cached")

    def __init__(self, checks: list[CheckResult], checked_at: float, cached: bool = False) -> None:
        self.checks = checks
        self.checked_at = checked_at
        self.cached = cached

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks if c.critical)

    @property
    def degraded(self) -> bool:
        return any(not c.ok for c in self.checks if not c.critical)

    @property
    def status(self) -> str:
        if not self.healthy:
            return "fail"
        return "degraded" if self.degraded else "ok"

    @property
    def http_status(self) -> int:
        return 200 if self.healthy else 503

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checked_at": _iso(self.checked_at),
            "cached": self.cached,
            "checks": {c.name: c.to_dict() for c in self.checks},
        }


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class _Registered:
    __slots__ = ("name", "check", "critical", "timeout")

    def __init__(self, name: str, check: Check, critical: bool, timeout: float) -> None:
        self.name = name
        self.check = check
        self.critical = critical
        self.timeout = timeout


class HealthRegistry:
    """Named checks with per-check timeouts, run in parallel and cached for `cache_ttl` seconds
    (default 5, or `LIFT_HEALTH_CACHE_TTL`)."""

    def __init__(self, cache_ttl: float | None = None, default_timeout: float = 2.0) -> None:
        if cache_ttl is None:
            cache_ttl = float(os.environ.get("LIFT_HEALTH_CACHE_TTL") or 5.0)
        self.cache_ttl = cache_ttl
        self.default_timeout = default_timeout
        self._checks: dict[str, _Registered] = {}
        self._cache: dict[bool, HealthReport] = {}
        self._in_flight: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._executor: Any = None

    def add(self, name: str, check: Check, *, critical: bool = True, timeout: float | None = None) -> None:
        """Register `check` under `name` (async callables are run on their own loop)."""
        if name in self._checks:
            raise ValueError(f"A health check named {name!r} is already registered")
        if not callable(check):
            raise TypeError(f"Health check {name!r} must be callable")
        import inspect

        if inspect.iscoroutinefunction(check):
            check = _sync_of(check)
        self._checks[name] = _Registered(name, check, critical, timeout or self.default_timeout)
        self._cache.clear()

    def remove(self, name: str) -> None:
        self._checks.pop(name, None)
        self._cache.clear()

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    def run(self, *, critical_only: bool = False, use_cache: bool = True) -> HealthReport:
        """Run the checks (all, or only critical ones) in parallel; cached for `cache_ttl`."""
        now = time.time()
        cached = self._cache.get(critical_only) if use_cache else None
        if cached is not None and now - cached.checked_at < self.cache_ttl:
            return HealthReport(cached.checks, cached.checked_at, cached=True)
        checks = [c for c in self._checks.values() if c.critical or not critical_only]
        results = self._run_parallel(checks) if checks else []
        report = HealthReport(results, time.time())
        self._cache[critical_only] = report
        for result in results:
            if not result.ok:
                _log.warning(
                    "health check %s: %s",
                    result.name,
                    result.status,
                    extra={"check": result.name, "error": result.error, "critical": result.critical},
                )
        return report

    def _run_parallel(self, checks: list[_Registered]) -> list[CheckResult]:
        from concurrent.futures import ThreadPoolExecutor
        from concurrent.futures import TimeoutError as FutureTimeout

        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lift-health")
            executor = self._executor
        started = time.perf_counter()
        futures = []
        for check in checks:
            # A check still hung from an earlier run is not started again: threads cannot be killed,
            # and piling them up would starve every other check.
            previous = self._in_flight.get(check.name)
            future = previous if previous is not None and not previous.done() else executor.submit(_timed, check.check)
            self._in_flight[check.name] = future
            futures.append((check, future))
        results: list[CheckResult] = []
        for check, future in futures:
            remaining = check.timeout - (time.perf_counter() - started)
            try:
                status, latency, error, details = future.result(timeout=max(0.0, remaining))
            except FutureTimeout:
                future.cancel()
                status, latency, error, details = (
                    "timeout",
                    check.timeout * 1000,
                    f"no answer within {check.timeout:g}s",
                    None,
                )
            results.append(CheckResult(check.name, status, round(latency, 3), check.critical, error, details))
        return results

    # -- endpoints --------------------------------------------------------------------
    def mount(self, app: Any, prefix: str = "/health", *, middleware: list[Any] | tuple[Any, ...] = ()) -> None:
        """Serve `prefix` (every check), `prefix/live` (the process answers) and `prefix/ready`
        (critical checks) on `app`, each 503 when a critical check fails."""
        from lift.context import Response

        prefix = "/" + prefix.strip("/")
        registry = self

        def health_summary(ctx) -> Any:
            report = registry.run()
            return Response.json(report.to_dict(), status=report.http_status, headers=_NO_STORE)

        def health_live(ctx) -> Any:
            return Response.json({"status": "ok"}, headers=_NO_STORE)

        def health_ready(ctx) -> Any:
            report = registry.run(critical_only=True)
            return Response.json(report.to_dict(), status=report.http_status, headers=_NO_STORE)

        app.add_route(prefix, health_summary, ["GET"], middleware=list(middleware))
        app.add_route(prefix + "/live", health_live, ["GET"], middleware=list(middleware))
        app.add_route(prefix + "/ready", health_ready, ["GET"], middleware=list(middleware))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


_NO_STORE = {"Cache-Control": "no-store"}


def _timed(check: Check) -> tuple[str, float, str | None, Any]:
    start = time.perf_counter()
    try:
        outcome = check()
    except Exception as exc:
        return "fail", (time.perf_counter() - start) * 1000, _error_text(exc), None
    latency = (time.perf_counter() - start) * 1000
    if outcome is False:
        return "fail", latency, "check returned False", None
    return "ok", latency, None, outcome if isinstance(outcome, dict) else None


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _sync_of(fn: Callable[[], Any]) -> Check:
    def run() -> Any:
        import asyncio

        return asyncio.run(fn())

    run.__name__ = getattr(fn, "__name__", "check")
    return run


# -- built-in checks ---------------------------------------------------------------------
class CheckFailed(Exception):
    """Raised by built-in checks with a message for the report."""


def dynamodb_table(
    table_name: str, *, client: Any = None, endpoint_url: str | None = None, region_name: str | None = None
) -> Check:
    """DescribeTable on `table_name`; healthy when the table is ACTIVE (needs `lift-lambda[dynamodb]`)."""
    state: dict[str, Any] = {"client": client}

    def check() -> dict[str, Any]:
        if state["client"] is None:
            try:
                import boto3
            except ImportError as exc:
                raise CheckFailed('the DynamoDB check needs boto3: pip install "lift-lambda[dynamodb]"') from exc
            from botocore.config import Config

            state["client"] = boto3.client(
                "dynamodb",
                endpoint_url=endpoint_url or os.environ.get("LIFT_DYNAMODB_ENDPOINT"),
                region_name=region_name
                or os.environ.get("AWS_REGION")
                or os.environ.get("AWS_DEFAULT_REGION")
                or "us-east-1",
                config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1}),
            )
        table = state["client"].describe_table(TableName=table_name)["Table"]
        status = table.get("TableStatus")
        if status != "ACTIVE":
            raise CheckFailed(f"table {table_name} is {status}")
        return {"table": table_name, "status": status}

    return check


def redis_ping(url: str | None = None, *, client: Any = None, timeout: float = 2.0) -> Check:
    """PING a Redis server (needs `lift-lambda[redis]`); `url` like `redis://127.0.0.1:6379/0`."""
    state: dict[str, Any] = {"client": client}

    def check() -> None:
        if state["client"] is None:
            try:
                import redis
            except ImportError as exc:
                raise CheckFailed('the Redis check needs redis-py: pip install "lift-lambda[redis]"') from exc
            state["client"] = redis.Redis.from_url(
                url or os.environ.get("LIFT_REDIS_URL") or "redis://127.0.0.1:6379",
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
        if not state["client"].ping():
            raise CheckFailed("PING got no PONG")

    return check


def http_get(
    url: str,
    *,
    timeout: float = 2.0,
    expect: Callable[[int], bool] | None = None,
    headers: dict[str, str] | None = None,
) -> Check:
    """GET `url`; healthy on a 2xx/3xx (or when `expect(status)` says so). Uses httpx when
    installed, else urllib. The current trace headers are sent along."""
    accept = expect or (lambda status: 200 <= status < 400)

    def check() -> dict[str, Any]:
        from lift.observability.tracing import inject_trace_headers

        sent = inject_trace_headers(dict(headers or {}))
        status = _http_status(url, sent, timeout)
        if not accept(status):
            raise CheckFailed(f"GET {url} answered {status}")
        return {"status_code": status}

    return check


def _http_status(url: str, headers: dict[str, str], timeout: float) -> int:
    try:
        import httpx
    except ImportError:
        httpx = None
    if httpx is not None:
        return httpx.get(url, headers=headers, timeout=timeout, follow_redirects=False).status_code
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def memory_headroom(
    *, min_free_mb: float | None = None, min_free_ratio: float = 0.1, limit_mb: float | None = None
) -> Check:
    """Healthy while resident memory leaves enough of the function's memory free.

    The limit is `limit_mb`, else `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; the threshold is
    `min_free_mb` if given, else `min_free_ratio` of the limit.
    """

    def check() -> dict[str, Any]:
        limit = limit_mb or float(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0) or None
        used = resident_memory_mb()
        details: dict[str, Any] = {"used_mb": round(used, 1)}
        if limit is None:
            return details
        free = limit - used
        needed = min_free_mb if min_free_mb is not None else limit * min_free_ratio
        details.update(limit_mb=limit, free_mb=round(free, 1))
        if free < needed:
            raise CheckFailed(f"{free:.1f} MB free of {limit:g} MB (needs {needed:g} MB)")
        return details

    return check


def resident_memory_mb() -> float:
    """This process's resident set size in MB (from /proc, else the peak from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
