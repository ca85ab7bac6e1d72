"""Typed models -> fast decoders, and complete error reports when validation fails.

msgspec decodes and validates in one pass but stops at the first problem. On that (rare)
failure path we walk the model's type against the already-parsed value to list every
problem with its path (`$.items[2].qty`), which is what clients need to fix a request.
Pydantic v2 models are supported when pydantic is already imported by the user's code.
"""

from __future__ import annotations

import functools
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from lift import errors as _errors  # (BadRequest: made on first use)
from lift.errors import ValidationFailed
from lift.serialization import TOO_DEEP, invalid_json

__all__ = ["Problem", "Report", "ModelCodec", "codec_for", "is_pydantic_model"]

Problem = dict[str, Any]  # {"location": ..., "path": "$.a[0].b", "message": ...}


class Report(list):  # type: ignore[type-arg]
    """The problems found in one value (a list of `Problem`). `echoes` is set when a problem quotes
    the input (a mapping key or unknown field name in a path or message, or a message of msgspec's
    that may show the value), so its error body must be scanned for card numbers; a report without
    echoes names only fields, indices and types."""

    echoes = False


# What a typed decode raises for bad input (ValidationError is a DecodeError): a 4xx, never a 500.
_INPUT_ERRORS = (msgspec.DecodeError, RecursionError)
_ValidationError = msgspec.ValidationError
_decode_untyped = msgspec.json.decode
_report = ValidationFailed.report


def is_pydantic_model(tp: Any) -> bool:
    """True for a pydantic BaseModel subclass, without importing pydantic."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _split_msgspec_error(message: str) -> tuple[str, str]:
    text, sep, path = message.rpartition(" - at `")
    if not sep:
        return "$", message
    return path.rstrip("`"), text


def _join(path: str, sub: str) -> str:
    """Join a parent path with a msgspec sub-path (`$.a` + `$[0].b` -> `$.a[0].b`)."""
    return path + sub[1:] if sub.startswith("$") else path + sub


class ModelCodec:
    """Decodes bytes or builtins into one type, reporting every problem on failure."""

    def __init__(self, tp: Any, location: str, *, strict: bool = True) -> None:
        self.type = tp
        self.location = location
        self.strict = strict
        self.pydantic = _pydantic_adapter(tp)
        self._walk: Callable[[Any, str, Report, str], None] | None = None  # the complete report's walk
        if self.pydantic is None and not _plain_struct(tp):
            self._decoder = msgspec.json.Decoder(tp, strict=strict)
        # else: a Struct of plain scalar fields, whose decoder cannot fail to build: made on first
        # use (`_decoder` below), so registering a route costs less (msgspec reads the class then)

    @functools.cached_property
    def _decoder(self) -> msgspec.json.Decoder[Any]:
        """msgspec's decoder of the type, made on first use unless `__init__` made it. (A descriptor
        rather than `__getattr__`, which would slow every other attribute read of the codec.)"""
        if self.pydantic is not None:
            raise AttributeError("_decoder")  # a pydantic model's codec decodes with pydantic
        return msgspec.json.Decoder(self.type, strict=self.strict)

    def decode_json(self, data: bytes | str) -> Any:
        """Parse and validate JSON bytes; raises BadRequest (syntax) or ValidationFailed."""
        if self.pydantic is not None:
            return self._pydantic_call(self.pydantic.validate_json, data)
        try:
            return self._decoder.decode(data)
        except Exception as exc:
            self.failed(data, exc)
            raise

    def failed(self, data: bytes | str, exc: Exception) -> None:
        """Raise the error for `data`, whose typed decode raised `exc`: BadRequest (syntax, or
        nested too deeply) or ValidationFailed listing every problem; returns for any other `exc`."""
        if isinstance(exc, _INPUT_ERRORS):
            raise self.error_for(data, exc) from None

    def error_for(self, data: bytes | str, exc: Exception) -> Exception:
        """The error `failed` raises, returned for the caller to raise (one frame less in the
        traceback of an invalid body); `exc` itself when it is not the input's fault.
        Raise it as `raise codec.error_for(data, exc) from None`, without naming it in a local:
        a local would tie the frame and the exception's traceback in a cycle, left to the GC."""
        found = self.report_for(data, exc)
        return _report(found, echoes=found.echoes) if isinstance(found, Report) else found

    def report_for(self, data: bytes | str, exc: Exception) -> Report | Exception:
        """Every problem of `data`, whose typed decode raised `exc`, as a Report (the details of its
        422); or, when it is not a problem of types, what `error_for` gives: a BadRequest (syntax, or
        nested too deeply), or `exc` itself when it is not the input's fault."""
        if exc.__class__ is _ValidationError or isinstance(exc, _ValidationError):
            try:
                raw = _decode_untyped(data)
            except msgspec.DecodeError as syntax:  # failed the type before reaching the bad syntax
                return invalid_json(self.location, str(syntax))
            except RecursionError:
                return invalid_json(self.location, TOO_DEEP)
            found = Report()  # self.problems(raw, exc), its common case inlined
            walk = self._walk
            try:
                if walk is None:
                    walk = self._walk = _compile(self.type, self.strict).entry()
                walk(raw, "$", found, self.location)
            except Exception:
                found = Report()
            if not found:
                found = self.problems(raw, exc)
            return found
        if isinstance(exc, msgspec.DecodeError):
            return invalid_json(self.location, str(exc))
        if isinstance(exc, RecursionError):  # nested past the parser's depth limit: invalid input, not a 500
            return invalid_json(self.location, TOO_DEEP)
        return exc

    def convert(self, value: Any) -> Any:
        """Validate already-parsed builtins (query dicts, record payloads)."""
        if self.pydantic is not None:
            return self._pydantic_call(self.pydantic.validate_python, value)
        try:
            return msgspec.convert(value, self.type, strict=self.strict)
        except msgspec.ValidationError as exc:
            found = self.problems(value, exc)
            raise _report(found, echoes=found.echoes) from None
        except RecursionError:
            raise invalid_json(self.location, TOO_DEEP) from None

    def problems(self, value: Any, first: msgspec.ValidationError) -> Report:
        """Every problem in `value`, or msgspec's first one if the walk finds nothing."""
        found = Report()
        walk = self._walk
        if walk is None:
            walk = self._walk = _compile(self.type, self.strict).entry()
        try:
            walk(value, "$", found, self.location)
        except Exception:
            found = Report()
        if not found:
            path, message = _split_msgspec_error(str(first))
            found.append({"location": self.location, "path": path, "message": message})
            found.echoes = True
        return found

    def _pydantic_call(self, fn: Callable[[Any], Any], data: Any) -> Any:
        pydantic = sys.modules["pydantic"]
        try:
            return fn(data)
        except pydantic.ValidationError as exc:
            errors = exc.errors(include_url=False)
            if any(e.get("type") == "json_invalid" for e in errors):
                raise _errors.BadRequest("Request body is not valid JSON", code="invalid_json") from None
            raise ValidationFailed(
                details=[
                    {"location": self.location, "path": _pydantic_path(e.get("loc", ())), "message": e.get("msg", "")}
                    for e in errors
                ]
            ) from None


def _pydantic_adapter(tp: Any) -> Any:
    """A pydantic TypeAdapter when `tp` needs pydantic (a model, or a type msgspec refuses)."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return None
    if is_pydantic_model(tp):
        return pydantic.TypeAdapter(tp)
    try:
        msgspec.json.Decoder(tp)
    except TypeError:
        return pydantic.TypeAdapter(tp)
    return None


_PLAIN_FIELD_TYPES = frozenset({str, int, float, bool, bytes})


def _plain_struct(tp: Any) -> bool:
    """True for a msgspec Struct whose own and inherited fields are all annotated with a plain
    scalar class (`str`, `int`, `float`, `bool`, `bytes`): msgspec always supports it."""
    if not (isinstance(tp, type) and issubclass(tp, msgspec.Struct)):
        return False
    for cls in tp.__mro__:
        if cls is msgspec.Struct:
            break
        annotations = cls.__dict__.get("__annotations__")  # noqa: RUF063 (`inspect` is slow to import)
        try:
            if annotations and not all(v in _PLAIN_FIELD_TYPES for v in annotations.values()):
                return False
        except TypeError:  # an unhashable annotation
            return False
    return True


def _pydantic_path(loc: tuple[Any, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def codec_for(tp: Any, location: str, *, strict: bool = True) -> ModelCodec:
    return ModelCodec(tp, location, strict=strict)


# -- the complete-report walk (slow path only) ------------------------------------------
# A type is compiled once into a tree of checkers; on a failure the tree walks the parsed
# value and reports each problem. Leaves that plainly match skip msgspec entirely.

# The classes a strict leaf of these types accepts as they are, without asking msgspec.
_FAST_LEAVES: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}
# A value of one of these classes never fits a leaf above that does not accept its class, whatever it
# holds, so msgspec's message for (leaf type, value class) is asked once and reused: a failed
# `msgspec.convert` (an exception) costs more than the rest of a small report.
_NEVER_FIT = frozenset({str, bool, type(None), list, dict})
_mismatch: dict[tuple[Any, type], str] = {}
_checkers: dict[tuple[Any, bool], _Checker] = {}


class _Checker:
    """Reports the problems of `value` at `path` into `out`."""

    __slots__ = ("type", "strict")

    def __init__(self, tp: Any, strict: bool) -> None:
        self.type = tp
        self.strict = strict

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        try:
            msgspec.convert(value, self.type, strict=self.strict)
        except msgspec.ValidationError as exc:
            sub, message = _split_msgspec_error(str(exc))
            out.append({"location": location, "path": _join(path, sub), "message": message})
            out.echoes = True  # msgspec's message may quote the value (an enum's, a literal's)
        except TypeError:
            pass

    def entry(self) -> Callable[[Any, str, Report, str], None]:
        """The fastest callable doing `check`."""
        return self.check


class _Leaf(_Checker):
    __slots__ = ("accepts", "anything")

    def __init__(self, tp: Any, strict: bool) -> None:
        super().__init__(tp, strict)
        self.anything = tp is Any
        self.accepts = _FAST_LEAVES.get(tp) if strict else None

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        if self.anything:
            return
        accepts = self.accepts
        if accepts is not None:
            cls = value.__class__
            if cls in accepts:
                return
            if cls in _NEVER_FIT:
                message = _mismatch.get((self.type, cls))
                if message is None:
                    before, echoes = len(out), out.echoes
                    super().check(value, path, out, location)
                    if len(out) == before + 1 and out[-1]["path"] == path:  # msgspec's own message, kept
                        _mismatch[(self.type, cls)] = out[-1]["message"]
                        out.echoes = echoes  # ... which names the two types only
                    return
                out.append({"location": location, "path": path, "message": message})
                return
        super().check(value, path, out, location)


class _Object(_Checker):
    __slots__ = ("fields", "whole", "known", "walk")

    def __init__(self, tp: Any, strict: bool, fields: list[tuple[str, Any, bool]]) -> None:
        super().__init__(tp, strict)
        self.fields: list[tuple[str, _Checker, bool]] = []
        self.walk: Callable[[Any, str, Report, str], None] | None = None  # made on the first check
        _checkers[(tp, strict)] = self  # before compiling fields: recursive types refer back
        for name, ftype, required in fields:
            self.fields.append((name, _compile(ftype, strict), required))
        # Struct options (forbid_unknown_fields, __post_init__) only show in a whole-object check,
        # which runs when the fields are fine; unknown fields are listed here, beside other problems.
        self.whole = isinstance(tp, type) and issubclass(tp, msgspec.Struct)
        self.known: frozenset[str] | None = None
        if self.whole and tp.__struct_config__.forbid_unknown_fields:
            tag_field = tp.__struct_config__.tag_field
            self.known = frozenset([name for name, _, _ in fields] + ([tag_field] if tag_field else []))

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        self.entry()(value, path, out, location)

    def entry(self) -> Callable[[Any, str, Report, str], None]:
        walk = self.walk
        if walk is None:
            walk = self.walk = _object_walk(self)
        return walk


_MISSING: Any = object()


def _object_walk(obj: _Object) -> Callable[[Any, str, Report, str], None]:
    """The check of one object type as a function of its own, written out field by field.

    Generated rather than a loop over the fields because this is the invalid-body path: a field that
    fits costs one dict lookup and one class test here, against a tuple unpacking, two lookups and
    an f-string in a loop (about half the instructions of a whole report). The names and messages
    are constants of the function's globals, never spliced into its source.
    """
    scope: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_generic": super(_Object, obj).check,  # msgspec's own check of the whole value
        "_mismatch": _mismatch,
        "_known": obj.known,
        "Report": Report,
    }
    lines = [
        "def walk(value, path, out, location):",
        "    if value.__class__ is not dict and not isinstance(value, dict):",
        "        return _generic(value, path, out, location)",
        "    top = path == '$'",
    ]
    if obj.whole:
        lines.append("    before = len(out)")
    for i, (name, checker, required) in enumerate(obj.fields):
        leaf = checker if type(checker) is _Leaf and checker.accepts is not None else None
        accepts: tuple[type, ...] = leaf.accepts if leaf is not None else ()  # type: ignore[assignment]
        scope.update(
            {
                f"_n{i}": name,
                f"_p{i}": f"$.{name}",
                f"_s{i}": f".{name}",
                f"_m{i}": f"Object missing required field `{name}`",
                f"_c{i}": checker.check,
                f"_t{i}": checker.type,
            }
        )
        # the classes that fit as they are, tested by identity (a tuple's `in` compares each class)
        for k, cls in enumerate(accepts):
            scope[f"_a{i}_{k}"] = cls
        fits = " and ".join(f"item.__class__ is not _a{i}_{k}" for k in range(len(accepts))) or "True"
        lines += [f"    item = value.get(_n{i}, _MISSING)", f"    if {fits}:"]
        call = [f"_c{i}(item, _p{i} if top else path + _s{i}, out, location)"]
        if leaf is not None:  # a known mismatch's message (see _Leaf), without the call
            call = [
                f"message = _mismatch.get((_t{i}, item.__class__))",
                "if message is None:",
                f"    _c{i}(item, _p{i} if top else path + _s{i}, out, location)",
                "else:",
                f"    out.append({{'location': location, 'path': _p{i} if top else path + _s{i}, 'message': message}})",
            ]
        if required:
            lines += [
                "        if item is _MISSING:",
                f"            out.append({{'location': location, 'path': _p{i} if top else path + _s{i}, "
                f"'message': _m{i}}})",
                "        else:",
            ]
            lines += ["            " + line for line in call]
        else:
            lines += ["        if item is not _MISSING:"]
            lines += ["            " + line for line in call]
    if obj.known is not None:
        lines += [
            "    for key in value:",
            "        if key not in _known:",
            "            out.append({'location': location, 'path': path, "
            "'message': f'Object contains unknown field `{key}`'})",
            "            out.echoes = True",
        ]
    if obj.whole:
        lines += ["    if len(out) == before:", "        _generic(value, path, out, location)"]
    exec(compile("\n".join(lines), f"<lift validator {getattr(obj.type, '__qualname__', obj.type)!s}>", "exec"), scope)
    walk: Callable[[Any, str, Report, str], None] = scope["walk"]
    return walk


class _Items(_Checker):
    __slots__ = ("item",)

    def __init__(self, tp: Any, strict: bool, item: Any) -> None:
        super().__init__(tp, strict)
        self.item = _compile(item, strict)

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        if not isinstance(value, list):
            super().check(value, path, out, location)
            return
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]", out, location)


class _Mapping(_Checker):
    __slots__ = ("value",)

    def __init__(self, tp: Any, strict: bool, value_type: Any) -> None:
        super().__init__(tp, strict)
        self.value = _compile(value_type, strict)

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        if not isinstance(value, dict):
            super().check(value, path, out, location)
            return
        before = len(out)
        for key, item in value.items():
            self.value.check(item, f"{path}.{key}", out, location)
        if len(out) != before:
            out.echoes = True  # the paths hold the input's keys


class _Optional(_Checker):
    __slots__ = ("inner",)

    def __init__(self, tp: Any, strict: bool, inner: Any) -> None:
        super().__init__(tp, strict)
        self.inner = _compile(inner, strict)

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        if value is None:
            return
        before = len(out)
        self.inner.check(value, path, out, location)
        if len(out) == before + 1 and out[-1]["path"] == path and out[-1]["message"].startswith("Expected `"):
            # the value itself is not of the inner type (`5` for `Address | None`): msgspec's message
            # for the whole type names what is accepted (`object | null`), as its first error does
            problem, echoes = out.pop(), out.echoes
            super().check(value, path, out, location)
            if len(out) == before:  # (msgspec took it after all: the inner problem stands)
                out.append(problem)
                out.echoes = echoes


class _Annotated(_Checker):
    __slots__ = ("base",)

    def __init__(self, tp: Any, strict: bool, base: Any) -> None:
        super().__init__(tp, strict)
        self.base = _compile(base, strict)

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        before = len(out)
        self.base.check(value, path, out, location)
        if len(out) == before:  # the base fits: now the constraints (min_length, ge, ...)
            super().check(value, path, out, location)


def _fields(tp: Any) -> list[tuple[str, Any, bool]] | None:
    """(encoded name, type, required) for a struct-like type, or None if it is not one."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return [(f.encode_name, f.type, f.required) for f in msgspec.structs.fields(tp)]
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        import dataclasses

        hints = typing.get_type_hints(tp, include_extras=True)
        return [
            (
                f.name,
                hints.get(f.name, Any),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(tp)
            if f.init
        ]
    if typing.is_typeddict(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        required = getattr(tp, "__required_keys__", frozenset(hints))
        return [(name, t, name in required) for name, t in hints.items()]
    return None


def _compile(tp: Any, strict: bool) -> _Checker:
    key = (tp, strict)
    try:
        cached = _checkers.get(key)
    except TypeError:  # an unhashable annotation
        return _Checker(tp, strict)
    if cached is not None:
        return cached
    checker = _build(tp, strict)
    _checkers[key] = checker
    return checker


def _build(tp: Any, strict: bool) -> _Checker:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _Annotated(tp, strict, args[0])
    fields = _fields(tp)
    if fields is not None:
        return _Object(tp, strict, fields)
    if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (Ellipsis,)):
        return _Items(tp, strict, args[0] if args else Any)
    if origin is dict:
        return _Mapping(tp, strict, args[1] if len(args) == 2 else Any)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            inner = _compile(rest[0], strict)
            if type(inner) is _Leaf:  # `str | None`: a leaf of the whole type, whose message names it (`str | null`)
                if inner.anything:
                    return inner
                leaf = _Leaf(tp, strict)
                if inner.accepts is not None:
                    leaf.accepts = (*inner.accepts, type(None))
                return leaf
            return _Optional(tp, strict, rest[0])
    return _Leaf(tp, strict)


def _collect(tp: Any, value: Any, path: str, out: Report, strict: bool, location: str) -> None:
    _compile(tp, strict).check(value, path, out, location)
