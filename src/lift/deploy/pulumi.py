"""Pulumi from the deployment model: a `LiftService` component resource a Pulumi program
instantiates, creating with `pulumi_aws` the same infrastructure as the CloudFormation and
Terraform renderers (resource for resource like `lift.deploy.terraform`).

    import pulumi
    from lift.deploy import build_deployment, load_config
    from lift.deploy.pulumi import LiftService
    from orders import app

    stage = pulumi.get_stack()                               # one stack per stage
    deployment = build_deployment(app, load_config("."), stage)
    config = pulumi.Config("lift")
    service = LiftService("orders", deployment, artifact_path=f"dist/orders-{stage}.zip",
                          memory_size=config.get_int("memory_size"))
    pulumi.export("url", service.api_url)

Stage settings are arguments whose defaults are the stage's values (`memory_size`, `timeout`,
`log_retention_days`, `environment`, `tags`), like the Terraform module's variables; read them
from the stack's config to vary them per stack. Model placeholders become the provider's
`get_partition`/`get_region`/`get_caller_identity` results and `{ref:ID}` the referenced
resource's output. Like the other renderers this reads only the model. Needs `lift-lambda[pulumi]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lift.deploy.model import (
    REST_BINARY_MEDIA_TYPES,
    Authorizer,
    CloudMapRegistration,
    Deployment,
    EventSourceMapping,
    Expr,
    Function,
    FunctionUrl,
    HttpFront,
    IamStatement,
    Value,
    distinct_names,
    policy_document,
    provider_names,
    rest_resources,
)

try:
    import pulumi
    import pulumi_aws as aws
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('lift.deploy.pulumi needs pulumi and pulumi_aws: pip install "lift-lambda[pulumi]"') from exc

__all__ = ["LiftService"]


def _route_name(key: str) -> str:
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", key.replace("+", " greedy")) if w]
    return "-".join(words) or "root"


class LiftService(pulumi.ComponentResource):
    """Every resource of one stage of a Lift service (`deployment`), as children of this component.

    `artifact_path` is the function's zip (`lift package`), `layer_artifact_path` the dependencies
    layer's zip when the stage has `dependencies_layer = true`; the other keyword arguments override
    the stage's settings. `resources` maps each child's logical name to the resource; `function`,
    `api_url`, `websocket_url`, `domain_url` and `domain_target` are outputs (URLs are None when
    the stage has no such front)."""

    def __init__(
        self,
        name: str,
        deployment: Deployment,
        artifact_path: str,
        *,
        layer_artifact_path: str | None = None,
        memory_size: int | None = None,
        timeout: int | None = None,
        log_retention_days: int | None = None,
        environment: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lift:index:LiftService", name, None, opts)
        d = deployment
        self.d = d
        self._name = name
        self.artifact_path = artifact_path
        if d.layers and not layer_artifact_path:
            raise ValueError(
                "this stage puts its dependencies in a layer (dependencies_layer = true): "
                "pass layer_artifact_path= (the layer zip written by lift package)"
            )
        self.layer_artifact_path = layer_artifact_path
        fn = d.function
        self.memory_size = memory_size if memory_size is not None else fn.memory
        self.timeout = timeout if timeout is not None else fn.timeout
        self.log_retention_days = (
            log_retention_days
            if log_retention_days is not None
            else (d.log_groups[0].retention_days if d.log_groups else 30)
        )
        self.extra_environment = dict(environment or {})
        self.tags = dict(d.tags) if tags is None else dict(tags)
        self.resources: dict[str, pulumi.Resource] = {}
        self.refs: dict[str, Any] = {}  # model id -> the output of its physical id
        self.api_url: Any = None
        self.websocket_url: Any = None
        self.stream_url: Any = None  # the streaming function's URL ([tool.lift.streaming])
        self.cloud_map_service_id: Any = None  # the Cloud Map service's id ([tool.lift.cloud_map])
        self.domain_url: Any = None
        self.domain_target: Any = None
        self.trigger_outputs: dict[str, Any] = {}  # the deployment's outputs (CamelCase names, like CloudFormation)
        self._pseudo: dict[str, Any] = {}
        self._build()
        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "api_url": self.api_url,
                "websocket_url": self.websocket_url,
                "stream_url": self.stream_url,
                "domain_url": self.domain_url,
                "domain_target": self.domain_target,
                **self.trigger_outputs,
            }
        )

    # -- helpers ----------------------------------------------------------------------------------
    def add(self, cls: Any, model_name: str, opts: pulumi.ResourceOptions | None = None, **args: Any) -> Any:
        logical = f"{self._name}-{model_name}"
        if logical in self.resources:
            raise ValueError(f"duplicate Pulumi resource {logical}")
        child = pulumi.ResourceOptions(parent=self)
        resource = cls(
            logical,
            opts=pulumi.ResourceOptions.merge(child, opts) if opts else child,
            **{k: v for k, v in args.items() if v is not None},
        )
        self.resources[logical] = resource
        return resource

    def pseudo(self, name: str) -> Any:
        if not self._pseudo:
            partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self))
            self._pseudo = {
                "partition": partition.partition,
                "url_suffix": partition.dns_suffix,
                "region": aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region,
                "account": aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id,
            }
        return self._pseudo[name]

    def value(self, value: Value) -> Any:
        """A model value as a Pulumi input: literal text stays a str, placeholders become outputs."""
        if not isinstance(value, Expr):
            return value
        parts = value.parts()
        if all(isinstance(p, str) for p in parts):
            return value.template
        return pulumi.Output.concat(
            *(p if isinstance(p, str) else self.pseudo(p[1]) if p[0] == "pseudo" else self.refs[p[1]] for p in parts)
        )

    def permission(
        self, name: str, principal: str, source_arn: Any, action: str = "lambda:InvokeFunction", **extra: Any
    ) -> Any:
        return self.add(
            aws.lambda_.Permission,
            name,
            action=action,
            function=self.target_name,
            principal=principal,
            qualifier=self.qualifier,
            source_arn=source_arn,
            **extra,
        )

    # -- the component ------------------------------------------------------------------------------
    def _build(self) -> None:
        d = self.d
        if d.release is not None and d.release.engine == "codedeploy":
            from lift.deploy.terraform import CODEDEPLOY_ONLY_IN_CLOUDFORMATION

            raise ValueError(CODEDEPLOY_ONLY_IN_CLOUDFORMATION.format(tool="Pulumi"))
        for group in d.log_groups:
            lg = self.add(aws.cloudwatch.LogGroup, group.id, name=group.name, retention_in_days=self.log_retention_days)
            self.refs[group.id] = lg.name
        # resources the function's environment and policies may reference ({ref:ID}) come first
        self.messaging()
        if d.websocket is not None:
            ws = d.websocket
            self.ws_api = self.add(
                aws.apigatewayv2.Api,
                ws.id,
                name=ws.name,
                protocol_type="WEBSOCKET",
                route_selection_expression=ws.route_selection_expression,
                tags=self.tags,
            )
            self.refs[ws.id] = self.ws_api.id
        if d.http is not None and d.http.kind in ("http", "rest"):
            self.http_api(d.http)
        if d.cloud_map is not None:  # its id is in the function's environment and policy
            self.cloud_map_service(d.cloud_map)
        self.policies: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}  # model id -> the function (the app's, the jobs worker, ...)
        for role in d.roles:
            self.role(role.id, role.service, role.statements)
        for layer in d.layers:
            version = self.add(
                aws.lambda_.LayerVersion,
                layer.id,
                layer_name=layer.name,
                description=f"dependencies of {d.function.name}, packaged by lift",
                code=pulumi.FileArchive(self.layer_artifact_path),
                compatible_runtimes=[layer.runtime],
                compatible_architectures=[layer.architecture],
            )
            self.refs[layer.id] = version.arn
        for fn in d.functions:
            self.function_(fn)
        self.authorizers = {a.id: self.authorizer(a) for a in d.authorizers}
        if d.release is not None:
            self.release_hooks()
        if d.http is not None:
            self.http(d.http)
        if d.websocket is not None:
            self.websocket()
        for url in d.function_urls:
            self.function_url(url)
        self.subscriptions()
        self.data()
        for mapping in d.event_source_mappings:
            self.mapping(mapping)
        self.rules_and_schedules()
        self.triggers()
        self.alarms()
        if d.slos:
            self.slo_alarms()
        if d.http is not None and d.http.domain:
            self.domain(d.http)
        if d.cloud_map is not None:
            self.cloud_map(d.cloud_map)

    def role(self, role_id: str, service: str, statements: tuple[IamStatement, ...]) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        role = self.add(aws.iam.Role, role_id, assume_role_policy=json.dumps(trust, sort_keys=True), tags=self.tags)
        self.refs[role_id] = role.arn
        policy = policy_document(statements, self.value)
        self.policies[role_id] = self.add(
            aws.iam.RolePolicy,
            f"{role_id}Policy",
            name=f"{role_id}Policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(policy, sort_keys=True),
        )

    def function_(self, fn: Function) -> None:
        environment = {k: self.value(v) for k, v in fn.environment} | self.extra_environment
        primary = fn.id == self.d.function.id  # the arguments size the app's function only
        function = self.add(
            aws.lambda_.Function,
            fn.id,
            pulumi.ResourceOptions(depends_on=[self.policies[fn.role_id]]),
            name=fn.name,
            description=fn.description,
            handler=fn.handler,
            runtime=fn.runtime,
            architectures=[fn.architecture],
            memory_size=self.memory_size if primary else fn.memory,
            timeout=self.timeout if primary else fn.timeout,
            role=self.refs[fn.role_id],
            code=pulumi.FileArchive(self.artifact_path),
            logging_config={"log_format": "Text", "log_group": self.refs[fn.log_group_id]},
            environment={"variables": environment},
            tracing_config={"mode": "Active" if fn.tracing else "PassThrough"},
            tags=self.tags,
            reserved_concurrent_executions=fn.reserved_concurrency,
            layers=([self.refs[fn.dependencies_layer_id]] if fn.dependencies_layer_id else [])
            + [self.value(layer) for layer in fn.layers]
            or None,
            snap_start={"apply_on": "PublishedVersions"} if fn.snapstart else None,
            publish=True if primary and self.d.traffic_alias else None,
            ephemeral_storage={"size": fn.ephemeral_storage} if fn.ephemeral_storage != 512 else None,
            vpc_config={"subnet_ids": list(fn.subnets), "security_group_ids": list(fn.security_groups)}
            | ({"ipv6_allowed_for_dual_stack": True} if fn.ipv6 else {})
            if fn.subnets
            else None,
        )
        self.refs[fn.id] = function.name
        self.functions[fn.id] = function
        if not primary:
            return
        self.function = function
        if self.d.traffic_alias:  # triggers invoke the alias (release strategy, or SnapStart's versions)
            # `lift release` moves a release alias from the first version on: Pulumi must not move it back
            keep = (
                pulumi.ResourceOptions(ignore_changes=["function_version", "routing_config", "description"])
                if self.d.release is not None
                else None
            )
            alias = self.add(
                aws.lambda_.Alias,
                f"{fn.id}Alias",
                keep,
                name=self.d.traffic_alias,
                function_name=function.name,
                function_version=function.version,
            )
            self.target_arn, self.target_invoke_arn = alias.arn, alias.invoke_arn
            self.target_name, self.qualifier = function.name, alias.name
            if fn.provisioned_concurrency:  # on the alias: a release's shift moves it with its instances
                self.add(
                    aws.lambda_.ProvisionedConcurrencyConfig,
                    f"{fn.id}Provisioned",
                    None,
                    function_name=function.name,
                    qualifier=alias.name,
                    provisioned_concurrent_executions=fn.provisioned_concurrency,
                )
        else:
            self.target_arn, self.target_invoke_arn = function.arn, function.invoke_arn
            self.target_name, self.qualifier = function.name, None

    def release_hooks(self) -> None:
        """The pre/post-traffic hook functions `lift release` invokes (same package, handler
        lift.release_hooks.handler)."""
        assert self.d.release is not None
        fn = self.d.function
        for hook in self.d.release.hooks:
            self.add(
                aws.lambda_.Function,
                hook.id,
                pulumi.ResourceOptions(depends_on=[self.policies[hook.role_id]]),
                name=hook.name,
                description=f"{hook.phase}-traffic check {hook.hook} of {fn.name}, deployed by lift",
                handler=hook.handler,
                runtime=fn.runtime,
                architectures=[fn.architecture],
                memory_size=self.memory_size,
                timeout=hook.timeout,
                role=self.refs[hook.role_id],
                code=pulumi.FileArchive(self.artifact_path),
                logging_config={"log_format": "Text", "log_group": self.refs[hook.log_group_id]},
                environment={"variables": {k: self.value(v) for k, v in hook.environment}},
                tracing_config={"mode": "Active" if fn.tracing else "PassThrough"},
                tags=self.tags,
                layers=list(fn.layers) or None,
            )

    # -- HTTP ---------------------------------------------------------------------------------------
    def http_api(self, front: HttpFront) -> None:
        """The API itself (before the function: its id may be in the function's environment)."""
        if front.kind == "http":
            cors = None
            if front.cors_origins:
                cors = {"allow_origins": list(front.cors_origins), "allow_methods": ["*"], "allow_headers": ["*"]}
            self.api = self.add(
                aws.apigatewayv2.Api,
                front.id,
                name=f"{self.d.stack_name}-http",
                protocol_type="HTTP",
                cors_configuration=cors,
                tags=self.tags,
            )
        else:
            self.api = self.add(
                aws.apigateway.RestApi,
                front.id,
                name=f"{self.d.stack_name}-rest",
                endpoint_configuration={"types": "REGIONAL"},
                binary_media_types=REST_BINARY_MEDIA_TYPES,
                tags=self.tags,
            )
        self.refs[front.id] = self.api.id

    def http(self, front: HttpFront) -> None:
        api_id = front.id
        if front.kind == "http":
            integration = self.add(
                aws.apigatewayv2.Integration,
                f"{api_id}Integration",
                api_id=self.api.id,
                integration_type="AWS_PROXY",
                integration_uri=self.target_arn,
                payload_format_version="2.0",
            )
            keys = front.route_keys()
            public = {f"{r.method} {r.path}" for r in front.public_routes}
            names = distinct_names(keys, _route_name)
            for key in keys:
                guarded = front.authorizer_id is not None and key not in public
                self.add(
                    aws.apigatewayv2.Route,
                    f"{api_id}Route-{names[key]}",
                    api_id=self.api.id,
                    route_key=key,
                    target=pulumi.Output.concat("integrations/", integration.id),
                    authorization_type="CUSTOM" if guarded else None,
                    authorizer_id=self.authorizers[front.authorizer_id].id if guarded else None,
                )
            self.stage = self.add(
                aws.apigatewayv2.Stage, f"{api_id}Stage", api_id=self.api.id, name="$default", auto_deploy=True
            )
            self.permission(
                f"{api_id}Permission", "apigateway.amazonaws.com", pulumi.Output.concat(self.api.execution_arn, "/*")
            )
            self.api_url = self.stage.invoke_url
        elif front.kind == "rest":
            self.rest(front)
        elif front.kind == "url":
            url = self.add(
                aws.lambda_.FunctionUrl,
                api_id,
                function_name=self.target_name,
                authorization_type="NONE",
                qualifier=self.qualifier,
            )
            self.permission(
                f"{api_id}Permission", "*", None, action="lambda:InvokeFunctionUrl", function_url_auth_type="NONE"
            )
            self.api_url = url.function_url
        elif front.kind == "alb":
            # the target group checks the permission when it is attached, so the permission cannot
            # name it: it is limited to this account instead
            self.permission(
                f"{api_id}Permission", "elasticloadbalancing.amazonaws.com", None, source_account=self.pseudo("account")
            )
            permission = self.resources[f"{self._name}-{api_id}Permission"]
            group = self.add(aws.lb.TargetGroup, f"{api_id}TargetGroup", target_type="lambda", tags=self.tags)
            self.add(
                aws.lb.TargetGroupAttachment,
                f"{api_id}Attachment",
                pulumi.ResourceOptions(depends_on=[permission]),
                target_group_arn=group.arn,
                target_id=self.target_arn,
            )
            self.add(
                aws.lb.ListenerRule,
                f"{api_id}Rule",
                listener_arn=front.alb_listener_arn,
                priority=front.alb_priority,
                conditions=[{"path_pattern": {"values": list(front.alb_path_patterns)}}],
                actions=[{"type": "forward", "target_group_arn": group.arn}],
            )

    def function_url(self, url: FunctionUrl) -> None:
        """The streaming function's own URL (RESPONSE_STREAM); public only with auth NONE."""
        function = self.functions[url.function_id]
        cors = None
        if url.cors_origins:
            cors = {"allow_origins": list(url.cors_origins), "allow_methods": ["*"], "allow_headers": ["*"]}
        created = self.add(
            aws.lambda_.FunctionUrl,
            url.id,
            function_name=function.name,
            authorization_type=url.auth_type,
            invoke_mode=url.invoke_mode,
            cors=cors,
        )
        if url.auth_type == "NONE":
            self.add(
                aws.lambda_.Permission,
                f"{url.id}Permission",
                action="lambda:InvokeFunctionUrl",
                function=function.name,
                principal="*",
                function_url_auth_type="NONE",
            )
        self.stream_url = created.function_url

    def cloud_map_service(self, reg: CloudMapRegistration) -> None:
        """The Cloud Map service (with a custom health check when the function reports its readiness)."""
        namespace_id = reg.namespace_id
        if namespace_id is None:  # looked up by its name
            found = aws.servicediscovery.get_http_namespace_output(
                name=reg.namespace, opts=pulumi.InvokeOptions(parent=self)
            )
            namespace_id = found.id
        health = None
        if reg.health:  # lift.cloud_map_health; failure_threshold is deprecated (AWS always uses 1)
            health = aws.servicediscovery.ServiceHealthCheckCustomConfigArgs()
        self.cloud_map_service_ = self.add(
            aws.servicediscovery.Service,
            reg.id,
            name=reg.service,
            namespace_id=namespace_id,
            type="HTTP",
            description=f"{self.d.service}: registered by lift",
            health_check_custom_config=health,
            tags=self.tags,
        )
        self.refs[reg.id] = self.cloud_map_service_.id

    def cloud_map(self, reg: CloudMapRegistration) -> None:
        """This stage's instance in the Cloud Map service, whose `URL` CloudMapDiscovery reads."""
        service = self.cloud_map_service_
        attributes = {k: self.value(v) for k, v in reg.attributes}
        url = {"api": self.api_url, "domain": self.domain_url, "stream": self.stream_url}.get(reg.url_source)
        if url is not None:
            attributes["URL"] = url
        self.add(
            aws.servicediscovery.Instance,
            f"{reg.id}Instance",
            instance_id=reg.instance_id,
            service_id=service.id,
            attributes=attributes,
        )
        self.cloud_map_service_id = service.id

    def rest(self, front: HttpFront) -> None:
        """A REST API proxying every path to the function (the App routes, answers 404/405)."""
        api, name = self.api, front.id
        proxy = self.add(
            aws.apigateway.Resource,
            f"{name}Proxy",
            rest_api=api.id,
            parent_id=api.root_resource_id,
            path_part="{proxy+}",
        )
        integrations = []
        authorizer = self.authorizers[front.authorizer_id] if front.authorizer_id else None

        def method(logical: str, resource: Any, verb: str, authorized: bool) -> None:
            created = self.add(
                aws.apigateway.Method,
                logical,
                rest_api=api.id,
                resource_id=resource,
                http_method=verb,
                authorization="CUSTOM" if authorized else "NONE",
                authorizer_id=authorizer.id if authorized else None,
            )
            integrations.append(
                self.add(
                    aws.apigateway.Integration,
                    f"{logical}Integration",
                    rest_api=api.id,
                    resource_id=resource,
                    http_method=created.http_method,
                    type="AWS_PROXY",
                    integration_http_method="POST",
                    uri=self.target_invoke_arn,
                )
            )

        guarded = authorizer is not None
        public_root = {r.method for r in front.public_routes if r.path == "/"}
        method(f"{name}AnyRoot", api.root_resource_id, "ANY", guarded and "ANY" not in public_root)
        for verb in sorted(public_root - {"ANY"}) if guarded else ():
            method(f"{name}{verb.title()}Root", api.root_resource_id, verb, False)
        method(f"{name}AnyProxy", proxy.id, "ANY", guarded)
        created: dict[str, Any] = {"": api.root_resource_id}
        nodes = rest_resources(front.public_routes) if guarded else []
        paths = distinct_names([node.path for node in nodes], _route_name)
        for node in nodes:
            rid = f"{name}Resource-{paths[node.path]}"
            resource = self.add(
                aws.apigateway.Resource, rid, rest_api=api.id, parent_id=created[node.parent], path_part=node.part
            ).id
            created[node.path] = resource
            if "ANY" not in node.public_methods:
                method(f"{rid}-any", resource, "ANY", True)
            for verb in node.public_methods:
                method(f"{rid}-{verb.lower()}", resource, verb, False)
            if node.proxy_child:
                child = self.add(
                    aws.apigateway.Resource, f"{rid}-proxy", rest_api=api.id, parent_id=resource, path_part="{proxy+}"
                )
                method(f"{rid}-proxy-any", child.id, "ANY", True)
        deployment = self.add(
            aws.apigateway.Deployment,
            f"{name}Deployment",
            pulumi.ResourceOptions(depends_on=integrations),
            rest_api=api.id,
        )
        self.stage = self.add(
            aws.apigateway.Stage,
            f"{name}Stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=front.stage,
            xray_tracing_enabled=self.d.function.tracing,
            tags=self.tags,
        )
        self.permission(f"{name}Permission", "apigateway.amazonaws.com", pulumi.Output.concat(api.execution_arn, "/*"))
        self.api_url = pulumi.Output.concat(self.stage.invoke_url, "/")

    def websocket(self) -> None:
        ws = self.d.websocket
        assert ws is not None
        api = self.ws_api
        integration = self.add(
            aws.apigatewayv2.Integration,
            f"{ws.id}Integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.target_invoke_arn,
        )
        names = distinct_names(ws.route_keys, _route_name)
        routes = [
            self.add(
                aws.apigatewayv2.Route,
                f"{ws.id}Route-{names[key]}",
                api_id=api.id,
                route_key=key,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type="CUSTOM" if ws.authorizer_id and key == "$connect" else None,
                authorizer_id=self.authorizers[ws.authorizer_id].id if ws.authorizer_id and key == "$connect" else None,
            )
            for key in ws.route_keys
        ]
        deployment = self.add(
            aws.apigatewayv2.Deployment, f"{ws.id}Deployment", pulumi.ResourceOptions(depends_on=routes), api_id=api.id
        )
        stage = self.add(
            aws.apigatewayv2.Stage, f"{ws.id}Stage", api_id=api.id, name=ws.stage, deployment_id=deployment.id
        )
        self.permission(f"{ws.id}Permission", "apigateway.amazonaws.com", pulumi.Output.concat(api.execution_arn, "/*"))
        self.websocket_url = stage.invoke_url

    # -- messaging and data -------------------------------------------------------------------------
    def messaging(self) -> None:
        self.arns: dict[str, Any] = {}
        created: dict[str, Any] = {}
        # DLQs first: a queue's redrive policy names its DLQ
        for q in sorted(self.d.queues, key=lambda q: not q.is_dlq):
            redrive = None
            if q.dlq_id:
                redrive = pulumi.Output.json_dumps(
                    {"deadLetterTargetArn": created[q.dlq_id].arn, "maxReceiveCount": q.max_receive_count}
                )
            queue = self.add(
                aws.sqs.Queue,
                q.id,
                name=q.name,
                visibility_timeout_seconds=q.visibility_timeout,
                message_retention_seconds=q.retention_seconds,
                sqs_managed_sse_enabled=True,
                tags=self.tags,
                fifo_queue=True if q.fifo else None,
                redrive_policy=redrive,
            )
            created[q.id] = queue
            self.refs[q.id], self.arns[q.id] = queue.url, queue.arn
        for t in self.d.topics:
            topic = self.add(aws.sns.Topic, t.id, name=t.name, kms_master_key_id=t.kms_key, tags=self.tags)
            self.refs[t.id] = self.arns[t.id] = topic.arn

    def subscriptions(self) -> None:
        for s in self.d.subscriptions:
            topic = self.arns[s.topic_id] if s.topic_id else self.value(s.topic_arn)
            self.add(aws.sns.TopicSubscription, s.id, protocol="lambda", topic=topic, endpoint=self.target_arn)
            self.permission(f"{s.id}Permission", "sns.amazonaws.com", topic)

    def data(self) -> None:
        for b in self.d.buckets:
            bucket = self.add(aws.s3.Bucket, b.id, pulumi.ResourceOptions(protect=True), bucket=b.name, tags=self.tags)
            self.add(
                aws.s3.BucketVersioning,
                f"{b.id}Versioning",
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
            )
            self.add(
                aws.s3.BucketServerSideEncryptionConfiguration,
                f"{b.id}Encryption",
                bucket=bucket.id,
                rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            )
            self.add(
                aws.s3.BucketPublicAccessBlock,
                f"{b.id}PublicAccessBlock",
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            )
            self.add(aws.s3.BucketNotification, f"{b.id}Notification", bucket=bucket.id, eventbridge=True)
        for s in self.d.streams:
            stream = self.add(
                aws.kinesis.Stream,
                s.id,
                name=s.name,
                stream_mode_details={"stream_mode": "ON_DEMAND"},
                encryption_type="KMS",
                kms_key_id=s.kms_key,
                tags=self.tags,
            )
            self.arns[s.id] = stream.arn
        for t in self.d.tables:
            table = self.add(
                aws.dynamodb.Table,
                t.id,
                pulumi.ResourceOptions(protect=t.retain),
                name=t.name,
                billing_mode="PAY_PER_REQUEST",
                hash_key=t.partition_key[0],
                range_key=t.sort_key[0] if t.sort_key else None,
                attributes=[{"name": n, "type": k} for n, k in t.attributes],
                global_secondary_indexes=[
                    {
                        "name": i.name,
                        "hash_key": i.partition_key[0],
                        "range_key": i.sort_key[0] if i.sort_key else None,
                        "projection_type": i.projection,
                    }
                    for i in t.indexes
                ]
                or None,
                server_side_encryption={"enabled": True},
                point_in_time_recovery={"enabled": t.pitr},
                ttl={"attribute_name": t.ttl_attribute, "enabled": True} if t.ttl_attribute else None,
                stream_enabled=True if t.replicas else None,  # a global table replicates through its stream
                stream_view_type=t.stream_view_type,
                replicas=[
                    {"region_name": r, "point_in_time_recovery": t.pitr} for r in t.replicas if r != self.d.region
                ]
                or None,
                tags=self.tags,
            )
            self.arns[t.id] = table.arn

    def mapping(self, m: EventSourceMapping) -> None:
        primary = m.function_id == self.d.function.id  # the others (the jobs worker) have no alias
        args: dict[str, Any] = {
            "function_name": self.target_arn if primary else self.functions[m.function_id].arn,
            **provider_names(m.settings(self.value)),
        }
        if m.kind == "kafka":
            args["self_managed_event_source"] = {
                "endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ",".join(m.bootstrap_servers)}
            }
        else:
            args["event_source_arn"] = self.arns[m.source_id] if m.source_id else self.value(m.source_arn)
        if m.queues:
            args["queues"] = m.queues[0]  # pulumi_aws takes the one queue as a string
        if m.kind in ("kinesis", "dynamodb") and m.on_failure_arn is not None:
            destination = self.arns[m.on_failure_id] if m.on_failure_id else self.value(m.on_failure_arn)
            args["destination_config"] = {"on_failure": {"destination_arn": destination}}
        options = pulumi.ResourceOptions(depends_on=[self.policies[self.d.by_id(m.function_id).role_id]])
        self.add(aws.lambda_.EventSourceMapping, m.id, options, **args)

    def authorizer(self, a: Authorizer) -> Any:
        if a.kind == "rest":
            return self.add(
                aws.apigateway.Authorizer,
                a.id,
                name=a.name,
                rest_api=self.refs[a.api_id],
                type=a.type,
                authorizer_uri=self.target_invoke_arn,
                identity_source=", ".join(a.identity_sources),
                authorizer_result_ttl_in_seconds=a.ttl,
            )
        http = a.kind == "http"
        return self.add(
            aws.apigatewayv2.Authorizer,
            a.id,
            name=a.name,
            api_id=self.refs[a.api_id],
            authorizer_type="REQUEST",
            authorizer_uri=self.target_invoke_arn,
            identity_sources=list(a.identity_sources),
            authorizer_payload_format_version=a.payload_version if http else None,
            enable_simple_responses=a.simple_responses if http else None,
            authorizer_result_ttl_in_seconds=a.ttl if http else None,
        )

    def triggers(self) -> None:
        """Permissions, subscription filters, user pools, Object Lambda access points, role
        policies and outputs of the other triggers."""
        d = self.d
        for p in d.user_pools:
            pool = self.add(
                aws.cognito.UserPool,
                p.id,
                pulumi.ResourceOptions(protect=True),
                name=p.name,
                lambda_config=provider_names(p.lambda_config(self.target_arn)),
                tags=self.tags,
            )
            self.refs[p.id] = pool.id
        permissions = {}
        for perm in d.permissions:
            permissions[perm.id] = self.permission(
                perm.id,
                perm.principal,
                self.value(perm.source_arn) if perm.source_arn is not None else None,
                source_account=self.pseudo("account") if perm.source_account else None,
            )
        for f in d.subscription_filters:
            self.add(
                aws.cloudwatch.LogSubscriptionFilter,
                f.id,
                pulumi.ResourceOptions(depends_on=[permissions[f.permission_id]]),
                name=f.name,
                log_group=f.log_group,
                filter_pattern=f.filter_pattern,
                destination_arn=self.target_arn,
            )
        for o in d.object_lambda_access_points:
            point = self.add(aws.s3.AccessPoint, o.access_point_id, bucket=o.bucket, name=o.access_point_name)
            self.add(
                aws.s3control.ObjectLambdaAccessPoint,
                o.id,
                name=o.name,
                configuration=provider_names(o.configuration(point.arn, self.target_arn)),
            )
        for rp in d.role_policies:
            policy = policy_document(rp.statements, self.value)
            self.add(
                aws.iam.RolePolicy,
                rp.id,
                name=f"{rp.id}Policy",
                role=rp.role_name,
                policy=pulumi.Output.json_dumps(policy, sort_keys=True),
            )
        for out in d.outputs:
            if out.target:
                value = self.target_arn
            elif out.arn_of:
                value = self.refs[out.arn_of]
            else:
                value = self.value(out.value) if out.value is not None else ""
            self.trigger_outputs[out.name] = value

    def rules_and_schedules(self) -> None:
        for r in self.d.rules:
            bus = r.named_bus
            rule = self.add(
                aws.cloudwatch.EventRule,
                r.id,
                name=r.name,
                description=r.description,
                event_pattern=json.dumps(r.pattern, sort_keys=True),
                event_bus_name=bus,
                tags=self.tags,
            )
            self.add(
                aws.cloudwatch.EventTarget,
                f"{r.id}Target",
                rule=rule.name,
                target_id="function",
                arn=self.target_arn,
                event_bus_name=bus,
            )
            self.permission(f"{r.id}Permission", "events.amazonaws.com", rule.arn)
        for s in self.d.schedules:
            self.add(
                aws.scheduler.Schedule,
                s.id,
                name=s.name,
                schedule_expression=s.expression,
                schedule_expression_timezone=s.timezone,
                flexible_time_window={"mode": "OFF"},
                state="ENABLED",
                target={"arn": self.target_arn, "role_arn": self.refs[s.role_id], "input": self.value(s.input)},
            )

    def alarms(self) -> None:
        d = self.d
        if d.alarm_topic_id and d.alarms_email:
            self.add(
                aws.sns.TopicSubscription,
                f"{d.alarm_topic_id}Email",
                protocol="email",
                topic=self.arns[d.alarm_topic_id],
                endpoint=d.alarms_email,
            )
        for a in d.alarms:
            self.add(
                aws.cloudwatch.MetricAlarm,
                a.id,
                name=a.name,
                alarm_description=a.description,
                namespace=a.namespace,
                metric_name=a.metric,
                dimensions={n: self.value(v) for n, v in a.dimensions},
                statistic=a.statistic,
                period=a.period,
                evaluation_periods=a.evaluation_periods,
                threshold=a.threshold,
                comparison_operator=a.comparison,
                treat_missing_data="notBreaching",
                alarm_actions=[self.arns[a.topic_id]],
                tags=self.tags,
            )

    def slo_alarms(self) -> None:
        """The SLOs' burn-rate alarms and dashboard, the same as the CloudFormation output's (the
        resources of `lift.deploy.slo.stage_resources`, CloudWatch API fields mapped to `pulumi_aws`
        arguments). A composite alarm's rule is built from its windows' alarm `name` outputs, so
        Pulumi creates them first."""
        from lift.deploy.slo import stage_resources

        d = self.d
        actions = [self.arns[d.alarm_topic_id]] if d.alarm_topic_id else None
        resources = stage_resources(d, actions)
        names: dict[str, Any] = {}  # alarm name -> the alarm's name output
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                props = resource["Properties"]
                alarm = self.add(aws.cloudwatch.MetricAlarm, logical_id, tags=self.tags, **_metric_alarm(props))
                names[props["AlarmName"]] = alarm.name
        for logical_id, resource in resources.items():
            props = resource["Properties"]
            if resource["Type"] == "AWS::CloudWatch::CompositeAlarm":
                parts: list[Any] = []
                for piece in re.split(r"(ALARM\([^)]*\))", props["AlarmRule"]):
                    name = piece[len("ALARM(") : -1] if piece.startswith("ALARM(") else None
                    parts += ["ALARM(", names[name], ")"] if name in names else [piece]
                self.add(
                    aws.cloudwatch.CompositeAlarm,
                    logical_id,
                    alarm_name=props["AlarmName"],
                    alarm_description=props.get("AlarmDescription"),
                    alarm_rule=pulumi.Output.concat(*parts),
                    alarm_actions=props.get("AlarmActions"),
                    tags=self.tags,
                )
            elif resource["Type"] == "AWS::CloudWatch::Dashboard":
                self.add(
                    aws.cloudwatch.Dashboard,
                    logical_id,
                    dashboard_name=props["DashboardName"],
                    dashboard_body=props["DashboardBody"],
                )

    def domain(self, front: HttpFront) -> None:
        """The custom domain (regional, TLS 1.2) mapped to the API; point DNS at `domain_target`."""
        if front.kind == "http":
            domain = self.add(
                aws.apigatewayv2.DomainName,
                f"{front.id}Domain",
                domain_name=front.domain,
                domain_name_configuration={
                    "certificate_arn": front.certificate_arn,
                    "endpoint_type": "REGIONAL",
                    "security_policy": "TLS_1_2",
                },
                tags=self.tags,
            )
            self.add(
                aws.apigatewayv2.ApiMapping,
                f"{front.id}Mapping",
                api_id=self.api.id,
                domain_name=domain.id,
                stage=self.stage.id,
            )
            self.domain_target = domain.domain_name_configuration.target_domain_name
        elif front.kind == "rest":
            domain = self.add(
                aws.apigateway.DomainName,
                f"{front.id}Domain",
                domain_name=front.domain,
                regional_certificate_arn=front.certificate_arn,
                endpoint_configuration={"types": "REGIONAL"},
                security_policy="TLS_1_2",
                tags=self.tags,
            )
            self.add(
                aws.apigateway.BasePathMapping,
                f"{front.id}Mapping",
                rest_api=self.api.id,
                domain_name=domain.domain_name,
                stage_name=self.stage.stage_name,
            )
            self.domain_target = domain.regional_domain_name
        else:
            return
        self.domain_url = f"https://{front.domain}/"


def _metric_alarm(props: dict[str, Any]) -> dict[str, Any]:
    """`aws.cloudwatch.MetricAlarm` arguments from CloudWatch's PutMetricAlarm fields (one metric,
    or metric math as `metric_queries`)."""
    args: dict[str, Any] = {
        "name": props["AlarmName"],
        "alarm_description": props.get("AlarmDescription"),
        "namespace": props.get("Namespace"),
        "metric_name": props.get("MetricName"),
        "dimensions": {x["Name"]: x["Value"] for x in props["Dimensions"]} if "Dimensions" in props else None,
        "statistic": props.get("Statistic"),
        "extended_statistic": props.get("ExtendedStatistic"),
        "period": props.get("Period"),
        "evaluation_periods": props["EvaluationPeriods"],
        "datapoints_to_alarm": props.get("DatapointsToAlarm"),
        "threshold": props["Threshold"],
        "comparison_operator": props["ComparisonOperator"],
        "treat_missing_data": props.get("TreatMissingData"),
        "alarm_actions": props.get("AlarmActions"),
    }
    if "Metrics" in props:
        queries = []
        for m in props["Metrics"]:
            query: dict[str, Any] = {"id": m["Id"], "return_data": m.get("ReturnData", True)}
            if "Expression" in m:
                query["expression"] = m["Expression"]
            if "Label" in m:
                query["label"] = m["Label"]
            if "MetricStat" in m:
                stat = m["MetricStat"]
                query["metric"] = {
                    "namespace": stat["Metric"]["Namespace"],
                    "metric_name": stat["Metric"]["MetricName"],
                    "dimensions": {x["Name"]: x["Value"] for x in stat["Metric"].get("Dimensions", ())},
                    "period": stat["Period"],
                    "stat": stat["Stat"],
                }
            queries.append(query)
        args["metric_queries"] = queries
    return args
