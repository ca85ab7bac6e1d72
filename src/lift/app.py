"""App: registration (routes, groups, middleware, error handlers) and dispatch.

Everything that can be decided at registration is: templates are compiled into the
router, handler signatures into binders, and middleware into one chain per endpoint.
`App.handler` then only detects the source, normalizes lazily, looks up, and calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from lift import errors as _errors
from lift import serialization
from lift.binding import Binder, InvalidBody, Plan, handler_name, route_binder
from lift.context import Context, LazyRequestContext, Request, Response
from lift.errors import (  # (BadRequest, NotFound, ...: read as _errors.X where raised, made on first use)
    LiftError,
    ValidationFailed,
    final_status,
    find_lift_error,
    is_final_status,
)
from lift.errors import lift_logger as _logger
from lift.routing import PathEntry, Router, has_dot_segment, normalize_path
from lift.sources import HTTP_SOURCES, RECORD_SOURCES, LazyModule, apigw_rest, source_of
from lift.sources.registry import EventSources
from lift.validation import Report

__all__ = ["App", "Group", "Endpoint", "Middleware"]

event_shape = LazyModule("lift.sources.event_shape", globals())  # read only once a request failed
_async_loop = LazyModule("lift.async_loop", globals(), "_async_loop")  # read once an async handler is prepared

Middleware = Callable[[Context, Callable[[Context], Response]], Response]
Handler = Callable[[Context], Response]
_F = TypeVar("_F", bound=Callable[..., Any])  # a decorated function keeps its own type

_encode = serialization.encode_json
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_NO_BODY = (204, 304)  # the statuses HTTP forbids a body
# The HTTP sources besides REST, each imported with its dispatcher built on its first event
# (App._first_http_event): a REST-only app never loads them (about 2.0M instructions of init).
_LAZY_HTTP_MODULES = {"http": "lift.sources.apigw_http", "alb": "lift.sources.alb", "url": "lift.sources.function_url"}
# each HTTP source module's request class: its body is the event's own (Binder.call_direct)
_REQUEST_CLASSES = {
    "lift.sources.apigw_rest": "RestRequest",
    "lift.sources.apigw_http": "HttpApiRequest",
    "lift.sources.function_url": "FunctionUrlRequest",
    "lift.sources.alb": "AlbRequest",
}
_ONE_VERB: dict[str, tuple[str, ...]] = {verb: (verb,) for verb in _HTTP_METHODS}
_NO_MIDDLEWARE: tuple[Middleware, ...] = ()  # a route's own middleware when it has none (nothing to allocate)
_SCHEMA_OPTIONS = frozenset({"request_schema", "response_schema", "validators", "validate_response"})
_MAYBE_TOO_LARGE = 4 * 1024 * 1024  # bodies above this may pass Lambda's 6 MB limit once encoded
_ALB_MAYBE_TOO_LARGE = 400 * 1024  # ... and an ALB's 1 MB (its answer: the body escaped in JSON)
# return annotations that never hold a model, so never a PII field (lift.pii.carries_pii is not asked)
_PLAIN_RETURNS = frozenset({dict, list, str, bytes, int, float, bool, type(None), Any, Response})
_SHAPED_SOURCES = HTTP_SOURCES | {"lattice"}  # request sources whose malformed events are a 400 (event_shape)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class Endpoint:
    """One registered handler: its binder, middleware and the chain composed around it."""

    # On an HTTP source's direct path, whether the Context gets its Request made only when first read
    # (`LazyRequestContext`): yes unless the route's direct call reads it itself (a header, the query,
    # a body the inline decode does not take), known once that call is made (its first request)
    lazy_request = True
    # Until `prepare` sets it on the instance: not yet prepared (a class attribute: one store fewer
    # per route at registration, which is cold-start time)
    prepared = False

    def __init__(
        self,
        app: App,
        fn: Callable[..., Any],
        template: str,
        methods: tuple[str, ...],
        status: int,
        middleware: Sequence[Middleware],
        group: Group | None,
        binder: Binder,
        meta: dict[str, Any],
    ) -> None:
        self.app = app
        self.fn = fn
        self.template = template
        self.methods = methods
        self.status = status
        self.middleware = middleware
        self.group = group
        self.binder = binder
        self.meta = meta
        # the middleware `compose` found (None: none). Stored here, though `compose` sets it again: an
        # attribute every instance stores in `__init__` stays in the slots the class's instances share;
        # one first stored later may no longer fit there, and each route would then get a dict of its own
        self._links: list[Middleware] | None = None
        # (a route answering 204 or 304 takes the general path, whose answer drops the body HTTP forbids them)
        self.direct = not binder.is_async and "HEAD" not in methods and not app.middleware and status not in _NO_BODY
        # `direct and lazy_request`, kept in step with both: the one test of an HTTP source's direct path
        self.lazy_direct = self.direct
        # `run` (the innermost link), `chain` (the middleware composed around it, or `run` itself),
        # `call` and `call_direct` (the handler's own result, for an HTTP source's direct path) are
        # made on first use (`prepare`), not at registration: most routes of a large app are never
        # called by a given execution environment, and registration is cold-start time. Until then
        # `run` and `chain` are this endpoint itself (its `__call__`), `call` and `call_direct` one
        # method of it, each preparing the endpoint and handing the call on. (The endpoint, not a
        # second bound method: one object fewer per route for the garbage collector to walk.)
        self.run: Handler = self
        self.chain: Handler = self
        # No middleware around a sync handler: an HTTP source may call `binder.call` itself and
        # encode a dict or list result straight into its response (App._http_handler), or
        # call_direct(ctx, value of the route's one trailing parameter or None) on its direct path.
        self.call: Handler
        self.call_direct: Callable[[Context, str | None], Any]
        self.call = self.call_direct = self._call_first

    def prepare(self) -> None:
        """Make `run`, `chain` (around `run`, the middleware `compose` found) and `call`, once."""
        if self.prepared:
            return
        run = self.run = self._build_run()
        links = self._links
        self.chain = compose(links, run) if links else run
        self.call = self.binder.call
        # Last: a thread that finds it set finds everything above made (two threads meeting a route's
        # first request at once may both make it; either's is the same call).
        self.prepared = True

    def __call__(self, ctx: Context) -> Response:
        # (`run` and `chain` until prepared; only a chain calls it, never a middleware link: links
        # are composed around the `run` that `prepare` makes)
        self.prepare()
        return self.chain(ctx)

    def _call_first(self, ctx: Context, *value: str | None) -> Any:
        if not value:
            self.prepare()
            return self.call(ctx)
        # the direct path needs only the direct call: `call`, `run` and `chain` (another compile of
        # generated code) are made when some other path first needs them (`prepare`)
        call = self.call_direct = self.binder.compile_direct()
        self.lazy_request = not self.binder.plan.direct_reads_request
        self.lazy_direct = self.direct and self.lazy_request
        return call(ctx, *value)

    def rebind(self, binder: Binder) -> None:
        """Take `binder` (the same handler's, made again: `App.max_body_size` changed); `run`, `chain`,
        `call` and `call_direct` are made from it on the next request, as for a new route."""
        self.binder = binder
        self.__dict__.pop("prepared", None)
        self.__dict__.pop("lazy_request", None)
        self.lazy_direct = self.direct
        self.run = self.chain = self
        self.call = self.call_direct = self._call_first

    def all_middleware(self) -> list[Middleware]:
        """Global, then each enclosing group's, then the route's own middleware."""
        chain = list(self.app.middleware)
        if self.group is not None:
            chain.extend(self.group.all_middleware())
        chain.extend(self.middleware)
        return chain

    def compose(self) -> None:
        """Note the route's middleware (again, when some was added): its chain is composed now if the
        route has been prepared, else by `prepare`, with the middleware found here."""
        if self.group is None and not self.middleware:  # (the common route: no list of its own to build)
            # the app's own list, shared: composing copies it, and `use` composes every route again
            middleware: list[Middleware] = self.app.middleware
        else:
            middleware = self.all_middleware()
        self._links = middleware or None
        if self.prepared:
            self.chain = compose(middleware, self.run) if middleware else self.run
        self.direct = (
            not self.binder.is_async and "HEAD" not in self.methods and not middleware and self.status not in _NO_BODY
        )
        self.lazy_direct = self.direct and self.lazy_request

    def _build_run(self) -> Handler:
        """The innermost link: call the handler, turn its result (or error) into a Response."""
        call, is_async, status, app = self.binder.call, self.binder.is_async, self.status, self.app
        new = object.__new__

        def run(ctx: Context) -> Response:
            try:
                result = call(ctx)
                if is_async:
                    result = _async_loop.run_async(result)  # (a global: no closure cell for sync routes' `run`)
                cls = result.__class__
                if cls is dict or cls is list:
                    response = new(Response)
                    response.status, response.body = status, _encode(result)
                    response.headers, response.cookies = {"Content-Type": "application/json"}, []
                    return response
                if cls is Response:
                    return result
                return to_response(result, status)
            except Exception as exc:
                return app.error_response(ctx, exc)

        return run

    def __repr__(self) -> str:
        return f"<Endpoint {'|'.join(self.methods)} {self.template} -> {handler_name(self.fn)}>"


def compose(middleware: Iterable[Middleware], endpoint: Handler) -> Handler:
    """Wrap `endpoint` in `middleware`, the first one outermost."""
    if middleware.__class__ is list and not middleware:
        return endpoint
    call = endpoint
    for mw in reversed(list(middleware)):
        call = _link(mw, call)
    return call


def _link(mw: Middleware, call_next: Handler) -> Handler:
    def call(ctx: Context) -> Response:
        return mw(ctx, call_next)

    call.__qualname__ = f"chain[{getattr(mw, '__qualname__', type(mw).__name__)}]"
    return call


def _may_carry_pii(returns: Any) -> bool:
    """Whether a route's return annotation holds a model with a PII field (lift.pii.carries_pii);
    the usual plain annotations are answered without importing lift.pii."""
    try:
        if returns in _PLAIN_RETURNS:
            return False
    except TypeError:  # an unhashable annotation object: not a type, nothing to mask
        return False
    from lift.pii import carries_pii

    return carries_pii(returns)


def to_response(result: Any, status: int = 200) -> Response:
    """A handler's return value as a Response: None -> 204, str -> text, else JSON."""
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(None, 204 if status == 200 else status)
    if isinstance(result, bytes | str):
        return Response(result, status)
    return Response._raw(serialization.encode_json(result), status, "application/json")


class Group:
    """Routes under a common prefix sharing middleware; groups nest and inherit."""

    def __init__(
        self, app: App, prefix: str, middleware: Iterable[Middleware] = (), parent: Group | None = None
    ) -> None:
        self.app = app
        self.prefix = "" if prefix in ("", "/") else normalize_path(prefix)
        self.middleware: list[Middleware] = list(middleware)
        self.parent = parent

    def all_middleware(self) -> list[Middleware]:
        inherited = self.parent.all_middleware() if self.parent is not None else []
        return inherited + self.middleware

    def use(self, *middleware: Middleware) -> None:
        self.middleware.extend(middleware)
        self.app._compose_all()

    def group(self, prefix: str, middleware: Iterable[Middleware] = ()) -> Group:
        return Group(self.app, self.prefix + normalize_path(prefix), middleware, parent=self)

    def route(self, path: str, methods: Iterable[str] | None = None, **options: Any) -> Callable[[_F], _F]:
        if path.__class__ is not str:
            raise _errors.needs_arguments(
                path, "@app.route takes a path", '@app.route("/path", methods=[...]) above it'
            )
        full, app, group = self._full_path(path), self.app, self._own()

        def register(fn: _F) -> _F:
            app.add_route(full, fn, methods, group=group, **options)
            return fn

        return register

    def get(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["GET"], options)

    def post(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["POST"], options)

    def put(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["PUT"], options)

    def patch(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["PATCH"], options)

    def delete(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["DELETE"], options)

    def head(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["HEAD"], options)

    def options(self, path: str, **options: Any) -> Callable[[_F], _F]:
        return self._one_verb(path, _ONE_VERB["OPTIONS"], options)

    def _full_path(self, path: str) -> str:
        """`path` under this group's prefix (the router normalizes a path without one)."""
        prefix = self.prefix
        if not prefix:
            return path
        return prefix + normalize_path(path) if path not in ("", "/") else prefix

    def _own(self) -> Group | None:
        """The group a route registered here belongs to (None: the app itself)."""
        return None if self is self.app else self

    def _one_verb(self, path: str, verbs: tuple[str, ...], options: dict[str, Any]) -> Callable[[_F], _F]:
        """`route(path, [verb], **options)`; a route with no option but `status` (the commonest) is
        registered without gathering and passing keyword arguments (registration is cold-start time)."""
        if path.__class__ is not str:
            raise _errors.needs_arguments(
                path, f"@app.{verbs[0].lower()} takes a path", f'@app.{verbs[0].lower()}("/path") above it'
            )
        if options and (len(options) > 1 or "status" not in options):
            return self.route(path, list(verbs), **options)
        app, status = self.app, options["status"] if options else 200
        if self is app:  # (`_full_path` and `_own` of the app itself, without their calls)
            full, group = path, None
        else:
            full, group = self._full_path(path), self

        def register(fn: _F) -> _F:
            app._add_route(full, fn, verbs, status, _NO_MIDDLEWARE, group, None)
            return fn

        return register


class App(Group, EventSources):
    """A Lift application: one entry point (`handler`) for every Lambda event source."""

    def __init__(
        self, name: str | None = None, *, max_body_size: int | None = None, base_path: str | None = None
    ) -> None:
        super().__init__(self, "")
        self.name = name or os.environ.get("LIFT_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "lift"
        self._max_body_size = max_body_size or _env_int("LIFT_MAX_BODY_SIZE", 6 * 1024 * 1024)
        base = base_path if base_path is not None else os.environ.get("LIFT_BASE_PATH", "")
        self.base_path = "" if base in ("", "/") else normalize_path(base)
        self.router = Router()
        self.endpoints: list[Endpoint] = []
        self._plans: dict[tuple[Any, ...], Plan] = {}  # the routes' signature shapes (build_binder)
        self._exception_handlers: dict[type[BaseException], Callable[[Context, Any], Any]] = {}
        self._handler_cache: dict[type[BaseException], Callable[[Context, Any], Any] | None] = {}
        # Provisioned concurrency initialises the environment ahead of any request: its first one
        # is no cold start (for logs, ColdStart, traces), as Lambda and X-Ray count them
        self._cold = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"
        self._invocation_hooks = ()  # (set on the instance too: read on every request, found quicker there)
        self._request_makers: dict[str, Callable[[Context], Request]] = {}  # source -> its lazy requests' maker
        self._dispatch: dict[str, Callable[..., Any]] = {"rest": self._http_handler(apigw_rest)}
        for source in _LAZY_HTTP_MODULES:
            self._dispatch[source] = self._first_http_event
        self._init_event_sources()
        self._not_found_endpoint = self._make_endpoint(_default_not_found, 404)
        self._not_found_endpoint.prepare()
        self._not_found_chain: Handler = self._not_found_endpoint.run
        self._method_chain: Handler = _method_not_allowed
        self._bad_path_chain: Handler = _bad_path_refused
        self._compose_all()
        if type(self).handler is App.handler:  # (a subclass's own `handler` is left alone)
            self.handler = self._rest_first_handler()  # type: ignore[method-assign]

    # -- registration -------------------------------------------------------------
    def use(self, *middleware: Middleware) -> None:
        """Add global middleware (runs for every request and record, 404/405 included)."""
        self.middleware.extend(middleware)
        self._compose_all()

    def group(self, prefix: str, middleware: Iterable[Middleware] = ()) -> Group:
        return Group(self, prefix, middleware)

    def all_middleware(self) -> list[Middleware]:
        return []  # the app's own middleware is the global part, added once by Endpoint

    def _compose_all(self) -> None:
        if not hasattr(self, "endpoints"):
            return
        for endpoint in self.endpoints:
            endpoint.compose()
        self._not_found_chain = compose(self.middleware, self._not_found_endpoint.run)
        self._method_chain = compose(self.middleware, _method_not_allowed)
        self._preflight_chains: dict[Endpoint, Handler] = {}
        self._bad_path_chain = compose(self.middleware, _bad_path_refused)
        self._compose_event_handlers()
        self._note_plain_not_found()

    def _note_plain_not_found(self) -> None:
        """Whether a 404 is the default one, untouched by middleware or exception handlers (then
        an HTTP source answers it without a Context; see `_http_handler`)."""
        not_found = self._not_found_endpoint
        self._plain_not_found = (
            not_found.fn is _default_not_found
            and self._not_found_chain is not_found.run
            and not self._exception_handlers
        )

    @property
    def max_body_size(self) -> int:
        """The largest request body accepted, in bytes (a 413 beyond it): `App(max_body_size=...)`,
        `LIFT_MAX_BODY_SIZE`, or set here at any time (routes registered before take the new limit)."""
        return self._max_body_size

    @max_body_size.setter
    def max_body_size(self, size: int) -> None:
        if size.__class__ is not int or size <= 0:
            raise ValueError(f"max_body_size must be a positive number of bytes, not {size!r}")
        if size == self._max_body_size:
            return
        self._max_body_size = size
        for endpoint in self.endpoints:  # a typed body's limit is part of its route's call: made again
            entry = self.router.entry_for(endpoint.template)
            endpoint.rebind(self._make_binder(endpoint.fn, entry.param_names))

    def _make_binder(self, fn: Callable[..., Any], path_params: Sequence[str]) -> Binder:
        binder = route_binder(fn, path_params, self._max_body_size, self._plans)
        returns = binder.returns  # (`-> dict` and the like answered here, without a call)
        if (
            returns is not None
            and not (returns.__class__ is type and returns in _PLAIN_RETURNS)
            and _may_carry_pii(returns)
        ):
            from lift.pii import mask_results

            mask_results(binder)  # its results are masked for callers without the PII fields' roles
        return binder

    def _make_endpoint(self, fn: Callable[..., Any], status: int) -> Endpoint:
        """The endpoint of the not-found handler `fn`: no template, any method."""
        return Endpoint(self, fn, "", ("*",), status, [], None, self._make_binder(fn, ()), {})

    def add_route(
        self,
        path: str,
        fn: Callable[..., Any],
        methods: Iterable[str] | None = None,
        *,
        status: int = 200,
        middleware: Iterable[Middleware] = (),
        group: Group | None = None,
        **meta: Any,
    ) -> Endpoint:
        """Register `fn` for `path` and `methods` (GET by default); fails on conflicts."""
        given: Any = methods
        if given.__class__ is list and len(given) == 1 and given[0].__class__ is str and given[0] in _ONE_VERB:
            verbs = _ONE_VERB[given[0]]  # app.route(..., ["GET"]) and the like: one shared tuple
        else:
            verbs = tuple(m.upper() for m in (methods or ["GET"]))
            for verb in verbs:
                if verb not in _HTTP_METHODS:
                    raise ValueError(f"Unknown HTTP method {verb!r} for route {path}")
        return self._add_route(path, fn, verbs, status, middleware, group, meta)

    def _add_route(
        self,
        path: str,
        fn: Callable[..., Any],
        verbs: tuple[str, ...],
        status: int,
        middleware: Iterable[Middleware],
        group: Group | None,
        meta: dict[str, Any] | None,
    ) -> Endpoint:
        """`add_route` with its methods read (`verbs`: upper case, known) and its options gathered."""
        if status.__class__ is not int or not 200 <= status <= 599:
            status = final_status(status)  # a clear TypeError/ValueError at registration, not a 502 per request
        own: list[Middleware] | None = list(middleware) if middleware else None  # (no list for the common route)
        checks = None
        if meta and not _SCHEMA_OPTIONS.isdisjoint(meta):  # request_schema=, validators=, ... (lift.schema)
            from lift.schema import route_validation

            checks = route_validation(fn, meta)
            own = [*(own or ()), checks]
        entry = self.router.entry_for(path)
        binder = self._make_binder(fn, entry.param_names)
        endpoint = Endpoint(self, fn, entry.template, verbs, status, own or _NO_MIDDLEWARE, group, binder, meta or {})
        if checks is not None:
            checks.endpoint = endpoint
        for verb in verbs:
            entry.add(verb, endpoint)
        if own or group is not None or self.middleware:  # (else the endpoint is as `compose` leaves it)
            endpoint.compose()
        self.endpoints.append(endpoint)
        return endpoint

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[_F], _F]:
        """Register `fn(ctx, exc) -> Response | value` for `exc_type` (and subclasses)."""

        def register(fn: _F) -> _F:
            self._exception_handlers[exc_type] = fn
            self._handler_cache.clear()
            self._note_plain_not_found()
            return fn

        return register

    def not_found(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register the handler for paths no route matches (its result is sent with 404)."""
        self._not_found_endpoint = self._make_endpoint(fn, 404)
        self._not_found_endpoint.prepare()  # (`_note_plain_not_found` compares its `run`)
        self._compose_all()
        return fn

    # -- errors -------------------------------------------------------------------
    def _exception_handler_for(self, exc_type: type[BaseException]) -> Callable[[Context, Any], Any] | None:
        try:
            return self._handler_cache[exc_type]
        except KeyError:
            mro = exc_type.__mro__
            if issubclass(exc_type, LiftError):  # a handler for Exception must not swallow 404s and 422s
                mro = mro[: mro.index(LiftError) + 1]
            found = next((self._exception_handlers[t] for t in mro if t in self._exception_handlers), None)
            self._handler_cache[exc_type] = found
            return found

    def error_response(self, ctx: Context, exc: BaseException) -> Response:
        """The error contract for `exc`: a LiftError's own status, anything else a logged 500."""
        custom = self._exception_handlers and self._exception_handler_for(type(exc))
        if custom:
            try:
                # a plain value keeps a LiftError's own status (a handler for NotFound that returns
                # a dict answers 404); for any other exception it is sent with 500
                return to_response(custom(ctx, exc), exc.status if isinstance(exc, LiftError) else 500)
            except Exception as inner:
                exc = inner
        err = find_lift_error(exc)
        request_id = ctx.request_id
        if err is not None and (err.code == "invalid_json" or err.code == "invalid_form") and ctx.is_http:
            err = _compressed_body(ctx.request) or err  # (a gzip body is no JSON or form syntax error)
        if err is None and ctx.source in _SHAPED_SOURCES and (found := event_shape.problems(ctx.event, ctx.source)):
            err = event_shape.malformed_event(ctx.source, found)  # a field of the wrong type: the event's fault
            _logger().warning(
                "Malformed %s event (request_id=%s): %s: %s (%s: %s)",
                ctx.source,
                request_id,
                found[0]["path"],
                found[0]["message"],
                type(exc).__name__,
                exc,
                extra={"request_id": request_id, "details": found},
            )
        elif err is None:
            _logger().error(
                "Unhandled %s in %s (request_id=%s)",
                type(exc).__name__,
                _where(ctx),
                request_id,
                exc_info=exc,
                extra={"request_id": request_id, "lift_ctx": ctx},
            )
            err = _errors.InternalError()
        elif not (err.status.__class__ is int and 200 <= err.status <= 599) and not is_final_status(err.status):
            _logger().error(
                "%s %r carries status %r, not a final HTTP status (200-599), in %s (request_id=%s): answered 500",
                type(err).__name__,
                err.code,
                err.status,
                _where(ctx),
                request_id,
                exc_info=exc,
                extra={"request_id": request_id, "lift_ctx": ctx},
            )
            err = _errors.InternalError()
        elif err.status >= 500:
            # (a maker, or a middleware for this request, that wrote its own line said more than this one would)
            if not err.logged and not getattr(ctx, "_failure_logged", False):
                _logger().error(
                    "%s %s in %s (request_id=%s): %s",
                    err.status,
                    err.code,
                    _where(ctx),
                    request_id,
                    err.message,
                    exc_info=exc,
                    extra={"request_id": request_id, "lift_ctx": ctx},
                )
        elif (logger := _logger()).isEnabledFor(20) and not getattr(ctx, "_failure_logged", False):
            # INFO: the 4xx line (unless a middleware wrote this request's line: auth's reason for its 401, say)
            # logger.info(...) without its second level check and its search of the stack for the
            # caller (findCaller: the same answer every time, found once): the record as it makes it
            global _client_error_site
            site = _client_error_site
            if site is None:
                site = _client_error_site = logger.findCaller()[:3]  # (this line, in error_response)
            extra = {"request_id": request_id, "details": err.details, "lift_ctx": ctx}
            card_free = err._card_free
            if not custom and card_free is not None and card_free[0] is err.details:
                # a validator's report quoting nothing from the input, as made: JSON lines skip its
                # redaction walk (no secret or card number can be in it; its 422 body is not scanned either)
                extra["lift_clean"] = err.details
            logger.handle(
                logger.makeRecord(
                    logger.name,
                    20,
                    site[0],
                    site[1],
                    "%s %s in %s (request_id=%s): %s",
                    (err.status, err.code, _where(ctx), request_id, err.message),
                    None,
                    site[2],
                    extra,
                )
            )
        body = err.to_dict(request_id)
        try:
            encoded = _encode(body)
        except TypeError:  # details JSON cannot hold (an exception object, ...): sent as their text
            body["error"]["details"] = serialization.jsonable(err.details)
            encoded = _encode(body)
        # A validator's report that quotes nothing from the input (ValidationFailed.report) needs no
        # scan while it is unchanged; not after a custom handler has had it (and raised)
        card_free = None if custom else err._card_free
        if (card_free is None or card_free[0] is not err.details or card_free[1] is not err.message) and _may_hold_card(
            err.message, body["error"]["details"]
        ):  # error bodies never carry a card number
            from lift.observability.redaction import redact_cards

            encoded = _encode(redact_cards(body))
        resp = Response._raw(encoded, err.status, "application/json")
        if err.headers:
            resp.headers.update(err.headers)
        return resp

    def status_fault(self, ctx: Context, response: Response) -> Response:
        """The answer for a Response whose status was set, after it was made, to something no HTTP
        client can be sent (API Gateway would answer 502), or to an informational 1xx (101 too: Lift
        switches no protocol, and an ASGI server drops the connection on one): the error contract's
        500, and one ERROR line with the request id. A valid status that is not a plain int (`HTTPStatus`) is kept."""
        if is_final_status(response.status):
            response.status = int(response.status)
            return response
        request_id = ctx.request_id
        _logger().error(
            "Response status %r is not a final HTTP status (200-599) in %s (request_id=%s): answered 500",
            response.status,
            _where(ctx),
            request_id,
            extra={"request_id": request_id, "lift_ctx": ctx},
        )
        return Response._raw(_encode(_errors.InternalError().to_dict(request_id)), 500, "application/json")

    def sendable(self, ctx: Context, response: Response) -> Response:
        """`response` with header values AWS can send: a value that is not text (`{"X-Count": 5}`) as its
        text, as app.asgi sends it; a header or cookie holding a line break or NUL (a client's `%0d%0a`
        echoed into a Location) is the error contract's 500 with its ERROR line, as app.asgi answers
        it (API Gateway and ALB would answer 502, and no line of the app's would say why)."""
        from lift.asgi import UnsendableHeader

        headers = response.headers
        lines = [(name, value if value.__class__ is str else str(value)) for name, value in headers.items()]
        lines += [("Set-Cookie", cookie if cookie.__class__ is str else str(cookie)) for cookie in response.cookies]
        for name, value in lines:
            if not value.isprintable() and ("\r" in value or "\n" in value or "\0" in value):
                error = UnsendableHeader(f"Response header {name!r} holds a line break or NUL, which HTTP cannot carry")
                return self.error_response(ctx, error)
        for name, value in lines[: len(headers)]:
            headers[name] = value
        response.cookies = [value for _, value in lines[len(headers) :]]
        return response

    # -- dispatch -------------------------------------------------------------------
    def handler(self, event: Any, context: Any = None) -> Any:
        """The Lambda entry point: `handler(event, context) -> dict`."""
        if type(event) is dict and "resource" in event and "httpMethod" in event and "methodArn" not in event:
            source = "rest"  # the commonest event, decided without a call (no ALB/WebSocket/authorizer has these)
        elif type(event) is dict and "Records" in event:  # a batch: its first record names the service
            try:
                first = event["Records"][0]
                source = RECORD_SOURCES[first["eventSource"] if "eventSource" in first else first["EventSource"]]
            except (KeyError, IndexError, TypeError):  # not a batch AWS sends: the full test decides
                source = source_of(event)
        else:
            source = source_of(event)
        dispatch = self._dispatch.get(source)
        if dispatch is None:
            return self._unmatched(event, context, source)
        try:
            return dispatch(event, context, source)
        finally:
            if self._invocation_hooks:
                self._end_invocation(event)

    __call__ = handler

    def _rest_first_handler(self) -> Callable[..., Any]:
        """`handler` as this app's own function, set on the instance: the same steps as the
        method without its bound call (kept in step with `App.handler`)."""
        dispatch, app = self._dispatch, self

        # the last HTTP API/function URL domain seen, its source, and whether it is API Gateway's own
        url_domain, v2_source, v2_own = "", "http", False

        def handler(event: Any, context: Any = None) -> Any:  # App.handler's own steps, in one frame
            nonlocal url_domain, v2_source, v2_own
            if event.__class__ is not dict:
                source = source_of(event)
            elif "resource" in event and "httpMethod" in event and "methodArn" not in event:
                try:  # the commonest event: its dispatcher (always registered) called at once
                    return dispatch["rest"](event, context, "rest")
                finally:
                    if app._invocation_hooks:  # (a hook may be added during the request)
                        app._end_invocation(event)
            elif "rawPath" in event and "routeArn" not in event:  # source_of's HTTP API/function URL test, inlined
                try:  # an HTTP API's and a function URL's events differ in their domain only: one test per domain
                    domain = event["requestContext"]["domainName"]
                    if domain != url_domain:
                        url = ".lambda-url." in domain
                        url_domain, v2_source, v2_own = domain, "url" if url else "http", ".execute-api." in domain
                except (KeyError, TypeError):
                    source = source_of(event)
                else:  # its dispatcher (always registered: App.__init__) called at once, as REST's, told
                    try:  # whether the domain is API Gateway's own (it need not read it again; register_source)
                        return dispatch[v2_source](event, context, v2_source, v2_own)
                    finally:
                        if app._invocation_hooks:
                            app._end_invocation(event)
            elif "httpMethod" in event and (rc := event.get("requestContext")).__class__ is dict and "elb" in rc:
                try:  # (source_of's first HTTP test, inlined) its dispatcher called at once
                    return dispatch["alb"](event, context, "alb")
                finally:
                    if app._invocation_hooks:
                        app._end_invocation(event)
            elif "Records" in event:
                try:
                    first = event["Records"][0]
                    source = RECORD_SOURCES[first["eventSource"] if "eventSource" in first else first["EventSource"]]
                except (KeyError, IndexError, TypeError):
                    source = source_of(event)
            else:
                source = source_of(event)
            run = dispatch.get(source)
            if run is None:
                return app._unmatched(event, context, source)
            try:
                return run(event, context, source)
            finally:
                if app._invocation_hooks:  # (a hook may be added during the request)
                    app._end_invocation(event)

        handler.__doc__ = App.handler.__doc__
        handler.__qualname__ = "App.handler"
        return handler

    # -- lifecycle: invocation hooks, health, resources (lift.health / lift.resources) ----------
    _invocation_hooks: tuple[Callable[[Any], Any], ...] = ()
    _plain_not_found = False
    _health: Any = None
    _resources: Any = None

    def on_invocation_end(self, hook: Callable[[Any], Any]) -> None:
        """Call `hook(event)` after every invocation (e.g. to flush metrics). Added once."""
        if hook not in self._invocation_hooks:
            self._invocation_hooks = (*self._invocation_hooks, hook)

    def _end_invocation(self, event: Any) -> None:
        for hook in self._invocation_hooks:
            try:
                hook(event)
            except Exception:
                _logger().exception("invocation hook %r failed", hook)

    @property
    def health(self) -> Any:
        """The `lift.health.HealthRegistry` of this app (mount it with `app.health.mount(app)`)."""
        if self._health is None:
            from lift.health import HealthRegistry

            self._health = HealthRegistry()
        return self._health

    @property
    def resources(self) -> Any:
        """The `lift.resources.ResourceRegistry` behind `app.resource` / `ctx.resource`."""
        if self._resources is None:
            from lift.resources import ResourceRegistry, extension_present, install_sigterm_handler

            self._resources = ResourceRegistry()
            if extension_present():
                install_sigterm_handler(self.shutdown)
            if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
                from lift.snapstart import install

                install(self)  # resources made before the snapshot, re-created after each restore
        return self._resources

    def resource(
        self,
        name: str,
        factory: Callable[[], Any],
        close: Callable[[Any], Any] | None = None,
        prewarm: bool = True,
        **options: Any,
    ) -> None:
        """Register a shared resource, created once per execution environment (see lift.resources)."""
        self.resources.add(name, factory, close=close, prewarm=prewarm, **options)

    connection_store: Any = None  # set by lift.websocket.connections.track_connections

    @property
    def jobs(self) -> Any:
        """The app's `lift.jobs.Jobs`: `app.jobs.configure(store=..., queue=...)`, `app.jobs.mount(app)`."""
        from lift.jobs import jobs_of

        return jobs_of(self)

    def job(self, name: str, *, max_attempts: int = 3) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Define long-running job `name`: `fn(ctx, body: Model, progress)`, started with
        `ctx.jobs.start(name, body)` and run outside the request (see lift.jobs)."""
        if name.__class__ is not str:
            raise _errors.needs_arguments(name, "@app.job takes the job's name", '@app.job("name") above it')
        return self.jobs.define(name, max_attempts=max_attempts)

    slos: list[Any] = []  # lift.slo.SLO, declared with app.slo

    def slo(self, name: str, **options: Any) -> Any:
        """Declare a service level objective (`availability=99.9`, `latency_p99_ms=300`,
        `window_days=30`, `routes=["GET /orders/{id}"]`): `lift synth` makes its burn-rate alarms and
        `lift slo report` measures it (see docs/slo.md)."""
        from lift.slo import declare

        return declare(self, name, **options)

    release_hooks: dict[str, Any] = {}  # name -> fn(check), registered with app.release_hook

    def release_hook(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register a release check `fn(check: lift.release_hooks.ReleaseCheck) -> bool` under `name`
        (default: the function's name); a stage runs it before traffic (`pre_traffic = "name"`) or
        after the shift (`post_traffic`), and a False or an exception rolls the release back."""
        from lift.release_hooks import register

        if callable(name):
            register(self, name.__name__, name)
            return name

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(self, name or fn.__name__, fn)
            return fn

        return decorator

    def service(self, name: str, **options: Any) -> Any:
        """The `lift.services.ServiceClient` for service `name` (created on first call; see docs/services.md)."""
        from lift.services import service

        return service(self, name, **options)

    def shutdown(self) -> None:
        """Close every resource and flush what is pending; safe to call more than once."""
        if self._resources is not None:
            self._resources.close_all()
        if self._health is not None:
            self._health.close()

    def _first_http_event(self, event: Any, context: Any, source: str, own_domain: bool = False) -> Any:
        """The first event of the HTTP API, an ALB or a function URL: its source module imported
        and its dispatcher built now, in place of this method for the events after it."""
        import importlib

        dispatch = self._http_handler(importlib.import_module(_LAZY_HTTP_MODULES[source]))
        self.register_source(source, dispatch)
        return dispatch(event, context, source, own_domain)

    def _http_handler(self, module: Any) -> Callable[..., dict[str, Any]]:
        """The dispatcher for one HTTP source: normalize, respond, encode for that service.

        Each source gets a function of its own (`handle_rest`, `handle_http_api`, `handle_url`,
        `handle_alb`, `handle_other` for a source with its own request class, VPC Lattice) holding
        only that source's event reading and answer: a small frame per request. Their common
        request, a route without middleware whose handler returns a dict or a list, takes a direct
        path: the router's one-lookup cases inline, a context whose request is made only when read,
        the handler called through its binder, and its JSON answer written inline without a
        Response object in between. Anything else goes through the shared functions below
        (`not_found`, `general`, `answered`, `failed`, `finish`), which give the same answer the
        full chain (`respond`) gives.
        """
        request_from_event, encode_response = module.request_from_event, module.encode_response
        json_response = getattr(module, "json_response", None)  # (status, text, request) -> the answer
        event_json_response = getattr(module, "json_response_for_event", None)  # the same from the event
        default_max_body = Request.max_body
        static_routes, param_tail, root = self.router._static, self.router._param_tail, self.router._root
        router = self.router
        new_context, lazy_context = Context, LazyRequestContext
        app = self

        # The event as AWS sends it (the service's own domain, no base path, plain field types) is
        # read with subscripts, and its request made after the route lookup (a 404 needs none);
        # anything else goes through the source's `request_from_event`.
        name = module.__name__
        rest, v2 = module is apigw_rest, name in ("lift.sources.apigw_http", "lift.sources.function_url")
        alb, url = name == "lift.sources.alb", name == "lift.sources.function_url"  # (App.handler sends a
        # function URL's events, told by their domain, to its module's dispatcher)
        fast_limit = _ALB_MAYBE_TOO_LARGE if alb else _MAYBE_TOO_LARGE  # a JSON answer written inline below it
        status_lines: dict[int, str] = getattr(module, "STATUS_LINES", {})  # (ALB: its answer written inline)
        status_line: Callable[[int], str] = getattr(module, "status_line", str)
        request_class = _REQUEST_CLASSES.get(name)
        new_request: type[Request] = getattr(module, request_class) if request_class is not None else Request
        new = object.__new__
        same_json = rest or v2  # their answer for a JSON body is one dict (json_response), made inline
        direct_calls = request_class is not None  # requests whose body is the event's (Binder.call_direct)
        known_domain, api_domain = "", False  # the last domain seen, and whether it is API Gateway's own (execute-api)
        v2_domain, v2_kind = "", 0  # the last HTTP API/URL domain seen: 0 a function URL's, 1 API Gateway's, 2 custom
        route_key_paths: dict[str, str] = {}  # an HTTP API route key ("GET /users/{id}") -> its path template

        # (a lazy request needs the plain event, and its answer must not need the request)
        source_name, lazy = module.NAME, rest or v2 or (alb and event_json_response is not None)

        def lookup(path: str) -> tuple[PathEntry | None, str | None]:
            """The route for `path` and its trailing parameter's value, from the router's one-probe
            tables (None when it needs the full lookup, `respond`)."""
            entry = static_routes.get(path)
            if entry is not None:
                return entry, None
            parent, _, last = path.rpartition("/")
            entry = param_tail.get(parent)
            if entry is not None and not (last < "/" or "%" in last):  # (the handlers' own test, inlined there)
                return entry, last
            return None, None

        def make_request(ctx: Context) -> Request:
            """The request of a context made on the direct path (`LazyRequestContext`), when first read:
            the event was plain (read with subscripts) and its route one of `lookup`'s."""
            event = ctx.event
            request = new(new_request)
            request.event = event
            if v2:
                request.method, request.path = event["requestContext"]["http"]["method"], event["rawPath"]
            else:
                request.method, request.path = event["httpMethod"], event["path"]
            entry, tail_value = lookup(request.path)
            if tail_value is not None:
                request._tail_name, request._tail_value = entry.param_names[0], tail_value  # type: ignore[union-attr]
            if app._max_body_size != default_max_body:
                request.max_body = app._max_body_size
            return request

        if lazy:
            self._request_makers[source_name] = make_request

        def answer_422(report: bytes, ctx: Context) -> dict[str, Any]:
            """An invalid body's 422 from its encoded report (`_plain_report`), for this source."""
            if rest:  # apigw_rest.json_response, inlined
                return {
                    "statusCode": 422,
                    "headers": {"Content-Type": "application/json"},
                    "body": report.decode("utf-8"),
                    "isBase64Encoded": False,
                }
            return json_response(422, report.decode("utf-8"), ctx.request)  # type: ignore[misc]

        def custom_domain(event: dict[str, Any]) -> bool:
            """Whether a REST/HTTP API event whose path is not its route's template came through a
            custom domain (its base path mapping then strips a prefix): one substring test per domain."""
            nonlocal known_domain, api_domain
            try:
                domain = event["requestContext"]["domainName"]
                if domain != known_domain:  # (one substring test per domain, not per request)
                    known_domain, api_domain = domain, ".execute-api." in domain
                return not api_domain
            except (KeyError, TypeError):
                return True

        def not_found_body(method: str, path: str, request_id: str) -> str:
            """_default_not_found's body, written around its two encoded strings (a third of the cost)."""
            said = f"No route for {method} {path}"
            message = _encode(said)
            if len(path) > 13 and message.translate(_DIGIT_MARKS).count(49) >= 13:  # ("/" + 13 digits)
                message = _encode(_card_free(said))  # (maybe a card number)
            # (an f-string: the code the message's own f-string runs, not a bytes join's too)
            return f"{_NOT_FOUND_HEAD}{message.decode()}{_NOT_FOUND_ID}{_encode(request_id).decode()}{_NOT_FOUND_TAIL}"

        def not_found(
            event: dict[str, Any],
            context: Any,
            source: str,
            request: Request | None,
            method: str,
            path: str,
            last: str,
            matched: str | None,
        ) -> dict[str, Any]:
            """A path neither one-probe table holds: the default 404 answered before a Context is made
            (it needs none) when nothing can change it, else `general`. `matched`: the template API
            Gateway matched, when it is not the path (a custom domain's base path mapping is stripped first)."""
            if matched is not None and custom_domain(event):
                return moved(event, context, source)
            if (
                json_response is not None
                and app._plain_not_found
                and last  # neither table has the path, which is as the router's full lookup reads it (a
                and path[0] == "/"  # leading "/", no empty segment, not rejected above), and either every
                and "//" not in path  # route is in the tables or no template starts with its first segment
                and not (("." in path or "%" in path) and router.needs_lookup(path))  # (refused in chain_for: a 400
                and (  # with or without middleware, routed prefix or not)
                    router._tables_complete or (root.param is None and root.greedy is None and unrouted(path, root))
                )
                and method != "HEAD"
            ):
                logger = _lift_log or _read_lift_logger()
                # isEnabledFor(INFO) as logging caches it (None until asked; a False answer
                # holds for a disabled logger too, and a True one takes the full path below)
                try:
                    info = logger._cache[20]
                except KeyError:
                    info = logger.isEnabledFor(20)
                if not info:  # INFO: the 4xx log line is wanted (error_response)
                    if app._cold:
                        app._cold = False
                    try:
                        request_id = context.aws_request_id  # (Lambda's context object has it)
                    except AttributeError:
                        request_id = None
                    if not request_id:
                        if request is None:
                            request = new(new_request)
                            request.event, request.method, request.path = event, method, path
                        request_id = Context(app, event, context, source, request).request_id
                    text = not_found_body(method, path, request_id)
                    if same_json:  # apigw_rest.json_response, inlined
                        return {
                            "statusCode": 404,
                            "headers": {"Content-Type": "application/json"},
                            "body": text,
                            "isBase64Encoded": False,
                        }
                    if lazy:  # (ALB)
                        return event_json_response(404, text, event)  # type: ignore[misc]
                    if request is None:
                        request = new(new_request)
                        request.event, request.method, request.path = event, method, path
                    return json_response(404, text, request)
            return general(event, context, source, request, method, path, None, None)

        def general(
            event: dict[str, Any],
            context: Any,
            source: str,
            request: Request | None,
            method: str,
            path: str,
            entry: PathEntry | None,
            tail_value: str | None,
        ) -> dict[str, Any]:
            """Any request but the handlers' own direct one: its Context, then the direct call, the
            404 without a second lookup, or the full chain (`respond`)."""
            endpoint: Any = entry.methods.get(method) if entry is not None else None
            direct = endpoint is not None and endpoint.direct
            cold = app._cold
            if cold:
                app._cold = False
            if request is None:  # (the handlers' own direct path makes it lazily; here it is made now)
                request = new(new_request)
                request.event, request.method, request.path = event, method, path
            if tail_value is not None:  # (`path_params` makes its dict only if it is read)
                request._tail_name, request._tail_value = entry.param_names[0], tail_value  # type: ignore[union-attr]
            if app._max_body_size != default_max_body:
                request.max_body = app._max_body_size
            ctx = new_context(app, event, context, source, request, cold, entry.template if direct else None)  # type: ignore[union-attr]
            if direct:
                try:
                    if direct_calls:
                        call = endpoint.call_direct
                        result = call(ctx, tail_value)
                    else:  # (a source of its own request class, VPC Lattice: `path_params` gives the value)
                        result = endpoint.call(ctx)
                except Exception as exc:
                    return failed(ctx, exc, request, context)
                try:
                    return answered(ctx, result, endpoint.status, request, event, context)
                finally:  # (no reference cycle through a failed body's error: see handle_rest)
                    result = None
            if (
                entry is None
                and root.param is None
                and root.greedy is None
                and unrouted(path, root)
                and not (("." in path or "%" in path) and router.needs_lookup(path))  # (refused in chain_for)
            ):
                try:  # no template starts with this path's first segment: the 404 without a second lookup
                    response = app._not_found_chain(ctx)
                except Exception as exc:
                    response = app.error_response(ctx, exc)
                if response.__class__ is not Response:
                    response = to_response(response)
            else:
                response = app.respond(ctx)
            return finish(ctx, response, request, context)

        def failed(ctx: Context, exc: Exception, request: Request | None, context: Any) -> dict[str, Any]:
            """The answer for an exception the handler's direct call raised."""
            if (
                exc.__class__ is ValidationFailed
                and json_response is not None
                and (report := _raised_report(app, ctx, exc)) is not None
            ):  # an invalid body's 422, as error_response writes it, without a Response
                return answer_422(report, ctx)
            return finish(ctx, app.error_response(ctx, exc), request, context)

        def answered(
            ctx: Context, result: Any, status: int, request: Request | None, event: dict[str, Any], context: Any
        ) -> dict[str, Any]:
            """The answer for what the handler's direct call returned (`status`: the route's)."""
            cls = result.__class__
            if cls is dict or cls is list:
                try:
                    body = _encode(result)
                except Exception as exc:  # a value JSON cannot hold: the handler's 500, logged with its route
                    return failed(ctx, exc, request, context)
                if len(body) < fast_limit:  # (REST, HTTP API, URL, ALB: a json_response each)
                    if same_json:  # apigw_rest.json_response, inlined
                        return {
                            "statusCode": status,
                            "headers": {"Content-Type": "application/json"},
                            "body": body.decode(),
                            "isBase64Encoded": False,
                        }
                    if alb:
                        return alb_answer(status, body, event)
                    if json_response is not None:
                        return json_response(status, body.decode(), request)
                response = Response._raw(body, status, "application/json")
            elif cls is InvalidBody:  # the typed body failed (Binder.call_direct): nothing was raised
                problem = result.problem
                if (
                    problem.__class__ is Report
                    and not problem.echoes
                    and json_response is not None
                    and (report := _plain_report(app, ctx, problem)) is not None
                ):  # its 422 as error_response writes it, without an exception or a Response
                    return answer_422(report, ctx)
                try:  # raised as the general path raises it (a handler may log its traceback)
                    result.raise_error()
                except Exception as exc:
                    problem = result = None  # (this frame, in its traceback, keeps no reference to it)
                    response = app.error_response(ctx, exc)
            else:
                try:
                    response = to_response(result, status)
                except Exception as exc:
                    return failed(ctx, exc, request, context)
            return finish(ctx, response, request, context)

        def finish(ctx: Context, response: Response, request: Request | None, context: Any) -> dict[str, Any]:
            """A Response encoded for this source: its status checked, a stream collected, HEAD's body dropped."""
            if request is None:  # (a lazy request: made now, as the answer needs it)
                request = cast(Request, ctx.request)
            status = response.status
            if status.__class__ is not int or not 200 <= status <= 599:  # (set after the Response was made, or a 1xx)
                response = app.status_fault(ctx, response)
            if response.__class__ is not Response:  # a streamed body: collected (lift.streaming)
                from lift.sources.http import ALB_MAX_RESPONSE_BYTES, MAX_RESPONSE_BYTES
                from lift.streaming import finish_for_lambda

                seconds = ctx.remaining_ms() / 1000 if context is not None else None
                limit = ALB_MAX_RESPONSE_BYTES if alb else MAX_RESPONSE_BYTES
                response = finish_for_lambda(
                    response, request.method, limit, ctx.request_id, seconds, lambda exc: app.error_response(ctx, exc)
                )
            if request.method == "HEAD" and response.body:
                if status != 204 and status != 304:  # (the length of the body a GET would get)
                    response.headers.setdefault("Content-Length", str(len(response.body)))
                response.body = b""
            elif status == 204 or status == 304:  # (HTTP forbids them a body: dropped, as app.asgi drops it)
                response.body = b""
            for value in response.headers.values():  # (text AWS can send: else `sendable` decides)
                if value.__class__ is not str or not value.isprintable():
                    response = app.sendable(ctx, response)
                    break
            if response.cookies:
                response = app.sendable(ctx, response)
            request_id = ctx._request_id
            if request_id is None and len(response.body) > fast_limit:
                request_id = ctx.request_id  # the 6 MB (ALB: 1 MB) error body and log line carry it
            return encode_response(response, request, request_id)

        def malformed(event: Any, context: Any, source: str, exc: Exception) -> dict[str, Any]:
            """An exception outside the chain: a malformed event (`path: 5`), never an escape. (The
            event goes to the encoder: ALB answers in the header mode the event arrived in.)"""
            request = Request(event, "", "") if event.__class__ is dict else None
            return encode_response(app.error_response(Context(app, event, context, source), exc), request, None)

        def alb_answer(status: int, body: bytes, event: dict[str, Any]) -> dict[str, Any]:
            """alb.json_response_for_event, inlined: the event's header mode."""
            if "multiValueHeaders" in event:
                return {
                    "statusCode": status,
                    "statusDescription": status_lines.get(status) or status_line(status),
                    "body": body.decode(),
                    "isBase64Encoded": False,
                    "multiValueHeaders": {"Content-Type": ["application/json"]},
                }
            return {
                "statusCode": status,
                "statusDescription": status_lines.get(status) or status_line(status),
                "body": body.decode(),
                "isBase64Encoded": False,
                "headers": {"Content-Type": "application/json"},
            }

        def route_key_moved(event: dict[str, Any], route_key: str, entry: PathEntry) -> bool:
            """Whether an HTTP API event on a custom domain (a route key "GET /users/{id}") came
            through a base path mapping: its path is not the route key's template, nor API Gateway's own."""
            try:
                template = route_key_paths[route_key]
            except KeyError:
                template = _route_key_path(route_key_paths, route_key)
            return template != entry.template and custom_domain(event)

        def moved(event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
            """A REST/HTTP API event through a custom domain's base path mapping: the source strips it."""
            request = request_from_event(event, app.base_path)
            path = request.path
            entry, tail_value = lookup(path)
            return general(event, context, source, request, request.method, path, entry, tail_value)

        def quick_404(method: str, path: str, last: str, context: Any) -> str | None:
            """The default 404's body, when nothing can change it (not_found, which tests the rest, answers
            when this is None): no middleware or exception handler, INFO off (no 4xx line is wanted).
            (handle_rest writes the same tests out: change both together.)"""
            if (
                last
                and app._plain_not_found
                and method != "HEAD"
                and path[0] == "/"
                and "//" not in path
                and router._tables_complete
                and not (("." in path or "%" in path) and router.needs_lookup(path))
                and _lift_log is not None  # (as logging caches it)
                and not _lift_log._cache.get(20, True)
            ):
                try:
                    request_id = context.aws_request_id
                except AttributeError:
                    return None
                if request_id:
                    if app._cold:
                        app._cold = False
                    return not_found_body(method, path, request_id)
            return None

        def parsed(event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
            """A REST event not read with subscripts (a base path, a field missing or of another type):
            the source's request made first, then handle_rest's steps (a 404 by `not_found`)."""
            request = request_from_event(event, app.base_path)
            path, method = request.path, request.method
            entry, tail_value, last = static_routes.get(path), None, ""
            if entry is None:
                parent, _, last = path.rpartition("/")
                entry = param_tail.get(parent)
                if entry is not None:
                    if last < "/" or "%" in last:  # (as handle_rest)
                        entry, last = None, ""
                    else:
                        tail_value = last
            if entry is None:
                return not_found(event, context, source, request, method, path, last, None)
            return general(event, context, source, request, method, path, entry, tail_value)

        def handle_rest(event: dict[str, Any], context: Any, source: str, own_domain: bool = False) -> dict[str, Any]:
            """One API Gateway REST event (`own_domain`: App.handler's HTTP API hint, unused here)."""
            try:
                try:  # the resource API Gateway matched differs from the path on a base path mapping (checked below)
                    path, method, matched = event["path"], event["httpMethod"], event["resource"]
                except (KeyError, TypeError):
                    path = None
                # (one `if` of `or`s: 3.11 specializes each comparison there, and no flag is kept)
                if path.__class__ is not str or method.__class__ is not str or not path or app.base_path:
                    return shared.parsed(event, context, source)
                if matched == path:  # (not a base path mapping: nothing to test below)
                    matched = None
                entry = static_routes.get(path)
                if entry is not None:
                    tail_value = None
                else:
                    parent, _, last = path.rpartition("/")
                    entry = param_tail.get(parent)
                    # empty, escaped, or starting with a character below "/" ("."/".." are refused in
                    # chain_for; "-5" just takes the general path): one str comparison, no index
                    if entry is None or last < "/" or "%" in last:  # (the router's full lookup decides)
                        if entry is not None:
                            last = ""
                        # the path is plain when the route it matches has the resource's template (a base
                        # path mapping or a named stage adds segments, so no such path matches it), else by
                        # its domain
                        try:  # through API Gateway's own domain, the last one seen (not_found tests any other)
                            if matched is None or (
                                event["requestContext"]["domainName"] == known_domain and api_domain
                            ):
                                own = True  # (tests in an `if`: 3.11 specializes a comparison only before a jump)
                            else:
                                own = False
                        except (KeyError, TypeError):
                            own = False
                        if own:  # quick_404, written out for REST, the commonest source (one Python call less
                            text = None  # on its 404: 15.50k -> 15.07k instructions; kept in step with quick_404)
                            if (
                                last
                                and app._plain_not_found
                                and method != "HEAD"
                                and path[0] == "/"
                                and "//" not in path
                                and router._tables_complete
                                and not (("." in path or "%" in path) and router.needs_lookup(path))
                                and _lift_log is not None  # (as logging caches it)
                                and not _lift_log._cache.get(20, True)
                            ):
                                try:
                                    request_id = context.aws_request_id
                                except AttributeError:
                                    request_id = None
                                if request_id:
                                    if app._cold:
                                        app._cold = False
                                    text = not_found_body(method, path, request_id)
                            if text is not None:
                                return {
                                    "statusCode": 404,
                                    "headers": {"Content-Type": "application/json"},
                                    "body": text,
                                    "isBase64Encoded": False,
                                }
                        return shared.not_found(event, context, source, None, method, path, last, matched)
                    tail_value = last
                if matched is not None and matched != entry.template and shared.custom_domain(event):
                    return shared.moved(event, context, source)
                endpoint = entry.methods.get(method)
                if endpoint is None or not endpoint.lazy_direct or source is not source_name:
                    return shared.general(event, context, source, None, method, path, entry, tail_value)
                # the handler may never read `ctx.request` (`get(ctx, id)`, `create(ctx, body)`): made when first read
                cold = app._cold
                if cold:
                    app._cold = False
                ctx = lazy_context(app, event, context, source, None, cold, entry.template)
                try:  # (the call read first: 3.11 does not specialize calling a function held in an attribute)
                    call = endpoint.call_direct
                    result = call(ctx, tail_value)
                except Exception as exc:
                    return shared.failed(ctx, exc, None, context)
                cls = result.__class__
                if cls is dict or cls is list:
                    try:
                        body = _encode(result)
                    except Exception:  # (answered reports it as the handler's failure, naming the route)
                        return shared.answered(ctx, result, endpoint.status, None, event, context)
                    if len(body) < _MAYBE_TOO_LARGE:  # apigw_rest.json_response, inlined
                        return {
                            "statusCode": endpoint.status,
                            "headers": {"Content-Type": "application/json"},
                            "body": body.decode(),
                            "isBase64Encoded": False,
                        }
                elif cls is InvalidBody:  # the typed body failed (Binder.call_direct): its 422, nothing raised
                    problem = result.problem
                    if (
                        problem.__class__ is Report
                        and not problem.echoes
                        and (report := _plain_report(app, ctx, problem)) is not None
                    ):
                        return answer_422(report, ctx)
                try:
                    return shared.answered(ctx, result, endpoint.status, None, event, context)
                finally:  # (a failed body's error, raised there, refers to this frame: it keeps no reference to it)
                    result = problem = None
            except Exception as exc:
                return shared.malformed(event, context, source, exc)

        def handle_http_api(
            event: dict[str, Any], context: Any, source: str, own_domain: bool = False
        ) -> dict[str, Any]:
            """One HTTP API event (`own_domain`: App.handler found its domain to be API Gateway's own,
            execute-api, one; False: not known). Plain on the `$default` stage; on a custom domain, when
            the path is the route key's template (apigw_http.plain_path, inlined)."""
            nonlocal v2_domain, v2_kind
            try:
                matched = None
                try:
                    rc, path = event["requestContext"], event["rawPath"]
                    method = rc["http"]["method"]
                    if path.__class__ is str and method.__class__ is str and path and not app.base_path:
                        plain = True  # (the test in one if: 3.11 specializes each comparison there)
                        if not url and "%" in path:  # (API Gateway decoded the path: a "%" left in it is the
                            plain = False  # client's own, escaped again by apigw_http.as_sent)
                        elif own_domain:  # an API's own domain: its `$default` stage's paths are the routes'
                            if rc["stage"] != "$default" or event["routeKey"].__class__ is not str:
                                plain = False  # (a route key of the wrong type: the source's 400)
                        else:  # by its domain, one test per domain
                            domain = rc["domainName"]
                            if domain != v2_domain:
                                v2_domain = domain
                                v2_kind = 0 if ".lambda-url." in domain else 1 if ".execute-api." in domain else 2
                            matched = event["routeKey"]
                            if rc["stage"] != "$default" or matched.__class__ is not str:
                                plain = False
                            elif v2_kind != 2 or " " not in matched:  # a custom domain: by the route key's
                                matched = None  # template (`$default`: no template to strip a prefix by)
                    else:
                        plain = False
                except (KeyError, TypeError):
                    plain = False
                request: Request | None = None
                if not plain:
                    request = shared.request_from_event(event, app.base_path)
                    path, method = request.path, request.method
                    matched = None
                tail_value = None
                entry = static_routes.get(path)
                if entry is None:
                    parent, _, last = path.rpartition("/")
                    entry = param_tail.get(parent)
                    if entry is not None:
                        if last < "/" or "%" in last or "\0" in last:  # (as handle_rest; an HTTP API decodes
                            entry, last = None, ""  # its `rawPath`: a `%00` is a NUL here, refused in chain_for)
                        else:
                            tail_value = last
                if entry is None:
                    # (a custom domain's route key: not_found tests it)
                    if matched is None and (text := quick_404(method, path, last, context)) is not None:
                        return {
                            "statusCode": 404,
                            "headers": {"Content-Type": "application/json"},
                            "body": text,
                            "isBase64Encoded": False,
                        }
                    return shared.not_found(event, context, source, request, method, path, last, matched)
                if matched is not None and shared.route_key_moved(event, matched, entry):
                    return shared.moved(event, context, source)
                endpoint = entry.methods.get(method)
                if request is not None or endpoint is None or not endpoint.lazy_direct or source is not source_name:
                    return shared.general(event, context, source, request, method, path, entry, tail_value)
                cold = app._cold
                if cold:
                    app._cold = False
                ctx = lazy_context(app, event, context, source, None, cold, entry.template)
                try:
                    call = endpoint.call_direct
                    result = call(ctx, tail_value)
                except Exception as exc:
                    return shared.failed(ctx, exc, None, context)
                cls = result.__class__
                if cls is dict or cls is list:
                    try:
                        body = _encode(result)
                    except Exception:  # (answered reports it as the handler's failure, naming the route)
                        return shared.answered(ctx, result, endpoint.status, None, event, context)
                    if len(body) < _MAYBE_TOO_LARGE:  # apigw_http.json_response, inlined
                        return {
                            "statusCode": endpoint.status,
                            "headers": {"Content-Type": "application/json"},
                            "body": body.decode(),
                            "isBase64Encoded": False,
                        }
                elif cls is InvalidBody:  # the typed body failed (Binder.call_direct): its 422, nothing raised
                    problem = result.problem
                    if (
                        problem.__class__ is Report
                        and not problem.echoes
                        and (report := _plain_report(app, ctx, problem)) is not None
                    ):
                        return answer_422(report, ctx)
                try:
                    return shared.answered(ctx, result, endpoint.status, None, event, context)
                finally:  # (a failed body's error, raised there, refers to this frame: it keeps no reference to it)
                    result = problem = None
            except Exception as exc:
                return shared.malformed(event, context, source, exc)

        def handle_url(event: dict[str, Any], context: Any, source: str, own_domain: bool = False) -> dict[str, Any]:
            """One function URL event: its path is its own (`own_domain`, an execute-api domain: the
            stage and route key tested as an HTTP API's)."""
            try:
                try:
                    rc, path = event["requestContext"], event["rawPath"]
                    method = rc["http"]["method"]
                    plain = path.__class__ is str and method.__class__ is str and path and not app.base_path
                    if own_domain and plain and (rc["stage"] != "$default" or event["routeKey"].__class__ is not str):
                        plain = False
                except (KeyError, TypeError):
                    plain = False
                request: Request | None = None
                if not plain:
                    request = shared.request_from_event(event, app.base_path)
                    path, method = request.path, request.method
                tail_value = None
                entry = static_routes.get(path)
                if entry is None:
                    parent, _, last = path.rpartition("/")
                    entry = param_tail.get(parent)
                    if entry is not None:
                        if last < "/" or "%" in last:  # (as handle_rest)
                            entry, last = None, ""
                        else:
                            tail_value = last
                    if entry is None:
                        if (text := quick_404(method, path, last, context)) is not None:
                            return {
                                "statusCode": 404,
                                "headers": {"Content-Type": "application/json"},
                                "body": text,
                                "isBase64Encoded": False,
                            }
                        return shared.not_found(event, context, source, request, method, path, last, None)
                endpoint = entry.methods.get(method)
                if request is not None or endpoint is None or not endpoint.lazy_direct or source is not source_name:
                    return shared.general(event, context, source, request, method, path, entry, tail_value)
                cold = app._cold
                if cold:
                    app._cold = False
                ctx = lazy_context(app, event, context, source, None, cold, entry.template)
                try:
                    call = endpoint.call_direct
                    result = call(ctx, tail_value)
                except Exception as exc:
                    return shared.failed(ctx, exc, None, context)
                cls = result.__class__
                if cls is dict or cls is list:
                    try:
                        body = _encode(result)
                    except Exception:  # (answered reports it as the handler's failure, naming the route)
                        return shared.answered(ctx, result, endpoint.status, None, event, context)
                    if len(body) < _MAYBE_TOO_LARGE:  # function_url.json_response, inlined
                        return {
                            "statusCode": endpoint.status,
                            "headers": {"Content-Type": "application/json"},
                            "body": body.decode(),
                            "isBase64Encoded": False,
                        }
                elif cls is InvalidBody:  # the typed body failed (Binder.call_direct): its 422, nothing raised
                    problem = result.problem
                    if (
                        problem.__class__ is Report
                        and not problem.echoes
                        and (report := _plain_report(app, ctx, problem)) is not None
                    ):
                        return answer_422(report, ctx)
                try:
                    return shared.answered(ctx, result, endpoint.status, None, event, context)
                finally:  # (a failed body's error, raised there, refers to this frame: it keeps no reference to it)
                    result = problem = None
            except Exception as exc:
                return shared.malformed(event, context, source, exc)

        def handle_alb(event: dict[str, Any], context: Any, source: str, own_domain: bool = False) -> dict[str, Any]:
            """One Application Load Balancer event (its answer in the event's header mode)."""
            try:
                try:
                    path, method = event["path"], event["httpMethod"]
                    plain = path.__class__ is str and method.__class__ is str and path and not app.base_path
                except (KeyError, TypeError):
                    plain = False
                request: Request | None = None
                if not plain:
                    request = shared.request_from_event(event, app.base_path)
                    path, method = request.path, request.method
                tail_value = None
                entry = static_routes.get(path)
                if entry is None:
                    parent, _, last = path.rpartition("/")
                    entry = param_tail.get(parent)
                    if entry is not None:
                        if last < "/" or "%" in last:  # (as handle_rest)
                            entry, last = None, ""
                        else:
                            tail_value = last
                    if entry is None:
                        if (text := quick_404(method, path, last, context)) is not None:
                            return event_json_response(404, text, event)  # type: ignore[misc]
                        return shared.not_found(event, context, source, request, method, path, last, None)
                endpoint = entry.methods.get(method)
                if request is not None or endpoint is None or not endpoint.lazy_direct or source is not source_name:
                    return shared.general(event, context, source, request, method, path, entry, tail_value)
                cold = app._cold
                if cold:
                    app._cold = False
                ctx = lazy_context(app, event, context, source, None, cold, entry.template)
                try:
                    call = endpoint.call_direct
                    result = call(ctx, tail_value)
                except Exception as exc:
                    return shared.failed(ctx, exc, None, context)
                cls = result.__class__
                if cls is dict or cls is list:
                    try:
                        body = _encode(result)
                    except Exception:  # (answered reports it as the handler's failure, naming the route)
                        return shared.answered(ctx, result, endpoint.status, None, event, context)
                    if (
                        len(body) < _ALB_MAYBE_TOO_LARGE
                    ):  # alb.json_response_for_event, inlined: the event's header mode
                        status = endpoint.status
                        if "multiValueHeaders" in event:
                            return {
                                "statusCode": status,
                                "statusDescription": status_lines.get(status) or status_line(status),
                                "body": body.decode(),
                                "isBase64Encoded": False,
                                "multiValueHeaders": {"Content-Type": ["application/json"]},
                            }
                        return {
                            "statusCode": status,
                            "statusDescription": status_lines.get(status) or status_line(status),
                            "body": body.decode(),
                            "isBase64Encoded": False,
                            "headers": {"Content-Type": "application/json"},
                        }
                elif cls is InvalidBody:  # the typed body failed (Binder.call_direct): its 422, nothing raised
                    problem = result.problem
                    if (
                        problem.__class__ is Report
                        and not problem.echoes
                        and (report := _plain_report(app, ctx, problem)) is not None
                    ):
                        return answer_422(report, ctx)
                try:
                    return shared.answered(ctx, result, endpoint.status, None, event, context)
                finally:  # (a failed body's error, raised there, refers to this frame: it keeps no reference to it)
                    result = problem = None
            except Exception as exc:
                return shared.malformed(event, context, source, exc)

        def handle_other(event: dict[str, Any], context: Any, source: str, own_domain: bool = False) -> dict[str, Any]:
            """One event of a source read through its module's `request_from_event` (VPC Lattice)."""
            try:
                request = request_from_event(event, app.base_path)
                path, method = request.path, request.method
                tail_value = None
                entry = static_routes.get(path)
                if entry is None:
                    parent, _, last = path.rpartition("/")
                    entry = param_tail.get(parent)
                    if entry is not None:
                        if last < "/" or "%" in last:  # (as handle_rest)
                            entry, last = None, ""
                        else:
                            tail_value = last
                    if entry is None:
                        return not_found(event, context, source, request, method, path, last, None)
                return general(event, context, source, request, method, path, entry, tail_value)
            except Exception as exc:
                return malformed(event, context, source, exc)

        # the functions above that a source's function calls only off its direct path (and the 404's),
        # read as attributes of one closure cell: each cell costs every call of the function holding it ~19
        # instructions (copied into its frame and cleared with it), used or not (answer_422, the invalid
        # body's, stays a cell: an attribute of this namespace costs ~0.2k more to call)
        shared = SimpleNamespace(
            answered=answered,
            custom_domain=custom_domain,
            failed=failed,
            general=general,
            malformed=malformed,
            moved=moved,
            not_found=not_found,
            parsed=parsed,
            request_from_event=request_from_event,
            route_key_moved=route_key_moved,
        )
        handle: Callable[..., dict[str, Any]]
        if rest:
            handle = handle_rest
        elif url:
            handle = handle_url
        elif v2:
            handle = handle_http_api
        elif alb and lazy:
            handle = handle_alb
        else:
            handle = handle_other
        handle.takes_own_domain = True  # type: ignore[attr-defined]  # (register_source)
        return handle

    def respond(self, ctx: Context) -> Response:
        """Route an HTTP Context through its chain (used by every HTTP source and ASGI)."""
        chain = self.chain_for(ctx)[0]
        try:
            response = chain(ctx)
        except Exception as exc:
            return self.error_response(ctx, exc)
        if response.__class__ is not Response:  # a middleware that returned a plain value
            response = to_response(response)
        return response

    def chain_for(self, ctx: Context) -> tuple[Handler, Endpoint | None]:
        """Route an HTTP Context: the chain that answers it and its endpoint (the not-found
        endpoint for a 404, None for a 405). Sets `ctx.route` and the path parameters; `lift.asgi`
        uses it to decide where a chain runs before running it."""
        request: Request = ctx.request  # type: ignore[assignment]  # an HTTP context: never None
        path = request.path
        if ("." in path or "%" in path) and has_dot_segment(path):  # a traversal waiting in a parameter: a 400
            return self._bad_path_chain, None
        entry, values = self.router.lookup(path)
        endpoint: Endpoint | None
        if entry is None:
            chain, endpoint = self._not_found_chain, self._not_found_endpoint
        else:
            ctx.route = entry.template
            if values:
                if len(values) == 1 and (not request.path_encoded or "%" not in values[0]) and "\0" not in values[0]:
                    request._path_params = {entry.param_names[0]: values[0]}
                else:
                    params = _params(entry, values, request)
                    if params is None:  # an escape that is not UTF-8 (`%FF`), or `%00`: a 400, as for a dot segment
                        return self._bad_path_chain, None
                    request._path_params = params
            endpoint = entry.methods.get(request.method)
            if endpoint is None and not request.method.isupper():  # `get` is GET (registered methods are upper case)
                request.method = request.method.upper()
                endpoint = entry.methods.get(request.method)
            if endpoint is None and request.method == "HEAD":
                endpoint = entry.methods.get("GET")
            if endpoint is None:
                ctx.state["allow"] = entry.allow
                chain = self._method_chain
                if request.method == "OPTIONS":  # a CORS preflight: the asked-for route's own middleware too
                    chain = self._preflight_chain(entry, request.headers.get("access-control-request-method"))
            else:
                chain = endpoint.chain
        return chain, endpoint

    def _preflight_chain(self, entry: PathEntry, wanted: str | None) -> Handler:
        """The OPTIONS answer run through the middleware of the route a preflight asks about, so a
        group's or route's `cors()` answers it (only global middleware ran: no CORS headers)."""
        target = entry.methods.get(wanted.upper()) if wanted else None
        if target is None or not (target.middleware or target.group is not None):
            return self._method_chain
        chain = self._preflight_chains.get(target)
        if chain is None:
            chain = self._preflight_chains[target] = compose(target.all_middleware(), _method_not_allowed)
        return chain

    def _unmatched(self, event: Any, context: Any, source: str) -> Any:
        err = _errors.UnmatchedEvent(f"No handler is registered for {source} events")
        _logger().error("Unmatched %s event (request_id=%s)", source, getattr(context, "aws_request_id", None))
        raise err

    def register_source(self, source: str, dispatch: Callable[[Any, Any, str], Any]) -> None:
        """Route events of `source` to `dispatch(event, context, source)` (used by event sources)."""
        if (source == "http" or source == "url") and not getattr(dispatch, "takes_own_domain", False):
            # App.handler calls an HTTP API's and a function URL's dispatchers with a fourth argument,
            # whether the event's domain is API Gateway's own (the App's own dispatchers take it)
            def dispatch_v2(event: Any, context: Any, source: str, own_domain: bool = False) -> Any:
                return dispatch(event, context, source)

            self._dispatch[source] = dispatch_v2
        else:
            self._dispatch[source] = dispatch

    def new_context(self, event: Any, context: Any, source: str, request: Request | None = None) -> Context:
        """A Context for one invocation, marking the first one as the cold start."""
        cold = self._cold
        if cold:
            self._cold = False
        return Context(self, event, context, source, request, cold)

    @property
    def routes(self) -> list[PathEntry]:
        return list(self.router.entries)

    # -- inspection (read by lift.deploy and tooling; never on the request path) -----------
    _declared_stores: tuple[Any, ...] = ()

    def add_store(self, store: Any) -> None:
        """Declare a store the app uses outside middleware (sessions, your own code), so that
        deployment creates and grants its table like those of idempotency and rate limiting."""
        if all(s is not store for s in self._declared_stores):
            self._declared_stores = (*self._declared_stores, store)

    @property
    def stores(self) -> list[Any]:
        """Every store the app uses: those declared with `add_store` and those held by middleware
        (global, group, route or record-handler middleware with a `store` or `ledger.store`)."""
        found: list[Any] = list(self._declared_stores)
        chains = [self.middleware, *(e.all_middleware() for e in self.endpoints)]
        chains += [h.middleware for h in self.event_handlers]
        for chain in chains:
            for mw in chain:
                for store in (getattr(mw, "store", None), getattr(getattr(mw, "ledger", None), "store", None)):
                    if store is not None and all(s is not store for s in found):
                        found.append(store)
        return found

    @property
    def resource_names(self) -> list[str]:
        """The names registered with `app.resource`, in registration order (creates nothing)."""
        return self._resources.names if self._resources is not None else []

    @property
    def asgi(self) -> Any:
        """This app as an ASGI application (uvicorn, containers); see lift.asgi."""
        if self._asgi is None:
            from lift.asgi import asgi_app

            self._asgi = asgi_app(self)
        return self._asgi

    _asgi: Any = None


# (file, line, function) of error_response's 4xx INFO line, as logging's findCaller gives it: found
# on the first line, then reused (the search costs a fifth of the record, the same answer every time)
_client_error_site: tuple[str, int, str] | None = None

# User input reaches an error body only through its message and details (the code is fixed,
# the request id is AWS's or a UUID). They hold a card number only if they have 13 digits and
# redaction's quick check matches: JSON leaves digits, spaces and dashes as they are, so text
# that fails either test holds none, and the walk over the body (lift.observability.redaction)
# is skipped.
_NOT_DIGITS = bytes(range(48)) + bytes(range(58, 256))  # every byte but the ASCII digits
# a translate table: "1" for an ASCII digit or a non-ASCII byte (another script's digits, `_card_free`), "0" for the rest
_DIGIT_MARKS = b"0" * 48 + b"1" * 10 + b"0" * 70 + b"1" * 128
_digit_run: Any = None


# A validator's report as error_response writes it: the fixed head encoded once.
_REPORT_CODE, _REPORT_MESSAGE = ValidationFailed.code, ValidationFailed.message
_REPORT_HEAD = _encode({"error": {"code": _REPORT_CODE, "message": _REPORT_MESSAGE}})[:-2] + b',"request_id":'


def _raised_report(app: App, ctx: Context, exc: Any) -> bytes | None:
    """The error body of `exc`, a ValidationFailed, when it is a validator's card-free report as
    made (ValidationFailed.report) with no headers, and `_plain_report` can write it; None otherwise."""
    card_free = exc._card_free
    if (
        card_free is None
        or card_free[0] is not exc.details
        or exc.message is not _REPORT_MESSAGE
        or exc.code is not _REPORT_CODE
        or exc.headers
    ):
        return None
    return _plain_report(app, ctx, exc.details)


# The "lift" logger once read (lift.errors.lift_logger), for the quick 404 and 422: a global of this
# module (lift.errors' own is read through a module with a __getattr__, which 3.11 does not specialize)
_lift_log: Any = None


def _read_lift_logger() -> Any:
    global _lift_log
    _lift_log = _logger()
    return _lift_log


def _plain_report(app: App, ctx: Context, details: list[Any]) -> bytes | None:
    """The 422 body of a validator's card-free report `details` (problems quoting nothing from the
    input) as error_response writes it, when error_response would add nothing to it (no exception
    handler, no INFO line, under Lambda's size limit); None otherwise. For a context no middleware
    has seen (its request id is still Lambda's)."""
    if app._exception_handlers:
        return None
    logger = _lift_log or _read_lift_logger()
    info = logger._cache.get(20)  # isEnabledFor(INFO) as logging caches it (see the quick 404)
    if info is None:
        info = logger.isEnabledFor(20)
    if info:  # error_response's 4xx line is wanted
        return None
    request_id = ctx._request_id or getattr(ctx.lambda_context, "aws_request_id", None) or ctx.request_id
    body = b"".join((_REPORT_HEAD, _encode(request_id), b',"details":', _encode(details), b"}}"))
    return body if len(body) < _MAYBE_TOO_LARGE else None


def _card_free(message: str) -> str:
    """`message` (the default 404's, quoting the path as sent) with any card number in it masked, as
    error bodies always are, also one the client percent-encoded, wrote with `+` between digits or in
    another script's digits (`lift.observability.redaction.mask_path_card_numbers`, imported here: only
    messages that pass the callers' quick test, 13 or more ASCII digits or non-ASCII bytes, get here)."""
    from lift.observability.redaction import mask_path_card_numbers

    return mask_path_card_numbers(message)


def _may_quote_card(message: str) -> bool:
    """The default 404's quick test: False when `message` has fewer than 13 ASCII digits and
    non-ASCII bytes, so it holds no card number in any form a client can send (`_card_free`)."""
    return len(message) > 13 and _encode(message).translate(_DIGIT_MARKS).count(49) >= 13


def _may_hold_card(message: Any, details: Any) -> bool:
    global _digit_run
    text = _encode([message, details]) if details is not None else _encode(message)
    if len(text) < 13 or len(text.translate(None, _NOT_DIGITS)) < 13:
        return False
    if _digit_run is None:
        import re

        _digit_run = re.compile(rb"\d(?:[ -]?\d){12}").search
    return _digit_run(text) is not None


def unrouted(path: str, root: Any) -> bool:
    """True when no route can match `path`: its first segment is no static child of the root
    (call only when the root has no parameter child)."""
    first = path[1:].partition("/")[0]
    return bool(first) and first not in root.static


def _compressed_body(request: Any) -> LiftError | None:
    """The 415 for a body sent with a Content-Encoding (gzip, br, ...) that did not parse: Lift reads a
    request body as sent and never inflates one (a small gzip body can inflate past any size limit),
    so the client learns to send it uncompressed, not that its JSON is malformed."""
    encoding = request.headers.get("content-encoding") if request is not None else None
    if not encoding or encoding.strip().lower() == "identity":
        return None
    return LiftError(
        415,
        "unsupported_content_encoding",
        f"Request bodies sent with Content-Encoding {encoding!r} are not decoded: send the body uncompressed",
        details=[{"location": "header", "path": "$.content-encoding", "message": f"Unsupported encoding {encoding!r}"}],
    )


def _where(ctx: Context) -> str:
    if ctx.request is not None:
        if ctx.route:
            return f"{ctx.request.method} {ctx.route}"
        path = ctx.request.path  # an unrouted path, as sent: log lines never quote a card number in it either
        if path.__class__ is str and _may_quote_card(path):
            path = _card_free(path)
        return f"{ctx.request.method} {path}"
    return ctx.source


def _params(entry: PathEntry, values: list[str], request: Request) -> dict[str, str] | None:
    """The path parameters, each percent-decoded once; None when an escape is not UTF-8 (`%FF`) or
    is a NUL (`%00`: no file name, key or identifier holds one, and C code below stops at it)."""
    if request.path_encoded and "%" in request.path:
        from urllib.parse import unquote

        try:
            values = [unquote(v, errors="strict") if "%" in v else v for v in values]
        except UnicodeDecodeError:
            return None
    if any("\0" in v for v in values):  # (`%00`, or a NUL an HTTP API decoded into its `rawPath`)
        return None
    if len(values) == 1:
        return {entry.param_names[0]: values[0]}
    return dict(zip(entry.param_names, values, strict=True))


# the default 404's JSON body around its message and request id (the fast 404 in App._http_handler)
_NOT_FOUND_HEAD, _NOT_FOUND_ID, _NOT_FOUND_TAIL = (
    '{"error":{"code":"not_found","message":',
    ',"request_id":',
    ',"details":null}}',
)


def _default_not_found(ctx: Context) -> Response:
    message = f"No route for {ctx.request.method} {ctx.request.path}" if ctx.request else "Not found"
    app = ctx.app
    if _may_quote_card(message):  # a card number in the path masked, in any form a client can send it
        message = _card_free(message)
    if app._exception_handlers or _logger().isEnabledFor(20):
        return app.error_response(ctx, _errors.NotFound(message))  # the 4xx log line
    body = {"error": {"code": "not_found", "message": message, "request_id": ctx.request_id, "details": None}}
    return Response._raw(_encode(body), 404, "application/json")


def _bad_path_refused(ctx: Context) -> Response:
    """The 400 for a path with a `.` or `..` segment (`lift.routing.has_dot_segment`): no handler
    gets a path parameter that climbs out of where it is used. Also for a path parameter whose
    percent-escapes are not UTF-8 (`/users/%FF`): its value would be a guess (U+FFFD); or encode a NUL
    (`/files/a%00.txt`), which ends a name in C code (the OS, drivers) below a handler's checks."""
    path = ctx.request.path if ctx.request is not None else ""
    if ("." in path or "%" in path) and has_dot_segment(path):
        message = "Path segments '.' and '..' are not allowed (also percent-encoded)"
        return ctx.app.error_response(ctx, _errors.BadRequest(message))
    from urllib.parse import unquote

    if "\0" in path or ("%00" in path and "\0" in unquote(path)):
        error = _errors.BadRequest(
            "Path holds a NUL character (%00)",
            code="invalid_path_encoding",
            details=[{"location": "path", "message": "Percent-escapes must not encode a NUL character"}],
        )
        return ctx.app.error_response(ctx, error)
    error = _errors.BadRequest(
        "Path is not valid UTF-8 once percent-decoded",
        code="invalid_path_encoding",
        details=[{"location": "path", "message": "Percent-escapes must encode UTF-8 text"}],
    )
    return ctx.app.error_response(ctx, error)


def _method_not_allowed(ctx: Context) -> Response:
    allow = ctx.state.get("allow", "")
    if ctx.request is not None and ctx.request.method == "OPTIONS":
        return Response(None, 204, {"Allow": allow})
    return ctx.app.error_response(ctx, _errors.MethodNotAllowed(allow, message=f"Method {ctx.method} not allowed"))


__all__ += ["compose", "to_response", "run_async", "event_loop", "LiftError"]

if TYPE_CHECKING:
    from lift.async_loop import HandlerCancelled as HandlerCancelled
    from lift.async_loop import event_loop, run_async
else:

    def __getattr__(name: str) -> Any:
        """`run_async`, `event_loop` and `HandlerCancelled`, still importable from here, from
        lift.async_loop (imported on first use: an app of plain `def` handlers never loads it)."""
        if name in ("run_async", "event_loop", "HandlerCancelled"):
            return getattr(_async_loop, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _route_key_path(known: dict[str, str], route_key: str) -> str:
    """The path part of an HTTP API route key (`GET /users/{id}`), kept in `known` for the next
    event: an API has a fixed set of route keys (1,024 at most are kept, as an invoker could send any)."""
    path = route_key.partition(" ")[2]
    if len(known) < 1024:
        known[route_key] = path
    return path
