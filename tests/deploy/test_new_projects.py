"""`lift new` projects carry a [tool.lift] section and deploy without edits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lift.cli.templates import TEMPLATES


def lift(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args], cwd=cwd, capture_output=True, text=True, env=full, timeout=300
    )


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_a_new_project_synthesizes_a_lint_clean_template(tmp_path: Path, template: str) -> None:
    from cfnlint.api import ManualArgs, lint

    assert lift("new", "svc", "--template", template, cwd=tmp_path).returncode == 0
    root = tmp_path / "svc"
    result = lift("synth", "prod", cwd=root)
    assert result.returncode == 0, result.stderr
    text = (root / ".lift" / "prod" / "template.yaml").read_text()
    assert [str(m) for m in lint(text, config=ManualArgs(regions=["us-east-1"]))] == []
    prod = json.loads((root / ".lift" / "prod" / "template.json").read_text())
    assert prod["Resources"]["Function"]["Properties"]["MemorySize"] == 1024  # the prod stage of [tool.lift]


def test_a_new_api_project_deploys_to_moto_without_edits(tmp_path: Path, moto_endpoint: str) -> None:
    name = f"new{uuid.uuid4().hex[:8]}"
    assert lift("new", name, "--template", "api", cwd=tmp_path).returncode == 0
    root = tmp_path / name
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_REGION": "us-east-1"}
    result = lift("deploy", "dev", "--yes", cwd=root, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created" in result.stdout
