"""Personal data in responses: `Annotated[str, PII]` fields are masked for callers without access.

```python
class Customer(msgspec.Struct):
    id: int
    email: Annotated[str, PII(roles={"support"})]   # shown to the "support" role only
    phone: Annotated[str, PII]                       # shown to nobody

@app.get("/customers/{cid}")
def get_customer(ctx, cid: int) -> Customer:      # masked automatically: the annotation names the model
    return load(cid)

@app.get("/customers/{cid}/raw")
def get_raw(ctx, cid: int) -> dict:               # an untyped result: mask it yourself
    return visible(load(cid), ctx)
```

A route whose return annotation holds a model with a PII field anywhere (`Customer`,
`list[Customer]`, `Page[Customer]`, `Customer | None`, a model with a `Customer` field) has every
result passed through `masked(result, ctx)` (what `visible` hides, types kept) before it is encoded (`carries_pii` decides once, at
registration; other routes pay nothing). Models are msgspec Structs, dataclasses and pydantic
models; a TypedDict result is a plain dict at run time, so it is not masked: use `visible` with a
model there. Log lines mask every PII field always (see lift.observability.redaction).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from lift.observability.redaction import MASK, PII, _as_fields, pii_fields

__all__ = ["PII", "visible", "masked", "carries_pii", "mask_results"]


def visible(value: Any, ctx: Any = None, *, roles: frozenset[str] | set[str] | None = None) -> Any:
    """`value` (a model, or a list/dict of them) as plain data with the PII fields masked that
    the caller may not see: a field's own `PII(roles=...)`, else none, decide; the caller's
    roles are `roles` or `ctx.principal.roles`."""
    return _masking(value, _caller_roles(ctx, roles), 0, True)


def _caller_roles(ctx: Any, roles: frozenset[str] | set[str] | None) -> frozenset[str]:
    if roles is None:
        principal = getattr(ctx, "principal", None)
        roles = getattr(principal, "roles", frozenset()) if principal is not None else frozenset()
    return frozenset(roles)


_carries: dict[Any, bool] = {}


def carries_pii(hint: Any) -> bool:
    """Whether a value of type `hint` can hold a PII-marked field: the type is, or contains (as an
    argument of a generic, a union member or a field of a model, at any depth), a Struct, dataclass
    or pydantic model with a `PII` field. Decided from the types alone, once per type."""
    try:
        return _carries_pii(hint, set())
    except Exception:  # an annotation typing cannot read: nothing to decide on
        return False


def _carries_pii(hint: Any, seen: set[int]) -> bool:
    if id(hint) in seen:
        return False
    seen.add(id(hint))
    known = _carries.get(hint) if _hashable(hint) else None
    if known is not None:
        return known
    origin = get_origin(hint)
    if origin is Annotated:
        found = _carries_pii(get_args(hint)[0], seen)
    elif origin is not None or get_args(hint):
        found = any(_carries_pii(arg, seen) for arg in get_args(hint) if arg is not Ellipsis)
    elif isinstance(hint, type) and _is_model(hint):
        if pii_fields(hint):
            found = True
        else:
            hints = get_type_hints(hint, include_extras=True)
            found = any(_carries_pii(h, seen) for name, h in hints.items() if not name.startswith("_"))
    else:
        found = False
    if _hashable(hint) and len(_carries) < 4096:
        _carries[hint] = found
    return found


def _hashable(hint: Any) -> bool:
    try:
        hash(hint)
    except TypeError:
        return False
    return True


def _is_model(cls: type) -> bool:
    return hasattr(cls, "__struct_fields__") or dataclasses.is_dataclass(cls) or hasattr(cls, "model_fields")


def masked(value: Any, ctx: Any = None, *, roles: frozenset[str] | set[str] | None = None) -> Any:
    """`value` with the PII fields masked that the caller may not see, as `visible` decides, but
    keeping its types: a Struct stays that Struct (a copy, so its renames, tags and omitted
    defaults encode as before), a dataclass or pydantic model a copy of itself; what holds no
    masked field is returned as it is (no copy)."""
    return _masking(value, _caller_roles(ctx, roles), 0, False)


_MAX_DEPTH = 32  # deeper than any response a client reads; past it, a container is masked whole
_WALKING = object()  # in `seen` while a container's own walk is under way: meeting it again is a cycle


def _masking(value: Any, roles: frozenset[str], depth: int, plain: bool, seen: dict[int, Any] | None = None) -> Any:
    """The one walk behind `visible` (`plain`: lists, dicts and each model as a dict of its fields,
    always new) and `masked` (types kept; a container or model is copied only when something in
    it is masked). A PII field is masked when it is set and the caller has none of its roles.

    It fails closed: a container deeper than `_MAX_DEPTH`, or one that holds itself (a cycle),
    becomes `***` rather than be shown unwalked; a container met twice (shared, not a cycle) is
    walked once (`seen`), so shared references cannot make the walk exponential."""
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    if seen is None:
        seen = {}
    done = seen.get(id(value))
    if done is not None:
        return MASK if done is _WALKING else done[0]
    container = isinstance(value, list | tuple | dict)
    fields = None if container else _as_fields(value)
    if fields is None and not container:
        return value  # a scalar of another type (datetime, UUID, Decimal...): nothing inside it
    if depth > _MAX_DEPTH:
        return MASK
    seen[id(value)] = _WALKING
    result = _masking_container(value, fields, roles, depth, plain, seen)
    seen[id(value)] = (result,)
    return result


def _masking_container(
    value: Any, fields: dict[str, Any] | None, roles: frozenset[str], depth: int, plain: bool, seen: dict[int, Any]
) -> Any:
    if fields is None and isinstance(value, list | tuple):
        items = [_masking(v, roles, depth + 1, plain, seen) for v in value]
        if plain:
            return items
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return tuple(items) if type(value) is tuple else items
    if fields is None:  # a dict
        if plain:
            return {k: _masking(v, roles, depth + 1, plain, seen) for k, v in value.items()}
        changed = {k: m for k, v in value.items() if (m := _masking(v, roles, depth + 1, plain, seen)) is not v}
        return {**value, **changed} if changed else value
    marked = pii_fields(type(value))
    out: dict[str, Any] = {}  # plain: every field; typed: the changed ones
    for name, field_value in fields.items():
        marker = marked.get(name)
        if marker is not None and field_value is not None and not (marker.roles & roles):
            out[name] = MASK
        else:
            inner = _masking(field_value, roles, depth + 1, plain, seen)
            if plain or inner is not field_value:
                out[name] = inner
    if plain:
        return out
    return _replaced(value, out) if out else value


def _replaced(value: Any, changes: dict[str, Any]) -> Any:
    """A copy of the model `value` with `changes` set, of its own type."""
    cls = type(value)
    if hasattr(cls, "__struct_fields__"):
        import msgspec.structs

        return msgspec.structs.replace(value, **changes)
    if hasattr(cls, "model_copy"):  # pydantic: its own copy keeps aliases and serializers
        return value.model_copy(update=changes)
    import copy

    clone = copy.copy(value)  # a dataclass, frozen or with slots: set on the copy without __init__
    for name, new in changes.items():
        object.__setattr__(clone, name, new)
    return clone


def mask_results(binder: Any) -> None:
    """Make `binder`'s calls pass each result through `masked(result, ctx)`: the result of a route
    whose return type carries PII (`carries_pii`), masked before it is encoded, on every path
    (Lambda, ASGI, with and without middleware)."""
    call, call_direct = binder.call, binder.call_direct
    if binder.is_async:

        async def masked_async(ctx: Any) -> Any:
            return masked(await call(ctx), ctx)

        binder.call = masked_async
    else:

        def masked_sync(ctx: Any) -> Any:
            return masked(call(ctx), ctx)

        def masked_direct(ctx: Any, value: Any) -> Any:
            return masked(call_direct(ctx, value), ctx)

        binder.call, binder.call_direct = masked_sync, masked_direct
