"""Lift installs under its own name (`lift-lambda`), and a project made by `lift new` installs and passes
its tests with the commands its own README gives.

Nothing is published yet, so Lift is built from this checkout into a wheel that pip finds through
`PIP_FIND_LINKS`, exactly as it would find it on PyPI; every other package comes from the registry."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# the extras that are not a runtime feature (pulumi, cdk: infrastructure SDKs of hundreds of MB, not in `all`)
NOT_RUNTIME = {"all", "test", "pulumi", "cdk"}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lift built from a copy of this checkout (so the build leaves nothing in the work tree)."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "src", checkout / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    wheels = tmp_path_factory.mktemp("wheels")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(checkout)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return wheels


def test_the_distribution_is_lift_lambda_and_ships_its_files(wheel_dir: Path) -> None:
    (wheel,) = wheel_dir.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert re.search(r"^Name: lift-lambda$", metadata, re.M)
    assert "lift/__init__.py" in names and "lift/py.typed" in names  # imported as `lift`
    assert {"lift/dev/static/dashboard.html", "lift/dev/static/dashboard.js"} <= names
    assert not any(re.match(r"Requires-Dist: lift\[", line) for line in metadata.splitlines())


def test_package_data_names_only_files_that_exist() -> None:
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            assert list((ROOT / "src" / package).glob(pattern)), f"{package}: {pattern} matches no file"


def test_all_is_every_runtime_extra_and_each_is_documented() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    (everything,) = extras["all"]
    name, _, listed = everything.partition("[")
    assert name == PYPROJECT["project"]["name"] == "lift-lambda"
    assert set(listed.rstrip("]").split(",")) == set(extras) - NOT_RUNTIME
    readme = (ROOT / "README.md").read_text()
    for extra in extras:
        assert f"| `{extra}` |" in readme, f"the README's extras table does not describe [{extra}]"


def test_no_install_hint_names_the_wrong_distribution() -> None:
    """`pip install "lift[...]"` installs an unrelated PyPI project: every hint says lift-lambda."""
    wrong = re.compile(r"""pip install ["']?lift(\[|["'\s]|$)""", re.M)
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "src" / "lift").rglob("*.py")]
    offenders = [str(path.relative_to(ROOT)) for path in files if wrong.search(path.read_text())]
    assert offenders == []


def _readme_install_commands(readme: str) -> str:
    """The README's first bash block, up to and including its `pytest` line, without comments."""
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        command = line.split("  #", 1)[0].strip()
        if command:
            commands.append(command)
        if command == "pytest":
            return "\n".join(commands)
    raise AssertionError(f"no pytest command in the README's dev loop:\n{block}")


# (a pip install into a new virtualenv and the project's own test run: minutes on a busy machine, where
# the suite's 120 s default stopped it; the commands below carry their own bounds)
@pytest.mark.timeout(900)
def test_new_project_installs_and_passes_its_tests_with_its_readme_commands(wheel_dir: Path, tmp_path: Path) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "lift.cli", "new", "shop", "--template", "events"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    project = tmp_path / "shop"
    script = _readme_install_commands((project / "README.md").read_text())
    assert 'pip install -e ".[dev]"' in script
    bin_dir = tmp_path / "bin"  # `python` in the README is this test's interpreter
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "VIRTUAL_ENV", "PYTHON", "PIP_FIND"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_FIND_LINKS"] = " ".join([str(wheel_dir), os.environ.get("PIP_FIND_LINKS", "")]).strip()
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script + "\nlift routes --json\n"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert re.search(r"\b\d+ passed", run.stdout) and "failed" not in run.stdout, output
    installed = (project / ".venv" / "bin" / "python").resolve()
    assert installed.exists()
    show = subprocess.run(
        [str(project / ".venv" / "bin" / "pip"), "show", "lift-lambda"], capture_output=True, text=True
    )
    assert show.returncode == 0 and "Name: lift-lambda" in show.stdout, show.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_dev_says_how_to_use_the_lift_command_it_installed() -> None:
    dry_run = subprocess.run(["make", "-n", "dev"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    assert ". .venv/bin/activate" in dry_run.stdout and "lift send sqs user-imports" in dry_run.stdout
