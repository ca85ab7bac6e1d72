"""lift.config: parameter version/label selectors and StringLists (moto server), copies of loaded
settings holding secrets, and retry_on around async calls."""

from __future__ import annotations

import asyncio
import copy
import json

import msgspec
import pytest

from lift.config import ConfigError, Parameter, Secret, SecretStr, Settings, iam_statements, load


def test_a_version_or_label_selector_reads_that_version_next_to_the_current_one(aws, ssm, names) -> None:
    name = f"/{names}/api/url"
    ssm.put_parameter(Name=name, Value="https://v1.example.com", Type="String")
    ssm.put_parameter(Name=name, Value="https://v2.example.com", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["stable"])

    class Urls(msgspec.Struct):
        current: str = Parameter(name)
        first: str = Parameter(f"{name}:1")
        stable: str = Parameter(f"{name}:stable")
        latest: str = Parameter(f"{name}:2")

    arn = f"arn:aws:ssm:eu-west-1:123456789012:parameter/{name.lstrip('/')}"
    assert iam_statements(Urls, region="eu-west-1", account="123456789012")[0]["Resource"] == [arn]  # IAM: no selector

    urls = load(Urls)
    assert urls == Urls(
        "https://v2.example.com", "https://v1.example.com", "https://v1.example.com", "https://v2.example.com"
    )

    class Missing(msgspec.Struct):
        gone: str = Parameter(f"{name}:9")

    try:
        load(Missing)
    except ConfigError as exc:
        assert exc.problems == [
            ("gone", f"SSM Parameter Store parameter '{name}:9' does not exist (check the name and the region)")
        ]
    else:
        raise AssertionError("a version that does not exist loaded")


def test_settings_holding_secrets_can_be_copied_and_the_copy_stays_masked() -> None:
    class Keys(msgspec.Struct):
        api_key: SecretStr
        region: str

    keys = Keys(SecretStr("sk-live-4242"), "eu-west-1")
    for clone in (copy.copy(keys), copy.deepcopy(keys), copy.deepcopy({"keys": keys})["keys"]):
        assert clone == keys and clone.api_key.get_secret_value() == "sk-live-4242"
        assert "sk-live" not in repr(clone)


def test_a_string_list_parameter_fills_a_list_field_item_by_item(aws, ssm, names) -> None:
    ssm.put_parameter(Name=f"/{names}/origins", Value="https://a.example.com,https://b.example.com", Type="StringList")
    ssm.put_parameter(Name=f"/{names}/ports", Value="8080,8443", Type="StringList")

    class Web(msgspec.Struct):
        origins: list[str] = Parameter(f"/{names}/origins")
        ports: tuple[int, ...] = Parameter(f"/{names}/ports")
        raw: str = Parameter(f"/{names}/origins")  # a str field keeps the text as stored

    web = load(Web)
    assert web.origins == ["https://a.example.com", "https://b.example.com"] and web.ports == (8080, 8443)
    assert web.raw == "https://a.example.com,https://b.example.com"


def test_retry_on_an_async_call_refreshes_a_rotated_secret_and_calls_again(aws, secrets, names) -> None:
    secrets.create_secret(Name=f"{names}/db", SecretString=json.dumps({"password": "old-pw"}))

    class Db(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db#password")

    settings = Settings(Db, ttl=None)
    settings.get()
    secrets.put_secret_value(SecretId=f"{names}/db", SecretString=json.dumps({"password": "new-pw"}))  # rotated
    seen = []

    @settings.retry_on()
    async def connect() -> str:
        password = settings.get().password.get_secret_value()
        seen.append(password)
        if password != "new-pw":
            raise PermissionError("password authentication failed for user app")
        return "connected"

    assert asyncio.run(connect()) == "connected"
    assert seen == ["old-pw", "new-pw"]

    @settings.retry_on()
    async def broken() -> None:
        raise ValueError("unrelated")

    with pytest.raises(ValueError):
        asyncio.run(broken())


def test_a_number_in_a_secrets_json_reads_as_its_text(aws, secrets, names) -> None:
    """The shape RDS gives the secrets it manages: the port is a JSON number."""
    rds = {"engine": "postgres", "host": "db.internal", "port": 5432, "username": "app", "password": "pw"}
    secrets.create_secret(Name=f"{names}/rds", SecretString=json.dumps(rds))

    class Db(msgspec.Struct):
        host: SecretStr = Secret(f"{names}/rds#host")
        port: SecretStr = Secret(f"{names}/rds#port")

    db = load(Db)
    assert (db.host.get_secret_value(), int(db.port.get_secret_value())) == ("db.internal", 5432)


def test_a_fetched_secret_never_shows_its_value(aws, ssm, secrets, names) -> None:
    from lift.config import Boto3Backend

    secrets.create_secret(Name=f"{names}/api", SecretString="sk-live-4242")
    ssm.put_parameter(Name=f"/{names}/signing", Value="sign-4242", Type="SecureString")
    ssm.put_parameter(Name=f"/{names}/url", Value="https://api.example.com", Type="String")
    backend = Boto3Backend()
    fetched = [backend.secret(f"{names}/api"), *backend.parameters([f"/{names}/signing", f"/{names}/url"]).values()]
    shown = " ".join(repr(f) for f in fetched) + repr(fetched)
    assert "4242" not in shown and "https://api.example.com" in shown  # a plain value still shows
    rich = [dict((k, v) for k, v in f.__rich_repr__()) for f in fetched]
    assert "4242" not in repr(rich)


def test_a_secret_declared_without_its_id_fails_at_declaration() -> None:
    with pytest.raises(ValueError, match="names no secret"):
        Secret("#password")
