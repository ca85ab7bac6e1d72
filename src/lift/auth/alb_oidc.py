"""The user an Application Load Balancer authenticated (`authenticate-oidc` / `authenticate-cognito`).

The ALB passes the user's claims to its targets in `x-amzn-oidc-data`: a JWT it signs with ES256,
whose header names the load balancer (`signer`) and the key (`kid`). The key's PEM is served at
`https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`. Any client can send that header (to
a function URL, to API Gateway, to an ALB rule without the action), so it is believed only on an
ALB event, signed by the configured load balancer, with a signature that verifies against the key
fetched from the configured key URL, and not expired. `x-amzn-oidc-identity` and
`x-amzn-oidc-accesstoken` are never read: nothing signs them for the function.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from lift.auth.credentials import InvalidCredentials
from lift.auth.jwks import check_key_url, fetch_bytes
from lift.auth.tokens import MAX_TOKEN_LENGTH, _check_numeric_dates, _unverified_header, import_jwt

__all__ = ["ALB_OIDC_HEADER", "ALBOIDCVerifier"]

logger = logging.getLogger("lift.auth")

ALB_OIDC_HEADER = "x-amzn-oidc-data"
_KID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # (AWS names keys by UUID: no dots, no slashes)
_MAX_KEYS = 64


class ALBOIDCVerifier:
    """Verifies `x-amzn-oidc-data` as AWS documents; returns the user's claims."""

    def __init__(
        self,
        signer: str | Iterable[str],
        *,
        region: str | None = None,
        key_url: str | None = None,
        leeway: float = 30.0,
        timeout: float = 3.0,
        retry_unknown_after: float = 30.0,
        fetch: Callable[[str, float], bytes] = fetch_bytes,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.signers = frozenset([signer] if isinstance(signer, str) else signer)
        if not self.signers or not all(s.startswith("arn:") for s in self.signers):
            raise ValueError("signer= is the load balancer's ARN (arn:aws:elasticloadbalancing:...)")
        if key_url is None:
            if region is None:
                region = next(iter(self.signers)).split(":")[3]
            key_url = f"https://public-keys.auth.elb.{region}.amazonaws.com/{{kid}}"
        if "{kid}" not in key_url:
            raise ValueError(
                "key_url= needs a {kid} placeholder, like https://public-keys.auth.elb.<region>.amazonaws.com/{kid}"
            )
        check_key_url(key_url.replace("{kid}", "k"))
        self.key_url = key_url
        self.leeway = leeway
        self.timeout = timeout
        self.retry_unknown_after = retry_unknown_after
        self._jwt = import_jwt()
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}  # kid -> public key: a kid names one key for good
        self._missing: dict[str, float] = {}  # kid -> when its fetch failed (not asked again for a while)
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims when the token verifies; raises InvalidCredentials with the reason otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidCredentials("token too long")
        header = _unverified_header(token)
        if header.get("alg") != "ES256":
            raise InvalidCredentials(f"algorithm {header.get('alg')!r} is not the ALB's ES256")
        if header.get("signer") not in self.signers:
            raise InvalidCredentials(f"signed by {header.get('signer')!r}, not by the configured load balancer")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise InvalidCredentials("kid missing or malformed")
        jwt = self._jwt
        try:
            claims = jwt.decode(
                token, self._key(kid), algorithms=["ES256"], leeway=self.leeway, options={"require": ["exp"]}
            )
        except jwt.PyJWTError as exc:
            raise InvalidCredentials(f"{type(exc).__name__}: {exc}") from None
        except RecursionError:
            raise InvalidCredentials("malformed token payload: nested too deeply") from None
        _check_numeric_dates(claims)
        return claims

    def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:  # concurrent cold requests: one fetch per key, the others wait for it
            key = self._keys.get(kid)
            if key is not None:
                return key
            failed = self._missing.get(kid)
            if failed is not None and self._clock() - failed < self.retry_unknown_after:
                raise InvalidCredentials(f"no ALB key {kid!r} (its fetch failed moments ago)")
            url = self.key_url.replace("{kid}", kid)
            try:
                key = _load_pem(self._fetch(url, self.timeout))
            except Exception as exc:
                if len(self._missing) >= _MAX_KEYS:
                    self._missing.clear()
                self._missing[kid] = self._clock()
                logger.warning("ALB public key fetch from %s failed: %s", url, exc)
                raise InvalidCredentials(f"cannot fetch ALB key {kid!r}: {exc}") from None
            if len(self._keys) >= _MAX_KEYS:
                self._keys.clear()
            self._keys[kid] = key
            self._missing.pop(kid, None)
            return key


def _load_pem(data: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(data.strip())
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 public key")
    return key
