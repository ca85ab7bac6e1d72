"""Rate limiting middleware on a shared store (memory, DynamoDB or Redis).

    from lift.middleware.rate_limit import rate_limit
    app.use(rate_limit("100/minute", store=RedisStore(url), algorithm="sliding"))

Who is counted: the user, else the tenant (one a claim or `tenancy`'s `allow` vouched for, never one
only the request names), else an API key someone checked (`api_key_auth`, or
API Gateway's `apiKeyId`), else the client IP (from API Gateway's `sourceIp`, or
`X-Forwarded-For` when `trusted_proxies` says how many proxies in front may be believed).
Counters are per route (default) or global, scoped by such a tenant. Algorithms: `fixed` and
`sliding` windows (one atomic increment per request on every backend), and `token_bucket` (a
Lua script on Redis, a compare-and-set loop elsewhere).

Store failure: fails OPEN by default (the request goes through, an error is logged with the
request id and the `RateLimitStoreErrors` metric is added); `fail_closed=True` answers 503.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lift.errors import ServiceUnavailable, TooManyRequests
from lift.stores.base import Store, StoreError, scoped_key

__all__ = [
    "Decision",
    "Limit",
    "RateLimiter",
    "caller_key",
    "client_ip",
    "fixed_window",
    "rate_limit",
    "sliding_window",
    "token_bucket",
]

_log = logging.getLogger("lift.rate_limit")
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_LIMIT_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([a-z]+?)s?\s*$")


@dataclass(frozen=True, slots=True)
class Limit:
    """`limit` requests per `window` seconds."""

    limit: int
    window: float
    # How long a window's counter outlives the window (by the clock of whoever created it): instances whose
    # clocks run behind are still in that window and must find its count, not a fresh one (Redis expires
    # keys on its own clock). A window's length, at least 1 s and at most a minute.
    linger: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and window > 0, got {self.limit}/{self.window}s")
        object.__setattr__(self, "linger", min(max(float(self.window), 1.0), 60.0))

    @classmethod
    def parse(cls, spec: str | int | Limit, window: float | None = None) -> Limit:
        """`"100/minute"`, `"10/s"`, `"5/10s"`, `"1000/hour"`, a Limit, or an int with `window`."""
        if isinstance(spec, Limit):
            return spec
        if isinstance(spec, int):
            return cls(spec, window if window is not None else 60.0)
        match = _LIMIT_RE.match(spec.lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"rate limit {spec!r} is not like '100/minute', '10/s' or '5/10s'")
        count, multiple, unit = match.groups()
        return cls(int(count), float(multiple or 1) * _UNITS[unit])


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: allowed or not, what is left, and when to come back."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the quota is fully available again
    retry_after: float = 0.0  # seconds until a rejected request may succeed


# -- algorithms: (store, key, limit, now, cost) -> Decision ---------------------------------


def fixed_window(store: Store, key: str, limit: Limit, now: float, cost: int = 1) -> Decision:
    """Count hits in windows aligned to multiples of `window`; one atomic increment per hit."""
    index = math.floor(now / limit.window)
    reset = (index + 1) * limit.window - now
    count = store.increment(f"{key}:{index}", cost, ttl=reset + limit.linger)
    if count <= limit.limit:
        return Decision(True, limit.limit, limit.limit - count, reset)
    return Decision(False, limit.limit, 0, reset, retry_after=reset)


def sliding_window(store: Store, key: str, limit: Limit, now: float, cost: int = 1) -> Decision:
    """Weighted sliding window: the previous window's count fades out linearly as time passes.

    Estimate = previous * (1 - elapsed / window) + current. The increment is atomic, so
    concurrent callers see distinct counts and a hit is allowed only while the estimate stays
    within `limit`; a rejected hit is taken back so it does not count against the caller.
    """
    index = math.floor(now / limit.window)
    elapsed = now - index * limit.window
    count = store.increment(f"{key}:{index}", cost, ttl=2 * limit.window - elapsed + limit.linger)
    previous = _previous_count(store, f"{key}:{index - 1}", elapsed)
    weight = 1 - elapsed / limit.window
    estimate = previous * weight + count
    reset = limit.window - elapsed + (limit.window if previous else 0)
    if estimate <= limit.limit:
        return Decision(True, limit.limit, max(0, int(limit.limit - estimate)), reset)
    store.increment(f"{key}:{index}", -cost)
    count -= cost
    if previous and count + cost <= limit.limit:
        # Wait until previous * weight(t) + count + cost <= limit.
        fade_to = (limit.limit - count - cost) / previous
        retry = limit.window * (1 - fade_to) - elapsed
    else:
        retry = limit.window - elapsed
    return Decision(False, limit.limit, 0, reset, retry_after=max(0.0, retry))


_SETTLED_AFTER = 2.0  # seconds after a window closes before its count is final (clock skew)
_closed_counts: weakref.WeakKeyDictionary[Store, dict[str, int]] = weakref.WeakKeyDictionary()


def _previous_count(store: Store, key: str, elapsed: float) -> int:
    """The closed previous window's count; read once per process after it has settled."""
    if elapsed < _SETTLED_AFTER:
        return store.get(key) or 0
    cache = _closed_counts.get(store)
    if cache is None:
        cache = _closed_counts[store] = {}
    count = cache.get(key)
    if count is None:
        if len(cache) > 10_000:
            cache.clear()
        count = cache[key] = store.get(key) or 0
    return count


def token_bucket(store: Store, key: str, limit: Limit, now: float, cost: int = 1) -> Decision:
    """A bucket of `limit` tokens refilled at `limit / window` per second; bursts up to `limit`."""
    rate = limit.limit / limit.window
    take = getattr(store, "take_tokens", None)
    if take is not None:
        allowed, left, wait = take(key, limit.limit, rate, cost, now=now)
    else:
        allowed, left, wait = _take_tokens_cas(store, key, limit.limit, rate, cost, now)
    reset = (limit.limit - left) / rate
    return Decision(allowed, limit.limit, int(left), reset, retry_after=0.0 if allowed else wait)


def _take_tokens_cas(
    store: Store, key: str, capacity: int, rate: float, cost: int, now: float
) -> tuple[bool, float, float]:
    """Token bucket as a compare-and-set loop over {"tokens", "at"} (memory, DynamoDB)."""
    for attempt in range(100):
        state = store.get(key)
        if state is None:
            tokens = float(capacity)
        else:
            tokens = min(capacity, state["tokens"] + max(0.0, now - state["at"]) * rate)
        allowed = tokens >= cost
        left = tokens - cost if allowed else tokens
        wait = 0.0 if left >= cost else (cost - left) / rate
        new = {"tokens": left, "at": now}
        ttl = (capacity - left) / rate + 1
        written = store.put_if_absent(key, new, ttl) if state is None else store.compare_and_set(key, state, new, ttl)
        if written:
            return allowed, left, wait
        time.sleep(random.random() * min(0.02, 0.001 * (attempt + 1)))  # jitter: let the winner through
        now = max(now, store.clock())
    raise StoreError(f"token bucket {key!r}: too much contention (100 compare-and-set attempts failed)")


ALGORITHMS: dict[str, Callable[[Store, str, Limit, float, int], Decision]] = {
    "fixed": fixed_window,
    "sliding": sliding_window,
    "token_bucket": token_bucket,
}


# -- who is calling ---------------------------------------------------------------------------


def client_ip(ctx: Any, trusted_proxies: int = 0) -> str | None:
    """The caller's IP address.

    The chain is `X-Forwarded-For` plus the address that connected to AWS (API Gateway's or
    the function URL's `sourceIp`; an ALB appends it to `X-Forwarded-For` itself). Entries
    left of the connecting one are client-controlled unless a proxy we trust (CloudFront,
    a corporate proxy) added them: `trusted_proxies` is how many such proxies stand in
    front, so the client is the entry that many places left of the connecting address.
    """
    forwarded = _forwarded_for(ctx)
    if forwarded is None:
        return None
    chain = [part.strip() for value in forwarded for part in value.split(",")]
    chain = [part for part in chain if part]
    source_ip = _gateway_source_ip(ctx.event)
    if source_ip and (not chain or chain[-1] != source_ip):
        if source_ip in chain:
            # An edge-optimized REST API's own CloudFront adds its edge address after the one API Gateway
            # names as sourceIp: entries right of sourceIp are AWS's hops, never the client nor a proxy of ours.
            del chain[len(chain) - chain[::-1].index(source_ip) :]
        else:
            chain.append(source_ip)
    if not chain:
        return None
    return chain[max(0, len(chain) - 1 - trusted_proxies)]


def _forwarded_for(ctx: Any) -> list[str] | None:
    """The request's `X-Forwarded-For` values; for a WebSocket event those of its raw headers, which
    `$connect` carries (the handshake's) and later messages do not (their client is `sourceIp` alone).
    None: an event with no client (a queue's record). `$connect` used only `sourceIp` before, so behind
    CloudFront (`trusted_proxies=1`) every client connecting through one edge shared one quota."""
    request = ctx.request
    if request is not None:
        return request.headers.getall("x-forwarded-for")
    if ctx.source != "websocket" or not isinstance(ctx.event, Mapping):
        return None
    multi = ctx.event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        for name, values in multi.items():
            if name.lower() == "x-forwarded-for" and isinstance(values, list):
                return [value for value in values if isinstance(value, str)]
    single = ctx.event.get("headers")
    if isinstance(single, Mapping):
        for name, value in single.items():
            if name.lower() == "x-forwarded-for" and isinstance(value, str):
                return [value]
    return []


def _gateway_source_ip(event: Any) -> str | None:
    if not isinstance(event, Mapping):
        return None
    rc = event.get("requestContext") or {}
    if "elb" in rc:
        return None
    identity = rc.get("identity") or {}
    return identity.get("sourceIp") or (rc.get("http") or {}).get("sourceIp")


def _api_key_of(ctx: Any) -> str | None:
    principal = ctx.principal
    if principal is not None and getattr(principal, "method", None) == "api_key":
        return str(getattr(principal, "user_id", None) or "") or None
    rc = (ctx.event.get("requestContext") or {}) if isinstance(ctx.event, Mapping) else {}
    key_id = (rc.get("identity") or {}).get("apiKeyId")
    if key_id:
        return key_id
    # an X-Api-Key header nobody checked is not an identity: a client sending a new value with
    # each request would get a new quota each time, so it is counted by its IP like any caller
    return None


def counted_tenant(ctx: Any) -> str | None:
    """`ctx.tenant_id` when counters may be kept per tenant; None for a tenant only the request names
    (`tenancy` from a header, query, path or callable, confirmed by no claim and no `allow`): a client
    naming a new made-up tenant with each request would get a fresh quota each time."""
    tenant_id = ctx.tenant_id
    if tenant_id is not None and getattr(ctx, "_tenant_unverified", False):
        return None
    return tenant_id


def caller_key(ctx: Any, trusted_proxies: int = 0) -> str:
    """Who is counted: `user:<id>`, else `tenant:<id>` (one the identity or `allow` vouched for), else
    `key:<api key>`, else `ip:<address>`."""
    if ctx.user_id:
        return f"user:{ctx.user_id}"
    tenant_id = counted_tenant(ctx)
    if tenant_id:
        return f"tenant:{tenant_id}"
    api_key = _api_key_of(ctx)
    if api_key:
        return f"key:{api_key}"
    ip = client_ip(ctx, trusted_proxies)
    return f"ip:{ip}" if ip else "anonymous"


def _plan_from_identity(ctx: Any) -> str | None:
    claims = ctx.claims or getattr(ctx.principal, "claims", None) or {}
    plan = claims.get("plan") or claims.get("tenant_plan") or claims.get("custom:plan")
    return str(plan) if plan else None


# -- the middleware ---------------------------------------------------------------------------


class RateLimiter:
    """Middleware: count the caller's requests and answer 429 past the limit."""

    def __init__(
        self,
        limit: str | int | Limit,
        window: float | None = None,
        *,
        store: Store | None = None,
        algorithm: str = "fixed",
        scope: str = "route",
        key: Callable[[Any], str | None] | None = None,
        plans: Mapping[str, str | int | Limit] | None = None,
        plan: Callable[[Any], str | None] = _plan_from_identity,
        trusted_proxies: int = 0,
        fail_closed: bool = False,
        cost: int = 1,
        headers: bool = True,
        name: str = "rl",
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, not {algorithm!r}")
        if scope not in ("route", "global"):
            raise ValueError(f"scope must be 'route' or 'global', not {scope!r}")
        if store is None:
            from lift.stores.memory import MemoryStore

            store = MemoryStore()
        self.limit = Limit.parse(limit, window)
        self.plans = {name_: Limit.parse(spec, window) for name_, spec in (plans or {}).items()}
        self.plan = plan
        self.store = store
        self.algorithm = algorithm
        self.hit = ALGORITHMS[algorithm]
        self.scope = scope
        self.key = key
        self.trusted_proxies = trusted_proxies
        self.fail_closed = fail_closed
        self.cost = cost
        self.headers = headers
        self.name = name

    def limit_for(self, ctx: Any) -> Limit:
        """The caller's plan limit when plans are configured and one applies, else the default."""
        if self.plans:
            plan = self.plan(ctx)
            if plan is not None and plan in self.plans:
                return self.plans[plan]
        return self.limit

    def store_key(self, ctx: Any) -> str:
        """The tenant-scoped counter key for this caller (and route, when per route)."""
        who = self.key(ctx) if self.key is not None else None
        who = who or caller_key(ctx, self.trusted_proxies)
        if self.scope == "global":
            where = "*"
        elif ctx.request is not None:  # unmatched paths share one key: no counter per random path
            where = f"{ctx.request.method} {ctx.route or '<unmatched>'}"
        else:
            where = ctx.source
        return scoped_key(self.name, where, who, tenant_id=counted_tenant(ctx))

    def check(self, ctx: Any) -> Decision | None:
        """Count this request; None when the store failed and the limiter fails open."""
        limit = self.limit_for(ctx)
        try:
            return self.hit(self.store, self.store_key(ctx), limit, self.store.clock(), self.cost)
        except StoreError as exc:
            _log.error(
                "rate limit store failed (request_id=%s, fail_%s): %s",
                ctx.request_id,
                "closed" if self.fail_closed else "open",
                exc,
                extra={"request_id": ctx.request_id},
            )
            _add_metric(ctx, "RateLimitStoreErrors")
            if self.fail_closed:
                ctx._failure_logged = True  # (this is the request's line: the 503's own is not written)
                raise ServiceUnavailable("Rate limiter unavailable", headers={"Retry-After": "1"}) from exc
            return None

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        try:
            decision = self.check(ctx)
        except ServiceUnavailable as exc:
            return _reject(ctx, exc)
        if decision is None:
            return call_next(ctx)
        if not decision.allowed:
            _add_metric(ctx, "RateLimitExceeded")
            headers = self._headers(decision) if self.headers else {}
            retry = max(1, math.ceil(decision.retry_after))
            limited = TooManyRequests(
                "Rate limit exceeded",
                retry_after=retry,
                headers=headers,
                details={"limit": decision.limit, "retry_after": retry},
            )
            return _reject(ctx, limited)
        response = call_next(ctx)
        if self.headers and ctx.request is not None and response is not None:
            for name, value in self._headers(decision).items():
                response.headers.setdefault(name, value)
        return response

    def _headers(self, decision: Decision) -> dict[str, str]:
        reset = max(0, math.ceil(decision.reset_after))
        return {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": str(reset),
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.store.clock()) + reset),
        }


def rate_limit(limit: str | int | Limit, window: float | None = None, **options: Any) -> RateLimiter:
    """Rate limiting middleware; see `RateLimiter` for the options."""
    return RateLimiter(limit, window, **options)


def _reject(ctx: Any, exc: Exception) -> Any:
    if ctx.request is None:
        raise exc  # a record: fail it, the source retries it later
    return ctx.app.error_response(ctx, exc)


def _add_metric(ctx: Any, name: str) -> None:
    try:
        ctx.metrics.add(name, 1, "Count")
    except Exception:
        _log.debug("could not add metric %s", name, exc_info=True)
