"""Import the user's app by "module:attr" and re-import it in-process when its code changes.

Reloading purges the project's own modules (those under the project directory, never
installed packages or Lift itself) from `sys.modules` and imports the app again. A failed
import keeps the last good app and records the error for the console and the dashboard (when no
app was ever loaded there is nothing to keep: the dev server stops with the error).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import Any

from lift.cli.discovery import import_traceback

__all__ = ["AppLoader", "AppRefError", "import_app"]

_log = logging.getLogger("lift.dev")


class AppRefError(Exception):
    """The "module:attr" reference does not name an importable app."""


def import_app(app_ref: str) -> Any:
    """Import `module:attr` (attr defaults to `app`) and return the object."""
    module_name, _, attr = app_ref.partition(":")
    if not module_name:
        raise AppRefError(f"Bad app reference {app_ref!r}: expected 'module:attr', e.g. 'service.app:app'")
    module = importlib.import_module(module_name)
    target: Any = module
    for part in (attr or "app").split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AppRefError(f"Module {module_name!r} has no attribute {attr or 'app'!r}") from None
    if not callable(getattr(target, "handler", None)):
        raise AppRefError(f"{app_ref} is not a Lift App (it has no .handler)")
    return target


class AppLoader:
    """Holds the current good app, re-imports it on demand, remembers the last import error."""

    def __init__(self, app_ref: str, project_dir: str | os.PathLike[str] | None = None) -> None:
        self.app_ref = app_ref
        self.project_dir = Path(project_dir or os.getcwd()).resolve()
        if str(self.project_dir) not in sys.path:
            sys.path.insert(0, str(self.project_dir))
        self.app: Any = None
        self.error: str | None = None
        self.error_at: float | None = None
        self.error_is_reference = False  # the last error: the reference names no app (not a raising import)
        self.generation = 0
        self.loaded_at: float | None = None
        self.last_reload_ms: float | None = None
        self._lock = threading.Lock()
        self._excluded = _installed_dirs()

    def load(self) -> bool:
        """(Re)import the app; True on success. On failure the previous app stays current."""
        with self._lock:
            started = time.perf_counter()
            if self.app is not None or self.error is not None:
                self._purge()
            importlib.invalidate_caches()
            try:
                app = import_app(self.app_ref)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                module = self.app_ref.partition(":")[0]
                self.error_is_reference = isinstance(exc, AppRefError) or (
                    isinstance(exc, ModuleNotFoundError) and f"{module}.".startswith(f"{exc.name}.")
                )
                self.error = str(exc) if isinstance(exc, AppRefError) else import_traceback(exc)
                self.error_at = time.time()
                if self.app is not None:  # with no app yet, the caller reports the error and stops
                    _log.error("Could not import %s (the last good app keeps serving):\n%s", self.app_ref, self.error)
                return False
            self.app = app
            self.error = None
            self.error_at = None
            self.generation += 1
            self.loaded_at = time.time()
            self.last_reload_ms = (time.perf_counter() - started) * 1000
            return True

    def is_project_file(self, path: str | None) -> bool:
        """True for a source file of the user's project (not an installed package, not Lift)."""
        if not path:
            return False
        resolved = os.path.realpath(path)
        if not resolved.startswith(str(self.project_dir) + os.sep):
            return False
        return not any(resolved.startswith(d) for d in self._excluded)

    def _purge(self) -> None:
        for name, module in list(sys.modules.items()):
            if name == "lift" or name.startswith("lift."):
                continue
            if self.is_project_file(getattr(module, "__file__", None)):
                del sys.modules[name]
                _drop_bytecode(getattr(module, "__cached__", None))


def _drop_bytecode(cached: str | None) -> None:
    """Delete a purged module's .pyc: it is validated by whole-second mtime and size, so an edit
    saved within the same second as the last import, keeping the size, would load stale code."""
    if cached:
        try:
            os.remove(cached)
        except OSError:
            pass


def _installed_dirs() -> tuple[str, ...]:
    """Directories holding installed packages and Lift itself: never purged."""
    dirs = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib", "platstdlib")}
    dirs.add(sys.prefix)
    dirs.add(str(Path(__file__).resolve().parents[1]))  # the lift package
    return tuple(os.path.realpath(d) + os.sep for d in dirs if d)
