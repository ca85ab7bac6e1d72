"""Per-route request limits: body size (413) and accepted content types (415).

```python
@app.post("/cards", middleware=[limits(max_body=4096, content_types=["application/json"])])
```
The size is checked from the body Lambda received (before it is decoded or parsed); a body
on a GET or without one is never refused for its type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lift.errors import LiftError, PayloadTooLarge

__all__ = ["limits", "UnsupportedMediaType"]


class UnsupportedMediaType(LiftError):
    """415: the body's Content-Type is not one this route accepts."""

    status = 415
    code = "unsupported_media_type"
    message = "Unsupported media type"

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        super().__init__(None, None, message, details)


def limits(*, max_body: int | None = None, content_types: Iterable[str] | None = None) -> Callable[[Any, Any], Any]:
    """Middleware refusing bodies over `max_body` bytes (413) or of another Content-Type (415)."""
    accepted = tuple(t.lower() for t in content_types) if content_types is not None else None
    if max_body is not None and max_body < 0:
        raise ValueError("max_body must be >= 0")

    def check_limits(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        request = ctx.request
        if request is None:
            return call_next(ctx)
        size = request.body_size()
        if max_body is not None:
            if size > max_body:
                raise PayloadTooLarge(
                    f"Request body exceeds this route's {max_body}-byte limit", details={"limit": max_body}
                )
            request.max_body = min(request.max_body, max_body)
        if accepted is not None and size:
            ctype = (request.content_type or "").split(";", 1)[0].strip().lower()
            if ctype not in accepted:
                raise UnsupportedMediaType(
                    f"Content-Type {ctype or '(none)'} is not accepted here",
                    details={"accepted": list(accepted)},
                )
        return call_next(ctx)

    return check_limits
