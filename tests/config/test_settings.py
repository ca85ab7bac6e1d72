"""lift.config: typed settings loaded from env, SSM, Secrets Manager and AppConfig (moto server and
the Parameters and Secrets extension emulated over real HTTP)."""

from __future__ import annotations

import json
import time

import boto3
import msgspec
import pytest

from config.extension_emulator import SESSION_TOKEN
from lift.config import (
    AppConfig,
    Boto3Backend,
    ConfigError,
    Env,
    ExtensionBackend,
    Parameter,
    Secret,
    SecretStr,
    Settings,
    app_iam_statements,
    iam_statements,
    load,
    on_change,
)
from lift.config.backends import default_backend


class Flags(msgspec.Struct):
    new_checkout: bool
    max_items: int


def _seed(ssm, secrets, p: str) -> None:
    ssm.put_parameter(Name=f"/{p}/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name=f"/{p}/api/timeout", Value="2.5", Type="String")
    ssm.put_parameter(Name=f"/{p}/signing-key", Value="sk-live-4242", Type="SecureString")
    secrets.create_secret(Name=f"{p}/db", SecretString=json.dumps({"username": "app", "password": "hunter2-db"}))


def _settings_class(p: str) -> type:
    class AppSettings(msgspec.Struct):
        table: str = Env("LIFT_TEST_TABLE")
        api_url: str = Parameter(f"/{p}/api/url")
        timeout: float = Parameter(f"/{p}/api/timeout")
        signing_key: SecretStr = Parameter(f"/{p}/signing-key")
        db_password: SecretStr = Secret(f"{p}/db#password")
        region: str = "eu-west-1"

    return AppSettings


def test_every_source_loads_typed_values_with_boto3(aws, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    monkeypatch.setenv("REGION", "us-west-2")
    settings = load(_settings_class(names))
    assert settings.table == "orders"
    assert settings.api_url == "https://api.example.com"
    assert settings.timeout == 2.5  # converted to the field's type
    assert settings.signing_key.get_secret_value() == "sk-live-4242"  # SecureString decrypted
    assert settings.db_password.get_secret_value() == "hunter2-db"  # one key of the secret's JSON
    assert settings.region == "us-west-2"  # a plain field reads the env var of its upper-cased name
    assert "hunter2" not in repr(settings) and "sk-live" not in repr(settings)


def test_the_extension_serves_the_same_values_over_http(extension, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(extension.port))
    monkeypatch.delenv("LIFT_CONFIG_EXTENSION", raising=False)
    backend = default_backend()
    assert isinstance(backend, ExtensionBackend)  # present: the port variable is set
    before = len(extension.calls)
    settings = load(_settings_class(names), backend=backend)
    assert settings.signing_key.get_secret_value() == "sk-live-4242"
    assert settings.db_password.get_secret_value() == "hunter2-db"
    assert settings.timeout == 2.5
    made = extension.calls[before:]
    assert any(f"name=%2F{names}%2Fsigning-key&withDecryption=true" in c for c in made)
    assert any(f"secretId={names}%2Fdb" in c for c in made)


def test_the_extension_refuses_a_call_without_the_session_token(extension, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-the-token")
    with pytest.raises(ConfigError) as info:
        load(_settings_class(names), backend=ExtensionBackend(extension.port))
    assert "AWS_SESSION_TOKEN" in str(info.value)


def test_appconfig_profile_through_the_agent(extension, moto_endpoint, names) -> None:
    appconfig = boto3.client("appconfig", endpoint_url=moto_endpoint)
    app_id = appconfig.create_application(Name=f"{names}-app")["Id"]
    profile = appconfig.create_configuration_profile(ApplicationId=app_id, Name="flags", LocationUri="hosted")
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=app_id,
        ConfigurationProfileId=profile["Id"],
        Content=json.dumps({"new_checkout": True, "max_items": 50}).encode(),
        ContentType="application/json",
    )
    extension.hosted[(f"{names}-app", "prod", "flags")] = (app_id, profile["Id"], version["VersionNumber"])

    class WithFlags(msgspec.Struct):
        flags: Flags = AppConfig(f"{names}-app", "prod", "flags")

    settings = load(WithFlags, backend=ExtensionBackend(appconfig_port=extension.port))
    assert settings.flags == Flags(new_checkout=True, max_items=50)


def test_missing_values_fail_at_startup_naming_each_one_and_the_permission(aws, ssm, names) -> None:
    class AppSettings(msgspec.Struct):
        table: str = Env(f"LIFT_{names.upper()}_TABLE")
        api_url: str = Parameter(f"/{names}/missing")
        db_password: SecretStr = Secret(f"{names}/absent#password")
        optional: str = Parameter(f"/{names}/optional", default="fallback")

    with pytest.raises(ConfigError) as info:
        load(AppSettings)
    message = str(info.value)
    assert "3 setting(s)" in message
    assert f"environment variable LIFT_{names.upper()}_TABLE is not set" in message
    assert f"SSM Parameter Store parameter '/{names}/missing' does not exist" in message
    assert f"Secrets Manager secret '{names}/absent'" in message
    assert [field for field, _ in info.value.problems] == ["table", "api_url", "db_password"]


def test_a_secret_into_a_plain_str_field_is_refused(aws, ssm, secrets, names) -> None:
    _seed(ssm, secrets, names)

    class Leaky(msgspec.Struct):
        password: str = Secret(f"{names}/db#password")
        key: str = Parameter(f"/{names}/signing-key")  # a SecureString

    with pytest.raises(ConfigError) as info:
        load(Leaky)
    assert [field for field, _ in info.value.problems] == ["password", "key"]
    assert "type the field SecretStr" in str(info.value)
    assert "hunter2" not in str(info.value) and "sk-live" not in str(info.value)


def test_a_missing_json_key_lists_the_keys_not_the_values(aws, ssm, secrets, names) -> None:
    _seed(ssm, secrets, names)

    class Wrong(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db#passwd")

    with pytest.raises(ConfigError) as info:
        load(Wrong)
    assert "no key 'passwd'" in str(info.value) and "['password', 'username']" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_settings_load_once_and_refresh_after_their_ttl(extension, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    settings = Settings(_settings_class(names), ttl=3600, backend=ExtensionBackend(extension.port))
    first = settings.get()
    calls = len(extension.calls)
    assert settings.get() is first and len(extension.calls) == calls  # warm: no call at all

    secrets.put_secret_value(SecretId=f"{names}/db", SecretString=json.dumps({"password": "rotated-pw"}))
    settings.ttl = 0.0  # expired: the stale value comes back now, the refresh runs in the background
    assert settings.get() is first
    deadline = time.monotonic() + 10
    while settings.get().db_password.get_secret_value() != "rotated-pw":
        assert time.monotonic() < deadline, "the background refresh never happened"
        time.sleep(0.02)


def test_a_failed_background_refresh_keeps_the_last_values(aws, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    settings = Settings(_settings_class(names), ttl=3600)
    first = settings.get()
    secrets.delete_secret(SecretId=f"{names}/db", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ConfigError):
        settings.refresh()
    assert settings.get() is first


def test_retry_on_rotation_refreshes_and_calls_again(aws, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    settings = Settings(_settings_class(names), ttl=None)
    settings.get()
    secrets.put_secret_value(SecretId=f"{names}/db", SecretString=json.dumps({"password": "new-pw"}))
    seen = []

    class AuthFailed(Exception):
        pass

    @settings.retry_on()
    def connect() -> str:
        password = settings.get().db_password.get_secret_value()
        seen.append(password)
        if password != "new-pw":
            raise AuthFailed("password authentication failed for user app")
        return "connected"

    assert connect() == "connected"
    assert seen == ["hunter2-db", "new-pw"]

    @settings.retry_on()
    def broken() -> None:
        raise ValueError("unrelated")

    with pytest.raises(ValueError):
        broken()


def test_a_refresh_that_changes_values_tells_listeners_the_field_names(aws, ssm, secrets, names, monkeypatch) -> None:
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    cls = _settings_class(names)
    changes = []
    on_change(lambda settings_cls, fields: changes.append((settings_cls, fields)) if settings_cls is cls else None)
    settings = Settings(cls, ttl=None)
    settings.get()
    settings.refresh()
    assert changes == []  # nothing changed
    ssm.put_parameter(Name=f"/{names}/api/url", Value="https://v2.example.com", Type="String", Overwrite=True)
    settings.refresh()
    assert changes == [(cls, ["api_url"])]


def test_iam_statements_grant_exactly_the_declared_names(names) -> None:
    from lift import App

    class AppSettings(msgspec.Struct):
        a: str = Parameter("/prod/a")
        b: SecretStr = Parameter("/prod/b")
        db: SecretStr = Secret("prod/db#password")
        db_user: SecretStr = Secret("prod/db#username")
        flags: dict = AppConfig("orders", "prod", "flags")
        plain: str = Env("TABLE")

    statements = iam_statements(AppSettings, region="eu-west-1", account="123456789012")
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": [
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/a",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/b",
            ],
        },
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????"],
        },
        {
            "Effect": "Allow",
            "Action": ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            "Resource": [
                "arn:aws:appconfig:eu-west-1:123456789012:application/orders/environment/prod/configuration/flags"
            ],
        },
    ]
    app = App(name="orders")
    Settings(AppSettings, app=app)
    assert app_iam_statements(app, region="eu-west-1", account="123456789012") == statements
    with_key = iam_statements(AppSettings, kms_key_arns=["arn:aws:kms:eu-west-1:123456789012:key/k1"])
    assert with_key[-1] == {
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": ["arn:aws:kms:eu-west-1:123456789012:key/k1"],
    }


def test_customer_managed_keys_declared_on_sources_are_granted_and_named(names) -> None:
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    class Keyed(msgspec.Struct):
        signing: SecretStr = Parameter("/prod/signing", kms_key="1234abcd-12ab-34cd-56ef-1234567890ab")
        db: SecretStr = Secret("prod/db#password", kms_key=key_arn)
        other: SecretStr = Secret("prod/other", kms_key="arn:aws:kms:eu-west-1:123456789012:key/k2")

    statements = iam_statements(Keyed, region="eu-west-1", account="123456789012")
    assert statements[-1] == {
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [key_arn, "arn:aws:kms:eu-west-1:123456789012:key/k2"],  # the id became the same ARN
    }
    with pytest.raises(ValueError, match="alias"):
        Secret("prod/db", kms_key="alias/payments")

    from lift.config.backends import _classify
    from lift.config.settings import _problem

    source = Keyed.__struct_defaults__[1]
    refused = _classify("AccessDeniedException", "Access to KMS is not allowed", "secretsmanager:GetSecretValue")
    assert _problem(source, refused).endswith(f"the function's role needs kms:Decrypt on {key_arn}")
    read_refused = _classify("AccessDeniedException", "not authorized", "secretsmanager:GetSecretValue")
    assert _problem(source, read_refused).endswith(
        f"needs secretsmanager:GetSecretValue on arn:aws:secretsmanager:*:*:secret:prod/db-?????? and kms:Decrypt on {key_arn}"
    )


def test_a_settings_class_must_be_a_struct() -> None:
    class NotSettings:
        a: str = Env("A")

    with pytest.raises(TypeError, match="msgspec.Struct"):
        Settings(NotSettings)


def test_boto3_backend_batches_parameters(aws, ssm, names) -> None:
    for i in range(13):
        ssm.put_parameter(Name=f"/{names}/p{i}", Value=str(i), Type="String")
    got = Boto3Backend().parameters([f"/{names}/p{i}" for i in range(13)] + [f"/{names}/none"])
    assert [got[f"/{names}/p{i}"].value for i in range(13)] == [str(i) for i in range(13)]
    assert type(got[f"/{names}/none"]).__name__ == "NotFoundError"


def test_an_env_source_with_a_default_uses_it_when_the_variable_is_unset(names, monkeypatch) -> None:
    """It used to leave the Env object itself in the field."""

    class WithDefaults(msgspec.Struct):
        table: str = Env(f"LIFT_{names.upper()}_T", default="orders")
        tags: list[str] = msgspec.field(default_factory=list)  # a plain field keeps its own default
        retries: int = 3

    cfg = load(WithDefaults, backend=ExtensionBackend())  # nothing to fetch: the backend is never called
    assert (cfg.table, cfg.tags, cfg.retries) == ("orders", [], 3)
    monkeypatch.setenv(f"LIFT_{names.upper()}_T", "invoices")
    monkeypatch.setenv("RETRIES", "5")
    cfg = load(WithDefaults, backend=ExtensionBackend())
    assert (cfg.table, cfg.retries) == ("invoices", 5)


def test_a_pydantic_model_works_as_a_settings_class(aws, ssm, secrets, names, monkeypatch) -> None:
    import pydantic

    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")

    class PydanticSettings(pydantic.BaseModel):
        table: str = Env("LIFT_TEST_TABLE")
        timeout: float = Parameter(f"/{names}/api/timeout")
        signing_key: pydantic.SecretStr = Parameter(f"/{names}/signing-key")
        db_password: SecretStr = Secret(f"{names}/db#password")  # lift's SecretStr works in pydantic too
        region: str = "eu-west-1"

    cfg = Settings(PydanticSettings).get()
    assert (cfg.table, cfg.timeout, cfg.region) == ("orders", 2.5, "eu-west-1")
    assert cfg.signing_key.get_secret_value() == "sk-live-4242"
    assert cfg.db_password.get_secret_value() == "hunter2-db"
    assert "sk-live" not in repr(cfg) and "hunter2" not in repr(cfg) and "hunter2" not in cfg.model_dump_json()
    assert iam_statements(PydanticSettings)[0]["Action"] == ["ssm:GetParameter", "ssm:GetParameters"]

    class Leaky(pydantic.BaseModel):
        password: str = Secret(f"{names}/db#password")

    with pytest.raises(ConfigError, match="type the field SecretStr"):
        load(Leaky)

    class Wrong(pydantic.BaseModel):
        port: int = Parameter(f"/{names}/signing-key", decrypt=True)  # a secret that is not an int
        url: int = Parameter(f"/{names}/api/url")

    with pytest.raises(ConfigError) as info:
        load(Wrong)
    assert "sk-live" not in str(info.value)

    class BadValue(pydantic.BaseModel):
        url: int = Parameter(f"/{names}/api/url")

    with pytest.raises(ConfigError) as info:
        load(BadValue)
    assert info.value.problems[0][0] == "url" and "https://api.example.com" not in str(info.value)


def test_decrypt_false_reads_a_securestring_without_decrypting_it(aws, ssm, secrets, names) -> None:
    """`Parameter(..., decrypt=False)` was ignored: every parameter was read WithDecryption=True."""
    _seed(ssm, secrets, names)

    class Raw(msgspec.Struct):
        sealed: SecretStr = Parameter(f"/{names}/signing-key", decrypt=False)
        opened: SecretStr = Parameter(f"/{names}/signing-key")

    cfg = load(Raw)
    assert cfg.opened.get_secret_value() == "sk-live-4242"
    assert cfg.sealed.get_secret_value() != "sk-live-4242"  # what SSM returns without decryption


def test_retry_on_recognises_a_rotated_redis_password(aws, secrets, names, redis_url) -> None:
    """A real redis-server refuses the old password with WRONGPASS (redis-py's AuthenticationError)."""
    import redis

    admin = redis.Redis.from_url(redis_url)
    user = f"lift-{names}"
    admin.acl_setuser(user, enabled=True, passwords=["+pw-one"], keys=["*"], commands=["+ping"])
    secrets.create_secret(Name=f"{names}/redis", SecretString=json.dumps({"password": "pw-one"}))

    class Cfg(msgspec.Struct):
        redis_password: SecretStr = Secret(f"{names}/redis#password")

    settings = Settings(Cfg, ttl=None)
    used = []

    @settings.retry_on()
    def ping() -> bool:
        password = settings.get().redis_password.get_secret_value()
        used.append(password)
        client = redis.Redis.from_url(redis_url, username=user, password=password)
        try:
            return client.ping()
        finally:
            client.close()

    try:
        assert ping() is True
        admin.acl_setuser(
            user, enabled=True, reset_passwords=True, passwords=["+pw-two"], keys=["*"], commands=["+ping"]
        )
        secrets.put_secret_value(SecretId=f"{names}/redis", SecretString=json.dumps({"password": "pw-two"}))
        assert ping() is True
        assert used == ["pw-one", "pw-one", "pw-two"]
    finally:
        admin.acl_deluser(user)
        admin.close()


def _seeded_counting_backend(ssm, secrets, names, monkeypatch) -> tuple[Boto3Backend, list[str]]:
    """The seeded parameters and secret, and a boto3 backend whose GetSecretValue calls are counted."""
    _seed(ssm, secrets, names)
    monkeypatch.setenv("LIFT_TEST_TABLE", "orders")
    backend = Boto3Backend()
    reads: list[str] = []
    backend.client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kw: reads.append("read")
    )
    return backend, reads


def test_many_calls_refused_at_once_after_a_rotation_reload_the_secret_once(
    aws, ssm, secrets, names, monkeypatch
) -> None:
    """Twelve requests meet the rotated password at the same moment: one reload for all of them (before:
    one Secrets Manager read per refused call, a herd against its rate limit), and each call then succeeds."""
    import threading

    backend, reads = _seeded_counting_backend(ssm, secrets, names, monkeypatch)
    settings = Settings(_settings_class(names), ttl=None, backend=backend)
    settings.get()
    assert len(reads) == 1
    secrets.put_secret_value(SecretId=f"{names}/db", SecretString=json.dumps({"password": "new-pw"}))
    barrier = threading.Barrier(12)

    class AuthFailed(Exception):
        pass

    @settings.retry_on()
    def connect() -> str:
        password = settings.get().db_password.get_secret_value()
        if password != "new-pw":
            barrier.wait(10)  # all twelve are refused together
            raise AuthFailed("password authentication failed for user app")
        return "connected"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(connect())) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == ["connected"] * 12
    assert len(reads) == 2


def test_values_past_their_grace_period_are_reloaded_once_for_concurrent_callers(
    aws, ssm, secrets, names, monkeypatch
) -> None:
    import threading

    backend, reads = _seeded_counting_backend(ssm, secrets, names, monkeypatch)
    now = [0.0]
    settings = Settings(_settings_class(names), ttl=60, max_stale=60, backend=backend, clock=lambda: now[0])
    settings.get()
    now[0] = 500.0  # past ttl + max_stale: get() must reload in the caller's thread
    barrier = threading.Barrier(8)
    got: list[str] = []

    def read() -> None:
        barrier.wait(10)
        got.append(settings.get().db_password.get_secret_value())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert got == ["hunter2-db"] * 8
    assert len(reads) == 2
