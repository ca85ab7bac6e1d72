"""The bench's packaged app (bench/packaged.py): the Lift app as `lift package` ships it, which
instructions.py and cold_start.py measure as their `+package` rows (no timing here)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

RUN = r"""
import json, sys
sys.path.append(sys.argv[1])  # (bench/events.py, after the package)
import lift, lift_app, msgspec
from events import LambdaContext, measured_events
answer = lift_app.handler(measured_events()["GET /users/{id}"], LambdaContext())
print(json.dumps({
    "status": answer["statusCode"],
    "files": [lift.__file__, msgspec.__file__, lift_app.__file__],
    "loader": type(sys.modules["lift.app"].__spec__.loader).__name__,
}))
"""


@pytest.fixture(scope="module")
def packaged_module():
    sys.path.insert(0, str(BENCH))
    try:
        import packaged
        import venvs
    finally:
        sys.path.remove(str(BENCH))
    return packaged, venvs


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "no-compile"])
def test_the_packaged_app_answers_from_its_own_folder(packaged_module, compiled: bool) -> None:
    packaged, _ = packaged_module
    root = packaged.build(sys.executable, compiled=compiled)
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(BENCH)], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["status"] == 200
    assert all(Path(f).is_relative_to(root) for f in seen["files"]), seen["files"]
    assert seen["loader"] == ("CoreBundle" if compiled else "SourceFileLoader")
    bundles = list((root / "lift").glob("_core.*.bundle"))
    assert bundles == ([root / "lift" / f"_core.{sys.implementation.cache_tag}.bundle"] if compiled else [])
    assert (root / "__pycache__").is_dir() is compiled
    # the third-party modules the test's virtualenv has go into the package, as pip would put them
    has_te = importlib.util.find_spec("typing_extensions") is not None
    assert (root / "typing_extensions.py").is_file() is has_te
    assert not list(root.glob("msgspec/**/*.pyc")) or compiled


def test_bench_keys_name_their_python_and_packaging(packaged_module) -> None:
    _, venvs = packaged_module
    assert venvs.parse("lift_app") == ("lift_app", "", False)
    assert venvs.parse("lift_app+package") == ("lift_app", "", True)
    assert venvs.parse("lift_app@lift-only+package") == ("lift_app", "lift-only", True)
    assert venvs.parse("chalice_app@py3.12") == ("chalice_app", "py3.12", False)
    assert venvs.parse("lift_app@py3.13-lift-only+package") == ("lift_app", "py3.13-lift-only", True)
