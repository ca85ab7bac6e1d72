"""lift.config against a moto server that enforces IAM: real AccessDenied answers, real rotation.

The `iam_moto` server (tests/config/conftest.py) checks every request's signature and the
calling user's policies, so a denied read, a deleted access key and a revoked grant all come
back from the server as they do from AWS, through boto3, with their real error codes.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import msgspec
import pytest
from botocore.exceptions import ClientError

from config.appconfigdata_server import Clock
from lift.config import Boto3Backend, ConfigError, Parameter, Secret, SecretStr, Settings, iam_statements


@pytest.fixture
def p() -> str:
    return f"i{uuid.uuid4().hex[:10]}"


def _settings_class(p: str) -> type:
    class AppSettings(msgspec.Struct):
        api_url: str = Parameter(f"/{p}/api/url")
        signing_key: SecretStr = Parameter(f"/{p}/signing-key")
        db_password: SecretStr = Secret(f"{p}/db#password")

    return AppSettings


def _seed(iam_moto, p: str) -> None:
    ssm = iam_moto.client("ssm")
    ssm.put_parameter(Name=f"/{p}/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name=f"/{p}/signing-key", Value="sk-live-4242", Type="SecureString")
    iam_moto.client("secretsmanager").create_secret(Name=f"{p}/db", SecretString=json.dumps({"password": "hunter2"}))


def _grants(cls: type) -> list[dict]:
    """Exactly the actions Lift's deploy model grants for `cls` (moto matches actions only: Resource "*")."""
    return [{"Effect": "Allow", "Action": s["Action"], "Resource": "*"} for s in iam_statements(cls)]


def _backend(iam_moto, session) -> Boto3Backend:
    return Boto3Backend(endpoint_url=iam_moto.endpoint, session=session)


def test_the_granted_actions_are_enough_and_a_denied_principal_fails_naming_the_action(iam_moto, p) -> None:
    _seed(iam_moto, p)
    cls = _settings_class(p)
    allowed = iam_moto.user(f"{p}-reader", _grants(cls))
    cfg = Settings(cls, backend=_backend(iam_moto, allowed)).get()
    assert cfg.db_password.get_secret_value() == "hunter2" and cfg.api_url == "https://api.example.com"

    # Allowed SSM but not Secrets Manager: only the secret fails, and the error says what to grant.
    ssm_only = iam_moto.user(
        f"{p}-ssm", [{"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": "*"}]
    )
    with pytest.raises(ConfigError) as info:
        Settings(cls, backend=_backend(iam_moto, ssm_only)).get()
    assert [field for field, _ in info.value.problems] == ["db_password"]
    assert (
        f"db_password: access denied reading Secrets Manager secret '{p}/db' (key 'password'): the function's role"
        f" needs secretsmanager:GetSecretValue on arn:aws:secretsmanager:*:*:secret:{p}/db-??????"
    ) in str(info.value)

    # A grant of ssm:GetParameter alone does not let boto3 read: it batches with GetParameters,
    # and the message names that action, not the one the user already granted.
    singular = iam_moto.user(
        f"{p}-one",
        [{"Effect": "Allow", "Action": ["ssm:GetParameter", "secretsmanager:GetSecretValue"], "Resource": "*"}],
    )
    with pytest.raises(ConfigError) as info:
        Settings(cls, backend=_backend(iam_moto, singular)).get()
    assert [field for field, _ in info.value.problems] == ["api_url", "signing_key"]
    assert f"needs ssm:GetParameters on arn:aws:ssm:*:*:parameter/{p}/api/url" in str(info.value)
    assert "sk-live" not in str(info.value) and "hunter2" not in str(info.value)

    nobody = iam_moto.user(f"{p}-none", [])
    with pytest.raises(ConfigError) as info:
        Settings(cls, backend=_backend(iam_moto, nobody)).get()
    assert [field for field, _ in info.value.problems] == ["api_url", "signing_key", "db_password"]


class Credentials(msgspec.Struct):
    worker: SecretStr


def test_a_rotated_access_key_is_refreshed_when_the_old_one_is_refused(iam_moto, p) -> None:
    """Secrets Manager holds a worker's access key; rotation makes a new key AWSCURRENT and deletes
    the old one. The next call with the cached key is refused by the server (InvalidClientTokenId),
    `retry_on` refreshes the settings and the call succeeds with the new key."""
    import boto3

    admin_iam = iam_moto.client("iam")
    iam_moto.client("ssm").put_parameter(Name=f"/{p}/work", Value="ok", Type="String")
    worker = iam_moto.user(f"{p}-worker", [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}])
    old_key = worker.get_credentials().access_key
    secret_of = worker.get_credentials().secret_key
    secrets = iam_moto.client("secretsmanager")
    secrets.create_secret(Name=f"{p}/worker", SecretString=json.dumps({"id": old_key, "secret": secret_of}))

    class Cfg(msgspec.Struct):
        worker: SecretStr = Secret(f"{p}/worker")

    reader = iam_moto.user(f"{p}-app", _grants(Cfg))
    settings = Settings(Cfg, ttl=None, backend=_backend(iam_moto, reader))
    used: list[str] = []

    @settings.retry_on()
    def do_work() -> str:
        creds = settings.get().worker.json()
        used.append(creds["id"])
        ssm = boto3.client(
            "ssm",
            endpoint_url=iam_moto.endpoint,
            aws_access_key_id=creds["id"],
            aws_secret_access_key=creds["secret"],
        )
        return ssm.get_parameter(Name=f"/{p}/work")["Parameter"]["Value"]

    assert do_work() == "ok"
    # Rotation, as a rotation function does it: new key, PutSecretValue (new AWSCURRENT), old key gone.
    new = admin_iam.create_access_key(UserName=f"{p}-worker")["AccessKey"]
    secrets.put_secret_value(
        SecretId=f"{p}/worker", SecretString=json.dumps({"id": new["AccessKeyId"], "secret": new["SecretAccessKey"]})
    )
    admin_iam.delete_access_key(UserName=f"{p}-worker", AccessKeyId=old_key)

    assert do_work() == "ok"
    assert used == [old_key, old_key, new["AccessKeyId"]]  # refused once, refreshed, called again

    # A refusal that is not about credentials is not retried.
    @settings.retry_on()
    def missing() -> None:
        creds = settings.get().worker.json()
        boto3.client(
            "ssm", endpoint_url=iam_moto.endpoint, aws_access_key_id=creds["id"], aws_secret_access_key=creds["secret"]
        ).get_parameter(Name=f"/{p}/absent")

    with pytest.raises(ClientError, match="ParameterNotFound"):
        missing()


def test_access_lost_on_refresh_keeps_the_last_values_for_max_stale_then_fails_loudly(iam_moto, p, caplog) -> None:
    _seed(iam_moto, p)
    cls = _settings_class(p)
    reader = iam_moto.user(f"{p}-reader", _grants(cls))
    clock = Clock()  # the settings' own clock, moved by the test: no sleeping, no race with load
    settings = Settings(cls, ttl=300, max_stale=600, backend=_backend(iam_moto, reader), clock=clock)
    first = settings.get()
    iam_moto.client("iam").delete_user_policy(UserName=f"{p}-reader", PolicyName="grants")  # access revoked

    # A refresh now fails with the real AccessDenied and names what is missing; nothing is lost.
    with pytest.raises(ConfigError) as info:
        settings.refresh()
    assert "needs ssm:GetParameters" in str(info.value) and "needs secretsmanager:GetSecretValue" in str(info.value)
    assert settings.get() is first

    # Past the ttl, get() keeps serving the last good values while the background refresh fails...
    clock.advance(301)
    with caplog.at_level(logging.WARNING, logger="lift.config"):
        assert settings.get() is first
        deadline = time.monotonic() + 10
        while not any("Refreshing AppSettings failed" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the background refresh never reported its failure"
            time.sleep(0.02)
    warning = next(r.getMessage() for r in caplog.records if "Refreshing AppSettings failed" in r.getMessage())
    assert "access denied reading Secrets Manager secret" in warning and "hunter2" not in warning
    assert settings.get() is first  # still within ttl + max_stale
    # ...until ttl + max_stale has passed: then it refuses to serve them and raises.
    clock.advance(600)
    with pytest.raises(ConfigError, match="secretsmanager:GetSecretValue"):
        settings.get()

    # Access back: the next get() loads fresh values.
    iam_moto.client("iam").put_user_policy(
        UserName=f"{p}-reader",
        PolicyName="grants",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": _grants(cls)}),
    )
    assert settings.get().db_password.get_secret_value() == "hunter2"


def test_through_the_extension_a_denied_read_names_the_action_the_extension_calls(iam_moto, p, monkeypatch) -> None:
    """The Parameters and Secrets extension calls GetParameter / GetSecretValue with the function's
    role and passes AWS's refusal on; the error names those actions."""
    from config.extension_emulator import SESSION_TOKEN, ExtensionEmulator
    from lift.config import ExtensionBackend

    _seed(iam_moto, p)
    cls = _settings_class(p)
    role = iam_moto.user(f"{p}-fn", [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}])
    extension = ExtensionEmulator(iam_moto.endpoint, SESSION_TOKEN, ttl=0.0, session=role)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    try:
        with pytest.raises(ConfigError) as info:
            Settings(cls, backend=ExtensionBackend(extension.port)).get()
    finally:
        extension.stop()
    assert [field for field, _ in info.value.problems] == ["api_url", "signing_key"]  # the secret was allowed
    assert f"needs ssm:GetParameter on arn:aws:ssm:*:*:parameter/{p}/api/url" in str(info.value)


def test_credentials_aws_rejects_are_not_reported_as_a_missing_grant(iam_moto, p) -> None:
    import boto3

    _seed(iam_moto, p)
    unknown = boto3.session.Session(
        aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x", region_name="us-east-1"
    )
    with pytest.raises(ConfigError) as info:
        Settings(_settings_class(p), backend=_backend(iam_moto, unknown)).get()
    assert "AWS rejected the caller's credentials (InvalidClientTokenId)" in str(info.value)
    assert "needs" not in str(info.value)
