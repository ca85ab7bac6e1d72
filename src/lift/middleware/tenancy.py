"""Multi-tenancy middleware: which tenant this request acts for, checked against identity.

    app.use(jwt_auth(...), tenancy(resolve_from=["claim:tenant_id", "header:X-Tenant-Id",
                                                 "path:tenant_id"], allow=is_active_tenant))

Sources are tried in order: `claim:<name>` (the authenticated identity: `ctx.claims`, or
the tenant the principal carries, e.g. an API key's), `header:<name>`, `query:<name>`,
`path:<param>`, or any callable `f(ctx) -> str | None`. The identity's tenant is
authoritative: a header, path or query naming another tenant is a 403, so a caller can
never act for a tenant their token does not belong to. The tenant is checked against
`pattern` (it ends up in store keys, logs and metric dimensions) and `allow`, then set on
`ctx.tenant_id`, which the JSON logs, rate limiting and idempotency scope by.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from lift.auth.credentials import CredentialLocation, is_http_or_ws_connect
from lift.errors import BadRequest, Forbidden

__all__ = ["Tenancy", "tenancy", "DEFAULT_SOURCES", "TENANT_ID_PATTERN"]

logger = logging.getLogger("lift.tenancy")

DEFAULT_SOURCES = ("claim:tenant_id", "header:X-Tenant-Id", "path:tenant_id")
TENANT_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"

Resolver = Callable[[Any], Any]


class Source:
    """One place a tenant id may come from, parsed once at configuration time."""

    def __init__(self, spec: str | Resolver) -> None:
        if callable(spec):
            self.name, self.read = getattr(spec, "__name__", "callable"), spec
            self.verified = False  # (a subdomain, say: what the request names)
            return
        kind, sep, name = spec.partition(":")
        if not sep or not name or kind not in ("claim", "header", "query", "path"):
            raise ValueError(f"tenant source must be claim:/header:/query:/path:<name> or a callable, got {spec!r}")
        self.name = spec
        self.verified = kind == "claim"  # the authenticated identity says it, not the request
        if kind == "claim":
            self.read = lambda ctx: _claim(ctx, name)
        elif kind == "path":
            self.read = lambda ctx: ctx.path_params.get(name)
        else:
            location = CredentialLocation(kind, name)
            self.read = location.read


def _claim(ctx: Any, name: str) -> Any:
    value = (ctx.claims or {}).get(name)
    if value is None and ctx.principal is not None:
        value = ctx.principal.tenant_id
    return value


class Tenancy:
    """The middleware: resolve, cross-check, validate and set `ctx.tenant_id`."""

    def __init__(
        self,
        resolve_from: Iterable[str | Resolver] = DEFAULT_SOURCES,
        *,
        required: bool = True,
        allow: Callable[..., bool] | None = None,
        pattern: str = TENANT_ID_PATTERN,
        metric_dimension: bool = True,
        skip: Iterable[str] = (),
    ) -> None:
        self.sources = tuple(Source(spec) for spec in resolve_from)
        if not self.sources:
            raise ValueError("tenancy() needs at least one source")
        self.required = required
        self.allow = _two_argument(allow) if allow is not None else None
        self.pattern = re.compile(pattern)
        self.metric_dimension = metric_dimension
        self.skip = frozenset(skip)

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.request is not None and (ctx.route or ctx.request.path) in self.skip:  # (as auth's skip)
            return call_next(ctx)
        tenant_id, verified = self._resolve(ctx)
        if tenant_id is None:
            if self.required and is_http_or_ws_connect(ctx):
                self._deny(ctx, "no tenant in request", None)
                raise BadRequest("A tenant is required", code="tenant_required")
            return call_next(ctx)
        if self.allow is not None:
            if not self.allow(ctx, tenant_id):
                self._deny(ctx, "tenant not allowed", tenant_id)
                raise Forbidden("Tenant not allowed", code="tenant_forbidden")
            verified = True
        ctx.tenant_id = tenant_id
        if not verified:
            # Only the request names this tenant (a header, query, path or callable that no claim and no
            # `allow` confirmed): a rate limiter must not give it a quota of its own, or a client naming a
            # new made-up tenant with each request gets a fresh quota each time.
            ctx._tenant_unverified = True
        if self.metric_dimension:
            _add_dimension(ctx, tenant_id)
        return call_next(ctx)

    def resolve(self, ctx: Any) -> str | None:
        """The tenant for `ctx`, or None; raises 403 when sources disagree, 400 when malformed."""
        return self._resolve(ctx)[0]

    def _resolve(self, ctx: Any) -> tuple[str | None, bool]:
        """(the tenant, whether the identity says it: a `claim:` source gave it)."""
        chosen: str | None = None
        chosen_from: Source | None = None
        verified = False
        for source in self.sources:
            value = source.read(ctx)
            if value is None or value == "":
                continue
            if value.__class__ is not str:
                if value.__class__ is not int:  # true, 1.5, ["a"]: str() would make a tenant of it ("True")
                    self._deny(ctx, f"tenant from {source.name} is a {type(value).__name__}, not text", None)
                    raise BadRequest("Invalid tenant id", code="invalid_tenant")
                value = str(value)
            verified = verified or source.verified  # (sources that disagree are a 403 below)
            if chosen is None:
                chosen, chosen_from = value, source
            elif value != chosen:
                self._deny(ctx, f"{source.name}={value!r} conflicts with {chosen_from.name}={chosen!r}", chosen)  # type: ignore[union-attr]
                raise Forbidden("Tenant mismatch", code="tenant_mismatch")
        if chosen is not None and not self.pattern.fullmatch(chosen):
            self._deny(ctx, f"malformed tenant id from {chosen_from.name}", None)  # type: ignore[union-attr]
            raise BadRequest("Invalid tenant id", code="invalid_tenant")
        return chosen, verified

    @staticmethod
    def _deny(ctx: Any, reason: str, tenant_id: str | None) -> None:
        ctx._failure_logged = True  # (this is the request's line: the 400/403's own is not written)
        logger.warning(
            "tenant check failed (request_id=%s, user=%s): %s",
            ctx.request_id,
            ctx.user_id,
            reason,
            extra={"request_id": ctx.request_id, "tenant_failure": reason, "claimed_tenant": tenant_id},
        )


def _two_argument(allow: Callable[..., bool]) -> Callable[[Any, str], bool]:
    """Accept `allow(tenant_id)` as well as `allow(ctx, tenant_id)` (decided once, here)."""
    try:
        params = [
            p
            for p in inspect.signature(allow).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        # a builtin with no signature Python can read: in practice a container's membership test,
        # `allow=ACTIVE_TENANTS.__contains__` (set and frozenset's have none), which takes the tenant alone
        # (called with two arguments it raised TypeError: a 500 for every request)
        return lambda ctx, tenant_id: allow(tenant_id)
    if len(params) == 1:
        return lambda ctx, tenant_id: allow(tenant_id)
    return allow


def _add_dimension(ctx: Any, tenant_id: str) -> None:
    try:
        ctx.metrics.add_dimension("tenant_id", tenant_id)
    except Exception:
        logger.debug("could not add tenant_id metric dimension", exc_info=True)


tenancy = Tenancy  # `app.use(tenancy(...))`: the factory is the class itself
