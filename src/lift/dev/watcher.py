"""Watch the project's Python files and reload the app when they change (watchfiles)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SourceWatcher"]

_log = logging.getLogger("lift.dev")
_IGNORED_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    ".bench-venv",
    ".test-services",
    "test-artifacts",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "dist",
}


def _watched(change: object, path: str) -> bool:
    parts = Path(path).parts
    return path.endswith(".py") and not any(p in _IGNORED_DIRS for p in parts)


class SourceWatcher:
    """A daemon thread calling `on_change(paths)` after each batch of source edits."""

    def __init__(self, root: Path, on_change: Callable[[list[str]], None]) -> None:
        self.root = root
        self.on_change = on_change
        self._stop = threading.Event()
        self._armed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            import watchfiles  # noqa: F401
        except ImportError as exc:
            raise RuntimeError('Hot reload needs watchfiles: pip install "lift-lambda[dev]"') from exc
        self._thread = threading.Thread(target=self._run, name="lift-dev-watcher", daemon=True)
        self._thread.start()
        # back once the watch is set up (its first quiet 0.1 s), so an edit saved as soon as the
        # server answers is never missed; a watcher that cannot start in 10 s is not waited for
        self._armed.wait(10)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import watchfiles

        try:
            self._watch(watchfiles)
        finally:
            self._armed.set()  # (a watch that failed to start: nobody waits for it)

    def _watch(self, watchfiles: Any) -> None:
        # debounce/step small: a save is picked up and the app re-imported in well under a second.
        for changes in watchfiles.watch(
            self.root,
            watch_filter=_watched,
            stop_event=self._stop,
            debounce=50,
            step=20,
            raise_interrupt=False,
            rust_timeout=100,
            yield_on_timeout=True,
        ):
            self._armed.set()
            if not changes:
                continue
            paths = sorted({p for _, p in changes})
            try:
                self.on_change(paths)
            except Exception:
                _log.exception("reload failed")
