"""The checkers users trust, as the deploy tests run them: checkov (its own virtualenv, installed by
scripts/install-test-services.sh) and cfn-lint; and the checkov findings docs/deploy.md justifies."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.services import ROOT

INSTALL_HINT = "run `bash scripts/install-test-services.sh` (make test does it)"

CHECKOV_VERSION = "3.3.30"  # scripts/install-test-services.sh installs it in a virtualenv of its own
CHECKOV = Path(
    os.environ.get("LIFT_TEST_CHECKOV")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "lift"
    / f"checkov-{CHECKOV_VERSION}"
    / "bin"
    / "checkov"
)


def justified_checks(section: str = "Checkov findings") -> set[str]:
    """The checkov check ids a table of docs/deploy.md justifies: the section "Checkov findings"
    (CloudFormation) or "Terraform checkov findings"."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    found = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (CKV2?_AWS_\d+) \|", found, flags=re.M))


def checkov_failed(path: Path, framework: str, min_passed: int) -> set[str]:
    """The ids of the checks checkov fails on `path` (a file, or every file below a folder) with
    `framework` (cloudformation, terraform_json, or both separated by a space); asserts it parsed everything and really ran
    (more than `min_passed` checks passed)."""
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}; {INSTALL_HINT}", pytrace=False)
    target = ["-d", str(path)] if path.is_dir() else ["-f", str(path)]
    proc = subprocess.run(
        [
            str(CHECKOV),
            *target,
            "--framework",
            *framework.split(),
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sum(r["summary"]["parsing_errors"] for r in reports) == 0
    assert sum(r["summary"]["passed"] for r in reports) > min_passed  # checkov really read the files
    return {c["check_id"] for r in reports for c in r["results"]["failed_checks"]}


def cfn_lint(text: str, region: str = "eu-west-1") -> list[str]:
    """cfn-lint's findings (errors and warnings) on a template's JSON or YAML text."""
    from cfnlint.api import ManualArgs, lint

    return [str(m) for m in lint(text, config=ManualArgs(regions=[region]))]
