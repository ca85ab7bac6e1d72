"""X-Ray subsegment names hold only what X-Ray takes (segment documents, `name`: Unicode
letters, numbers, whitespace and `_ . : / % & # = + \\ - @`, up to 200 characters): any other
character is written `_`. Before, a route template's braces, a WebSocket route key's `$` and
whatever a client put in an unmatched path (`*`, `'`, `!`, `(`) were sent as they were."""

from __future__ import annotations

import json
import re

from lift import App
from lift.errors import BadRequest, TooManyRequests
from lift.middleware.tracing import Tracing
from lift.testing import TestClient

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
XRAY_NAME = re.compile(r"[\w\s.:/%&#=+\\@-]{1,200}")


def sent_subsegments(daemon, app: App, send) -> list[dict]:
    """The subsegments `send(client)` makes `app` send to `daemon`, one per request or record."""
    count = send(TestClient(app))
    return [json.loads(daemon.recv(65536).partition(b"\n")[2]) for _ in range(count)]


def xray_app(daemon) -> App:
    app = App("svc")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{daemon.getsockname()[1]}"))
    return app


def test_subsegment_names_hold_only_what_xray_takes(xray_daemon, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    app = xray_app(xray_daemon)
    app.get("/files/{path+}")(lambda ctx, path: {})

    def send(client) -> int:
        client.get("/files/a/b.txt")
        client.get("/nothing/<script>*'\"~!$(x)" + "y" * 300)
        return 2

    names = [doc["name"] for doc in sent_subsegments(xray_daemon, app, send)]
    assert all(XRAY_NAME.fullmatch(name) for name in names), names
    assert names[0] == "GET /files/_path+_"
    assert names[1].startswith("GET /nothing/%3Cscript%3E__%22____x_yyy") and len(names[1]) == 200


def test_a_record_rejected_as_a_client_error_is_an_error_not_a_fault(xray_daemon, monkeypatch):
    # X-Ray: `fault` for server errors (5xx), `error` for client errors (4xx), as the logs do
    # (a rejected record is a WARNING, a failed one an ERROR). Before, every exception was a fault.
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    app = xray_app(xray_daemon)

    @app.sqs("orders")
    def on_order(ctx, body: str) -> None:
        if body == "bad":
            raise BadRequest("not an order")
        if body == "later":
            raise TooManyRequests("slow down")
        raise RuntimeError("broken")

    def send(client) -> int:
        assert len(client.sqs("orders", ["bad", "later", "boom"])["batchItemFailures"]) == 3
        return 3

    docs = sent_subsegments(xray_daemon, app, send)
    flags = sorted((d.get("error", False), d.get("throttle", False), d.get("fault", False)) for d in docs)
    assert flags == [(False, False, True), (True, False, False), (True, True, False)]
