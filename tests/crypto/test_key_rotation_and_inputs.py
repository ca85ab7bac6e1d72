"""lift.crypto: values sealed before a KMS alias was moved to a new key (AWS's manual rotation) still
open (moto server), and values that are neither text nor bytes are refused instead of sealed wrong."""

from __future__ import annotations

import os
import uuid

import boto3
import msgspec
import pytest

from lift.config import Secret, SecretBytes, SecretStr, load
from lift.crypto import DecryptionError, FieldCipher, KMSKeyProvider, LocalKeyProvider

PAN = "4111111111111111"


def test_values_sealed_before_an_alias_moved_to_a_new_key_still_open(moto_endpoint) -> None:
    kms = boto3.client("kms", endpoint_url=moto_endpoint)
    old_key = kms.create_key(Description="payments 2025")["KeyMetadata"]["KeyId"]
    new_key = kms.create_key(Description="payments 2026")["KeyMetadata"]["KeyId"]
    alias = f"alias/payments-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=old_key)
    before = FieldCipher(KMSKeyProvider(alias, client=kms)).encrypt(PAN, tenant="acme", field="card")

    kms.update_alias(AliasName=alias, TargetKeyId=new_key)  # rotation: the alias now names the new key
    cipher = FieldCipher(KMSKeyProvider(alias, client=kms))  # a fresh instance, nothing cached
    assert cipher.decrypt(before, tenant="acme", field="card") == PAN
    after = cipher.encrypt(PAN, tenant="acme", field="card")
    assert cipher.decrypt(after, tenant="acme", field="card") == PAN
    # the new value is wrapped under the new key (a cipher pinned to a key id opens only that key's values)
    assert FieldCipher(KMSKeyProvider(new_key, client=kms)).decrypt(after, tenant="acme", field="card") == PAN
    assert FieldCipher(KMSKeyProvider(old_key, client=kms)).decrypt(before, tenant="acme", field="card") == PAN
    with pytest.raises(DecryptionError):
        FieldCipher(KMSKeyProvider(old_key, client=kms)).decrypt(after, tenant="acme", field="card")
    # the encryption context still binds the value to its tenant and field
    with pytest.raises(DecryptionError):
        FieldCipher(KMSKeyProvider(alias, client=kms)).decrypt(before, tenant="globex", field="card")


@pytest.mark.parametrize("value", [5, 3.5, None, ["4111"], {"card": PAN}], ids=["int", "float", "none", "list", "dict"])
def test_a_value_that_is_neither_text_nor_bytes_is_refused(value) -> None:
    cipher = FieldCipher(LocalKeyProvider.generate())
    with pytest.raises(TypeError, match="str or bytes"):
        cipher.encrypt(value, tenant="acme", field="card")


def test_bytes_like_values_and_any_python_text_round_trip() -> None:
    cipher = FieldCipher(LocalKeyProvider.generate())
    for value in (bytearray(b"\x00\xff"), memoryview(b"raw")):
        assert cipher.decrypt(cipher.encrypt(value, tenant="t", field="f"), tenant="t", field="f") == bytes(value)
    for text in ("", "ünïcødé 🔐", "x" * 1_000_000, "lone \ud800 surrogate"):
        assert cipher.decrypt(cipher.encrypt(text, tenant="t", field="f"), tenant="t", field="f") == text


def test_a_local_master_key_loaded_as_secret_bytes_is_used(moto_endpoint, monkeypatch) -> None:
    """The master key must come from a secret, but a lift.config SecretBytes (or a SecretStr) was
    not accepted: AESGCM refused the wrapper, or a 32-character text passed the length check."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("LIFT_CONFIG_EXTENSION", "0")
    name = f"master-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(Name=name, SecretBinary=os.urandom(32))

    class Keys(msgspec.Struct):
        master: SecretBytes = Secret(name)

    cipher = FieldCipher(LocalKeyProvider(load(Keys).master))
    sealed = cipher.encrypt("4111111111111111", tenant="acme", field="card")
    assert FieldCipher(LocalKeyProvider(load(Keys).master)).decrypt(sealed, tenant="acme", field="card") == (
        "4111111111111111"
    )
    with pytest.raises(TypeError, match="must be 32 bytes"):
        LocalKeyProvider(SecretStr("x" * 32))
    with pytest.raises(ValueError, match="must be 32 bytes"):
        LocalKeyProvider(SecretBytes(b"short"))
