"""Binary secrets (Secrets Manager `SecretBinary`) load, and a `ConfigError`'s traceback printed with
its locals shows none of the values already read (moto server, boto3 backend and the extension)."""

from __future__ import annotations

import pickle
import sys
import traceback

import msgspec
import pytest

from config.extension_emulator import SESSION_TOKEN
from lift.config import (
    ConfigError,
    Env,
    ExtensionBackend,
    Parameter,
    Secret,
    SecretBytes,
    SecretStr,
    Settings,
    load,
)

KEY_BYTES = b"\x00\x01\xfe\xffk3y-m4terial"


def _locals_of_failing(call) -> str:
    """The traceback of the `ConfigError` that `call()` raises, formatted with every frame's locals
    (from this frame on: the test's own frame, which names the secrets, is not part of it)."""
    try:
        call()
    except ConfigError as exc:
        return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    raise AssertionError("no ConfigError")


def test_a_config_error_traceback_with_locals_shows_no_secret(aws, ssm, secrets, names, monkeypatch) -> None:
    """The error used to be raised in the frame holding every value read (`raw`, `value`, the
    secret's JSON): a traceback printed with locals showed the password next to the problem."""
    secrets.create_secret(Name=f"{names}/db", SecretString='{"password": "hunter2-db", "user": "app"}')
    ssm.put_parameter(Name=f"/{names}/signing", Value="sk-live-4242", Type="SecureString")
    monkeypatch.setenv("LIFT_TEST_RETRIES", "three")

    class Cfg(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db#password")
        signing: SecretStr = Parameter(f"/{names}/signing")
        retries: int = Env("LIFT_TEST_RETRIES")

    class Missing(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db#password")
        token: SecretStr = Secret(f"{names}/db#token")

    for cls, field in ((Cfg, "retries"), (Missing, "token")):
        with pytest.raises(ConfigError) as info:
            load(cls)
        assert f"- {field}:" in str(info.value)
        text = _locals_of_failing(Settings(cls).get)
        assert "could not load" in text and "_load" in text  # the locals are there, printed
        assert "hunter2" not in text and "sk-live" not in text


def test_a_pydantic_settings_error_traceback_with_locals_shows_no_secret(aws, secrets, names, monkeypatch) -> None:
    pydantic = pytest.importorskip("pydantic")
    secrets.create_secret(Name=f"{names}/db", SecretString='{"password": "hunter2-db"}')
    monkeypatch.setenv("LIFT_TEST_RETRIES", "three")

    class Cfg(pydantic.BaseModel):
        password: SecretStr = Secret(f"{names}/db#password")
        retries: int = Env("LIFT_TEST_RETRIES")

    text = _locals_of_failing(lambda: load(Cfg))
    assert "- retries: Input should be a valid integer" in text and "_load" in text
    assert "hunter2" not in text


def test_binary_secrets_load_as_secret_bytes_or_as_text(aws, secrets, names) -> None:
    """A SecretBinary used to fail every field type: `SecretStr` said "expected a string secret",
    `bytes` was refused as not secret, so a binary secret could not be read at all."""
    secrets.create_secret(Name=f"{names}/keystore", SecretBinary=KEY_BYTES)
    secrets.create_secret(Name=f"{names}/token", SecretBinary="tøken-ü".encode())
    secrets.create_secret(Name=f"{names}/text", SecretString="plain text")

    class Cfg(msgspec.Struct):
        keystore: SecretBytes = Secret(f"{names}/keystore")
        token: SecretStr = Secret(f"{names}/token")  # binary holding UTF-8 text: its text
        text: SecretBytes = Secret(f"{names}/text")  # a SecretString as its UTF-8 bytes

    cfg = load(Cfg)
    assert cfg.keystore.get_secret_value() == KEY_BYTES
    assert cfg.token.get_secret_value() == "tøken-ü"
    assert cfg.text.get_secret_value() == b"plain text"
    shown = f"{cfg!r} {cfg} {cfg.keystore} {cfg.keystore!r} {msgspec.json.encode(cfg, enc_hook=str)!r}"
    assert "k3y-m4terial" not in shown and "tøken" not in shown and "plain" not in shown
    assert cfg.keystore == SecretBytes(KEY_BYTES) and cfg.keystore != SecretBytes(b"other")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(cfg.keystore)

    class AsText(msgspec.Struct):
        keystore: SecretStr = Secret(f"{names}/keystore")

    class AsBytes(msgspec.Struct):
        keystore: bytes = Secret(f"{names}/keystore")

    with pytest.raises(ConfigError, match=r"keystore: the secret is binary .*type the field SecretBytes"):
        load(AsText)
    with pytest.raises(ConfigError, match=r"keystore: .*is a secret: type the field SecretStr \(SecretBytes"):
        load(AsBytes)


def test_binary_secrets_through_the_extension(extension, secrets, names, monkeypatch) -> None:
    secrets.create_secret(Name=f"{names}/keystore", SecretBinary=KEY_BYTES)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

    class Cfg(msgspec.Struct):
        keystore: SecretBytes = Secret(f"{names}/keystore")

    assert load(Cfg, backend=ExtensionBackend(extension.port)).keystore.get_secret_value() == KEY_BYTES


def test_secret_bytes_refuses_text_and_stays_masked_in_a_traceback() -> None:
    with pytest.raises(TypeError, match="SecretBytes needs bytes"):
        SecretBytes("text")  # type: ignore[arg-type]
    key = SecretBytes(bytearray(b"raw-key-material"))
    try:
        raise RuntimeError(f"failed with {key}")
    except RuntimeError:
        text = "".join(traceback.TracebackException(*sys.exc_info(), capture_locals=True).format())
    assert "failed with **********" in text and "key = SecretBytes(b'**********')" in text
    assert "raw-key" not in text and key.get_secret_value() == b"raw-key-material"
