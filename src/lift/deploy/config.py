"""Deployment configuration: `[tool.lift]` in pyproject.toml (or the top level of lift.toml), with stages.

    [tool.lift]
    app = "app:app"
    memory = 512
    environment = { LIFT_LOG_LEVEL = "INFO" }

    [tool.lift.queues.orders]
    batch_size = 25

    [tool.lift.stages.prod]
    memory = 1024
    environment = { LIFT_LOG_LEVEL = "WARNING" }

A stage's table overrides the base key by key; tables (`environment`, `tags`, `queues`, ...) merge
recursively, lists and scalars are replaced. Every table is checked against its schema (msgspec
Structs that forbid unknown fields): an unknown key or a wrong type is a `ConfigError` naming the
file, the table and the key. Each named sub-table (`queues.orders`) is checked on its own so the
error names it (msgspec's paths do not carry dictionary keys).
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

__all__ = [
    "ConfigError",
    "ProjectConfig",
    "StageConfig",
    "QueueConfig",
    "TopicConfig",
    "BucketConfig",
    "StreamConfig",
    "TableConfig",
    "IamStatementConfig",
    "AlbConfig",
    "AuthorizerConfig",
    "CognitoConfig",
    "KafkaConfig",
    "MqConfig",
    "LogSubscriptionConfig",
    "FirehoseConfig",
    "ObjectLambdaConfig",
    "TriggersConfig",
    "JobsConfig",
    "StreamingConfig",
    "CloudMapConfig",
    "load_config",
    "config_from_dict",
]

HttpKind = Literal["http", "rest", "url", "alb", "none"]
Architecture = Literal["arm64", "x86_64"]
RUNTIMES = ("python3.11", "python3.12", "python3.13")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+$")
# Lambda's rule for an environment variable's name, and the names its runtime sets (refused by Lambda)
_ENV_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
_RESERVED_ENV = frozenset(
    [
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    ]
)
ENVIRONMENT_LIMIT = 4096  # bytes of every variable's name and value together (Lambda's limit)
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:(parameter/.+|secret:.+)$")


class ConfigError(ValueError):
    """The deployment configuration is invalid; the message names the file, table and key."""


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class QueueConfig(_Strict):
    """`[tool.lift.queues.NAME]`: an SQS queue the app consumes (`@app.sqs(NAME)`)."""

    batch_size: int = 10
    batching_window: int = 0  # seconds (MaximumBatchingWindowInSeconds), standard queues only
    max_receive_count: int = 5  # deliveries before a message moves to the DLQ
    visibility_timeout: int | None = None  # default: 6x the function timeout (AWS's advice)
    max_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency (2-1000)
    arn: str | None = None  # an existing queue: not created, only consumed
    arns: list[str] = []  # for a glob name (`orders-*`): the existing queues it stands for


class TopicConfig(_Strict):
    """`[tool.lift.topics.NAME]`: an SNS topic the app subscribes to (`@app.sns(NAME)`)."""

    arn: str | None = None  # an existing topic: only subscribed


class BucketConfig(_Strict):
    """`[tool.lift.buckets.NAME]`: an S3 bucket whose object events the app handles (`@app.s3`)."""

    create: bool = False  # create the bucket (else it exists and has EventBridge notifications on)


class StreamConfig(_Strict):
    """`[tool.lift.streams.NAME]`: a Kinesis stream or DynamoDB table stream the app consumes."""

    arn: str | None = None  # required for DynamoDB streams; Kinesis streams are created without it
    batch_size: int = 100
    batching_window: int = 0
    starting_position: Literal["LATEST", "TRIM_HORIZON"] = "LATEST"
    bisect_on_error: bool = True
    retry_attempts: int = 3
    max_record_age: int = 3600  # seconds; -1 = forever
    parallelization: int = 1


class TableConfig(_Strict):
    """`[tool.lift.tables.NAME]`: a DynamoDB table used by one of the app's stores."""

    pitr: bool = True
    retain: bool = True  # kept when the stack is deleted
    arn: str | None = None  # an existing table: not created, only granted


class IamStatementConfig(_Strict):
    """One IAM statement added to the function's role (`[[tool.lift.iam]]`)."""

    actions: list[str]
    resources: list[str]
    effect: Literal["Allow", "Deny"] = "Allow"


class AlbConfig(_Strict):
    """`[tool.lift.alb]`: the existing listener an `http = "alb"` front attaches to."""

    listener_arn: str
    priority: int = 100
    path_patterns: list[str] = msgspec.field(default_factory=lambda: ["/*"])


class AuthorizerConfig(_Strict):
    """`[tool.lift.authorizer]`: how API Gateway calls the app's `@app.authorizer` (docs/deploy.md)."""

    type: Literal["TOKEN", "REQUEST"] = "REQUEST"  # REST APIs only (HTTP and WebSocket APIs are REQUEST)
    identity_source: list[str] = []  # default: the Authorization header, in the API kind's syntax
    websocket_identity_source: list[str] = []  # default: route.request.header.Authorization
    ttl: int = 300  # seconds API Gateway caches an answer (0 = never; WebSocket APIs never cache)
    public_routes: list[str] = []  # "GET /health" or "/health" (every method): no authorizer
    public_health: bool = True  # the app.health routes stay public (uptime checks carry no token)


class CognitoConfig(_Strict):
    """`[tool.lift.cognito]`: the user pool whose triggers the app's `@app.cognito` handlers are."""

    user_pool_arn: str | None = None  # an existing pool: only allowed to invoke (set its triggers yourself)
    create: bool = False  # create a pool with the triggers set (kept when the stack is deleted)
    user_pool_name: str | None = None  # default: <service>-<stage>
    pre_token_generation_version: Literal["V1_0", "V2_0", "V3_0"] = "V1_0"
    kms_key_arn: str | None = None  # required by custom_email_sender / custom_sms_sender


class KafkaConfig(_Strict):
    """`[tool.lift.kafka.TOPIC]`: where `@app.kafka(TOPIC)` reads from: an MSK cluster or brokers."""

    cluster_arn: str | None = None  # Amazon MSK
    bootstrap_servers: list[str] = []  # self-managed Kafka ("host:9092")
    auth: Literal["iam", "sasl_scram_512", "sasl_scram_256", "plain", "mtls", "none"] | None = None
    secret_arn: str | None = None  # SASL/SCRAM or mTLS credentials (Secrets Manager)
    subnets: list[str] = []  # self-managed brokers in a VPC
    security_groups: list[str] = []
    consumer_group_id: str | None = None
    batch_size: int = 100
    batching_window: int = 0
    starting_position: Literal["LATEST", "TRIM_HORIZON"] = "LATEST"
    partial_failures: bool = True  # ReportBatchItemFailures (needs provisioned pollers)
    min_pollers: int = 1
    max_pollers: int = 10


class MqConfig(_Strict):
    """`[tool.lift.mq.QUEUE]`: the Amazon MQ broker `@app.mq(QUEUE)` consumes."""

    broker_arn: str
    secret_arn: str  # the broker user's credentials (Secrets Manager: username, password)
    engine: Literal["activemq", "rabbitmq"] = "activemq"
    virtual_host: str | None = None  # RabbitMQ
    batch_size: int = 100
    batching_window: int = 0


class LogSubscriptionConfig(_Strict):
    """`[tool.lift.log_groups.NAME]`: the subscription filter feeding `@app.cloudwatch_logs(NAME)`."""

    filter_pattern: str = ""  # "" = every log event


class FirehoseConfig(_Strict):
    """`[tool.lift.firehose.STREAM]`: the delivery stream whose transformation `@app.firehose` is."""

    role_name: str | None = None  # the stream's IAM role: Lift lets it invoke the function


class ObjectLambdaConfig(_Strict):
    """`[tool.lift.object_lambda.NAME]`: the bucket behind Object Lambda access point NAME."""

    bucket: str


class TriggersConfig(_Strict):
    """`[tool.lift.triggers]`: who may invoke the other triggers (each key narrows a permission)."""

    appsync_api_arn: str | None = None  # AppSync authorizers: the API allowed to invoke
    bedrock_agent_arn: str | None = None  # Bedrock agents: the agent (default: any agent of the account)
    ses_rule_set: str | None = None  # SES: the receipt rule set (default: any of the account)


class ReleaseConfig(_Strict):
    """`[tool.lift.stages.S.release]`: how a new version takes the traffic (see docs/releases.md)."""

    strategy: Literal["all-at-once", "canary", "linear", "blue-green"] = "all-at-once"
    engine: Literal["lift", "codedeploy"] = "lift"  # Lift-orchestrated, or SAM DeploymentPreference
    percent: float = 10.0
    interval: int = 300  # seconds per step
    bake: int = 0  # seconds of watching after 100%
    alarms: list[str] = []  # CloudWatch alarms that gate every step
    max_error_rate: float | None = None  # of the new version, from AWS/Lambda metrics
    poll_seconds: float = 10.0
    alias: str = "live"
    rollout: Literal["rolling", "parallel"] = "rolling"  # across the stage's regions
    parallel_limit: int = 2
    health_url: str | None = None  # blue-green: "{url}" of the new version's /health/ready
    pre_traffic: str | None = None  # an @app.release_hook name: checks the new version before any traffic
    post_traffic: str | None = None  # an @app.release_hook name: checks it once it has all the traffic
    hook_timeout: int = 300  # seconds a hook function may run (Lambda timeout of the hook functions)


class DrConfig(_Strict):
    """`[tool.lift.stages.S.dr]`: the Route 53 front door over the stage's regions."""

    zone_id: str
    record: str
    hosts: dict[str, str]  # region -> the regional API host name
    mode: Literal["active-passive", "active-active"] = "active-passive"
    health_path: str = "/health/ready"
    notify_topic_arn: str | None = None
    global_table: str | None = None  # for `lift dr status` replication lag
    global_tables: bool = True  # the stores' DynamoDB tables become global tables replicated to every region


class JobsConfig(_Strict):
    """`[tool.lift.jobs]` (or `[tool.lift.stages.S.jobs]`): the worker function that runs `@app.job`s.

    By default jobs run in a function of their own (`<service>-<stage>-jobs`) consuming the jobs
    queue, so a job may run up to 15 minutes while the HTTP function keeps its short timeout."""

    worker: bool = True  # false: the app's own function consumes the jobs queue (its timeout bounds a run)
    timeout: int = 900  # seconds (Lambda's maximum)
    memory: int | None = None  # MB; default: the stage's memory
    reserved_concurrency: int | None = None  # at most this many jobs run at once
    batch_size: int = 1  # jobs per invocation: each may take the whole timeout
    max_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency of the queue's mapping (2-1000)


class StreamingConfig(_Strict):
    """`[tool.lift.streaming]`: a function of its own behind a function URL in RESPONSE_STREAM mode,
    running the App's ASGI side through the AWS Lambda Web Adapter (see docs/streaming.md)."""

    auth: Literal["AWS_IAM", "NONE"] = "AWS_IAM"  # the function URL's AuthType (NONE: public)
    memory: int | None = None  # MB; default: the stage's memory
    timeout: int | None = None  # seconds; default: the stage's timeout
    reserved_concurrency: int | None = None
    layer: str | None = None  # the adapter layer's ARN (default: AWS's, per region and architecture)
    port: int = 8080  # where uvicorn listens inside the function (AWS_LWA_PORT)
    cors_origins: list[str] = []


class CloudMapConfig(_Strict):
    """`[tool.lift.cloud_map]`: register the service's endpoint in an AWS Cloud Map HTTP namespace,
    where other services find it with `lift.services.CloudMapDiscovery(namespace, service)`."""

    namespace: str  # the namespace's name (CloudMapDiscovery's first argument)
    namespace_id: str | None = None  # its id ("ns-..."); else looked up by name at deploy time
    service: str | None = None  # the Cloud Map service name (default: the service's name)
    attributes: dict[str, str] = {}  # extra instance attributes (e.g. weight = "2")
    # the instance's health in Cloud Map follows the app's readiness checks (`/health/ready`),
    # reported by the function itself every `health_rate`; false: healthy while registered
    health: bool = True
    health_rate: str = "1 minute"  # an EventBridge Scheduler rate: "1 minute", "5 minutes", "1 hour"


class VpcConfig(_Strict):
    """`[tool.lift.vpc]`: the function's network interfaces in these subnets, with these security groups."""

    subnets: list[str]  # subnet ids ("subnet-..."), 1-16, in two Availability Zones or more for resilience
    security_groups: list[str]  # security group ids ("sg-..."), 1-5
    ipv6: bool = False  # Ipv6AllowedForDualStack: outbound IPv6 in dual-stack subnets


class StageConfig(_Strict):
    """The settings of one stage: the base `[tool.lift]` table merged with `[tool.lift.stages.S]`."""

    region: str | None = None
    regions: list[str] = []
    runtime: str = "python3.12"
    architecture: Architecture = "arm64"
    memory: int = 512
    timeout: int = 30
    reserved_concurrency: int | None = None
    # instances kept initialised on the alias the triggers invoke (the stage's, or the release's)
    provisioned_concurrency: int | None = None
    ephemeral_storage: int = 512  # MB of /tmp, 512-10240
    vpc: VpcConfig | None = None
    # appended to the names of the queues, topics, tables, streams, buckets and schedules the stack
    # creates, so two stages of one app share none ("" keeps the names as the app writes them)
    resource_suffix: str = "-{stage}"
    environment: dict[str, str] = {}
    secrets: dict[str, str] = {}  # env var -> SSM parameter or Secrets Manager secret ARN
    http: HttpKind = "http"
    cors_origins: list[str] = []
    tracing: bool = True
    snapstart: bool = False
    log_retention_days: int = 30
    log_level: str | None = None
    domain: str | None = None
    certificate_arn: str | None = None
    tags: dict[str, str] = {}
    alarms_email: str | None = None
    iam: list[IamStatementConfig] = []
    layers: list[str] = []
    include: list[str] = []  # extra project paths for the package (the app's module is always in)
    dependencies_layer: bool = False  # dependencies in a layer of their own, apart from the code
    stack_name: str | None = None
    artifact_bucket: str | None = None
    event_bus: str = "default"
    queues: dict[str, QueueConfig] = {}
    topics: dict[str, TopicConfig] = {}
    buckets: dict[str, BucketConfig] = {}
    streams: dict[str, StreamConfig] = {}
    tables: dict[str, TableConfig] = {}
    alb: AlbConfig | None = None
    audit_table: str | None = None  # lift deploy appends each deployment to this lift.audit trail (DynamoDB)
    release: ReleaseConfig | None = None
    dr: DrConfig | None = None
    authorizer: AuthorizerConfig | None = None
    cognito: CognitoConfig | None = None
    triggers: TriggersConfig | None = None
    kafka: dict[str, KafkaConfig] = {}
    mq: dict[str, MqConfig] = {}
    log_groups: dict[str, LogSubscriptionConfig] = {}
    firehose: dict[str, FirehoseConfig] = {}
    object_lambda: dict[str, ObjectLambdaConfig] = {}
    jobs: JobsConfig = msgspec.field(default_factory=JobsConfig)
    streaming: StreamingConfig | None = None
    cloud_map: CloudMapConfig | None = None


_NAMED_TABLES: dict[str, type[_Strict]] = {
    "queues": QueueConfig,
    "topics": TopicConfig,
    "buckets": BucketConfig,
    "streams": StreamConfig,
    "tables": TableConfig,
    "kafka": KafkaConfig,
    "mq": MqConfig,
    "log_groups": LogSubscriptionConfig,
    "firehose": FirehoseConfig,
    "object_lambda": ObjectLambdaConfig,
}
_TOP_ONLY = ("app", "name", "stages", "default_stage", "test")


class ProjectConfig(msgspec.Struct, kw_only=True):
    """The whole `[tool.lift]` table: where the app is, the service name, the base and the stages."""

    file: str  # the file it was read from ("" when built from a dict)
    app: str | None = None
    name: str | None = None
    default_stage: str = "dev"
    test: dict[str, Any] = {}  # [tool.lift.test]: what `lift test` starts (read by lift.cli.run_tests)
    base: dict[str, Any] = {}
    stages: dict[str, dict[str, Any]] = {}

    def stage(self, name: str | None = None) -> StageConfig:
        """The settings of stage `name` (the default stage when None): base overridden by the stage."""
        name = name or self.default_stage
        if not _STAGE_NAME.match(name):
            raise ConfigError(
                f"Invalid stage name {name!r}: lowercase letters, digits and '-', starting with a letter (max 32)"
            )
        merged = _merge(self.base, self.stages.get(name, {}))
        where = f"[tool.lift.stages.{name}]" if name in self.stages else "[tool.lift]"
        return _stage_config(merged, self.file, where)

    @property
    def stage_names(self) -> list[str]:
        return sorted(self.stages)


def load_config(root: str | os.PathLike[str] = ".") -> ProjectConfig:
    """Read `[tool.lift]` from `root`/pyproject.toml, else `root`/lift.toml; an empty config when neither."""
    root = Path(root)
    pyproject, lift_toml = root / "pyproject.toml", root / "lift.toml"
    if lift_toml.is_file():
        return config_from_dict(_read_toml(lift_toml), str(lift_toml), prefix="")
    if pyproject.is_file():
        data = _read_toml(pyproject)
        return config_from_dict(data.get("tool", {}).get("lift", {}), str(pyproject))
    return config_from_dict({}, "")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None


def config_from_dict(data: dict[str, Any], file: str = "", prefix: str = "tool.lift") -> ProjectConfig:
    """Check a `[tool.lift]` table (base and every stage) and return it as a ProjectConfig."""
    file_label = file or "configuration"

    def table(path: str) -> str:
        full = ".".join(p for p in (prefix, path) if p)
        return f"[{full}]" if full else "the top level"

    if not isinstance(data, dict):
        raise ConfigError(f"{file_label}: {table('')} must be a table")
    data = copy.deepcopy(data)
    app, name = data.pop("app", None), data.pop("name", None)
    default_stage = data.pop("default_stage", "dev")
    stages = data.pop("stages", {})
    test = data.pop("test", {})
    if not isinstance(test, dict):
        raise ConfigError(f"{file_label}: {table('test')} must be a table (services = [...])")
    if set(test) - {"services"}:
        raise ConfigError(f"{file_label}: {table('test')}: unknown key {sorted(set(test) - {'services'})[0]!r}")
    for key, value in (("app", app), ("name", name), ("default_stage", default_stage)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{file_label}: {table('')} key {key!r} must be a string, not {type(value).__name__}")
    if not isinstance(stages, dict) or not all(isinstance(v, dict) for v in stages.values()):
        raise ConfigError(f"{file_label}: {table('stages')} must hold one table per stage ([tool.lift.stages.prod])")
    _check_settings(data, file_label, table, "")
    for stage_name, stage in stages.items():
        if not _STAGE_NAME.match(stage_name):
            raise ConfigError(
                f"{file_label}: {table('stages.' + stage_name)}: invalid stage name {stage_name!r} "
                f"(lowercase letters, digits and '-', starting with a letter)"
            )
        misplaced = [k for k in _TOP_ONLY if k in stage]
        if misplaced:
            raise ConfigError(
                f"{file_label}: {table('stages.' + stage_name)}: key {misplaced[0]!r} is only allowed in {table('')}"
            )
        _check_settings(stage, file_label, table, f"stages.{stage_name}")
    return ProjectConfig(
        file=file, app=app, name=name, default_stage=default_stage, test=test, base=data, stages=stages
    )


def _check_settings(raw: dict[str, Any], file: str, table: Any, path: str) -> None:
    """Validate one settings table (base or a stage) so errors name the exact table and key."""
    flat = {k: v for k, v in raw.items() if k not in _NAMED_TABLES}
    _convert(flat, StageConfig, file, table(path))
    for key, schema in _NAMED_TABLES.items():
        if key not in raw:
            continue
        entries = raw[key]
        sub = f"{path}.{key}" if path else key
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            raise ConfigError(f"{file}: {table(sub)} must hold one table per name ([{sub}.NAME])")
        for entry_name, entry in entries.items():
            _convert(
                entry, schema, file, table(f'{sub}."{entry_name}"' if "." in entry_name else f"{sub}.{entry_name}")
            )


def _convert(raw: dict[str, Any], schema: type[Any], file: str, where: str) -> Any:
    try:
        return msgspec.convert(raw, schema)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{file}: {where}: {_describe(str(exc))}") from None


def _describe(message: str) -> str:
    """msgspec's message in config terms: `unknown key 'memry'`, `key 'memory': expected int, got str`."""
    unknown = re.match(r"Object contains unknown field `([^`]+)`(?: - at `\$(.*)`)?", message)
    if unknown:
        inner = (unknown.group(2) or "").lstrip(".")
        return f"unknown key {(inner + '.' if inner else '') + unknown.group(1)!r}"
    located = re.match(r"(.*) - at `\$\.?(.*)`", message)
    if located:
        text, key = located.groups()
        key = re.sub(r"\[\d+\]", lambda m: f"[{m.group(0)[1:-1]}]", key)
        return f"key {key!r}: {text[0].lower() + text[1:]}"
    if message.startswith("Object missing required field"):
        return "missing required key " + message.split("`")[1].join("''")
    return message


def _stage_config(merged: dict[str, Any], file: str, where: str) -> StageConfig:
    config = _convert(merged, StageConfig, file or "configuration", where)
    _check_values(config, file or "configuration", where)
    return config


def _check_values(config: StageConfig, file: str, where: str) -> None:
    """Ranges and formats msgspec's types cannot say (the limits Lambda and CloudWatch enforce)."""

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{file}: {where}: key {key!r}: {why}")

    for key, region in [("region", config.region), *(("regions", r) for r in config.regions)]:
        if region is not None and not _REGION.fullmatch(region):
            raise bad(key, f"{region!r} is not an AWS region name (e.g. eu-west-1)")
    if len(set(config.regions)) != len(config.regions):
        raise bad("regions", f"{config.regions} names a region twice")
    if config.runtime not in RUNTIMES:
        raise bad("runtime", f"{config.runtime!r} is not a supported runtime ({', '.join(RUNTIMES)})")
    if not 128 <= config.memory <= 10240:
        raise bad("memory", f"{config.memory} MB is outside Lambda's 128-10240 MB")
    if not 1 <= config.timeout <= 900:
        raise bad("timeout", f"{config.timeout} s is outside Lambda's 1-900 s")
    if config.reserved_concurrency is not None and config.reserved_concurrency < 0:
        raise bad("reserved_concurrency", "must be >= 0")
    if config.provisioned_concurrency is not None and config.provisioned_concurrency < 1:
        raise bad("provisioned_concurrency", "must be >= 1 (leave it out for none)")
    if (
        config.provisioned_concurrency is not None
        and config.reserved_concurrency is not None
        and config.provisioned_concurrency > config.reserved_concurrency
    ):
        raise bad(
            "provisioned_concurrency",
            f"{config.provisioned_concurrency} is above reserved_concurrency {config.reserved_concurrency}: "
            "Lambda cannot keep more instances ready than the function may run",
        )
    if not 512 <= config.ephemeral_storage <= 10240:
        raise bad("ephemeral_storage", f"{config.ephemeral_storage} MB is outside Lambda's 512-10240 MB of /tmp")
    if config.vpc is not None:
        _check_vpc(config.vpc, bad)
    suffix = config.resource_suffix.replace("{stage}", "stage")
    if suffix and not (_RESOURCE_SUFFIX.fullmatch(suffix) and len(suffix) <= 40):
        raise bad(
            "resource_suffix",
            f"{config.resource_suffix!r}: lowercase letters, digits and '-' ({{stage}}: the stage's name), "
            "at most 40, ending with a letter or digit (S3 bucket names take no other)",
        )
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        raise bad("log_retention_days", f"{config.log_retention_days} is not a CloudWatch Logs retention period")
    if config.snapstart and config.runtime == "python3.11":
        raise bad("snapstart", "SnapStart for Python needs runtime python3.12 or later")
    for table in ("environment", "secrets"):
        for env in getattr(config, table):
            if not _ENV_NAME.match(env):
                raise bad(f"{table}.{env}", "Lambda takes letters, digits and '_', starting with a letter (2 or more)")
            if env in _RESERVED_ENV:
                raise bad(f"{table}.{env}", "the Lambda runtime sets this variable; a function cannot")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in (*config.environment.items(), *config.secrets.items()))
    if size > ENVIRONMENT_LIMIT - 512:  # room for the variables Lift adds (LIFT_NAME, LIFT_STAGE, endpoints)
        raise bad("environment", f"{size} bytes of variables, over Lambda's 4 KB (less what Lift adds); use secrets")
    if config.certificate_arn and not _CERTIFICATE_ARN.match(config.certificate_arn):
        raise bad("certificate_arn", f"{config.certificate_arn!r} is not an ACM certificate ARN")
    for env, arn in config.secrets.items():
        if not _SECRET_ARN.match(arn):
            raise bad(f"secrets.{env}", f"{arn!r} is not an SSM parameter or Secrets Manager secret ARN")
    for name, queue in config.queues.items():
        if not 1 <= queue.batch_size <= 10000:
            raise bad(f"queues.{name}.batch_size", "must be 1-10000")
        if queue.batch_size > 10 and queue.batching_window < 1:
            raise bad(f"queues.{name}.batching_window", "a batch_size above 10 needs a batching_window of 1 s or more")
        if not 0 <= queue.batching_window <= 300:
            raise bad(f"queues.{name}.batching_window", "must be 0-300 seconds")
        if queue.max_concurrency is not None and not 2 <= queue.max_concurrency <= 1000:
            raise bad(f"queues.{name}.max_concurrency", "must be 2-1000")
    for name, stream in config.streams.items():
        if not 1 <= stream.batch_size <= 10000:
            raise bad(f"streams.{name}.batch_size", "must be 1-10000")
        if not -1 <= stream.retry_attempts <= 10000:
            raise bad(f"streams.{name}.retry_attempts", "must be -1 (forever) to 10000")
        if stream.max_record_age != -1 and not 60 <= stream.max_record_age <= 604800:
            raise bad(f"streams.{name}.max_record_age", "must be -1 (forever) or 60-604800 seconds")
        if not 1 <= stream.parallelization <= 10:
            raise bad(f"streams.{name}.parallelization", "must be 1-10")
    cloud_map = config.cloud_map
    if cloud_map is not None:
        if cloud_map.namespace_id is not None and not re.match(r"^ns-[a-z0-9]{16,}$", cloud_map.namespace_id):
            raise bad("cloud_map.namespace_id", f"{cloud_map.namespace_id!r} is not a Cloud Map namespace id (ns-...)")
        if len(cloud_map.attributes) > 25:
            raise bad("cloud_map.attributes", "Cloud Map takes at most 30 attributes (Lift sets up to 5)")
        rate = re.fullmatch(r"([1-9]\d*) (minute|hour|day)(s?)", cloud_map.health_rate)
        if rate is None or (rate[1] == "1") == (rate[3] == "s"):  # AWS: "1 minute", "2 minutes"
            raise bad(
                "cloud_map.health_rate",
                f'{cloud_map.health_rate!r} is not a rate such as "1 minute", "5 minutes" or "1 hour"',
            )
    stream = config.streaming
    if stream is not None:
        if stream.timeout is not None and not 1 <= stream.timeout <= 900:
            raise bad("streaming.timeout", f"{stream.timeout} s is outside Lambda's 1-900 s")
        if stream.memory is not None and not 128 <= stream.memory <= 10240:
            raise bad("streaming.memory", f"{stream.memory} MB is outside Lambda's 128-10240 MB")
        if not 1024 <= stream.port <= 65535 or stream.port == 9001:
            raise bad("streaming.port", "must be 1024-65535 and not 9001 (the Lambda runtime API's)")
        if stream.layer is not None and not re.match(
            r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:.+:\d+$", stream.layer
        ):
            raise bad("streaming.layer", f"{stream.layer!r} is not a layer version ARN")
    jobs = config.jobs
    if not 1 <= jobs.timeout <= 900:
        raise bad("jobs.timeout", f"{jobs.timeout} s is outside Lambda's 1-900 s")
    if jobs.memory is not None and not 128 <= jobs.memory <= 10240:
        raise bad("jobs.memory", f"{jobs.memory} MB is outside Lambda's 128-10240 MB")
    if jobs.reserved_concurrency is not None and jobs.reserved_concurrency < 0:
        raise bad("jobs.reserved_concurrency", "must be >= 0")
    if not 1 <= jobs.batch_size <= 10:
        raise bad("jobs.batch_size", "must be 1-10 (each job may take the whole timeout)")
    if jobs.max_concurrency is not None and not 2 <= jobs.max_concurrency <= 1000:
        raise bad("jobs.max_concurrency", "must be 2-1000")
    if config.domain and not config.certificate_arn:
        raise bad("domain", "a custom domain needs certificate_arn (an ACM certificate in the stage's region)")
    if config.domain and config.http not in ("http", "rest"):
        raise bad("domain", f'a custom domain is for http = "http" or "rest", not {config.http!r}')
    for name, kafka in config.kafka.items():
        if bool(kafka.cluster_arn) == bool(kafka.bootstrap_servers):
            raise bad(f"kafka.{name}", "give cluster_arn (Amazon MSK) or bootstrap_servers (self-managed), one of them")
        if not 1 <= kafka.batch_size <= 10000:
            raise bad(f"kafka.{name}.batch_size", "must be 1-10000")
        if not 1 <= kafka.min_pollers <= kafka.max_pollers <= 2000:
            raise bad(f"kafka.{name}.max_pollers", "pollers: 1 <= min_pollers <= max_pollers <= 2000")
        if kafka.auth == "iam" and not kafka.cluster_arn:
            raise bad(f"kafka.{name}.auth", "IAM authentication is Amazon MSK's (cluster_arn)")
        if (kafka.auth or "").startswith(("sasl", "plain", "mtls")) and not kafka.secret_arn:
            raise bad(f"kafka.{name}.secret_arn", f"auth = {kafka.auth!r} needs the credentials' secret_arn")
    for name, mq in config.mq.items():
        if not 1 <= mq.batch_size <= 10000:
            raise bad(f"mq.{name}.batch_size", "must be 1-10000")
    if config.authorizer is not None and config.authorizer.ttl not in range(0, 3601):
        raise bad("authorizer.ttl", "must be 0-3600 seconds")
    if config.http == "alb" and config.alb is None:
        raise bad("alb", 'http = "alb" needs [tool.lift.alb] listener_arn = "..."')
    if config.release is not None:
        _check_release(config.release, bad)
    if config.dr is not None:
        _check_dr(config.dr, bad)


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")  # us-east-1, us-gov-west-1, ap-southeast-5
_RESOURCE_SUFFIX = re.compile(r"[a-z0-9-]*[a-z0-9]")


def _check_vpc(vpc: VpcConfig, bad: Any) -> None:
    """Lambda's VpcConfig: 1-16 subnets and 1-5 security groups, by id (a name is refused by AWS at
    deploy time); each given once."""
    for key, ids, prefix, most in (
        ("subnets", vpc.subnets, "subnet-", 16),
        ("security_groups", vpc.security_groups, "sg-", 5),
    ):
        if not 1 <= len(ids) <= most:
            raise bad(f"vpc.{key}", f"Lambda takes 1-{most} {key.replace('_', ' ')}, not {len(ids)}")
        for value in ids:
            if not re.fullmatch(rf"{prefix}[0-9a-f]{{8}}([0-9a-f]{{9}})?", value):
                raise bad(f"vpc.{key}", f"{value!r} is not an id ({prefix}0123456789abcdef0)")
        if len(set(ids)) != len(ids):
            raise bad(f"vpc.{key}", "names an id twice")


def _check_dr(dr: DrConfig, bad: Any) -> None:
    """What Route 53 takes (one PRIMARY and one SECONDARY failover record of a name; latency records
    on AWS region names), refused here rather than by `lift dr setup` halfway through."""
    if len(dr.hosts) < 2:
        raise bad("dr.hosts", f"a front door needs a host in at least two regions, not {len(dr.hosts)}")
    if dr.mode == "active-passive" and len(dr.hosts) != 2:
        raise bad(
            "dr.hosts",
            f"active-passive failover takes one primary and one secondary region, not {len(dr.hosts)} "
            '(use mode = "active-active" for more)',
        )
    for region in dr.hosts:
        if not _REGION.fullmatch(region):
            raise bad(f"dr.hosts.{region}", f"{region!r} is not an AWS region name (e.g. eu-west-1)")
    if not dr.health_path.startswith("/"):
        raise bad("dr.health_path", f"{dr.health_path!r} must be a path starting with '/'")


def _check_release(release: ReleaseConfig, bad: Any) -> None:
    """What CodeDeploy accepts when it runs the shift (whole percents, whole minutes), and names."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,127}", release.alias) or release.alias.isdigit():
        raise bad("release.alias", f"{release.alias!r} is not a Lambda alias name (letters, digits, '-', '_')")
    if not 0 < release.percent < 100:
        raise bad("release.percent", f"{release.percent} must be between 0 and 100")
    if len(release.alarms) > 100:
        raise bad("release.alarms", f"{len(release.alarms)} alarms: CloudWatch describes at most 100 at once")
    if release.engine == "codedeploy" and len(release.alarms) > 10:  # the stack's create failed on AWS
        raise bad("release.alarms", f"{len(release.alarms)} alarms: a CodeDeploy deployment group takes at most 10")
    if len(set(release.alarms)) != len(release.alarms):  # CodeDeploy refuses a name twice in its list
        raise bad("release.alarms", "names an alarm twice")
    if not 1 <= release.hook_timeout <= 900:
        raise bad("release.hook_timeout", "must be 1-900 seconds (a Lambda timeout)")
    if release.engine == "codedeploy" and release.strategy in ("canary", "linear"):
        if release.percent != int(release.percent):
            raise bad("release.percent", f"CodeDeploy shifts whole percents, not {release.percent}")
        if release.interval % 60 or release.interval < 60:
            raise bad("release.interval", f"CodeDeploy steps last whole minutes: {release.interval} s is not")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`: tables merge recursively, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
