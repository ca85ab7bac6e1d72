"""Card numbers in bytes and in sets are masked in log fields like those in strings and lists.
Before, a set was written unwalked (`"cards":["4111111111111111"]`) and bytes in base64, which
hides a card number from nobody (`NDExMTEx...`)."""

from __future__ import annotations

import base64
import json

from lift import App
from lift.middleware.logging import RequestLogging
from lift.observability.redaction import Redactor
from lift.testing import TestClient

VISA = "4111111111111111"


def test_card_numbers_in_bytes_and_sets_are_masked_in_log_fields(capsys) -> None:
    app = App("shop")
    app.use(RequestLogging())

    @app.get("/charge")
    def charge(ctx) -> dict:
        ctx.logger.info(
            "charged",
            raw=VISA.encode(),
            buffer=bytearray(b"card 5500-0000-0000-0004 ok"),
            view=memoryview(VISA.encode()),
            cards={VISA},
            frozen=frozenset({"5500 0000 0000 0004"}),
            nested={"batch": [{VISA, "x"}]},
            blob=b"\x00\xff plain bytes, no card",
        )
        return {}

    assert TestClient(app).get("/charge").status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (line,) = [line for line in lines if line.get("message") == "charged"]
    assert line["raw"] == "411111******1111" and line["view"] == "411111******1111"
    assert line["buffer"] == "card 550000******0004 ok"
    assert line["cards"] == ["411111******1111"] and line["frozen"] == ["550000******0004"]
    assert sorted(line["nested"]["batch"][0]) == ["411111******1111", "x"]
    assert base64.b64decode(line["blob"]) == b"\x00\xff plain bytes, no card"  # other bytes as before
    text = json.dumps(lines)
    assert VISA not in text and base64.b64encode(VISA.encode()).decode() not in text


def test_the_redactor_keeps_short_or_cardless_bytes_as_they_are() -> None:
    redactor = Redactor()
    short, other = b"4111", b"\x89PNG 1234567890123 not luhn"
    out = redactor.redact({"short": short, "other": other, "sensitive_token": b"abc"})
    assert out["short"] is short and out["other"] is other and out["sensitive_token"] == "***"
    assert Redactor(card_numbers=False).redact({"raw": VISA.encode()}) == {"raw": VISA.encode()}
