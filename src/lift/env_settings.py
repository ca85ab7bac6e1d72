"""Numeric settings from the environment (`app.asgi`'s LIFT_ASGI_*, the dev server's LIFT_DEV_*), each
refused with a clear message naming the variable when it is no number in its range (rather than a
ValueError traceback, a 0 s timeout failing every request, or a pool of 0 threads found only by the
first request that needs it)."""

from __future__ import annotations

import math
import os

__all__ = ["SettingError", "env_number"]


class SettingError(ValueError):
    """A LIFT_DEV_* variable holds a value the dev server cannot use."""


def env_number(name: str, default: float, *, integer: bool = False, allow_zero: bool = False) -> float:
    """`name`'s value as a number above zero (or from zero, `allow_zero`), `default` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "a whole number" if integer else "a number"
        bound = "0 or more" if allow_zero else "above 0"
        raise SettingError(f"{name}={raw!r} must be {kind} {bound} (unset: {default:g})")
    return value
