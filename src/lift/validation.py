"""Typed models -> fast decoders, and complete error reports when validation fails.

msgspec decodes and validates in one pass but stops at the first problem. On that (rare)
failure path we walk the model's type against the already-parsed value to list every
problem with its path (`$.items[2].qty`), which is what clients need to fix a request.
Pydantic v2 models are supported when pydantic is already imported by the user's code.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["Problem", "ModelCodec", "codec_for", "is_pydantic_model"]

Problem = dict  # {"location": ..., "path": "$.a[0].b", "message": ...}


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
        if self.pydantic is None:
            self._decoder = msgspec.json.Decoder(tp, strict=strict)

    def decode_json(self, data: bytes) -> Any:
        """Parse and validate JSON bytes; raises BadRequest (syntax) or ValidationFailed."""
        from lift.errors import BadRequest, ValidationFailed

        if self.pydantic is not None:
            return self._pydantic_call(self.pydantic.validate_json, data)
        try:
            return self._decoder.decode(data)
        except msgspec.ValidationError as exc:
            try:
                raw = msgspec.json.decode(data)
            except msgspec.DecodeError:  # pragma: no cover - validated JSON always re-parses
                raw = None
            raise ValidationFailed(details=self.problems(raw, exc)) from None
        except msgspec.DecodeError as exc:
            raise BadRequest("Request body is not valid JSON", code="invalid_json",
                             details=[{"location": self.location, "message": str(exc)}]) from None

    def convert(self, value: Any) -> Any:
        """Validate already-parsed builtins (query dicts, record payloads)."""
        from lift.errors import ValidationFailed

        if self.pydantic is not None:
            return self._pydantic_call(self.pydantic.validate_python, value)
        try:
            return msgspec.convert(value, self.type, strict=self.strict)
        except msgspec.ValidationError as exc:
            raise ValidationFailed(details=self.problems(value, exc)) from None

    def problems(self, value: Any, first: msgspec.ValidationError) -> list[Problem]:
        """Every problem in `value`, or msgspec's first one if the walk finds nothing."""
        found: list[Problem] = []
        try:
            _collect(self.type, value, "$", found, self.strict, self.location)
        except Exception:  # noqa: BLE001 - the report must never turn a 422 into a 500
            found = []
        if not found:
            path, message = _split_msgspec_error(str(first))
            found = [{"location": self.location, "path": path, "message": message}]
        return found

    def _pydantic_call(self, fn: Callable[[Any], Any], data: Any) -> Any:
        from lift.errors import BadRequest, ValidationFailed

        pydantic = sys.modules["pydantic"]
        try:
            return fn(data)
        except pydantic.ValidationError as exc:
            errors = exc.errors(include_url=False)
            if any(e.get("type") == "json_invalid" for e in errors):
                raise BadRequest("Request body is not valid JSON", code="invalid_json") from None
            raise ValidationFailed(details=[
                {"location": self.location, "path": _pydantic_path(e.get("loc", ())), "message": e.get("msg", "")}
                for e in errors
            ]) from None


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


def _pydantic_path(loc: tuple[Any, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def codec_for(tp: Any, location: str, *, strict: bool = True) -> ModelCodec:
    return ModelCodec(tp, location, strict=strict)


# -- the complete-report walk (slow path only) ------------------------------------------

def _fields(tp: Any) -> list[tuple[str, Any, bool]] | None:
    """(encoded name, type, required) for a struct-like type, or None if it is not one."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return [(f.encode_name, f.type, f.required) for f in msgspec.structs.fields(tp)]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp, include_extras=True)
        return [
            (f.name, hints.get(f.name, Any),
             f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            for f in dataclasses.fields(tp) if f.init
        ]
    if typing.is_typeddict(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        required = getattr(tp, "__required_keys__", frozenset(hints))
        return [(name, t, name in required) for name, t in hints.items()]
    return None


def _collect(tp: Any, value: Any, path: str, out: list[Problem], strict: bool, location: str) -> None:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base = typing.get_args(tp)[0]
        before = len(out)
        _collect(base, value, path, out, strict, location)
        if len(out) == before:
            _check_leaf(tp, value, path, out, strict, location)
        return
    fields = _fields(tp)
    if fields is not None:
        if not isinstance(value, dict):
            _check_leaf(tp, value, path, out, strict, location)
            return
        for name, ftype, required in fields:
            if name not in value:
                if required:
                    out.append({"location": location, "path": path,
                                "message": f"Object missing required field `{name}`"})
                continue
            _collect(ftype, value[name], f"{path}.{name}", out, strict, location)
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct) and not out:
            _check_leaf(tp, value, path, out, strict, location)  # forbid_unknown_fields, __post_init__
        return
    if origin in (list, set, frozenset) or (origin is tuple and typing.get_args(tp)[-1:] == (Ellipsis,)):
        if not isinstance(value, list):
            _check_leaf(tp, value, path, out, strict, location)
            return
        item_type = typing.get_args(tp)[0] if typing.get_args(tp) else Any
        for i, item in enumerate(value):
            _collect(item_type, item, f"{path}[{i}]", out, strict, location)
        return
    if origin is dict:
        if not isinstance(value, dict):
            _check_leaf(tp, value, path, out, strict, location)
            return
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        for key, item in value.items():
            _collect(value_type, item, f"{path}.{key}", out, strict, location)
        return
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and len(args) < len(typing.get_args(tp)):
            return
        if len(args) == 1:
            _collect(args[0], value, path, out, strict, location)
            return
    _check_leaf(tp, value, path, out, strict, location)


def _check_leaf(tp: Any, value: Any, path: str, out: list[Problem], strict: bool, location: str) -> None:
    try:
        msgspec.convert(value, tp, strict=strict)
    except msgspec.ValidationError as exc:
        sub, message = _split_msgspec_error(str(exc))
        out.append({"location": location, "path": _join(path, sub), "message": message})
    except TypeError:
        pass
