"""Ids Lift and AWS generate at random are never card-masked, wherever Lift masks card numbers.

A uuid4 holds a run of digits split by a dash that passes the card check about once in 800
(`0f9eddb5-0836-4ba7-af61-999884723221` holds `61-999884723221`), a 32-hex id (uuid.hex, a DynamoDB
stream eventID) about once in 700. Masked, such an id no longer matches the message, record, trace or
order it names. Each id below was drawn by uuid4 / uuid4().hex / os.urandom until one read as a card.
"""

from __future__ import annotations

import json
import socket

import pytest

from lift import App
from lift.audit import AuditTrail, MemoryAuditSink
from lift.middleware.logging import RequestLogging
from lift.middleware.tracing import Tracing
from lift.observability.redaction import Redactor, mask_card_numbers
from lift.testing import TestClient, lambda_context
from lift.testing.events import apigw_rest, sqs, sqs_message

VISA = "4111111111111111"
UUID = "0f9eddb5-0836-4ba7-af61-999884723221"  # a uuid4: `61-999884723221` passes the card check
HEX32 = "3cdb5286996044478131406b089e9cab"  # a uuid4().hex (a DynamoDB eventID): `5286996044478131406`
# (id, the card-like run inside it): the run alone is masked, the id whole is not
GENERATED_IDS = [
    (UUID, "61-999884723221"),
    (UUID.upper(), "61-999884723221"),
    (HEX32, "5286996044478131406"),
    ("1-6931a2b4-c0ffee4111111111111111aa", "4111111111111111"),  # an X-Ray trace id
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-f6d0c62482922464-01", "62482922464-01"),  # a traceparent
    ("9f86d0818" + VISA + "a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15", VISA),  # a sha256 hex digest
]


@pytest.mark.parametrize(("generated", "card_like"), GENERATED_IDS)
def test_a_generated_id_whose_digits_pass_the_card_check_is_kept_whole(generated: str, card_like: str) -> None:
    assert mask_card_numbers(f"ref {card_like} end") != f"ref {card_like} end"  # it would be masked alone
    text = f"order {generated} charged; again ({generated})"
    assert mask_card_numbers(text) == text
    assert Redactor().redact({"order_id": generated, "note": text}) == {"order_id": generated, "note": text}


def test_an_id_never_joins_the_digits_after_it_into_a_card_number() -> None:
    text = f"{UUID} 0 items"  # `61-999884723221 0` passes the card check across the id's end
    assert mask_card_numbers(text) == text
    assert mask_card_numbers(f"{UUID} 0 items, card {VISA}") == f"{UUID} 0 items, card 411111******1111"
    assert mask_card_numbers(f"{UUID}, 4111 1111 1111 1111") == f"{UUID}, 411111******1111"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"card{VISA}", "card411111******1111"),  # letters that are not all hex: not an id
        (f"cafe{VISA}", "cafe411111******1111"),  # a hex token too short for a generated id
        ("4111-1111-1111-1111", "411111******1111"),
        (f"{UUID} paid with {VISA}", f"{UUID} paid with 411111******1111"),  # next to an id, not in it
        (f"{UUID}-{VISA}", f"{UUID}-411111******1111"),
        (f"{HEX32}:{VISA}", f"{HEX32}:411111******1111"),
        ("a" * 300 + VISA + "b" * 300, "a" * 300 + "411111******1111" + "b" * 300),  # longer than any id
    ],
)
def test_card_numbers_next_to_ids_or_letters_are_still_masked(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


def test_the_access_line_keeps_the_sqs_message_id_whole(capsys) -> None:
    app = App("orders")
    app.use(RequestLogging())

    @app.sqs("orders")
    def order(body: dict) -> None:
        pass

    app.handler(sqs(records=[sqs_message({"n": 1}, message_id=UUID)]), lambda_context())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [line["record_id"] for line in lines if "record_id" in line] == [UUID]


def test_ids_in_log_fields_and_audit_targets_are_kept_whole(capsys) -> None:
    sink = MemoryAuditSink()
    app = App("payments")
    AuditTrail(sink, app=app, config_changes=False)
    app.use(RequestLogging())

    @app.post("/orders/{order_id}/refund")
    def refund(ctx, order_id: str) -> dict:
        ctx.logger.info("refunding", order_id=order_id, event_id=HEX32, card=VISA)
        ctx.audit("refund.issued", target=f"order:{order_id}", details={"order": order_id, "card": VISA})
        return {}

    assert (
        TestClient(app).post(f"/orders/{UUID}/refund", context=lambda_context(aws_request_id=UUID)).status_code == 200
    )
    line = next(json.loads(x) for x in capsys.readouterr().out.splitlines() if '"refunding"' in x)
    assert (line["order_id"], line["event_id"], line["request_id"]) == (UUID, HEX32, UUID)
    assert line["card"] == "411111******1111"
    (entry,) = sink.entries()
    assert entry.target == f"order:{UUID}" and entry.details == {"order": UUID, "card": "411111******1111"}


def test_the_xray_request_id_annotation_stays_searchable(monkeypatch) -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    app = App("payments")
    app.use(Tracing(mode="xray", daemon_address=f"127.0.0.1:{daemon.getsockname()[1]}"))

    @app.get("/cards/{number}")
    def card(number: str) -> dict:
        return {}

    try:
        answer = app.handler(apigw_rest("GET", f"/cards/{VISA}"), lambda_context(aws_request_id=UUID))
        assert answer["statusCode"] == 200
        doc = json.loads(daemon.recv(65536).decode().partition("\n")[2])
    finally:
        daemon.close()
    assert doc["annotations"]["request_id"] == UUID  # `annotation.request_id = "..."` finds it
    assert VISA not in json.dumps(doc)
