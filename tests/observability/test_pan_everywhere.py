"""Card numbers (PAN) are masked to first-6/last-4 in everything Lift writes: log messages and
fields, exception messages and tracebacks, error bodies, EMF metric lines, OpenTelemetry spans,
X-Ray segments and the dev dashboard's log view; CVV and track data are never written."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import msgspec
import pytest

from lift import App
from lift.errors import BadRequest
from lift.middleware.logging import RequestLogging
from lift.middleware.tracing import Tracing
from lift.observability.redaction import PII, Redactor, mask_card_numbers
from lift.testing import TestClient, lambda_context
from lift.testing.events import apigw_rest

VISA = "4111111111111111"
VISA_SPACED = "4111 1111 1111 1111"
MASTERCARD = "5555-5555-5555-4444"
TRACK2 = ";4111111111111111=25121010000012300000?"
CVV = "987"
# VISA as a client may encode it in a URL path
ENCODED_PATHS = [
    "/nothing/4111%201111%201111%201111",
    "/nothing/4111+1111+1111+1111",
    "/nothing/4111%2d1111%2D1111-1111",
]


def _pan_app(*tracing) -> App:
    app = App("payments")
    app.use(RequestLogging(), *tracing)
    stdlib = logging.getLogger("payments.gateway")

    @app.post("/pay")
    def pay(ctx) -> dict:
        ctx.logger.info(f"charging card {VISA_SPACED}", card=MASTERCARD, cvv=CVV, swipe=TRACK2)
        stdlib.warning("gateway said %s for %s", "retry", VISA)
        ctx.metrics.add_metadata("card", VISA)
        ctx.metrics.add("Charges", 1)
        raise RuntimeError(f"declined {VISA} (track {TRACK2})")

    @app.get("/cards/{number}")
    def card(ctx, number: str) -> dict:
        raise BadRequest(f"card {number} is blocked", details={"card": number, "other": MASTERCARD})

    return app


def _no_card_data(text: str) -> None:
    for raw in (VISA, VISA_SPACED, MASTERCARD, "5555555555554444", "25121010000012300000"):
        assert raw not in text, f"{raw} leaked"
    assert f'"cvv":"{CVV}"' not in text.replace(" ", "")


def test_logs_metrics_and_error_bodies_mask_card_numbers(capsys) -> None:
    client = TestClient(_pan_app())
    failed = client.post("/pay", json={})
    blocked = client.get(f"/cards/{VISA}")
    out = capsys.readouterr().out
    assert failed.status_code == 500 and blocked.status_code == 400
    body = blocked.json()["error"]
    assert body["message"] == "card 411111******1111 is blocked"
    assert body["details"] == {"card": "411111******1111", "other": "555555******4444"}
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    charging = next(line for line in lines if line["message"].startswith("charging"))
    assert charging["message"] == "charging card 411111******1111"
    assert charging["card"] == "555555******4444" and charging["cvv"] == "***"
    assert charging["swipe"] == "[track data]"
    gateway = next(line for line in lines if line["logger"] == "payments.gateway")
    assert gateway["message"] == "gateway said retry for 411111******1111"
    crash = next(line for line in lines if "exception" in line)
    assert "declined 411111******1111 (track [track data])" in crash["exception"]["message"]
    assert "declined 411111******1111" in crash["exception"]["traceback"]
    emf = next(line for line in lines if "_aws" in line)
    assert emf["card"] == "411111******1111"
    _no_card_data(out + failed.text + blocked.text)


def test_a_request_id_that_reads_as_a_card_number_stays_whole_in_logs_and_metrics(capsys) -> None:
    # one Lambda request id (a uuid) in ~20,000 has three all-digit groups that pass the card check
    request_id = "41111111-1111-1111-1111-11111111111a"
    app = App("payments")

    @app.get("/ok")
    def ok(ctx) -> dict:
        ctx.metrics.add("Charges", 1)
        ctx.logger.info("charged")
        return {}

    @app.get("/cards/{number}")
    def card(ctx, number: str) -> dict:
        raise BadRequest(f"card {number} is blocked")

    answer = app.handler(apigw_rest("GET", "/ok"), lambda_context(aws_request_id=request_id))
    assert answer["statusCode"] == 200
    refused = app.handler(apigw_rest("GET", f"/cards/{VISA}"), lambda_context(aws_request_id=request_id))
    error = json.loads(refused["body"])["error"]
    assert error["message"] == "card 411111******1111 is blocked" and error["request_id"] == request_id
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert next(line for line in lines if "_aws" in line)["request_id"] == request_id
    assert next(line for line in lines if line.get("message") == "charged")["request_id"] == request_id


def test_opentelemetry_spans_mask_card_numbers() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = App("payments")
    app.use(Tracing(tracer_provider=provider))

    @app.get("/charge/{number}")
    def charge(ctx, number: str) -> dict:
        raise RuntimeError(f"declined {number}")

    app.not_found(lambda ctx: {"missing": True})
    client = TestClient(app)
    assert client.get(f"/charge/{VISA}").status_code == 500
    assert client.get(f"/nothing/{VISA}").status_code == 404
    for encoded in ENCODED_PATHS:  # a number the client encoded: decoded, then masked
        assert client.get(encoded).status_code == 404
    spans = exporter.get_finished_spans()
    dumped = "\n".join(span.to_json() for span in spans)
    assert "/charge/411111******1111" in dumped and "/nothing/411111******1111" in dumped  # url.path
    assert dumped.count("/nothing/411111******1111") >= 2 * (1 + len(ENCODED_PATHS))  # (name and url.path)
    _no_card_data(dumped)
    for encoded in ENCODED_PATHS:
        assert encoded not in dumped


def test_the_access_log_masks_a_card_number_the_client_encoded_in_the_path(capsys) -> None:
    app = App("payments")
    app.use(RequestLogging())

    @app.get("/cards/{number}")
    def card(ctx, number: str) -> dict:
        return {"ok": True}

    client = TestClient(app)
    for path in [*ENCODED_PATHS, *(p.replace("/nothing/", "/cards/") for p in ENCODED_PATHS)]:
        client.get(path)
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [line for line in lines if "path" in line]
    assert len(access) == 2 * len(ENCODED_PATHS)
    assert all(line["path"].endswith("/411111******1111") for line in access), access
    for path in ENCODED_PATHS:
        assert path not in out and path.replace("/nothing/", "/cards/") not in out


def test_an_exception_through_the_span_is_recorded_masked() -> None:
    """A middleware below Tracing that raises: the span's exception event and status are masked."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    def gateway(ctx, call_next):
        raise RuntimeError(f"gateway refused {VISA}")

    app = App("payments")
    app.use(Tracing(tracer_provider=provider), gateway)
    app.get("/x")(lambda ctx: {})
    assert TestClient(app).get("/x").status_code == 500
    (span,) = exporter.get_finished_spans()
    assert span.status.description == "RuntimeError: gateway refused 411111******1111"
    assert span.events[0].attributes["exception.message"] == "gateway refused 411111******1111"
    assert "gateway refused 411111******1111" in span.events[0].attributes["exception.stacktrace"]
    _no_card_data(span.to_json())


def test_xray_segments_mask_card_numbers(xray_daemon, monkeypatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    app = App("payments")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{xray_daemon.getsockname()[1]}"))

    @app.get("/charge/{number}")
    def charge(ctx, number: str) -> dict:
        raise RuntimeError(f"declined {number}")

    TestClient(app).get(f"/charge/{VISA}")
    data = xray_daemon.recv(65536).decode()
    doc = json.loads(data.partition("\n")[2])
    assert doc["fault"] is True
    assert doc["http"]["request"]["url"].endswith("/charge/411111******1111")
    _no_card_data(data)


@pytest.mark.parametrize("path", ENCODED_PATHS)
def test_xray_segments_mask_a_card_number_the_client_encoded_in_the_path(xray_daemon, monkeypatch, path) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    app = App("payments")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{xray_daemon.getsockname()[1]}"))
    assert TestClient(app).get(path).status_code == 404
    data = xray_daemon.recv(65536).decode()
    doc = json.loads(data.partition("\n")[2])
    assert doc["name"] == "GET /nothing/411111______1111"  # (X-Ray names take no '*': see test_xray_names)
    assert doc["http"]["request"]["url"] == "/nothing/411111******1111"
    assert "1111%20" not in data and "1111+1111" not in data and "%2d1111" not in data


def test_xray_ids_that_read_as_card_numbers_reach_the_daemon_unmasked(xray_daemon, monkeypatch) -> None:
    # X-Ray ids are random hex: one in a few thousand is all digits and passes the card check. Masking
    # it would send a subsegment whose parent (or own id, which its children name) X-Ray never saw.
    parent = "4111111111111111"
    root = "1-5759e988-411111111111111111111111"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Parent={parent};Sampled=1")
    from lift.observability.tracing import current_trace_header
    from lift.observability.xray import XRayEmitter

    emitter = XRayEmitter(f"127.0.0.1:{xray_daemon.getsockname()[1]}")
    sub = emitter.begin(f"charge {VISA}", current_trace_header())
    assert sub is not None
    sub.doc["id"] = "5555555555554444"  # as new_span_id may make it
    sub.record_exception(RuntimeError(f"declined {VISA}"))
    sub.doc["cause"]["exceptions"][0]["id"] = "4111111111111111"
    sub.close()
    emitter.close()
    doc = json.loads(xray_daemon.recv(65536).decode().partition("\n")[2])
    assert (doc["id"], doc["trace_id"], doc["parent_id"]) == ("5555555555554444", root, parent)
    assert doc["cause"]["exceptions"][0]["id"] == "4111111111111111"
    assert doc["name"] == "charge 411111******1111"
    assert doc["cause"]["exceptions"][0]["message"] == "declined 411111******1111"


def test_the_dev_dashboard_log_view_masks_card_numbers() -> None:
    from lift.dev.activity import Activity, LogCapture

    activity = Activity()
    capture = LogCapture(activity)
    logger = logging.getLogger("payments.dev")
    logger.addHandler(capture)
    try:
        try:
            raise ValueError(f"bad {VISA}")
        except ValueError:
            logger.exception("charging %s", MASTERCARD)
    finally:
        logger.removeHandler(capture)
    (entry,) = activity.logs
    assert entry["message"].startswith("charging 555555******4444")
    assert "ValueError: bad 411111******1111" in entry["message"]
    _no_card_data(json.dumps(entry))


def test_the_dev_dashboard_invocation_view_masks_card_numbers_but_replays_the_real_event() -> None:
    from lift.dev.activity import Activity

    activity = Activity()
    event = {"body": json.dumps({"card": VISA, "track": "%B4111111111111111^DOE/JOHN^2512101000000000?"})}
    item = activity.record(
        kind="http",
        method="POST",
        target="/charge",
        status=402,
        duration_ms=1.0,
        request_id="r-1",
        stats_key="POST /charge",
        event=event,
        result={"body": f"declined {VISA}"},
    )
    shown = activity.detail_json(item["id"])
    assert shown is not None and "411111******1111" in shown
    _no_card_data(shown)
    assert activity.detail(item["id"])["event"] == event  # a replay sends what was received
    assert activity.detail_json(999) is None


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("pan 4111111111111111 ok", "pan 411111******1111 ok"),
        ("amex 3782 822463 10005", "amex 378282*****0005"),
        ("19-digit 6011000990139424000 x", "19-digit 6011000990139424000 x"),  # fails Luhn: kept
        ("order 1234567890123", "order 1234567890123"),  # not Luhn
        ("at 1733320000002 ms", "at 1733320000002 ms"),  # an epoch-ms timestamp that passes Luhn: no brand starts 1
        ("id 4111111111111112", "id 4111111111111112"),  # Luhn fails
        ("%B4111111111111111^DOE/JOHN^2512101000000000?", "[track data]"),
        ("short 411111111111", "short 411111111111"),
        # a card written in groups right after other numbers: found inside the longer run
        ("qty 2 4111 1111 1111 1111", "qty 2 411111******1111"),
        ("2 4111111111111111", "2 411111******1111"),
        ("12 34 4111 1111 1111 1111 5 left", "12 34 411111******1111 5 left"),
        ("order 20 3782 822463 10005 done", "order 20 378282*****0005 done"),
        ("4111-1111-1111-1111 5555 5555 5555 4444", "411111******1111 555555******4444"),
        # a list of small numbers or a long unbroken run is no card
        ("1 2 3 4 5 6 7 8 9 1 2 3 4 5", "1 2 3 4 5 6 7 8 9 1 2 3 4 5"),
        ("ref 24111111111111111", "ref 24111111111111111"),
    ],
)
def test_card_detection(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


class Customer(msgspec.Struct):
    id: int
    email: Annotated[str, PII]
    name: Annotated[str, PII(roles={"support"})]
    note: str


def test_pii_fields_of_models_are_masked_in_log_fields(capsys) -> None:
    redacted = Redactor().redact({"customer": Customer(7, "ada@example.com", "Ada", f"card {VISA}")})
    assert redacted == {"customer": {"id": 7, "email": "***", "name": "***", "note": "card 411111******1111"}}

    app = App("crm")
    app.use(RequestLogging())
    app.get("/c")(lambda ctx: ctx.logger.info("customer", customer=Customer(7, "ada@example.com", "Ada", "")) or {})
    TestClient(app).get("/c")
    out = capsys.readouterr().out
    assert '"email":"***"' in out and "ada@example.com" not in out


def test_pii_fields_in_responses_are_shown_only_to_their_roles() -> None:
    from lift.auth.principal import Principal
    from lift.pii import visible

    app = App("crm")

    @app.get("/customers/{cid}")
    def get_customer(ctx, cid: int) -> dict:
        role = ctx.headers.get("x-test-role")
        if role:
            ctx.principal = Principal(user_id="u1", roles=frozenset({role}))
        return visible([Customer(cid, "ada@example.com", "Ada", "vip")], ctx)

    client = TestClient(app)
    anonymous = client.get("/customers/7").json()
    support = client.get("/customers/7", headers={"X-Test-Role": "support"}).json()
    assert anonymous == [{"id": 7, "email": "***", "name": "***", "note": "vip"}]
    assert support == [{"id": 7, "email": "***", "name": "Ada", "note": "vip"}]  # email: PII for everyone
