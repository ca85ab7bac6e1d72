"""Typed models -> fast decoders, and complete error reports when validation fails.

msgspec decodes and validates in one pass but stops at the first problem. On that (rare)
failure path we walk the model's type against the already-parsed value to list every
problem with its path (`$.items[2].qty`), which is what clients need to fix a request.
Pydantic v2 models are supported when pydantic is already imported by the user's code.
"""

from __future__ import annotations

import functools
import sys
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from lift import errors as _errors  # (BadRequest: made on first use)
from lift.errors import ValidationFailed
from lift.serialization import TOO_DEEP, invalid_json, unsupported_charset, wide_encoding, without_bom

__all__ = ["Problem", "Report", "ModelCodec", "codec_for", "is_pydantic_model", "MAX_PROBLEMS", "bounded"]

Problem = dict[str, Any]  # {"location": ..., "path": "$.a[0].b", "message": ...}

# The most problems one report lists: a body of 100,000 wrong items is a 422 of this many details and
# one more saying the rest were left out, not a response past Lambda's 6 MB limit (or a log line as big).
MAX_PROBLEMS = 100


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
    if path.startswith("key` in `"):  # (a key of an object: "- at `key` in `$.scores`")
        return path[9:].rstrip("`"), f"Invalid key: {text}"
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
        """Parse and validate JSON bytes; raises BadRequest (syntax) or ValidationFailed. A UTF-8 byte
        order mark before the JSON is ignored (RFC 8259 allows it); JSON in UTF-16 or UTF-32 is a 415."""
        if self.pydantic is not None:
            return self._pydantic_call(self.pydantic.validate_json, without_bom(data))
        try:
            return self._decoder.decode(data)
        except Exception as exc:
            bom_free = without_bom(data)
            if bom_free is data:
                self.failed(data, exc)
                raise
        return self.decode_json(bom_free)

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
        nested too deeply), or `exc` itself when it is not the input's fault; a 415 for JSON
        bytes in UTF-16 or UTF-32 (RFC 8259: JSON is UTF-8)."""
        if data.__class__ is bytes and (wide := wide_encoding(data)) is not None:
            return unsupported_charset(wide, declared=False)
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
            except Exception:  # (a walk that found more than MAX_PROBLEMS stops with an exception)
                found = bounded(found, self.location) if len(found) > MAX_PROBLEMS else Report()
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
            found = bounded(found, self.location) if len(found) > MAX_PROBLEMS else Report()
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
            details = [
                {"location": self.location, "path": _pydantic_path(e.get("loc", ())), "message": e.get("msg", "")}
                for e in errors[: MAX_PROBLEMS + 1]
            ]
            raise ValidationFailed(details=bounded(details, self.location)) from None


_Problems = typing.TypeVar("_Problems", bound=list[Problem])


def bounded(problems: _Problems, location: str) -> _Problems:
    """`problems` cut to its first MAX_PROBLEMS, and one more saying the rest were left out (in place;
    returned for the caller's convenience). A walk stops (`lift.problem_walk.Enough`) as soon as it
    has found more than MAX_PROBLEMS: the rest of a huge body is not walked."""
    if len(problems) > MAX_PROBLEMS:
        del problems[MAX_PROBLEMS:]
        problems.append({"location": location, "path": "$", "message": TOO_MANY_PROBLEMS})
    return problems


TOO_MANY_PROBLEMS = f"Too many problems: only the first {MAX_PROBLEMS} are listed"


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
        try:  # (one set test, not a generator: a route of its own model pays this at registration)
            if annotations and not _PLAIN_FIELD_TYPES.issuperset(annotations.values()):
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


def _compile(tp: Any, strict: bool) -> Any:
    """The checker tree of `tp` (`lift.problem_walk`, imported on the first invalid value: `import
    lift` does not build its classes, about 0.6M instructions of a cold start)."""
    from lift.problem_walk import checker_for

    return checker_for(tp, strict)


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
