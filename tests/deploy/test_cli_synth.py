"""`lift synth`: the real command in a subprocess on a project directory."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

APP = """
from lift import App
from lift.middleware.idempotency import idempotency
from lift.stores.dynamodb import DynamoDBStore

app = App(name="notes")
app.use(idempotency(store=DynamoDBStore("notes-state", region="eu-west-1")))


@app.get("/notes/{note_id}")
def get_note(note_id: int) -> dict:
    return {"id": note_id}


@app.sqs("notes-imports")
def on_import(body: dict) -> None: ...


@app.schedule("notes-cleanup", rate="1 day")
def cleanup() -> None: ...
"""


def lift(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def project(tmp_path: Path, config: str) -> Path:
    (tmp_path / "notes.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(config))
    return tmp_path


CONFIG = """
[project]
name = "notes"
version = "0.1.0"

[tool.lift]
app = "notes:app"
region = "eu-west-1"

[tool.lift.stages.prod]
memory = 1024
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_synth_writes_json_and_yaml_and_summarises(tmp_path: Path) -> None:
    root = project(tmp_path, CONFIG)
    result = lift("synth", "prod", cwd=root)
    assert result.returncode == 0, result.stderr
    template = json.loads((root / ".lift/prod/template.json").read_text())
    assert (root / ".lift/prod/template.yaml").read_text().startswith("AWSTemplateFormatVersion")
    assert template["Resources"]["Function"]["Properties"]["MemorySize"] == 1024
    assert template["Resources"]["Function"]["Properties"]["Handler"] == "notes.app"
    assert "AWS::Scheduler::Schedule" in result.stdout and "sqs:ReceiveMessage" in result.stdout
    assert "dynamodb:PutItem" in result.stdout and "table/notes-state" in result.stdout


def test_synth_is_deterministic_across_processes(tmp_path: Path) -> None:
    root = project(tmp_path, CONFIG)
    hashes = []
    for out in ("a", "b"):
        assert lift("synth", "prod", "-o", out, "--format", "sam", cwd=root).returncode == 0
        hashes.append((digest(root / out / "template.json"), digest(root / out / "template.yaml")))
    assert hashes[0] == hashes[1]


def test_synth_json_summary(tmp_path: Path) -> None:
    root = project(tmp_path, CONFIG)
    result = lift("synth", "dev", "--json", cwd=root)
    summary = json.loads(result.stdout)
    assert summary["stack"] == "notes-dev"
    assert summary["resources"]["AWS::SQS::Queue"] == 2 and summary["resources"]["AWS::DynamoDB::Table"] == 1
    assert {"sid": "StoreNotesState", "role": "FunctionRole"}.items() <= next(
        r for r in summary["iam"] if r["sid"] == "StoreNotesState"
    ).items()


def test_a_config_mistake_exits_2_naming_file_table_and_key(tmp_path: Path) -> None:
    root = project(tmp_path, CONFIG + "\n[tool.lift.stages.prod.queues.notes-imports]\nbatchsize = 5\n")
    result = lift("synth", "prod", cwd=root)
    assert result.returncode == 2
    assert "pyproject.toml: [tool.lift.stages.prod.queues.notes-imports]: unknown key 'batchsize'" in result.stderr
    assert not (root / ".lift").exists()


def test_an_unknown_format_exits_2_naming_every_format(tmp_path: Path) -> None:
    result = lift("synth", "--format", "helm", cwd=project(tmp_path, CONFIG))
    assert result.returncode == 2
    assert "cloudformation, sam, terraform, pulumi, cdk" in result.stderr and not (tmp_path / ".lift").exists()


CROWDED_APP = """
from lift import App

app = App(name="crowd")


@app.get("/crowd")
def crowd() -> dict:
    return {}


for number in range(170):  # each consumed queue is 3 resources: the queue, its DLQ, the mapping
    app.sqs(f"crowd-{number}")(lambda body: None)
"""


def test_a_template_over_cloudformations_500_resources_is_refused_before_any_deploy(tmp_path: Path) -> None:
    (tmp_path / "crowd.py").write_text(CROWDED_APP)
    (tmp_path / "pyproject.toml").write_text(CONFIG.replace("notes:app", "crowd:app"))
    synth = lift("synth", "prod", cwd=tmp_path)
    assert synth.returncode == 2, synth.stdout + synth.stderr
    message = " ".join(synth.stderr.split())
    assert "crowd-prod has 519 resources, CloudFormation takes at most 500" in message
    assert "AWS::SQS::Queue 340" in message and "Split the app" in message
    assert not (tmp_path / ".lift/prod/template.json").exists()
    # lift deploy refuses it before packaging or calling AWS (every AWS call would fail: port 9)
    deploy = lift("deploy", "prod", "--yes", "--endpoint-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert deploy.returncode == 2 and "CloudFormation takes at most 500" in " ".join(deploy.stderr.split())
    assert "Traceback" not in deploy.stderr and not (tmp_path / ".lift/prod/package.zip").exists()
    # Terraform has no such quota: the same app is a module
    terraform = lift("synth", "prod", "--format", "terraform", cwd=tmp_path)
    assert terraform.returncode == 0, terraform.stderr
    assert (tmp_path / ".lift/prod/terraform/main.tf.json").exists()
