"""A stand-in for the Lambda context object, with a real deadline."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CognitoIdentity", "FrozenLambdaContext", "LambdaContext", "frozen_lambda_context", "lambda_context"]


@dataclass
class CognitoIdentity:
    """`context.identity`: set for calls from the AWS Mobile SDK with Cognito credentials, else Nones."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass
class LambdaContext:
    """Has the attributes and methods of the context Lambda passes to a handler (the Python runtime's
    `memory_limit_in_mb` is a string, read from an environment variable)."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: str | int = "512"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""  # (default: /aws/lambda/<function_name>, as Lambda names it)
    log_stream_name: str = "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef"
    timeout_ms: int = 30_000
    region: str = "us-east-1"
    account_id: str = "123456789012"
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: Any = None  # (the mobile SDK's client context; None otherwise)
    tenant_id: str | None = None  # (set for functions in tenant isolation mode)
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_ms / 1000
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(**kwargs: object) -> LambdaContext:
    """A fresh fake Lambda context (a new request id each call)."""
    return LambdaContext(**kwargs)  # type: ignore[arg-type]


@dataclass
class FrozenLambdaContext(LambdaContext):
    """A Lambda context whose remaining time never moves: for testing code that decides by the time
    left (timeouts derived from it, load shedding, `ctx.remaining_ms`) without sleeping."""

    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def frozen_lambda_context(remaining_ms: int = 30_000, **kwargs: object) -> FrozenLambdaContext:
    """A fake Lambda context that always reports `remaining_ms` milliseconds left."""
    return FrozenLambdaContext(remaining_ms=remaining_ms, **kwargs)  # type: ignore[arg-type]
