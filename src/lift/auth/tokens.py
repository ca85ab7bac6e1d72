"""JWT verification with PyJWT: HMAC secrets, PEM public keys or a JWKS URL.

The algorithms a verifier accepts are fixed by its key type at configuration time (an
HMAC secret never verifies an RS256 token and a public key never an HS256 one), so
algorithm-confusion tokens fail. PyJWT and cryptography are imported when a verifier
is built, never by `import lift`.

Verified tokens are remembered (like API Gateway's authorizer cache, for at most
`cache_ttl` seconds and never past their own `exp`), so a client reusing its token on a
warm Lambda pays for the signature check once, not on every request.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from lift.auth.credentials import InvalidCredentials
from lift.auth.jwks import JWKSClient, JWKSUnavailable, KeyNotFound

__all__ = ["JWTVerifier", "import_jwt"]

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
_FAMILY_KTY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_TOKEN_LENGTH = 16 * 1024


def import_jwt() -> Any:
    """PyJWT, or an ImportError that says which extra to install."""
    try:
        import jwt
        from jwt import algorithms
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('JWT authentication needs PyJWT: pip install "lift-lambda[jwt]"') from exc
    if not getattr(algorithms, "has_crypto", True):
        raise ImportError('JWT RS/ES/PS algorithms need cryptography: pip install "lift-lambda[jwt]"')
    return jwt


class JWTVerifier:
    """Verifies a JWT's signature and its iss/aud/exp/nbf claims; returns the claims."""

    def __init__(
        self,
        *,
        secret: str | bytes | None = None,
        public_key: str | bytes | None = None,
        jwks_url: str | None = None,
        jwks: JWKSClient | None = None,
        algorithms: Iterable[str] | None = None,
        issuer: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        leeway: float = 30.0,
        require: Iterable[str] = ("exp",),
        expect: Mapping[str, Any] | None = None,
        cache_size: int = 1024,
        cache_ttl: float = 300.0,
    ) -> None:
        sources = [s for s in (secret, public_key, jwks_url, jwks) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of secret=, public_key=, jwks_url= or jwks=")
        self._jwt = import_jwt()
        self._key: Any = None
        self._jwks = JWKSClient(jwks_url) if jwks_url is not None else jwks
        self._jwk_keys: dict[tuple[str | None, str], tuple[dict[str, Any], Any]] = {}
        if secret is not None:
            self.algorithms = _checked(algorithms or ("HS256",), HMAC_ALGORITHMS, "an HMAC secret")
            self._key = secret.encode() if isinstance(secret, str) else secret
        elif public_key is not None:
            self._key = _load_public_key(public_key)
            algorithms = algorithms or (_default_algorithm(self._key),)
            self.algorithms = _checked(algorithms, ASYMMETRIC_ALGORITHMS, "a public key")
        else:
            self.algorithms = _checked(algorithms or ("RS256",), ASYMMETRIC_ALGORITHMS, "a JWKS")
        self.issuer = issuer if issuer is None or isinstance(issuer, str) else list(issuer)
        self.audience = audience if audience is None or isinstance(audience, str) else list(audience)
        self.leeway = leeway
        self.require = list(require)
        self.expect = dict(expect or {})
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        self._verified: dict[str, tuple[dict[str, Any], float]] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def cognito(
        cls, region: str, user_pool_id: str, client_id: str | None = None, token_use: str = "id", **options: Any
    ) -> JWTVerifier:
        """A verifier for a Cognito user pool's ID tokens (aud = client) or access tokens (client_id)."""
        if token_use == "id" and not client_id:
            # every ID token carries aud (the app client): with no audience to match, each would be a 401
            raise ValueError("Cognito ID tokens are checked against their app client: pass client_id=")
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        expect = {"token_use": token_use, **options.pop("expect", {})}
        if client_id and token_use == "access":
            expect["client_id"] = client_id
        audience = client_id if token_use == "id" else None
        return cls(
            jwks_url=f"{issuer}/.well-known/jwks.json", issuer=issuer, audience=audience, expect=expect, **options
        )

    @classmethod
    def auth0(cls, domain: str, audience: str, **options: Any) -> JWTVerifier:
        """A verifier for an Auth0 tenant's access tokens for one API (audience)."""
        issuer = f"https://{domain}/"
        return cls(jwks_url=f"{issuer}.well-known/jwks.json", issuer=issuer, audience=audience, **options)

    @classmethod
    def okta(cls, issuer: str, audience: str, **options: Any) -> JWTVerifier:
        """A verifier for an Okta authorization server (issuer like https://x.okta.com/oauth2/default)."""
        issuer = issuer.rstrip("/")
        return cls(jwks_url=f"{issuer}/v1/keys", issuer=issuer, audience=audience, **options)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims when it verifies; raises InvalidCredentials with the reason otherwise."""
        cached = self._verified.get(token)
        if cached is not None:
            now = time.time()
            if now < cached[1] and self._still_valid(cached[0], now):
                return cached[0]
            self._verified.pop(token, None)
        claims = self._verify(token)
        if self.cache_size > 0:
            self._remember(token, claims)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        jwt = self._jwt
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidCredentials("token too long")
        header = _unverified_header(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidCredentials(f"algorithm {alg!r} not allowed (allowed: {', '.join(self.algorithms)})")
        key = self._key if self._jwks is None else self._key_from_jwks(header.get("kid"), alg)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": self.require},
            )
        except jwt.PyJWTError as exc:
            raise InvalidCredentials(f"{type(exc).__name__}: {exc}") from None
        except RecursionError:  # a signed payload nested past the JSON parser's depth limit
            raise InvalidCredentials("malformed token payload: nested too deeply") from None
        _check_numeric_dates(claims)
        self._check_expected(claims)
        return claims

    def _key_from_jwks(self, kid: Any, alg: str) -> Any:
        if kid is not None and not isinstance(kid, str):
            raise InvalidCredentials("kid is not a string")
        try:
            jwk = self._jwks.get(kid)  # type: ignore[union-attr]
        except KeyNotFound as exc:
            raise InvalidCredentials(str(exc)) from None
        except JWKSUnavailable as exc:
            raise InvalidCredentials(str(exc)) from None
        cached = self._jwk_keys.get((kid, alg))
        if cached is not None and cached[0] is jwk:
            return cached[1]
        if jwk.get("alg") not in (None, alg):
            raise InvalidCredentials(f"token alg {alg} does not match key {kid!r} alg {jwk.get('alg')}")
        if jwk.get("kty") != _FAMILY_KTY.get(alg[:2]):
            raise InvalidCredentials(f"token alg {alg} does not fit key {kid!r} of type {jwk.get('kty')}")
        try:
            key = self._jwt.PyJWK(jwk, algorithm=alg).key
        except (self._jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidCredentials(f"unusable JWK {kid!r}: {exc}") from None
        self._jwk_keys[(kid, alg)] = (jwk, key)
        return key

    def _still_valid(self, claims: Mapping[str, Any], now: float) -> bool:
        """exp and nbf (with leeway) for a token verified earlier; the rest cannot change."""
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if exp is not None and now >= exp + self.leeway:
            return False
        return nbf is None or now >= nbf - self.leeway

    def _remember(self, token: str, claims: dict[str, Any]) -> None:
        with self._cache_lock:
            while len(self._verified) >= self.cache_size:
                self._verified.pop(next(iter(self._verified)))  # oldest first
            self._verified[token] = (claims, time.time() + self.cache_ttl)

    def _check_expected(self, claims: Mapping[str, Any]) -> None:
        for name, wanted in self.expect.items():
            value = claims.get(name)
            allowed = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else (wanted,)
            if value not in allowed:
                raise InvalidCredentials(f"claim {name!r} is {value!r}, expected {wanted!r}")


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, to pick the key; PyJWT's decode validates the whole token again."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError) as exc:
        raise InvalidCredentials(f"malformed token header: {exc}") from None
    except RecursionError:  # an 11 KB header can nest thousands of levels: refused, not a 500
        raise InvalidCredentials("malformed token header: nested too deeply") from None
    if not isinstance(header, dict):
        raise InvalidCredentials("malformed token header: not an object")
    return header


_NUMERIC_DATES = ("exp", "nbf", "iat")
_MAX_DATE = 2**63  # far past any real date, and within what a float compares with


def _check_numeric_dates(claims: Mapping[str, Any]) -> None:
    """exp, nbf and iat must be JSON numbers (RFC 7519 NumericDate). PyJWT accepts "1700000000"
    (it calls int()); the verified-token cache compares them with floats, so a string is refused
    here, the first time, instead of passing once and failing on reuse."""
    for name in _NUMERIC_DATES:
        value = claims.get(name)
        if value is not None and (value.__class__ is bool or not isinstance(value, int | float)):
            raise InvalidCredentials(f"claim {name!r} is not a number (NumericDate)")
        if value.__class__ is int and not -_MAX_DATE < value < _MAX_DATE:  # 10**400: no float holds it, and
            raise InvalidCredentials(f"claim {name!r} is out of range")  # the cached token's check raised


def _checked(algorithms: Iterable[str], allowed: frozenset[str], what: str) -> tuple[str, ...]:
    chosen = tuple(algorithms)
    wrong = [alg for alg in chosen if alg not in allowed]
    if wrong or not chosen:
        raise ValueError(f"algorithms {wrong or chosen} cannot be used with {what}; choose from {sorted(allowed)}")
    return chosen


def _load_public_key(pem: str | bytes) -> Any:
    """A cryptography public key from a PEM public key or X.509 certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = pem.encode() if isinstance(pem, str) else pem
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    if b"PRIVATE KEY" in data:
        raise ValueError("public_key= got a private key; pass the public key (or certificate) only")
    return serialization.load_pem_public_key(data)


def _default_algorithm(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise ValueError(f"unsupported public key type {type(key).__name__}")
