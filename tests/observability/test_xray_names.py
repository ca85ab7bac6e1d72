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
