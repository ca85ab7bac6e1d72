"""Field-level encryption: envelope encryption with KMS data keys (AES-256-GCM), bound to tenant and field.

`pip install "lift-lambda[crypto]"` (cryptography; boto3 for KMS). See docs/compliance.md.
"""

from lift.crypto.envelope import DataKeyCache, DecryptionError, FieldCipher
from lift.crypto.fields import Encrypted, EncryptedRecords, decrypt_model, encrypt_model, encrypted_fields
from lift.crypto.keys import KeyProvider, KeyProviderError, KMSKeyProvider, LocalKeyProvider

__all__ = [
    "DataKeyCache",
    "DecryptionError",
    "Encrypted",
    "EncryptedRecords",
    "FieldCipher",
    "KMSKeyProvider",
    "KeyProvider",
    "KeyProviderError",
    "LocalKeyProvider",
    "decrypt_model",
    "encrypt_model",
    "encrypted_fields",
]
