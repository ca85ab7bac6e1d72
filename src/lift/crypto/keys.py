"""Key providers: where data keys come from. KMS (GenerateDataKey/Decrypt) or a local master key.

Every data key is generated and unwrapped under an encryption context (tenant, field): KMS
refuses to unwrap it under another one, and so does the local provider (the context is the
AES-GCM associated data of the wrapped key).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

__all__ = ["KeyProvider", "KeyProviderError", "KMSKeyProvider", "LocalKeyProvider", "canonical_context"]


class KeyProviderError(Exception):
    """A data key could not be generated or unwrapped (wrong context, no access, unknown key)."""


def aesgcm() -> type:
    """cryptography's AESGCM, imported on first use with a clear error when it is missing."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise ImportError('lift.crypto needs cryptography: pip install "lift-lambda[crypto]"') from None
    return AESGCM


def canonical_context(context: dict[str, str]) -> bytes:
    """The encryption context as stable bytes (sorted keys): the associated data of every seal.

    `key=value` lines are unambiguous only when no key holds `=` or a newline and no value a
    newline; otherwise tenant "a\nlift:tenant=b" could stand for another (tenant, field) pair,
    so such a context is refused."""
    text = "\n".join([f"{k}={context[k]}" for k in sorted(context)])
    if context and (text.count("\n") != len(context) - 1 or "=" in "".join(context)):
        bad = next((k for k, v in context.items() if "=" in k or "\n" in k or "\n" in str(v)), None)
        raise ValueError(f"encryption context entry {bad!r} may not contain a newline (nor '=' in its key)")
    return text.encode("utf-8")


class KeyProvider(Protocol):
    key_id: str

    def generate_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        """A new 256-bit data key: (plaintext key, wrapped key)."""
        ...

    def decrypt_data_key(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        """The plaintext of a wrapped data key; raises `KeyProviderError` under a wrong context."""
        ...


class KMSKeyProvider:
    """Data keys from AWS KMS. Needs `kms:GenerateDataKey` and `kms:Decrypt` on `key_id`."""

    def __init__(
        self, key_id: str, *, client: Any = None, region: str | None = None, endpoint_url: str | None = None
    ) -> None:
        self.key_id = key_id
        self._client = client
        self._region = region
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise ImportError('lift.crypto with KMS needs boto3: pip install "lift-lambda[aws]"') from None
            self._client = boto3.client("kms", region_name=self._region, endpoint_url=self._endpoint_url)
        return self._client

    def _call(self, fn: Any, action: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "InvalidCiphertextException":
                raise KeyProviderError(
                    "KMS refused to unwrap the data key: the encryption context (tenant, field) does not match"
                    " the one it was encrypted under, or the ciphertext was altered"
                ) from None
            if code == "IncorrectKeyException":
                raise KeyProviderError(f"the data key was wrapped under another KMS key than {self.key_id}") from None
            if "AccessDenied" in code:
                raise KeyProviderError(
                    f"KMS denied {action} on {self.key_id}: grant it to the function's role"
                ) from None
            raise KeyProviderError(f"KMS {action} failed: {code}") from None

    def generate_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        resp = self._call(
            self.client.generate_data_key,
            "kms:GenerateDataKey",
            KeyId=self.key_id,
            KeySpec="AES_256",
            EncryptionContext=context,
        )
        return resp["Plaintext"], resp["CiphertextBlob"]

    def decrypt_data_key(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        # A symmetric ciphertext names the key that wrapped it. A key id or ARN pins Decrypt to that key;
        # an alias is a pointer that rotation moves (AWS's manual rotation re-points it to a new key), so
        # pinning it would make every value sealed before the move unreadable: the role's grants decide.
        pin = {} if _is_alias(self.key_id) else {"KeyId": self.key_id}
        resp = self._call(self.client.decrypt, "kms:Decrypt", CiphertextBlob=wrapped, EncryptionContext=context, **pin)
        return resp["Plaintext"]


def _is_alias(key_id: str) -> bool:
    return key_id.startswith("alias/") or ":alias/" in key_id


class LocalKeyProvider:
    """Data keys wrapped with a local 256-bit master key (AES-GCM): for tests, local development
    and teams holding their own key material. The master key must itself be a secret
    (`lift.config` SecretBytes from a Secrets Manager SecretBinary, never source code)."""

    def __init__(self, master_key: bytes | Any, key_id: str = "local") -> None:
        if hasattr(master_key, "get_secret_value"):  # lift.config's SecretBytes (a SecretBinary)
            master_key = master_key.get_secret_value()
        if not isinstance(master_key, bytes | bytearray):
            raise TypeError(f"the master key must be 32 bytes (SecretBytes or bytes), not {type(master_key).__name__}")
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes (AES-256)")
        self.key_id = key_id
        self._aead = aesgcm()(bytes(master_key))

    @classmethod
    def generate(cls, key_id: str = "local") -> LocalKeyProvider:
        return cls(os.urandom(32), key_id)

    def generate_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        key = os.urandom(32)
        nonce = os.urandom(12)
        return key, nonce + self._aead.encrypt(nonce, key, canonical_context(context))

    def decrypt_data_key(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], canonical_context(context))
        except (InvalidTag, ValueError):
            raise KeyProviderError(
                "the local key provider refused to unwrap the data key: the encryption context (tenant, field)"
                " does not match the one it was encrypted under, or the ciphertext was altered"
            ) from None
