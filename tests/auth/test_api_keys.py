"""API keys: configured as hashes, matched to the right principal, plaintext refused."""

from __future__ import annotations

import secrets

import pytest

from lift.auth import APIKey, APIKeyVerifier, InvalidCredentials, hash_api_key


def test_presented_key_maps_to_its_configured_principal():
    billing, reports = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = APIKeyVerifier(
        [
            APIKey(hash=hash_api_key(billing), name="billing", roles=("service",), scopes=("orders:read",)),
            APIKey(hash=hash_api_key(reports), name="reports", tenant_id="acme"),
        ]
    )
    principal = verifier.verify(billing)
    assert (principal.user_id, principal.method, principal.roles, principal.scopes) == (
        "billing",
        "api_key",
        frozenset({"service"}),
        frozenset({"orders:read"}),
    )
    assert verifier.verify(reports).tenant_id == "acme"


def test_unknown_or_near_miss_key_is_rejected():
    key = secrets.token_urlsafe(32)
    verifier = APIKeyVerifier({hash_api_key(key): "billing"})
    for wrong in ("", key[:-1], key + "x", key.upper() if key.upper() != key else key + "Y"):
        with pytest.raises(InvalidCredentials):
            verifier.verify(wrong)


def test_mapping_config_with_details_and_bare_hex_hashes():
    key = secrets.token_urlsafe(32)
    bare_hex = hash_api_key(key).removeprefix("sha256:")
    verifier = APIKeyVerifier({bare_hex: {"name": "etl", "roles": ["writer"], "tenant_id": "t1"}})
    principal = verifier.verify(key)
    assert (principal.user_id, principal.tenant_id, principal.roles) == ("etl", "t1", frozenset({"writer"}))


def test_plaintext_key_in_configuration_is_refused():
    with pytest.raises(ValueError, match="hash"):
        APIKeyVerifier({"my-plain-api-key": "billing"})
    with pytest.raises(ValueError):
        APIKeyVerifier([])


def test_configuration_never_holds_the_key():
    key = secrets.token_urlsafe(32)
    assert key not in hash_api_key(key)
    assert hash_api_key(key).startswith("sha256:") and len(hash_api_key(key)) == 7 + 64


def test_rotation_two_keys_for_one_caller_then_the_old_one_withdrawn():
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    during = APIKeyVerifier({hash_api_key(old): "billing", hash_api_key(new): "billing"})
    assert during.verify(old) == during.verify(new)  # the same principal, whichever key the caller holds
    after = APIKeyVerifier({hash_api_key(new): "billing"})
    assert after.verify(new).user_id == "billing"
    with pytest.raises(InvalidCredentials):
        after.verify(old)
