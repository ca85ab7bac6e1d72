"""SnapStart: resources made before the snapshot and re-made after each restore, through the runtime's
own hook registry (snapshot_restore_py), whose hooks are called in order as the runtime does."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import textwrap

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


def test_copies_restored_from_one_snapshot_draw_different_retry_jitter(tmp_path) -> None:
    """A service client made at init holds its RetryPolicy in the snapshot. The policy drew its jitter
    from a generator of its own, which the after-restore hook never re-seeded: every restored copy
    waited the same "random" delays and retried a struggling callee in step. Two copies of one
    initialised process (fork, as a restore copies memory) each run the after-restore hook."""
    script = textwrap.dedent(
        """
        import json, os
        from lift import App
        from lift.snapstart import after_restore

        app = App(name="snap")
        policy = app.service("users", retry=5).retry  # made at init: in the snapshot
        draws = []
        for _ in range(2):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # a copy restored from the snapshot
                after_restore(app)
                os.write(write, json.dumps([policy.backoff(4) for _ in range(5)]).encode())
                os._exit(0)
            os.close(write)
            draws.append(json.loads(os.read(read, 65536)))
            os.waitpid(pid, 0)
        print(json.dumps(draws))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    first, second = json.loads(done.stdout)
    assert len(set(first)) == 5 and first != second
