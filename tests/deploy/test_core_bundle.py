"""The core bundle `lift package` writes: the modules `import lift` loads, read from one file by the
packaged lift/__init__.py; with a bundle this interpreter or this Lift cannot use, the ordinary import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lift
from lift.deploy.package import _TOOLING, CORE_MODULES, _copy_tree, packaged_init, write_core_bundle

# Run in the packaged copy: how each lift module was loaded, what `import lift` left behind, and
# that the packaged lift works (an app's answers, a star import, pickling, a traceback's file and line)
PROBE = r"""
import json, pickle, sys, traceback
import lift
loaders = {m: type(mod.__spec__.loader).__name__ for m, mod in sys.modules.items() if m.startswith("lift")}
finders = [type(f).__name__ for f in sys.meta_path]
namespace = {}
exec("from lift import *", namespace)
from lift import App, Context
from lift.errors import NotFound
from lift.testing import TestClient

app = App(name="packaged")

@app.get("/users/{user_id}")
def get_user(ctx: Context, user_id: int) -> dict:
    return {"id": user_id}

client = TestClient(app)
try:
    app.get("/bad")(lambda ctx, nope: None)  # a declaration mistake still raises at registration
    mistake = None
except TypeError as exc:
    mistake = str(exc)
try:
    lift.routing.parse_template("/a/{x:int}")
except ValueError:
    frame = traceback.extract_tb(sys.exc_info()[2])[-1]
print(json.dumps({
    "loaders": loaders,
    "finders": finders,
    "star": sorted(k for k in namespace if not k.startswith("__")),
    "names": sorted(k for k in vars(lift) if k.startswith("_core") or k == "_sys"),
    "answer": client.get("/users/7").json(),
    "missing": client.get("/nope").status_code,
    "mistake": mistake,
    "pickled": repr(pickle.loads(pickle.dumps(NotFound("gone")))),
    "files": {m: sys.modules[m].__file__ for m in ("lift.app", "lift.sources")},
    "cached": sys.modules["lift.app"].__cached__,
    "traceback": [frame.filename, frame.line],
}))
"""


def probe(root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def packaged(tmp_path: Path) -> Path:
    """lift's runtime part copied as `lift package` copies it, with its core bundle written by this
    interpreter (the target Python of the test)."""
    _copy_tree(Path(lift.__file__).parent, tmp_path / "lift", skip_top=tuple(t for t in _TOOLING if t != "testing"))
    note = write_core_bundle(tmp_path, sys.executable, str(tmp_path))
    assert note == "; lift's core modules bundled", note
    return tmp_path


def test_the_core_modules_are_the_ones_import_lift_loads() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys, lift; print(sorted(m for m in sys.modules if m.startswith('lift.')))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(sorted(CORE_MODULES))


def test_the_packaged_lift_reads_its_core_modules_from_the_bundle(packaged: Path) -> None:
    seen = probe(packaged)
    assert {m: seen["loaders"][m] for m in CORE_MODULES} == dict.fromkeys(CORE_MODULES, "CoreBundle")
    assert seen["loaders"]["lift"] == "SourceFileLoader"
    assert "CoreBundle" not in seen["finders"]  # it leaves sys.meta_path once it has served them all
    assert seen["names"] == []  # nothing of the loader left in the package's namespace
    assert seen["star"] == sorted(lift.__all__)
    assert seen["answer"] == {"id": 7} and seen["missing"] == 404
    assert seen["mistake"] and "Cannot inject parameter 'nope'" in seen["mistake"]
    assert seen["pickled"] == repr(lift.errors.NotFound("gone"))
    assert seen["files"] == {
        "lift.app": str(packaged / "lift" / "app.py"),
        "lift.sources": str(packaged / "lift" / "sources" / "__init__.py"),
    }
    assert seen["cached"] == str(packaged / "lift" / "__pycache__" / f"app.{sys.implementation.cache_tag}.pyc")
    filename, line = seen["traceback"]
    assert filename == str(packaged / "lift" / "routing.py") and line.startswith("raise ValueError(")


@pytest.mark.parametrize("damage", ["other lift", "other python", "no bundle", "truncated"])
def test_a_bundle_this_lift_or_python_cannot_use_is_passed_over(packaged: Path, damage: str) -> None:
    bundle = packaged / "lift" / f"_core.{sys.implementation.cache_tag}.bundle"
    init = packaged / "lift" / "__init__.py"
    if damage == "other lift":
        text = init.read_text()
        init.write_text(
            text.replace(f"_core_bundle(__path__[0], {lift.__version__!r})", "_core_bundle(__path__[0], '0.0.1')")
        )
    elif damage == "other python":
        bundle.write_bytes(b"\x00\x00\r\n" + bundle.read_bytes()[4:])
    elif damage == "no bundle":
        bundle.unlink()
    else:
        bundle.write_bytes(bundle.read_bytes()[:1000])
    seen = probe(packaged)
    assert {m: seen["loaders"][m] for m in CORE_MODULES} == dict.fromkeys(CORE_MODULES, "SourceFileLoader")
    assert "CoreBundle" not in seen["finders"]
    assert seen["answer"] == {"id": 7} and seen["star"] == sorted(lift.__all__)


def test_the_packaged_init_keeps_the_original_module_after_its_docstring() -> None:
    original = Path(lift.__file__).read_text()
    text = packaged_init(original, "1.2.3")
    compile(text, "__init__.py", "exec")  # valid Python
    assert text.startswith(original.split('"""', 2)[0] + '"""' + original.split('"""', 2)[1] + '"""')
    assert original.split('"""', 2)[2].strip() in text
    assert "_core_bundle(__path__[0], '1.2.3')" in text


def test_a_bundle_for_each_python_shares_one_loader(packaged: Path) -> None:
    """Bundling again (another target Python) writes its bundle and leaves the one loader in place."""
    before = (packaged / "lift" / "__init__.py").read_text()
    assert write_core_bundle(packaged, sys.executable, str(packaged)) == "; lift's core modules bundled"
    assert (packaged / "lift" / "__init__.py").read_text() == before
    assert before.count("def _core_bundle(") == 1
    assert probe(packaged)["loaders"]["lift.app"] == "CoreBundle"
