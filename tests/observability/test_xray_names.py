"""X-Ray subsegment names hold only what X-Ray takes (segment documents, `name`: Unicode
letters, numbers, whitespace and `_ . : / % & # = + \\ - @`, up to 200 characters): any other
character is written `_`. Before, a route template's braces, a WebSocket route key's `$` and
whatever a client put in an unmatched path (`*`, `'`, `!`, `(`) were sent as they were."""

from __future__ import annotations

import json
import re
import socket

from lift import App
from lift.middleware.tracing import Tracing
from lift.testing import TestClient

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
XRAY_NAME = re.compile(r"[\w\s.:/%&#=+\\@-]{1,200}")


def test_subsegment_names_hold_only_what_xray_takes(monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(20)  # only reached when a subsegment is missing
    try:
        app = App("svc")
        app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{daemon.getsockname()[1]}"))
        app.get("/files/{path+}")(lambda ctx, path: {})
        client = TestClient(app)
        client.get("/files/a/b.txt")
        client.get("/nothing/<script>*'\"~!$(x)" + "y" * 300)
        names = [json.loads(daemon.recv(65536).partition(b"\n")[2])["name"] for _ in range(2)]
    finally:
        daemon.close()
    assert all(XRAY_NAME.fullmatch(name) for name in names), names
    assert names[0] == "GET /files/_path+_"
    assert names[1].startswith("GET /nothing/%3Cscript%3E__%22____x_yyy") and len(names[1]) == 200


def test_a_record_rejected_as_a_client_error_is_an_error_not_a_fault(monkeypatch):
    # X-Ray: `fault` for server errors (5xx), `error` for client errors (4xx), as the logs do
    # (a rejected record is a WARNING, a failed one an ERROR). Before, every exception was a fault.
    from lift.errors import BadRequest, TooManyRequests

    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(20)  # only reached when a subsegment is missing
    try:
        app = App("svc")
        app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{daemon.getsockname()[1]}"))

        @app.sqs("orders")
        def on_order(ctx, body: str) -> None:
            if body == "bad":
                raise BadRequest("not an order")
            if body == "later":
                raise TooManyRequests("slow down")
            raise RuntimeError("broken")

        result = TestClient(app).sqs("orders", ["bad", "later", "boom"])
        assert len(result["batchItemFailures"]) == 3
        docs = [json.loads(daemon.recv(65536).partition(b"\n")[2]) for _ in range(3)]
    finally:
        daemon.close()
    flags = sorted((d.get("error", False), d.get("throttle", False), d.get("fault", False)) for d in docs)
    assert flags == [(False, False, True), (True, False, False), (True, True, False)]
