"""X-Ray documents within what X-Ray takes: at most 64 kB (the daemon's UDP buffer and X-Ray's
document limit), annotation keys of letters, digits and `_` (at most 500), string values of at
most 1000 characters, at most 50 annotations. Before, a subsegment over 64 kB (a big metadata
value, a long annotation or URL) was never sent, a metadata value JSON cannot hold raised out of
`close()` into the request, and keys such as `tenant-id` or values such as NaN (sent as null)
went out as X-Ray refuses them."""

from __future__ import annotations

import json
import re

from lift import App
from lift.middleware.tracing import Tracing
from lift.observability.tracing import TraceHeader
from lift.observability.xray import XRayEmitter
from lift.testing import TestClient

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
HEADER = TraceHeader("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True)
ANNOTATION_KEY = re.compile(r"[A-Za-z0-9_]{1,500}")


def received(daemon) -> tuple[int, dict]:
    datagram = daemon.recv(70000)
    header, _, body = datagram.partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    return len(datagram), json.loads(body)


def emitter(daemon) -> XRayEmitter:
    return XRayEmitter(("127.0.0.1", daemon.getsockname()[1]))


def test_a_subsegment_over_64_kb_is_sent_shrunk_not_lost(xray_daemon):
    sub = emitter(xray_daemon).begin("work", HEADER)
    sub.add_metadata("payload", "x" * 100_000)
    sub.add_metadata("rows", [{"id": i, "name": "n" * 50} for i in range(5000)])
    sub.annotate("order", "o" * 70_000)
    sub.close()
    size, doc = received(xray_daemon)
    assert size <= 64_000
    assert doc["id"] == sub.id and doc["trace_id"] == HEADER.root and doc["parent_id"] == HEADER.parent
    assert doc["type"] == "subsegment" and doc["end_time"] >= doc["start_time"]
    assert doc["metadata"]["lift"]["truncated"]["bytes"] > 64_000
    assert doc["annotations"]["order"] == "o" * 1000


def test_a_request_with_a_huge_path_still_sends_its_subsegment(xray_daemon, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    app = App("svc")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{xray_daemon.getsockname()[1]}"))
    response = TestClient(app).get("/" + "a" * 90_000)
    assert response.status_code == 404
    size, doc = received(xray_daemon)
    assert size <= 64_000 and doc["http"]["response"]["status"] == 404 and doc["error"] is True


def test_annotations_and_metadata_go_out_as_xray_takes_them(xray_daemon):
    sub = emitter(xray_daemon).begin("work", HEADER)
    sub.annotate("tenant-id.x", "acme")
    sub.annotate("k" * 600, 1)
    sub.annotate("ratio", float("nan"))
    sub.annotate("big", 2**70)
    sub.annotate("ok", True)
    for i in range(60):
        sub.annotate(f"n{i}", i)
    sub.add_metadata("object", object())
    sub.add_metadata("tags", {"a"})
    sub.close()  # before: TypeError out of close() for the object
    _, doc = received(xray_daemon)
    annotations = doc["annotations"]
    assert all(ANNOTATION_KEY.fullmatch(key) for key in annotations), list(annotations)
    assert annotations["tenant_id_x"] == "acme" and annotations["k" * 500] == 1
    assert annotations["ratio"] == "nan" and annotations["ok"] is True
    assert len(annotations) == 50
    assert all(v is not None for v in annotations.values())
    assert doc["metadata"]["default"]["object"].startswith("<object object")
    assert doc["metadata"]["default"]["tags"] == ["a"]
