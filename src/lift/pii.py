"""Personal data in responses: `Annotated[str, PII]` fields are masked for callers without access.

```python
class Customer(msgspec.Struct):
    id: int
    email: Annotated[str, PII(roles={"support"})]   # shown to the "support" role only
    phone: Annotated[str, PII]                       # shown to nobody through `visible`

@app.get("/customers/{cid}")
def get_customer(ctx, cid: int) -> dict:
    return visible(load(cid), ctx)
```

Log lines mask every PII field always (see lift.observability.redaction).
"""

from __future__ import annotations

from typing import Any

from lift.observability.redaction import MASK, PII, _as_fields, pii_fields

__all__ = ["PII", "visible"]


def visible(value: Any, ctx: Any = None, *, roles: frozenset[str] | set[str] | None = None) -> Any:
    """`value` (a model, or a list/dict of them) as plain data with the PII fields masked that
    the caller may not see: a field's own `PII(roles=...)`, else none, decide; the caller's
    roles are `roles` or `ctx.principal.roles`."""
    if roles is None:
        principal = getattr(ctx, "principal", None)
        roles = getattr(principal, "roles", frozenset()) if principal is not None else frozenset()
    return _visible(value, frozenset(roles), 0)


def _visible(value: Any, roles: frozenset[str], depth: int) -> Any:
    if depth > 20 or value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_visible(v, roles, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _visible(v, roles, depth + 1) for k, v in value.items()}
    fields = _as_fields(value)
    if fields is None:
        return value
    marked = pii_fields(type(value))
    out = {}
    for name, field_value in fields.items():
        marker = marked.get(name)
        if marker is not None and field_value is not None and not (marker.roles & roles):
            out[name] = MASK
        else:
            out[name] = _visible(field_value, roles, depth + 1)
    return out
