"""SnapStart: resources made before the snapshot and re-made after each restore, through the runtime's
own hook registry (snapshot_restore_py), whose hooks are called in order as the runtime does."""

from __future__ import annotations

import itertools
import random

import pytest
import snapshot_restore_py

from lift import App


class Connection:
    ids = itertools.count(1)

    def __init__(self) -> None:
        self.id = next(self.ids)
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch):
    """The runtime's registries, emptied for the test (they are module-global lists)."""
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    return snapshot_restore_py


def run(registry: list) -> None:
    """What the runtime does at the snapshot and at each restore: call every hook in order."""
    for func, args, kwargs in registry:
        func(*args, **kwargs)


def test_resources_are_made_before_the_snapshot_and_remade_after_restore(hooks) -> None:
    app = App(name="snap")
    made: list[Connection] = []
    app.resource("db", lambda: made.append(Connection()) or made[-1], prewarm=False)
    app.resource("cache", Connection)
    assert len(hooks._before_snapshot_registry) == 1 and len(hooks._after_restore_registry) == 1

    run(hooks._before_snapshot_registry)
    snapshot_db = app.resources.get("db")
    snapshot_cache = app.resources.get("cache")
    assert made == [snapshot_db]  # the lazy one was made before the snapshot too
    random.seed(1234)  # the state every restored copy would share
    shared = random.random()
    random.seed(1234)

    run(hooks._after_restore_registry)
    assert snapshot_db.closed and snapshot_cache.closed
    assert app.resources.get("db") is made[-1] and made[-1] is not snapshot_db and not made[-1].closed
    assert app.resources.get("cache") is not snapshot_cache
    assert random.random() != shared  # re-seeded: copies no longer share random numbers


def test_a_failing_factory_does_not_stop_the_others(hooks) -> None:
    app = App(name="snap")
    attempts = []

    def flaky() -> Connection:
        attempts.append(1)
        raise ConnectionError("db down")

    app.resource("flaky", flaky, prewarm=False)
    app.resource("ok", Connection, prewarm=False)
    run(hooks._before_snapshot_registry)
    assert app.resources.is_created("ok") and not app.resources.is_created("flaky")
    run(hooks._after_restore_registry)
    assert app.resources.is_created("ok") and len(attempts) == 2


def test_without_snapstart_no_hooks_are_registered(hooks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE")
    app = App(name="plain")
    app.resource("db", Connection)
    assert hooks._before_snapshot_registry == [] and hooks._after_restore_registry == []
