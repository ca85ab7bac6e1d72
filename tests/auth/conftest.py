"""Fixtures for the auth tests: an RSA signing key and a real JWKS server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("jwt")
from jwt_support import JWKSServer, SigningKey


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey("rsa-1")


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    yield server
    server.close()
