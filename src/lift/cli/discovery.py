"""Finding and importing the user's App from `module:attr`, pyproject, or app.py/main.py."""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AppNotFound", "AppImportFailed", "AppRef", "find_app_ref", "import_traceback", "load_app"]

_CANDIDATES = ("app", "main")
_LIFT_DIR = str(Path(__file__).resolve().parents[1]) + os.sep
_IMPORTLIB_DIR = str(Path(importlib.__file__).resolve().parent) + os.sep


class AppNotFound(Exception):
    """No app could be located from the reference given (a usage error, exit code 2)."""


class AppImportFailed(Exception):
    """The app's module was found but raised while importing (a runtime failure, exit code 1)."""


@dataclass(frozen=True)
class AppRef:
    """Where an app lives: `module:attr`, importable with `root` on sys.path."""

    module: str
    attr: str
    root: Path

    def __str__(self) -> str:
        return f"{self.module}:{self.attr}"

    @property
    def handler(self) -> str:
        """The Lambda handler string (`module.attr`; an App is callable as `handler(event, context)`)."""
        return f"{self.module}.{self.attr}"


def _pyproject_app(root: Path) -> str | None:
    path = root / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise AppNotFound(f"Cannot read {path}: {exc}") from None
    value = data.get("tool", {}).get("lift", {}).get("app")
    return str(value) if value else None


def find_app_ref(ref: str | None, cwd: str | os.PathLike[str] | None = None) -> AppRef:
    """Resolve `ref` (`module:attr`, `module`, `path/file.py[:attr]`) or discover one in `cwd`."""
    root = Path(cwd or os.getcwd()).resolve()
    if not ref:
        ref = _pyproject_app(root)
    if not ref:
        for base in (root, root / "src"):
            for name in _CANDIDATES:
                if (base / f"{name}.py").is_file():
                    return AppRef(name, "app", base)
        raise AppNotFound(
            f"No app found in {root}: pass APP as module:attr (e.g. myservice.app:app), add "
            f'[tool.lift] app = "module:attr" to pyproject.toml, or create app.py with an `app`.'
        )
    module, _, attr = ref.partition(":")
    attr = attr or "app"
    if module.endswith(".py"):
        path = (root / module).resolve()
        if not path.is_file():
            raise AppNotFound(f"App file {module} does not exist")
        _refuse_stdlib_name(path.stem, path.parent)
        return AppRef(path.stem, attr, path.parent)
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise AppNotFound(f"Invalid app reference {ref!r}: expected module:attr, e.g. myservice.app:app")
    _refuse_stdlib_name(module, root)
    return AppRef(module, attr, _module_root(module.split(".")[0], root))


def _module_root(top: str, root: Path) -> Path:
    """Where module `top` lives: `root`, or `root/src` for a src layout (`src/myservice/app.py` named
    as `myservice.app:app`), as app.py and main.py are looked for in both."""
    for base in (root, root / "src"):
        if (base / f"{top}.py").is_file() or (base / top).is_dir():
            return base
    return root  # (installed, or not there: the import says which)


def _refuse_stdlib_name(module: str, root: Path) -> None:
    """An app module named like a standard library one (queue.py, email.py, types.py) is imported in
    its place, or hides it from everything else in the process (the dev server, the Lambda runtime)."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        raise AppNotFound(
            f"The app module {top!r} has the name of a standard library module: one would be imported in "
            f"place of the other (here and on Lambda). Rename {top}.py (or the {top}/ package) in {root}"
        )


def load_app(ref: str | None, cwd: str | os.PathLike[str] | None = None) -> tuple[Any, AppRef]:
    """Import and return the App named by `ref` (see `find_app_ref`) and where it came from."""
    app_ref = find_app_ref(ref, cwd)
    root = str(app_ref.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(app_ref.module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == app_ref.module or app_ref.module.startswith(exc.name + ".")):
            raise AppNotFound(f"Cannot find module {app_ref.module!r} (looked in {root})") from None
        raise AppImportFailed(f"Importing {app_ref.module} failed: {exc}") from exc
    except Exception as exc:
        raise AppImportFailed(f"Importing {app_ref.module} failed: {type(exc).__name__}: {exc}") from exc
    app: Any = module
    for part in app_ref.attr.split("."):
        app = getattr(app, part, None)
        if app is None:
            raise AppNotFound(f"Module {app_ref.module!r} has no attribute {app_ref.attr!r}")
    from lift.app import App

    if not isinstance(app, App):
        raise AppNotFound(f"{app_ref} is a {type(app).__name__}, not a lift.App")
    return app, app_ref


def import_traceback(exc: BaseException) -> str:
    """The traceback of an app whose import raised, from the app's own first frame on: the frames
    above it (Lift's loader, importlib) are not the user's and only hide where their code failed. A
    SyntaxError has no frame of the user's: it shows as Python prints one (file, line, caret)."""
    tb = exc.__traceback__
    while tb is not None and _is_loader_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def _is_loader_frame(filename: str) -> bool:
    path = os.path.realpath(filename) if not filename.startswith("<") else filename
    return filename.startswith("<frozen ") or path.startswith((_LIFT_DIR, _IMPORTLIB_DIR))
