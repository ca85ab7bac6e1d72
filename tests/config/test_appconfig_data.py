"""lift.config's boto3 AppConfig path, run for real against a wire-level AppConfig Data server.

moto (5.2.5, the newest release) has no AppConfig Data API (StartConfigurationSession /
GetLatestConfiguration), and a stub of boto3 is not allowed, so `appconfigdata_server.py`
implements those two REST operations as the AWS API reference specifies them: boto3 signs
(the server checks the SigV4 signature), serializes and parses exactly as it does against AWS.
The server's clock and the backend's are the same movable clock, so 60-second poll intervals
and 24-hour tokens take no real time.
"""

from __future__ import annotations

import json
import os
import uuid

import msgspec
import pytest

from config.appconfigdata_server import AppConfigDataServer, Clock
from lift.config import AppConfig, Boto3Backend, ConfigError, Settings


class Flags(msgspec.Struct):
    new_checkout: bool
    max_items: int


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def appconfigdata(clock: Clock) -> AppConfigDataServer:
    server = AppConfigDataServer(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], clock)
    yield server
    server.stop()


@pytest.fixture
def profile(appconfigdata: AppConfigDataServer) -> tuple[str, str, str]:
    key = (f"app-{uuid.uuid4().hex[:8]}", "prod", "flags")
    appconfigdata.deploy(*key, json.dumps({"new_checkout": False, "max_items": 10}).encode(), version_label="v1")
    return key


def _settings(profile, server, clock, **backend) -> Settings:
    class WithFlags(msgspec.Struct):
        flags: Flags = AppConfig(*profile)

    return Settings(WithFlags, ttl=None, backend=Boto3Backend(endpoint_url=server.url, clock=clock, **backend))


def _calls_since(server: AppConfigDataServer, before: int) -> list[str]:
    return server.operations()[before:]


def test_first_load_starts_a_session_and_decodes_the_configuration(appconfigdata, clock, profile) -> None:
    before = len(appconfigdata.calls)
    settings = _settings(profile, appconfigdata, clock)
    assert settings.get().flags == Flags(new_checkout=False, max_items=10)
    assert _calls_since(appconfigdata, before) == ["StartConfigurationSession:ok", "GetLatestConfiguration:content"]


def test_an_unchanged_poll_keeps_the_cached_value(appconfigdata, clock, profile) -> None:
    settings = _settings(profile, appconfigdata, clock)
    first = settings.get()
    before = len(appconfigdata.calls)
    clock.advance(61)  # past the default 60-second poll interval
    again = settings.refresh()
    # One call with the next-poll token; AppConfig answered with an empty body: nothing changed.
    assert _calls_since(appconfigdata, before) == ["GetLatestConfiguration:unchanged"]
    assert again.flags == first.flags == Flags(new_checkout=False, max_items=10)


def test_a_changed_configuration_is_picked_up_on_the_next_poll(appconfigdata, clock, profile) -> None:
    settings = _settings(profile, appconfigdata, clock)
    settings.get()
    appconfigdata.deploy(*profile, json.dumps({"new_checkout": True, "max_items": 50}).encode(), version_label="v2")
    before = len(appconfigdata.calls)
    clock.advance(61)
    assert settings.refresh().flags == Flags(new_checkout=True, max_items=50)
    assert _calls_since(appconfigdata, before) == ["GetLatestConfiguration:content"]  # same session, next token


def test_a_deployment_that_is_not_valid_json_is_a_config_error_and_the_last_values_stay(
    appconfigdata, clock, profile
) -> None:
    settings = _settings(profile, appconfigdata, clock)
    assert settings.get().flags == Flags(new_checkout=False, max_items=10)
    appconfigdata.deploy(*profile, b'{"new_checkout": tru', version_label="v2")  # a truncated document
    clock.advance(61)
    with pytest.raises(ConfigError) as failed:
        settings.refresh()
    assert failed.value.problems == [
        (
            "flags",
            f"AppConfig profile 'flags' (application {profile[0]!r}, environment 'prod') is not valid application/json",
        )
    ]
    assert settings.get().flags == Flags(new_checkout=False, max_items=10)


def test_the_poll_interval_is_honoured(appconfigdata, clock, profile) -> None:
    settings = _settings(profile, appconfigdata, clock, appconfig_poll_interval=300)
    settings.get()
    appconfigdata.deploy(*profile, json.dumps({"new_checkout": True, "max_items": 1}).encode())
    before = len(appconfigdata.calls)
    clock.advance(120)  # past AppConfig's default, but the session asked for 300 s
    assert settings.refresh().flags.max_items == 10  # no call: the service said not before 300 s
    assert _calls_since(appconfigdata, before) == []  # the server would have refused it
    clock.advance(181)
    assert settings.refresh().flags.max_items == 1
    assert _calls_since(appconfigdata, before) == ["GetLatestConfiguration:content"]
    assert appconfigdata.sessions and all(s["interval"] in (60, 300) for s in appconfigdata.sessions.values())


def test_an_expired_session_token_starts_a_new_session(appconfigdata, clock, profile) -> None:
    settings = _settings(profile, appconfigdata, clock)
    settings.get()
    before = len(appconfigdata.calls)
    clock.advance(25 * 3600)  # tokens live 24 hours (a Lambda environment can sit idle that long)
    assert settings.refresh().flags == Flags(new_checkout=False, max_items=10)
    assert _calls_since(appconfigdata, before) == [
        "GetLatestConfiguration:Expired",
        "StartConfigurationSession:ok",
        "GetLatestConfiguration:content",
    ]


def test_a_missing_profile_is_a_clear_startup_error(appconfigdata, clock) -> None:
    settings = _settings(("nope", "prod", "flags"), appconfigdata, clock)
    with pytest.raises(ConfigError) as info:
        settings.get()
    assert "AppConfig profile 'flags' (application 'nope', environment 'prod') does not exist" in str(info.value)


def test_text_configurations_load_into_str_fields(appconfigdata, clock) -> None:
    key = (f"app-{uuid.uuid4().hex[:8]}", "prod", "banner")
    appconfigdata.deploy(*key, b"Maintenance at 22:00 UTC", content_type="text/plain")

    class WithBanner(msgspec.Struct):
        banner: str = AppConfig(*key)

    backend = Boto3Backend(endpoint_url=appconfigdata.url, clock=clock)
    assert Settings(WithBanner, backend=backend).get().banner == "Maintenance at 22:00 UTC"


def test_the_server_checks_boto3s_signature(appconfigdata, clock, profile) -> None:
    """The server really verifies SigV4: a client with the wrong secret is refused."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong", region_name="us-east-1"
    )
    settings = _settings(profile, appconfigdata, clock, session=session)
    with pytest.raises(ConfigError) as info:
        settings.get()
    assert "InvalidSignatureException" in str(info.value)
