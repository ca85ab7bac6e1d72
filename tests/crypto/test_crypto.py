"""lift.crypto: envelope encryption under KMS (moto server) and a local key provider."""

from __future__ import annotations

import base64
import os
from typing import Annotated

import boto3
import msgspec
import pytest

from lift.crypto import (
    DataKeyCache,
    DecryptionError,
    Encrypted,
    EncryptedRecords,
    FieldCipher,
    KMSKeyProvider,
    LocalKeyProvider,
    decrypt_model,
    encrypt_model,
)

PAN = "4111111111111111"
INDEX_KEY = os.urandom(32)


class KMSCalls:
    """Counts the KMS API calls a boto3 client really makes (botocore's own event hooks)."""

    def __init__(self, client) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.kms.*", self._seen)

    def _seen(self, model, **kwargs) -> None:
        self.calls.append(model.name)


@pytest.fixture
def kms(moto_endpoint):
    client = boto3.client("kms", endpoint_url=moto_endpoint)
    key_id = client.create_key(Description="lift crypto tests")["KeyMetadata"]["KeyId"]
    return client, key_id


@pytest.fixture(params=["kms", "local"])
def provider(request):
    if request.param == "local":
        return LocalKeyProvider.generate()
    client, key_id = request.getfixturevalue("kms")
    return KMSKeyProvider(key_id, client=client)


def _flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token[6:] + "=" * (-len(token[6:]) % 4)))
    raw[index] ^= 0x01
    return "lift1:" + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_values_round_trip_and_the_ciphertext_hides_them(provider) -> None:
    cipher = FieldCipher(provider)
    sealed = cipher.encrypt(PAN, tenant="acme", field="card")
    assert sealed.startswith("lift1:") and PAN not in sealed
    assert cipher.encrypt(PAN, tenant="acme", field="card") != sealed  # a fresh nonce each time
    assert cipher.decrypt(sealed, tenant="acme", field="card") == PAN
    blob = cipher.encrypt(b"\x00\xffraw", tenant="acme", field="blob")
    assert cipher.decrypt(blob, tenant="acme", field="blob") == b"\x00\xffraw"
    # a fresh cipher (another Lambda instance, no cache) opens it through the key provider
    assert FieldCipher(provider).decrypt(sealed, tenant="acme", field="card") == PAN


@pytest.mark.parametrize("where", ["body", "tag", "wrapped key", "version"])
def test_a_tampered_ciphertext_fails_clearly_without_plaintext(provider, where) -> None:
    sealed = FieldCipher(provider).encrypt(PAN, tenant="acme", field="card")
    size = len(base64.urlsafe_b64decode(sealed[6:] + "=" * (-len(sealed[6:]) % 4)))
    index = {"body": size - 20, "tag": size - 1, "wrapped key": 10, "version": 0}[where]
    with pytest.raises(DecryptionError) as info:
        FieldCipher(provider).decrypt(_flip(sealed, index), tenant="acme", field="card")
    assert "field 'card' of tenant 'acme'" in str(info.value)
    assert PAN not in str(info.value) and "4111" not in str(info.value)


@pytest.mark.parametrize(("tenant", "field"), [("globex", "card"), ("acme", "email")])
def test_another_tenant_or_field_cannot_open_it(provider, tenant, field) -> None:
    cipher = FieldCipher(provider)
    sealed = cipher.encrypt(PAN, tenant="acme", field="card")
    for reader in (cipher, FieldCipher(provider)):  # with the data key cached, and without
        with pytest.raises(DecryptionError) as info:
            reader.decrypt(sealed, tenant=tenant, field=field)
        assert PAN not in str(info.value)


def test_kms_is_bound_to_the_encryption_context(kms) -> None:
    """KMS itself refuses to unwrap the data key under another tenant's context."""
    client, key_id = kms
    provider = KMSKeyProvider(key_id, client=client)
    sealed = FieldCipher(provider).encrypt(PAN, tenant="acme", field="card")
    with pytest.raises(DecryptionError, match="KMS refused to unwrap"):
        FieldCipher(provider).decrypt(sealed, tenant="globex", field="card")


def test_the_data_key_cache_limits_age_and_uses(kms) -> None:
    client, key_id = kms
    seen = KMSCalls(client)
    provider = KMSKeyProvider(key_id, client=client)
    cached = FieldCipher(provider, cache=DataKeyCache(max_age=300, max_uses=10))
    tokens = [cached.encrypt(f"value {i}", tenant="acme", field="note") for i in range(25)]
    assert seen.calls.count("GenerateDataKey") == 3  # 10 + 10 + 5 values
    cached.encrypt("other tenant", tenant="globex", field="note")
    assert seen.calls.count("GenerateDataKey") == 4  # a key per (tenant, field)

    reader = FieldCipher(provider)
    assert [reader.decrypt(t, tenant="acme", field="note") for t in tokens] == [f"value {i}" for i in range(25)]
    assert seen.calls.count("Decrypt") == 3  # one unwrap per data key

    aged = FieldCipher(provider, cache=DataKeyCache(max_age=0))
    before = seen.calls.count("GenerateDataKey")
    for i in range(3):
        aged.encrypt(str(i), tenant="acme", field="note")
    assert seen.calls.count("GenerateDataKey") - before == 3


def test_search_tokens_are_deterministic_per_tenant_and_field() -> None:
    cipher = FieldCipher(LocalKeyProvider.generate(), index_key=INDEX_KEY)
    token = cipher.search_token("ada@example.com", tenant="acme", field="email")
    assert token == cipher.search_token("ada@example.com", tenant="acme", field="email")
    assert token != cipher.search_token("ada@example.com", tenant="globex", field="email")
    assert token != cipher.search_token("ada@example.com", tenant="acme", field="backup_email")
    assert "ada" not in token
    with pytest.raises(ValueError, match="index_key"):
        FieldCipher(LocalKeyProvider.generate()).search_token("x", tenant="a", field="b")


class Customer(msgspec.Struct):
    id: str
    name: str
    card: Encrypted[str]
    email: Annotated[str, Encrypted(searchable=True)]
    limits: Encrypted[dict[str, int]] | None = None


def test_encrypted_model_fields_are_sealed_before_the_store_and_opened_on_read(
    kms, dynamodb_table, dynamodb_endpoint
) -> None:
    from lift.stores.dynamodb import DynamoDBStore

    client, key_id = kms
    cipher = FieldCipher(KMSKeyProvider(key_id, client=client), index_key=INDEX_KEY)
    store = DynamoDBStore(dynamodb_table, endpoint_url=dynamodb_endpoint, prefix=f"crypto-{os.urandom(4).hex()}:")
    records = EncryptedRecords(store, Customer, cipher)
    ada = Customer("c1", "Ada", PAN, "ada@example.com", {"daily": 500})
    records.put("c1", ada, tenant="acme")

    raw = records.raw("c1", tenant="acme")
    assert raw["name"] == "Ada" and raw["id"] == "c1"  # not marked: stored as is
    assert raw["card"].startswith("lift1:") and raw["email"].startswith("lift1:") and raw["limits"].startswith("lift1:")
    assert PAN not in repr(raw) and "ada@example.com" not in repr(raw) and "500" not in repr(raw)
    assert raw["email_token"] == records.find_token("email", "ada@example.com", tenant="acme")
    assert records.get("c1", tenant="acme") == ada
    assert records.get("c1", tenant="globex") is None  # keys are per tenant

    # the row copied under another tenant does not open there
    with pytest.raises(DecryptionError):
        decrypt_model(Customer, raw, cipher, tenant="globex")
    store.close()


def test_encrypt_model_with_the_local_provider_round_trips() -> None:
    cipher = FieldCipher(LocalKeyProvider.generate(), index_key=INDEX_KEY)
    ada = Customer("c1", "Ada", PAN, "ada@example.com")
    data = encrypt_model(ada, cipher, tenant="acme")
    assert data["limits"] is None and PAN not in repr(data)
    assert decrypt_model(Customer, data, cipher, tenant="acme") == ada
    with pytest.raises(TypeError, match="no Encrypted"):
        EncryptedRecords(None, msgspec.defstruct("Plain", [("a", int)]), cipher)


def test_a_context_that_could_stand_for_another_tenant_and_field_is_refused() -> None:
    """The context is sealed as `key=value` lines: a newline in a tenant id could make tenant
    "b\\nlift:tenant=c" + field "f" read as the same bytes as another pair, so it is refused."""
    cipher = FieldCipher(LocalKeyProvider.generate())
    sealed = cipher.encrypt(PAN, tenant="acme", field="card")
    with pytest.raises(ValueError, match="newline"):
        cipher.encrypt(PAN, tenant="acme\nlift:tenant=x", field="card")
    with pytest.raises(ValueError, match="newline"):
        cipher.decrypt(sealed, tenant="acme", field="card\nlift:tenant=acme")
    with pytest.raises(ValueError, match="newline"):
        FieldCipher(LocalKeyProvider.generate(), context={"app=x": "y"}).encrypt(PAN, tenant="t", field="f")
    assert cipher.decrypt(sealed, tenant="acme", field="card") == PAN


def test_searchable_fields_are_found_by_value_through_a_token_index(store) -> None:
    """On every store backend (memory, DynamoDB Local, redis-server): find by an encrypted email."""
    cipher = FieldCipher(LocalKeyProvider.generate(), index_key=INDEX_KEY)
    records = EncryptedRecords(store, Customer, cipher)
    ada = Customer("c1", "Ada", PAN, "ada@example.com")
    twin = Customer("c2", "Ada L.", PAN, "ada@example.com")
    bob = Customer("c3", "Bob", PAN, "bob@example.com")
    for customer in (ada, twin, bob):
        records.put(customer.id, customer, tenant="acme")
    records.put("c1", ada, tenant="acme")  # written again: listed once
    assert sorted(c.id for c in records.find("email", "ada@example.com", tenant="acme")) == ["c1", "c2"]
    assert records.find("email", "bob@example.com", tenant="acme") == [bob]
    assert records.find("email", "ada@example.com", tenant="globex") == []  # per tenant
    assert records.find("email", "eve@example.com", tenant="acme") == []

    index = store.get(
        records._index_key("email", records.find_token("email", "ada@example.com", tenant="acme"), "acme")
    )
    assert sorted(index) == ["c1", "c2"] and "ada@" not in repr(index)  # keys only, no plaintext

    records.put("c2", msgspec.structs.replace(twin, email="ada.l@example.com"), tenant="acme")  # changed
    records.delete("c1", tenant="acme")
    assert records.find("email", "ada@example.com", tenant="acme") == []
    assert [c.id for c in records.find("email", "ada.l@example.com", tenant="acme")] == ["c2"]
    with pytest.raises(ValueError, match="not a searchable"):
        records.find("card", PAN, tenant="acme")
