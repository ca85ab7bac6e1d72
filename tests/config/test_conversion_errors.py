"""lift.config: values that do not convert to their field's type are each reported by field, at once,
and no message quotes a value."""

from __future__ import annotations

from typing import Literal

import msgspec
import pytest

from lift.config import ConfigError, Env, load


def test_every_wrongly_typed_value_is_named_by_field_and_never_quoted(monkeypatch) -> None:
    monkeypatch.setenv("TIMEOUT", "2,5s")
    monkeypatch.setenv("LIFT_TEST_PORT", "eighty")
    monkeypatch.setenv("LIFT_TEST_MODE", "hunter2-secret")
    monkeypatch.setenv("LIFT_TEST_NAME", "orders")

    class Service(msgspec.Struct):
        timeout: float = 2.0
        port: int = Env("LIFT_TEST_PORT")
        mode: Literal["live", "test"] = Env("LIFT_TEST_MODE")
        name: str = Env("LIFT_TEST_NAME")

    with pytest.raises(ConfigError) as failed:
        load(Service)
    assert [field for field, _ in failed.value.problems] == ["timeout", "port", "mode"]
    text = str(failed.value)
    assert "could not load 3 setting(s)" in text
    assert "hunter2" not in text and "eighty" not in text and "2,5s" not in text
