"""Identity for Lift: who is calling (`Principal`) and how their credentials are verified.

Names load on first use, so importing one piece (say `lift.auth.principal`) does not pay for
the others; PyJWT and cryptography load only when a JWT verifier is built. The middleware
that uses these pieces lives in `lift.middleware.auth`.
"""

from __future__ import annotations

import importlib
from typing import Any

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

_HOME = {
    "APIKey": "api_keys",
    "APIKeyVerifier": "api_keys",
    "hash_api_key": "api_keys",
    "ClaimMap": "principal",
    "Principal": "principal",
    "InvalidCredentials": "credentials",
    "JWKSClient": "jwks",
    "JWTVerifier": "tokens",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lift.auth.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
