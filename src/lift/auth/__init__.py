"""Identity for Lift: who is calling (`Principal`) and how their credentials are verified.

Importing this package is cheap: PyJWT and cryptography load only when a token is verified.
The middleware that uses these pieces lives in `lift.middleware.auth`.
"""

from lift.auth.api_keys import APIKey, APIKeyVerifier, hash_api_key
from lift.auth.credentials import InvalidCredentials
from lift.auth.jwks import JWKSClient
from lift.auth.principal import ClaimMap, Principal
from lift.auth.tokens import JWTVerifier

__all__ = [
    "APIKey",
    "APIKeyVerifier",
    "ClaimMap",
    "InvalidCredentials",
    "JWKSClient",
    "JWTVerifier",
    "Principal",
    "hash_api_key",
]
