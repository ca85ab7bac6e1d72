"""The real servers the test session talks to: redis-server, AWS's DynamoDB Local and moto server.

They come from `lift.testing.services` (the same code users' tests get through the pytest plugin),
with DynamoDB Local looked up in this checkout's `.test-services/`, which
`scripts/install-test-services.sh` (run by `make test`) fills. When `LIFT_TEST_REDIS_URL` /
`LIFT_TEST_DYNAMODB_ENDPOINT` / `LIFT_TEST_MOTO_ENDPOINT` are set, those servers are used instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from lift.testing import services as _services
from lift.testing.services import ManagedProcess, ServiceError, free_port, start_moto_server, start_redis

__all__ = [
    "ManagedProcess",
    "ServiceError",
    "free_port",
    "start_dynamodb_local",
    "start_moto_server",
    "start_redis",
    "use_dummy_aws_credentials",
]

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / ".test-services"


def start_dynamodb_local() -> ManagedProcess:
    """DynamoDB Local from this checkout's `.test-services/` (installed by make test)."""
    return _services.start_dynamodb_local([SERVICES_DIR])


def use_dummy_aws_credentials() -> None:
    """Dummy credentials, kept as given when an outside DynamoDB endpoint is configured."""
    _services.use_dummy_aws_credentials(keep_existing=bool(os.environ.get("LIFT_TEST_DYNAMODB_ENDPOINT")))
