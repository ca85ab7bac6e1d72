"""Response caching middleware: `app.use(cache(ttl=60))`, or on a group or one route.

    from lift.middleware.cache import cache
    from lift.stores import RedisStore

    app.use(jwt_auth(...), tenancy(...), cache(ttl=30, store=RedisStore(url), vary=["Accept-Language"]))

- Key: method (HEAD shares GET's entries), path, sorted query, the `vary` headers' values, and
  the scope: the tenant (`ctx.tenant_id`) whenever one is set, and the user (`ctx.user_id`, or
  a hash of the request's credentials: `Authorization`/`Cookie`/`X-Api-Key`) unless `shared=True`. A
  response whose scope was set *after* the key was made (cache placed before tenancy or auth
  in the chain) is never stored, so a misordered chain costs hits, never a leak.
- Stored: only cacheable statuses (200, 203, 204, 300, 301, 404, 405, 410, 414, 501), no
  `Set-Cookie`, not streamed, and not when the handler says `Cache-Control: no-store`,
  `private` or `no-cache` (`max-age`/`s-maxage` set the TTL), or `Vary` names a header not in
  `vary`. A client's `Cache-Control: no-cache` recomputes (and stores), `no-store` bypasses.
- Headers: `X-Cache: hit|miss|stale`, `Age` on cached answers, an `ETag` (the handler's own,
  else a hash of the body) and `If-None-Match` -> 304.
- A successful POST/PUT/PATCH/DELETE through this middleware invalidates the cached GETs of
  its path and everything below it, and of its parent collection (`PUT /users/42` drops
  `/users/42`, `/users/42/orders` and `/users`). `ctx.cache.invalidate(tags=[...])` from any
  handler drops tagged entries; `add_tags(ctx, "user:42")` tags the response being cached.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from lift.cache.core import Cache, current_request, default_cache, new_entry
from lift.context import Context, Response
from lift.stores.base import scoped_key

__all__ = ["CacheMiddleware", "add_tags", "cache", "entry_name"]

CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 404, 405, 410, 414, 501})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TAGS_STATE = "lift.cache.tags"


def cache(
    ttl: float = 60,
    store: Any = None,
    *,
    key: Callable[[Context], str] | None = None,
    vary: Iterable[str] = (),
    methods: Iterable[str] = ("GET", "HEAD"),
    shared: bool = False,
    tags: Iterable[str] | Callable[[Context], Iterable[str]] = (),
    swr: float = 0,
    statuses: Iterable[int] = CACHEABLE_STATUSES,
    invalidate_on_write: bool = True,
    max_entry_bytes: int = 1024 * 1024,
    metrics: bool = False,
) -> CacheMiddleware:
    """Cache responses for `ttl` seconds in `store` (a `Cache`, a `lift.stores` store as L2 behind
    an in-process L1, a store URL, or None for the process's in-memory cache)."""
    return CacheMiddleware(
        ttl,
        store,
        key=key,
        vary=vary,
        methods=methods,
        shared=shared,
        tags=tags,
        swr=swr,
        statuses=statuses,
        invalidate_on_write=invalidate_on_write,
        max_entry_bytes=max_entry_bytes,
        metrics=metrics,
    )


def add_tags(ctx: Context, *tags: str) -> None:
    """Tag the response this request is computing, for `cache.invalidate(tags=...)` later."""
    ctx.state.setdefault(_TAGS_STATE, []).extend(tags)


def entry_name(path: str) -> str:
    """The name an HTTP entry is kept under: its path and a slash, so `invalidate(prefix=
    entry_name("/users/42"))` drops `/users/42` and below but never `/users/420`."""
    return path.rstrip("/") + "/"


class CacheMiddleware:
    def __init__(
        self,
        ttl: float,
        store: Any,
        *,
        key: Callable[[Context], str] | None,
        vary: Iterable[str],
        methods: Iterable[str],
        shared: bool,
        tags: Iterable[str] | Callable[[Context], Iterable[str]],
        swr: float,
        statuses: Iterable[int],
        invalidate_on_write: bool,
        max_entry_bytes: int,
        metrics: bool,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        if isinstance(store, Cache):
            self.cache = store
        elif store is None:
            self.cache = default_cache()
        else:
            self.cache = Cache(store)
        self.ttl = ttl
        self.key = key
        self.vary = tuple(h.lower() for h in vary)
        self.methods = frozenset(m.upper() for m in methods)
        self.shared = shared
        self.tags = tags if callable(tags) else tuple(tags)
        self.swr = swr
        self.statuses = frozenset(statuses)
        self.invalidate_on_write = invalidate_on_write
        self.max_entry_bytes = max_entry_bytes
        self.metrics = metrics

    # -- the middleware -------------------------------------------------------------------
    def __call__(self, ctx: Context, call_next: Callable[[Context], Response]) -> Response:
        request = ctx.request
        ctx._cache = self.cache  # ctx.cache: this middleware's cache
        if request is None:
            return call_next(ctx)
        method = request.method
        if method not in self.methods:
            response = call_next(ctx)
            if self.invalidate_on_write and method in _WRITES and 200 <= response.status < 300:
                self.invalidate_path(request.path)
            return response
        header = request.headers._values.get  # lower-cased names -> [values]
        bypass = False
        control = header("cache-control")
        pragma = header("pragma")
        if control is not None or pragma is not None:
            # (every line of a repeated header: REST APIs and ALBs pass each one, `max-age=60` then `no-store`)
            client = _directives(", ".join(control) if control else None)
            if "no-store" in client:
                return call_next(ctx)
            bypass = (
                "no-cache" in client
                or client.get("max-age") == "0"
                or "no-cache" in _directives(", ".join(pragma) if pragma else None)
            )
        scope = (ctx.tenant_id, ctx.user_id)
        key = self.key_for(ctx)
        current_request.request_id = ctx._request_id or getattr(ctx.lambda_context, "aws_request_id", None)

        def compute(started: float) -> tuple[Response, Any]:
            response = call_next(ctx)
            return response, self._entry_for(ctx, response, started, scope)

        state, entry, result = self.cache.fetch(key, compute, bypass=bypass)
        if state == "miss":
            response = result
            if response.__class__ is not Response and not isinstance(response, Response):
                from lift.app import to_response

                response = to_response(response)
            if entry is not None and entry.etag and response.header("etag") is None:
                response.headers["ETag"] = entry.etag
            response.headers["X-Cache"] = "miss"
        else:
            response = _response_from(entry, state)
        if self.metrics:
            ctx.metrics.add(f"Cache{state.capitalize()}", 1, "Count")
        if_none_match = header("if-none-match")
        return _conditional(", ".join(if_none_match), response) if if_none_match else response

    # -- keys -----------------------------------------------------------------------------
    def key_for(self, ctx: Context) -> str:
        """This request's key: method, path + sorted query (or `key(ctx)`), vary headers, scope."""
        request = ctx.request
        assert request is not None
        if self.key is not None:
            name = self.key(ctx)
        else:
            query = request.query
            name = _spelled_once(request.path)
            if len(query):
                from urllib.parse import quote

                pairs = sorted((k, v) for k, vs in query.to_dict().items() for v in vs)
                name += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
        header = request.headers._values.get  # lower-cased names -> [values]
        varies = "|".join(_vary_part((header(h) or [""])[0]) for h in self.vary) if self.vary else ""
        who = ""
        if not self.shared:
            if ctx.user_id is not None:
                who = f"u:{ctx.user_id}"
            else:
                credentials = header("authorization")
                cookie = header("cookie")
                api_key = header("x-api-key")  # API Gateway's usage-plan keys: validated there, never a user here
                if credentials or cookie or api_key:
                    raw = f"{(credentials or [''])[0]}\n{(cookie or [''])[0]}\n{(api_key or [''])[0]}"
                    who = "c:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
        if len(varies) > 64:
            varies = hashlib.sha256(varies.encode()).hexdigest()[:32]
        plain = f"{name}{varies}{who}"
        if ctx.tenant_id is not None or "#" in plain or "%" in plain:
            return scoped_key("http", "GET", name, varies, who, tenant_id=ctx.tenant_id)
        return f"g#http#GET#{name}#{varies}#{who}"  # scoped_key's answer, without its escaping work

    # -- what is stored -------------------------------------------------------------------
    def _entry_for(self, ctx: Context, response: Any, started: float, scope: tuple[Any, Any]) -> Any:
        request = ctx.request
        assert request is not None
        if not isinstance(response, Response) or response.status not in self.statuses or response.cookies:
            return None
        if response.header("set-cookie") is not None:  # a cookie set as a plain header is one too
            return None
        if hasattr(response, "chunks"):  # streamed: never buffered into the cache
            return None
        if (ctx.tenant_id, ctx.user_id) != scope:
            from lift.errors import lift_logger

            lift_logger().warning(
                "cache: %s set the tenant or user after the cache middleware made its key; not caching it "
                "(put cache() after auth and tenancy middleware)",
                ctx.route or request.path,
            )
            return None
        ttl = self.ttl
        directives = _directives(response.header("cache-control"))
        if directives:
            if "no-store" in directives or "private" in directives or "no-cache" in directives:
                return None
            max_age = directives.get("s-maxage") or directives.get("max-age")
            if max_age is not None:
                try:
                    ttl = int(max_age)
                except ValueError:
                    return None
                if ttl <= 0:
                    return None
        vary = response.header("vary")
        if vary:
            names = {v.strip().lower() for v in vary.split(",") if v.strip()}
            if "*" in names or not names.issubset({*self.vary, "accept-encoding", "origin"}):
                return None
        body = response.body
        if len(body) > self.max_entry_bytes:
            return None
        etag = response.header("etag") or '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("x-cache", "age", "etag")}
        headers["ETag"] = etag
        tags = self.tags(ctx) if callable(self.tags) else self.tags
        path = _spelled_once(request.path)
        all_tags = (f"path:{entry_name(path)}", *tags, *ctx.state.get(_TAGS_STATE, ()))
        value = {"s": response.status, "h": headers, "b": body}
        size = len(body) + sum(len(k) + len(v) for k, v in headers.items()) + 200
        return new_entry(
            value, ttl, swr=self.swr, name=entry_name(path), tags=all_tags, etag=etag, size=size, started_at=started
        )

    # -- invalidation ---------------------------------------------------------------------
    def invalidate_path(self, path: str) -> None:
        """Drop the cached GETs of `path`, everything below it and its parent collection."""
        name = entry_name(_spelled_once(path))
        self.cache.invalidate(prefix=name)
        parent = name.rstrip("/").rpartition("/")[0]
        self.cache.invalidate(tags=[f"path:{entry_name(parent)}"])


def _spelled_once(path: str) -> str:
    """The path in the one spelling the router reads it in (`routing.canonical_path`): `/users/%34%32`,
    `/users/42`, `/caf%c3%a9` and `/caf%C3%A9` name one resource, so they share an entry, and a write
    through any spelling drops the cached GETs of every other (a `%2F` stays a `%2F`)."""
    if "%" not in path and path.isascii():
        return path
    from lift.routing import canonical_path

    return canonical_path(path)


def _response_from(entry: Any, state: str) -> Response:
    value = entry.value
    body = value["b"]
    if isinstance(body, str):  # read back from an L2 store: msgspec kept the bytes as base64
        body = base64.b64decode(body)
    response = Response.__new__(Response)
    response.status = value["s"]
    response.headers = dict(value["h"])
    response.cookies = []
    response.body = body
    response.headers["Age"] = str(entry.age())
    response.headers["X-Cache"] = state
    return response


def _vary_part(value: str) -> str:
    """A vary header's value as one unambiguous part of the key: `|` (the separator) and `%` escaped, so
    ("x|y", "") and ("x", "y|") are two keys, and no client can make its answer another's."""
    if "|" in value or "%" in value:
        return value.replace("%", "%25").replace("|", "%7C")
    return value


def _directives(header: str | None) -> dict[str, str | None]:
    """`Cache-Control` as {directive: value or None}, names lower-cased."""
    if not header:
        return {}
    out: dict[str, str | None] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if name:
            out[name.lower()] = value.strip('"') if sep else None
    return out


def _conditional(if_none_match: str | None, response: Response) -> Response:
    """A 304 when the client already has this representation (weak comparison, RFC 9110)."""
    if not if_none_match or response.status != 200:
        return response
    etag = response.header("etag")
    if etag is None:
        return response
    wanted = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    if "*" not in wanted and etag.removeprefix("W/") not in wanted:
        return response
    kept = {"ETag": etag}
    for name in ("Cache-Control", "Vary", "Age", "X-Cache", "Expires", "Content-Location"):
        value = response.header(name)
        if value is not None:
            kept[name] = value
    return Response(None, 304, kept)
