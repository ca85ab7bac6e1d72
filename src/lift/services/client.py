"""ServiceClient: typed calls to another service, with discovery, balancing and resilience.

    users = app.service("users", base_url="https://users.internal", timeout=2.0, retry=3)
    user = users.get("/users/{user_id}", user_id=42, response=User)      # a User, or NotFound
    user = await users.aio.get("/users/{user_id}", user_id=42, response=User)

One call: expand the path template, take a bulkhead slot, ask the breaker, pick an instance
(discovery -> health -> balancer), send with httpx on a pooled connection (one pool per
execution environment, registered as an `app.resource` so `app.shutdown()` closes it), then
decide: done, retry (idempotent only, with backoff and within the budget and deadline), or fail
with a stable error (lift.services.errors). Ids, trace context and tenant go with every call
(lift.services.propagation). httpx is imported on the first call, not before.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import msgspec

from lift.resilience.breaker import CircuitBreaker
from lift.resilience.bulkhead import Bulkhead
from lift.resilience.errors import ResilienceError
from lift.resilience.retry import RetryBudget, RetryPolicy, parse_retry_after
from lift.resilience.timeouts import Timeouts
from lift.serialization import encode_json
from lift.services.auth import Auth
from lift.services.balancing import Balancer, HealthTracker, balancer_named
from lift.services.discovery import (
    CachedDiscovery,
    Discovery,
    EnvDiscovery,
    Instance,
    NoInstances,
    StaticDiscovery,
)
from lift.services.errors import ServiceError, UpstreamTimeout, error_for_response
from lift.services.propagation import current_context, headers_for

__all__ = ["ServiceClient", "AsyncCalls", "Pools", "ResponseTooLarge", "expand_path"]

_log = logging.getLogger("lift.services")
_monotonic = time.monotonic
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_httpx: Any = None


def _load_httpx() -> Any:
    global _httpx
    if _httpx is None:
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError('service clients need httpx: pip install "lift-lambda[http]"') from exc
        _httpx = httpx
    return _httpx


# -- path templates -------------------------------------------------------------------------
_templates: dict[str, tuple[tuple[str, str | None, bool], ...]] = {}


def _compile(template: str) -> tuple[tuple[str, str | None, bool], ...]:
    """`/users/{id}/files/{path+}` -> ((literal, param, greedy), ...)."""
    parts: list[tuple[str, str | None, bool]] = []
    rest = template
    while True:
        start = rest.find("{")
        if start < 0:
            parts.append((rest, None, False))
            break
        end = rest.index("}", start)
        name = rest[start + 1 : end]
        greedy = name.endswith("+")
        parts.append((rest[:start], name.rstrip("+"), greedy))
        rest = rest[end + 1 :]
    compiled = tuple(parts)
    _templates[template] = compiled
    return compiled


def expand_path(template: str, params: Mapping[str, Any]) -> str:
    """The template with each `{name}` replaced by its URL-quoted value (`{name+}` keeps `/`); a value
    never leaves its place in the path (`..` is sent as `%2E%2E`, not resolved to the parent)."""
    parts = _templates.get(template) or _compile(template)
    if len(parts) == 1:
        return template
    out = []
    for literal, name, greedy in parts:
        out.append(literal)
        if name is not None:
            try:
                value = params[name]
            except KeyError:
                raise TypeError(f"path parameter {name!r} of {template} is missing") from None
            text = str(value)
            if not (text.isalnum() and text.isascii()):
                text = quote(text, safe="/" if greedy else "")
                if "." in text:  # a `.` or `..` segment would be resolved away: /users/.. is /
                    text = "/".join(_DOT_SEGMENTS.get(segment, segment) for segment in text.split("/"))
            out.append(text)
    return "".join(out)


_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


# -- response types -----------------------------------------------------------------------------
_decoders: dict[Any, Callable[[bytes], Any]] = {}
_any_decoder = msgspec.json.Decoder()


def _decoder_for(tp: Any) -> Callable[[bytes], Any]:
    decoder = _decoders.get(tp)
    if decoder is None:
        if tp is None:
            decoder = _any_decoder.decode
        elif tp is bytes:
            decoder = bytes
        elif tp is str:
            decoder = lambda b: b.decode()  # noqa: E731
        elif "pydantic" in sys.modules and hasattr(tp, "model_validate_json"):
            decoder = tp.model_validate_json
        else:
            decoder = msgspec.json.Decoder(tp).decode
        _decoders[tp] = decoder
    return decoder


def _decode_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (msgspec.DecodeError, UnicodeDecodeError)
    if "pydantic" in sys.modules:
        from pydantic import ValidationError

        errors += (ValidationError,)
    return errors


def _check_header(service: str, name: str, value: Any) -> None:
    """A header value the call sets (often taken from the caller's own input) that HTTP cannot carry
    is the caller's mistake: a ValueError here, before any attempt. httpx raised it as a transport
    error (or a UnicodeEncodeError) per attempt: a 503 'could not be reached', retried, and counted
    against the callee by the breaker, so hostile input could open the circuit for everyone."""
    if value.__class__ is str and not (
        value.isascii() and (value.isprintable() or value.replace("\t", " ").isprintable())
    ):
        raise ValueError(f"header {name!r} of a call to service {service}: only printable ASCII can be sent")


# -- pools --------------------------------------------------------------------------------------
class Pools:
    """The httpx clients of one service: one sync client, one async client per event loop."""

    def __init__(self, options: dict[str, Any], private: tuple[str, ...] = ()) -> None:
        self.options = options
        self.private = private  # headers (the client's credentials) that never follow a redirect elsewhere
        self._sync: Any = None
        self._async: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()  # two threads making the first client would leak one of them
        self._users: dict[int, int] = {}  # id(client) -> calls using it now
        self._retired: set[int] = set()  # ids of closed pools' clients that calls still use

    def _options(self, hook: Callable[[Any], Any]) -> dict[str, Any]:
        options = self.options
        if "cookies" not in options:
            # one pool serves every caller of the environment: a cookie one callee answer set must not
            # go out with the calls made for other users and tenants (httpx keeps and sends them)
            from http.cookiejar import CookieJar, DefaultCookiePolicy

            options = {**options, "cookies": CookieJar(DefaultCookiePolicy(allowed_domains=[]))}
        if self.private and options.get("follow_redirects"):
            hooks = dict(options.get("event_hooks") or {})
            hooks["request"] = [*hooks.get("request", ()), hook]
            options = {**options, "event_hooks": hooks}
        return options

    def _strip(self, request: Any) -> None:
        """httpx drops `Authorization` when a redirect leaves the origin; an `ApiKey`'s header or
        SigV4's session token it would send to whatever host the callee names."""
        url = request.url
        origin = (url.scheme, url.host, url.port)
        if request.extensions.setdefault("lift_origin", origin) != origin:  # the extensions follow redirects
            for name in self.private:
                request.headers.pop(name, None)

    async def _strip_async(self, request: Any) -> None:
        self._strip(request)

    def sync(self) -> Any:
        """The sync client (made on first use). A call takes it with `take_sync` instead."""
        client = self._sync
        if client is None:
            httpx = _load_httpx()
            with self._lock:
                client = self._sync
                if client is None:
                    client = httpx.Client(**self._options(self._strip))
                    _bound_sync_io(client)
                    self._sync = client
        return client

    def for_loop(self, loop: Any) -> Any:
        """The async client of `loop` (made on first use). A call takes it with `take_async` instead."""
        entry = self._async.get(id(loop))
        if entry is None or entry[0] is not loop:
            httpx = _load_httpx()
            with self._lock:
                entry = self._async.get(id(loop))
                if entry is None or entry[0] is not loop:
                    for key, (old_loop, _) in list(self._async.items()):
                        if old_loop.is_closed():  # its connections died with their loop
                            del self._async[key]
                    entry = (loop, httpx.AsyncClient(**self._options(self._strip_async)))
                    self._async[id(loop)] = entry
        return entry[1]

    def take_sync(self) -> Any:
        """The sync client for one call, counted in use until `give_back` (taken and counted under the
        lock: `close` in between would close it under the call)."""
        while True:
            with self._lock:
                client = self._sync
                if client is not None:
                    self._users[id(client)] = self._users.get(id(client), 0) + 1
                    return client
            self.sync()

    def take_async(self, loop: Any) -> Any:
        """The async client of `loop` for one call, counted in use until `give_back`."""
        while True:
            with self._lock:
                entry = self._async.get(id(loop))
                if entry is not None and entry[0] is loop:
                    client = entry[1]
                    self._users[id(client)] = self._users.get(id(client), 0) + 1
                    return client
            self.for_loop(loop)

    def give_back(self, client: Any) -> bool:
        """A call is done with `client`; True when the caller must close it (`close` retired it while
        calls were using it, and this was the last)."""
        key = id(client)
        with self._lock:
            left = self._users[key] - 1
            if left:
                self._users[key] = left
                return False
            del self._users[key]
            if key in self._retired:
                self._retired.discard(key)
                return True
            return False

    def close(self) -> None:
        """Close the pools. Calls from now on get new ones; a client that calls are still using (another
        thread's, or a coroutine's) is closed by the last of them when it ends, so `app.shutdown()` or
        `client.close()` from one thread never breaks, or strands until its timeout, another's call."""
        with self._lock:
            sync, self._sync = self._sync, None
            entries, self._async = list(self._async.values()), {}
            busy = {key for key in map(id, [sync, *(client for _, client in entries)]) if key in self._users}
            self._retired |= busy
        if sync is not None and id(sync) not in busy:
            sync.close()
        for loop, client in entries:
            if id(client) not in busy:
                _close_async(loop, client)


# The deadline of the sync call this thread is making: every socket read and write of the sync pool
# waits at most until then. httpx's timeouts are per read, so a callee that drips its status line
# or headers a byte at a time, or sends `100 Continue` forever, kept a sync call waiting past the
# deadline (past Lambda's own, which then killed the function); asyncio.timeout bounds `aio` calls.
_io_deadline: ContextVar[float | None] = ContextVar("lift_service_io_deadline", default=None)


def _bound_sync_io(client: Any) -> None:
    """Puts `_io_deadline` under each connection the client's pools open (httpx offers no public
    hook: the transports keep their httpcore pool as `_pool`; one it does not know is left as is)."""
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)


def _bounded(timeout: float | None, error: str) -> float | None:
    at = _io_deadline.get()
    if at is None:
        return timeout
    left = at - _monotonic()
    if left <= 0:
        import httpcore

        raise getattr(httpcore, error)("no complete answer within the call's deadline")
    return left if timeout is None or left < timeout else timeout


class _DeadlineBackend:
    """An httpcore network backend whose streams wait no longer than the current call's deadline."""

    __slots__ = ("backend",)

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
        timeout = _bounded(timeout, "ConnectTimeout")
        if timeout is None or _is_address(host):
            return _DeadlineStream(self.backend.connect_tcp(host, port, timeout, *args, **kwargs))
        # The name is resolved here, within the connect timeout and the call's deadline: the backend's
        # socket.create_connection runs getaddrinfo first, which no timeout bounds (a resolver that does
        # not answer held the call through the system resolver's own timeouts and retries, past the
        # deadline and past Lambda's).
        until = _monotonic() + timeout
        import httpcore

        failure: Exception = httpcore.ConnectTimeout(f"no time left to connect to {host}")
        for address in _resolve(host, port, timeout):
            left = until - _monotonic()
            if left <= 0:
                break
            try:
                return _DeadlineStream(self.backend.connect_tcp(address, port, left, *args, **kwargs))
            except httpcore.ConnectError as exc:  # the next address, as create_connection does
                failure = exc
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
        return _DeadlineStream(
            self.backend.connect_unix_socket(path, _bounded(timeout, "ConnectTimeout"), *args, **kwargs)
        )

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


def _is_address(host: str) -> bool:
    import socket

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return True
    return False


def _resolve(host: str, port: int, timeout: float) -> list[str]:
    """`host`'s addresses, waiting at most `timeout` seconds for them: getaddrinfo cannot be bounded
    or interrupted, so it runs in a thread of its own, left behind when it outlasts the wait."""
    import socket

    import httpcore

    found: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as exc:
            found.append(exc)
        done.set()

    threading.Thread(target=lookup, name="lift-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise httpcore.ConnectTimeout(f"resolving {host} outlasted the call's connect timeout or deadline")
    result = found[0]
    if isinstance(result, Exception):
        raise httpcore.ConnectError(f"cannot resolve {host}: {result}")
    return list(dict.fromkeys(str(info[4][0]) for info in result))


class _DeadlineStream:
    __slots__ = ("stream",)

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _bounded(timeout, "ReadTimeout"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _bounded(timeout, "WriteTimeout"))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        return _DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, _bounded(timeout, "ConnectTimeout")))

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


def _close_async(loop: Any, client: Any) -> None:
    import asyncio

    try:
        if loop.is_closed():
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(5)
        else:
            loop.run_until_complete(client.aclose())
    except Exception:
        _log.debug("closing an async service pool failed", exc_info=True)


# -- one call ------------------------------------------------------------------------------------
class _Call:
    __slots__ = (
        "method",
        "route",
        "path",
        "query",
        "content",
        "headers",
        "ctx",
        "deadline",
        "idempotent",
        "response",
        "raw",
        "attempt",
        "start",
        "budget_spent",
    )


class ResponseTooLarge(Exception):
    """The callee's answer is longer than the client's `max_response_bytes`."""


class AnswerOverrun(Exception):
    """The callee sent bytes past the end of its answer on a kept-alive connection (a lying
    Content-Length): its answer is garbled (502 `upstream_invalid_response`), the connection closed."""


class _Body:
    """One answer's body, read chunk by chunk: never past the call's deadline (a server that drips
    a byte at a time resets httpx's read timeout on every byte) nor `max_response_bytes`, counted
    after decompression, which is done here a piece at a time (httpx inflates each network chunk
    whole: a 64 KB chunk of gzip is 64 MB, and `gzip, gzip` makes 485 bytes 200 MB)."""

    __slots__ = ("resp", "at", "limit", "size", "chunks", "codings")

    def __init__(self, client: ServiceClient, call: _Call, resp: Any) -> None:
        self.resp = resp
        self.at = call.deadline.at
        self.limit = limit = client.max_response_bytes
        self.size = 0
        self.chunks: list[bytes] = []
        self.codings = _codings(resp) if resp.headers.get("content-encoding") else None
        length = resp.headers.get("content-length")  # (for HEAD and 304: the body they do not send)
        if limit is not None and length and length.isdigit() and int(length) > limit and _has_body(call, resp):
            raise ResponseTooLarge(length)

    def read_already(self) -> bool:
        """True for an answer httpx holds in memory already (a transport that answers in process, as
        `httpx.MockTransport` does: its stream is consumed, `iter_raw` would raise): its content,
        which httpx decoded, is counted as it is."""
        if not self.resp.is_stream_consumed:
            return False
        self.codings = None
        self._keep(self.resp.content)
        return True

    def stream(self) -> Any:
        """The answer's chunks as they come off the wire. Not `iter_raw`, which hands the connection back
        to the pool the moment the body ends: `done` must first see whether the callee sent more."""
        self.resp.is_stream_consumed = True
        return self.resp.stream

    def add(self, raw: bytes) -> None:
        """One chunk as it came off the wire."""
        if self.codings is None:
            self._keep(raw)
        else:
            for piece in _inflate(self.codings, 0, raw, self.resp):
                self._keep(piece)

    def _keep(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise ResponseTooLarge(self.size)
        if _monotonic() > self.at:
            raise _httpx.ReadTimeout("the answer outlasted the call's deadline", request=self.resp.request)
        self.chunks.append(chunk)

    def done(self) -> None:
        codings = self.codings
        if codings:
            for i in range(len(codings)):  # what each layer still holds goes through the layers after it
                for piece in _inflate(codings, i + 1, codings[i].flush(), self.resp):
                    self._keep(piece)
        self.resp._content = b"".join(self.chunks)  # what httpx's read() keeps: .content, .json()
        parser = _h11_parser(self.resp)
        if parser is not None and parser.trailing_data[0].strip(b"\r\n"):  # (RFC 9112: stray CRLFs are ignored)
            import h11

            if parser.their_state is h11.DONE:  # (not MUST_CLOSE: a connection that is not reused is harmless)
                # The callee sent more than its answer's framing says (a Content-Length shorter than the
                # body, bytes after the last chunk) on a connection it keeps alive. Left in the parser's
                # buffer, they would be read as the answer to the next request sent on it: the next call,
                # maybe for another user, would get this one's leftovers, or a whole answer the callee
                # smuggled in them. The parser is marked failed: httpcore closes the connection.
                parser.send_failed()
                raise AnswerOverrun(len(parser.trailing_data[0]))


def _h11_parser(resp: Any) -> Any:
    """The h11 state of the connection `resp` came on (None: HTTP/2, an in-memory transport, or an
    httpx/httpcore whose private layout differs: httpx offers no public way to it). The chain is httpx's
    stream -> its transport's -> httpcore's pool stream -> the HTTP/1.1 connection's stream -> the
    connection."""
    layer = resp.stream
    for _ in range(6):
        parser = getattr(layer, "_h11_state", None)
        if parser is not None:
            return parser if hasattr(parser, "trailing_data") else None
        layer = (
            getattr(layer, "_connection", None)
            or getattr(layer, "_httpcore_stream", None)
            or getattr(layer, "_stream", None)
        )
        if layer is None:
            return None
    return None


_PIECE = 64 * 1024  # the most one decompression step may produce
_MAX_CODINGS = 2  # content codings stacked on one answer (`gzip, gzip`): more is refused


class _Unzip:
    """One gzip or deflate layer, inflating at most `_PIECE` bytes per step."""

    __slots__ = ("z", "deflate")

    def __init__(self, gzip: bool) -> None:
        import zlib  # (only for an answer that is compressed: not at import)

        self.z = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self.deflate = not gzip  # until the first bytes say whether it has a zlib header

    def pieces(self, data: bytes) -> Iterator[bytes]:
        import zlib

        while data:
            try:
                out = self.z.decompress(data, _PIECE)
            except zlib.error:
                if not self.deflate:
                    raise
                self.z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as many servers send it
                self.deflate = False
                continue
            self.deflate = False
            data = self.z.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        return self.z.flush()


def _codings(resp: Any) -> list[_Unzip] | None:
    """The decoders for the answer's `Content-Encoding`, the last applied first (None: identity)."""
    out: list[_Unzip] = []
    for token in reversed(resp.headers.get_list("content-encoding", split_commas=True)):
        token = token.strip().lower()
        if token in ("gzip", "x-gzip", "deflate"):
            out.append(_Unzip(token != "deflate"))
        elif token in ("br", "zstd", "compress", "x-compress"):  # never asked for (Accept-Encoding)
            raise _httpx.DecodingError(f"an answer in {token!r}, which was not asked for", request=resp.request)
        # identity, or a token no server means (httpx reads those as identity too)
    if len(out) > _MAX_CODINGS:
        raise _httpx.DecodingError(f"{len(out)} content codings on one answer", request=resp.request)
    return out or None


def _inflate(codings: list[_Unzip], i: int, data: bytes, resp: Any) -> Iterator[bytes]:
    """`data` through the layers from `i` on, a bounded piece at a time."""
    import zlib

    if i == len(codings):
        if data:
            yield data
        return
    try:
        for piece in codings[i].pieces(data):
            yield from _inflate(codings, i + 1, piece, resp)
    except zlib.error as exc:
        raise _httpx.DecodingError(f"an undecodable body: {exc}", request=resp.request) from None


def _retry_policy(retry: int | RetryPolicy | None) -> RetryPolicy:
    """`retry=`: a policy, or the number of attempts (3: two retries); 0, None or False: no retry
    (`retry=0` raised `attempts must be at least 1` from RetryPolicy)."""
    if isinstance(retry, RetryPolicy):
        return retry
    if retry is None or retry is False:
        return RetryPolicy(1)
    if retry is True:
        retry = 3  # (the default)
    if retry.__class__ is not int or retry < 0:
        raise ValueError(f"retry= is a RetryPolicy or a number of attempts >= 0 (0: no retry), not {retry!r}")
    return RetryPolicy(max(1, retry), budget=RetryBudget())


def _has_body(call: _Call, resp: Any) -> bool:
    return call.method != "HEAD" and resp.status_code not in (204, 304)


class ServiceClient:
    """Calls to one service. Thread-safe; share one per service (app.service does)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str | Sequence[str | Instance] | None = None,
        discovery: Discovery | None = None,
        app: Any = None,
        balancer: str | Balancer = "round_robin",
        timeout: float | Timeouts = 10.0,
        retry: int | RetryPolicy | None = 3,
        breaker: bool | CircuitBreaker | dict[str, Any] = True,
        bulkhead: int | Bulkhead | None = None,
        health: bool | HealthTracker = True,
        auth: Auth | None = None,
        forward_authorization: bool = False,
        headers: Mapping[str, str] | None = None,
        metrics: bool = True,
        discovery_ttl: float = 30.0,
        pool: dict[str, Any] | None = None,
        max_response_bytes: int | None = 10 * 1024 * 1024,
    ) -> None:
        self.name = name
        self.max_response_bytes = max_response_bytes
        if discovery is None:
            discovery = StaticDiscovery(base_url) if base_url is not None else EnvDiscovery(name)
        elif base_url is not None:
            raise ValueError("give base_url or discovery, not both")
        if not isinstance(discovery, StaticDiscovery | EnvDiscovery | CachedDiscovery):
            discovery = CachedDiscovery(discovery, ttl=discovery_ttl)
        self.discovery = discovery
        self.balancer = balancer_named(balancer)
        self._tracks_outstanding = type(self.balancer).started is not Balancer.started
        self.timeouts = timeout if isinstance(timeout, Timeouts) else Timeouts(float(timeout))
        self.retry = _retry_policy(retry)
        if breaker is True:
            breaker = CircuitBreaker(name)
        elif isinstance(breaker, dict):
            breaker = CircuitBreaker(name, **breaker)
        self.breaker: CircuitBreaker | None = breaker or None
        self.bulkhead = Bulkhead(name, bulkhead) if isinstance(bulkhead, int) else bulkhead
        self.health = HealthTracker() if health is True else (health or None)
        self.auth = auth
        self.forward_authorization = forward_authorization
        # only what _Body can inflate a bounded piece at a time (httpx would add br and zstd when installed)
        self.base_headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate", **(headers or {})}
        self.metrics = metrics
        self.stats = {"calls": 0, "failures": 0, "retries": 0}
        options = {"timeout": self.timeouts.attempt, "follow_redirects": False, "headers": self.base_headers}
        if self.timeouts.connect is not None:
            options["timeout"] = None  # set per attempt
        options.update(pool or {})
        private = auth.headers if auth is not None else ()
        self.app = app
        self._resource = f"service:{name}"
        if app is not None:
            app.resource(self._resource, lambda: Pools(options, private), close=Pools.close, prewarm=False)
            self._own_pools = None
        else:
            self._own_pools = Pools(options, private)
        self.aio = AsyncCalls(self)

    # -- plumbing ---------------------------------------------------------------------------
    def pools(self) -> Pools:
        if self._own_pools is not None:
            return self._own_pools
        return self.app.resources.get(self._resource)

    def close(self) -> None:
        """Close the connection pools (app.shutdown() does it for app-registered clients)."""
        if self._own_pools is not None:
            self._own_pools.close()
        elif self.app is not None:
            self.app.resources.reset(self._resource)

    def instance(self) -> Instance:
        """The instance the next call goes to: discovery, then health, then the balancer."""
        try:
            instances = self.discovery.instances()
        except NoInstances as exc:
            raise ServiceError(
                503, "no_instances", f"No instance of service {self.name} is known", service=self.name
            ) from exc
        except Exception as exc:
            raise ServiceError(
                503, "no_instances", f"Discovery of service {self.name} failed", service=self.name
            ) from exc
        if not instances:
            raise ServiceError(503, "no_instances", f"No instance of service {self.name} is known", service=self.name)
        health = self.health
        if health is not None:
            instances, probe = health.available(instances)
            if probe is not None:
                return probe
        return self.balancer.pick(instances)

    def _prepare(
        self,
        method: str,
        template: str,
        params: Mapping[str, Any],
        body: Any,
        query: Any,
        headers: Mapping[str, str] | None,
        ctx: Any,
        timeout: float | None,
        idempotency_key: str | None,
        response: Any,
        raw: bool,
    ) -> _Call:
        call = _Call()
        call.method = method = method.upper()
        call.route = template
        call.path = expand_path(template, params)
        if query is not None and not isinstance(query, Mapping):
            query = {k: v for k, v in msgspec.to_builtins(query).items() if v is not None}
        call.query = query or None
        call.content = None if body is None else (body if isinstance(body, bytes) else encode_json(body))
        if ctx is None:
            ctx = current_context()
        call.ctx = ctx
        # the client's own headers (Accept, `headers=` of the client) are the pool's defaults:
        # httpx merges nothing for a call that adds none
        out = headers_for(ctx, self.forward_authorization)
        if call.content is not None:
            out["Content-Type"] = "application/json"
        if idempotency_key is not None:
            _check_header(self.name, "Idempotency-Key", idempotency_key)
            out["Idempotency-Key"] = idempotency_key
        if headers:
            for key, value in headers.items():
                _check_header(self.name, key, value)
            out.update(headers)
        if self.auth is not None and not self.auth.signs_body:
            self.auth.apply(method, "", out, call.content)
        call.headers = out or None
        call.deadline = self.timeouts.deadline(ctx, timeout)
        call.idempotent = idempotency_key is not None or method in _IDEMPOTENT
        call.response = response
        call.raw = raw
        call.attempt = 1
        call.budget_spent = False
        call.start = _monotonic()
        self.retry.budget.record_request()
        return call

    def _attempt_timeout(self, call: _Call) -> Any:
        left = call.deadline.attempt_timeout()
        if left < self.timeouts.min_attempt:
            raise UpstreamTimeout(
                504,
                "upstream_timeout",
                f"No time left to call service {self.name}",
                service=self.name,
                attempts=call.attempt - 1,
            )
        connect = self.timeouts.connect
        if connect is None and left >= self.timeouts.attempt:
            return _httpx.USE_CLIENT_DEFAULT
        return _httpx.Timeout(left, connect=min(connect, left) if connect is not None else left)

    def _signed_headers(self, call: _Call, url: str) -> dict[str, str]:
        auth = self.auth
        if auth is None or not auth.signs_body:
            return call.headers
        headers = {**self.base_headers, **(call.headers or {})}
        full = str(_httpx.URL(url, params=call.query)) if call.query else url
        auth.apply(call.method, full, headers, call.content)
        return headers

    def _after_attempt(
        self, call: _Call, instance: Instance, probe: int, elapsed: float, resp: Any, exc: BaseException | None
    ) -> float | None:
        """Record the attempt; the delay before the next one, or None when this one is final."""
        status = resp.status_code if resp is not None else 0
        failed = exc is not None or status >= 500
        if self.breaker is not None:
            self.breaker.record(probe, elapsed, failed, call.ctx)
        if self.health is not None:
            self.health.record(instance, failed)
        if not failed and status != 429:
            return None
        policy = self.retry
        if call.attempt >= policy.attempts:
            return None
        if exc is not None:
            if not isinstance(exc, _httpx.TransportError) or not (call.idempotent or _not_sent(exc)):
                return None  # an answer that was garbled or too large comes out the same again
            retry_after = None
        else:
            if not call.idempotent or status not in policy.statuses:
                return None
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
        delay = policy.delay(call.attempt, retry_after)
        if delay is None or call.deadline.remaining() - delay < self.timeouts.min_attempt:
            return None
        if not policy.budget.try_spend():
            call.budget_spent = True
            _log.warning(
                "service %s: retry budget spent, not retrying %s %s",
                self.name,
                call.method,
                call.route,
                extra={"service": self.name, "route": call.route},
            )
            return None
        call.attempt += 1
        self.stats["retries"] += 1
        return delay

    def _finish(self, call: _Call, resp: Any, exc: BaseException | None) -> Any:
        status = resp.status_code if resp is not None else None
        if exc is not None:
            self._observe(call, None, True)
            if isinstance(exc, _httpx.TimeoutException):
                err: ServiceError = UpstreamTimeout(
                    504,
                    "upstream_timeout",
                    f"Service {self.name} did not answer in time",
                    service=self.name,
                    attempts=call.attempt,
                )
            elif isinstance(exc, ResponseTooLarge):
                err = ServiceError(
                    502,
                    "upstream_too_large",
                    f"Service {self.name} answered more than {self.max_response_bytes} bytes",
                    service=self.name,
                    upstream_status=status,
                    attempts=call.attempt,
                )
            elif not isinstance(exc, _httpx.TransportError) or _garbled(exc):  # undecodable, redirect loop
                err = ServiceError(
                    502,
                    "upstream_invalid_response",
                    f"Service {self.name} answered in an unexpected shape",
                    service=self.name,
                    upstream_status=status,
                    attempts=call.attempt,
                )
            else:
                err = ServiceError(
                    503,
                    "upstream_unavailable",
                    f"Service {self.name} could not be reached",
                    service=self.name,
                    attempts=call.attempt,
                )
            raise err from exc
        if call.raw:
            self._observe(call, status, status >= 500)
            return resp
        if 200 <= status < 300:
            self._observe(call, status, False)
            content = resp.content
            if not content and call.response not in (bytes, str):
                return None
            try:
                return _decoder_for(call.response)(content)
            except _decode_errors() as problem:
                raise ServiceError(
                    502,
                    "upstream_invalid_response",
                    f"Service {self.name} answered in an unexpected shape",
                    service=self.name,
                    upstream_status=status,
                    upstream={"problem": str(problem)},
                    attempts=call.attempt,
                ) from problem
        self._observe(call, status, status >= 500)
        retry_after = parse_retry_after(resp.headers.get("retry-after")) if status in (429, 503) else None
        raise error_for_response(self.name, status, resp.content, retry_after, call.attempt)

    def _no_outcome(self, instance: Instance) -> None:
        """The attempt given `instance` ended unsent or cancelled: a health probe goes to the next call."""
        if self.health is not None:
            self.health.abandon(instance)

    def _refused(self, call: _Call, err: ResilienceError) -> None:
        """A call the breaker or bulkhead refused (no request sent)."""
        self._observe(call, None, True, refused=err.code)
        if isinstance(err.details, dict):
            err.details.setdefault("service", self.name)

    def _observe(self, call: _Call, status: int | None, failed: bool, refused: str | None = None) -> None:
        stats = self.stats
        stats["calls"] += 1
        if failed:
            stats["failures"] += 1
        ctx = call.ctx
        latency_ms = (_monotonic() - call.start) * 1000
        if self.metrics and ctx is not None:
            try:
                metrics = ctx.metrics
                dims = {"dependency": self.name, "route": f"{call.method} {call.route}"}
                metrics.add("ServiceCallLatency", round(latency_ms, 3), "Milliseconds", dimensions=dims)
                if call.attempt > 1:
                    metrics.add("ServiceCallRetries", call.attempt - 1, "Count", dimensions=dims)
                if failed:
                    metrics.add("ServiceCallErrors", 1, "Count", dimensions=dims)
            except Exception:
                _log.debug("service call metrics not recorded", exc_info=True)
        level = logging.WARNING if failed else logging.DEBUG
        if _log.isEnabledFor(level):
            _log.log(
                level,
                "service %s %s %s -> %s in %.1f ms (%d attempt%s)",
                self.name,
                call.method,
                call.route,
                refused or status or "no answer",
                latency_ms,
                call.attempt,
                "" if call.attempt == 1 else "s",
                extra={
                    "service": self.name,
                    "route": call.route,
                    "method": call.method,
                    "status": status,
                    "latency_ms": round(latency_ms, 3),
                    "attempts": call.attempt,
                    "circuit": self.breaker.state if self.breaker is not None else None,
                    "refused": refused,
                    "request_id": ctx.request_id if ctx is not None else None,
                },
            )

    # -- sync calls ----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        /,
        *,
        response: Any = None,
        body: Any = None,
        query: Any = None,
        headers: Mapping[str, str] | None = None,
        ctx: Any = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        raw: bool = False,
        path_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Any:
        """Call `method path` (a template: `{name}` filled from keyword arguments) and return the
        decoded answer: an instance of `response` (msgspec Struct, dataclass, pydantic model, ...),
        plain JSON when `response` is None, or the httpx.Response with `raw=True`."""
        if path_params:
            params = {**path_params, **params}
        if _httpx is None:
            _load_httpx()
        pools = self.pools()
        http = pools.take_sync()  # (made before the deadline starts: the first call's import is not its time)
        try:
            call = self._prepare(
                method, path, params, body, query, headers, ctx, timeout, idempotency_key, response, raw
            )
            return self._attempts(http, call)
        finally:
            if pools.give_back(http):  # closed while this call used it: closed now, after its last use
                http.close()

    def _attempts(self, http: Any, call: _Call) -> Any:
        """The attempts of one sync call on `http`, until one is final."""
        breaker, bulkhead, balancer = self.breaker, self.bulkhead, self.balancer
        resp = exc = None
        while True:
            attempt_timeout = self._attempt_timeout(call)
            instance = self.instance()
            if bulkhead is not None:
                try:
                    bulkhead.acquire()
                except BaseException as err:
                    self._no_outcome(instance)
                    if not isinstance(err, ResilienceError):
                        raise
                    if call.attempt > 1:  # a retry refused: the caller learns how the last try went
                        call.attempt -= 1
                        return self._finish(call, resp, exc)
                    self._refused(call, err)
                    raise
            try:
                probe = breaker.acquire(call.ctx) if breaker is not None else False
            except ResilienceError as err:
                self._no_outcome(instance)
                if bulkhead is not None:
                    bulkhead.release()
                if call.attempt > 1:
                    call.attempt -= 1
                    return self._finish(call, resp, exc)
                self._refused(call, err)
                raise
            if self._tracks_outstanding:
                balancer.started(instance)
            url = instance.url + call.path
            resp = exc = None
            start = _monotonic()
            bound = _io_deadline.set(call.deadline.at)
            try:
                request = http.build_request(
                    call.method,
                    url,
                    content=call.content,
                    params=call.query,
                    headers=self._signed_headers(call, url),
                    timeout=attempt_timeout,
                )
                resp = http.send(request, stream=True)
                try:
                    body = _Body(self, call, resp)
                    if not body.read_already():
                        for chunk in body.stream():
                            body.add(chunk)
                    body.done()
                finally:
                    resp.close()
            except (_httpx.RequestError, ResponseTooLarge, AnswerOverrun) as error:
                exc = error
            except BaseException:
                if breaker is not None:
                    breaker.abandon(probe)
                self._no_outcome(instance)
                raise
            finally:
                _io_deadline.reset(bound)
                if bulkhead is not None:
                    bulkhead.release()
                if self._tracks_outstanding:
                    balancer.finished(instance)
            delay = self._after_attempt(call, instance, probe, _monotonic() - start, resp, exc)
            if delay is None:
                return self._finish(call, resp, exc)
            time.sleep(delay)

    def get(self, path: str, /, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, /, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, /, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, /, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, /, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, /, **kwargs: Any) -> Any:
        return self.request("HEAD", path, **kwargs)

    def __repr__(self) -> str:
        return f"<ServiceClient {self.name} via {type(self.discovery).__name__}>"


def _garbled(exc: BaseException) -> bool:
    """A protocol error raised by the HTTP parser (h11, h2): the callee answered, but not in HTTP (an
    invalid status line or header block, a broken chunk, a body shorter than its Content-Length).
    httpcore's own `RemoteProtocolError` without one means the connection closed before any answer."""
    if not isinstance(exc, _httpx.RemoteProtocolError):
        return False
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if type(seen).__module__.partition(".")[0] in ("h11", "h2"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _not_sent(exc: BaseException) -> bool:
    """True when the request certainly never reached the callee (safe to retry any method)."""
    return isinstance(exc, _httpx.ConnectError | _httpx.ConnectTimeout | _httpx.PoolTimeout)


class AsyncCalls:
    """`client.aio`: the same calls as coroutines, on httpx.AsyncClient (one pool per event loop)."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def request(
        self,
        method: str,
        path: str,
        /,
        *,
        response: Any = None,
        body: Any = None,
        query: Any = None,
        headers: Mapping[str, str] | None = None,
        ctx: Any = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        raw: bool = False,
        path_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Any:
        import asyncio

        c = self.client
        if path_params:
            params = {**path_params, **params}
        if _httpx is None:
            _load_httpx()
        pools = c.pools()
        http = pools.take_async(asyncio.get_running_loop())
        try:
            call = c._prepare(method, path, params, body, query, headers, ctx, timeout, idempotency_key, response, raw)
            return await self._attempts(http, call)
        finally:
            if pools.give_back(http):  # closed while this call used it: closed now, after its last use
                await http.aclose()

    async def _attempts(self, http: Any, call: _Call) -> Any:
        """The attempts of one `aio` call on `http`, until one is final."""
        import asyncio

        c = self.client
        breaker, bulkhead, balancer = c.breaker, c.bulkhead, c.balancer
        resp = exc = None
        while True:
            attempt_timeout = c._attempt_timeout(call)
            instance = c.instance()
            if bulkhead is not None:
                try:
                    await bulkhead.acquire_async()
                except BaseException as err:
                    c._no_outcome(instance)
                    if not isinstance(err, ResilienceError):
                        raise
                    if call.attempt > 1:  # a retry refused: the caller learns how the last try went
                        call.attempt -= 1
                        return c._finish(call, resp, exc)
                    c._refused(call, err)
                    raise
            try:
                probe = breaker.acquire(call.ctx) if breaker is not None else False
            except ResilienceError as err:
                c._no_outcome(instance)
                if bulkhead is not None:
                    bulkhead.release()
                if call.attempt > 1:
                    call.attempt -= 1
                    return c._finish(call, resp, exc)
                c._refused(call, err)
                raise
            if c._tracks_outstanding:
                balancer.started(instance)
            url = instance.url + call.path
            resp = exc = None
            start = _monotonic()
            try:
                request = http.build_request(
                    call.method,
                    url,
                    content=call.content,
                    params=call.query,
                    headers=c._signed_headers(call, url),
                    timeout=attempt_timeout,
                )
                # the whole exchange within the deadline: headers dripped byte by byte too
                async with asyncio.timeout(max(0.0, call.deadline.remaining())):
                    resp = await http.send(request, stream=True)
                    try:
                        body = _Body(c, call, resp)
                        if not body.read_already():
                            async for chunk in body.stream():
                                body.add(chunk)
                        body.done()
                    finally:
                        await resp.aclose()
            except (_httpx.RequestError, ResponseTooLarge, AnswerOverrun) as error:
                exc = error
            except TimeoutError:
                exc = _httpx.ReadTimeout("no complete answer within the call's deadline", request=request)
            except BaseException:  # cancelled: the trial slot of a half-open circuit goes back
                if breaker is not None:
                    breaker.abandon(probe)
                c._no_outcome(instance)
                raise
            finally:
                if bulkhead is not None:
                    bulkhead.release()
                if c._tracks_outstanding:
                    balancer.finished(instance)
            delay = c._after_attempt(call, instance, probe, _monotonic() - start, resp, exc)
            if delay is None:
                return c._finish(call, resp, exc)
            await asyncio.sleep(delay)

    async def get(self, path: str, /, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, /, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, /, **kwargs: Any) -> Any:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, /, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, /, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)

    async def head(self, path: str, /, **kwargs: Any) -> Any:
        return await self.request("HEAD", path, **kwargs)
