"""Trace ids: read Lambda's `_X_AMZN_TRACE_ID`, and propagate it on outgoing calls.

Lambda sets `_X_AMZN_TRACE_ID` (`Root=1-...;Parent=...;Sampled=1`) for each invocation. This
module parses it, exposes the trace id to logs, and builds the `X-Amzn-Trace-Id` and W3C
`traceparent` headers for calls made through Lift. It imports nothing beyond the stdlib;
the OpenTelemetry and X-Ray span recorders live in `lift.observability.otel` / `.xray`.
"""

from __future__ import annotations

import os
import re
import sys
from contextvars import ContextVar
from typing import Any, NamedTuple

__all__ = [
    "TraceHeader",
    "parse_xray_header",
    "is_trace_id",
    "parse_traceparent",
    "parse_tracestate",
    "current_trace_header",
    "current_trace_id",
    "outgoing_headers",
    "inject_trace_headers",
    "xray_to_w3c_trace_id",
    "w3c_to_xray_trace_id",
    "new_span_id",
]

XRAY_ENV = "_X_AMZN_TRACE_ID"
XRAY_HEADER = "X-Amzn-Trace-Id"
W3C_HEADER = "traceparent"

# Set by the tracing middleware when a request carries its own trace header (ASGI, dev server)
# or when a span is open, so outgoing calls continue the right trace.
_current: ContextVar[TraceHeader | None] = ContextVar("lift_trace_header", default=None)


class TraceHeader(NamedTuple):
    """The pieces of an X-Ray trace header. `root` is the X-Ray trace id (`1-hex8-hex24`)."""

    root: str
    parent: str | None = None
    sampled: bool | None = None

    def to_xray(self) -> str:
        parts = [f"Root={self.root}"]
        if self.parent:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={1 if self.sampled else 0}")
        return ";".join(parts)

    def to_traceparent(self) -> str | None:
        trace_id = xray_to_w3c_trace_id(self.root)
        if trace_id is None:
            return None
        parent = self.parent if self.parent and _is_hex(self.parent, 16) else new_span_id()
        return f"00-{trace_id}-{parent}-{'01' if self.sampled else '00'}"


def _is_hex(text: str, length: int) -> bool:
    """Exactly `length` hex digits (no sign, `0x`, `_` or spaces, which int(text, 16) would take)."""
    return len(text) == length and _HEX.fullmatch(text) is not None


_HEX = re.compile(r"[0-9a-fA-F]+")


def is_trace_id(root: str) -> bool:
    """Whether `root` is an X-Ray trace id: `1-` + 8 hex digits (the epoch) + `-` + 24 hex digits."""
    return len(root) == 35 and _TRACE_ID.match(root) is not None


_TRACE_ID = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")


def parse_xray_header(value: str | None) -> TraceHeader | None:
    """Parse `Root=...;Parent=...;Sampled=...` (either case, any order). None without a valid
    Root (a client's header is free text: nothing else reaches logs or outgoing calls); a Parent
    that is not 16 hex digits is dropped."""
    if not value or len(value) > _MAX_HEADER:
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = val.strip()
    root = fields.get("root")
    if not root or not is_trace_id(root):
        return None
    parent = fields.get("parent")
    sampled_raw = fields.get("sampled")
    sampled = None if sampled_raw not in ("0", "1") else sampled_raw == "1"
    return TraceHeader(root, parent if parent and _is_hex(parent, 16) else None, sampled)


# X-Ray's header is at most a few hundred characters (Root, Parent, Sampled, Lineage, Self, ...)
_MAX_HEADER = 1024


def parse_traceparent(value: str | None) -> TraceHeader | None:
    """Parse a W3C `traceparent` (`00-<32 hex>-<16 hex>-<flags>`) into X-Ray terms."""
    if not value:
        return None
    parts = value.strip().split("-")
    if (
        len(parts) < 4
        or not _is_hex(parts[0], 2)
        or parts[0].lower() == "ff"  # (W3C: an invalid version)
        or (parts[0] == "00" and len(parts) != 4)
        or not _is_hex(parts[1], 32)
        or not _is_hex(parts[2], 16)
        or not _is_hex(parts[3][:2], 2)
        or parts[1] == "0" * 32
        or parts[2] == "0" * 16
    ):
        return None
    return TraceHeader(w3c_to_xray_trace_id(parts[1].lower()), parts[2].lower(), bool(int(parts[3][:2], 16) & 1))


_tracestate_member: Any = None


def parse_tracestate(value: str | None) -> str | None:
    """A W3C `tracestate` to pass on with the `traceparent` of the same trace: its list-members
    (`key=value`, comma-separated; empty ones dropped) as received, or None when there are none, more
    than 32, or any member W3C's grammar refuses (the spec says to discard the whole header then)."""
    global _tracestate_member
    if not value or len(value) > 8192:
        return None
    if _tracestate_member is None:  # (compiled on first use: most apps never see a tracestate)
        key = r"(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})"
        val = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
        _tracestate_member = re.compile(f"{key}={val}")
    members = [m.strip(" \t") for m in value.split(",")]
    members = [m for m in members if m]
    if not members or len(members) > 32 or not all(_tracestate_member.fullmatch(m) for m in members):
        return None
    return ",".join(members)


def xray_to_w3c_trace_id(root: str) -> str | None:
    """`1-5759e988-bd862e3fe1be46a994272793` -> `5759e988bd862e3fe1be46a994272793`."""
    parts = root.split("-")
    if len(parts) != 3 or parts[0] != "1" or not _is_hex(parts[1], 8) or not _is_hex(parts[2], 24):
        return None
    return (parts[1] + parts[2]).lower()


def w3c_to_xray_trace_id(trace_id: str) -> str:
    """The inverse of `xray_to_w3c_trace_id`: the first 8 hex digits are the epoch part."""
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def new_span_id() -> str:
    """A random 16-hex-digit span / segment id."""
    return os.urandom(8).hex()


def set_current(header: TraceHeader | None) -> Any:
    """Make `header` the current trace for this context; returns a token for `reset_current`."""
    return _current.set(header)


def reset_current(token: Any) -> None:
    _current.reset(token)


def current_trace_header() -> TraceHeader | None:
    """The trace in effect: the one a middleware set, else the invocation's `_X_AMZN_TRACE_ID`."""
    header = _current.get()
    if header is not None:
        return header
    return parse_xray_header(os.environ.get(XRAY_ENV))


def current_trace_id() -> str | None:
    """The X-Ray trace id (`1-...`) of the current invocation, for logs."""
    header = _current.get()
    if header is not None:
        return header.root
    return invocation_trace_id()


def invocation_trace_id() -> str | None:
    """The trace id of Lambda's `_X_AMZN_TRACE_ID` (set for each invocation), ignoring any set by a middleware."""
    raw = os.environ.get(XRAY_ENV)
    if not raw:
        return None
    start = raw.find("Root=")
    if start < 0:
        header = parse_xray_header(raw)
        return header.root if header else None
    end = raw.find(";", start)
    root = raw[start + 5 :] if end < 0 else raw[start + 5 : end]
    return root if is_trace_id(root) else None


def outgoing_headers() -> dict[str, str]:
    """Headers that carry the current trace to a downstream service (empty when no trace).

    When an OpenTelemetry span is active, its context wins, so the downstream call becomes a
    child of the current span.
    """
    header = _otel_header() or current_trace_header()
    if header is None:
        return {}
    out = {XRAY_HEADER: header.to_xray()}
    traceparent = header.to_traceparent()
    if traceparent:
        out[W3C_HEADER] = traceparent
    return out


def inject_trace_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Add the trace headers to `headers` (without overriding ones already there) and return it."""
    headers = {} if headers is None else headers
    present = {k.lower() for k in headers}
    for name, value in outgoing_headers().items():
        if name.lower() not in present:
            headers[name] = value
    return headers


def _otel_header() -> TraceHeader | None:
    """The active OpenTelemetry span as a trace header, only if OpenTelemetry is already loaded."""
    if "opentelemetry.trace" not in sys.modules:
        return None
    from opentelemetry import trace

    span_ctx = trace.get_current_span().get_span_context()
    if not span_ctx.is_valid:
        return None
    trace_hex = format(span_ctx.trace_id, "032x")
    return TraceHeader(
        w3c_to_xray_trace_id(trace_hex), format(span_ctx.span_id, "016x"), bool(span_ctx.trace_flags & 1)
    )
