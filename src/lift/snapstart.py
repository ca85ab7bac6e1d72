"""SnapStart: `app.resource` factories run before the snapshot and are re-created after each restore.

With SnapStart (Python 3.12+ runtimes) Lambda snapshots the initialised execution environment and
restores copies of it. Whatever the snapshot holds is shared by every copy: open connections are
dead after a restore, cached credentials may have expired, and `random`'s state is identical in
every copy. So, through the runtime's own hooks (`snapshot_restore_py`, present in the Lambda
Python runtime; `pip install snapshot-restore-py` elsewhere):

- before the snapshot: every registered resource is created (its imports and set-up are in the
  snapshot, so a restored environment does not pay for them);
- after a restore: every resource is closed and re-created, `random` is re-seeded from the OS, and
  the `on_restore` hooks run (the audit trail's writer id, unique per environment, is renewed).

`install(app)` registers the hooks; App does it by itself when `AWS_LAMBDA_INITIALIZATION_TYPE`
is `snap-start`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

__all__ = ["install", "before_snapshot", "after_restore", "on_restore"]

_log = logging.getLogger("lift.snapstart")
_restore_hooks: list[Callable[[], None]] = []


def on_restore(hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook()` after each restore: for state that must differ between copies (an id made at import)."""
    if hook not in _restore_hooks:
        _restore_hooks.append(hook)
    return hook


def before_snapshot(app: Any) -> list[str]:
    """Create every registered resource; returns the names that failed (they retry on first use)."""
    failed = []
    registry = app.resources
    for name in registry.names:
        try:
            registry.get(name)
        except Exception:
            failed.append(name)
            _log.warning("resource %s could not be created before the snapshot", name, exc_info=True)
    return failed


def after_restore(app: Any) -> list[str]:
    """Re-seed `random`, then close and re-create every resource; returns the names that failed."""
    random.seed()
    for hook in list(_restore_hooks):
        try:
            hook()
        except Exception:
            _log.warning("a restore hook failed", exc_info=True)
    failed = []
    registry = app.resources
    for name in registry.names:
        try:
            registry.reset(name)
            registry.get(name)
        except Exception:
            failed.append(name)
            _log.warning("resource %s could not be re-created after the restore", name, exc_info=True)
    return failed


def install(app: Any) -> bool:
    """Register the hooks with the runtime's `snapshot_restore_py`; False when it is not available."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        _log.warning("SnapStart: snapshot_restore_py is not importable; resources are not re-created after restore")
        return False
    register_before_snapshot(before_snapshot, app)
    register_after_restore(after_restore, app)
    return True
