"""The complete report of an invalid value: every problem with its path (lift.validation's slow path).

msgspec stops at a value's first problem; on that failure a type is compiled once into a tree of
checkers, which walks the parsed value and reports each problem. Imported by `lift.validation` on
the first invalid value, so `import lift` does not make these classes (a cold start's first
request seldom needs them).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from lift.validation import MAX_PROBLEMS, Report, _fields, _join, _split_msgspec_error

__all__ = ["checker_for"]


# The classes a strict leaf of these types accepts as they are, without asking msgspec (leaves that
# plainly match skip msgspec entirely).
_FAST_LEAVES: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}
# A value of one of these classes never fits a leaf above that does not accept its class, whatever it
# holds, so msgspec's message for (leaf type, value class) is asked once and reused: a failed
# `msgspec.convert` (an exception) costs more than the rest of a small report.
_NEVER_FIT = frozenset({str, bool, type(None), list, dict})
_mismatch: dict[tuple[Any, type], str] = {}
_checkers: dict[tuple[Any, bool], _Checker] = {}


class Enough(Exception):
    """Raised by a walk that has found more than MAX_PROBLEMS: the caller reports the first of them
    (lift.validation.bounded), and the rest of a huge value is not walked."""


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
            text = str(exc)
            if self.strict and _KEY_PROBLEM in text:  # (JSON's object keys are text: see _json_fits)
                text = _json_fits(value, self.type)
                if not text:
                    return
            sub, message = _split_msgspec_error(text)
            out.append({"location": location, "path": _join(path, sub), "message": message})
            out.echoes = True  # msgspec's message may quote the value (an enum's, a literal's)
        except TypeError:
            pass

    def entry(self) -> Callable[[Any, str, Report, str], None]:
        """The fastest callable doing `check`."""
        return self.check


_KEY_PROBLEM = " - at `key` in `"


def _json_fits(value: Any, tp: Any) -> str:
    """ "" when the parsed JSON `value` decodes as `tp`, else msgspec's message. A strict convert takes
    no text for an int key (`dict[int, int]`), where JSON decoding reads the key `"1"` as 1, so a
    problem with a key is asked again of the JSON decoder the body was decoded with."""
    try:
        msgspec.json.decode(msgspec.json.encode(value), type=tp)
    except msgspec.ValidationError as exc:
        return str(exc)
    except (TypeError, msgspec.EncodeError):
        return ""
    return ""


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
        "_limit": MAX_PROBLEMS,
        "Enough": Enough,
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
            "            if len(out) > _limit:",
            "                raise Enough",
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
        check = self.item.check
        for i, item in enumerate(value):
            check(item, f"{path}[{i}]", out, location)
            if len(out) > MAX_PROBLEMS:
                raise Enough


class _Mapping(_Checker):
    __slots__ = ("value", "keys")

    def __init__(self, tp: Any, strict: bool, value_type: Any, key_type: Any = str) -> None:
        super().__init__(tp, strict)
        self.value = _compile(value_type, strict)
        # a key of another type than text (`dict[int, ...]`, an enum, a Literal) is checked on its own
        self.keys: Any = None if key_type in (str, Any) else dict[key_type, Any]

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        if not isinstance(value, dict):
            super().check(value, path, out, location)
            return
        before = len(out)
        check = self.value.check
        keys = self.keys
        for key, item in value.items():
            if keys is not None and (problem := self._key_problem(key)):
                out.append({"location": location, "path": path, "message": f"Invalid key {key!r}: {problem}"})
            check(item, f"{path}.{key}", out, location)
            if len(out) > MAX_PROBLEMS:
                out.echoes = True
                raise Enough
        if len(out) != before:
            out.echoes = True  # the paths hold the input's keys

    def _key_problem(self, key: Any) -> str:
        """msgspec's message for a key that is not of the mapping's key type, else ""."""
        try:
            msgspec.convert({key: None}, self.keys, strict=self.strict)
        except msgspec.ValidationError as exc:
            text = _json_fits({key: None}, self.keys) if self.strict else str(exc)
            return text.rpartition(" - at `")[0] or text
        return ""


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


class _Tagged(_Checker):
    """A union of tagged Structs (`Cat | Dog`, maybe `| None`): the member the value's tag names is
    walked like any model (every problem, a missing field at `$.<object>.<field>`); a missing tag is
    reported at the tag field's own path, and a tag no member has is msgspec's message for it."""

    __slots__ = ("tag_field", "members", "nullable")

    def __init__(self, tp: Any, strict: bool, members: list[Any], nullable: bool) -> None:
        super().__init__(tp, strict)
        self.tag_field: str = members[0].__struct_config__.tag_field
        self.nullable = nullable
        self.members = {
            m.__struct_config__.tag: (m.__struct_config__.tag.__class__, _compile(m, strict)) for m in members
        }

    def check(self, value: Any, path: str, out: Report, location: str) -> None:
        if value is None and self.nullable:
            return
        if value.__class__ is dict:
            tag = value.get(self.tag_field, _MISSING)
            if tag is _MISSING:
                message = f"Object missing required field `{self.tag_field}`"
                out.append({"location": location, "path": f"{path}.{self.tag_field}", "message": message})
                return
            try:
                found = self.members.get(tag)
            except TypeError:  # (an unhashable tag: a list, an object)
                found = None
            if found is not None and tag.__class__ is found[0]:  # (True is no tag 1)
                found[1].check(value, path, out, location)
                return
        super().check(value, path, out, location)


def _tagged_members(args: tuple[Any, ...]) -> list[Any] | None:
    """The members of a union of two or more tagged Structs sharing one tag field (None aside)."""
    members = [a for a in args if a is not type(None)]
    if len(members) < 2 or not all(isinstance(m, type) and issubclass(m, msgspec.Struct) for m in members):
        return None
    fields = {m.__struct_config__.tag_field for m in members}
    return members if len(fields) == 1 and None not in fields else None


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
        return _Mapping(tp, strict, args[1] if len(args) == 2 else Any, args[0] if len(args) == 2 else str)
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
        members = _tagged_members(args)
        if members is not None:
            return _Tagged(tp, strict, members, len(members) < len(args))
    return _Leaf(tp, strict)


def _collect(tp: Any, value: Any, path: str, out: Report, strict: bool, location: str) -> None:
    _compile(tp, strict).check(value, path, out, location)


def checker_for(tp: Any, strict: bool) -> _Checker:
    """The checker of `tp` (made once per type and strictness)."""
    return _compile(tp, strict)
