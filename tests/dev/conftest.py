"""Fixtures: a tmp project and the real dev server running it in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from dev.dev_server_process import DevServerProcess, write_project

FAST_QUEUE = {
    "LIFT_DEV_VISIBILITY_TIMEOUT": "0.1",
    "LIFT_DEV_MAX_RECEIVE_COUNT": "3",
    "LIFT_DEV_TIME_SCALE": "120",
    "LIFT_DEV_TIMEOUT": "2",
}

# what a deployed function's environment holds with [tool.lift.cloud_map] health (lift.cloud_map_health),
# as if copied into the developer's shell: the dev server must never report to Cloud Map
DEPLOYED_CLOUD_MAP_HEALTH = {
    "LIFT_CLOUD_MAP_HEALTH_SCHEDULE": "shop-dev-cloudmap-health",
    "LIFT_CLOUD_MAP_SERVICE_ID": "srv-0123456789abcdef",
    "LIFT_CLOUD_MAP_INSTANCE_ID": "shop-dev",
    "AWS_ENDPOINT_URL_SERVICEDISCOVERY": "http://127.0.0.1:9",  # nothing listens: a call would fail
}


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> DevServerProcess:
    root: Path = tmp_path_factory.mktemp("project")
    write_project(root)
    server = DevServerProcess(root, "--no-reload", env={**FAST_QUEUE, **DEPLOYED_CLOUD_MAP_HEALTH})
    yield server
    server.stop()
