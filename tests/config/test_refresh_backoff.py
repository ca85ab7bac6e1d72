"""A failed background refresh is tried again after min(ttl, 60) seconds, not on every request
(moto server; the settings' own clock is moved by the test)."""

from __future__ import annotations

import json
import logging
import time

import msgspec

from lift.config import Boto3Backend, Secret, SecretStr, Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 10  # only reached when the code is wrong
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _idle(settings: Settings) -> None:
    """Wait until no background refresh runs (one started by the last get() has finished)."""
    assert settings._refreshing.acquire(timeout=10), "a background refresh never finished"
    settings._refreshing.release()


def test_a_failed_background_refresh_is_not_retried_on_every_request(aws, secrets, names, caplog) -> None:
    """Once a refresh had failed (a lost grant, a deleted secret, throttling), every later get()
    started another one: a Secrets Manager call and a warning line per request, for as long as
    the failure lasted, and more throttling."""
    secrets.create_secret(Name=f"{names}/db", SecretString=json.dumps({"password": "hunter2-db"}))

    class Cfg(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db#password")

    backend = Boto3Backend()
    reads: list[str] = []
    backend.client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kwargs: reads.append("read")
    )
    clock = Clock()
    settings = Settings(Cfg, ttl=300, backend=backend, clock=clock)
    first = settings.get()
    secrets.delete_secret(SecretId=f"{names}/db", ForceDeleteWithoutRecovery=True)

    def failures() -> int:
        return sum("Refreshing Cfg failed" in r.getMessage() for r in caplog.records)

    clock.now += 301
    with caplog.at_level(logging.WARNING, logger="lift.config"):
        assert settings.get() is first
        _wait_for(lambda: failures() == 1, "the background refresh never reported its failure")
        _idle(settings)
        assert len(reads) == 2
        for _ in range(20):  # twenty requests right after: the last values, no new read
            assert settings.get() is first
        _idle(settings)
        assert (len(reads), failures()) == (2, 1)
        clock.now += 59
        assert settings.get() is first
        _idle(settings)
        assert len(reads) == 2
        clock.now += 1  # min(ttl, 60) seconds after the failure: tried again
        assert settings.get() is first
        _wait_for(lambda: failures() == 2, "the refresh was not tried again")
    assert len(reads) == 3
    warning = next(r.getMessage() for r in caplog.records if "Refreshing Cfg failed" in r.getMessage())
    assert "next try in 60 s" in warning and "hunter2" not in warning

    secrets.create_secret(Name=f"{names}/db", SecretString=json.dumps({"password": "restored"}))
    clock.now += 60
    settings.get()
    _wait_for(lambda: settings.get().password.get_secret_value() == "restored", "the values never came back")


def test_a_short_ttl_retries_after_the_ttl(aws, secrets, names, caplog) -> None:
    ttl = 5.0
    secrets.create_secret(Name=f"{names}/db", SecretString="pw")

    class Cfg(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db")

    clock = Clock()
    settings = Settings(Cfg, ttl=ttl, clock=clock)
    first = settings.get()
    secrets.delete_secret(SecretId=f"{names}/db", ForceDeleteWithoutRecovery=True)
    with caplog.at_level(logging.WARNING, logger="lift.config"):
        clock.now += ttl + 1
        settings.get()
        _wait_for(lambda: any("next try in 5 s" in r.getMessage() for r in caplog.records), "no failure reported")
    assert settings.get() is first
