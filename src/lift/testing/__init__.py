"""Testing support: a TestClient that sends real AWS-shaped events, and event builders."""

from lift.testing import events
from lift.testing.assertions import assert_batch_failures
from lift.testing.client import TestClient, TestResponse
from lift.testing.context import FrozenLambdaContext, LambdaContext, frozen_lambda_context, lambda_context

__all__ = [
    "FrozenLambdaContext",
    "LambdaContext",
    "TestClient",
    "TestResponse",
    "assert_batch_failures",
    "events",
    "frozen_lambda_context",
    "lambda_context",
]
