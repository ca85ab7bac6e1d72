"""Credentials a service client adds to each call: an API key, a bearer token, or SigV4.

    app.service("users", base_url=..., auth=ApiKey(os.environ["USERS_API_KEY"]))
    app.service("ledger", base_url=..., auth=BearerToken(lambda: tokens.get()))
    app.service("billing", base_url=..., auth=SigV4(region="eu-west-1"))   # IAM-authorized API Gateway

The caller's own token is forwarded instead with `forward_authorization=True` on the client.
SigV4 signs with botocore's signer and the function's credentials (boto3's default chain),
imported only when a SigV4 client makes its first call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Auth", "ApiKey", "BearerToken", "SigV4"]


class Auth:
    """Adds credentials to a request about to be sent (its headers are a plain dict)."""

    signs_body = False  # True when the final URL and body are needed (SigV4)
    headers: tuple[str, ...] = ()  # the headers it sets: never sent on to another origin by a redirect

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> None:
        raise NotImplementedError


class ApiKey(Auth):
    """`header: key` on every call (`x-api-key` by default, as API Gateway expects)."""

    def __init__(self, key: str | Callable[[], str], header: str = "x-api-key") -> None:
        self.key = key
        self.header = header
        self.headers = (header,)

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> None:
        headers[self.header] = self.key() if callable(self.key) else self.key


class BearerToken(Auth):
    """`Authorization: Bearer <token>`; `token` may be a callable (called per request, so it can refresh)."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self.token = token
        self.headers = ("Authorization",)

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> None:
        token = self.token() if callable(self.token) else self.token
        headers["Authorization"] = f"Bearer {token}"


class SigV4(Auth):
    """AWS Signature Version 4 for IAM-authorized APIs (`execute-api`, Lambda function URLs: `lambda`)."""

    signs_body = True
    headers = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")

    def __init__(self, region: str | None = None, service: str = "execute-api", credentials: Any = None) -> None:
        self.region = region
        self.service = service
        self._credentials = credentials
        self._session: Any = None

    def _frozen_credentials(self) -> Any:
        if self._credentials is not None:
            return self._credentials
        if self._session is None:
            try:
                import botocore.session
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError('SigV4 needs botocore: pip install "lift-lambda[aws]"') from exc
            self._session = botocore.session.get_session()
        credentials = self._session.get_credentials()
        if credentials is None:
            raise RuntimeError("SigV4: no AWS credentials found (environment, profile or role)")
        return credentials  # botocore refreshes temporary credentials by itself

    def apply(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> None:
        import os

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        SigV4Auth(self._frozen_credentials(), self.service, region).add_auth(request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = request.headers.get(name)
            if value is not None:
                headers[name] = value
