"""X-Ray subsegments of the Lambda function's own segment, sent to the X-Ray daemon over UDP.

Lambda creates the function segment itself and passes its id as `Parent` in
`_X_AMZN_TRACE_ID`; we record our work as *subsegments* of it, sent independently
(`type: "subsegment"`, `parent_id`), never as a new segment. Only the stdlib is used:
no aws-xray-sdk, so no botocore at import.
"""

from __future__ import annotations

import os
import re
import socket
import time
from typing import Any

import msgspec

from lift.observability.redaction import redact_cards
from lift.observability.text import safe_str
from lift.observability.tracing import TraceHeader, current_trace_header, new_span_id

__all__ = ["XRayEmitter", "Subsegment", "daemon_address", "segment_name"]

_DAEMON_HEADER = b'{"format": "json", "version": 1}\n'
DEFAULT_DAEMON = "127.0.0.1:2000"
# A segment document is at most 64 kB (X-Ray's limit, and the daemon's UDP buffer): a bigger
# datagram is lost whole, so a document past it is sent shrunk (`_fitting`)
MAX_DOCUMENT_BYTES = 64_000
# Annotations as X-Ray indexes them: keys of at most 500 letters, digits and underscores, string
# values of at most 1000 characters, at most 50 per trace
_ANNOTATION_KEY_REFUSED = re.compile(r"[^A-Za-z0-9_]")
MAX_ANNOTATIONS = 50


def daemon_address(raw: str | None = None) -> tuple[str, int]:
    """Parse `AWS_XRAY_DAEMON_ADDRESS` (`host:port` or `tcp:h:p udp:h:p`) to the UDP address.

    Raises ValueError naming the value when it is not one of those forms (no port, a port that is
    not a number from 1 to 65535)."""
    raw = raw or os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or DEFAULT_DAEMON
    chosen = raw.strip()
    for part in raw.split():
        if part.startswith("udp:"):
            chosen = part[4:]
    host, _, port = chosen.rpartition(":")
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536) or any(c.isspace() for c in host):
        raise ValueError(
            f"X-Ray daemon address {safe_str(raw)[:200]!r} is not host:port or 'tcp:host:port udp:host:port'"
        )
    return host or "127.0.0.1", int(port)


def _env_daemon_address() -> tuple[str, int]:
    """The daemon address from the environment; a malformed one (Lambda sets it, so only a
    hand-set value can be) is logged once as a WARNING and the default is used: tracing must
    never stop the function from starting."""
    try:
        return daemon_address()
    except ValueError as exc:
        import logging

        logging.getLogger("lift.tracing").warning("%s; sending segments to %s", exc, DEFAULT_DAEMON)
        return daemon_address(DEFAULT_DAEMON)


# What X-Ray takes in a (sub)segment name: Unicode letters, numbers, whitespace and _ . : / % & # = + \ - @
_NAME_REFUSED = re.compile(r"[^\w\s.:/%&#=+\\@-]")


def segment_name(name: str) -> str:
    """`name` as X-Ray takes it, at most 200 characters: any other character (a route's `{}`,
    WebSocket's `$`, `?`, quotes, a masked card number's `*`) written `_`."""
    return _NAME_REFUSED.sub("_", name[:200]).strip() or "lift"


class Subsegment:
    """One unit of work inside the function's segment. Use as a context manager or call `close`."""

    __slots__ = ("emitter", "doc", "_closed")

    def __init__(self, emitter: XRayEmitter, name: str, trace: TraceHeader, parent_id: str) -> None:
        self.emitter = emitter
        self._closed = False
        self.doc: dict[str, Any] = {
            "name": segment_name(name),
            "id": new_span_id(),
            "trace_id": trace.root,
            "parent_id": parent_id,
            "type": "subsegment",
            "start_time": time.time(),
        }

    @property
    def id(self) -> str:
        return self.doc["id"]

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        """An indexed annotation (searchable with filter expressions), as X-Ray takes one: any
        character of the key other than a letter, digit or `_` written `_`, at most 500 of them; a
        value other than a number or bool as its text, at most 1000 characters (a NaN or infinity
        as text too); past 50 annotations, the others are not kept."""
        annotations = self.doc.setdefault("annotations", {})
        key = _ANNOTATION_KEY_REFUSED.sub("_", safe_str(key)[:500]) or "_"
        if key not in annotations and len(annotations) >= MAX_ANNOTATIONS:
            return
        finite = value.__class__ is float and value == value and value not in (_INF, -_INF)
        if value.__class__ is not bool and value.__class__ is not int and not finite:
            value = safe_str(value)[:1000]
        annotations[key] = value

    def add_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.doc.setdefault("metadata", {}).setdefault(namespace, {})[key] = value

    def set_http(self, method: str | None, url: str | None, status: int | None) -> None:
        http: dict[str, Any] = {}
        if method or url:
            http["request"] = {k: v for k, v in (("method", method), ("url", url)) if v}
        if status is not None:
            http["response"] = {"status": status}
            if 400 <= status < 500:
                self.doc["error"] = True
                if status == 429:
                    self.doc["throttle"] = True
            elif status >= 500:
                self.doc["fault"] = True
        self.doc["http"] = http

    def record_exception(self, exc: BaseException) -> None:
        """The exception as the subsegment's cause: a client error (a 4xx LiftError, a record
        rejected as malformed or invalid) flags `error` (429 also `throttle`), anything else `fault`."""
        from lift.errors import find_lift_error

        err = find_lift_error(exc)
        status = err.status if err is not None else 500
        if status.__class__ is int and 400 <= status < 500:
            self.doc["error"] = True
            if status == 429:
                self.doc["throttle"] = True
        else:
            self.doc["fault"] = True
        self.doc["cause"] = {
            "exceptions": [{"id": new_span_id(), "type": type(exc).__name__, "message": safe_str(exc)[:500]}]
        }

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.doc["end_time"] = time.time()
        self.emitter.send(self.doc)

    def __enter__(self) -> Subsegment:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None:
            self.record_exception(exc)
        self.close()


_IDS = ("id", "trace_id", "parent_id")


def _without_cards(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with every card number masked (no card number leaves in a trace), except in its ids:
    those are X-Ray's random hex, never card data, and one whose digits happen to pass the card
    check must reach the daemon as made, or the subsegment and its children's `Parent` disagree."""
    clean: dict[str, Any] = redact_cards(doc)
    for key in _IDS:
        if key in doc:
            clean[key] = doc[key]
    cause = doc.get("cause")
    if isinstance(cause, dict) and isinstance(cause.get("exceptions"), list):
        for made, sent in zip(cause["exceptions"], clean["cause"]["exceptions"], strict=True):
            if isinstance(made, dict) and "id" in made:
                sent["id"] = made["id"]
    return clean


_INF = float("inf")


def _metadata_value(value: Any) -> str:
    """A metadata value JSON has no form for (an object, a set's member), as its text."""
    return safe_str(value)


_encoder = msgspec.json.Encoder(enc_hook=_metadata_value)


def _fitting(doc: dict[str, Any]) -> bytes:
    """`doc` encoded within `MAX_DOCUMENT_BYTES`: past it, without its metadata, then with each
    string cut to 1000 characters, else only its ids, name, times and flags; what was left out is
    said under `metadata.lift.truncated` (the document's size as made)."""
    encoded = _encoder.encode(doc)
    limit = MAX_DOCUMENT_BYTES - len(_DAEMON_HEADER)
    if len(encoded) <= limit:
        return encoded
    truncated = {"lift": {"truncated": {"bytes": len(encoded)}}}
    shrunk = {**doc, "metadata": truncated}
    for attempt in (shrunk, _cut(shrunk)):
        encoded = _encoder.encode(attempt)
        if len(encoded) <= limit:
            return encoded
    kept = ("name", "id", "trace_id", "parent_id", "type", "start_time", "end_time", "error", "fault", "throttle")
    return _encoder.encode({**{key: doc[key] for key in kept if key in doc}, "metadata": truncated})


def _cut(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return value[:1000]
    if depth > 20:
        return None
    if isinstance(value, dict):
        return {_cut(key, depth + 1): _cut(item, depth + 1) for key, item in list(value.items())[:100]}
    if isinstance(value, list | tuple):
        return [_cut(item, depth + 1) for item in value[:100]]
    return value


class XRayEmitter:
    """Sends subsegment documents to the X-Ray daemon (UDP; fire and forget)."""

    def __init__(self, address: str | tuple[str, int] | None = None) -> None:
        if isinstance(address, tuple):
            self.address = address
        elif address:
            self.address = daemon_address(address)  # the app's own argument: its mistake raises
        else:
            self.address = _env_daemon_address()
        self._sock: socket.socket | None = None

    def begin(self, name: str, trace: TraceHeader | None = None) -> Subsegment | None:
        """Start a subsegment of the current function segment; None when the trace is not sampled."""
        trace = trace or current_trace_header()
        if trace is None or not trace.sampled or not trace.parent:
            return None
        return Subsegment(self, name, trace, trace.parent)

    def send(self, doc: dict[str, Any]) -> None:
        try:
            payload = _DAEMON_HEADER + _fitting(_without_cards(doc))
        except Exception:  # (metadata whose walk fails): tracing must never fail a request
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._sock.setblocking(False)
            self._sock.sendto(payload, self.address)
        except (OSError, OverflowError):
            pass  # tracing must never fail a request

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
