"""Testing support: a TestClient that sends real AWS-shaped events, and event builders."""

from lift.testing import events
from lift.testing.client import TestClient, TestResponse
from lift.testing.context import LambdaContext, lambda_context

__all__ = ["TestClient", "TestResponse", "events", "lambda_context", "LambdaContext"]
