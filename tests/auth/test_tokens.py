"""JWTVerifier: signatures for every algorithm family, and the iss/aud/exp/nbf checks."""

from __future__ import annotations

import datetime
import time

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from jwt_support import SigningKey, claims

from lift.auth import InvalidCredentials, JWTVerifier

SECRET = "s3cr3t-" + "0123456789abcdef" * 4
ISSUER = "https://issuer.example.com"


def hs_verifier(**options):
    options.setdefault("issuer", ISSUER)
    options.setdefault("audience", "orders-api")
    return JWTVerifier(secret=SECRET, **options)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_token_verifies_and_returns_claims(alg):
    token = jwt.encode(claims(), SECRET, algorithm=alg)
    verified = hs_verifier(algorithms=[alg]).verify(token)
    assert verified["sub"] == "user-123"
    assert verified["tenant_id"] == "acme"


def test_hmac_token_with_wrong_secret_is_rejected():
    token = jwt.encode(claims(), "another-" * 8, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="Signature"):
        hs_verifier().verify(token)


def test_tampered_payload_is_rejected():
    header, payload, signature = jwt.encode(claims(), SECRET, algorithm="HS256").split(".")
    forged = jwt.encode(claims(sub="admin"), SECRET, algorithm="HS256").split(".")[1]
    with pytest.raises(InvalidCredentials):
        hs_verifier().verify(f"{header}.{forged[:-2]}{payload[-2:]}.{signature}")
    with pytest.raises(InvalidCredentials):
        hs_verifier().verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"])
def test_asymmetric_token_verifies_with_pem_public_key(alg):
    key = SigningKey(f"k-{alg}", alg)
    verifier = JWTVerifier(public_key=key.public_pem, algorithms=[alg], issuer=ISSUER, audience="orders-api")
    assert verifier.verify(key.sign(claims()))["sub"] == "user-123"


def test_pem_default_algorithm_follows_the_key_type():
    rsa_key, ec_key, ed_key = SigningKey("r"), SigningKey("e", "ES384"), SigningKey("d", "EdDSA")
    assert JWTVerifier(public_key=rsa_key.public_pem).algorithms == ("RS256",)
    assert JWTVerifier(public_key=ec_key.public_pem).algorithms == ("ES384",)
    verifier = JWTVerifier(public_key=ed_key.public_pem, audience="orders-api")
    assert verifier.algorithms == ("EdDSA",)
    assert verifier.verify(ed_key.sign(claims()))["sub"] == "user-123"


def test_certificate_pem_is_accepted_as_public_key(rsa_key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(rsa_key.private, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert JWTVerifier(public_key=pem, audience="orders-api").verify(rsa_key.sign(claims()))["sub"] == "user-123"


def test_private_key_given_as_public_key_is_a_configuration_error(rsa_key):
    pem = rsa_key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="private key"):
        JWTVerifier(public_key=pem)


def test_rs256_token_signed_by_another_key_is_rejected(rsa_key):
    verifier = JWTVerifier(public_key=rsa_key.public_pem, audience="orders-api")
    with pytest.raises(InvalidCredentials, match="Signature"):
        verifier.verify(SigningKey("other").sign(claims()))


def test_algorithm_confusion_hs256_signed_with_public_key_is_rejected(rsa_key):
    # The classic attack: sign HS256 with the (public) PEM as the HMAC secret.
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims()).encode())
    signature = hmac.new(rsa_key.public_pem, signing_input.encode(), hashlib.sha256).digest()
    verifier = JWTVerifier(public_key=rsa_key.public_pem, audience="orders-api")
    with pytest.raises(InvalidCredentials, match="not allowed"):
        verifier.verify(f"{signing_input}.{b64(signature)}")


def test_alg_none_token_is_rejected():
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(InvalidCredentials, match="not allowed"):
        hs_verifier().verify(token)


def test_key_type_and_algorithms_must_agree():
    with pytest.raises(ValueError, match="HMAC secret"):
        JWTVerifier(secret=SECRET, algorithms=["RS256"])
    with pytest.raises(ValueError, match="JWKS"):
        JWTVerifier(jwks_url="https://example.com/jwks.json", algorithms=["HS256"])
    with pytest.raises(ValueError, match="exactly one"):
        JWTVerifier(secret=SECRET, jwks_url="https://example.com/jwks.json")
    with pytest.raises(ValueError, match="exactly one"):
        JWTVerifier()


def test_expired_token_is_rejected_but_leeway_absorbs_clock_skew():
    now = int(time.time())
    slightly_expired = jwt.encode(claims(exp=now - 10), SECRET, algorithm="HS256")
    assert hs_verifier(leeway=30).verify(slightly_expired)["sub"] == "user-123"
    with pytest.raises(InvalidCredentials, match="expired"):
        hs_verifier(leeway=0).verify(slightly_expired)
    long_expired = jwt.encode(claims(exp=now - 120), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="expired"):
        hs_verifier(leeway=30).verify(long_expired)


def test_token_not_yet_valid_is_rejected():
    token = jwt.encode(claims(nbf=int(time.time()) + 600), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="not yet valid"):
        hs_verifier().verify(token)


def test_exp_is_required_by_default_and_nbf_can_be():
    no_exp = jwt.encode(claims(exp=None), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="exp"):
        hs_verifier().verify(no_exp)
    no_nbf = jwt.encode(claims(), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="nbf"):
        hs_verifier(require=["exp", "nbf"]).verify(no_nbf)


def test_issuer_is_checked_and_required_when_configured():
    wrong = jwt.encode(claims(iss="https://evil.example.com"), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="(?i)issuer"):
        hs_verifier().verify(wrong)
    missing = jwt.encode(claims(iss=None), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="iss"):
        hs_verifier().verify(missing)
    assert hs_verifier(issuer=[ISSUER, "https://other"]).verify(jwt.encode(claims(), SECRET))["sub"] == "user-123"


def test_audience_is_checked_and_required_when_configured():
    wrong = jwt.encode(claims(aud="billing-api"), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="(?i)audience"):
        hs_verifier().verify(wrong)
    missing = jwt.encode(claims(aud=None), SECRET, algorithm="HS256")
    with pytest.raises(InvalidCredentials, match="aud"):
        hs_verifier().verify(missing)
    listed = jwt.encode(claims(aud=["billing-api", "orders-api"]), SECRET, algorithm="HS256")
    assert hs_verifier().verify(listed)["sub"] == "user-123"


def test_expected_claims_must_match():
    access = jwt.encode(claims(token_use="access", client_id="app-1"), SECRET, algorithm="HS256")
    assert hs_verifier(expect={"token_use": "access", "client_id": ["app-1", "app-2"]}).verify(access)
    with pytest.raises(InvalidCredentials, match="token_use"):
        hs_verifier(expect={"token_use": "id"}).verify(access)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.", "x" * 20000])
def test_malformed_tokens_raise_invalid_credentials_not_other_errors(garbage):
    with pytest.raises(InvalidCredentials):
        hs_verifier().verify(garbage)


def test_cognito_factory_sets_issuer_jwks_and_token_use():
    verifier = JWTVerifier.cognito("eu-west-1", "eu-west-1_AbC", client_id="client-9", token_use="access")
    assert verifier.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
    assert verifier._jwks.url == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
    assert verifier.expect == {"token_use": "access", "client_id": "client-9"}
    assert verifier.audience is None
    id_verifier = JWTVerifier.cognito("eu-west-1", "eu-west-1_AbC", client_id="client-9")
    assert id_verifier.audience == "client-9"


def test_cognito_id_tokens_without_a_client_id_are_refused_at_configuration():
    """Every Cognito ID token carries aud (its app client); with no client_id to check it against,
    PyJWT refused each one: every sign-in was a 401 ('Invalid audience' in the log)."""
    with pytest.raises(ValueError, match="client_id"):
        JWTVerifier.cognito("eu-west-1", "eu-west-1_AbC")
    assert JWTVerifier.cognito("eu-west-1", "eu-west-1_AbC", token_use="access").audience is None


def test_repeated_token_is_served_from_cache_but_still_expires():
    verifier = hs_verifier(leeway=0)
    tok = jwt.encode(claims(exp=int(time.time()) + 2), SECRET, algorithm="HS256")
    first = verifier.verify(tok)
    assert verifier.verify(tok) is first  # the cached claims, not a second signature check
    time.sleep(max(0.0, first["exp"] - time.time()) + 0.05)
    with pytest.raises(InvalidCredentials, match="expired"):
        verifier.verify(tok)


def test_token_cache_is_bounded_and_can_be_disabled():
    verifier = hs_verifier(cache_size=2)
    tokens = [jwt.encode(claims(sub=f"u{i}"), SECRET, algorithm="HS256") for i in range(5)]
    for tok in tokens:
        verifier.verify(tok)
    assert len(verifier._verified) == 2
    uncached = hs_verifier(cache_size=0)
    assert uncached.verify(tokens[0]) is not uncached.verify(tokens[0])


def test_failed_tokens_are_not_cached():
    verifier = hs_verifier()
    bad = jwt.encode(claims(aud="other"), SECRET, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            verifier.verify(bad)
    assert verifier._verified == {}
