"""docs/event-sources.md lists every routing rule exactly as lift.sources.rules states it."""

from __future__ import annotations

from pathlib import Path

from lift.sources.rules import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "event-sources.md"


def test_every_rule_is_in_the_docs_table() -> None:
    text = DOCS.read_text()
    missing = [rule.source for rule in RULES if f"| `{rule.source}` |" not in text or rule.fields not in text]
    assert missing == []
