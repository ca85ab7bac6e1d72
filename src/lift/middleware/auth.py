"""Authentication and authorization middleware: who is calling, and may they do this.

`authenticate(*methods)` tries each method in order (a JWT, an API key, the API Gateway
authorizer's result) and puts the first `Principal` found on `ctx.principal` (and
`ctx.user_id`, `ctx.claims`). No credentials -> 401; bad credentials -> 401, with a
`WWW-Authenticate` challenge; the reason goes to the log, never to the client.
`require_roles(...)` / `require_scopes(...)` then answer 403 to principals lacking them.

    app.use(jwt_auth(jwks_url=..., issuer=..., audience="orders-api", skip=["/health"]))
    admin = app.group("/admin", middleware=[require_roles("admin")])

HTTP requests and WebSocket `$connect` events are authenticated; other event sources
(queues, streams, schedules) pass through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from lift.auth.credentials import InvalidCredentials, is_http_or_ws_connect, parse_locations
from lift.auth.gateway import gateway_principal
from lift.auth.principal import ClaimMap, Match, Principal
from lift.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from lift.auth.api_keys import APIKey, APIKeyVerifier

__all__ = [
    "ALBOIDCAuth",
    "Authenticate",
    "Authenticator",
    "JWTAuth",
    "APIKeyAuth",
    "GatewayAuth",
    "alb_oidc_auth",
    "authenticate",
    "jwt_auth",
    "api_key_auth",
    "gateway_auth",
    "require_roles",
    "require_scopes",
    "Principal",
]

logger = logging.getLogger("lift.auth")

_GATEWAY_SOURCES = frozenset({"rest", "http", "url", "websocket", "lattice"})


class Authenticator(Protocol):
    """One way to prove identity. `authenticate` returns None when its credentials are absent."""

    name: str
    challenge: str

    def authenticate(self, ctx: Any) -> Principal | None: ...


class JWTAuth:
    """A bearer JWT from a header, cookie or query parameter, checked by a `JWTVerifier`."""

    name = "jwt"

    def __init__(
        self,
        verifier: Any,
        token_from: str | Iterable[str] = ("header:Authorization",),
        claim_map: ClaimMap | None = None,
        realm: str | None = None,
    ) -> None:
        self.verifier = verifier
        self.locations = parse_locations(tuple([token_from] if isinstance(token_from, str) else token_from))
        self.claim_map = claim_map or ClaimMap()
        self.challenge = f'Bearer realm="{realm}"' if realm else "Bearer"

    def authenticate(self, ctx: Any) -> Principal | None:
        for location in self.locations:
            token = location.read(ctx)
            if token is not None:
                return self.claim_map.principal(self.verifier.verify(token), "jwt")
        return None


class APIKeyAuth:
    """An API key from a header (default `X-Api-Key`), matched against configured hashes."""

    name = "api_key"

    def __init__(self, verifier: APIKeyVerifier, key_from: str | Iterable[str] = ("header:X-Api-Key",)) -> None:
        self.verifier = verifier
        self.locations = parse_locations(tuple([key_from] if isinstance(key_from, str) else key_from))
        first = self.locations[0]
        self.challenge = f'ApiKey {first.kind}="{first.name}"'

    def authenticate(self, ctx: Any) -> Principal | None:
        for location in self.locations:
            key = location.read(ctx)
            if key is not None:
                return self.verifier.verify(key)
        return None


class GatewayAuth:
    """The caller API Gateway already authenticated (Lambda/Cognito/JWT authorizer or IAM)."""

    name = "authorizer"
    challenge = "Bearer"

    def __init__(self, claim_map: ClaimMap | None = None) -> None:
        self.claim_map = claim_map or ClaimMap()

    def authenticate(self, ctx: Any) -> Principal | None:
        if ctx.source not in _GATEWAY_SOURCES or not isinstance(ctx.event, Mapping):
            return None
        return gateway_principal(ctx.event, self.claim_map)


class ALBOIDCAuth:
    """The user an ALB's authenticate-oidc/-cognito action signed into `x-amzn-oidc-data`; read on ALB
    events only (on any other source the header is whatever the client sent)."""

    name = "alb_oidc"
    challenge = "Bearer"

    def __init__(self, verifier: Any, claim_map: ClaimMap | None = None) -> None:
        self.verifier = verifier
        self.claim_map = claim_map or ClaimMap()

    def authenticate(self, ctx: Any) -> Principal | None:
        if ctx.source != "alb" or ctx.request is None:
            return None
        token = ctx.request.headers.get("x-amzn-oidc-data")
        if token is None:
            return None
        return self.claim_map.principal(self.verifier.verify(token), "alb_oidc")


class Authenticate:
    """The middleware: the first method that finds credentials decides; none -> 401."""

    def __init__(self, *methods: Authenticator, skip: Iterable[str] = (), optional: bool = False) -> None:
        if not methods:
            raise ValueError("authenticate() needs at least one method")
        self.methods = methods
        self.optional = optional
        skip = tuple(skip)
        self.skip_exact = frozenset(p for p in skip if not p.endswith("*"))
        self.skip_prefixes = tuple(p[:-1] for p in skip if p.endswith("*"))
        self.challenge = ", ".join(dict.fromkeys(m.challenge for m in methods))

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        request = ctx.request
        if request is None:
            if ctx.source != "websocket":
                return call_next(ctx)  # queues, streams, schedules: no caller credentials
        elif self._skipped(ctx.route or request.path):  # the route that will run, not the path's spelling
            return call_next(ctx)
        principal = self._principal(ctx)
        if principal is None:
            if self.optional or not is_http_or_ws_connect(ctx):
                return call_next(ctx)
            _log_failure(ctx, "none", "no credentials", logging.INFO)
            raise Unauthorized("Authentication required", challenge=self.challenge)
        ctx.principal = principal
        ctx.user_id = principal.user_id
        ctx.claims = dict(principal.claims)
        return call_next(ctx)

    def _skipped(self, path: str) -> bool:
        """`path` is the matched route's template: '/public/*' never skips '/{tenant}/orders' for a
        request to /public/orders, and /health/ or /he%61lth is the /health route."""
        return path in self.skip_exact or (bool(self.skip_prefixes) and path.startswith(self.skip_prefixes))

    def _principal(self, ctx: Any) -> Principal | None:
        for method in self.methods:
            try:
                principal = method.authenticate(ctx)
            except InvalidCredentials as exc:
                _log_failure(ctx, method.name, exc.reason, logging.WARNING)
                raise Unauthorized("Invalid credentials", challenge=_invalid(method.challenge)) from None
            if principal is not None:
                return principal
        return None


def _invalid(challenge: str) -> str:
    if challenge.startswith("Bearer"):
        return challenge + (', error="invalid_token"' if " " in challenge else ' error="invalid_token"')
    return challenge


def _log_failure(ctx: Any, method: str, reason: str, level: int) -> None:
    """The request's one line: the error that follows writes no other (App.error_response)."""
    ctx._failure_logged = True
    where = ctx.request.path if ctx.request is not None else ctx.source
    logger.log(
        level,
        "authentication failed on %s (request_id=%s, method=%s): %s",
        where,
        ctx.request_id,
        method,
        reason,
        extra={"request_id": ctx.request_id, "auth_method": method, "auth_failure": reason},
    )


# -- factories ---------------------------------------------------------------------------


def authenticate(*methods: Authenticator, skip: Iterable[str] = (), optional: bool = False) -> Authenticate:
    """Middleware accepting any of `methods` (first found wins). `skip` paths ("/health", "/public/*")."""
    return Authenticate(*methods, skip=skip, optional=optional)


def jwt_auth(
    *,
    secret: str | bytes | None = None,
    public_key: str | bytes | None = None,
    jwks_url: str | None = None,
    verifier: Any = None,
    token_from: str | Iterable[str] = ("header:Authorization",),
    claim_map: ClaimMap | None = None,
    realm: str | None = None,
    skip: Iterable[str] = (),
    optional: bool = False,
    **verify_options: Any,
) -> Authenticate:
    """JWT bearer-token middleware. `verify_options`: algorithms, issuer, audience, leeway, require, expect."""
    if verifier is None:
        from lift.auth.tokens import JWTVerifier

        verifier = JWTVerifier(secret=secret, public_key=public_key, jwks_url=jwks_url, **verify_options)
    elif secret is not None or public_key is not None or jwks_url is not None or verify_options:
        raise ValueError("give either verifier= or the key and verification options, not both")
    return Authenticate(JWTAuth(verifier, token_from, claim_map, realm), skip=skip, optional=optional)


def api_key_auth(
    keys: APIKeyVerifier | Iterable[APIKey] | Mapping[str, Any],
    *,
    key_from: str | Iterable[str] = ("header:X-Api-Key",),
    skip: Iterable[str] = (),
    optional: bool = False,
) -> Authenticate:
    """API-key middleware; `keys` maps SHA-256 hashes (see `hash_api_key`) to callers."""
    from lift.auth.api_keys import APIKeyVerifier

    verifier = keys if isinstance(keys, APIKeyVerifier) else APIKeyVerifier(keys)
    return Authenticate(APIKeyAuth(verifier, key_from), skip=skip, optional=optional)


def gateway_auth(
    *, claim_map: ClaimMap | None = None, skip: Iterable[str] = (), optional: bool = False
) -> Authenticate:
    """Middleware trusting API Gateway's authorizer result (no token code in the function)."""
    return Authenticate(GatewayAuth(claim_map), skip=skip, optional=optional)


def alb_oidc_auth(
    signer: str | Iterable[str],
    *,
    region: str | None = None,
    key_url: str | None = None,
    claim_map: ClaimMap | None = None,
    skip: Iterable[str] = (),
    optional: bool = False,
    **verify_options: Any,
) -> Authenticate:
    """Middleware trusting the user an ALB authenticated (its `x-amzn-oidc-data`), verified: signed by
    the load balancer `signer` (its ARN) with the key from `key_url` (default: the ALB key endpoint of
    the signer's region). `verify_options`: leeway, timeout, retry_unknown_after."""
    from lift.auth.alb_oidc import ALBOIDCVerifier

    verifier = ALBOIDCVerifier(signer, region=region, key_url=key_url, **verify_options)
    return Authenticate(ALBOIDCAuth(verifier, claim_map), skip=skip, optional=optional)


# -- authorization -------------------------------------------------------------------------


class Require:
    """403 unless `ctx.principal` holds the roles or scopes; 401 when nobody is authenticated."""

    def __init__(self, kind: str, names: tuple[str, ...], match: Match) -> None:
        if not names:
            raise ValueError(f"require_{kind}() needs at least one name")
        if match not in ("all", "any"):
            raise ValueError("match must be 'all' or 'any'")
        self.kind, self.names, self.match = kind, names, match

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        principal = ctx.principal
        if principal is None:
            raise Unauthorized("Authentication required")
        held = principal.has_roles if self.kind == "roles" else principal.has_scopes
        if not held(self.names, self.match):
            ctx._failure_logged = True  # (this is the request's line: the 403's own is not written)
            logger.info(
                "authorization failed (request_id=%s): user %s lacks %s %s of %s",
                ctx.request_id,
                principal.user_id,
                self.match,
                self.kind,
                list(self.names),
                extra={"request_id": ctx.request_id},
            )
            raise self._forbidden()
        return call_next(ctx)

    def _forbidden(self) -> Forbidden:
        if self.kind == "scopes":
            challenge = f'Bearer error="insufficient_scope", scope="{" ".join(self.names)}"'
            return Forbidden("Insufficient scope", headers={"WWW-Authenticate": challenge})
        return Forbidden("Insufficient role")


def require_roles(*roles: str, match: Match = "all") -> Require:
    """Middleware: the principal must hold all of `roles` (or one of them, with match="any")."""
    return Require("roles", roles, match)


def require_scopes(*scopes: str, match: Match = "all") -> Require:
    """Middleware: the token must grant all of `scopes` (or one, with match="any")."""
    return Require("scopes", scopes, match)
