"""Fixtures for the core tests: AWS sample events and a small helper to load them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A verbatim AWS sample event from tests/core/events (a fresh copy each call)."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def aws_event():
    return load_event
