"""The deployment model: what an App needs in AWS, derived from its registrations and its stage config.

`build_deployment(app, config, stage)` reads the App only through its public inspection API
(`endpoints`, `event_handlers`, `schedules`, `stores`, `resource_names`, `name`) and returns a
`Deployment`: plain frozen dataclasses that say *what* to create (functions, the HTTP front,
queues and their DLQs, event source mappings, rules, schedules, tables, log groups, IAM roles)
and never *how*. Renderers (CloudFormation/SAM, Terraform, Pulumi, CDK) read only this model.

Values that only exist once deployed (account, region, the id of an API created in the same
deployment) are `Expr`s: strings with `{partition}`, `{region}`, `{account}`, `{url_suffix}`
and `{ref:ID}` (the physical id of the model resource ID) placeholders, which each renderer
turns into its own syntax (CloudFormation `Fn::Sub`, Terraform interpolation, ...).
Every resource has an `id`: a stable, unique, alphanumeric name renderers use as logical id.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lift.deploy.config import ConfigError, ProjectConfig, StageConfig
from lift.stage_names import fitted as _fitted

__all__ = [
    "Expr",
    "IamStatement",
    "Role",
    "Function",
    "DependenciesLayer",
    "HttpRoute",
    "HttpFront",
    "WebSocketApi",
    "FunctionUrl",
    "CloudMapRegistration",
    "Queue",
    "Topic",
    "TopicSubscription",
    "Bucket",
    "KinesisStream",
    "Table",
    "TableIndex",
    "EventSourceMapping",
    "EventRule",
    "Schedule",
    "LogGroup",
    "Alarm",
    "Authorizer",
    "Permission",
    "SubscriptionFilter",
    "UserPool",
    "ObjectLambdaAccessPoint",
    "RolePolicy",
    "Output",
    "RestResource",
    "REST_BINARY_MEDIA_TYPES",
    "rest_resources",
    "policy_document",
    "provider_names",
    "ReleaseHookFunction",
    "TrafficShift",
    "Deployment",
    "ModelError",
    "build_deployment",
    "queue_arn",
    "table_arn",
    "function_arn",
]


class ModelError(ConfigError):
    """The App's registrations cannot be deployed as configured (the message says what to add)."""


# -- values known only at deployment -------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{(partition|region|account|url_suffix|ref:[A-Za-z0-9]+)\}")


@dataclass(frozen=True, order=True)
class Expr:
    """A string with deployment-time placeholders: `{partition}`, `{region}`, `{account}`,
    `{url_suffix}` (amazonaws.com) and `{ref:ID}` (the physical id of model resource ID)."""

    template: str

    @property
    def refs(self) -> tuple[str, ...]:
        """The model ids this value refers to (`{ref:ID}`), in order of appearance."""
        return tuple(m[4:] for m in _PLACEHOLDER.findall(self.template) if m.startswith("ref:"))

    def parts(self) -> list[str | tuple[str, str]]:
        """The template split into literal text and (kind, name) placeholders, for renderers:
        `[("pseudo", "region"), ":", ("ref", "Api")]`."""
        out: list[str | tuple[str, str]] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(self.template):
            if m.start() > pos:
                out.append(self.template[pos : m.start()])
            name = m.group(1)
            out.append(("ref", name[4:]) if name.startswith("ref:") else ("pseudo", name))
            pos = m.end()
        if pos < len(self.template):
            out.append(self.template[pos:])
        return out

    def format(self, *, partition: str = "aws", region: str, account: str, refs: Mapping[str, str] = {}) -> str:
        """The concrete string for one account and region (`refs`: model id -> physical id)."""

        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("ref:"):
                return refs[name[4:]]
            return {"partition": partition, "region": region, "account": account, "url_suffix": "amazonaws.com"}[name]

        return _PLACEHOLDER.sub(value, self.template)

    def __str__(self) -> str:
        return self.template


Value = str | Expr


def queue_arn(name: str) -> Expr:
    return Expr(f"arn:{{partition}}:sqs:{{region}}:{{account}}:{name}")


def table_arn(name: str) -> Expr:
    return Expr(f"arn:{{partition}}:dynamodb:{{region}}:{{account}}:table/{name}")


def function_arn(name: str) -> Expr:
    return Expr(f"arn:{{partition}}:lambda:{{region}}:{{account}}:function:{name}")


def _given_arn(arn: str) -> Expr:
    return Expr(arn)


# -- resources ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class IamStatement:
    """One statement of a role's inline policy. `resources` never holds `*` where a name is known."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[Value, ...]
    effect: Literal["Allow", "Deny"] = "Allow"
    reason: str = ""  # why the app needs it (shown by `lift synth`, kept out of templates)
    condition: Mapping[str, Mapping[str, Any]] | None = None  # for actions that take no resource


def policy_document(
    statements: Iterable[IamStatement], resource: Callable[[Value], Any], single_as_scalar: bool = False
) -> dict[str, Any]:
    """An IAM policy document of `statements`, each resource rendered by `resource` (the renderer's
    own value mapping), for a role's inline policy and for role policies. `single_as_scalar` writes
    a statement's one resource as a scalar rather than a list of one (the CloudFormation templates'
    spelling; IAM reads both the same)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": s.sid,
                "Effect": s.effect,
                "Action": list(s.actions),
                "Resource": resource(s.resources[0])
                if single_as_scalar and len(s.resources) == 1
                else [resource(r) for r in s.resources],
                **({"Condition": dict(s.condition)} if s.condition else {}),
            }
            for s in statements
        ],
    }


def provider_names(value: Any, renames: Mapping[str, str] | None = None) -> Any:
    """`value` (dicts and lists built in CloudFormation's property names, as the model's `*_config`
    helpers return them) with every key in the AWS provider's spelling, which Terraform and Pulumi
    share: snake_case (`KMSKeyID` -> `kms_key_id`), or what `renames` says (a block's singular name)."""
    if isinstance(value, dict):
        return {
            (renames or {}).get(k) or _SNAKE.sub("_", k).lower(): provider_names(v, renames) for k, v in value.items()
        }
    if isinstance(value, list):
        return [provider_names(v, renames) for v in value]
    return value


_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Role:
    """An IAM role assumed by `service` (e.g. `lambda.amazonaws.com`) with one inline policy."""

    id: str
    service: str
    statements: tuple[IamStatement, ...]


@dataclass(frozen=True)
class Function:
    """A Lambda function running the App's handler (zip package, `code` filled by packaging)."""

    id: str
    name: str  # physical function name: "<service>-<stage>"
    handler: str  # "module.attr": an App is callable as handler(event, context)
    runtime: str
    architecture: Literal["arm64", "x86_64"]
    memory: int
    timeout: int
    role_id: str
    log_group_id: str
    environment: tuple[tuple[str, Value], ...]  # sorted by name; secrets appear as references (ARNs)
    reserved_concurrency: int | None = None
    tracing: bool = True
    snapstart: bool = False
    layers: tuple[Value, ...] = ()  # layer version ARNs (an Expr for one that depends on the region)
    resources: tuple[str, ...] = ()  # app.resource names (re-created after a SnapStart restore)
    description: str = ""
    dependencies_layer_id: str | None = None  # the DependenciesLayer holding its dependencies, if apart
    ephemeral_storage: int = 512  # MB of /tmp
    subnets: tuple[str, ...] = ()  # with security_groups: the function's network interfaces in a VPC
    security_groups: tuple[str, ...] = ()
    ipv6: bool = False  # outbound IPv6 in dual-stack subnets
    # kept initialised on the deployment's `traffic_alias` (the app's function only)
    provisioned_concurrency: int | None = None

    @property
    def arn(self) -> Expr:
        return function_arn(self.name)


@dataclass(frozen=True)
class DependenciesLayer:
    """A Lambda layer holding the function's dependencies (`dependencies_layer = true`); its zip
    comes from `lift package` like the function's (a second code location for renderers)."""

    id: str
    name: str
    runtime: str
    architecture: Literal["arm64", "x86_64"]


@dataclass(frozen=True)
class HttpRoute:
    """One registered HTTP route: a method (or `ANY`) and a path template (`/users/{id}`, `{p+}`)."""

    method: str
    path: str


@dataclass(frozen=True)
class HttpFront:
    """How HTTP reaches the function: `http` (API Gateway HTTP API), `rest` (REST API), `url`
    (function URL) or `alb`. Every route goes to `function_id`; unknown paths also reach the
    function (`catch_all`) so the App answers 404/405 itself."""

    id: str
    kind: Literal["http", "rest", "url", "alb"]
    function_id: str
    routes: tuple[HttpRoute, ...]
    stage: str
    catch_all: bool = True
    cors_origins: tuple[str, ...] = ()
    domain: str | None = None
    certificate_arn: str | None = None
    alb_listener_arn: str | None = None
    alb_priority: int = 100
    alb_path_patterns: tuple[str, ...] = ("/*",)
    authorizer_id: str | None = None  # the Authorizer every route uses, but `public_routes`
    public_routes: tuple[HttpRoute, ...] = ()  # routes (method ANY = every method) left without it

    def route_keys(self) -> list[str]:
        """An HTTP API's route keys: each registered route, and `$default` (the App answers 404/405).
        An app with more routes than an HTTP API takes (HTTP_API_ROUTES) keeps only the routes that
        differ from `$default` (public ones, which skip the authorizer): `$default` serves the others
        alike, through the same integration and authorizer."""
        routes = self.routes
        if self.catch_all and len(routes) + 1 > HTTP_API_ROUTES:
            routes = self.public_routes if self.authorizer_id else ()
        return [f"{r.method} {r.path}" for r in routes] + (["$default"] if self.catch_all else [])


HTTP_API_ROUTES = 300  # API Gateway's quota of routes per HTTP API, $default included


@dataclass(frozen=True)
class FunctionUrl:
    """A function URL of its own (beside the HTTP front): the streaming function's, in
    `RESPONSE_STREAM` mode (`[tool.lift.streaming]`)."""

    id: str
    function_id: str
    auth_type: Literal["AWS_IAM", "NONE"] = "AWS_IAM"
    invoke_mode: Literal["BUFFERED", "RESPONSE_STREAM"] = "RESPONSE_STREAM"
    cors_origins: tuple[str, ...] = ()
    output: str = "StreamUrl"  # the stack output holding the URL


@dataclass(frozen=True)
class CloudMapRegistration:
    """The service's entry in an AWS Cloud Map HTTP namespace (`[tool.lift.cloud_map]`): a Cloud Map
    service `service` (logical id `id`) and one instance `instance_id` (`{id}Instance`) whose `URL`
    attribute is the stage's URL (`url_source`: the API's, the custom domain's, the streaming URL,
    or none) and whose other `attributes` say what it is (stage, region, the function's ARN)."""

    id: str
    namespace: str
    service: str
    instance_id: str
    attributes: tuple[tuple[str, Value], ...]
    url_source: Literal["api", "domain", "stream", "none"] = "api"
    namespace_id: str | None = None  # None: looked up by name (CloudFormation: the CloudMapNamespaceId parameter)
    # a custom health check (HealthCheckCustomConfig, FailureThreshold 1: the only value AWS keeps),
    # set by the function from its readiness checks on the schedule `health_schedule_id`
    health: bool = False
    health_schedule_id: str | None = None

    @property
    def arn(self) -> Expr:
        """The Cloud Map service's ARN (what UpdateInstanceCustomHealthStatus is granted on)."""
        return Expr(f"arn:{{partition}}:servicediscovery:{{region}}:{{account}}:service/{{ref:{self.id}}}")


@dataclass(frozen=True)
class WebSocketApi:
    """An API Gateway WebSocket API whose route keys all invoke `function_id`."""

    id: str
    name: str
    function_id: str
    route_keys: tuple[str, ...]
    stage: str
    route_selection_expression: str = "$request.body.action"
    authorizer_id: str | None = None  # the Authorizer of the `$connect` route

    @property
    def endpoint(self) -> Expr:
        """The Management API endpoint handlers post to (`LIFT_WEBSOCKET_ENDPOINT`)."""
        return Expr(f"https://{{ref:{self.id}}}.execute-api.{{region}}.{{url_suffix}}/{self.stage}")


@dataclass(frozen=True)
class Queue:
    """An SQS queue created by the deployment: a consumed queue (with `dlq_id`) or a DLQ."""

    id: str
    name: str
    fifo: bool
    visibility_timeout: int
    dlq_id: str | None = None
    max_receive_count: int = 5
    is_dlq: bool = False
    retention_seconds: int = 345600  # 4 days (SQS default); DLQs keep 14 days

    @property
    def arn(self) -> Expr:
        return queue_arn(self.name)


@dataclass(frozen=True)
class Topic:
    """An SNS topic created by the deployment, encrypted with `kms_key`."""

    id: str
    name: str
    kms_key: str = "alias/aws/sns"


@dataclass(frozen=True)
class TopicSubscription:
    """The function subscribed to a topic (created here when `topic_id`, else an existing ARN)."""

    id: str
    function_id: str
    topic_arn: Value
    topic_id: str | None = None


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket created by the deployment (versioned, encrypted, public access blocked, its
    object events sent to EventBridge)."""

    id: str
    name: str


@dataclass(frozen=True)
class KinesisStream:
    """A Kinesis data stream created by the deployment (on-demand, encrypted with `kms_key`)."""

    id: str
    name: str
    kms_key: str = "alias/aws/kinesis"

    @property
    def arn(self) -> Expr:
        return Expr(f"arn:{{partition}}:kinesis:{{region}}:{{account}}:stream/{self.name}")


@dataclass(frozen=True)
class TableIndex:
    """A global secondary index of a Table (on-demand like its table)."""

    name: str
    partition_key: tuple[str, Literal["S", "N", "B"]]
    sort_key: tuple[str, Literal["S", "N", "B"]] | None = None
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class Table:
    """A DynamoDB table a Lift store uses: on-demand, TTL on, point-in-time recovery (PITR)."""

    id: str
    name: str
    partition_key: tuple[str, Literal["S", "N", "B"]]
    sort_key: tuple[str, Literal["S", "N", "B"]] | None = None
    ttl_attribute: str | None = None
    pitr: bool = True
    retain: bool = True  # kept when the stack is deleted
    used_by: str = ""  # what uses it (e.g. "idempotency, rate_limit")
    indexes: tuple[TableIndex, ...] = ()  # global secondary indexes
    replicas: tuple[str, ...] = ()  # a DynamoDB global table replicated in these regions (this one first)

    @property
    def stream_view_type(self) -> str | None:
        """A global table replicates through its stream, which needs both images; else no stream."""
        return "NEW_AND_OLD_IMAGES" if self.replicas else None

    @property
    def arn(self) -> Expr:
        return table_arn(self.name)

    @property
    def attributes(self) -> list[tuple[str, str]]:
        """Every key attribute of the table and its indexes, once each, in order of first use
        (what CloudFormation's AttributeDefinitions and Terraform's `attribute` blocks list)."""
        seen: dict[str, str] = {}
        keys = [self.partition_key, self.sort_key]
        for index in self.indexes:
            keys += [index.partition_key, index.sort_key]
        for key in keys:
            if key is not None:
                seen.setdefault(key[0], key[1])
        return list(seen.items())


@dataclass(frozen=True)
class EventSourceMapping:
    """A Lambda event source mapping: SQS (with `ReportBatchItemFailures`), Kinesis, a DynamoDB stream,
    Amazon MSK (`msk`), self-managed Kafka (`kafka`) or Amazon MQ (`mq`)."""

    id: str
    kind: Literal["sqs", "kinesis", "dynamodb", "msk", "kafka", "mq"]
    function_id: str
    source_arn: Value
    source_id: str | None = None  # the model id when the queue/stream is created here
    batch_size: int = 10
    batching_window: int = 0
    report_batch_item_failures: bool = True
    max_concurrency: int | None = None  # SQS only
    starting_position: str | None = None  # streams only
    bisect_on_error: bool = False
    retry_attempts: int | None = None
    max_record_age: int | None = None
    parallelization: int | None = None
    on_failure_arn: Value | None = None  # streams: where discarded batches' metadata goes
    on_failure_id: str | None = None
    topics: tuple[str, ...] = ()  # Kafka
    queues: tuple[str, ...] = ()  # Amazon MQ
    bootstrap_servers: tuple[str, ...] = ()  # self-managed Kafka
    source_access: tuple[tuple[str, Value], ...] = ()  # (Type, URI): credentials, VPC, virtual host
    consumer_group_id: str | None = None
    pollers: tuple[int, int] | None = None  # (min, max) provisioned pollers (Kafka partial failures)

    @property
    def broker(self) -> bool:
        """Kafka (MSK, self-managed) or Amazon MQ: topics or queues, credentials, VPC access."""
        return self.kind in ("msk", "kafka", "mq")

    def settings(self, value: Callable[[Value], Any]) -> dict[str, Any]:
        """The mapping's settings in CloudFormation's property names, from `BatchSize` on: all but
        the function, the event source and the failure destination (references each renderer spells
        itself); `value` renders a model value (the source access URIs)."""
        out: dict[str, Any] = {"BatchSize": self.batch_size}
        if self.batching_window:
            out["MaximumBatchingWindowInSeconds"] = self.batching_window
        if self.broker:
            if self.topics:
                out["Topics"] = list(self.topics)
                out["StartingPosition"] = self.starting_position
            if self.queues:
                out["Queues"] = list(self.queues)
            if self.source_access:
                out["SourceAccessConfigurations"] = [{"Type": t, "URI": value(uri)} for t, uri in self.source_access]
            if self.consumer_group_id:
                managed = (
                    "AmazonManagedKafkaEventSourceConfig" if self.kind == "msk" else "SelfManagedKafkaEventSourceConfig"
                )
                out[managed] = {"ConsumerGroupId": self.consumer_group_id}
            if self.report_batch_item_failures:
                out["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            if self.pollers:
                out["ProvisionedPollerConfig"] = {"MinimumPollers": self.pollers[0], "MaximumPollers": self.pollers[1]}
            return out
        if self.report_batch_item_failures:
            out["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if self.max_concurrency:
            out["ScalingConfig"] = {"MaximumConcurrency": self.max_concurrency}
        if self.kind in ("kinesis", "dynamodb"):
            out["StartingPosition"] = self.starting_position
            out["BisectBatchOnFunctionError"] = self.bisect_on_error
            out["MaximumRetryAttempts"] = self.retry_attempts
            out["MaximumRecordAgeInSeconds"] = self.max_record_age
            out["ParallelizationFactor"] = self.parallelization
        return out


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule on `bus` whose matching events invoke the function."""

    id: str
    name: str
    bus: str
    pattern: Mapping[str, Any]
    function_id: str
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", self.description[:512])  # EventBridge's limit

    @property
    def named_bus(self) -> str | None:
        """The bus when it is not the account's default one (templates then leave it out)."""
        return None if self.bus == "default" else self.bus


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule invoking the function with a `Scheduled Event` (`input`),
    through `role_id` (a role Scheduler assumes, allowed to invoke only this function)."""

    id: str
    name: str
    expression: str  # cron(...) or rate(...)
    function_id: str
    role_id: str
    input: Expr  # JSON text (with `{account}`/`{region}` placeholders and Scheduler's <aws.scheduler.*>)
    timezone: str = "UTC"


@dataclass(frozen=True)
class Alarm:
    """A CloudWatch alarm notifying `topic_id` (the alarms topic, emailed to `alarms_email`)."""

    id: str
    name: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, Value], ...]
    statistic: str
    threshold: float
    topic_id: str
    period: int = 300
    evaluation_periods: int = 1
    comparison: str = "GreaterThanThreshold"
    description: str = ""


@dataclass(frozen=True)
class ReleaseHookFunction:
    """A pre- or post-traffic check (`@app.release_hook`) deployed as a function of its own: the
    app's package with handler `lift.release_hooks.handler`, named `CodeDeployHook_...` (the prefix
    AWS's CodeDeploy role for Lambda may invoke)."""

    id: str
    phase: Literal["pre", "post"]
    hook: str  # the name registered with @app.release_hook
    name: str
    role_id: str
    log_group_id: str
    timeout: int
    environment: tuple[tuple[str, Value], ...]
    handler: str = "lift.release_hooks.handler"

    @property
    def arn(self) -> Expr:
        return function_arn(self.name)


# CodeDeploy's predefined Lambda configurations: (strategy, percent, minutes) -> name
_PREDEFINED_CONFIGS = {
    **{("canary", 10.0, m): f"CodeDeployDefault.LambdaCanary10Percent{m}Minutes" for m in (5, 10, 15, 30)},
    **{
        ("linear", 10.0, m): f"CodeDeployDefault.LambdaLinear10PercentEvery{m}Minute{'s' if m > 1 else ''}"
        for m in (1, 2, 3, 10)
    },
}


@dataclass(frozen=True)
class TrafficShift:
    """How a new version takes the traffic of `alias` (`[tool.lift.stages.S.release]`). Every trigger
    invokes the alias. `engine = "lift"`: the template creates the alias once and `lift release`
    moves it; `"codedeploy"`: each deployment publishes a version and CodeDeploy shifts the alias
    (`deployment_config`, or the custom `TimeBasedCanary`/`TimeBasedLinear` one when no predefined
    configuration fits), watching `alarms` and running the hooks, with no Lift process."""

    alias: str
    engine: Literal["lift", "codedeploy"]
    strategy: str
    percent: int
    minutes: int
    alarms: tuple[str, ...] = ()
    hooks: tuple[ReleaseHookFunction, ...] = ()
    deployment_config: str | None = None  # a predefined CodeDeploy config; None: `custom_config_id`
    custom_config_id: str | None = None
    custom_type: str | None = None  # TimeBasedCanary | TimeBasedLinear
    application_id: str | None = None  # codedeploy engine: the CodeDeploy application, group, role
    group_id: str | None = None
    service_role_id: str | None = None

    @property
    def sam_type(self) -> str | None:
        """SAM's `DeploymentPreference.Type` for a predefined configuration (`Canary10Percent5Minutes`)."""
        prefix = "CodeDeployDefault.Lambda"
        return self.deployment_config[len(prefix) :] if self.deployment_config else None

    def hook(self, phase: str) -> ReleaseHookFunction | None:
        return next((h for h in self.hooks if h.phase == phase), None)


@dataclass(frozen=True)
class LogGroup:
    """The function's CloudWatch Logs group, created with a retention (Lambda's own never expires)."""

    id: str
    name: str
    retention_days: int


@dataclass(frozen=True)
class Authorizer:
    """An API Gateway Lambda authorizer calling the function (`@app.authorizer`) for the API `api_id`
    (the model id of the HttpFront or WebSocketApi). `kind`: `rest` (TOKEN or REQUEST), `http`
    (REQUEST, payload 2.0, simple or IAM responses) or `websocket` (REQUEST, on `$connect`)."""

    id: str
    api_id: str
    kind: Literal["rest", "http", "websocket"]
    name: str
    type: Literal["TOKEN", "REQUEST"]
    identity_sources: tuple[str, ...]
    ttl: int = 300  # result cache (REST and HTTP APIs; 0 = off)
    simple_responses: bool = True  # HTTP APIs: `isAuthorized` answers (else IAM policies)
    payload_version: str = "2.0"  # HTTP APIs


@dataclass(frozen=True)
class Permission:
    """Lets AWS service `principal` invoke the function (a resource-based policy statement), from
    `source_arn` (wildcards allowed) and, with `source_account`, only from the stage's account."""

    id: str
    principal: str
    source_arn: Value | None = None
    source_account: bool = False
    source_id: str | None = None  # the model resource whose ARN is the source (created here)
    reason: str = ""


@dataclass(frozen=True)
class SubscriptionFilter:
    """A CloudWatch Logs subscription filter sending `log_group`'s events to the function."""

    id: str
    name: str
    log_group: str
    filter_pattern: str = ""
    permission_id: str = ""  # the Permission it needs first (logs.amazonaws.com)


@dataclass(frozen=True)
class UserPool:
    """A Cognito user pool created with the app's `@app.cognito` triggers in its `LambdaConfig`
    (`triggers`: (LambdaConfig key, LambdaVersion or None)); kept when the stack is deleted."""

    id: str
    name: str
    triggers: tuple[tuple[str, str | None], ...]
    kms_key_arn: str | None = None  # custom email/SMS senders decrypt codes with it

    @property
    def arn(self) -> Expr:
        return Expr(f"arn:{{partition}}:cognito-idp:{{region}}:{{account}}:userpool/{{ref:{self.id}}}")

    def lambda_config(self, function_arn: Any) -> dict[str, Any]:
        """The pool's `LambdaConfig` (CloudFormation's names): each trigger invokes `function_arn`,
        with its `LambdaVersion` where the trigger takes one; custom senders decrypt with the key."""
        config: dict[str, Any] = {}
        for key, version in self.triggers:
            config[key] = {"LambdaArn": function_arn, "LambdaVersion": version} if version else function_arn
        if self.kms_key_arn:
            config["KMSKeyID"] = self.kms_key_arn
        return config


@dataclass(frozen=True)
class ObjectLambdaAccessPoint:
    """An S3 access point on `bucket` and the Object Lambda access point `name` in front of it,
    whose GetObject requests invoke the function (`@app.s3_object_lambda(name)`)."""

    id: str
    name: str
    bucket: str
    access_point_id: str
    access_point_name: str

    @property
    def arn(self) -> Expr:
        return Expr(f"arn:{{partition}}:s3-object-lambda:{{region}}:{{account}}:accesspoint/{self.name}")

    def configuration(self, supporting_access_point: Any, function_arn: Any) -> dict[str, Any]:
        """The `ObjectLambdaConfiguration` (CloudFormation's names): GetObject through the access
        point `supporting_access_point` (its ARN) is answered by `function_arn`."""
        return {
            "SupportingAccessPoint": supporting_access_point,
            "TransformationConfigurations": [
                {"Actions": ["GetObject"], "ContentTransformation": {"AwsLambda": {"FunctionArn": function_arn}}}
            ],
        }


@dataclass(frozen=True)
class RolePolicy:
    """An inline policy added to an existing role named `role_name` (e.g. a Firehose delivery
    stream's role, allowed to invoke the function)."""

    id: str
    role_name: str
    statements: tuple[IamStatement, ...]


@dataclass(frozen=True)
class Output:
    """A value the deployment prints (`name` in CamelCase): the function's ARN to plug in somewhere
    (`target`: the ARN triggers invoke, the alias with SnapStart), a created role's ARN (`arn_of`),
    or a plain `value`."""

    name: str
    description: str
    target: bool = False
    arn_of: str | None = None
    value: Value | None = None


@dataclass(frozen=True)
class RestResource:
    """One explicit resource of a REST API with public routes (see `rest_resources`)."""

    path: str
    parent: str  # "" for the root
    part: str
    public_methods: tuple[str, ...]  # methods without the authorizer ("ANY" = every method)
    proxy_child: bool  # a `{proxy+}` child (with the authorizer) keeps deeper paths reaching the app


# A REST API's binary media types: every one. Without them API Gateway passes a binary request body on
# as (mangled) UTF-8 text and sends a base64-encoded answer (`isBase64Encoded`, as Lift returns every
# binary body) to the client as its base64 text; HTTP APIs, function URLs and ALB need no setting.
REST_BINARY_MEDIA_TYPES = ["*/*"]


def rest_resources(public_routes: Iterable[HttpRoute]) -> list[RestResource]:
    """The explicit REST API resources public routes need, parents first. Every other path still
    reaches the function through the root's `{proxy+}`; each explicit resource gets `ANY` with the
    authorizer, its public methods without, and a `{proxy+}` child unless it has a variable child."""
    public: dict[str, set[str]] = {}
    for route in public_routes:
        path = "/" + route.path.strip("/")
        public.setdefault(path, set()).add(route.method)
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts)):
            public.setdefault("/" + "/".join(parts[:i]), set())
    out = []
    paths = sorted(p for p in public if p != "/")
    for path in paths:
        parent, _, part = path.rpartition("/")
        children = [p for p in paths if p.rpartition("/")[0] == path]
        variable_child = any(p.rpartition("/")[2].startswith("{") for p in children)
        methods = public[path]
        out.append(
            RestResource(
                path=path,
                parent=parent,
                part=part,
                public_methods=("ANY",) if "ANY" in methods else tuple(sorted(methods)),
                proxy_child=not variable_child and not part.endswith("+}"),
            )
        )
    return out


@dataclass(frozen=True)
class Deployment:
    """Everything one stage of one service needs in AWS. Renderers read only this."""

    service: str
    stage: str
    stack_name: str
    region: str
    regions: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    functions: tuple[Function, ...]
    roles: tuple[Role, ...]
    log_groups: tuple[LogGroup, ...]
    http: HttpFront | None = None
    websocket: WebSocketApi | None = None
    queues: tuple[Queue, ...] = ()
    topics: tuple[Topic, ...] = ()
    subscriptions: tuple[TopicSubscription, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    streams: tuple[KinesisStream, ...] = ()
    tables: tuple[Table, ...] = ()
    event_source_mappings: tuple[EventSourceMapping, ...] = ()
    rules: tuple[EventRule, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    layers: tuple[DependenciesLayer, ...] = ()
    alarms_email: str | None = None  # subscribed to the alarms topic (one of `topics`, `alarm_topic_id`)
    alarm_topic_id: str | None = None
    slos: tuple[Any, ...] = ()  # lift.slo.SLO declared with app.slo: burn-rate alarms (lift.deploy.slo)
    slo_routes: tuple[tuple[str, str], ...] = ()  # (method, route template) of the app, for the SLOs
    metrics_namespace: str = ""  # where RequestMetrics writes (the app's name unless configured)
    metrics_service: str = ""  # the `service` dimension value RequestMetrics writes (the app's name)
    metrics_stage: str = ""  # the `stage` dimension value it writes (LIFT_STAGE: the stage)
    artifact_bucket: str | None = None
    release: TrafficShift | None = None  # [release]: triggers invoke its alias (see TrafficShift)
    warnings: tuple[str, ...] = ()
    config: StageConfig = field(default_factory=StageConfig, compare=False, repr=False)
    authorizers: tuple[Authorizer, ...] = ()
    permissions: tuple[Permission, ...] = ()
    subscription_filters: tuple[SubscriptionFilter, ...] = ()
    user_pools: tuple[UserPool, ...] = ()
    object_lambda_access_points: tuple[ObjectLambdaAccessPoint, ...] = ()
    role_policies: tuple[RolePolicy, ...] = ()
    outputs: tuple[Output, ...] = ()
    function_urls: tuple[FunctionUrl, ...] = ()  # the streaming function's RESPONSE_STREAM URL
    cloud_map: CloudMapRegistration | None = None  # where other services discover this one

    @property
    def function(self) -> Function:
        """The function (a Lift service deploys as one function)."""
        return self.functions[0]

    @property
    def traffic_alias(self) -> str | None:
        """The alias every trigger invokes: the release alias, else the stage's name with SnapStart
        (snapshots exist only for published versions) or provisioned concurrency (kept on an alias),
        else None (triggers invoke $LATEST)."""
        if self.release is not None:
            return self.release.alias
        fn = self.function
        return self.stage if fn.snapstart or fn.provisioned_concurrency else None

    def role(self, role_id: str) -> Role:
        return next(r for r in self.roles if r.id == role_id)

    def by_id(self, resource_id: str) -> Any:
        """The model resource with `id` (any kind)."""
        for item in self.resources():
            if item.id == resource_id:
                return item
        raise KeyError(resource_id)

    def resources(self) -> list[Any]:
        """Every resource of the model, in a fixed order."""
        items: list[Any] = [*self.functions, *self.layers, *self.roles, *self.log_groups]
        items += [x for x in (self.http, self.websocket) if x is not None]
        items += list(self.function_urls)
        items += [self.cloud_map] if self.cloud_map is not None else []
        for group in (
            self.queues,
            self.topics,
            self.subscriptions,
            self.buckets,
            self.streams,
            self.tables,
            self.event_source_mappings,
            self.rules,
            self.schedules,
            self.alarms,
            self.authorizers,
            self.permissions,
            self.subscription_filters,
            self.user_pools,
            self.object_lambda_access_points,
            self.role_policies,
        ):
            items.extend(group)
        return items

    @property
    def iam_actions(self) -> list[str]:
        """Every IAM action granted to the function roles, sorted (for summaries and checks)."""
        return sorted({a for role in self.roles for s in role.statements for a in s.actions})


# -- building the model ---------------------------------------------------------------------------
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_GLOB = re.compile(r"[*?\[]")


def logical_id(*parts: str) -> str:
    """`("queue", "orders-in.fifo")` -> `QueueOrdersInFifo`: alphanumeric, CamelCase, stable."""
    words = [w for p in parts for w in _NON_ALNUM.split(p) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words)
    return text[:200] or "Resource"


class _Ids:
    """Hands out logical ids, suffixing a number if two names collapse to the same id."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, *parts: str) -> str:
        base = logical_id(*parts)
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}{n}", n + 1
        self.used.add(candidate)
        return candidate


def distinct_names(keys: Iterable[str], name_of: Callable[[str], str]) -> dict[str, str]:
    """Each key's `name_of(key)` (a renderer's resource name for a route key or path), numbered from
    2 when keys make the same name (`GET /a-b` and `GET /a_b`, `/café` and `/caf`): the names stay
    unique, and unchanged where they already were."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for key in keys:
        base = candidate = name_of(key)
        n = 2
        while candidate in used:
            candidate, n = f"{base}{n}", n + 1
        used.add(candidate)
        names[key] = candidate
    return names


def handler_from_app_ref(app_ref: str | None) -> str:
    """`"pkg.app:app"` -> `"pkg.app.app"` (the Lambda handler string); default `app.app`."""
    module, _, attr = (app_ref or "app:app").partition(":")
    return f"{module}.{attr or 'app'}"


def build_deployment(
    app: Any,
    config: ProjectConfig,
    stage: str | None = None,
    *,
    handler: str | None = None,
    region: str | None = None,
) -> Deployment:
    """The Deployment of `app` for `stage` (the config's default stage when None).

    `handler` is the Lambda handler string (`module.attr`; by default from `[tool.lift] app`);
    `region` overrides the stage's region (else its first region, else AWS_REGION, else us-east-1).
    Raises ModelError when a registration needs configuration that is missing (a glob queue name
    without the ARNs it stands for, a DynamoDB stream without its ARN)."""
    import os

    stage = stage or config.default_stage
    settings = config.stage(stage)
    return _Builder(
        app, config, settings, stage, handler or handler_from_app_ref(config.app), region, os.environ
    ).build()


class _Builder:
    def __init__(
        self,
        app: Any,
        config: ProjectConfig,
        settings: StageConfig,
        stage: str,
        handler: str,
        region: str | None,
        environ: Mapping[str, str],
    ) -> None:
        self.app, self.config, self.s, self.stage, self.handler = app, config, settings, stage, handler
        self.service = _service_name(config.name or app.name)
        self.region = (
            region
            or settings.region
            or (settings.regions[0] if settings.regions else None)
            or environ.get("AWS_REGION")
            or environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        self.ids = _Ids()
        self.function_id = self.ids("Function")
        self.role_id = self.ids("FunctionRole")
        self.log_group_id = self.ids("FunctionLogs")
        self.function_name = _fitted(f"{self.service}-{stage}", 64, "")
        # what the stack names `<name><suffix>` (lift.stage_names), and the app's names it checked
        self.suffix = settings.resource_suffix.replace("{stage}", stage)
        self.named: list[tuple[str, str]] = []
        self.stage_tables: list[str] = []  # the app's names of the tables this stage creates
        self.statements: list[IamStatement] = []
        self.queues: list[Queue] = []
        self.topics: list[Topic] = []
        self.subscriptions: list[TopicSubscription] = []
        self.buckets: list[Bucket] = []
        self.streams: list[KinesisStream] = []
        self.tables: list[Table] = []
        self.mappings: list[EventSourceMapping] = []
        self.rules: list[EventRule] = []
        self.schedules: list[Schedule] = []
        self.roles: list[Role] = []
        self.extra_log_groups: list[LogGroup] = []
        self.warnings: list[str] = []
        self.environment: dict[str, Value] = {}
        self.authorizers: list[Authorizer] = []
        self.permissions: list[Permission] = []
        self.subscription_filters: list[SubscriptionFilter] = []
        self.user_pools: list[UserPool] = []
        self.object_lambdas: list[ObjectLambdaAccessPoint] = []
        self.role_policies: list[RolePolicy] = []
        self.outputs: list[Output] = []
        self.extra_functions: list[dict[str, Any]] = []  # Function fields of the jobs/stream functions
        self.function_urls: list[FunctionUrl] = []
        self.by_source: dict[str, list[Any]] = {}
        for handler_ in app.event_handlers:
            self.by_source.setdefault(handler_.source, []).append(handler_)

    def where(self, key: str) -> str:
        file = self.config.file or "configuration"
        return f"{file}: add [tool.lift.{key}]"

    # -- the whole model ----------------------------------------------------------------------
    def build(self) -> Deployment:
        s = self.s
        http = self._http()
        websocket = self._websocket()
        self._queues()
        self._jobs()
        self._topics()
        self._buckets()
        self._eventbridge()
        self._streams()
        self._schedules()
        self._tables()
        http, websocket = self._triggers(http, websocket)
        self._connections()
        self._streaming()
        cloud_map = self._cloud_map(http)
        self._service_discovery()
        self._check_names()
        self._stage_names_environment()
        slos, slo_routes = self._slos()
        alarms, alarm_topic_id = self._alarms()
        self._base_statements(websocket)
        self._function_network_grant()
        release = self._release()
        log_group = LogGroup(self.log_group_id, f"/aws/lambda/{self.function_name}", s.log_retention_days)
        environment = {"LIFT_NAME": self.service, "LIFT_STAGE": self.stage}
        if s.log_level:
            environment["LIFT_LOG_LEVEL"] = s.log_level
        environment.update(s.environment)
        environment.update(self.environment)
        for env, arn in s.secrets.items():  # a reference the function resolves, never the secret itself
            environment[env] = arn
        function = Function(
            id=self.function_id,
            name=self.function_name,
            handler=self.handler,
            runtime=s.runtime,
            architecture=s.architecture,
            memory=s.memory,
            timeout=s.timeout,
            role_id=self.role_id,
            log_group_id=self.log_group_id,
            environment=tuple(sorted(environment.items())),
            reserved_concurrency=s.reserved_concurrency,
            tracing=s.tracing,
            snapstart=s.snapstart,
            layers=tuple(s.layers),
            resources=tuple(self.app.resource_names),
            description=f"{self.service} ({self.stage}), deployed by lift",
            ephemeral_storage=s.ephemeral_storage,
            subnets=tuple(s.vpc.subnets) if s.vpc else (),
            security_groups=tuple(s.vpc.security_groups) if s.vpc else (),
            ipv6=bool(s.vpc and s.vpc.ipv6),
            provisioned_concurrency=s.provisioned_concurrency,
        )
        role = Role(self.role_id, "lambda.amazonaws.com", _unique_sids(self.statements))
        layers = ()
        if s.dependencies_layer:
            layers = (
                DependenciesLayer(
                    self.ids("DependenciesLayer"), f"{self.function_name}-deps", s.runtime, s.architecture
                ),
            )
            function = dataclasses.replace(function, dependencies_layer_id=layers[0].id)
        # the jobs worker (and the streaming function): the same code, role and settings, their own
        # handler, limits and log group; triggers stay on the app's function unless routed to them
        extra_functions, extra_logs = [], []
        for spec in self.extra_functions:
            spec = dict(spec)
            env = dict(function.environment) | spec.pop("environment", {})
            layers_first = spec.pop("layers_first", ())
            extra = dataclasses.replace(
                function,
                snapstart=False,
                provisioned_concurrency=None,
                environment=tuple(sorted(env.items())),
                layers=(*layers_first, *function.layers),
                **spec,
            )
            extra_functions.append(extra)
            extra_logs.append(LogGroup(extra.log_group_id, f"/aws/lambda/{extra.name}", s.log_retention_days))
        tags = {"lift:service": self.service, "lift:stage": self.stage, **s.tags}
        from lift.observability.metrics import metric_identity

        # Where the deployed function's RequestMetrics write: the namespace set in code or by the stage's
        # environment, and the app's name as the `service` dimension (not the stack's service name).
        metrics_namespace, metrics_service, metrics_stage = metric_identity(
            self.app, {k: v for k, v in environment.items() if isinstance(v, str)}
        )
        return Deployment(
            service=self.service,
            stage=self.stage,
            stack_name=(s.stack_name or f"{self.service}-{self.stage}"),
            region=self.region,
            regions=tuple(s.regions or [self.region]),
            tags=tuple(sorted(tags.items())),
            functions=(function, *extra_functions),
            roles=(role, *self.roles),
            log_groups=(log_group, *extra_logs, *self.extra_log_groups),
            http=http,
            websocket=websocket,
            queues=tuple(self.queues),
            topics=tuple(self.topics),
            subscriptions=tuple(self.subscriptions),
            buckets=tuple(self.buckets),
            streams=tuple(self.streams),
            tables=tuple(self.tables),
            event_source_mappings=tuple(self.mappings),
            rules=tuple(self.rules),
            schedules=tuple(self.schedules),
            alarms=alarms,
            layers=layers,
            alarms_email=s.alarms_email,
            alarm_topic_id=alarm_topic_id,
            slos=slos,
            slo_routes=slo_routes,
            metrics_namespace=metrics_namespace,
            metrics_service=metrics_service or self.service,
            metrics_stage=metrics_stage or "",
            artifact_bucket=s.artifact_bucket,
            release=release,
            warnings=tuple(self.warnings),
            config=s,
            authorizers=tuple(self.authorizers),
            permissions=tuple(self.permissions),
            subscription_filters=tuple(self.subscription_filters),
            user_pools=tuple(self.user_pools),
            object_lambda_access_points=tuple(self.object_lambdas),
            role_policies=tuple(self.role_policies),
            outputs=tuple(self.outputs),
            function_urls=tuple(self.function_urls),
            cloud_map=cloud_map,
        )

    def _check_names(self) -> None:
        """The names of what this stack creates are the app's (the queue `@app.sqs` consumes is found
        by its name): one AWS refuses fails here, all of them named with AWS's rule, not halfway
        through a deploy. Names Lift derives (DLQs, failure queues, rules) are made to fit."""
        refused = []
        for kind, name in self.named:
            pattern, longest, rule = _AWS_NAMES[kind]
            if len(name) > longest or not pattern.fullmatch(name):
                refused.append(f"{kind} {name!r} ({len(name)} characters): {rule}")
        if refused:
            raise ModelError(
                "AWS refuses these names of resources the app registers (rename them in the app):\n  "
                + "\n  ".join(dict.fromkeys(refused))
            )

    def physical(self, kind: str, name: str, *, created: bool = True) -> str:
        """The stage's name of a resource this stack creates and the app calls `name` (`kind`: a key of
        lift.stage_names.LIMITS): `<name><resource_suffix>`, fitted to AWS's limit. `name` is checked
        against AWS's rules as the app wrote it (`created`: a name this stack creates, not a lookup)."""
        from lift.stage_names import physical_name

        if created:
            self.named.append((_KIND_LABELS[kind], name))
            if kind == "table":  # (the function's stores find it by the app's name: LIFT_STAGE_TABLES)
                self.stage_tables.append(name)
        return physical_name(name, kind, self.suffix)

    def _stage_names_environment(self) -> None:
        """How the deployed function finds its stage's resources (lift.stage_names): the suffix the
        stack added, and which tables it created (a store on any other table keeps its name)."""
        if not self.suffix or not self.named:
            return
        self.environment["LIFT_RESOURCE_SUFFIX"] = self.suffix
        if self.stage_tables:
            self.environment["LIFT_STAGE_TABLES"] = ",".join(sorted(set(self.stage_tables)))

    def _slos(self) -> tuple[tuple[Any, ...], tuple[tuple[str, str], ...]]:
        """The app's SLOs and the (method, route) pairs they may measure; an SLO no alarm can measure
        is refused here, in every format, rather than as a traceback from a renderer."""
        from lift.deploy.slo import check_slos

        slos = tuple(getattr(self.app, "slos", ()))
        routes = tuple(
            sorted({(m, e.template) for e in self.app.endpoints for m in e.methods if m not in ("HEAD", "OPTIONS")})
        )
        try:
            covered = check_slos(slos, routes)
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        unmeasured = sorted({f"{m} {p}" for pairs in covered.values() for m, p in pairs} - self._route_metrics())
        if unmeasured:  # the alarms would watch metrics nothing writes, and never fire
            self.warnings.append(
                f"SLO routes {', '.join(unmeasured)} write no route metrics: their SLO alarms watch Requests and "
                "ServerErrors per route, which only app.use(RequestMetrics(route_metrics=True)) writes "
                "(lift.middleware.metrics), so they would never fire"
            )
        return slos, routes

    def _route_metrics(self) -> set[str]:
        """The "METHOD /route" pairs whose middleware chain writes per-route metrics."""
        from lift.middleware.metrics import RequestMetrics

        return {
            f"{method} {e.template}"
            for e in self.app.endpoints
            if any(isinstance(mw, RequestMetrics) and mw.route_metrics for mw in e.all_middleware())
            for method in e.methods
        }

    def grant(self, sid: str, actions: Iterable[str], resources: Iterable[Value], reason: str) -> None:
        self.statements.append(IamStatement(logical_id(sid), tuple(actions), tuple(resources), reason=reason))

    # -- HTTP and WebSocket -------------------------------------------------------------------
    def _http(self) -> HttpFront | None:
        s = self.s
        routes = sorted(
            {HttpRoute(method, _api_path(e.template)) for e in self.app.endpoints for method in e.methods},
            key=lambda r: (r.path, r.method),
        )
        if s.http == "none":
            return None
        if not routes and s.http != "url":
            return None
        cert_region = s.certificate_arn.split(":")[3] if s.domain and s.certificate_arn else self.region
        if cert_region != self.region:
            raise ModelError(
                f"{self.config.file or 'configuration'}: certificate_arn is a certificate in {cert_region}, but "
                f"stage {self.stage} deploys to "
                f"{self.region}: a regional API's custom domain needs an ACM certificate in its own region"
            )
        alb = s.alb
        return HttpFront(
            id=self.ids("Http", "Api" if s.http in ("http", "rest") else s.http),
            kind=s.http,
            function_id=self.function_id,
            routes=tuple(routes),
            stage=self.stage,
            cors_origins=tuple(s.cors_origins),
            domain=s.domain,
            certificate_arn=s.certificate_arn,
            alb_listener_arn=alb.listener_arn if alb else None,
            alb_priority=alb.priority if alb else 100,
            alb_path_patterns=tuple(alb.path_patterns) if alb else ("/*",),
        )

    def _websocket(self) -> WebSocketApi | None:
        handlers = self.by_source.get("websocket", [])
        if not handlers:
            return None
        keys = sorted({h.name for h in handlers})
        api = WebSocketApi(
            self.ids("WebSocketApi"), f"{self.service}-{self.stage}-ws", self.function_id, tuple(keys), self.stage
        )
        self.environment["LIFT_WEBSOCKET_ENDPOINT"] = api.endpoint
        return api

    # -- SQS ------------------------------------------------------------------------------------
    def _queues(self) -> None:
        visibility_default = min(6 * self.s.timeout, 43200)
        for h in self.by_source.get("sqs", []):
            name = h.name
            cfg = self.s.queues.get(name)
            from lift.deploy.config import QueueConfig

            cfg = cfg or QueueConfig()
            fifo = name.endswith(".fifo")
            if _GLOB.search(name) and not cfg.arns and not cfg.arn:
                raise ModelError(
                    f"@app.sqs({name!r}) is a pattern: deployment needs the queues it stands for. "
                    f"{self.where(f'queues.{_toml_key(name)}')} arns = [...]"
                )
            if cfg.arn or cfg.arns:
                arns = [_given_arn(a) for a in ([cfg.arn] if cfg.arn else []) + cfg.arns]
                self.warnings.append(
                    f"queue {name}: an existing queue, consumed but not created; give it a DLQ (redrive policy) yourself"
                )
                for i, arn in enumerate(arns):
                    self._sqs_mapping(name if len(arns) == 1 else f"{name}-{i + 1}", arn, None, cfg, fifo)
                self.grant(f"Consume {name}", _SQS_CONSUME, arns, f"@app.sqs({name!r}) consumes it")
                continue
            visibility = cfg.visibility_timeout or visibility_default
            if visibility < self.s.timeout:
                raise ModelError(
                    f"queue {name}: visibility_timeout {visibility} s is below the function timeout "
                    f"{self.s.timeout} s (messages would be delivered twice while still being processed)"
                )
            base = name[: -len(".fifo")] if fifo else name
            physical = self.physical("queue", name)
            dlq = Queue(
                self.ids("Queue", base, "Dlq"),
                _fitted(physical[: -len(".fifo")] if fifo else physical, 80, "-dlq.fifo" if fifo else "-dlq"),
                fifo,
                visibility,
                is_dlq=True,
                retention_seconds=1209600,
            )
            queue = Queue(self.ids("Queue", base), physical, fifo, visibility, dlq.id, cfg.max_receive_count)
            self.queues += [queue, dlq]
            self._sqs_mapping(name, queue.arn, queue.id, cfg, fifo)
            self.grant(f"Consume {base}", _SQS_CONSUME, [queue.arn], f"@app.sqs({name!r}) consumes it")

    def _jobs(self) -> None:
        """`@app.job` consumes the jobs queue (so `_queues` made it, with its DLQ); `ctx.jobs.start`
        also sends to it: the function may send there and finds it by `LIFT_JOBS_QUEUE_URL`."""
        jobs = self.app.jobs
        if not jobs.definitions:
            return
        if jobs.result_bucket:
            self.grant(
                "Job results",
                ("s3:GetObject", "s3:PutObject"),
                [Expr(f"arn:{{partition}}:s3:::{jobs.result_bucket}/lift-jobs/*")],
                "large job results are written to S3 and shared by presigned URL",
            )
        queue = next((q for q in self.queues if q.name == self.physical("queue", jobs.queue, created=False)), None)
        if self.s.jobs.worker:
            self._jobs_worker(jobs, queue)
        if queue is None:  # an existing queue given by ARN: its sender grants are the user's
            return
        self.grant(
            f"Send jobs {queue.name}",
            ("sqs:GetQueueUrl", "sqs:SendMessage"),
            [queue.arn],
            "ctx.jobs.start enqueues jobs",
        )
        self.environment["LIFT_JOBS_QUEUE_URL"] = Expr(f"{{ref:{queue.id}}}")

    def _jobs_worker(self, jobs: Any, queue: Queue | None) -> None:
        """A function of its own consumes the jobs queue: a job may run up to its `timeout` (900 s by
        default) while the HTTP function keeps its short one. The queue's visibility timeout must
        exceed the worker's (else SQS delivers a running job again), and a message must be received
        more times than a job's `max_attempts` (else it reaches the DLQ before the job is `failed`)."""
        cfg = self.s.jobs
        worker_id = self.ids("JobsFunction")
        if queue is not None:
            source = self.s.queues.get(jobs.queue)
            visibility = (source.visibility_timeout if source else None) or min(6 * cfg.timeout, 43200)
            if visibility < cfg.timeout:
                raise ModelError(
                    f"queue {jobs.queue}: visibility_timeout {visibility} s is below the jobs worker's timeout "
                    f"{cfg.timeout} s (a running job would be delivered again)"
                )
            attempts = max((getattr(d, "max_attempts", 3) for d in jobs.definitions.values()), default=3)
            updated = dataclasses.replace(
                queue, visibility_timeout=visibility, max_receive_count=max(queue.max_receive_count, attempts + 1)
            )
            self.queues[self.queues.index(queue)] = updated
            mine = [i for i, m in enumerate(self.mappings) if m.source_id == queue.id]
        else:
            given = self.s.queues.get(jobs.queue)
            arns = {a for a in ([given.arn] if given and given.arn else []) + (given.arns if given else [])}
            mine = [i for i, m in enumerate(self.mappings) if m.kind == "sqs" and str(m.source_arn) in arns]
            self.warnings.append(
                f"jobs queue {jobs.queue}: an existing queue; its visibility timeout must be at least "
                f"the jobs worker's timeout ({cfg.timeout} s)"
            )
        for i in mine:
            self.mappings[i] = dataclasses.replace(
                self.mappings[i],
                function_id=worker_id,
                batch_size=cfg.batch_size,
                batching_window=0,
                max_concurrency=cfg.max_concurrency,
            )
        self.extra_functions.append(
            {
                "id": worker_id,
                "name": _fitted(self.function_name, 64, "-jobs"),
                "log_group_id": self.ids("JobsFunctionLogs"),
                "memory": cfg.memory or self.s.memory,
                "timeout": cfg.timeout,
                "reserved_concurrency": cfg.reserved_concurrency,
                "description": f"{self.service} ({self.stage}) jobs worker: runs @app.job, deployed by lift",
            }
        )

    def _sqs_mapping(self, name: str, arn: Value, queue_id: str | None, cfg: Any, fifo: bool) -> None:
        if fifo and cfg.batching_window:
            raise ModelError(f"queue {name}: FIFO queues do not take a batching_window")
        self.mappings.append(
            EventSourceMapping(
                id=self.ids("Mapping", name),
                kind="sqs",
                function_id=self.function_id,
                source_arn=arn,
                source_id=queue_id,
                batch_size=cfg.batch_size,
                batching_window=cfg.batching_window,
                max_concurrency=cfg.max_concurrency,
            )
        )

    # -- SNS, S3, EventBridge -------------------------------------------------------------------
    def _topics(self) -> None:
        for h in self.by_source.get("sns", []):
            name = h.name
            cfg = self.s.topics.get(name)
            given = cfg.arn if cfg is not None and cfg.arn else ""
            if name.endswith(".fifo") or given.endswith(".fifo"):  # SNS refuses the function's subscription
                raise ModelError(
                    f"@app.sns({name!r}): an SNS FIFO topic delivers only to SQS queues, never to a Lambda "
                    "function: subscribe an SQS FIFO queue to the topic and consume that queue with "
                    "@app.sqs('<queue>.fifo') (same order per message group, and partial batch failures)"
                )
            if cfg is not None and cfg.arn:
                self.subscriptions.append(
                    TopicSubscription(self.ids("Subscription", name), self.function_id, _given_arn(cfg.arn))
                )
                continue
            if _GLOB.search(name):
                raise ModelError(
                    f"@app.sns({name!r}) is a pattern: {self.where(f'topics.{_toml_key(name)}')} arn = ... "
                    f"(or register one handler per topic)"
                )
            topic = Topic(self.ids("Topic", name), self.physical("topic", name))
            self.topics.append(topic)
            arn = Expr(f"arn:{{partition}}:sns:{{region}}:{{account}}:{topic.name}")
            self.subscriptions.append(
                TopicSubscription(self.ids("Subscription", name), self.function_id, arn, topic.id)
            )

    def _buckets(self) -> None:
        for h in self.by_source.get("s3", []):
            name = h.name
            cfg = self.s.buckets.get(name)
            if _GLOB.search(name):
                raise ModelError(f"@app.s3({name!r}): deployment needs the exact bucket name")
            bucket = name
            if cfg is not None and cfg.create:
                bucket = self.physical("bucket", name)
                self.buckets.append(Bucket(self.ids("Bucket", name), bucket))
            else:
                self.warnings.append(
                    f"bucket {name}: an existing bucket; turn on its EventBridge notifications "
                    f"(or set [tool.lift.buckets.{_toml_key(name)}] create = true)"
                )
            events, prefix, suffix = h.options.get("events"), h.options.get("prefix"), h.options.get("suffix")
            detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
            key_filters = []
            if prefix:
                key_filters.append({"prefix": prefix})
            if suffix:
                key_filters.append({"suffix": suffix})
            if key_filters:
                detail["object"] = {"key": key_filters}
            pattern = {
                "source": ["aws.s3"],
                "detail-type": sorted({_S3_DETAIL_TYPE.get(e.split(":")[0], "Object Created") for e in events})
                if events
                else ["Object Created"],
                "detail": detail,
            }
            rule = EventRule(
                self.ids("Rule", "S3", name),
                _rule_name(self.function_name, "s3", name),
                "default",
                pattern,
                self.function_id,
                f"S3 object events of {bucket} for @app.s3",
            )
            self.rules.append(rule)
            resource = f"arn:{{partition}}:s3:::{bucket}/{prefix or ''}*"
            self.grant(
                f"Read {name}",
                ["s3:GetObject"],
                [Expr(resource)],
                f"@app.s3({name!r}) reads the objects it is told about",
            )

    def _eventbridge(self) -> None:
        for h in self.by_source.get("eventbridge", []):
            source, detail_type = h.options.get("event_source"), h.options.get("detail_type")
            pattern: dict[str, Any] = {}
            if source:
                pattern["source"] = [_event_pattern_value(source)]
            if detail_type:
                pattern["detail-type"] = [_event_pattern_value(detail_type)]
            if not pattern:
                pattern["source"] = [{"prefix": ""}]
            label = f"{source or 'any'}-{detail_type or 'any'}"
            self.rules.append(
                EventRule(
                    self.ids("Rule", label),
                    _rule_name(self.function_name, "eb", label),
                    self.s.event_bus,
                    pattern,
                    self.function_id,
                    f"@app.eventbridge(source={source!r}, detail_type={detail_type!r})",
                )
            )

    # -- streams ----------------------------------------------------------------------------------
    def _streams(self) -> None:
        from lift.deploy.config import StreamConfig

        for kind in ("kinesis", "dynamodb"):
            for h in self.by_source.get(kind, []):
                name = h.name
                cfg = self.s.streams.get(name) or StreamConfig()
                source_id = None
                if cfg.arn:
                    arn: Value = _given_arn(cfg.arn)
                elif kind == "kinesis" and not _GLOB.search(name):
                    stream = KinesisStream(self.ids("Stream", name), self.physical("stream", name))
                    self.streams.append(stream)
                    arn, source_id = stream.arn, stream.id
                else:
                    what = "@app.dynamodb_stream" if kind == "dynamodb" else "@app.kinesis"
                    raise ModelError(
                        f"{what}({name!r}) needs the stream's ARN: {self.where(f'streams.{_toml_key(name)}')} arn = ..."
                    )
                failed = Queue(
                    self.ids("Queue", name, "Failed"),
                    # cut with a hash: two long stream names that share their first 80 characters
                    # must not name one failure queue (the second would fail the deploy)
                    _fitted(_QUEUE_REFUSED.sub("-", f"{self.function_name}-{name}"), 80, "-failed", "-"),
                    False,
                    min(6 * self.s.timeout, 43200),
                    is_dlq=True,
                    retention_seconds=1209600,
                )
                self.queues.append(failed)
                self.mappings.append(
                    EventSourceMapping(
                        id=self.ids("Mapping", name),
                        kind=kind,  # type: ignore[arg-type]
                        function_id=self.function_id,
                        source_arn=arn,
                        source_id=source_id,
                        batch_size=cfg.batch_size,
                        batching_window=cfg.batching_window,
                        starting_position=cfg.starting_position,
                        bisect_on_error=cfg.bisect_on_error,
                        retry_attempts=cfg.retry_attempts,
                        max_record_age=cfg.max_record_age,
                        parallelization=cfg.parallelization,
                        on_failure_arn=failed.arn,
                        on_failure_id=failed.id,
                    )
                )
                if kind == "kinesis":
                    actions = _KINESIS_CONSUME
                    resources: list[Value] = [arn]
                else:
                    actions = _DYNAMODB_STREAM_CONSUME
                    resources = [arn]
                self.grant(f"Read stream {name}", actions, resources, f"{kind} stream {name} is consumed")
                self.grant(
                    f"Report failures {name}",
                    ["sqs:SendMessage"],
                    [failed.arn],
                    f"records of {name} that exhaust their retries are reported to its failure queue",
                )

    # -- schedules ----------------------------------------------------------------------------
    def _schedules(self) -> None:
        handlers = self.by_source.get("schedule", [])
        if not handlers:
            return
        role_id = self.ids("SchedulerRole")
        made = False
        for h in handlers:
            expression = h.options.get("expression")
            if not expression:
                self.warnings.append(
                    f"schedule {h.name}: no cron= or rate= on @app.schedule, so no schedule is created "
                    f"(an existing rule named {h.name} must target the function)"
                )
                continue
            made = True
            self.schedules.append(
                Schedule(
                    id=self.ids("Schedule", h.name),
                    name=self.physical("schedule", h.name),
                    expression=expression,
                    function_id=self.function_id,
                    role_id=role_id,
                    input=_scheduled_event_input(),
                )
            )
        if made:
            fn = function_arn(self.function_name)
            statement = IamStatement(
                "InvokeFunction", ("lambda:InvokeFunction",), (fn,), reason="schedules invoke the function"
            )
            self.roles.append(Role(role_id, "scheduler.amazonaws.com", (statement,)))

    # -- stores ---------------------------------------------------------------------------------
    def _tables(self) -> None:
        from lift.deploy.config import TableConfig
        from lift.stores.dynamodb import DynamoDBStore

        users: dict[str, list[str]] = {}
        from lift.websocket.connections import connection_store_of

        connections = connection_store_of(self.app)  # its table is made by _connections
        for store in self.app.stores:
            if store is connections:
                continue
            if isinstance(store, DynamoDBStore):
                users.setdefault(store.table, [])
            else:
                kind = type(store).__name__
                if kind == "MemoryStore":
                    self.warnings.append(
                        "a MemoryStore is per execution environment: idempotency and rate limits are not shared "
                        "between concurrent Lambda instances (use DynamoDBStore)"
                    )
                else:
                    self.warnings.append(f"a {kind} is not created by lift deploy (bring its server and its access)")
        for mw in self.app.middleware:
            for store in (getattr(mw, "store", None), getattr(getattr(mw, "ledger", None), "store", None)):
                table = getattr(store, "table", None)
                if isinstance(store, DynamoDBStore) and table in users:
                    users[table].append(type(mw).__name__)
        regions = self._global_table_regions()
        for name in users:
            cfg = self.s.tables.get(name) or TableConfig()
            if cfg.arn:
                arn: Value = _given_arn(cfg.arn)
            elif regions and self.region != regions[0]:
                # a replica: the global table (and this region's replica) is created by the first region's stack
                arn = table_arn(self.physical("table", name))
                self.warnings.append(
                    f"table {name}: a replica of the global table the {regions[0]} stack creates (deploy it first)"
                )
            else:
                table = Table(
                    self.ids("Table", name),
                    self.physical("table", name),
                    ("pk", "S"),
                    ttl_attribute="expires_at",
                    pitr=cfg.pitr,
                    retain=cfg.retain,
                    used_by=", ".join(sorted(set(users[name]))) or "app.stores",
                    replicas=tuple(regions),
                )
                self.tables.append(table)
                arn = table.arn
            self.grant(f"Store {name}", _STORE_ITEM_ACTIONS, [arn], f"the Lift store on table {name}")

    def _global_table_regions(self) -> list[str]:
        """With `[stages.S.dr]` over two regions or more (the stage's `regions`, else the front door's
        hosts), the stores' tables are global tables: the first region's stack creates each table
        with a replica in every region; the other regions' stacks use their replica."""
        dr = self.s.dr
        if dr is None or not dr.global_tables:
            return []
        regions = list(dict.fromkeys(self.s.regions or list(dr.hosts)))
        return regions if len(regions) > 1 and self.region in regions else []

    # -- the other triggers (issue 15) ----------------------------------------------------------
    def _triggers(
        self, http: HttpFront | None, websocket: WebSocketApi | None
    ) -> tuple[HttpFront | None, WebSocketApi | None]:
        """Authorizers, Cognito, Kafka, MQ, log subscriptions, Firehose, Object Lambda, and the
        permissions and outputs of the triggers AWS services invoke directly."""
        http, websocket = self._authorizers(http, websocket)
        self._cognito()
        self._kafka()
        self._mq()
        self._log_subscriptions()
        self._firehose()
        self._object_lambda()
        self._invoked_by_services()
        return http, websocket

    def permit(
        self,
        label: str,
        principal: str,
        source_arn: Value | None,
        reason: str,
        *,
        source_account: bool = False,
        source_id: str | None = None,
    ) -> Permission:
        permission = Permission(self.ids("Permission", label), principal, source_arn, source_account, source_id, reason)
        self.permissions.append(permission)
        return permission

    def _authorizers(
        self, http: HttpFront | None, websocket: WebSocketApi | None
    ) -> tuple[HttpFront | None, WebSocketApi | None]:
        from lift.deploy.config import AuthorizerConfig

        handlers = self.by_source.get("authorizer", [])
        if not handlers:
            return http, websocket
        own = [h for h in handlers if h.name in (None, "*")]  # `api=` names another API (its id is known)
        if not own:
            self.warnings.append(
                "@app.authorizer(api=...) serves APIs named by id, not this stage's: point their authorizer "
                "at the function (output AuthorizerFunctionArn)"
            )
            self.outputs.append(Output("AuthorizerFunctionArn", "the function to use as a Lambda authorizer", True))
            return http, websocket
        handlers = own
        cfg = self.s.authorizer or AuthorizerConfig()
        simple = all(h.options.get("response") != "policy" for h in handlers)
        if http is not None and http.kind in ("http", "rest"):
            if http.kind == "rest":
                sources = tuple(cfg.identity_source) or ("method.request.header.Authorization",)
                kind: Literal["rest", "http"] = "rest"
                type_: Literal["TOKEN", "REQUEST"] = cfg.type
                if type_ == "TOKEN" and len(sources) != 1:
                    raise ModelError("[tool.lift.authorizer] a TOKEN authorizer takes exactly one identity_source")
            else:
                sources = tuple(cfg.identity_source) or ("$request.header.Authorization",)
                kind, type_ = "http", "REQUEST"
            authorizer = Authorizer(
                self.ids("Authorizer", "Http"),
                http.id,
                kind,
                f"{self.function_name}-authorizer",
                type_,
                sources,
                ttl=cfg.ttl,
                simple_responses=simple,
            )
            self.authorizers.append(authorizer)
            public = self._public_routes(http, cfg)
            http = dataclasses.replace(http, authorizer_id=authorizer.id, public_routes=public)
            self.permit(
                "Authorizer Http",
                "apigateway.amazonaws.com",
                Expr(f"arn:{{partition}}:execute-api:{{region}}:{{account}}:{{ref:{http.id}}}/authorizers/*"),
                "API Gateway calls @app.authorizer for this API's routes",
            )
        elif http is not None:
            self.warnings.append(
                f"@app.authorizer: http = {http.kind!r} has no API Gateway authorizers; "
                "the authorizer serves only the APIs that name this function"
            )
        if websocket is not None:
            if "$connect" not in websocket.route_keys:
                self.warnings.append(
                    "@app.authorizer: the WebSocket API has no $connect route, the only one an authorizer guards"
                )
            else:
                sources = tuple(cfg.websocket_identity_source) or ("route.request.header.Authorization",)
                authorizer = Authorizer(
                    self.ids("Authorizer", "WebSocket"),
                    websocket.id,
                    "websocket",
                    f"{self.function_name}-ws-authorizer",
                    "REQUEST",
                    sources,
                    ttl=0,
                    simple_responses=False,
                )
                self.authorizers.append(authorizer)
                websocket = dataclasses.replace(websocket, authorizer_id=authorizer.id)
                self.permit(
                    "Authorizer WebSocket",
                    "apigateway.amazonaws.com",
                    Expr(f"arn:{{partition}}:execute-api:{{region}}:{{account}}:{{ref:{websocket.id}}}/authorizers/*"),
                    "API Gateway calls @app.authorizer on $connect",
                )
        if not self.authorizers:
            self.warnings.append(
                "@app.authorizer: this stage has no API Gateway API, so no authorizer is created; "
                "point an existing API's authorizer at the function (output AuthorizerFunctionArn)"
            )
            self.outputs.append(Output("AuthorizerFunctionArn", "the function to use as a Lambda authorizer", True))
        return http, websocket

    def _public_routes(self, http: HttpFront, cfg: Any) -> tuple[HttpRoute, ...]:
        """The routes left without the authorizer: `public_routes` of the config, and the
        app.health routes unless `public_health = false`."""
        public: set[HttpRoute] = set()
        paths = {r.path for r in http.routes}
        for spec in cfg.public_routes:
            method, _, path = spec.strip().rpartition(" ")
            method = (method.strip() or "ANY").upper()
            path = _api_path(path.strip())
            if path not in paths:
                raise ModelError(
                    f"[tool.lift.authorizer] public_routes: {spec!r} is not a route of the app "
                    f"(routes: {', '.join(sorted(paths)) or 'none'})"
                )
            public.update(r for r in http.routes if r.path == path and (method == "ANY" or r.method == method))
        if cfg.public_health:
            for endpoint in self.app.endpoints:
                if getattr(endpoint.fn, "__module__", "") == "lift.health":
                    public.update(r for r in http.routes if r.path == _api_path(endpoint.template))
        return tuple(sorted(public, key=lambda r: (r.path, r.method)))

    def _cognito(self) -> None:
        from lift.deploy.config import CognitoConfig
        from lift.sources.cognito import TRIGGERS

        handlers = self.by_source.get("cognito", [])
        if not handlers:
            return
        cfg = self.s.cognito or CognitoConfig()
        names = []
        for h in handlers:
            name = (
                h.name
                if h.name in TRIGGERS
                else next((n for n, prefix in TRIGGERS.items() if prefix == (h.name or "").split("_", 1)[0]), None)
            )
            if name and name not in names:
                names.append(name)
        triggers: list[tuple[str, str | None]] = []
        for name in names:
            key, version = _COGNITO_LAMBDA_CONFIG[name]
            if key is None:
                self.warnings.append(f"@app.cognito({name!r}): set this trigger on the user pool yourself")
                continue
            if name == "pre_token_generation":
                version = cfg.pre_token_generation_version
            triggers.append((key, version))
        senders = [k for k, _ in triggers if k in ("CustomEmailSender", "CustomSMSSender")]
        if cfg.user_pool_arn:
            arn: Value = _given_arn(cfg.user_pool_arn)
            self.warnings.append(
                f"Cognito: the existing pool {cfg.user_pool_arn} may invoke the function; set its triggers "
                f"({', '.join(k for k, _ in triggers)}) to the function (output CognitoTriggerFunctionArn)"
            )
            self.outputs.append(
                Output("CognitoTriggerFunctionArn", "the function to set as the user pool's Lambda triggers", True)
            )
            self.permit("Cognito", "cognito-idp.amazonaws.com", arn, "the user pool calls its @app.cognito triggers")
        elif cfg.create:
            if senders and not cfg.kms_key_arn:
                raise ModelError(
                    f"@app.cognito custom senders ({', '.join(senders)}) need a KMS key: "
                    f"{self.where('cognito')} kms_key_arn = ..."
                )
            pool = UserPool(
                self.ids("UserPool"),
                cfg.user_pool_name or f"{self.service}-{self.stage}",
                tuple(triggers),
                cfg.kms_key_arn if senders else None,
            )
            self.user_pools.append(pool)
            self.permit(
                "Cognito",
                "cognito-idp.amazonaws.com",
                pool.arn,
                "the user pool calls its @app.cognito triggers",
                source_id=pool.id,
            )
            self.outputs.append(
                Output("UserPoolId", "the user pool created with the triggers", value=Expr(f"{{ref:{pool.id}}}"))
            )
        else:
            raise ModelError(
                f"@app.cognito needs its user pool: {self.where('cognito')} user_pool_arn = ... "
                "(an existing pool) or create = true"
            )
        if senders and cfg.kms_key_arn:
            self.grant(
                "Cognito sender key",
                ["kms:Decrypt"],
                [_given_arn(cfg.kms_key_arn)],
                "custom senders decrypt the codes Cognito encrypts",
            )

    def _kafka(self) -> None:
        for h in self.by_source.get("kafka", []):
            topic = h.name or "*"
            cfg = self.s.kafka.get(topic)
            if _GLOB.search(topic) or cfg is None:
                raise ModelError(
                    f"@app.kafka({topic!r}) needs its cluster (and an exact topic): "
                    f"{self.where(f'kafka.{_toml_key(topic)}')} cluster_arn = ... (MSK) or bootstrap_servers = [...]"
                )
            access: list[tuple[str, Value]] = []
            auth = cfg.auth or ("sasl_scram_512" if cfg.secret_arn else ("iam" if cfg.cluster_arn else "none"))
            if cfg.secret_arn:
                kind = {
                    "sasl_scram_512": "SASL_SCRAM_512_AUTH",
                    "sasl_scram_256": "SASL_SCRAM_256_AUTH",
                    "plain": "BASIC_AUTH",
                    "mtls": "CLIENT_CERTIFICATE_TLS_AUTH",
                }.get(auth)
                if kind:
                    access.append((kind, _given_arn(cfg.secret_arn)))
                self.grant(
                    f"Kafka secret {topic}",
                    ["secretsmanager:GetSecretValue"],
                    [_given_arn(cfg.secret_arn)],
                    f"the {topic} mapping authenticates to the brokers",
                )
            access += [("VPC_SUBNET", f"subnet:{s}") for s in cfg.subnets]
            access += [("VPC_SECURITY_GROUP", f"security_group:{g}") for g in cfg.security_groups]
            mapping = EventSourceMapping(
                id=self.ids("Mapping", "Kafka", topic),
                kind="msk" if cfg.cluster_arn else "kafka",
                function_id=self.function_id,
                source_arn=_given_arn(cfg.cluster_arn) if cfg.cluster_arn else "",
                batch_size=cfg.batch_size,
                batching_window=cfg.batching_window,
                report_batch_item_failures=cfg.partial_failures,
                starting_position=cfg.starting_position,
                topics=(topic,),
                bootstrap_servers=tuple(cfg.bootstrap_servers),
                source_access=tuple(access),
                consumer_group_id=cfg.consumer_group_id,
                pollers=(cfg.min_pollers, cfg.max_pollers) if cfg.partial_failures else None,
            )
            self.mappings.append(mapping)
            if not cfg.partial_failures and h.options.get("partial_failures") is not False:
                # the mapping would ignore the handler's batchItemFailures: its failed records would be lost
                raise ModelError(
                    f"{self.where(f'kafka.{_toml_key(topic)}')} partial_failures = false, but "
                    f"@app.kafka({topic!r}) answers failed records in batchItemFailures, which such a mapping "
                    f"ignores (they would never be retried): register it with "
                    f"@app.kafka({topic!r}, partial_failures=False), so a failure retries the batch"
                )
            if cfg.cluster_arn:
                cluster = cfg.cluster_arn
                self.grant(
                    f"Kafka cluster {topic}",
                    ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"],
                    [_given_arn(cluster)],
                    f"the {topic} mapping finds the MSK brokers",
                )
                if auth == "iam":
                    prefix, _, rest = cluster.partition(":cluster/")
                    group = cfg.consumer_group_id or "*"
                    self.grant(
                        f"Kafka read {topic}",
                        [
                            "kafka-cluster:Connect",
                            "kafka-cluster:DescribeClusterDynamicConfiguration",
                            "kafka-cluster:DescribeGroup",
                            "kafka-cluster:AlterGroup",
                            "kafka-cluster:DescribeTopic",
                            "kafka-cluster:ReadData",
                        ],
                        [
                            _given_arn(cluster),
                            _given_arn(f"{prefix}:topic/{rest}/{topic}"),
                            _given_arn(f"{prefix}:group/{rest}/{group}"),
                        ],
                        f"IAM access to topic {topic} and its consumer group",
                    )
            if cfg.cluster_arn or cfg.subnets:
                self._vpc_network_grant()

    def _function_network_grant(self) -> None:
        """`[tool.lift.vpc]`: Lambda makes and removes the function's network interfaces with its role
        (the actions of AWS's AWSLambdaVPCAccessExecutionRole; they take no resource)."""
        if self.s.vpc is None:
            return
        self.grant(
            "Function network",
            [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:UnassignPrivateIpAddresses",
            ],
            ["*"],
            "the function runs in the VPC's subnets ([tool.lift.vpc])",
        )

    def _vpc_network_grant(self) -> None:
        if any(st.sid == "EventSourceNetwork" for st in self.statements):
            return
        self.grant(
            "Event source network",
            [
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            ["*"],
            "Lambda's pollers reach brokers inside a VPC (these EC2 actions take no resource)",
        )

    def _mq(self) -> None:
        for h in self.by_source.get("mq", []):
            queue = h.name or "*"
            cfg = self.s.mq.get(queue)
            if _GLOB.search(queue) or cfg is None:
                raise ModelError(
                    f"@app.mq({queue!r}) needs its broker (and an exact queue name): "
                    f"{self.where(f'mq.{_toml_key(queue)}')} broker_arn = ..., secret_arn = ..."
                )
            access: list[tuple[str, Value]] = [("BASIC_AUTH", _given_arn(cfg.secret_arn))]
            if cfg.engine == "rabbitmq" and cfg.virtual_host:
                access.append(("VIRTUAL_HOST", cfg.virtual_host))
            self.mappings.append(
                EventSourceMapping(
                    id=self.ids("Mapping", "Mq", queue),
                    kind="mq",
                    function_id=self.function_id,
                    source_arn=_given_arn(cfg.broker_arn),
                    batch_size=cfg.batch_size,
                    batching_window=cfg.batching_window,
                    report_batch_item_failures=False,  # Amazon MQ has no partial batch response
                    queues=(queue,),
                    source_access=tuple(access),
                )
            )
            self.grant(
                f"Mq broker {queue}",
                ["mq:DescribeBroker"],
                [_given_arn(cfg.broker_arn)],
                f"the {queue} mapping finds the broker",
            )
            self.grant(
                f"Mq secret {queue}",
                ["secretsmanager:GetSecretValue"],
                [_given_arn(cfg.secret_arn)],
                f"the {queue} mapping logs in to the broker",
            )
            self._vpc_network_grant()

    def _log_subscriptions(self) -> None:
        from lift.deploy.config import LogSubscriptionConfig

        for h in self.by_source.get("cloudwatch_logs", []):
            group = h.name or "*"
            if _GLOB.search(group):
                raise ModelError(f"@app.cloudwatch_logs({group!r}): deployment needs the exact log group name")
            cfg = self.s.log_groups.get(group) or LogSubscriptionConfig()
            permission = self.permit(
                f"Logs {group}",
                "logs.amazonaws.com",
                Expr(f"arn:{{partition}}:logs:{{region}}:{{account}}:log-group:{group}:*"),
                f"log group {group} delivers its events",
            )
            self.subscription_filters.append(
                SubscriptionFilter(
                    self.ids("SubscriptionFilter", group),
                    f"{self.function_name}-{group.strip('/').replace('/', '-')}"[:512],
                    group,
                    cfg.filter_pattern,
                    permission.id,
                )
            )

    def _firehose(self) -> None:
        handlers = self.by_source.get("firehose", [])
        if not handlers:
            return
        self.outputs.append(
            Output("FirehoseProcessorArn", "the Lambda processor of the delivery streams' transformation", True)
        )
        for h in handlers:
            stream = h.name or "*"
            cfg = self.s.firehose.get(stream)
            if cfg is None or not cfg.role_name:
                self.warnings.append(
                    f"firehose {stream}: set the delivery stream's processor to the function (output "
                    f"FirehoseProcessorArn); its role needs lambda:InvokeFunction and lambda:GetFunctionConfiguration "
                    f"on it ([tool.lift.firehose.{_toml_key(stream)}] role_name = ... lets Lift grant them)"
                )
                continue
            fn = function_arn(self.function_name)
            self.role_policies.append(
                RolePolicy(
                    self.ids("FirehoseInvoke", stream),
                    cfg.role_name,
                    (
                        IamStatement(
                            "InvokeProcessor",
                            ("lambda:GetFunctionConfiguration", "lambda:InvokeFunction"),
                            (fn, Expr(f"{fn.template}:*")),
                            reason=f"delivery stream {stream} transforms its records with @app.firehose",
                        ),
                    ),
                )
            )

    def _object_lambda(self) -> None:
        for h in self.by_source.get("s3_object_lambda", []):
            name = h.name or "*"
            cfg = self.s.object_lambda.get(name)
            if _GLOB.search(name) or cfg is None:
                raise ModelError(
                    f"@app.s3_object_lambda({name!r}) needs the exact access point name and its bucket: "
                    f"{self.where(f'object_lambda.{_toml_key(name)}')} bucket = ..."
                )
            physical = self.physical("access_point", name)
            point = ObjectLambdaAccessPoint(
                self.ids("ObjectLambda", name),
                physical,
                cfg.bucket,
                self.ids("AccessPoint", name),
                _fitted(physical, 50, "-source", "-"),
            )
            self.object_lambdas.append(point)
            self.grant(
                f"Object lambda {name}",
                ["s3-object-lambda:WriteGetObjectResponse"],
                [point.arn],
                f"@app.s3_object_lambda({name!r}) answers GetObject",
            )

    def _invoked_by_services(self) -> None:
        """Triggers an AWS service invokes with a resource policy (SES, Bedrock agents, Secrets
        Manager rotation, AppSync authorizers), or through a role (AppSync resolvers), or that
        report back (CodePipeline); and the function ARN where the user plugs it in."""
        from lift.deploy.config import TriggersConfig

        cfg = self.s.triggers or TriggersConfig()
        fn = function_arn(self.function_name)
        if self.by_source.get("ses"):
            rule_set = (
                Expr(f"arn:{{partition}}:ses:{{region}}:{{account}}:receipt-rule-set/{cfg.ses_rule_set}:receipt-rule/*")
                if cfg.ses_rule_set
                else None
            )
            self.permit("Ses", "ses.amazonaws.com", rule_set, "SES receipt rules invoke @app.ses", source_account=True)
        if self.by_source.get("bedrock_agent"):
            agent = (
                _given_arn(cfg.bedrock_agent_arn)
                if cfg.bedrock_agent_arn
                else Expr("arn:{partition}:bedrock:{region}:{account}:agent/*")
            )
            self.permit(
                "Bedrock agent",
                "bedrock.amazonaws.com",
                agent,
                "Bedrock agent action groups call @app.bedrock_agent",
                source_account=True,
            )
            self.outputs.append(Output("BedrockActionGroupFunctionArn", "the action group's Lambda function", True))
        secrets = sorted({h.options.get("secret") or "*" for h in self.by_source.get("secrets_rotation", [])})
        if self.by_source.get("secrets_rotation"):
            # the secret pattern `name` covers the ARN's random suffix with `-??????`
            arns = [
                Expr(
                    f"arn:{{partition}}:secretsmanager:{{region}}:{{account}}:secret:{s if s == '*' else s + '-??????'}"
                )
                for s in secrets
            ]
            if "*" in secrets:
                self.warnings.append(
                    "@app.secrets_rotation(secret='*'): the function may rotate every secret of the account; "
                    "name the secrets (secret='db-*') to narrow it"
                )
            self.grant(
                "Rotate secrets",
                [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                arns,
                "@app.secrets_rotation steps read, write and promote the secret's versions",
            )
            self.grant(
                "Random password",
                ["secretsmanager:GetRandomPassword"],
                ["*"],
                "createSecret generates the new password (this action takes no resource)",
            )
            for s, arn in zip(secrets, arns, strict=True):
                self.permit(
                    f"Rotation {s}",
                    "secretsmanager.amazonaws.com",
                    arn,
                    "Secrets Manager calls the rotation steps",
                    source_account=True,
                )
            self.outputs.append(Output("RotationFunctionArn", "the secrets' rotation function", True))
        if self.by_source.get("appsync"):
            role_id = self.ids("AppSyncRole")
            statement = IamStatement(
                "InvokeResolver",
                ("lambda:InvokeFunction",),
                (fn, Expr(f"{fn.template}:*")),
                reason="AppSync data sources invoke @app.appsync resolvers",
            )
            self.roles.append(Role(role_id, "appsync.amazonaws.com", (statement,)))
            self.outputs.append(
                Output("AppSyncDataSourceRoleArn", "the service role of the Lambda data source", arn_of=role_id)
            )
            self.outputs.append(Output("AppSyncResolverFunctionArn", "the Lambda data source's function", True))
        if self.by_source.get("appsync_authorizer"):
            api = _given_arn(cfg.appsync_api_arn) if cfg.appsync_api_arn else None
            self.permit(
                "AppSync authorizer",
                "appsync.amazonaws.com",
                api,
                "AppSync calls @app.appsync_authorizer",
                source_account=api is None,
            )
        if self.by_source.get("codepipeline"):
            self.grant(
                "CodePipeline results",
                ["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"],
                ["*"],
                "@app.codepipeline reports each job's result (these actions take no resource)",
            )
            self.outputs.append(Output("CodePipelineFunctionArn", "the function of the Lambda invoke action", True))
        if self.by_source.get("custom_resource"):
            self.outputs.append(
                Output(
                    "CustomResourceServiceToken", "ServiceToken of the custom resources (@app.custom_resource)", True
                )
            )
        if self.by_source.get("s3_batch"):
            self.outputs.append(Output("S3BatchFunctionArn", "the function of the S3 Batch Operations job", True))

    def _streaming(self) -> None:
        """`[tool.lift.streaming]`: a function of its own running `app.asgi` under uvicorn behind the
        AWS Lambda Web Adapter (its layer runs `lift/run_asgi.sh`, then streams each answer back),
        reached by a function URL in RESPONSE_STREAM mode. Event triggers stay on the app's function:
        under the adapter every invocation goes to the web server."""
        cfg = self.s.streaming
        if cfg is None:
            return
        if not self.app.endpoints:
            raise ModelError("[tool.lift.streaming] needs HTTP routes to stream (the app has none)")
        stream_id = self.ids("StreamFunction")
        module, _, attr = self.handler.rpartition(".")
        layer: Value = _given_arn(cfg.layer) if cfg.layer else self._web_adapter_layer()
        self.extra_functions.append(
            {
                "id": stream_id,
                "name": _fitted(self.function_name, 64, "-stream"),
                "handler": "lift/run_asgi.sh",
                "log_group_id": self.ids("StreamFunctionLogs"),
                "memory": cfg.memory or self.s.memory,
                "timeout": cfg.timeout or self.s.timeout,
                "reserved_concurrency": cfg.reserved_concurrency,
                "description": f"{self.service} ({self.stage}) streaming responses (ASGI), deployed by lift",
                "layers_first": (layer,),
                "environment": {
                    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
                    "AWS_LWA_INVOKE_MODE": "response_stream",
                    "AWS_LWA_PORT": str(cfg.port),
                    "LIFT_ASGI_APP": f"{module}:{attr}.asgi",
                },
            }
        )
        self.function_urls.append(
            FunctionUrl(self.ids("StreamUrl"), stream_id, cfg.auth, "RESPONSE_STREAM", tuple(cfg.cors_origins))
        )
        self.warnings.append(
            "streaming: the package must contain uvicorn (add it to the project's dependencies); "
            "the streaming function answers HTTP only"
        )

    def _cloud_map(self, http: HttpFront | None) -> CloudMapRegistration | None:
        """`[tool.lift.cloud_map]`: the service registers its endpoint (the `URL` attribute
        `CloudMapDiscovery` reads) in the namespace, with its stage, region and function ARN."""
        cfg = self.s.cloud_map
        if cfg is None:
            return None
        if http is not None and http.domain:
            source = "domain"
        elif http is not None and http.kind in ("http", "rest", "url"):
            source = "api"
        elif self.function_urls:
            source = "stream"
        else:
            source = "none"
            self.warnings.append(
                "cloud_map: the stage has no URL (an ALB front or no HTTP front): the instance carries the "
                "function's ARN only, so CloudMapDiscovery will skip it"
            )
        attributes: dict[str, Value] = {
            "stage": self.stage,
            "region": Expr("{region}"),
            "FUNCTION_ARN": function_arn(self.function_name),
        }
        attributes.update(cfg.attributes)
        registration = CloudMapRegistration(
            self.ids("CloudMapService"),
            cfg.namespace,
            cfg.service or self.service,
            f"{self.service}-{self.stage}",
            tuple(sorted(attributes.items())),
            source,  # type: ignore[arg-type]
            cfg.namespace_id,
        )
        if cfg.health:
            registration = self._cloud_map_health(registration, cfg.health_rate)
        return registration

    def _cloud_map_health(self, reg: CloudMapRegistration, rate: str) -> CloudMapRegistration:
        """The instance's health follows the app's readiness checks: a schedule invokes the function
        with a `Scheduled Event` that `App.handler` hands to `lift.cloud_map_health.report`, which
        may update the custom health status of this service's instances and nothing else."""
        from lift import cloud_map_health

        scheduler = next((r for r in self.roles if r.service == "scheduler.amazonaws.com"), None)
        if scheduler is None:  # no @app.schedule made the role Scheduler invokes the function with
            invoke = IamStatement(
                "InvokeFunction",
                ("lambda:InvokeFunction",),
                (function_arn(self.function_name),),
                reason="schedules invoke the function",
            )
            scheduler = Role(self.ids("SchedulerRole"), "scheduler.amazonaws.com", (invoke,))
            self.roles.append(scheduler)
        schedule = Schedule(
            id=self.ids("CloudMapHealthSchedule"),
            name=_rule_name(self.function_name, "cloudmap", "health"),
            expression=f"rate({rate})",
            function_id=self.function_id,
            role_id=scheduler.id,
            input=_scheduled_event_input(),
        )
        self.schedules.append(schedule)
        reg = dataclasses.replace(reg, health=True, health_schedule_id=schedule.id)
        if not self.app.health.names:
            self.warnings.append(
                "cloud_map: the app has no health checks (app.health.add), so its instance is reported "
                "HEALTHY whenever the function runs; add the checks /health/ready should run, or set health = false"
            )
        self.environment[cloud_map_health.SCHEDULE_ENV] = schedule.name
        self.environment[cloud_map_health.SERVICE_ENV] = Expr(f"{{ref:{reg.id}}}")
        self.environment[cloud_map_health.INSTANCE_ENV] = reg.instance_id
        self.grant(
            "Report Cloud Map health",
            ["servicediscovery:UpdateInstanceCustomHealthStatus"],
            [reg.arn],
            "the function reports its readiness checks as its Cloud Map instance's health",
        )
        return reg

    def _service_discovery(self) -> None:
        """Each `app.service(...)` client may look its service up: `DiscoverInstances` (which takes
        no resource) only in its namespace and service, `DescribeStacks` only on its stack."""
        from lift.services import service_clients

        for name, client in sorted(service_clients(self.app).items()):
            discovery = getattr(client.discovery, "inner", client.discovery)
            kind = type(discovery).__name__
            if kind == "CloudMapDiscovery":
                self.statements.append(
                    IamStatement(
                        logical_id("Discover", name),
                        ("servicediscovery:DiscoverInstances",),
                        ("*",),
                        reason=f"app.service({name!r}) finds its instances in Cloud Map",
                        condition={
                            "StringEquals": {
                                "servicediscovery:NamespaceName": discovery.namespace,
                                "servicediscovery:ServiceName": discovery.service,
                            }
                        },
                    )
                )
            elif kind == "StackOutputDiscovery":
                self.grant(
                    f"Discover {name}",
                    ["cloudformation:DescribeStacks"],
                    [Expr(f"arn:{{partition}}:cloudformation:{{region}}:{{account}}:stack/{discovery.stack}/*")],
                    f"app.service({name!r}) reads its URL from stack {discovery.stack}'s outputs",
                )

    def _web_adapter_layer(self) -> Expr:
        """The AWS Lambda Web Adapter layer (version 26) AWS publishes for the stage's architecture:
        one account for the commercial regions, one per China region (x86_64 only there)."""
        arch = "Arm64" if self.s.architecture == "arm64" else "X86"
        china = {"cn-north-1": "041581134020", "cn-northwest-1": "069767869989"}
        if self.region in china:
            if arch != "X86":
                raise ModelError(
                    f"the Lambda Web Adapter layer has no arm64 build in {self.region}: set architecture = "
                    '"x86_64" or [tool.lift.streaming] layer = "<arn>"'
                )
            account = china[self.region]
        elif self.region.startswith(("us-gov-", "us-iso", "eu-isoe-", "cn-")):
            raise ModelError(
                f"no published Lambda Web Adapter layer is known in {self.region}: "
                '[tool.lift.streaming] layer = "<the layer version ARN>"'
            )
        else:
            account = "753240598075"
        return Expr(
            f"arn:{{partition}}:lambda:{{region}}:{account}:layer:LambdaAdapterLayer{arch}:{_WEB_ADAPTER_VERSION}"
        )

    def _connections(self) -> None:
        """`track_connections(app, DynamoDBConnections(name))`: the table that store works with
        (key `connection_id`, TTL on `expires_at`, a GSI per user and per tenant), and exactly the
        calls it makes: items on the table, `Query` on the two indexes, `Scan` for `broadcast`."""
        from lift.deploy.config import TableConfig
        from lift.websocket.connections import TENANT_INDEX, USER_INDEX, DynamoDBConnections, connection_store_of

        store = connection_store_of(self.app)
        if store is None:
            return
        if not isinstance(store, DynamoDBConnections):
            if type(store).__name__ == "MemoryConnections":
                self.warnings.append(
                    "MemoryConnections is per execution environment: fan-out misses connections made to "
                    "other instances (use DynamoDBConnections)"
                )
            return
        name = store.table
        if any(t.name == self.physical("table", name, created=False) for t in self.tables):
            raise ModelError(
                f"table {name} is used both by a Lift store (key pk) and by DynamoDBConnections (key connection_id): "
                "give the connections their own table"
            )
        cfg = self.s.tables.get(name) or TableConfig()
        if cfg.arn:
            arn: Value = _given_arn(cfg.arn)
        else:
            table = Table(
                self.ids("Table", name),
                self.physical("table", name),
                ("connection_id", "S"),
                ttl_attribute="expires_at",
                pitr=cfg.pitr,
                retain=cfg.retain,
                used_by="websocket connections",
                indexes=(TableIndex(USER_INDEX, ("user_id", "S")), TableIndex(TENANT_INDEX, ("tenant_id", "S"))),
            )
            self.tables.append(table)
            arn = table.arn
        self.grant(
            f"Connections {name}",
            ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"),
            [arn],
            "lift.websocket.connections: $connect/$disconnect keep it, broadcast scans it",
        )
        self.grant(
            f"Connections {name} indexes",
            ("dynamodb:Query",),
            [Expr(f"{arn}/index/{USER_INDEX}"), Expr(f"{arn}/index/{TENANT_INDEX}")],
            "ctx.ws.send_to_user / send_to_tenant query the by-user and by-tenant indexes",
        )

    # -- alarms -----------------------------------------------------------------------------------
    def _alarms(self) -> tuple[tuple[Alarm, ...], str | None]:
        """With `alarms_email`: errors and throttles of the function, and any message in a DLQ."""
        if not self.s.alarms_email:
            return (), None
        topic = Topic(self.ids("AlarmTopic"), f"{self.function_name}-alarms")
        self.topics.append(topic)
        fn = (("FunctionName", self.function_name),)
        alarms = [
            Alarm(
                self.ids("AlarmErrors"),
                f"{self.function_name}-errors",
                "AWS/Lambda",
                "Errors",
                fn,
                "Sum",
                0,
                topic.id,
                description="the function raised (any error in 5 minutes)",
            ),
            Alarm(
                self.ids("AlarmThrottles"),
                f"{self.function_name}-throttles",
                "AWS/Lambda",
                "Throttles",
                fn,
                "Sum",
                0,
                topic.id,
                description="invocations were throttled",
            ),
        ]
        for spec in self.extra_functions:  # the jobs worker and the streaming function alarm like the app's
            name = spec["name"]
            for metric, what in (("Errors", "raised (any error in 5 minutes)"), ("Throttles", "was throttled")):
                alarms.append(
                    Alarm(
                        self.ids("Alarm", spec["id"], metric),
                        f"{name}-{metric.lower()}",
                        "AWS/Lambda",
                        metric,
                        (("FunctionName", name),),
                        "Sum",
                        0,
                        topic.id,
                        description=f"{name} {what}",
                    )
                )
        for queue in self.queues:
            if queue.is_dlq:
                alarms.append(
                    Alarm(
                        self.ids("Alarm", queue.name),
                        f"{queue.name}-not-empty"[:255],
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        (("QueueName", queue.name),),
                        "Maximum",
                        0,
                        topic.id,
                        description=f"messages wait in {queue.name} (failed records to look at)",
                    )
                )
        return tuple(alarms), topic.id

    # -- releases -----------------------------------------------------------------------------
    def _release(self) -> TrafficShift | None:
        """The stage's `release` table as a TrafficShift: its CodeDeploy configuration, application,
        group and service role (codedeploy engine), and its hook functions."""
        cfg = self.s.release
        if cfg is None:
            return None
        minutes = max(1, cfg.interval // 60)
        percent = int(cfg.percent)
        shift: dict[str, Any] = {}
        if cfg.strategy in ("all-at-once", "blue-green"):
            shift["deployment_config"] = "CodeDeployDefault.LambdaAllAtOnce"
        elif (cfg.strategy, float(cfg.percent), minutes) in _PREDEFINED_CONFIGS and cfg.interval % 60 == 0:
            shift["deployment_config"] = _PREDEFINED_CONFIGS[(cfg.strategy, float(cfg.percent), minutes)]
        elif cfg.engine == "codedeploy":
            shift["custom_config_id"] = self.ids("ReleaseConfig")
            shift["custom_type"] = "TimeBasedCanary" if cfg.strategy == "canary" else "TimeBasedLinear"
        codedeploy = cfg.engine == "codedeploy"
        if codedeploy:
            shift["application_id"] = self.ids("ReleaseApplication")
            shift["group_id"] = self.ids("ReleaseGroup")
            shift["service_role_id"] = self.ids("ReleaseRole")
            if cfg.bake:
                self.warnings.append(
                    "release: CodeDeploy has no bake time after 100%; a post_traffic hook can watch the new version"
                )
            if cfg.max_error_rate is not None:
                self.warnings.append(
                    "release: max_error_rate is checked by `lift release` only; under CodeDeploy gate on an alarm"
                )
            if cfg.strategy == "blue-green" and not cfg.pre_traffic:
                self.warnings.append(
                    "release: blue-green under CodeDeploy checks the new version with a pre_traffic hook; none is set"
                )
        hooks = self._release_hooks(cfg, shift.get("application_id"), shift.get("group_id"))
        shift_obj = TrafficShift(
            alias=cfg.alias,
            engine=cfg.engine,
            strategy=cfg.strategy,
            percent=percent,
            minutes=minutes,
            alarms=tuple(cfg.alarms),
            hooks=hooks,
            **shift,
        )
        if codedeploy:
            self._codedeploy_role(shift_obj)
        return shift_obj

    def _release_hooks(self, cfg: Any, application_id: str | None, group_id: str | None) -> tuple[Any, ...]:
        named = [(phase, name) for phase, name in (("pre", cfg.pre_traffic), ("post", cfg.post_traffic)) if name]
        if not named:
            return ()
        registered = getattr(self.app, "release_hooks", {}) or {}
        for phase, name in named:
            if name not in registered:
                key = "pre_traffic" if phase == "pre" else "post_traffic"
                known = ", ".join(sorted(registered)) or "none"
                raise ModelError(
                    f"[tool.lift.stages.{self.stage}.release] {key} = {name!r}: the app registers no "
                    f"@app.release_hook({name!r}) (registered: {known})"
                )
        role_id = self.ids("ReleaseHookRole")
        hooks, statements = [], []
        log_arns: list[Value] = []
        for phase, name in named:
            function_name = _fitted(f"CodeDeployHook_{self.function_name}", 64, f"-{phase}")
            log_group = LogGroup(
                self.ids("ReleaseHook", phase, "Logs"), f"/aws/lambda/{function_name}", self.s.log_retention_days
            )
            self.extra_log_groups.append(log_group)
            log_arns.append(Expr(f"arn:{{partition}}:logs:{{region}}:{{account}}:log-group:{log_group.name}:*"))
            environment = {
                "LIFT_NAME": self.service,
                "LIFT_STAGE": self.stage,
                **self.s.environment,
                **{k: v for k, v in self.environment.items() if k.startswith("LIFT_")},
                "LIFT_RELEASE_APP": self.handler,
                "LIFT_RELEASE_HOOK": name,
                "LIFT_RELEASE_PHASE": phase,
                "LIFT_RELEASE_FUNCTION": self.function_name,
                "LIFT_RELEASE_ALIAS": cfg.alias,
            }
            hooks.append(
                ReleaseHookFunction(
                    self.ids("ReleaseHook", phase),
                    phase,  # type: ignore[arg-type]
                    name,
                    function_name,
                    role_id,
                    log_group.id,
                    cfg.hook_timeout,
                    tuple(sorted(environment.items())),
                )
            )
        statements.append(
            IamStatement(
                "WriteLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), tuple(log_arns), reason="the hooks' logs"
            )
        )
        statements.append(
            IamStatement(
                "InvokeNewVersion",
                ("lambda:InvokeFunction",),
                (Expr(f"arn:{{partition}}:lambda:{{region}}:{{account}}:function:{self.function_name}:*"),),
                reason="a hook's check.invoke calls the version being released",
            )
        )
        if application_id and group_id:
            statements.append(
                IamStatement(
                    "ReportHookStatus",
                    ("codedeploy:PutLifecycleEventHookExecutionStatus",),
                    (
                        Expr(
                            f"arn:{{partition}}:codedeploy:{{region}}:{{account}}:deploymentgroup:"
                            f"{{ref:{application_id}}}/{{ref:{group_id}}}"
                        ),
                    ),
                    reason="the hook tells CodeDeploy whether the release goes on",
                )
            )
        self.roles.append(Role(role_id, "lambda.amazonaws.com", tuple(statements)))
        return tuple(hooks)

    def _codedeploy_role(self, shift: TrafficShift) -> None:
        """CodeDeploy's service role, with what AWSCodeDeployRoleForLambda grants scoped to this
        function, its alarms and its hooks (no S3: the AppSpec comes from CloudFormation)."""
        fn = function_arn(self.function_name)
        statements = [
            IamStatement(
                "ShiftAlias",
                ("lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"),
                (fn, Expr(f"{fn.template}:*")),
                reason="CodeDeploy moves the alias's weights step by step",
            )
        ]
        if shift.alarms:
            statements.append(
                IamStatement(
                    "ReadGatingAlarms",
                    ("cloudwatch:DescribeAlarms",),
                    tuple(Expr(f"arn:{{partition}}:cloudwatch:{{region}}:{{account}}:alarm:{a}") for a in shift.alarms),
                    reason="CodeDeploy stops and rolls back when a gating alarm fires",
                )
            )
        if shift.hooks:
            statements.append(
                IamStatement(
                    "InvokeHooks",
                    ("lambda:InvokeFunction",),
                    tuple(h.arn for h in shift.hooks),
                    reason="CodeDeploy runs the pre/post-traffic hooks",
                )
            )
        assert shift.service_role_id is not None
        self.roles.append(Role(shift.service_role_id, "codedeploy.amazonaws.com", tuple(statements)))

    # -- always ---------------------------------------------------------------------------------
    def _base_statements(self, websocket: WebSocketApi | None) -> None:
        s = self.s
        log_arns = tuple(
            Expr(f"arn:{{partition}}:logs:{{region}}:{{account}}:log-group:/aws/lambda/{name}:*")
            for name in (self.function_name, *(f["name"] for f in self.extra_functions))
        )
        self.statements.insert(
            0,
            IamStatement(
                "WriteLogs",
                ("logs:CreateLogStream", "logs:PutLogEvents"),
                log_arns,
                reason="the functions' log lines",
            ),
        )
        if websocket is not None:
            arn = Expr(
                f"arn:{{partition}}:execute-api:{{region}}:{{account}}:{{ref:{websocket.id}}}/{websocket.stage}/*/@connections/*"
            )
            self.grant(
                "WebSocket send",
                ["execute-api:ManageConnections"],
                [arn],
                "ctx.ws.send/close on this API's connections",
            )
        if s.tracing:
            self.grant(
                "Tracing",
                ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                ["*"],
                "X-Ray active tracing (these actions take no resource)",
            )
        ssm = sorted(a for a in s.secrets.values() if ":ssm:" in a)
        secrets = sorted(a for a in s.secrets.values() if ":secretsmanager:" in a)
        if ssm:
            self.grant(
                "Read parameters", ["ssm:GetParameter", "ssm:GetParameters"], [_given_arn(a) for a in ssm], "secrets"
            )
        if secrets:  # an ARN as given, and as the partial ARN it may be: the full one ends in '-' and 6 characters
            arns = [_given_arn(arn) for a in secrets for arn in (a, f"{a}-??????")]
            self.grant("Read secrets", ["secretsmanager:GetSecretValue"], arns, "secrets")
        self._settings_statements()
        for i, extra in enumerate(s.iam, start=1):
            self.statements.append(
                IamStatement(
                    f"Config{i}",
                    tuple(extra.actions),
                    tuple(_given_arn(r) if r != "*" else "*" for r in extra.resources),
                    extra.effect,
                    "[[tool.lift.iam]] in the config",
                )
            )

    def _settings_statements(self) -> None:
        """What `lift.config.Settings(cls, app=app)` declares: read access to exactly those names."""
        from lift.config.settings import settings_of

        for settings in settings_of(self.app):
            name = settings.cls.__name__
            for statement in settings.iam_statements(region="{region}", account="{account}"):
                service = statement["Action"][0].split(":", 1)[0]
                resources = [
                    Expr(r.replace("arn:aws:", "arn:{partition}:", 1)) if "{region}" in r else _given_arn(r)
                    for r in statement["Resource"]
                ]
                self.grant(f"Settings {name} {service}", statement["Action"], resources, f"lift.config {name}")


# @app.cognito trigger -> (the user pool's LambdaConfig key, its LambdaVersion when it takes one)
_COGNITO_LAMBDA_CONFIG: dict[str, tuple[str | None, str | None]] = {
    "pre_sign_up": ("PreSignUp", None),
    "post_confirmation": ("PostConfirmation", None),
    "pre_authentication": ("PreAuthentication", None),
    "post_authentication": ("PostAuthentication", None),
    "pre_token_generation": ("PreTokenGenerationConfig", "V1_0"),
    "define_auth_challenge": ("DefineAuthChallenge", None),
    "create_auth_challenge": ("CreateAuthChallenge", None),
    "verify_auth_challenge_response": ("VerifyAuthChallengeResponse", None),
    "custom_message": ("CustomMessage", None),
    "user_migration": ("UserMigration", None),
    "custom_email_sender": ("CustomEmailSender", "V1_0"),
    "custom_sms_sender": ("CustomSMSSender", "V1_0"),
    "inbound_federation": (None, None),  # not in CloudFormation's LambdaConfig yet
}
_WEB_ADAPTER_VERSION = 26  # the AWS Lambda Web Adapter layer version the streaming function uses
_SQS_CONSUME = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
_KINESIS_CONSUME = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
)
_DYNAMODB_STREAM_CONSUME = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# what lift.stores.dynamodb calls: get_item, put_item (conditional), update_item, delete_item
_STORE_ITEM_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
_S3_DETAIL_TYPE = {
    "ObjectCreated": "Object Created",
    "ObjectRemoved": "Object Deleted",
    "ObjectRestore": "Object Restore Completed",
}


def _service_name(name: str) -> str:
    clean = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not clean or not clean[0].isalpha():
        raise ConfigError(f'Service name {name!r} must start with a letter (set [tool.lift] name = "...")')
    return clean[:40]


def _api_path(template: str) -> str:
    return template or "/"


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _event_pattern_value(value: str) -> Any:
    return {"wildcard": value} if _GLOB.search(value) else value


_QUEUE_REFUSED = re.compile(r"[^A-Za-z0-9_-]+")


def _name_rule(pattern: str, what: str, longest: int, shortest: int = 1) -> tuple[re.Pattern[str], int, str]:
    """(the pattern a name matches, its longest length, the rule in words) of one kind of AWS name."""
    size = f"at most {longest}" if shortest == 1 else f"{shortest} to {longest}"
    return re.compile(pattern), longest, f"{what}, {size} characters"


_LETTERS = "letters, digits, '.', '-' and '_'"
_KIND_LABELS = {
    "queue": "SQS queue",
    "topic": "SNS topic",
    "stream": "Kinesis stream",
    "table": "DynamoDB table",
    "bucket": "S3 bucket",
    "schedule": "EventBridge Scheduler schedule",
    "access_point": "S3 Object Lambda access point",
}
_AWS_NAMES = {
    "SQS queue": _name_rule(
        r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, '-' and '_' (a FIFO queue ends in '.fifo')", 80
    ),
    "SNS topic": _name_rule(
        r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, '-' and '_' (a FIFO topic ends in '.fifo')", 256
    ),
    "Kinesis stream": _name_rule(r"[A-Za-z0-9_.-]+", _LETTERS, 128),
    "DynamoDB table": _name_rule(r"[A-Za-z0-9_.-]{3,}", _LETTERS, 255, 3),
    "S3 bucket": _name_rule(
        r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
        63,
        3,
    ),
    "EventBridge Scheduler schedule": _name_rule(r"[A-Za-z0-9_.-]+", _LETTERS, 64),
    "S3 Object Lambda access point": _name_rule(
        r"[a-z0-9][a-z0-9-]{1,43}[a-z0-9]",
        "lowercase letters, digits and '-', starting and ending with a letter or digit",
        45,
        3,
    ),
}


def _unique_sids(statements: list[IamStatement]) -> tuple[IamStatement, ...]:
    """The statements with a Sid each of its own: IAM refuses a policy whose Sids repeat ("Statement
    IDs (SID) in a single policy must be unique"), and registrations whose names differ only in case
    or punctuation (@app.sqs("orders") and @app.sqs("Orders"), a Kinesis stream and a table stream
    both called "orders") make the same Sid. A repeated one gets a number, as logical ids do."""
    seen: set[str] = set()
    unique = []
    for statement in statements:
        sid, n = statement.sid, 1
        while sid in seen:
            n += 1
            sid = f"{statement.sid}{n}"
        seen.add(sid)
        unique.append(statement if sid == statement.sid else dataclasses.replace(statement, sid=sid))
    return tuple(unique)


def _rule_name(function_name: str, kind: str, label: str) -> str:
    """An EventBridge rule name (64 chars max) that stays unique and readable."""
    import hashlib

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{function_name}-{kind}-{label}")
    if len(name) > 64:
        name = name[:55] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def _scheduled_event_input() -> Expr:
    """The payload Scheduler sends: a `Scheduled Event` (Lift's schedule source) whose `resources`
    name the schedule, filled in by Scheduler's context attributes at each run."""
    import json

    event = {
        "version": "0",
        "id": "<aws.scheduler.execution-id>",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "{account}",
        "time": "<aws.scheduler.scheduled-time>",
        "region": "{region}",
        "resources": ["<aws.scheduler.schedule-arn>"],
        "detail": {},
    }
    return Expr(json.dumps(event, separators=(",", ":")))
