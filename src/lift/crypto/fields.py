"""`Encrypted[str]` model fields: sealed before a store sees them, opened on read.

```python
class Customer(msgspec.Struct):
    id: str
    card: Encrypted[str]
    email: Annotated[str, Encrypted(searchable=True)]   # also stored as an HMAC token: email_token

records = EncryptedRecords(store, Customer, cipher)
records.put("c1", customer, tenant="acme")      # the store holds only lift1:... and hmac1:...
records.get("c1", tenant="acme")                # -> Customer, decrypted
records.find("email", "ada@example.com", tenant="acme")  # -> [Customer], through an HMAC-token index
```
"""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

import msgspec

from lift.crypto.envelope import FieldCipher

__all__ = [
    "Encrypted",
    "encrypted_fields",
    "encrypt_model",
    "decrypt_model",
    "EncryptedRecords",
    "TOKEN_SUFFIX",
    "check_sealable",
    "stored_name",
]

T = TypeVar("T")
TOKEN_SUFFIX = "_token"


class Encrypted:
    """Marks a field to encrypt: `card: Encrypted[str]`, or `Annotated[str, Encrypted(searchable=True)]`."""

    __slots__ = ("searchable",)

    def __init__(self, *, searchable: bool = False) -> None:
        self.searchable = searchable

    def __class_getitem__(cls, item: Any) -> Any:
        return Annotated[item, cls()]

    def __repr__(self) -> str:
        return f"Encrypted(searchable={self.searchable})"


_cache: dict[type, dict[str, Encrypted]] = {}


def encrypted_fields(model: type) -> dict[str, Encrypted]:
    """`{field: marker}` for the encrypted fields of a Struct or dataclass type."""
    found = _cache.get(model)
    if found is None:
        found = {}
        for name, hint in get_type_hints(model, include_extras=True).items():
            options = [hint] if get_origin(hint) is Annotated else list(get_args(hint))  # `Encrypted[T] | None`
            for option in options:
                if get_origin(option) is Annotated:
                    for meta in get_args(option)[1:]:
                        if isinstance(meta, Encrypted):
                            found[name] = meta
        _cache[model] = found
    return found


_stored_names: dict[type, dict[str, str]] = {}


def stored_name(model: type, field: str) -> str:
    """The key `field` of `model` is stored under: a Struct's encoded name (`rename="camel"`,
    `msgspec.field(name=...)`), else the field's own name. The encryption context names the field."""
    names = _stored_names.get(model)
    if names is None:
        if isinstance(model, type) and issubclass(model, msgspec.Struct):
            if model.__struct_config__.array_like:
                raise TypeError(f"{model.__name__} is array_like: encrypted fields need a Struct encoded as an object")
            names = {f.name: f.encode_name for f in msgspec.structs.fields(model)}
        else:
            names = {}
        _stored_names[model] = names
    return names.get(field, field)


_unsealed: dict[type, str | None] = {}


def check_sealable(model: type) -> None:
    """Refuse a model with an `Encrypted` field inside a field that is not itself encrypted
    (`payment: Payment` whose `card` is `Encrypted[str]`): only a model's own fields are sealed, so
    that card number would be stored in plaintext. Sealing the whole field works:
    `payment: Encrypted[Payment]`."""
    if model not in _unsealed:
        _unsealed[model] = _nested_marker(model, set())
    where = _unsealed[model]
    if where is not None:
        raise TypeError(
            f"{where} is marked Encrypted inside a field that is not: only {model.__name__}'s own fields are"
            " sealed, so it would be stored in plaintext. Mark the field holding it Encrypted[...] (sealed whole)"
        )


def _nested_marker(model: type, seen: set[int]) -> str | None:
    """`Outer.field -> Inner.card` for the first Encrypted field below an unencrypted field of `model`."""
    if id(model) in seen:
        return None
    seen.add(id(model))
    try:
        hints = get_type_hints(model, include_extras=True)
    except Exception:
        return None
    sealed = encrypted_fields(model)
    for name, hint in hints.items():
        if name in sealed or name.startswith("_"):
            continue
        for inner in _models_in(hint):
            marked = encrypted_fields(inner)  # (a model holding itself too: the inner copies are not sealed)
            if marked:
                return f"{model.__name__}.{name} -> {inner.__name__}.{next(iter(marked))}"
            deeper = _nested_marker(inner, seen)
            if deeper is not None:
                return f"{model.__name__}.{name} -> {deeper}"
    return None


def _models_in(hint: Any) -> list[type]:
    """The Struct and dataclass types a field's type holds (in generics, unions, Annotated)."""
    if isinstance(hint, type) and (issubclass(hint, msgspec.Struct) or is_dataclass(hint)):
        return [hint]
    found: list[type] = []
    for arg in get_args(hint):
        if arg is not Ellipsis and not isinstance(arg, Encrypted):
            found += _models_in(arg)
    return found


def encrypt_model(obj: Any, cipher: FieldCipher, *, tenant: str) -> dict[str, Any]:
    """`obj` as plain data with each encrypted field sealed (its JSON), plus search tokens."""
    model = type(obj)
    check_sealable(model)
    data = msgspec.to_builtins(obj)
    for name, marker in encrypted_fields(model).items():
        key = stored_name(model, name)
        value = data.get(key)
        if value is None:
            continue
        if marker.searchable:
            data[key + TOKEN_SUFFIX] = cipher.search_token(_token_text(value), tenant=tenant, field=name)
        data[key] = cipher.encrypt(msgspec.json.encode(value), tenant=tenant, field=name)
    return data


def decrypt_model(model: type[T], data: dict[str, Any], cipher: FieldCipher, *, tenant: str) -> T:
    """The `model` instance from what `encrypt_model` produced (raises `DecryptionError`)."""
    data = dict(data)
    for name, marker in encrypted_fields(model).items():
        key = stored_name(model, name)
        if marker.searchable:
            data.pop(key + TOKEN_SUFFIX, None)
        if data.get(key) is not None:
            data[key] = msgspec.json.decode(cipher.decrypt(data[key], tenant=tenant, field=name))
    return msgspec.convert(data, model)


def _token_text(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


class EncryptedRecords:
    """Models of one type in a `lift.stores` store, encrypted field by field, keyed per tenant."""

    def __init__(self, store: Any, model: type[T], cipher: FieldCipher, *, prefix: str = "") -> None:
        check_sealable(model)
        if not encrypted_fields(model):
            raise TypeError(f"{model.__name__} has no Encrypted[...] field")
        stored_name(model, "")  # refuses an array_like Struct now, not at the first put
        self.store, self.model, self.cipher, self.prefix = store, model, cipher, prefix or f"{model.__name__}:"

    def _key(self, key: str, tenant: str) -> str:
        from lift.stores.base import scoped_key

        return scoped_key(self.prefix + key, tenant_id=tenant)

    def put(self, key: str, obj: Any, *, tenant: str, ttl: float | None = None) -> None:
        """Seal and store `obj`; each searchable field's token is added to its index (see `find`)."""
        data = encrypt_model(obj, self.cipher, tenant=tenant)
        for name, marker in encrypted_fields(self.model).items():
            token = data.get(stored_name(self.model, name) + TOKEN_SUFFIX)
            if marker.searchable and token is not None:
                self._index_add(self._index_key(name, token, tenant), key)
        self.store.put(self._key(key, tenant), data, ttl)

    def get(self, key: str, *, tenant: str) -> Any:
        data = self.store.get(self._key(key, tenant))
        return None if data is None else decrypt_model(self.model, data, self.cipher, tenant=tenant)

    def delete(self, key: str, *, tenant: str) -> bool:
        """Remove the record (its index entries are dropped lazily by `find`)."""
        return self.store.delete(self._key(key, tenant))

    def find(self, field: str, value: Any, *, tenant: str) -> list[Any]:
        """The tenant's records whose searchable encrypted `field` equals `value`.

        The store is a key-value store, so each search token has an index entry listing the
        record keys that carried it (only the HMAC token and keys: no plaintext). A record whose
        field changed or that was deleted stays listed until a `find` sees its current token
        differ and prunes it."""
        token = self.find_token(field, value, tenant=tenant)
        index_key = self._index_key(field, token, tenant)
        keys = self.store.get(index_key) or []
        found, stale = [], []
        for key in keys:
            data = self.store.get(self._key(key, tenant))
            if data is None or data.get(stored_name(self.model, field) + TOKEN_SUFFIX) != token:
                stale.append(key)
                continue
            found.append(decrypt_model(self.model, data, self.cipher, tenant=tenant))
        if stale:
            self._index_prune(index_key, stale)
        return found

    def _index_key(self, field: str, token: str, tenant: str) -> str:
        from lift.stores.base import scoped_key

        return scoped_key(f"lift-index:{self.prefix}{field}:{token}", tenant_id=tenant)

    def _index_add(self, index_key: str, key: str) -> None:
        for _ in range(20):  # compare-and-set: concurrent writers never drop each other's keys
            current = self.store.get(index_key)
            if current is None:
                if self.store.put_if_absent(index_key, [key]):
                    return
            elif key in current or self.store.compare_and_set(index_key, current, [*current, key]):
                return
        raise RuntimeError(f"the search index {index_key!r} kept changing; try again")

    def _index_prune(self, index_key: str, stale: list[str]) -> None:
        current = self.store.get(index_key)
        if current is not None:  # best effort: a concurrent change wins and the next find prunes
            self.store.compare_and_set(index_key, current, [k for k in current if k not in stale])

    def raw(self, key: str, *, tenant: str) -> Any:
        """What the store holds (ciphertext), for audits and tests."""
        return self.store.get(self._key(key, tenant))

    def find_token(self, field: str, value: Any, *, tenant: str) -> str:
        """The search token to look a record up by `field` == `value` (a searchable field)."""
        marker = encrypted_fields(self.model).get(field)
        if marker is None or not marker.searchable:
            raise ValueError(f"{self.model.__name__}.{field} is not a searchable encrypted field")
        return self.cipher.search_token(_token_text(value), tenant=tenant, field=field)
