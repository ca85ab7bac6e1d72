"""Session-wide fixtures: the real test servers (redis-server, DynamoDB Local) and stores on them."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import services as test_services

test_services.use_dummy_aws_credentials()

try:  # property tests: the same examples on every run (a CI run never fails on a newly drawn case), no deadline.
    # HYPOTHESIS_PROFILE=explore draws new examples each run (1000 where a test sets no count) to hunt for new cases
    # (a failure it finds is printed with its reproduce_failure blob; add it as an @example).
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("lift", derandomize=True, deadline=None, database=None)
    _hypothesis_settings.register_profile("explore", deadline=None, database=None, max_examples=1000, print_blob=True)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lift"))
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass

STORE_BACKENDS = ["memory", "dynamodb", "redis"]
TEST_TABLE = "lift-test"
# Generous timeouts: on a busy 2-core machine DynamoDB Local (a JVM) can stall for seconds, and
# a timeout would turn into fail-open/fail-closed behaviour the test did not ask for.
SERVER_TIMEOUT = 15.0


def _service_failed(name: str, exc: Exception) -> None:
    pytest.fail(f"test server {name} is not available: {exc}", pytrace=False)


def _session_server(env: str, start: Any, name: str, url: str) -> Any:
    """The URL in `env`, else a server `start()`ed for the whole session and stopped after it."""
    given = os.environ.get(env)
    if given:
        yield given
        return
    try:
        server = start()
    except test_services.ServiceError as exc:
        _service_failed(name, exc)
    yield url.format(port=server.port)
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a redis-server for this session (LIFT_TEST_REDIS_URL, else one started on a free port)."""
    yield from _session_server(
        "LIFT_TEST_REDIS_URL", test_services.start_redis, "redis-server", "redis://127.0.0.1:{port}/0"
    )


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> str:
    """Endpoint URL of DynamoDB Local for this session (LIFT_TEST_DYNAMODB_ENDPOINT, else started here)."""
    yield from _session_server(
        "LIFT_TEST_DYNAMODB_ENDPOINT", test_services.start_dynamodb_local, "DynamoDB Local", "http://127.0.0.1:{port}"
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    """Endpoint URL of a moto server for this session (LIFT_TEST_MOTO_ENDPOINT, else started here).

    Every AWS API that moto mocks answers on it; tests give it as `endpoint_url` to boto3. Use
    distinct resource names per test (the server is shared by the whole session)."""
    yield from _session_server(
        "LIFT_TEST_MOTO_ENDPOINT", test_services.start_moto_server, "moto server", "http://127.0.0.1:{port}"
    )


@pytest.fixture
def dead_port() -> Any:
    """A 127.0.0.1 port that refuses every connection for the whole test: bound here and never
    listened on. (A port found free and let go, `free_port()`, can be taken by another process's
    server before the test connects; a test of an unreachable server would then reach it.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Any:
    """A TCP server that accepts connections and never answers (a stalled or partitioned database)."""
    import threading

    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    held: list = []
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stopped.set()
    listener.close()
    for sock in held:
        sock.close()


@pytest.fixture(scope="session")
def dynamodb_table(dynamodb_endpoint: str) -> str:
    """A Lift store table (see lift.stores.dynamodb) on the session's DynamoDB endpoint."""
    from lift.stores.dynamodb import create_table

    create_table(TEST_TABLE, endpoint_url=dynamodb_endpoint, region=os.environ["AWS_DEFAULT_REGION"])
    return TEST_TABLE


@pytest.fixture(scope="session")
def dynamodb_store_client(dynamodb_endpoint: str) -> Any:
    """The boto3 client of a DynamoDBStore made on the session's endpoint (its own session, timeouts,
    retries), shared by the `store` fixture's DynamoDB stores: making one reads botocore's service model
    (~0.1 s), for each of ~60 tests otherwise."""
    from lift.stores.dynamodb import DynamoDBStore

    client = DynamoDBStore(TEST_TABLE, endpoint_url=dynamodb_endpoint, timeout=SERVER_TIMEOUT).client
    yield client
    client.close()


def make_store(backend: str, request: pytest.FixtureRequest, prefix: str | None = None, shared_client: bool = False):
    """A fresh store on `backend`; on shared servers each test gets its own key prefix. With
    `shared_client` a DynamoDB store uses the session's client instead of making its own."""
    prefix = prefix or f"test-{uuid.uuid4().hex[:12]}:"
    if backend == "memory":
        from lift.stores.memory import MemoryStore

        return MemoryStore()
    if backend == "dynamodb":
        from lift.stores.dynamodb import DynamoDBStore

        table = request.getfixturevalue("dynamodb_table")
        if shared_client:
            return DynamoDBStore(table, client=request.getfixturevalue("dynamodb_store_client"), prefix=prefix)
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        return DynamoDBStore(table, endpoint_url=endpoint, prefix=prefix, timeout=SERVER_TIMEOUT)
    if backend == "redis":
        from lift.stores.redis import RedisStore

        return RedisStore(request.getfixturevalue("redis_url"), prefix=prefix, timeout=SERVER_TIMEOUT)
    raise ValueError(backend)


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest):
    """The same test against each store backend: memory, DynamoDB Local, redis-server. (The DynamoDB
    store's client is the session's: a test's closing it would only drop its pooled connections.)"""
    store = make_store(request.param, request, shared_client=True)
    yield store
    if request.param != "dynamodb":
        store.close()


@pytest.fixture(params=STORE_BACKENDS)
def store_factory(request: pytest.FixtureRequest):
    """`store_factory()` -> a new client on one shared backend and key prefix, as separate
    Lambda instances would have (memory: the one shared in-process store)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    made: list = []
    shared = make_store("memory", request) if request.param == "memory" else None

    def factory():
        if shared is not None:
            return shared
        made.append(make_store(request.param, request, prefix))
        return made[-1]

    factory.backend = request.param
    yield factory
    for store in made:
        store.close()


@pytest.fixture
def breaker_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The monotonic clock of lift.resilience.breaker, moved only by `breaker_clock.advance(seconds)`: a
    circuit's open period is judged without waiting for it, and a loaded machine's delays between two
    steps of a test never count as the period running out."""

    from lift.resilience import breaker
    from tests.store_time import ManualClock

    clock = ManualClock(breaker._monotonic())
    monkeypatch.setattr(breaker, "_monotonic", clock)
    return clock


# -- global state every test leaves as it found it ------------------------------------------------------
# A test that changes the logging setup or the environment and does not put it back makes the tests after
# it depend on the order they run in (a lift logger left at INFO changed what tests/validation counted).
# Restored after each test; with LIFT_STRICT_TEST_STATE=1 (`make test` sets it) a leak also fails the test
# that leaks (at its teardown) instead of a later one. Use monkeypatch / caplog.set_level, or a fixture.
_STRICT_STATE = os.environ.get("LIFT_STRICT_TEST_STATE") == "1"


def _global_state() -> dict[str, Any]:
    import logging

    import lift.errors

    root, lift_log = logging.getLogger(), logging.getLogger("lift")
    cached = lift.errors._lift_logger
    return {
        "root logger level": root.level,
        "root logger handlers": list(root.handlers),
        "lift logger": (lift_log.level, list(lift_log.handlers), lift_log.propagate, lift_log.disabled),
        "logging.disable": logging.root.manager.disable,
        "lift.errors._lift_logger": cached is None or cached is lift_log,
        "environment": {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
    }


def _restore(state: dict[str, Any]) -> None:
    import logging

    import lift.errors

    root, lift_log = logging.getLogger(), logging.getLogger("lift")
    root.setLevel(state["root logger level"])
    root.handlers[:] = state["root logger handlers"]
    lift_log.setLevel(state["lift logger"][0])
    lift_log.handlers[:] = state["lift logger"][1]
    lift_log.propagate, lift_log.disabled = state["lift logger"][2:]
    logging.disable(state["logging.disable"])
    lift.errors._lift_logger = None
    current_test = os.environ.get("PYTEST_CURRENT_TEST")  # pytest pops it after teardown
    os.environ.clear()
    os.environ.update(state["environment"])
    if current_test is not None:
        os.environ["PYTEST_CURRENT_TEST"] = current_test


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = []
    for key, was in before.items():
        now = after[key]
        if key == "environment":
            changed += [
                f"${name}: {was.get(name)!r} -> {now.get(name)!r}"
                for name in sorted(set(was) | set(now))
                if was.get(name) != now.get(name)
            ]
        elif key == "root logger handlers" and set(map(id, now)) == set(map(id, was)):
            continue  # (only their order: pytest re-adds its own capture handlers around a module fixture's)
        elif now != was:
            changed.append(f"{key}: {was!r} -> {now!r}")
    return changed


@pytest.fixture(autouse=True)
def _leaves_global_state_as_found() -> Any:
    before = _global_state()
    yield
    after = _global_state()
    changed = _changes(before, after)
    if changed:
        _restore(before)
        if not _STRICT_STATE:
            return
        pytest.fail(
            "the test left global state changed (restore it: monkeypatch, caplog.set_level or a fixture): "
            + "; ".join(changed),
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """A test's captured output and log as UTF-8 text: tests feed Lift lone surrogates (hostile events), and
    a report holding one cannot be sent from a pytest-xdist worker (`make test` runs two), which then
    crashes the whole run; such characters are written as backslash escapes in the report only."""
    from lift.observability.text import utf8_text

    outcome = yield
    report = outcome.get_result()
    report.sections = [(title, utf8_text(text)) for title, text in report.sections]
