"""In-process reload: only the project's modules are re-imported; a bad edit keeps the last good app."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest

import lift
from lift.dev.loader import AppLoader, AppRefError, import_app

SOURCE = """
import msgspec
from lift import App
from loaderproj.helpers import GREETING

app = App(name=GREETING)
"""


def project(root: Path, greeting: str) -> None:
    pkg = root / "loaderproj"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(SOURCE)
    (pkg / "helpers.py").write_text(f"GREETING = {greeting!r}\n")


@pytest.fixture
def loader(tmp_path: Path) -> AppLoader:
    project(tmp_path, "first")
    loader = AppLoader("loaderproj.main:app", tmp_path)
    yield loader
    for name in [n for n in sys.modules if n.startswith("loaderproj")]:
        del sys.modules[name]
    sys.path.remove(str(tmp_path.resolve()))


def test_reload_reimports_project_modules_only(loader: AppLoader, tmp_path: Path) -> None:
    assert loader.load() and loader.app.name == "first"
    first_app = loader.app
    (tmp_path / "loaderproj" / "helpers.py").write_text("GREETING = 'second'\n")
    assert loader.load()
    assert loader.app.name == "second" and loader.app is not first_app
    assert loader.generation == 2
    assert sys.modules["msgspec"] is msgspec and sys.modules["lift"] is lift  # installed packages and Lift stay


def test_a_failed_import_keeps_the_last_good_app_and_records_the_error(loader: AppLoader, tmp_path: Path) -> None:
    assert loader.load()
    good = loader.app
    (tmp_path / "loaderproj" / "helpers.py").write_text("GREETING = (\n")
    assert not loader.load()
    assert loader.app is good
    assert "SyntaxError" in loader.error and "helpers.py" in loader.error
    (tmp_path / "loaderproj" / "helpers.py").write_text("GREETING = 'fixed'\n")
    assert loader.load() and loader.error is None and loader.app.name == "fixed"


def test_bad_references_name_the_problem(loader: AppLoader) -> None:
    with pytest.raises(AppRefError, match="expected 'module:attr'"):
        import_app(":app")
    with pytest.raises(AppRefError, match="has no attribute 'nope'"):
        import_app("loaderproj.main:nope")
    with pytest.raises(AppRefError, match="not a Lift App"):
        import_app("loaderproj.main:GREETING")
    with pytest.raises(ModuleNotFoundError):
        import_app("no_such_module_here:app")


def test_same_size_edits_within_one_second_are_not_served_from_stale_bytecode(
    loader: AppLoader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on a developer's machine
    helpers = tmp_path / "loaderproj" / "helpers.py"
    for greeting in ("aaa", "bbb", "ccc", "ddd"):  # same size, same second
        helpers.write_text(f"GREETING = {greeting!r}\n")
        assert loader.load()
        assert loader.app.name == greeting
