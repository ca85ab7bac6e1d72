"""Fixtures for event-source tests: verbatim AWS sample events and captured `lift` log lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> Any:
    """A verbatim AWS sample event from tests/sources/events/<name>.json."""
    return json.loads((EVENTS / f"{name}.json").read_text())


class LogCapture(logging.Handler):
    """Collects the records the `lift` logger emits (independent of propagation settings)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def lift_logs() -> LogCapture:
    logger = logging.getLogger("lift")
    handler = LogCapture()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.fixture
def aws_event():
    """`aws_event("sqs")`: a verbatim AWS sample event from tests/sources/events/."""
    return load_event
