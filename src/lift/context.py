"""Context, Request and Response: what a handler and its middleware see.

Everything on a `Request` is decoded lazily: an event source fills the raw pieces, and
headers, query, cookies and body are parsed only when someone reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

import msgspec

from lift import serialization
from lift.errors import http_status

if TYPE_CHECKING:
    from lift.app import App

__all__ = ["Context", "Headers", "LazyRequestContext", "QueryParams", "RecordContext", "Request", "Response"]

_T = TypeVar("_T")
_MISSING: Any = object()
# Headers whose values may legitimately contain commas: never split them.
_UNSPLITTABLE = frozenset(
    {
        "date",
        "expires",
        "last-modified",
        "if-modified-since",
        "if-unmodified-since",
        "retry-after",
        "set-cookie",
        "cookie",
        "user-agent",
        "authorization",
        "www-authenticate",
    }
)


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued headers. `h[name]` and `h.get` give the first value."""

    __slots__ = ("_values", "_comma_joined")

    def __init__(self, values: dict[str, list[str]] | None = None, *, comma_joined: bool = False) -> None:
        self._values = values or {}
        self._comma_joined = comma_joined

    @classmethod
    def from_single(cls, headers: Mapping[str, str] | None, *, comma_joined: bool = False) -> Headers:
        """Build from a `{name: value}` mapping (API Gateway `headers`)."""
        values: dict[str, list[str]] = {}
        for name, value in (headers or {}).items():
            values.setdefault(name.lower(), []).append(value)
        return cls(values, comma_joined=comma_joined)

    @classmethod
    def from_multi(cls, headers: Mapping[str, list[str]] | None) -> Headers:
        """Build from a `{name: [values]}` mapping (`multiValueHeaders`)."""
        values: dict[str, list[str]] = {}
        for name, vals in (headers or {}).items():
            if vals:  # a name with no values (`[]` or null) is no header: h[name] would have nothing to give
                if isinstance(vals, str):  # one value where AWS sends a list: never split into characters
                    vals = [vals]
                values.setdefault(name.lower(), []).extend(vals)
        return cls(values)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][0]

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str | _T) -> str | _T: ...
    def get(self, name: str, default: Any = None) -> Any:
        vals = self._values.get(name.lower())
        return vals[0] if vals else default

    def getall(self, name: str) -> list[str]:
        """Every value of `name` (an HTTP API's comma-joined values are split back apart)."""
        key = name.lower()
        vals = self._values.get(key, [])
        if self._comma_joined and key not in _UNSPLITTABLE:
            return [part.strip() for v in vals for part in v.split(",")]
        return list(vals)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def items_all(self) -> Iterator[tuple[str, str]]:
        """Every (name, value) pair, names lower-cased."""
        for name, vals in self._values.items():
            for v in vals:
                yield name, v

    def __repr__(self) -> str:
        return f"Headers({dict(self.items_all())!r})"


class QueryParams(Mapping[str, str]):
    """Multi-valued query parameters. `q[name]`/`q.get` give the last value, `getall` every one."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, list[str]] | None = None) -> None:
        self._values = values or {}

    @classmethod
    def parse(cls, raw: str) -> QueryParams:
        """Parse a raw (percent-encoded) query string. An escape that is not UTF-8 (`%FF`) is the
        client's malformed request, a 400 (`invalid_query_encoding`), never a silent U+FFFD."""
        from urllib.parse import parse_qsl

        values: dict[str, list[str]] = {}
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise bad_query_encoding() from None
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        return cls(values)

    def __getitem__(self, name: str) -> str:
        return self._values[name][-1]

    def getall(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._values.items()}

    def __repr__(self) -> str:
        return f"QueryParams({self._values!r})"


def bad_query_encoding() -> Exception:
    """The 400 for a query string whose percent-escapes do not decode as UTF-8 (`?q=%FF`)."""
    from lift.errors import BadRequest

    return BadRequest(
        "Query string is not valid UTF-8 once percent-decoded",
        code="invalid_query_encoding",
        details=[{"location": "query", "message": "Percent-escapes must encode UTF-8 text"}],
    )


_UNDECIDED: Any = object()
# name -> (the spellings probed first, the name between newlines as in `_lowered_names`)
_spellings: dict[str, tuple[tuple[str, ...], str]] = {}


def _spellings_of(name: str) -> tuple[tuple[str, ...], str]:
    """`x-request-id` -> ((`X-Request-Id`, `x-request-id`, `X-Request-ID`), `\\nx-request-id\\n`)."""
    found = _spellings.get(name)
    if found is None:
        title = "-".join(part.capitalize() for part in name.split("-"))
        found = (
            tuple(dict.fromkeys((title, name, title[:-2] + "ID" if title.endswith("-Id") else title))),
            f"\n{name}\n",
        )
        if len(_spellings) < 256:
            _spellings[name] = found
    return found


def _probe_headers(event: dict[str, Any], fields: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """`Request.first_header` read from the event's header dicts: the value, None when no name is
    there under any spelling, `_UNDECIDED` when `headers` must decide (another spelling, a value of
    another shape, a name that is not a string)."""
    primary = event.get(fields[0])
    multi = len(fields) > 1  # the first field holds lists (`multiValueHeaders`) when there is a second
    if not primary and multi:
        primary, multi = event.get(fields[1]), False
    if not primary:
        return None
    if primary.__class__ is not dict:
        return _UNDECIDED
    lowered = None
    for name in names:
        spellings, between_newlines = _spellings.get(name) or _spellings_of(name)
        for spelling in spellings:
            value = primary.get(spelling)
            if value is not None:
                if multi:
                    value = value[0] if value.__class__ is list and value else None
                if value and value.__class__ is str:
                    return value
                return _UNDECIDED
        if lowered is None:  # every header name once, lower-cased: is `name` there under another spelling?
            # (the second dict too: REST adds its names the first lacks, for hand-edited events)
            second = event.get(fields[1]) if multi else None
            try:
                lowered = "\n" + "\n".join([*primary, *second] if second else primary).lower() + "\n"
            except TypeError:  # a header name that is not a string (a hand-made event)
                return _UNDECIDED
        if between_newlines in lowered:
            return _UNDECIDED
    return None


def first_value(headers: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The first non-empty `headers.get(name)` of `names`, tried in order; None if none."""
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


class Request:
    """An HTTP request, normalized from any HTTP event source. Fields decode on first read.

    Event-source modules subclass it and implement the `_load_*` methods for their shape.
    """

    # Class-level defaults: construction sets only the three fields every source has.
    source = "http"
    path_encoded = False  # True where the source passes the path still percent-encoded
    max_body = 6 * 1024 * 1024  # bytes; reading a larger body is a 413 (the App sets its own limit)
    _path_params: dict[str, str] | None = None
    # A route ending in its one parameter (`/users/{id}`, the commonest) keeps its name and value
    # here, and `path_params` makes its dict only when someone reads it (see App._http_handler).
    _tail_name: str | None = None
    _tail_value: str | None = None
    _headers: Headers | None = None
    _query: QueryParams | None = None
    _cookies: dict[str, str] | None = None
    _body: bytes | None = None
    # The event's own header dicts `headers` is built from, the one holding every value first
    # (`multiValueHeaders`, whose values are lists): named by the sources whose events carry them,
    # so `first_header` can read one header without building `headers`.
    header_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, event: dict[str, Any], method: str, path: str) -> None:
        self.event = event
        self.method = method
        self.path = path

    def first_header(self, *names: str) -> Any:
        """The first non-empty `headers.get(name)` of `names` (lower case), tried in order; None if none.

        Reads the event's own header dict (`header_fields`) first, probing each name under the
        spellings clients and AWS send (`x-correlation-id`, `X-Correlation-Id`, `X-Correlation-ID`),
        and tells a name absent under every spelling from one lower-casing of the event's header
        names: reading one header (the log formatter's correlation id) then builds no `headers`
        (about 8k instructions). Headers already built (a middleware may have changed them), a name
        under another spelling, or an event of another shape: `headers` decides, as it always did.
        (One difference, in events no AWS service sends: a dict holding one name under two
        spellings gives the probed spelling's value, where `headers` gives the first in the dict.)"""
        fields = self.header_fields
        event = self.event
        if fields and self._headers is None and event.__class__ is dict:
            found = _probe_headers(event, fields, names)
            if found is not _UNDECIDED:
                return found
        return first_value(self.headers, names)

    # -- what a source provides -------------------------------------------------
    def _load_headers(self) -> Headers:
        return Headers.from_single(self.event.get("headers"))

    def _load_query(self) -> QueryParams:
        return QueryParams()

    def _raw_body(self) -> str | None:
        return self.event.get("body")

    def _cookie_headers(self) -> list[str]:
        return self.headers.getall("cookie")

    # -- lazily decoded fields ---------------------------------------------------
    @property
    def path_params(self) -> dict[str, str]:
        """The matched route's path parameters by name (percent-decoded), `{}` for none."""
        params = self._path_params
        if params is None:
            name = self._tail_name
            params = self._path_params = {} if name is None else {name: self._tail_value}  # type: ignore[dict-item]
        return params

    @path_params.setter
    def path_params(self, params: dict[str, str]) -> None:
        self._path_params = params

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = self._load_headers()
        return self._headers

    @property
    def query(self) -> QueryParams:
        if self._query is None:
            self._query = self._load_query()
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """The request's cookies by name (the first of a name wins, as browsers send the most specific
        first). A pair without `=` (`Cookie: flag; a=b`, what a browser sends back for a cookie set
        as `document.cookie = "flag"`) is the nameless cookie RFC 6265bis makes of it: `{"": "flag"}`,
        as `=flag` is, on every source."""
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for header in self._cookie_headers():
                for part in header.split(";"):
                    name, sep, value = part.partition("=")
                    if not sep:  # (a nameless cookie: its text is the value)
                        name, value = "", name
                    name, value = name.strip(), value.strip()
                    if name or value:
                        cookies.setdefault(name, value.strip('"'))
            self._cookies = cookies
        return self._cookies

    @property
    def body(self) -> bytes:
        """The raw body bytes (base64 bodies decoded)."""
        if self._body is None:
            raw = self._raw_body()
            if not raw:
                self._body = b""
            elif self.event.get("isBase64Encoded"):
                if len(raw) > self.max_body and self.body_size() > self.max_body:
                    raise self._too_large()
                import binascii  # on the first base64 body: a C module an app without one never loads

                try:  # strict: characters outside the alphabet are an error, not skipped
                    self._body = binascii.a2b_base64(raw, strict_mode=True)
                except (ValueError, TypeError):  # binascii.Error is a ValueError
                    from lift.errors import BadRequest

                    raise BadRequest(
                        "Request body is not valid base64", code="invalid_base64", details=[{"location": "body"}]
                    ) from None
            else:
                body = raw.encode("utf-8")
                if len(body) > self.max_body:  # (bytes: 'é' is two, so the text's length would not do)
                    raise self._too_large()
                self._body = body
        return self._body

    def _too_large(self) -> Exception:
        from lift.errors import PayloadTooLarge

        return PayloadTooLarge(f"Request body exceeds the {self.max_body}-byte limit")

    def body_size(self) -> int:
        """The body's size in bytes, without decoding base64 (its padding is not data)."""
        raw = self._raw_body()
        if not raw:
            return 0
        if self.event.get("isBase64Encoded"):
            return max(0, len(raw) * 3 // 4 - raw.endswith("=") - raw.endswith("=="))
        return len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises `BadRequest` on invalid JSON)."""
        return serialization.decode_json(self.body)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def source_ip(self) -> str | None:
        return None

    @property
    def url(self) -> str:
        host = self.headers.get("host", "localhost")
        proto = self.headers.get("x-forwarded-proto", "https")
        from urllib.parse import quote

        query = "&".join(f"{quote(k)}={quote(v)}" for k, vs in self.query.to_dict().items() for v in vs)
        return f"{proto}://{host}{self.path}" + (f"?{query}" if query else "")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.path}>"


_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "+json",
    "+xml",
    "application/x-www-form-urlencoded",
    "application/graphql",
    "image/svg+xml",
)


def is_text_content_type(content_type: str | None) -> bool:
    """True when a body of this type is sent as text rather than base64."""
    if not content_type:
        return True
    ct = content_type.lower()
    return any(t in ct for t in _TEXT_TYPES)


class Response:
    """A full HTTP response: status, headers, cookies and a body.

    `body` may be bytes (sent as is), a str (text), or any JSON-encodable value. `status` is an int
    from 100 to 599: anything else (API Gateway would answer 502) is a TypeError/ValueError naming it.
    """

    __slots__ = ("status", "headers", "cookies", "body")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        self.status = status if status.__class__ is int and 100 <= status <= 599 else http_status(status)
        self.headers: dict[str, str] = dict(headers) if headers else {}
        self.cookies: list[str] = list(cookies) if cookies else []
        if body is None:
            self.body = b""
        elif isinstance(body, bytes | bytearray | memoryview):
            self.body = bytes(body)
            content_type = content_type or "application/octet-stream"
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            self.body = serialization.encode_json(body)
            content_type = content_type or "application/json"
        if content_type and not self._has_header("content-type"):
            self.headers["Content-Type"] = content_type

    @classmethod
    def _raw(cls, body: bytes, status: int, content_type: str) -> Response:
        """Fast constructor for already-encoded bodies (used on the hot path)."""
        resp = cls.__new__(cls)
        resp.status = status
        resp.headers = {"Content-Type": content_type}
        resp.cookies = []
        resp.body = body
        return resp

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(serialization.encode_json(data), status, headers, "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(text, status, headers, "text/plain; charset=utf-8")

    @classmethod
    def html(cls, html: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(html, status, headers, "text/html; charset=utf-8")

    @classmethod
    def binary(cls, data: bytes, content_type: str = "application/octet-stream", status: int = 200) -> Response:
        return cls(data, status, None, content_type)

    @classmethod
    def redirect(cls, location: str, status: int = 307) -> Response:
        return cls(None, status, {"Location": location})

    @classmethod
    def stream(
        cls,
        chunks: Any,
        content_type: str = "application/octet-stream",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A streamed body from a sync or async iterable of bytes/str (see lift.streaming)."""
        from lift.streaming import StreamingResponse

        return StreamingResponse(chunks, status, headers, content_type)

    @classmethod
    def ndjson(cls, items: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """Each item of a sync or async iterable streamed as one JSON line (`application/x-ndjson`)."""
        from lift.streaming import StreamingResponse, ndjson_chunks

        return StreamingResponse(ndjson_chunks(items), status, headers, "application/x-ndjson")

    @classmethod
    def sse(cls, events: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """Server-sent events from a sync or async iterable (`lift.streaming.ServerSentEvent` or data)."""
        from lift.streaming import StreamingResponse, sse_chunks

        merged = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})}
        return StreamingResponse(sse_chunks(events), status, merged, "text/event-stream; charset=utf-8")

    def _has_header(self, name: str) -> bool:
        lname = name.lower()
        return any(k.lower() == lname for k in self.headers)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A response header by case-insensitive name."""
        lname = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lname:
                return v
        return default

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")

    @property
    def is_text(self) -> bool:
        return is_text_content_type(self.content_type)

    def set_cookie(
        self,
        name: str,
        value: str = "",
        *,
        max_age: int | None = None,
        expires: str | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = True,
        httponly: bool = True,
        samesite: str | None = "Lax",
    ) -> Response:
        """Add a `Set-Cookie`; secure and HttpOnly by default."""
        parts = [f"{name}={value}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if expires:
            parts.append(f"Expires={expires}")
        if path:
            parts.append(f"Path={path}")
        if domain:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            parts.append(f"SameSite={samesite}")
        self.cookies.append("; ".join(parts))
        return self

    def delete_cookie(self, name: str, path: str | None = "/", domain: str | None = None) -> Response:
        return self.set_cookie(name, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=path, domain=domain)

    def json_body(self) -> Any:
        """The body parsed as JSON (for tests and middleware)."""
        return serialization.decode_json(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.content_type} {len(self.body)} bytes>"


class Context(msgspec.Struct, dict=True, eq=False):
    """Everything about one request or record, handed to handlers and middleware.

    Identity attributes (`user_id`, `tenant_id`, `claims`, `principal`) start as None and are
    set by middleware; `state` is a per-request dict for middleware to share data.

    A msgspec Struct (no `__eq__`: contexts compare by identity): built by C code, it costs a
    third of a Python `__init__`, which matters once per record of every batch. The fields are
    the positional arguments; anything else set on a context lives in its `__dict__`.
    """

    app: App
    event: Any
    lambda_context: Any
    source: str
    request: Request | None = None
    cold_start: bool = False
    route: str | None = None
    _record: Any = None  # `record`

    # Class-level defaults, kept in the instance's __dict__ once middleware or a feature sets
    # them (not Struct fields: a context with fewer fields is quicker to make).
    # (Declared for type checkers with their defaults, which keeps them optional in the signature
    # mypy infers for the Struct: they are never constructor arguments at run time.)
    if TYPE_CHECKING:
        user_id: str | None = None
        tenant_id: str | None = None
        claims: dict[str, Any] | None = None
        principal: Any = None
        _request_id: str | None = None
        _state: dict[str, Any] | None = None
        _logger: Any = None
        _metrics: Any = None
        _ws: Any = None
        _cache: Any = None
        _failure_logged: bool = False
        _held_lines: Any = ()
    user_id = None
    tenant_id = None
    claims = None
    principal = None
    _request_id = None
    _state = None
    _logger = None
    _metrics = None
    _ws = None
    _cache = None
    # One line per event (lift.observability.logging.hold_line): True once this event's failure line
    # is written; the failure lines held for RequestLogging's access line (() none yet, None: not held)
    _failure_logged = False
    _held_lines = ()

    @property
    def record(self) -> Any:
        """The event-source record this context is for (an `SQSRecord`, ...; None for HTTP)."""
        return self._record

    @record.setter
    def record(self, value: Any) -> None:
        self._record = value

    @property
    def is_http(self) -> bool:
        return self.request is not None

    @property
    def path_params(self) -> dict[str, str]:
        return self.request.path_params if self.request is not None else {}

    @property
    def request_id(self) -> str:
        """The id that ties logs and error bodies together (Lambda's request id by default)."""
        rid = self._request_id
        if rid is None:
            rid = getattr(self.lambda_context, "aws_request_id", None)
            if not rid and isinstance(self.event, dict):
                request_context = self.event.get("requestContext")
                rid = request_context.get("requestId") if isinstance(request_context, dict) else None
                if not isinstance(rid, str):
                    rid = None
            if not rid:
                import uuid

                rid = str(uuid.uuid4())
            self._request_id = rid
        return rid

    @request_id.setter
    def request_id(self, value: str) -> None:
        self._request_id = value

    @property
    def state(self) -> dict[str, Any]:
        if self._state is None:
            self._state = {}
        return self._state

    def remaining_ms(self) -> int:
        """Milliseconds left before Lambda's timeout (15 minutes when not on Lambda)."""
        get = getattr(self.lambda_context, "get_remaining_time_in_millis", None)
        return int(get()) if get is not None else 900_000

    # -- request shortcuts -------------------------------------------------------
    @property
    def method(self) -> str | None:
        return self.request.method if self.request is not None else None

    @property
    def path(self) -> str | None:
        return self.request.path if self.request is not None else None

    @property
    def headers(self) -> Headers:
        return self.request.headers if self.request is not None else Headers()

    @property
    def query(self) -> QueryParams:
        return self.request.query if self.request is not None else QueryParams()

    @property
    def body(self) -> bytes:
        return self.request.body if self.request is not None else b""

    def json(self) -> Any:
        return self.request.json() if self.request is not None else None

    # -- features provided by other modules, loaded on first use ---------------------
    @property
    def logger(self) -> Any:
        """A logger bound to this request (request id, tenant, user)."""
        if self._logger is None:
            from lift.observability.logging import logger_for

            self._logger = logger_for(self)
        return self._logger

    @property
    def metrics(self) -> Any:
        """CloudWatch EMF metrics for this invocation."""
        if self._metrics is None:
            from lift.observability.metrics import metrics_for

            self._metrics = metrics_for(self)
        return self._metrics

    @property
    def connection_id(self) -> str | None:
        """The WebSocket connection this event came from (None for other sources)."""
        return self.record.connection_id if self.source == "websocket" and self.record is not None else None

    @property
    def ws(self) -> Any:
        """A `lift.websocket.WebSocketClient`: this connection's API for WebSocket events,
        else `app.websocket_client`. `ctx.ws.send(connection_id, data)`, `.close`, `.broadcast`."""
        if self._ws is None:
            from lift.websocket import client_for

            self._ws = client_for(self)
        return self._ws

    @property
    def jobs(self) -> Any:
        """`lift.jobs.JobsForContext`: `ctx.jobs.start("report", body)`, `.get(id)`, `.cancel(id)`."""
        from lift.jobs import JobsForContext

        return JobsForContext(self)

    @property
    def cache(self) -> Any:
        """The `lift.cache.Cache` of the cache middleware around this route (else the process's
        in-memory cache): `ctx.cache.invalidate(tags=["user:42"])`."""
        if self._cache is None:
            from lift.cache import default_cache

            self._cache = default_cache()
        return self._cache

    def audit(
        self, action: str, *, target: str | None = None, details: dict[str, Any] | None = None, outcome: str = "success"
    ) -> Any:
        """Append an entry to the app's audit trail (`lift.audit`; to each, when it has several): who,
        what, when, request id, outcome. Returns the entry of the first trail."""
        from lift.audit.trail import trails_for

        entries = [
            trail.record(action, ctx=self, target=target, details=details, outcome=outcome)
            for trail in trails_for(self.app)
        ]
        return entries[0]

    def resource(self, name: str) -> Any:
        """The shared resource registered with `app.resource(name, factory)`."""
        return self.app.resources.get(name)

    def __repr__(self) -> str:
        return f"<Context {self.source} {self.request or self.record!r} request_id={self._request_id}>"


class RecordContext(Context):
    """The context of one plain record of a batch: it keeps the raw record dict and makes the
    record object only when someone reads `ctx.record` (most handlers read only their typed
    body). Each batch source names its record class in a subclass."""

    raw: dict[str, Any] | None = None

    record_type: ClassVar[Any] = None

    @property
    def record(self) -> Any:
        record = self._record
        if record is None:
            record = self._record = self.record_type(self.raw)
        return record

    @record.setter
    def record(self, value: Any) -> None:
        self._record = value


_request_field = Context.__dict__["request"]  # the Struct's own slot, under the property below


class LazyRequestContext(Context):
    """The context of an HTTP request on the App's direct path: its `Request` is made when
    `ctx.request` (or anything reading it: headers, body, logging) is first read, by the maker
    the App keeps for its source. A handler that takes only `ctx` and path parameters never
    pays for a request object."""

    @property  # type: ignore[misc]
    def request(self) -> Request:
        request: Request | None = _request_field.__get__(self)
        if request is None:
            request = self.app._request_makers[self.source](self)
            _request_field.__set__(self, request)
        return request

    @request.setter
    def request(self, value: Request | None) -> None:
        _request_field.__set__(self, value)
