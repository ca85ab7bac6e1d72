"""An error AWS gives a `lift` command (a refusal, no credentials, an endpoint that cannot be reached)
is one line naming it, exit 1, never a traceback; a Lift bug keeps its traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

APP = """from lift import App

app = App(name="shop")


@app.get("/")
def home() -> dict:
    return {}
"""


def _lift(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "COLUMNS": "200", "NO_COLOR": "1", "AWS_MAX_ATTEMPTS": "1", **env},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text('[tool.lift]\napp = "app:app"\nregion = "us-east-1"\n')
    return tmp_path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_endpoint_that_cannot_be_reached_is_one_line(project: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = _lift(project, "destroy", "dev", "--yes", "--endpoint-url", endpoint, **keys)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    first, hint = result.stderr.strip().splitlines()
    assert first.startswith("Error: the call to AWS failed: EndpointConnectionError: ") and endpoint in first
    assert hint.startswith("(check the credentials")


def test_no_credentials_is_one_line(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    empty = tmp_path_factory.mktemp("no-aws")
    result = _lift(
        project,
        "destroy",
        "dev",
        "--yes",
        AWS_SHARED_CREDENTIALS_FILE=str(empty / "credentials"),
        AWS_CONFIG_FILE=str(empty / "config"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("Error: the call to AWS failed: NoCredentialsError: Unable to locate credentials")


def test_an_aws_refusal_names_the_operation_code_message_and_request_id(moto_server: Any) -> None:
    """The error botocore raises for moto's refusal (a stack that does not exist), as the CLI prints it."""
    import boto3
    from botocore.exceptions import ClientError

    from lift.cli import aws_failure

    cfn = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        endpoint_url=moto_server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(ClientError) as raised:
        cfn.describe_stacks(StackName="no-such-stack")
    line = aws_failure(raised.value)
    assert line is not None and line.startswith("Error: AWS refused DescribeStacks: ValidationError: ")
    assert "no-such-stack" in line and "request id " in line
    assert aws_failure(ValueError("a bug in Lift")) is None
