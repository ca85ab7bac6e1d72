"""Encrypted fields are sealed whatever the model's shape: Structs that encode under other names
(`rename="camel"`, `field(name=...)`) and whole sub-models (`Encrypted[Payment]`); a model whose
Encrypted field sits inside an unencrypted one is refused. The store (DynamoDB Local) never holds
their plaintext; KMS on moto."""

from __future__ import annotations

import os
from typing import Annotated

import boto3
import msgspec
import pytest

from lift.crypto import Encrypted, EncryptedRecords, FieldCipher, KMSKeyProvider
from lift.crypto.fields import decrypt_model, encrypt_model

PAN = "4111111111111111"


class Card(msgspec.Struct, rename="camel"):
    id: str
    card_number: Encrypted[str]
    holder_email: Annotated[str, Encrypted(searchable=True)]
    expiry: Annotated[str, Encrypted()] = msgspec.field(name="exp")
    nick_name: str = ""


class Row(msgspec.Struct, array_like=True):
    card: Encrypted[str]


class Payment(msgspec.Struct):
    card: Encrypted[str]
    amount: int = 0


class Order(msgspec.Struct):
    id: str
    payment: Payment  # its card is marked, but only Order's own fields are sealed


class Orders(msgspec.Struct):
    id: str
    payments: dict[str, list[Payment | None]]


class Thread(msgspec.Struct):
    text: Encrypted[str]
    replies: list[Thread] = []


class SealedOrder(msgspec.Struct):
    id: str
    payment: Encrypted[Payment]
    refund: Encrypted[Payment] | None = None


@pytest.fixture
def cipher(moto_endpoint) -> FieldCipher:
    client = boto3.client("kms", endpoint_url=moto_endpoint)
    key_id = client.create_key(Description="renamed fields")["KeyMetadata"]["KeyId"]
    return FieldCipher(KMSKeyProvider(key_id, client=client), index_key=os.urandom(32))


def test_renamed_encrypted_fields_are_sealed_and_found(cipher, dynamodb_table, dynamodb_endpoint) -> None:
    """encrypt_model looked the values up by attribute name in the encoded document: a renamed
    field was not found there, and its plaintext (the card number) was stored as it was."""
    from lift.stores.dynamodb import DynamoDBStore

    store = DynamoDBStore(dynamodb_table, endpoint_url=dynamodb_endpoint, prefix=f"renamed-{os.urandom(4).hex()}:")
    try:
        records = EncryptedRecords(store, Card, cipher)
        card = Card("c1", PAN, "ada@example.com", "12/29", "work")
        records.put("c1", card, tenant="acme")
        raw = records.raw("c1", tenant="acme")
        assert sorted(raw) == ["cardNumber", "exp", "holderEmail", "holderEmail_token", "id", "nickName"]
        for key in ("cardNumber", "exp", "holderEmail"):
            assert raw[key].startswith("lift1:"), key
        assert raw["holderEmail_token"].startswith("hmac1:") and raw["nickName"] == "work"
        stored = repr(raw)
        assert PAN not in stored and "ada@example.com" not in stored and "12/29" not in stored
        assert records.get("c1", tenant="acme") == card
        assert records.find("holder_email", "ada@example.com", tenant="acme") == [card]
        assert records.find("holder_email", "ada@example.com", tenant="globex") == []
    finally:
        store.close()


def test_an_array_like_struct_is_refused_clearly(cipher) -> None:
    from lift.stores import MemoryStore

    with pytest.raises(TypeError, match="array_like"):
        EncryptedRecords(MemoryStore(), Row, cipher)
    with pytest.raises(TypeError, match="array_like"):
        encrypt_model(Row(PAN), cipher, tenant="acme")


def test_an_encrypted_field_inside_an_unencrypted_one_is_refused(cipher) -> None:
    """Only a model's own fields were sealed: Order.payment.card reached the store in plaintext."""
    from lift.stores import MemoryStore

    with pytest.raises(TypeError, match=r"Order\.payment -> Payment\.card is marked Encrypted inside a field"):
        encrypt_model(Order("o1", Payment(PAN)), cipher, tenant="acme")
    with pytest.raises(TypeError, match=r"Orders\.payments -> Payment\.card is marked Encrypted"):
        EncryptedRecords(MemoryStore(), Orders, cipher)
    with pytest.raises(TypeError, match=r"Thread\.replies -> Thread\.text is marked Encrypted"):
        EncryptedRecords(MemoryStore(), Thread, cipher)


def test_a_whole_sub_model_marked_encrypted_is_sealed_and_opened(cipher) -> None:
    order = SealedOrder("o1", Payment(PAN, 42))
    data = encrypt_model(order, cipher, tenant="acme")
    assert data["payment"].startswith("lift1:") and data["refund"] is None and PAN not in repr(data)
    assert decrypt_model(SealedOrder, data, cipher, tenant="acme") == order
