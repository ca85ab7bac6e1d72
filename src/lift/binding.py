"""Handler signatures -> argument binders, built once at registration.

Each parameter becomes a small getter `(ctx) -> value` chosen from its name and type hint:
`ctx: Context`, path parameters (converted to `int`, `float`, `uuid.UUID`, ...), `body`,
`query`, and headers marked with `Header`. Per request the binder only calls the getters.
"""

from __future__ import annotations

import datetime
import enum
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NoReturn

import msgspec

from lift import errors as _errors  # (BadRequest, PayloadTooLarge: made on first use)
from lift.context import Context, Request
from lift.errors import LiftError, ValidationFailed
from lift.serialization import unsupported_charset
from lift.validation import MAX_PROBLEMS, Report, _plain_struct, bounded, codec_for

__all__ = ["Header", "Binder", "RouteBinder", "Plan", "InvalidBody", "build_binder", "path_converter"]

Getter = Callable[[Context], Any]


class _Empty:
    """Marks a parameter without a default."""

    def __repr__(self) -> str:
        return "<empty>"


_EMPTY: Any = _Empty()
_CO_COROUTINE = 0x80
_NONE_TYPE = type(None)


def parameters(fn: Callable[..., Any]) -> list[tuple[str, bool, Any]]:
    """(name, keyword_only, default) of each named parameter, read from the code object.

    Avoids importing `inspect` (slow to import) for plain functions and methods. A decorated
    handler (`functools.wraps`) is read through `__wrapped__`, as `inspect.signature` would.
    """
    while (wrapped := getattr(fn, "__wrapped__", None)) is not None:
        fn = wrapped
    code = getattr(fn, "__code__", None)
    if code is None or not hasattr(fn, "__defaults__"):
        import inspect

        return [
            (p.name, p.kind is p.KEYWORD_ONLY, _EMPTY if p.default is p.empty else p.default)
            for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    npos, nkw = code.co_argcount, code.co_kwonlyargcount
    names = code.co_varnames[: npos + nkw]
    defaults = fn.__defaults__ or ()
    kwdefaults = fn.__kwdefaults__ or {}
    first_default = npos - len(defaults)
    out = []
    for i, name in enumerate(names):
        if i < npos:
            out.append((name, False, defaults[i - first_default] if i >= first_default else _EMPTY))
        else:
            out.append((name, True, kwdefaults.get(name, _EMPTY)))
    if getattr(fn, "__self__", None) is not None:  # a bound method: `self` is already given
        out = out[1:]
    return out


def is_coroutine_function(fn: Callable[..., Any]) -> bool:
    code = getattr(fn, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    import inspect

    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004 (a callable object's async __call__)


_JSON_TYPES = ("application/json", "+json")
_FORM = "application/x-www-form-urlencoded"


class Header:
    """Marks a handler parameter as a request header.

    Use as a default (`tenant: str = Header("X-Tenant-Id")`) or in `Annotated[str, Header()]`;
    without a name, the parameter name with `_` -> `-` is used. A missing header without a
    default is a 422.
    """

    __slots__ = ("name", "default")

    def __init__(self, name: str | None = None, default: Any = _EMPTY) -> None:
        self.name = name
        self.default = default


def _convert_bool(raw: str) -> bool:
    low = raw.lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"invalid boolean {raw!r}")


def _convert_int(raw: str) -> int:
    """An integer as a URL or header writes one: an optional `-` and ASCII digits (`-12`, `007`).
    `int()` alone also takes `1_000`, `+1`, ` 1 ` and other scripts' digits (`١`): a client's
    `/users/1_000` is a 422, never user 1000. (Generated calls decode text of digits with
    `_decode_int` first: this runs for the rest.)"""
    digits = raw[1:] if raw[:1] == "-" else raw
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"not an integer: {raw!r}")
    return int(raw)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _convert_uuid(raw: str) -> uuid.UUID:
    """A UUID as msgspec reads one in a body or query: 32 ASCII hex digits, dashed 8-4-4-4-12 or not.
    `uuid.UUID()` alone also takes `{...}`, `urn:uuid:...`, dashes anywhere, `_` and other scripts'
    digits (`/items/١١١...` would be item 11111111-1111-...)."""
    digits = raw.replace("-", "") if len(raw) == 36 and raw[8] == raw[13] == raw[18] == raw[23] == "-" else raw
    if len(digits) != 32 or not _HEX_DIGITS.issuperset(digits):
        raise ValueError(f"not a UUID: {raw!r}")
    return uuid.UUID(digits)


# The generated calls' first try for an `int` path parameter of ASCII digits (kinds 8 and 9):
# msgspec's JSON decoder of an int, about 330 instructions where `int(str)` costs about 1,100. It
# refuses what a URL's digits may also be and JSON does not write (`007`, other scripts' digits):
# those, and any text that is not all digits, go to `_convert_int` (`_int_again`).
_decode_int = msgspec.json.Decoder(int).decode


def _int_again(raw: str, name: str, label: str) -> int:
    """`_convert_int(raw)`, or the 422 of path parameter `name`: the generated calls' second try."""
    try:
        return _convert_int(raw)
    except _CONVERSION_ERRORS:
        raise bad_path_param(name, label, raw) from None


def is_plain_number(raw: str) -> bool:
    """Whether `raw` is a number as JSON writes one (leading zeros aside): ASCII, an optional `-`,
    digits, optionally `.` and digits, optionally `e`/`E`, a sign and digits. `float()` and
    `Decimal()` also take `+1`, `1_000.5`, ` 1.5`, `.5`, `5.` and other scripts' digits."""
    if not raw.isascii():
        return False
    mantissa, e, exponent = raw.lower().partition("e")
    if e and not (exponent[1:] if exponent[:1] in ("+", "-") else exponent).isdigit():
        return False
    whole, dot, fraction = (mantissa[1:] if mantissa[:1] == "-" else mantissa).partition(".")
    return whole.isdigit() and (not dot or fraction.isdigit())


def _convert_float(raw: str) -> float:
    """A finite float written as JSON writes numbers (`is_plain_number`): `nan`, `inf` and `1e999`
    are refused (JSON has no such number: the handler's answer could not even say what it got)."""
    if not is_plain_number(raw):
        raise ValueError(f"not a number: {raw!r}")
    value = float(raw)
    if value - value != 0.0:  # (NaN or an infinity)
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def _convert_decimal(raw: str) -> Decimal:
    """A finite Decimal: `NaN`, `sNaN` (which raises on any arithmetic: a 500 in the handler) and
    `Infinity` are refused, and any text but a number as JSON writes one (`is_plain_number`)."""
    if not is_plain_number(raw):
        raise ValueError(f"not a number: {raw!r}")
    value = Decimal(raw)
    if not value.is_finite():
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def _enum_converter(tp: type[enum.Enum]) -> Callable[[str], Any]:
    """An Enum from a path segment: its value as the URL spells it. A str-valued Enum is its own
    converter; one with other values (an IntEnum's `1`) is found by its value's text."""
    members = list(tp)
    if all(isinstance(m.value, str) for m in members):
        return tp
    by_text = {str(m.value): m for m in members}

    def convert_enum(raw: str) -> Any:
        member = by_text.get(raw)
        return tp(raw) if member is None else member

    return convert_enum


def path_converter(tp: Any) -> Callable[[str], Any] | None:
    """The function turning a path segment into `tp` (None for `str`, which needs none)."""
    if tp in (str, _EMPTY, Any):
        return None
    if tp is bool:
        return _convert_bool
    if tp is int:
        return _convert_int
    if tp is uuid.UUID:
        return _convert_uuid
    if tp is float:
        return _convert_float
    if tp is Decimal:
        return _convert_decimal
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_converter(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:  # `Annotated[int, Meta(ge=1)]`: the base's text rule, then its constraints
        return _constrained_converter(tp)
    if origin is typing.Literal and all(v.__class__ in (str, int) for v in typing.get_args(tp)):
        values = {str(v): v for v in typing.get_args(tp)}

        def convert_literal(raw: str) -> Any:
            return values[raw]  # (a KeyError is no value of the Literal: a ValueError below)

        return lambda raw: _or_value_error(convert_literal, raw)
    if tp in (datetime.date, datetime.datetime, datetime.time):
        return lambda raw: msgspec.convert(raw, tp)  # (RFC 3339, as msgspec reads one in a body)
    raise TypeError(
        f"Unsupported parameter type {tp!r}: use str, int, float, bool, Decimal, UUID, an Enum, a Literal, "
        f"a date, datetime or time, or one of them Annotated with msgspec.Meta constraints (a header: or a list of one)"
    )


def _or_value_error(convert: Callable[[str], Any], raw: str) -> Any:
    try:
        return convert(raw)
    except KeyError:
        raise ValueError(raw) from None


def _constrained_converter(tp: Any) -> Callable[[str], Any]:
    """`Annotated[X, msgspec.Meta(...)]`: the text converted as X is, then checked by msgspec."""
    base = typing.get_args(tp)[0]
    inner = path_converter(base)
    msgspec.json.Decoder(tp)  # (a constraint msgspec cannot check on the type, `ge` on a Decimal: a TypeError now)

    def convert_constrained(raw: str) -> Any:
        return msgspec.convert(raw if inner is None else inner(raw), tp)

    return convert_constrained


_TYPE_LABELS: dict[Any, str] = {int: "integer", float: "number", uuid.UUID: "UUID", bool: "boolean"}


_CONSTRAINTS = (
    ("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("multiple_of", "a multiple of"),
    ("min_length", "of length >="), ("max_length", "of length <="), ("pattern", "matching"),
)  # fmt: skip


def _type_label(tp: Any) -> str:
    label = _TYPE_LABELS.get(tp)
    if label is not None:
        return label
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:  # `integer >= 1, <= 50`
        base, *extras = typing.get_args(tp)
        found = [
            f"{text} {value!r}" if name == "pattern" else f"{text} {value}"
            for meta in extras
            if isinstance(meta, msgspec.Meta)
            for name, text in _CONSTRAINTS
            if (value := getattr(meta, name)) is not None
        ]
        return ", ".join([f"{_type_label(base)} {found[0]}" if found else _type_label(base), *found[1:]])
    if origin is typing.Literal:
        return " | ".join(repr(v) for v in typing.get_args(tp))
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # `int | None`: "integer | null", every member
        return " | ".join("null" if arg is type(None) else _type_label(arg) for arg in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


_path_getters: dict[tuple[str, Any], Getter] = {}
_SHARED_PATH_TYPES = frozenset({str, int, float, bool, Decimal, uuid.UUID})


def _path_getter(name: str, tp: Any) -> Getter:
    """The getter of path parameter `name` typed `tp`: for the built-in types, one per (name, type),
    shared by every route (a 1,000-route app has a handful); a user's Enum gets its own (the cache
    keeps no user class alive after its app, e.g. across `lift dev` reloads)."""
    if tp is _EMPTY or tp.__class__ is not type or tp not in _SHARED_PATH_TYPES:
        return _make_path_getter(name, tp)
    key = (name, tp)
    getter = _path_getters.get(key)
    if getter is None:
        getter = _path_getters[key] = _make_path_getter(name, tp)
    return getter


def _make_path_getter(name: str, tp: Any) -> Getter:
    try:
        convert = path_converter(tp)
    except TypeError as exc:
        raise TypeError(f"Path parameter {name}: {exc}") from None
    if convert is None:

        def get_path_param(ctx: Context) -> Any:
            return ctx.request.path_params[name]  # type: ignore[union-attr]  # routed: an HTTP request

        get_path_param.inline = ("path", name, None)  # type: ignore[attr-defined]
        get_path_param.never_fails = True  # type: ignore[attr-defined]
        return get_path_param
    label = _type_label(tp)

    def get_typed_path_param(ctx: Context) -> Any:
        raw = ctx.request.path_params[name]  # type: ignore[union-attr]  # routed: an HTTP request
        try:
            return convert(raw)
        except _CONVERSION_ERRORS:
            raise bad_path_param(name, label, raw) from None

    get_typed_path_param.inline = ("path", name, convert, label)  # type: ignore[attr-defined]
    return get_typed_path_param


_CONVERSION_ERRORS = (ValueError, TypeError, ArithmeticError)


def bad_path_param(name: str, label: str, raw: str) -> ValidationFailed:
    """The 422 for a path segment that does not convert to its hinted type."""
    return ValidationFailed(
        details=[{"location": "path", "path": f"$.{name}", "message": f"Expected {label}, got {raw!r}"}]
    )


class InvalidBody:
    """What a direct call (`Binder.call_direct`) returns, instead of raising, when its typed body
    fails to decode: `problem`, the body's Report (every problem: the details of its 422) or the
    error to answer (a BadRequest for malformed JSON). The HTTP source answers it, or raises
    nothing at all: an invalid body costs no exception object, raise or traceback on that path
    until an exception handler or the log line needs one (`error()`)."""

    __slots__ = ("problem", "raw", "codec")

    problem: Report | Exception
    raw: str  # the body the direct call decoded, and its codec: `raise_error` decodes it again for the
    codec: Any  # decode's own error (msgspec's), which the general path's error is chained to

    def error(self) -> Exception:
        """The exception the general path raises for this body (a ValidationFailed or BadRequest)."""
        problem = self.problem
        if isinstance(problem, Report):
            return ValidationFailed.report(problem, echoes=problem.echoes)
        return problem

    def raise_error(self) -> NoReturn:
        """Raise `error()` as the general path raises it (`raise codec.error_for(raw, exc) from None`
        in the body's getter): with a traceback, its context the decode's error, shown suppressed.
        An exception handler that logs it with `exc_info` gets the same traceback either way."""
        err, raw, codec = self.error(), getattr(self, "raw", None), getattr(self, "codec", None)
        del self  # (this frame, in the error's traceback, holds no reference to it: no cycle to collect)
        if codec is not None and raw is not None:
            # the decode's error made again, not kept from the direct call: keeping it (and its traceback)
            # would cost every invalid body, handled or not; an exception handler is the rare case
            try:
                codec._decoder.decode(raw)
            except Exception as cause:
                if cause is not err:
                    err.__context__ = cause
        try:
            raise err from None
        finally:
            del err


_new = object.__new__


def _is_json(content_type: str | None) -> bool:
    """Whether a body sent as `content_type` is read as JSON. JSON is UTF-8 (RFC 8259): a `charset`
    parameter naming anything else (`utf-16`, `iso-8859-1`) is a 415, never a body misread."""
    if content_type == "application/json" or not content_type:  # (the commonest first, with no call)
        return True
    ct, _, params = content_type.partition(";")
    ct = ct.strip().lower()
    if not (ct == "application/json" or ct.endswith("+json") or ct == "text/plain"):
        return False
    if params and "charset" in params.lower():
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _JSON_CHARSETS:
                raise unsupported_charset(value.strip().strip('"'))
    return True


_JSON_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def unsupported_media_type(content_type: str) -> LiftError:
    """The 415 for a body sent as `content_type` where JSON is read."""
    return LiftError(415, "unsupported_media_type", f"Unsupported Content-Type {content_type!r}: send JSON")


def _body_getter(tp: Any, max_body: int, has_default: bool, default: Any, codec: Any = None) -> Getter:
    if tp is bytes:
        return lambda ctx: _checked_request(ctx, max_body).body
    if tp is str:
        return lambda ctx: _checked_request(ctx, max_body).text
    if codec is None:
        codec = codec_for(Any if tp is _EMPTY else tp, "body")
    form: list[Any] = []  # (codec, its text fields), built when the first form body arrives

    def form_body(data: bytes) -> Any:
        if not form:
            form.extend((codec_for(codec.type, "body", strict=False), _TextFields(_model_fields(codec.type) or [])))
        form_codec, fields = form
        return fields.convert(_form_data(data, fields.multi), form_codec, "body")

    quarter = max_body // 4  # a str of at most this many characters is at most max_body bytes of UTF-8
    # msgspec's decoder called here (made on the first body: see ModelCodec), the codec's error
    # report only when it fails
    decode: Any = None if codec.pydantic is None else codec.decode_json

    def get_body_direct(ctx: Context) -> Any:
        """The common case, decided without reading the body twice: a JSON text body from the
        event, decoded straight from the str (msgspec reads str and bytes alike). Called as is on the
        direct path of an HTTP source (`Binder.call_direct`: no middleware ran, so the request is the
        source's own, fresh, its body unread), and by `get_body` once it has checked that."""
        nonlocal decode
        req: Any = ctx.request
        event = req.event
        raw = event.get("body")
        if raw.__class__ is str and raw and len(raw) <= quarter and not event.get("isBase64Encoded"):
            # The Content-Type as API Gateway, ALB and function URLs send it: the event's own headers,
            # probed with the two spellings clients use (HTTP/1.1 `Content-Type`, HTTP/2 and the
            # services that lowercase names `content-type`) before the request's case-insensitive
            # lookup (which builds every header), unless middleware already loaded the headers.
            headers = event.get("headers")
            if headers.__class__ is dict and req._headers is None:
                ctype = headers.get("Content-Type")
                if ctype is None:
                    ctype = headers.get("content-type")
                    if ctype is None:
                        ctype = req.content_type
            else:
                ctype = req.content_type
            if ctype == "application/json" or ctype is None or _is_json(ctype):
                if decode is None:
                    decode = codec._decoder.decode
                try:
                    return decode(raw)
                except Exception as exc:
                    if raw[0] != "\ufeff":
                        raise codec.error_for(raw, exc) from None  # (ValidationFailed / BadRequest)
                raw = raw[1:]  # a byte order mark before the JSON, which RFC 8259 lets a parser ignore
                try:
                    return decode(raw)
                except Exception as exc:
                    raise codec.error_for(raw, exc) from None
        return read_body(ctx)

    def get_body(ctx: Context) -> Any:
        req = ctx.request
        if req is not None and req._body is None and (_plain_body.get(req.__class__) or _reads_event_body(type(req))):
            return get_body_direct(ctx)
        return read_body(ctx)

    def read_body(ctx: Context) -> Any:
        req = _checked_request(ctx, max_body)
        data = req.body
        if not data:
            if has_default:
                return default
            raise ValidationFailed(
                "Request body is required",
                details=[{"location": "body", "path": "$", "message": "Request body is required"}],
            )
        ctype = req.content_type
        if ctype is not None and not _is_json(ctype):
            if ctype.split(";", 1)[0].strip().lower() == _FORM:
                return form_body(data)
            raise unsupported_media_type(ctype)
        return codec.decode_json(data)

    def invalid(raw: str, exc: Exception) -> Any:
        """What the inline decode of `raw` gives once it failed with `exc`: the value, for JSON after a
        byte order mark (RFC 8259 lets a parser ignore one), else an InvalidBody."""
        if raw[0] == "\ufeff":
            raw = raw[1:]
            try:
                return codec._decoder.decode(raw)
            except Exception as again:
                exc = again
        out: InvalidBody = _new(InvalidBody)
        out.problem, out.raw, out.codec = codec.report_for(raw, exc), raw, codec
        return out

    def inline() -> tuple[Any, int, Any] | None:
        """What the generated direct call needs to decode the commonest body itself (see
        `_compile_call`, kind 6): msgspec's decode, the size bound and what a failure returns."""
        if codec.pydantic is not None:
            return None
        return codec._decoder.decode, quarter, invalid

    get_body.direct = get_body_direct  # type: ignore[attr-defined]
    get_body_direct.inline_body = inline  # type: ignore[attr-defined]
    return get_body


_plain_body: dict[type, bool] = {}


def _reads_event_body(cls: type) -> bool:
    """Whether requests of `cls` take their body from the event's `body` and `isBase64Encoded`
    (the base class's way), so a JSON text body may be decoded straight from the event."""
    known = _plain_body.get(cls)
    if known is None:
        known = _plain_body[cls] = cls._raw_body is Request._raw_body and cls.body is Request.body  # type: ignore[attr-defined]
    return known


def _model_fields(tp: Any) -> list[tuple[str, Any, bool]] | None:
    """(wire name, type, required) of each field of a model (also a pydantic one), else None."""
    from lift.validation import _fields

    fields = _fields(tp)
    if fields is None and isinstance(getattr(tp, "model_fields", None), dict):  # pydantic: by its alias
        fields = [(_pydantic_wire_name(n, f), f.annotation, f.is_required()) for n, f in tp.model_fields.items()]
    return fields


def _pydantic_wire_name(name: str, field: Any) -> str:
    """The key a pydantic model field is read from: its validation alias or alias, else its name."""
    alias = getattr(field, "validation_alias", None)
    return alias if isinstance(alias, str) else getattr(field, "alias", None) or name


class _TextFields:
    """How the text values of a query string or form body fill a model: the list-like fields take
    every value of a repeated key, the number fields are read by the path parameters' rules
    (`_number_converter`), and a 422 lists the problems in the fields' order."""

    __slots__ = ("multi", "numbers", "order")

    def __init__(self, fields: list[tuple[str, Any, bool]]) -> None:
        self.multi = frozenset(name for name, ftype, _ in fields if _list_like(ftype))
        self.numbers = {name: found for name, ftype, _ in fields if (found := _number_converter(ftype)) is not None}
        self.order = {name: i for i, (name, _, _) in enumerate(fields)}

    def convert(self, data: dict[str, Any], codec: Any, location: str) -> Any:
        if self.numbers and not self.numbers.keys().isdisjoint(data):
            data = _text_numbers(data, self.numbers, self.order, codec, location)
        return codec.convert(data)


def _form_data(data: bytes, lists: frozenset[str]) -> dict[str, Any]:
    """An `application/x-www-form-urlencoded` body's fields. Bytes or percent-escapes that are not
    UTF-8 (`name=%FF`) are a 400, as a JSON body's are: never a field silently holding U+FFFD."""
    form: dict[str, Any] = {}
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(data.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _errors.BadRequest(
            "Request body is not valid UTF-8 form data",
            code="invalid_form",
            details=[{"location": "body", "message": "bytes or percent-escapes that are not UTF-8"}],
        ) from None
    for key, value in pairs:
        if key in lists:
            form.setdefault(key, []).append(value)
        else:
            form[key] = value
    return form


def _checked_request(ctx: Context, max_body: int) -> Request:
    req = ctx.request
    if req is None:
        raise _errors.BadRequest("This handler needs an HTTP request")
    if req.body_size() > max_body:
        raise _errors.PayloadTooLarge(f"Request body exceeds the {max_body}-byte limit")
    return req


def _list_like(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _list_like(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_list_like(a) for a in typing.get_args(tp))
    return origin in (list, set, frozenset, tuple)


def _query_getter(tp: Any) -> Getter:
    codec = codec_for(tp, "query", strict=False)
    fields = _model_fields(tp)
    if fields is None:
        raise TypeError(f"query: {tp!r} must be a msgspec Struct, dataclass, TypedDict or pydantic model")
    text = _TextFields(fields)
    multi = text.multi

    def get_query(ctx: Context) -> Any:
        q = ctx.request.query if ctx.request is not None else None
        data: dict[str, Any] = {}
        if q:
            for key in q:
                data[key] = q.getall(key) if key in multi else q[key]
            return text.convert(data, codec, "query")
        return codec.convert(data)

    return get_query


def _number_converter(tp: Any) -> tuple[Callable[[str], Any], str] | None:
    """(converter, label) of a query field typed `int`, `float`, `Decimal` or `bool` (also `X | None`
    and a list of X), else None: such a field's text is converted by the path parameters' rules (ASCII
    digits; msgspec's lax mode would also take `1e3` for an int and `nan` for a float, Decimal()
    `1_000` and other scripts' digits). Constraints (`Annotated[int, Meta(ge=0)]`, at any level) are
    msgspec's to check once the text is a number."""
    tp = _bare(tp)
    if typing.get_origin(tp) in (list, set, frozenset, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        tp = _bare(args[0]) if len(args) == 1 else None
    if tp is int or tp is float or tp is Decimal or tp is bool:  # (a bool as a path's: an HTML checkbox's `on`)
        return path_converter(tp), _type_label(tp)  # type: ignore[return-value]
    return None


def _bare(tp: Any) -> Any:
    """`tp` without `Annotated[...]` and `| None`, in either order."""
    for _ in range(2):
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        tp = _without_none(tp)
    return tp


def _text_numbers(
    data: dict[str, Any], numbers: dict[str, Any], order: dict[str, int], codec: Any, location: str
) -> dict[str, Any]:
    """`data` with the text of its number fields converted (`_number_converter`); a text that is no
    such number is a 422 naming it, with every other problem of the query or form (its field left out)."""
    problems: list[dict[str, Any]] = []
    for name, (convert, label) in numbers.items():
        value = data.get(name)
        if value is None:
            continue
        texts = value if value.__class__ is list else [value]
        out = []
        for i, text in enumerate(texts):
            try:
                out.append(convert(text))
            except _CONVERSION_ERRORS:
                where = f"$.{name}[{i}]" if value.__class__ is list else f"$.{name}"
                problems.append({"location": location, "path": where, "message": f"Expected {label}, got {text!r}"})
                if len(problems) > MAX_PROBLEMS:  # (`bounded` cuts the report there: none is looked for beyond)
                    break
        data[name] = out if value.__class__ is list else out[0] if out else value
    if not problems:
        return data
    bad = {p["path"].partition("[")[0] for p in problems}
    rest = {k: v for k, v in data.items() if f"$.{k}" not in bad}
    try:
        codec.convert(rest)
    except ValidationFailed as exc:
        problems += [p for p in exc.details or () if p.get("path", "").partition("[")[0] not in bad]
    problems.sort(key=lambda p: order.get(p.get("path", "")[2:].partition("[")[0], len(order)))
    raise ValidationFailed(details=bounded(problems, location))


def _without_none(tp: Any) -> Any:
    """`X` for `X | None` (an optional header), else `tp` itself."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _header_getter(name: str, marker: Header, tp: Any, default: Any) -> Getter:
    header = marker.name or name.replace("_", "-")
    fallback = marker.default if marker.default is not _EMPTY else default
    many = _list_like(tp)
    base = _without_none(tp)
    if many:
        return _header_list_getter(header, base, fallback)
    convert = _header_converter(header, base) if base not in (str, _EMPTY) else None

    def get_header(ctx: Context) -> Any:
        headers = ctx.request.headers if ctx.request is not None else None
        value = headers.get(header) if headers is not None else None
        if value is None:
            if fallback is not _EMPTY:
                return fallback
            raise ValidationFailed(
                details=[
                    {
                        "location": "header",
                        "path": f"$.{header.lower()}",
                        "message": f"Missing required header {header}",
                    }
                ]
            )
        if convert is None:
            return value
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError):
            raise ValidationFailed(
                details=[
                    {
                        "location": "header",
                        "path": f"$.{header.lower()}",
                        "message": f"Expected {_type_label(tp)}, got {value!r}",
                    }
                ]
            ) from None

    return get_header


def _header_converter(header: str, tp: Any) -> Callable[[str], Any] | None:
    """`path_converter(tp)` for header `header`, refusing another type with a message naming the header."""
    try:
        return path_converter(tp)
    except TypeError as exc:
        raise TypeError(f"Header {header}: {exc}") from None


def _header_list_getter(header: str, tp: Any, fallback: Any = _EMPTY) -> Getter:
    """The getter of a list-typed header (`ids: list[int] = Header("X-Ids")`): every value of every
    line, comma-separated values split apart on every source (an HTTP API joins repeated lines with
    commas; RFC 9110 lets any hop do it), empty elements dropped, each converted to the element type
    (`list[int]`: ints; a value that does not convert is a 422 naming its index, every one listed).
    No such header: the parameter's default when it has one (`= Header(default=None)`), else empty."""
    from lift.context import _UNSPLITTABLE

    constrained = None  # `Annotated[list[int], Meta(max_length=3)]`: the list, then its constraints
    if typing.get_origin(tp) is typing.Annotated:
        constrained, tp = tp, typing.get_args(tp)[0]
        msgspec.json.Decoder(constrained)  # (a constraint msgspec cannot check: a TypeError now)
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not Ellipsis]
    item = _without_none(args[0]) if len(args) == 1 else str
    convert = _header_converter(header, item) if item not in (str, _EMPTY, Any) else None
    label = _type_label(item)
    split = header.lower() not in _UNSPLITTABLE
    kind = origin if origin in (set, frozenset, tuple) else list
    make: Callable[..., Any] = kind
    if constrained is not None:

        def make(*values: Any) -> Any:
            try:
                return msgspec.convert(kind(*values), constrained)
            except msgspec.ValidationError as exc:
                message = str(exc).rpartition(" - at `")[0] or str(exc)
                detail = {"location": "header", "path": f"$.{header.lower()}", "message": message}
                raise ValidationFailed(details=[detail]) from None

    def get_header_list(ctx: Context) -> Any:
        request = ctx.request
        values = request.headers.getall(header) if request is not None else None
        if not values:
            return make() if fallback is _EMPTY else fallback
        if split:
            values = [part for value in values for part in (p.strip() for p in value.split(",")) if part]
        if convert is None:
            return make(values)
        out, problems = [], []
        for i, value in enumerate(values):
            try:
                out.append(convert(value))
            except _CONVERSION_ERRORS:
                problems.append(
                    {
                        "location": "header",
                        "path": f"$.{header.lower()}[{i}]",
                        "message": f"Expected {label}, got {value!r}",
                    }
                )
        if problems:
            raise ValidationFailed(details=problems)
        return make(out)

    return get_header_list


_ANNOTATED = type(typing.Annotated[int, "x"])


def unwrap_header(hint: Any, default: Any) -> tuple[Any, Header | None]:
    """The type and `Header` marker of a parameter (from `Annotated[...]` or its default)."""
    if hint.__class__ is _ANNOTATED:  # typing.get_origin(hint) is typing.Annotated, without the call
        base, *extras = typing.get_args(hint)
        for extra in extras:
            if isinstance(extra, Header):  # (the rest, `Meta(ge=1)`, stays on the type)
                rest = [e for e in extras if e is not extra]
                return (typing.Annotated[(base, *rest)] if rest else base), extra
    if isinstance(default, Header):
        return hint, default
    return hint, None


_compiled_calls: dict[tuple[Any, ...], types.CodeType] = {}


class Plan:
    """What calling a handler of one signature shape takes: its parameter names, their getters and
    the compiled code gathering them. Every handler of the same shape (parameter names and kinds,
    annotations, path parameters, body limit) shares one Plan (`build_binder`), so registering the
    1,000th `def get(ctx: Context, id: int)` builds nothing new.

    A typed body's getter (four closures) is made when a request first needs it; its type was checked
    (its codec built) at registration, so a declaration's mistakes still raise there."""

    __slots__ = ("names", "specs", "keyword", "tail", "_getters", "_call", "_direct", "direct_reads_request")

    def __init__(self, names: list[str], specs: list[Any], keyword: bool, tail: str | None, deferred: bool) -> None:
        self.names = names
        self.specs = specs  # a getter, or a typed body's deferred getter: (tp, max_body, has_default, default, codec)
        self.keyword = keyword
        self.tail = tail
        # Whether the direct call (`call(ctx, p)`) reads `ctx.request` itself, for its common request:
        # a getter other than ctx, the tail parameter and an inline typed body (known once it is made)
        self.direct_reads_request = True
        self._getters: list[Getter] | None = None if deferred else specs
        self._call: tuple[types.CodeType, dict[str, Any]] | None = None
        self._direct: tuple[types.CodeType, dict[str, Any]] | None = None

    @property
    def getters(self) -> list[Getter]:
        getters = self._getters
        if getters is None:
            getters = self._getters = [_body_getter(*s) if s.__class__ is tuple else s for s in self.specs]
        return getters

    def make_call(self, fn: Callable[..., Any], direct: bool) -> Callable[..., Any]:
        """`call(ctx)` (or, with `direct`, `call(ctx, p)`: see `Binder`) for `fn`: the shape's code
        (compiled once per shape) with `fn` in its namespace."""
        made = self._direct if direct else self._call
        if made is None:
            made = self._prepare(direct)
            if direct:
                self._direct = made
            else:
                self._call = made
        code, namespace = made
        return types.FunctionType(code, {**namespace, "fn": fn}, "call")

    def _prepare(self, direct: bool) -> tuple[types.CodeType, dict[str, Any]]:
        """The code of the call and its namespace (without `fn`).

        `ctx` and path parameters are read in place (no getter call); the other kinds call
        their getter. With `direct`, the function is `call(ctx, p)`: `p` is the raw value of path
        parameter `tail`, and a getter with a `direct` variant is called through it.
        """
        tail = self.tail if direct else None
        namespace: dict[str, Any] = {"_ERRORS": _CONVERSION_ERRORS, "_bad": bad_path_param, "_IB": InvalidBody}
        shape: list[Any] = [self.keyword, direct]
        # Two or more arguments that can fail (a typed path parameter, query, header, body): the call
        # lists every problem of the request in one 422, not the first one only (kind 7, `every_problem`)
        every = sum(not getattr(getter, "never_fails", False) for getter in self.getters) > 1
        for i, (name, getter) in enumerate(zip(self.names, self.getters, strict=True)):
            inline = getattr(getter, "inline", None)
            if direct and getattr(getter, "direct", None) is not None:
                getter = getter.direct  # type: ignore[attr-defined]
            body = getattr(getter, "inline_body", None) if direct else None
            if body is not None and (body := body()) is not None:
                namespace[f"g{i}"] = getter
                namespace[f"d{i}"], namespace[f"q{i}"], namespace[f"e{i}"] = body
                shape.append((name, 6))
            elif getter is _identity:
                shape.append((name, 0))
            elif inline is not None and inline[2] is None:
                namespace[f"n{i}"] = name
                shape.append((name, 4 if name == tail else 1))
            elif inline is not None and inline[2] is _convert_int:  # (ASCII digits decoded by msgspec)
                namespace[f"n{i}"], namespace[f"c{i}"], namespace[f"l{i}"] = name, _convert_int, inline[3]
                namespace["_dint"], namespace["_int2"] = _decode_int, _int_again
                shape.append((name, 9 if name == tail else 8))
            elif inline is not None:
                namespace[f"n{i}"], namespace[f"c{i}"], namespace[f"l{i}"] = name, inline[2], inline[3]
                shape.append((name, 5 if name == tail else 2))
            else:
                namespace[f"g{i}"] = getter
                shape.append((name, 3))
        if every:
            namespace["_VF"], namespace["_every"] = ValidationFailed, self.every_problem
            shape.append(("", 7))
        key = tuple(shape)
        if direct:
            self.direct_reads_request = any(kind not in (0, 4, 5, 6, 9) for _, kind in shape[2:])
        code = _compiled_calls.get(key)
        if code is None:
            code = _compiled_calls[key] = _compile_call(key)
        return code, namespace

    def every_problem(self, ctx: Context, first: ValidationFailed) -> ValidationFailed:
        """The 422 of a request one of whose arguments failed (`first`): every argument read again,
        the problems of each listed in the order of the handler's parameters (`first`'s own kept
        whatever another reading gives). Only on that failure: a valid request never comes here."""
        found: list[Any] = []
        for getter in self.getters:
            if getattr(getter, "never_fails", False):
                continue
            try:
                getter(ctx)
            except ValidationFailed as exc:
                found.extend(problem for problem in exc.details or () if problem not in found)
            except Exception:  # (another error, a 400 or 415 say: answered once these are fixed)
                continue
        missing = [problem for problem in first.details or () if problem not in found]
        if not found or (not missing and len(found) == len(first.details or ())):
            return first
        return ValidationFailed(details=missing + found)


class Binder:
    """Calls a handler with its arguments taken from a Context.

    `call(ctx)` gathers every argument inline and calls the handler: generated code, one function
    per handler (handlers of one shape share the compiled code and their `Plan`).

    `call_direct(ctx, value)` is the same call for the direct path of an HTTP source (no
    middleware, a static route or one ending in its one parameter `tail`): that parameter's raw
    value is given (None for a static route) instead of read from `path_params`, and the getters'
    direct variants are used (a body read straight from the event; a body that fails its type is
    returned as an InvalidBody, for the caller to answer, not raised). Made on first use
    (`compile_direct`).
    """

    __slots__ = ("fn", "plan", "is_async", "returns", "call", "call_direct", "_direct")

    def __init__(self, fn: Callable[..., Any], plan: Plan, returns: Any = None) -> None:
        self.fn = fn
        self.plan = plan
        self.is_async = is_coroutine_function(fn)
        self.returns: Any = returns  # the handler's return annotation
        self._direct: Callable[[Context, str | None], Any] | None = None
        self.call = plan.make_call(fn, False)

    if typing.TYPE_CHECKING:
        call: Callable[[Context], Any]
        call_direct: Callable[[Context, str | None], Any]

    @property
    def getters(self) -> list[Getter]:
        return self.plan.getters

    @property
    def names(self) -> list[str]:
        return self.plan.names

    def compile(self) -> Callable[[Context], Any]:
        """`call`, made if not yet (a route's binder makes it on first use: `RouteBinder`)."""
        try:
            return _CALL.__get__(self, Binder)  # (the slot: AttributeError while unset)
        except AttributeError:
            call = self.call = self.plan.make_call(self.fn, False)
            return call

    def compile_direct(self) -> Callable[[Context, str | None], Any]:
        """Compile the direct call if not yet done, and return `call_direct` as callers should use
        it from now on (the compiled call, or whatever replaced it, e.g. lift.pii's masking)."""
        direct = self._direct
        if direct is None:
            direct = self._direct = self.plan.make_call(self.fn, True)
        try:
            return _CALL_DIRECT.__get__(self, Binder)  # set: by us or a wrapper (lift.pii)
        except AttributeError:
            self.call_direct = direct
            return direct


_CALL: Any = Binder.__dict__["call"]  # the slots, read without falling back on __getattr__
_CALL_DIRECT: Any = Binder.__dict__["call_direct"]


class RouteBinder(Binder):
    """The Binder of an HTTP route: `call` and `call_direct` are made on first read (a request, or
    a wrapper such as lift.pii's), not at registration: most routes of a large app are never called
    by a given execution environment, and registration is cold-start time; every check of the
    handler's declaration was done by `build_binder`. (Its attributes are read once per route, by
    its Endpoint: the `__getattr__` that makes them lazy costs nothing per request. Event sources'
    binders, read per record, are plain Binders.)"""

    # A handler of a known shape with a typed body of its own model has its Plan made on first read
    # (`plan`): until then its shape's plan with another model, the body's place in it, its type and
    # codec (`_model_plan`). Nothing a registration keeps beyond the binder itself.
    __slots__ = ("_template", "_index", "_body", "_codec")
    _template: Plan
    _index: int
    _body: Any
    _codec: Any

    def __init__(self, fn: Callable[..., Any], plan: Plan | None, returns: Any = None) -> None:
        self.fn = fn
        if plan is not None:
            self.plan = plan
        code = fn.__code__ if fn.__class__ is types.FunctionType else None  # (a route's common handler: no call)
        self.is_async = bool(code.co_flags & _CO_COROUTINE) if code is not None else is_coroutine_function(fn)
        self.returns = returns
        self._direct = None  # call, call_direct: unset until first read (__getattr__)

    if not typing.TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:  # only for a slot not yet set
            if name == "call":
                return self.compile()
            if name == "call_direct":
                return self.compile_direct()
            if name == "plan":
                template, index = self._template, self._index
                specs = template.specs.copy()  # (a shaped handler has no defaults)
                specs[index] = (self._body, template.specs[index][1], False, _EMPTY, self._codec)
                plan = self.plan = Plan(template.names, specs, template.keyword, template.tail, True)
                return plan
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# The calls of the commonest shapes (positional; `ctx` first, then a path parameter or a body),
# written out as `call_source` generates them, so their code comes unmarshalled from this module's
# .pyc instead of a compile() of generated text on a route's first request (about 0.4M instructions
# each, in a cold start's first response). Each is checked to be the generated code, instruction
# for instruction (tests/core/test_registration_cost.py). Their free names are the generated
# namespace's (`Plan._prepare`), given as the function's globals.
if not typing.TYPE_CHECKING:

    def _call_0(ctx):
        return fn(ctx)  # noqa: F821

    def _call_0_direct(ctx, p):
        return fn(ctx)  # noqa: F821

    def _call_0_4(ctx, p):
        return fn(ctx, p)  # noqa: F821

    def _call_0_5(ctx, p):
        raw = p
        try:
            a1 = c1(raw)  # noqa: F821
        except _ERRORS:  # noqa: F821
            raise _bad(n1, l1, raw) from None  # noqa: F821
        return fn(ctx, a1)  # noqa: F821

    def _call_0_9(ctx, p):
        raw = p
        try:
            a1 = _dint(raw) if raw.isdigit() else c1(raw)  # noqa: F821
        except _ERRORS:  # noqa: F821
            a1 = _int2(raw, n1, l1)  # noqa: F821
        return fn(ctx, a1)  # noqa: F821

    def _call_0_8(ctx):
        pp = ctx.request.path_params
        raw = pp[n1]  # noqa: F821
        try:
            a1 = _dint(raw) if raw.isdigit() else c1(raw)  # noqa: F821
        except _ERRORS:  # noqa: F821
            a1 = _int2(raw, n1, l1)  # noqa: F821
        return fn(ctx, a1)  # noqa: F821

    def _call_0_6(ctx, p):
        ev = ctx.event
        try:
            raw = ev["body"]
            if (
                raw.__class__ is str
                and raw
                and len(raw) <= q1  # noqa: F821
                and not ev["isBase64Encoded"]
                and ((h := ev["headers"]).get("Content-Type") or h.get("content-type")) == "application/json"
            ):
                try:
                    a1 = d1(raw)  # noqa: F821
                except Exception as exc:
                    a1 = e1(raw, exc)  # noqa: F821
                    if a1.__class__ is _IB:  # noqa: F821
                        return a1
            else:
                raw = None
        except (LookupError, TypeError, AttributeError):  # (an event without a field, headers no mapping)
            raw = None
        if raw is None:
            a1 = g1(ctx)  # noqa: F821
        return fn(ctx, a1)  # noqa: F821

    def _call_0_1(ctx):
        pp = ctx.request.path_params
        return fn(ctx, pp[n1])  # noqa: F821

    def _call_0_2(ctx):
        pp = ctx.request.path_params
        raw = pp[n1]  # noqa: F821
        try:
            a1 = c1(raw)  # noqa: F821
        except _ERRORS:  # noqa: F821
            raise _bad(n1, l1, raw) from None  # noqa: F821
        return fn(ctx, a1)  # noqa: F821

    def _call_0_3(ctx):
        a1 = g1(ctx)  # noqa: F821
        return fn(ctx, a1)  # noqa: F821

    # (direct, kind of each parameter) -> its code, named `call` as the generated one is
    _PRECOMPILED: dict[tuple[Any, ...], types.CodeType] = {
        key: fn.__code__.replace(co_name="call", co_qualname="call")
        for key, fn in (
            ((False, 0), _call_0),
            ((True, 0), _call_0_direct),
            ((True, 0, 4), _call_0_4),
            ((True, 0, 5), _call_0_5),
            ((True, 0, 6), _call_0_6),
            ((True, 0, 9), _call_0_9),
            ((False, 0, 8), _call_0_8),
            ((False, 0, 1), _call_0_1),
            ((False, 0, 2), _call_0_2),
            ((False, 0, 3), _call_0_3),
        )
    }
    del _call_0, _call_0_direct, _call_0_4, _call_0_5, _call_0_6, _call_0_8, _call_0_9, _call_0_1, _call_0_2, _call_0_3
else:
    _PRECOMPILED: dict[tuple[Any, ...], types.CodeType] = {}


def _compile_call(shape: tuple[Any, ...]) -> types.CodeType:
    """The code of `call(ctx)` for a handler of this shape: (keyword, direct, (name, kind), ...), kind 0
    ctx, 1 a str path parameter, 2 a converted path parameter (8 an `int` one), 3 any other getter; with
    `direct`, `call(ctx, p)`, where kinds 4, 5 and 9 are kinds 1, 2 and 8 for the path parameter given as `p`, and
    kind 6 a typed body whose commonest form (a JSON text body sent as `application/json`) is
    decoded inline by msgspec, any other by its getter (`get_body_direct`); when that inline decode
    fails, the call returns an InvalidBody instead of raising."""
    precompiled = _PRECOMPILED.get((shape[1], *(kind for _, kind in shape[2:]))) if not shape[0] else None
    if precompiled is not None:
        return precompiled
    module = compile(call_source(shape), "<lift binder>", "exec")
    code: types.CodeType = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return code


def call_source(shape: tuple[Any, ...]) -> str:
    """The source of `call` for a handler of this shape (see `_compile_call`)."""
    keyword, direct, params = shape[0], shape[1], shape[2:]
    every = params[-1:] == (("", 7),)  # (every problem listed: the arguments gathered in one `try`)
    if every:
        params = params[:-1]
    lines = ["def call(ctx, p):" if direct else "def call(ctx):"]
    if any(kind in (1, 2, 8) for _, kind in params):
        lines.append("    pp = ctx.request.path_params")
    args: list[str] = []
    for i, (name, kind) in enumerate(params):
        var = f"a{i}"
        if kind == 0:
            var = "ctx"
        elif kind == 1:
            var = f"pp[n{i}]"
        elif kind == 4:
            var = "p"
        elif kind in (2, 5, 8, 9):  # (8, 9: an `int`, digits decoded by msgspec (`_decode_int`), any
            # other text, or digits it refuses, by c, `_convert_int`)
            convert = f"c{i}(raw)" if kind in (2, 5) else f"_dint(raw) if raw.isdigit() else c{i}(raw)"
            lines += [
                f"    raw = pp[n{i}]" if kind in (2, 8) else "    raw = p",
                "    try:",
                f"        {var} = {convert}",
                "    except _ERRORS:",
                f"        raise _bad(n{i}, l{i}, raw) from None"
                if kind in (2, 5)
                else f"        {var} = _int2(raw, n{i}, l{i})",
            ]
        elif kind == 6:  # a typed JSON body: the commonest one decoded here, any other by its getter
            # (the context's event is its request's on the direct path: reading it makes no request
            # for a lazy context; the event's fields read with subscripts, an event without one, or
            # with headers that are no mapping, taking the getter; the test in one `if`, where 3.11
            # specializes each comparison)
            lines += [
                "    ev = ctx.event",
                "    try:",
                "        raw = ev['body']",
                f"        if raw.__class__ is str and raw and len(raw) <= q{i} and not ev['isBase64Encoded'] and "
                "((h := ev['headers']).get('Content-Type') or h.get('content-type')) == 'application/json':",
                "            try:",
                f"                {var} = d{i}(raw)",
                "            except Exception as exc:",
                # the value (a body after a byte order mark), or an InvalidBody: answered by the caller,
                # its error raised when every problem is listed
                f"                {var} = e{i}(raw, exc)",
                f"                if {var}.__class__ is _IB:",
                f"                    raise {var}.error() from None" if every else f"                    return {var}",
                "        else:",
                "            raw = None",
                "    except (LookupError, TypeError, AttributeError):",
                "        raw = None",
                "    if raw is None:",  # (the getter called outside the handler: never twice, nothing chained)
                f"        {var} = g{i}(ctx)",
            ]
        else:
            lines.append(f"    {var} = g{i}(ctx)")
        args.append(f"{name}={var}" if keyword else var)
    if every:
        lines = [lines[0], "    try:", *("    " + line for line in lines[1:])]
        lines += ["    except _VF as exc:", "        raise _every(ctx, exc) from None"]
    lines.append(f"    return fn({', '.join(args)})")
    return "\n".join(lines)


def build_binder(
    fn: Callable[..., Any],
    *,
    path_params: Sequence[str] = (),
    max_body: int = 6 * 1024 * 1024,
    body_source: Callable[[Any, bool, Any], Getter] | None = None,
    plans: dict[tuple[Any, ...], Plan] | None = None,
) -> Binder:
    """Inspect `fn` once and build its Binder.

    `body_source` lets event sources supply the `body` getter for records (default: the
    HTTP request body). With `plans` (an App's own, so nothing outlives the app), a plain function
    without defaults (the common route) is looked up by its shape: handlers of one shape share one
    `Plan`, the first one's checks holding for the others.
    """
    if body_source is not None:  # an event source's handler: its call made now (read per record)
        hints = _type_hints(fn)
        return Binder(fn, _plan(fn, hints, path_params, max_body, body_source), hints.get("return"))
    return route_binder(fn, path_params, max_body, plans)


def route_binder(
    fn: Callable[..., Any], path_params: Sequence[str], max_body: int, plans: dict[tuple[Any, ...], Plan] | None
) -> RouteBinder:
    """`build_binder` of an HTTP route (its arguments given in place: an App calls it once per route,
    and registration is cold-start time)."""
    hints = _type_hints(fn)
    # The shape (when `plans` is given): what the Plan of plain function `fn` depends on, as one flat
    # tuple (its parameters' names and annotations, which are keyword-only, the path parameters, the
    # body limit); None for anything else (defaults, a callable object, a method, a decorated
    # function: `_plan` reads those alone)
    key = None
    if (
        plans is not None
        and fn.__class__ is _FUNCTION
        and fn.__defaults__ is None
        and fn.__kwdefaults__ is None
        and getattr(fn, "__wrapped__", None) is None
    ):
        code = fn.__code__
        npos, nkw = code.co_argcount, code.co_kwonlyargcount
        names = code.co_varnames[: npos + nkw]
        key = (npos, nkw, max_body, *path_params, *names, *map(hints.get, names))
    if key is None or plans is None:
        return RouteBinder(fn, _plan(fn, hints, path_params, max_body, None), hints.get("return"))
    try:
        plan = plans.get(key)
    except TypeError:  # an unhashable annotation (`Annotated[..., {...}]`): not shared
        return RouteBinder(fn, _plan(fn, hints, path_params, max_body, None), hints.get("return"))
    if plan is None:
        model = _model_plan(fn, hints, key, path_params, max_body, plans)
        if model is not None:  # (a typed body of its own model: its Plan made on first use)
            template, index, codec = model
            body = hints["body"]
            if template.specs[index][0] is body:  # (the first of its shape: its plan is the template)
                return RouteBinder(fn, template, hints.get("return"))
            binder = RouteBinder(fn, None, hints.get("return"))
            binder._template, binder._index, binder._body, binder._codec = template, index, body, codec
            return binder
        plan = plans[key] = _plan(fn, hints, path_params, max_body, None)
    return RouteBinder(fn, plan, hints.get("return"))


_FUNCTION = types.FunctionType
_ANY_MODEL: Any = object()  # in a shape, the place of a `body` annotation (`_model_plan`)


def _model_plan(
    fn: Any,
    hints: dict[str, Any],
    key: tuple[Any, ...],
    path_params: Sequence[str],
    max_body: int,
    plans: dict[tuple[Any, ...], Plan],
) -> tuple[Plan, int, Any] | None:
    """For a handler with a typed `body` (the commonest new shape: a POST of its own model), the plan
    of its shape with another model, the body's place in it and the body's codec (None for a plain
    Struct): only the body's type is checked (its codec built), its own Plan is made on first use
    (`RouteBinder.plan`); None when the handler is of no such shape (then `_plan` reads it)."""
    body = hints.get("body")
    if body is None or body.__class__ is _ANNOTATED or "body" in path_params or _is_context(body):
        return None
    code = fn.__code__
    n = code.co_argcount + code.co_kwonlyargcount
    names = code.co_varnames[:n]
    if "body" not in names:
        return None
    at = len(key) - n + names.index("body")
    general = key[:at] + (_ANY_MODEL,) + key[at + 1 :]
    template = plans.get(general)
    if template is None:  # the first of its shape: checked in full, then the template of the others
        template = plans[general] = _plan(fn, hints, path_params, max_body, None)
    index = at - (len(key) - n)
    if template.specs[index].__class__ is not tuple:  # (`body` is not a typed body there)
        return None
    codec = None
    if body is not bytes and body is not str and not _plain_struct(body):
        codec = codec_for(body, "body")  # (checks the type: raises TypeError for one msgspec cannot decode)
    return template, index, codec


def _plan(
    fn: Callable[..., Any],
    hints: dict[str, Any],
    path_params: Sequence[str],
    max_body: int,
    body_source: Callable[[Any, bool, Any], Getter] | None,
) -> Plan:
    """Check each parameter of `fn` and choose its getter (raises TypeError for one Lift cannot give)."""
    specs: list[Any] = []
    names: list[str] = []
    keyword = deferred = False
    for name, keyword_only, param_default in parameters(fn):
        keyword = keyword or keyword_only
        hint = hints.get(name, _EMPTY)
        hint, header = unwrap_header(hint, param_default)
        default = _EMPTY if isinstance(param_default, Header) else param_default
        getter: Any
        if header is not None:
            getter = _header_getter(name, header, hint, default)
        elif _is_context(hint) or (name == "ctx" and hint is _EMPTY):
            getter = _identity
        elif name in path_params:
            getter = _path_getter(name, hint)
        elif name == "body":
            if body_source is not None:
                getter = body_source(hint, default is not _EMPTY, default)
            else:  # the type checked (its codec built) now, the getter made on first use (Plan.getters)
                codec = None
                if hint is not bytes and hint is not str and not _plain_struct(hint):
                    codec = codec_for(Any if hint is _EMPTY else hint, "body")
                # (a Struct of plain scalar fields always has a codec: made with the getter)
                getter, deferred = (hint, max_body, default is not _EMPTY, default, codec), True
        elif name == "query":
            getter = _query_getter(hint)
        elif hint is Request or name == "request":
            getter = _request
        elif default is not _EMPTY:
            getter = _constant(default)
        elif body_source is not None:  # a record or direct-invoke handler: no path, query or headers
            qualname = getattr(fn, "__qualname__", repr(fn))
            raise TypeError(
                f"Cannot inject parameter {name!r} of {qualname}: an event handler takes `ctx` (a Context) and "
                f"`body` (the record's payload, decoded into its annotation: `body: Order`); name the payload "
                f"parameter `body`, or give {name!r} a default"
            )
        else:
            qualname = getattr(fn, "__qualname__", repr(fn))
            raise TypeError(
                f"Cannot inject parameter {name!r} of {qualname}: it is not `ctx`, a path parameter "
                f"({', '.join(path_params) or 'none'}), `body`, `query`, a Header(...) or defaulted"
            )
        specs.append(getter)
        names.append(name)
    return Plan(names, specs, keyword, path_params[0] if len(path_params) == 1 else None, deferred)


def _is_context(hint: Any) -> bool:
    if hint is Context or hint is _EMPTY or hint.__class__ is not type(Context):
        return hint is Context  # Context and its subclasses are Structs: nothing else needs the check
    return issubclass(hint, Context)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """`typing.get_type_hints(fn, include_extras=True)`, read straight from `__annotations__`
    when no annotation is a string (no forward reference to evaluate): the common case, at a
    fraction of the cost, which matters once per route of a large app at cold start."""
    if fn.__class__ is not types.FunctionType:
        fn = _annotated(fn)
    annotations = getattr(fn, "__annotations__", None)  # what get_type_hints reads (wraps copies it)
    if type(annotations) is dict:
        kinds = set(map(type, annotations.values()))  # (in C: a route's registration pays this once)
        if str not in kinds and _NONE_TYPE not in kinds:
            return annotations  # nothing to evaluate or replace (read only: build_binder never writes it)
        if str not in kinds:
            return {k: type(None) if v is None else v for k, v in annotations.items()}
        named = _named_classes(fn, annotations)
        if named is not None:
            return named
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise TypeError(f"Cannot read the type hints of {getattr(fn, '__qualname__', fn)!r}: {exc}") from exc


def handler_name(fn: Any) -> str:
    """A handler's name for messages: its `__qualname__`, through a partial or a callable object."""
    return str(getattr(_annotated(fn), "__qualname__", None) or type(fn).__qualname__)


def _annotated(fn: Any) -> Any:
    """What holds the annotations of a handler that is not a plain function: a `functools.partial`'s
    function (the partial's own parameters are read by `inspect.signature`), a callable object's
    `__call__` (bound: `self` is not a parameter)."""
    import functools

    while isinstance(fn, functools.partial):
        fn = fn.func
    if isinstance(fn, (types.FunctionType, types.MethodType, type, types.BuiltinFunctionType)):
        return fn
    call = getattr(type(fn), "__call__", None)  # noqa: B004 (the method itself, bound below)
    return call.__get__(fn) if isinstance(call, types.FunctionType) else fn


def _named_classes(fn: Any, annotations: dict[str, Any]) -> dict[str, Any] | None:
    """What `typing.get_type_hints` gives a plain function whose string annotations (`from __future__
    import annotations`) each name one class of its module or of builtins (`ctx: "Context"`, `id:
    "int"`, `body: "NewUser"`, `-> "dict"`), found as `eval` would find them, at a small fraction of
    its cost; None for anything else (a dotted or subscripted string, a name that is not a class, a
    decorated function), which get_type_hints then reads."""
    if fn.__class__ is not types.FunctionType or getattr(fn, "__wrapped__", None) is not None:
        return None
    if getattr(fn, "__type_params__", None):  # (`def f[T](...)`: get_type_hints sees T first)
        return None
    module = fn.__globals__
    builtin = module.get("__builtins__")
    if builtin.__class__ is types.ModuleType:
        builtin = builtin.__dict__
    if builtin.__class__ is not dict:
        return None
    hints: dict[str, Any] = {}
    for name, value in annotations.items():
        if value is None:
            value = type(None)
        elif value.__class__ is str:
            if not value.isidentifier():
                return None
            found = module.get(value, _EMPTY)
            if found is _EMPTY:
                found = builtin.get(value, _EMPTY)
            value = found
        if not issubclass(type(value), type) or value is typing.Generic or value is typing.Protocol:
            return None  # (not a class: get_type_hints checks and converts it)
        hints[name] = value
    return hints


def _identity(ctx: Context) -> Context:
    return ctx


def _request(ctx: Context) -> Request | None:
    return ctx.request


def _constant(value: Any) -> Getter:
    def constant(ctx: Context) -> Any:
        return value

    constant.never_fails = True  # type: ignore[attr-defined]
    return constant


_identity.never_fails = _request.never_fails = True  # type: ignore[attr-defined]
