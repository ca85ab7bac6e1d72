"""JWKS keys fetched from a real HTTP server on 127.0.0.1: caching, rotation and its rate limit."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time

import pytest
from jwt_support import SigningKey, claims

from lift.auth import InvalidCredentials, JWKSClient, JWTVerifier
from lift.auth.jwks import JWKSUnavailable, KeyNotFound, fetch_json_httpx, fetch_json_urllib


class Clock:
    """A clock the test moves by hand, so rate limits are checked without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier_for(server, clock=None, **options):
    client = JWKSClient(server.url, clock=clock or Clock(), **options)
    # cache_size=0: every verify goes to the key set, which is what these tests watch.
    verifier = JWTVerifier(jwks=client, issuer="https://issuer.example.com", audience="orders-api", cache_size=0)
    return verifier, client


def test_cognito_shaped_jwks_verifies_tokens_and_is_fetched_once(jwks_server, rsa_key):
    jwks_server.publish(rsa_key, SigningKey("rsa-2"))
    verifier, client = verifier_for(jwks_server)
    for _ in range(5):
        assert verifier.verify(rsa_key.sign(claims()))["sub"] == "user-123"
    assert jwks_server.requests == 1


def test_rotation_new_kid_triggers_refetch(jwks_server, rsa_key):
    clock = Clock()
    jwks_server.publish(rsa_key)
    verifier, _ = verifier_for(jwks_server, clock, min_refetch_interval=30)
    verifier.verify(rsa_key.sign(claims()))
    assert jwks_server.requests == 1

    rotated = SigningKey("rsa-rotated")
    jwks_server.publish(rotated, rsa_key)
    clock.now += 31
    assert verifier.verify(rotated.sign(claims()))["sub"] == "user-123"
    assert jwks_server.requests == 2
    verifier.verify(rsa_key.sign(claims()))  # the old key still works while it is published
    assert jwks_server.requests == 2


def test_unknown_kid_refetches_at_most_once_per_interval(jwks_server, rsa_key):
    clock = Clock()
    jwks_server.publish(rsa_key)
    verifier, _ = verifier_for(jwks_server, clock, min_refetch_interval=30)
    verifier.verify(rsa_key.sign(claims()))
    clock.now += 31

    forged = SigningKey("made-up")
    for _ in range(10):
        with pytest.raises(InvalidCredentials, match="made-up"):
            verifier.verify(forged.sign(claims()))
        clock.now += 1
    assert jwks_server.requests == 2  # the first unknown kid refetched, the next nine did not

    clock.now += 30
    with pytest.raises(InvalidCredentials):
        verifier.verify(forged.sign(claims()))
    assert jwks_server.requests == 3


def test_key_published_within_the_rate_limit_is_picked_up_after_it(jwks_server, rsa_key):
    clock = Clock()
    jwks_server.publish(rsa_key)
    verifier, _ = verifier_for(jwks_server, clock, min_refetch_interval=30)
    verifier.verify(rsa_key.sign(claims()))  # initial fetch at t=1000
    rotated = SigningKey("rsa-rotated")
    jwks_server.publish(rotated)
    clock.now += 5
    with pytest.raises(InvalidCredentials):  # within 30 s of the last fetch: no refetch yet
        verifier.verify(rotated.sign(claims()))
    clock.now += 30
    assert verifier.verify(rotated.sign(claims()))["sub"] == "user-123"


def test_cache_expires_after_ttl(jwks_server, rsa_key):
    clock = Clock()
    jwks_server.publish(rsa_key)
    verifier, _ = verifier_for(jwks_server, clock, cache_ttl=600)
    verifier.verify(rsa_key.sign(claims()))
    clock.now += 599
    verifier.verify(rsa_key.sign(claims()))
    assert jwks_server.requests == 1
    clock.now += 2
    verifier.verify(rsa_key.sign(claims()))
    assert jwks_server.requests == 2


def test_cached_keys_survive_a_failing_provider(jwks_server, rsa_key):
    clock = Clock()
    jwks_server.publish(rsa_key)
    verifier, _ = verifier_for(jwks_server, clock, cache_ttl=60)
    verifier.verify(rsa_key.sign(claims()))
    jwks_server.status = 500
    clock.now += 120  # cache expired, refetch fails: keep serving the keys we have
    assert verifier.verify(rsa_key.sign(claims()))["sub"] == "user-123"
    assert jwks_server.requests == 2


def test_unreachable_provider_without_cached_keys_is_invalid_credentials_and_backs_off(rsa_key):
    clock = Clock()
    client = JWKSClient("http://127.0.0.1:9/jwks.json", clock=clock, timeout=0.5, min_refetch_interval=30)
    verifier = JWTVerifier(jwks=client, audience="orders-api")
    with pytest.raises(InvalidCredentials, match="cannot fetch"):
        verifier.verify(rsa_key.sign(claims()))
    with pytest.raises(InvalidCredentials, match="unavailable"):
        verifier.verify(rsa_key.sign(claims()))
    assert client.fetch_count == 1


def test_token_alg_must_match_the_jwk_alg_and_type(jwks_server, rsa_key):
    jwks_server.publish(rsa_key)
    client = JWKSClient(jwks_server.url)
    verifier = JWTVerifier(jwks=client, algorithms=["RS256", "PS256", "ES256"], audience="orders-api")
    with pytest.raises(InvalidCredentials, match="does not match"):
        verifier.verify(rsa_key.sign(claims(), alg="PS256"))
    ec_key = SigningKey("ec-1", "ES256")
    jwks_server.publish(rsa_key, ec_key)
    impostor = SigningKey("ec-1", "RS256")  # RSA-signed token claiming the EC key's kid
    with pytest.raises(InvalidCredentials):
        verifier.verify(impostor.sign(claims()))


def test_jwk_without_alg_takes_the_allowed_token_alg(jwks_server):
    key = SigningKey("no-alg", "RS256", include_alg=False)
    jwks_server.publish(key)
    verifier = JWTVerifier(jwks=JWKSClient(jwks_server.url), algorithms=["RS256", "PS256"], audience="orders-api")
    assert verifier.verify(key.sign(claims(), alg="PS256"))["sub"] == "user-123"
    assert verifier.verify(key.sign(claims(), alg="RS256"))["sub"] == "user-123"


def test_es256_keys_from_jwks(jwks_server):
    key = SigningKey("ec", "ES256")
    jwks_server.publish(key)
    verifier = JWTVerifier(jwks=JWKSClient(jwks_server.url), algorithms=["ES256"], audience="orders-api")
    assert verifier.verify(key.sign(claims()))["tenant_id"] == "acme"


def test_token_without_kid_uses_the_only_key(jwks_server, rsa_key):
    jwks_server.publish(rsa_key)
    verifier, _ = verifier_for(jwks_server)
    assert verifier.verify(rsa_key.sign(claims(), kid=None))["sub"] == "user-123"


def test_encryption_keys_are_ignored(jwks_server, rsa_key):
    enc = SigningKey("enc-1")
    jwks_server.publish(rsa_key, enc)
    jwks_server.document["keys"][1]["use"] = "enc"
    client = JWKSClient(jwks_server.url)
    with pytest.raises(KeyNotFound):
        client.get("enc-1")
    assert client.get(rsa_key.kid)["kid"] == rsa_key.kid


def test_document_without_keys_is_unavailable(jwks_server):
    jwks_server.document = {"not": "a jwks"}
    with pytest.raises(JWKSUnavailable):
        JWKSClient(jwks_server.url).get("any")


def test_plain_http_is_refused_except_on_loopback():
    with pytest.raises(ValueError, match="https"):
        JWKSClient("http://idp.example.com/jwks.json")
    with pytest.raises(ValueError, match="https"):
        JWKSClient("file:///etc/passwd")
    JWKSClient("http://localhost:8080/jwks.json")


def test_urllib_fetcher_reads_the_served_document(jwks_server, rsa_key):
    jwks_server.publish(rsa_key)
    assert fetch_json_urllib(jwks_server.url, 2.0)["keys"][0]["kid"] == "rsa-1"


@pytest.mark.skipif(importlib.util.find_spec("httpx") is None, reason="httpx not installed")
def test_httpx_fetcher_reads_the_served_document(jwks_server, rsa_key):
    jwks_server.publish(rsa_key)
    assert fetch_json_httpx(jwks_server.url, 2.0)["keys"][0]["kid"] == "rsa-1"


def _inside(thread: threading.Thread, function) -> bool:
    """Whether `thread` is running `function` (anywhere on its stack) right now."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code is function.__code__:
            return True
        frame = frame.f_back
    return False


def test_concurrent_first_requests_fetch_the_key_set_once(jwks_server, rsa_key):
    jwks_server.publish(rsa_key)
    jwks_server.hold = threading.Event()  # the first fetch is answered once every request is waiting
    verifier, client = verifier_for(jwks_server, timeout=30)
    results: list[str] = []
    workers = [
        threading.Thread(target=lambda: results.append(verifier.verify(rsa_key.sign(claims()))["sub"]))
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 10  # (only reached if a worker never gets to the key set)
    while not all(_inside(w, JWKSClient.get) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    jwks_server.hold.set()
    for worker in workers:
        worker.join(10)
    assert results == ["user-123"] * 6
    assert jwks_server.requests == 1 and client.fetch_count == 1


def test_cached_keys_serve_while_an_expired_set_is_refetched_slowly(jwks_server, rsa_key):
    # the refetch held the key set's lock for as long as the provider took (up to the timeout):
    # every other request waited for it although its key was cached
    clock = Clock()
    jwks_server.publish(rsa_key)
    verifier, client = verifier_for(jwks_server, clock, cache_ttl=60, timeout=30)
    verifier.verify(rsa_key.sign(claims()))
    clock.now += 120  # the set expired: the next request refetches it
    jwks_server.hold = threading.Event()
    refetching = threading.Thread(target=verifier.verify, args=(rsa_key.sign(claims()),))
    refetching.start()
    deadline = time.monotonic() + 10  # (until the refetch reached the provider)
    while jwks_server.requests < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    served: list[str] = []
    other = threading.Thread(target=lambda: served.append(verifier.verify(rsa_key.sign(claims()))["sub"]))
    other.start()
    other.join(10)  # (only waits this long if it waits for the refetch)
    finished = not other.is_alive()
    jwks_server.hold.set()
    refetching.join(10)
    other.join(10)
    assert finished and served == ["user-123"]
    assert client.fetch_count == 2


NO_HTTPX = pytest.mark.skipif(importlib.util.find_spec("httpx") is None, reason="httpx not installed")


@pytest.mark.parametrize("fetch", [fetch_json_urllib, pytest.param(fetch_json_httpx, marks=NO_HTTPX)])
def test_a_provider_trickling_its_key_set_is_cut_off_at_the_timeout(jwks_server, rsa_key, fetch):
    # one byte every 50 ms: each read comes well within the timeout, so the fetch went on for the whole
    # ~25 s body (holding the key set's lock, so every request waited) and then accepted the token
    jwks_server.publish(rsa_key)
    jwks_server.trickle = 0.05
    client = JWKSClient(jwks_server.url, timeout=0.5, fetch=fetch)
    verifier = JWTVerifier(jwks=client, issuer="https://issuer.example.com", audience="orders-api")
    with pytest.raises(InvalidCredentials, match="cannot fetch JWKS.*not complete within the timeout"):
        verifier.verify(rsa_key.sign(claims()))


@pytest.mark.parametrize("fetch", [fetch_json_urllib, pytest.param(fetch_json_httpx, marks=NO_HTTPX)])
def test_a_key_set_over_the_size_limit_is_refused(jwks_server, rsa_key, fetch):
    jwks_server.document = {"keys": [rsa_key.jwk], "padding": "x" * (1 << 20)}
    with pytest.raises(ValueError, match="too large"):
        fetch(jwks_server.url, 5.0)


def test_tokens_of_a_withdrawn_key_stop_working_once_the_cache_ttl_passes(jwks_server, rsa_key):
    clock = Clock()
    jwks_server.publish(rsa_key)
    client = JWKSClient(jwks_server.url, clock=clock, min_refetch_interval=0, cache_ttl=0)
    verifier = JWTVerifier(jwks=client, audience="orders-api", cache_ttl=0)
    tok = rsa_key.sign(claims())
    verifier.verify(tok)
    jwks_server.publish(SigningKey("replacement"))  # the provider withdrew rsa-1 (say, compromised)
    with pytest.raises(InvalidCredentials, match="rsa-1"):
        verifier.verify(tok)


def test_auth0_shaped_jwks_with_certificate_chain(jwks_server, rsa_key):
    import base64
    import datetime
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dev-tenant.us.auth0.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.private.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(rsa_key.private, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    jwk = dict(rsa_key.jwk)
    jwk["x5c"] = [base64.b64encode(der).decode()]
    jwk["x5t"] = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    jwks_server.document = {"keys": [jwk]}
    verifier = JWTVerifier(jwks=JWKSClient(jwks_server.url), issuer="https://issuer.example.com", audience="orders-api")
    assert verifier.verify(rsa_key.sign(claims()))["sub"] == "user-123"


def test_with_the_defaults_a_withdrawn_key_stops_working_within_15_minutes(jwks_server, rsa_key, monkeypatch):
    """The bound is the JWKS cache TTL plus the verified-token cache TTL; the defaults sum to 900 s."""
    import time

    clock = Clock()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + (clock.now - 1000.0))  # the token cache's clock
    jwks_server.publish(rsa_key)
    client = JWKSClient(jwks_server.url, clock=clock)
    verifier = JWTVerifier(jwks=client, audience="orders-api")
    assert client.cache_ttl + verifier.cache_ttl <= 15 * 60
    tok = rsa_key.sign(claims())
    verifier.verify(tok)  # t=0: keys fetched, token remembered
    jwks_server.publish(SigningKey("replacement"))  # the provider withdraws rsa-1 right away
    clock.now += client.cache_ttl - 1  # the worst case: verified again just before the key set expires
    verifier.verify(tok)
    clock.now += verifier.cache_ttl - 2  # still served from the verified-token cache
    verifier.verify(tok)
    clock.now += 3  # 15 minutes after the withdrawal: refused
    with pytest.raises(InvalidCredentials, match="rsa-1"):
        verifier.verify(tok)
