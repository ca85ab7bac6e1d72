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


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> DevServerProcess:
    root: Path = tmp_path_factory.mktemp("project")
    write_project(root)
    server = DevServerProcess(root, "--no-reload", env=FAST_QUEUE)
    yield server
    server.stop()
