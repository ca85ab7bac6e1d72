"""Terraform from the deployment model: a module directory in Terraform JSON (`*.tf.json`) using the
`hashicorp/aws` provider, describing the same infrastructure as the CloudFormation renderer.

    lift synth prod --format terraform -o infra/orders     # main.tf.json, variables.tf.json, outputs.tf.json

    module "orders" {
      source        = "./infra/orders"
      artifact_path = "dist/orders.zip"                      # lift package
    }

Stage settings are variables with the stage's values as defaults (`memory_size`, `timeout`,
`log_retention_days`, `environment`), URLs and ARNs are outputs, and the function's zip is the
`artifact_path` input. Model placeholders become provider data sources (`{region}` ->
`data.aws_region.current.name`, ...) and `{ref:ID}` the referenced resource's id. Like the other
renderers this reads only the model.
"""

from __future__ import annotations

import json
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

__all__ = ["render", "to_files"]

_PSEUDO = {
    "partition": "${data.aws_partition.current.partition}",
    "region": "${data.aws_region.current.name}",
    "account": "${data.aws_caller_identity.current.account_id}",
    "url_suffix": "${data.aws_partition.current.dns_suffix}",
}


CODEDEPLOY_ONLY_IN_CLOUDFORMATION = (
    'release engine = "codedeploy" is template-native in CloudFormation and SAM (lift synth --format '
    'cloudformation|sam): {tool} has no CodeDeploy-driven alias update. Use engine = "lift" (lift release).'
)


def _snake(model_id: str) -> str:
    """`MappingShopOrders` -> `mapping_shop_orders` (Terraform resource names)."""
    out = []
    for i, c in enumerate(model_id):
        if (
            c.isupper()
            and i
            and (not model_id[i - 1].isupper() or (i + 1 < len(model_id) and model_id[i + 1].islower()))
        ):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class _Module:
    def __init__(self, deployment: Deployment) -> None:
        self.d = deployment
        self.resources: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.refs: dict[str, str] = {}  # model id -> the expression of its physical id
        self.source_kinds = {q.id: "aws_sqs_queue" for q in deployment.queues}  # model id -> resource type
        self.source_kinds.update({s.id: "aws_kinesis_stream" for s in deployment.streams})
        self.source_kinds.update({t.id: "aws_dynamodb_table" for t in deployment.tables})
        self.source_kinds.update({t.id: "aws_sns_topic" for t in deployment.topics})
        fn = deployment.function
        self.fn = f"aws_lambda_function.{_snake(fn.id)}"
        self.fn_arn = f"${{{self.fn}.arn}}"
        self.fn_invoke_arn = f"${{{self.fn}.invoke_arn}}"
        self.fn_name = f"${{{self.fn}.function_name}}"
        if deployment.traffic_alias:  # triggers invoke the alias (release strategy, or SnapStart's versions)
            alias = f"aws_lambda_alias.{_snake(fn.id)}_alias"
            self.target_arn, self.target_invoke_arn = f"${{{alias}.arn}}", f"${{{alias}.invoke_arn}}"
            self.target_name, self.qualifier = self.fn_name, f"${{{alias}.name}}"
        else:
            self.target_arn, self.target_invoke_arn, self.target_name, self.qualifier = (
                self.fn_arn,
                self.fn_invoke_arn,
                self.fn_name,
                None,
            )

    def add(self, kind: str, name: str, body: dict[str, Any], model_id: str | None = None, ref: str = "id") -> str:
        bucket = self.resources.setdefault(kind, {})
        if name in bucket:
            raise ValueError(f"duplicate Terraform resource {kind}.{name}")
        bucket[name] = {k: v for k, v in body.items() if v is not None}  # null is "unset": leave it out
        if model_id is not None:
            self.refs[model_id] = f"{kind}.{name}.{ref}"
        return f"{kind}.{name}"

    def value(self, value: Value) -> str:
        """A model value as a Terraform string: its text literal (a model value is never Terraform
        syntax: `${` and `%{` in an environment variable would be read as interpolations), its
        placeholders as references."""
        if not isinstance(value, Expr):
            return _literal(value)
        out = []
        for part in value.parts():
            if isinstance(part, str):
                out.append(_literal(part))
            elif part[0] == "pseudo":
                out.append(_PSEUDO[part[1]])
            else:
                out.append("${" + self.refs[part[1]] + "}")
        return "".join(out)

    def permission(
        self, name: str, principal: str, source_arn: str | None, action: str = "lambda:InvokeFunction", **extra: Any
    ) -> None:
        body: dict[str, Any] = {"action": action, "function_name": self.target_name, "principal": principal}
        if self.qualifier:
            body["qualifier"] = self.qualifier
        if source_arn is not None:
            body["source_arn"] = source_arn
        body.update(extra)
        self.add("aws_lambda_permission", name, body)

    # -- the module -------------------------------------------------------------------------------
    def build(self) -> dict[str, dict[str, Any]]:
        d = self.d
        if d.release is not None and d.release.engine == "codedeploy":
            raise ValueError(CODEDEPLOY_ONLY_IN_CLOUDFORMATION.format(tool="Terraform"))
        # ids other resources may reference by {ref:ID}
        for q in d.queues:
            self.refs[q.id] = f"aws_sqs_queue.{_snake(q.id)}.url"
        for t in d.topics:
            self.refs[t.id] = f"aws_sns_topic.{_snake(t.id)}.arn"
        if d.websocket is not None:
            self.refs[d.websocket.id] = f"aws_apigatewayv2_api.{_snake(d.websocket.id)}.id"
        if d.http is not None and d.http.kind in ("http", "rest"):
            kind = "aws_apigatewayv2_api" if d.http.kind == "http" else "aws_api_gateway_rest_api"
            self.refs[d.http.id] = f"{kind}.{_snake(d.http.id)}.id"
        for pool in d.user_pools:
            self.refs[pool.id] = f"aws_cognito_user_pool.{_snake(pool.id)}.id"
        if d.cloud_map is not None:
            self.refs[d.cloud_map.id] = f"aws_service_discovery_service.{_snake(d.cloud_map.id)}.id"
        for group in d.log_groups:
            self.add(
                "aws_cloudwatch_log_group",
                _snake(group.id),
                {"name": group.name, "retention_in_days": "${var.log_retention_days}"},
                group.id,
                "name",
            )
        for role in d.roles:
            self.role(role.id, role.service, role.statements)
        for layer in d.layers:
            self.add(
                "aws_lambda_layer_version",
                _snake(layer.id),
                {
                    "layer_name": layer.name,
                    "description": f"dependencies of {d.function.name}, packaged by lift",
                    "filename": "${var.layer_artifact_path}",
                    "source_code_hash": "${filebase64sha256(var.layer_artifact_path)}",
                    "compatible_runtimes": [layer.runtime],
                    "compatible_architectures": [layer.architecture],
                },
                layer.id,
                "arn",
            )
        for fn in d.functions:
            self.function(fn)
        for authorizer in d.authorizers:
            self.authorizer(authorizer)
        if d.release is not None:
            self.release_hooks()
        if d.http is not None:
            self.http(d.http)
        if d.websocket is not None:
            self.websocket()
        for url in d.function_urls:
            self.function_url(url)
        self.messaging()
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
        main = {
            "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": ">= 5.40"}}},
            "data": {
                "aws_partition": {"current": {}},
                "aws_region": {"current": {}},
                "aws_caller_identity": {"current": {}},
            },
            "resource": self.resources,
        }
        if d.cloud_map is not None and not d.cloud_map.namespace_id:  # looked up by its name
            main["data"]["aws_service_discovery_http_namespace"] = {"cloud_map": {"name": d.cloud_map.namespace}}
        fn = d.function
        variables = {
            "variable": {
                "artifact_path": {"type": "string", "description": "The function's zip (lift package)"},
                **(
                    {
                        "layer_artifact_path": {
                            "type": "string",
                            "description": "The dependencies layer's zip (lift package, dependencies_layer = true)",
                        }
                    }
                    if d.layers
                    else {}
                ),
                "memory_size": {"type": "number", "default": fn.memory, "description": "Function memory (MB)"},
                "timeout": {"type": "number", "default": fn.timeout, "description": "Function timeout (seconds)"},
                "log_retention_days": {
                    "type": "number",
                    "default": d.log_groups[0].retention_days if d.log_groups else 30,
                    "description": "CloudWatch Logs retention",
                },
                "environment": {
                    "type": "map(string)",
                    "default": {},
                    "description": "Extra environment variables (merged over the stage's)",
                },
                "tags": {"type": "map(string)", "default": dict(d.tags), "description": "Tags on every resource"},
            }
        }
        outputs = {
            "output": {"function_name": {"value": self.fn_name}, "function_arn": {"value": self.fn_arn}, **self.outputs}
        }
        return {"main.tf.json": main, "variables.tf.json": variables, "outputs.tf.json": outputs}

    def role(self, role_id: str, service: str, statements: tuple[IamStatement, ...]) -> None:
        name = _snake(role_id)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        self.add(
            "aws_iam_role",
            name,
            {"assume_role_policy": json.dumps(trust, sort_keys=True), "tags": "${var.tags}"},
            role_id,
            "arn",
        )
        policy = policy_document(statements, self.value)
        self.add(
            "aws_iam_role_policy",
            f"{name}_policy",
            {
                "name": f"{role_id}Policy",
                "role": f"${{aws_iam_role.{name}.id}}",
                "policy": json.dumps(policy, sort_keys=True),
            },
        )

    def function(self, fn: Function) -> None:
        name = _snake(fn.id)
        primary = fn.id == self.d.function.id  # the stage variables size the app's function only
        if not primary:
            self.outputs[f"{name}_name"] = {"value": f"${{aws_lambda_function.{name}.function_name}}"}
            self.outputs[f"{name}_arn"] = {"value": f"${{aws_lambda_function.{name}.arn}}"}
        environment = {k: self.value(v) for k, v in fn.environment}
        body: dict[str, Any] = {
            "function_name": fn.name,
            "description": fn.description,
            "handler": fn.handler,
            "runtime": fn.runtime,
            "architectures": [fn.architecture],
            "memory_size": "${var.memory_size}" if primary else fn.memory,
            "timeout": "${var.timeout}" if primary else fn.timeout,
            "role": f"${{{self.refs[fn.role_id]}}}",
            "filename": "${var.artifact_path}",
            "source_code_hash": "${filebase64sha256(var.artifact_path)}",
            "logging_config": {"log_format": "Text", "log_group": f"${{{self.refs[fn.log_group_id]}}}"},
            "environment": {
                "variables": "${merge("
                + json.dumps(environment, sort_keys=True, ensure_ascii=False)
                + ", var.environment)}"
            },
            "tracing_config": {"mode": "Active" if fn.tracing else "PassThrough"},
            "tags": "${var.tags}",
            "depends_on": [f"aws_iam_role_policy.{_snake(fn.role_id)}_policy"],
        }
        if fn.reserved_concurrency is not None:
            body["reserved_concurrent_executions"] = fn.reserved_concurrency
        if fn.ephemeral_storage != 512:
            body["ephemeral_storage"] = {"size": fn.ephemeral_storage}
        if fn.subnets:
            body["vpc_config"] = {"subnet_ids": list(fn.subnets), "security_group_ids": list(fn.security_groups)}
            if fn.ipv6:
                body["vpc_config"]["ipv6_allowed_for_dual_stack"] = True
        layers = [f"${{{self.refs[fn.dependencies_layer_id]}}}"] if fn.dependencies_layer_id else []
        if layers or fn.layers:
            body["layers"] = layers + [self.value(layer) for layer in fn.layers]
        if fn.snapstart:
            body["snap_start"] = {"apply_on": "PublishedVersions"}
        aliased = primary and self.d.traffic_alias is not None
        if aliased:
            body["publish"] = True
        self.add("aws_lambda_function", name, body, fn.id, "function_name")
        if aliased:
            alias: dict[str, Any] = {
                "name": self.d.traffic_alias,
                "function_name": self.fn_name,
                "function_version": f"${{{self.fn}.version}}",
            }
            if self.d.release is not None:
                # `lift release` moves the alias from the first version on: Terraform must not move it back
                alias["lifecycle"] = {"ignore_changes": ["function_version", "routing_config", "description"]}
            self.add("aws_lambda_alias", f"{name}_alias", alias)
            self.outputs["alias_arn"] = {"value": self.target_arn}
            if fn.provisioned_concurrency:  # on the alias: a release's shift moves it with its instances
                self.add(
                    "aws_lambda_provisioned_concurrency_config",
                    f"{name}_provisioned",
                    {
                        "function_name": self.fn_name,
                        "qualifier": f"${{aws_lambda_alias.{name}_alias.name}}",
                        "provisioned_concurrent_executions": fn.provisioned_concurrency,
                    },
                )

    def release_hooks(self) -> None:
        """The pre/post-traffic hook functions `lift release` invokes (same package, handler
        lift.release_hooks.handler). CodeDeploy's engine is CloudFormation's (its alias UpdatePolicy)."""
        release = self.d.release
        assert release is not None
        fn = self.d.function
        for hook in release.hooks:
            body: dict[str, Any] = {
                "function_name": hook.name,
                "description": f"{hook.phase}-traffic check {hook.hook} of {fn.name}, deployed by lift",
                "handler": hook.handler,
                "runtime": fn.runtime,
                "architectures": [fn.architecture],
                "memory_size": fn.memory,
                "timeout": hook.timeout,
                "role": f"${{{self.refs[hook.role_id]}}}",
                "filename": "${var.artifact_path}",
                "source_code_hash": "${filebase64sha256(var.artifact_path)}",
                "logging_config": {"log_format": "Text", "log_group": f"${{{self.refs[hook.log_group_id]}}}"},
                "environment": {
                    "variables": "${merge("
                    + json.dumps({k: self.value(v) for k, v in hook.environment}, sort_keys=True, ensure_ascii=False)
                    + ", var.environment)}"
                },
                "tracing_config": {"mode": "Active" if fn.tracing else "PassThrough"},
                "layers": list(fn.layers) or None,
                "tags": "${var.tags}",
                "depends_on": [f"aws_iam_role_policy.{_snake(hook.role_id)}_policy"],
            }
            self.add("aws_lambda_function", _snake(hook.id), body)

    # -- HTTP ---------------------------------------------------------------------------------------
    def http(self, front: HttpFront) -> None:
        api = _snake(front.id)
        if front.kind == "http":
            body: dict[str, Any] = {"name": f"{self.d.stack_name}-http", "protocol_type": "HTTP", "tags": "${var.tags}"}
            if front.cors_origins:
                body["cors_configuration"] = {
                    "allow_origins": list(front.cors_origins),
                    "allow_methods": ["*"],
                    "allow_headers": ["*"],
                }
            self.add("aws_apigatewayv2_api", api, body)
            self.add(
                "aws_apigatewayv2_integration",
                f"{api}_integration",
                {
                    "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                    "integration_type": "AWS_PROXY",
                    "integration_uri": self.target_arn,
                    "payload_format_version": "2.0",
                },
            )
            keys = front.route_keys()
            public = {f"{r.method} {r.path}" for r in front.public_routes}
            names = distinct_names(keys, _route_name)
            for key in keys:
                route: dict[str, Any] = {
                    "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                    "route_key": key,
                    "target": f"integrations/${{aws_apigatewayv2_integration.{api}_integration.id}}",
                }
                if front.authorizer_id and key not in public:
                    route["authorization_type"] = "CUSTOM"
                    route["authorizer_id"] = f"${{aws_apigatewayv2_authorizer.{_snake(front.authorizer_id)}.id}}"
                self.add("aws_apigatewayv2_route", f"{api}_route_{names[key]}", route)
            self.add(
                "aws_apigatewayv2_stage",
                f"{api}_stage",
                {
                    "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                    "name": "$default",
                    "auto_deploy": True,
                },
            )
            self.permission(
                f"{api}_permission", "apigateway.amazonaws.com", f"${{aws_apigatewayv2_api.{api}.execution_arn}}/*"
            )
            self.outputs["api_url"] = {"value": f"${{aws_apigatewayv2_stage.{api}_stage.invoke_url}}"}
        elif front.kind == "rest":
            self.rest(front)
        elif front.kind == "url":
            self.add(
                "aws_lambda_function_url",
                api,
                {
                    "function_name": self.target_name,
                    "authorization_type": "NONE",
                    **({"qualifier": self.qualifier} if self.qualifier else {}),
                },
            )
            self.permission(
                f"{api}_permission", "*", None, action="lambda:InvokeFunctionUrl", function_url_auth_type="NONE"
            )
            self.outputs["api_url"] = {"value": f"${{aws_lambda_function_url.{api}.function_url}}"}
        elif front.kind == "alb":
            # the target group checks the permission when it is attached, so the permission cannot
            # name it: it is limited to this account instead
            self.permission(
                f"{api}_permission", "elasticloadbalancing.amazonaws.com", None, source_account=_PSEUDO["account"]
            )
            self.add("aws_lb_target_group", f"{api}_target_group", {"target_type": "lambda", "tags": "${var.tags}"})
            self.add(
                "aws_lb_target_group_attachment",
                f"{api}_attachment",
                {
                    "target_group_arn": f"${{aws_lb_target_group.{api}_target_group.arn}}",
                    "target_id": self.target_arn,
                    "depends_on": [f"aws_lambda_permission.{api}_permission"],
                },
            )
            self.add(
                "aws_lb_listener_rule",
                f"{api}_rule",
                {
                    "listener_arn": front.alb_listener_arn,
                    "priority": front.alb_priority,
                    "condition": [{"path_pattern": {"values": list(front.alb_path_patterns)}}],
                    "action": [
                        {"type": "forward", "target_group_arn": f"${{aws_lb_target_group.{api}_target_group.arn}}"}
                    ],
                },
            )

    def function_url(self, url: FunctionUrl) -> None:
        """The streaming function's own URL (RESPONSE_STREAM); public only with auth NONE."""
        name = _snake(url.id)
        function = f"${{aws_lambda_function.{_snake(url.function_id)}.function_name}}"
        body: dict[str, Any] = {
            "function_name": function,
            "authorization_type": url.auth_type,
            "invoke_mode": url.invoke_mode,
        }
        if url.cors_origins:
            body["cors"] = {"allow_origins": list(url.cors_origins), "allow_methods": ["*"], "allow_headers": ["*"]}
        self.add("aws_lambda_function_url", name, body)
        if url.auth_type == "NONE":
            self.add(
                "aws_lambda_permission",
                f"{name}_permission",
                {
                    "action": "lambda:InvokeFunctionUrl",
                    "function_name": function,
                    "principal": "*",
                    "function_url_auth_type": "NONE",
                },
            )
        self.outputs[_snake(url.output)] = {"value": f"${{aws_lambda_function_url.{name}.function_url}}"}

    def cloud_map(self, reg: CloudMapRegistration) -> None:
        """The Cloud Map service and this stage's instance, whose `URL` CloudMapDiscovery reads."""
        name = _snake(reg.id)
        self.add(
            "aws_service_discovery_service",
            name,
            {
                "name": reg.service,
                "namespace_id": reg.namespace_id or "${data.aws_service_discovery_http_namespace.cloud_map.id}",
                "type": "HTTP",
                "description": f"{self.d.service}: registered by lift",
                # the function reports its readiness (lift.cloud_map_health); failure_threshold is
                # deprecated (AWS always uses 1), so the block is left empty
                "health_check_custom_config": {} if reg.health else None,
                "tags": "${var.tags}",
            },
        )
        attributes = {k: self.value(v) for k, v in reg.attributes}
        url = {
            "api": self.outputs.get("api_url", {}).get("value"),
            "domain": self.outputs.get("domain_url", {}).get("value"),
            "stream": self.outputs.get("stream_url", {}).get("value"),
        }.get(reg.url_source)
        if url is not None:
            attributes["URL"] = url
        self.add(
            "aws_service_discovery_instance",
            f"{name}_instance",
            {
                "instance_id": reg.instance_id,
                "service_id": f"${{aws_service_discovery_service.{name}.id}}",
                "attributes": attributes,
            },
        )
        self.outputs["cloud_map_service_id"] = {"value": f"${{aws_service_discovery_service.{name}.id}}"}

    def rest(self, front: HttpFront) -> None:
        """A REST API proxying every path to the function (the App routes, answers 404/405)."""
        api = _snake(front.id)
        ref = f"aws_api_gateway_rest_api.{api}"
        self.add(
            "aws_api_gateway_rest_api",
            api,
            {
                "name": f"{self.d.stack_name}-rest",
                "endpoint_configuration": {"types": ["REGIONAL"]},
                "binary_media_types": REST_BINARY_MEDIA_TYPES,
                "tags": "${var.tags}",
                "lifecycle": {"create_before_destroy": True},
            },
        )
        self.add(
            "aws_api_gateway_resource",
            f"{api}_proxy",
            {
                "rest_api_id": f"${{{ref}.id}}",
                "parent_id": f"${{{ref}.root_resource_id}}",
                "path_part": "{proxy+}",
            },
        )
        methods = []
        authorizer = (
            f"${{aws_api_gateway_authorizer.{_snake(front.authorizer_id)}.id}}" if front.authorizer_id else None
        )

        def method(name: str, resource: str, verb: str, authorized: bool) -> None:
            body = {"rest_api_id": f"${{{ref}.id}}", "resource_id": resource, "http_method": verb}
            if authorized:
                body.update(authorization="CUSTOM", authorizer_id=authorizer)
            else:
                body["authorization"] = "NONE"
            self.add("aws_api_gateway_method", name, body)
            self.add(
                "aws_api_gateway_integration",
                name,
                {
                    "rest_api_id": f"${{{ref}.id}}",
                    "resource_id": resource,
                    "http_method": f"${{aws_api_gateway_method.{name}.http_method}}",
                    "type": "AWS_PROXY",
                    "integration_http_method": "POST",
                    "uri": self.target_invoke_arn,
                },
            )
            methods.append(f"aws_api_gateway_integration.{name}")

        guarded = authorizer is not None
        public_root = {r.method for r in front.public_routes if r.path == "/"}
        root = f"${{{ref}.root_resource_id}}"
        method(f"{api}_any_root", root, "ANY", guarded and "ANY" not in public_root)
        for verb in sorted(public_root - {"ANY"}) if guarded else ():
            method(f"{api}_{verb.lower()}_root", root, verb, False)
        method(f"{api}_any_proxy", f"${{aws_api_gateway_resource.{api}_proxy.id}}", "ANY", guarded)
        names = {"": root}
        nodes = rest_resources(front.public_routes) if guarded else []
        paths = distinct_names([node.path for node in nodes], _route_name)
        for node in nodes:
            rid = f"{api}_resource_{paths[node.path]}"
            self.add(
                "aws_api_gateway_resource",
                rid,
                {"rest_api_id": f"${{{ref}.id}}", "parent_id": names[node.parent], "path_part": node.part},
            )
            names[node.path] = resource = f"${{aws_api_gateway_resource.{rid}.id}}"
            if "ANY" not in node.public_methods:
                method(f"{rid}_any", resource, "ANY", True)
            for verb in node.public_methods:
                method(f"{rid}_{verb.lower()}", resource, verb, False)
            if node.proxy_child:
                self.add(
                    "aws_api_gateway_resource",
                    f"{rid}_proxy",
                    {"rest_api_id": f"${{{ref}.id}}", "parent_id": resource, "path_part": "{proxy+}"},
                )
                method(f"{rid}_proxy_any", f"${{aws_api_gateway_resource.{rid}_proxy.id}}", "ANY", True)
        self.add(
            "aws_api_gateway_deployment",
            f"{api}_deployment",
            {"rest_api_id": f"${{{ref}.id}}", "depends_on": methods, "lifecycle": {"create_before_destroy": True}},
        )
        self.add(
            "aws_api_gateway_stage",
            f"{api}_stage",
            {
                "rest_api_id": f"${{{ref}.id}}",
                "deployment_id": f"${{aws_api_gateway_deployment.{api}_deployment.id}}",
                "stage_name": front.stage,
                "xray_tracing_enabled": self.d.function.tracing,
                "tags": "${var.tags}",
            },
        )
        self.permission(f"{api}_permission", "apigateway.amazonaws.com", f"${{{ref}.execution_arn}}/*")
        self.outputs["api_url"] = {"value": f"${{aws_api_gateway_stage.{api}_stage.invoke_url}}/"}

    def websocket(self) -> None:
        ws = self.d.websocket
        assert ws is not None
        api = _snake(ws.id)
        self.add(
            "aws_apigatewayv2_api",
            api,
            {
                "name": ws.name,
                "protocol_type": "WEBSOCKET",
                "route_selection_expression": ws.route_selection_expression,
                "tags": "${var.tags}",
            },
        )
        self.add(
            "aws_apigatewayv2_integration",
            f"{api}_integration",
            {
                "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                "integration_type": "AWS_PROXY",
                "integration_uri": self.target_invoke_arn,
            },
        )
        routes = []
        names = distinct_names(ws.route_keys, _route_name)
        for key in ws.route_keys:
            name = f"{api}_route_{names[key]}"
            routes.append(f"aws_apigatewayv2_route.{name}")
            route: dict[str, Any] = {
                "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                "route_key": key,
                "target": f"integrations/${{aws_apigatewayv2_integration.{api}_integration.id}}",
            }
            if ws.authorizer_id and key == "$connect":
                route["authorization_type"] = "CUSTOM"
                route["authorizer_id"] = f"${{aws_apigatewayv2_authorizer.{_snake(ws.authorizer_id)}.id}}"
            self.add("aws_apigatewayv2_route", name, route)
        self.add(
            "aws_apigatewayv2_deployment",
            f"{api}_deployment",
            {
                "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                "depends_on": routes,
                "lifecycle": {"create_before_destroy": True},
            },
        )
        self.add(
            "aws_apigatewayv2_stage",
            f"{api}_stage",
            {
                "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                "name": ws.stage,
                "deployment_id": f"${{aws_apigatewayv2_deployment.{api}_deployment.id}}",
            },
        )
        self.permission(
            f"{api}_permission", "apigateway.amazonaws.com", f"${{aws_apigatewayv2_api.{api}.execution_arn}}/*"
        )
        self.outputs["websocket_url"] = {"value": f"${{aws_apigatewayv2_stage.{api}_stage.invoke_url}}"}

    # -- messaging and data -------------------------------------------------------------------------
    def messaging(self) -> None:
        for q in self.d.queues:
            body: dict[str, Any] = {
                "name": q.name,
                "visibility_timeout_seconds": q.visibility_timeout,
                "message_retention_seconds": q.retention_seconds,
                "sqs_managed_sse_enabled": True,
                "tags": "${var.tags}",
            }
            if q.fifo:
                body["fifo_queue"] = True
            if q.dlq_id:
                body["redrive_policy"] = (
                    "${jsonencode({deadLetterTargetArn = aws_sqs_queue."
                    + _snake(q.dlq_id)
                    + f".arn, maxReceiveCount = {q.max_receive_count}}})}}"
                )
            self.add("aws_sqs_queue", _snake(q.id), body)
        for t in self.d.topics:
            self.add(
                "aws_sns_topic",
                _snake(t.id),
                {"name": t.name, "kms_master_key_id": t.kms_key, "tags": "${var.tags}"},
            )
        for s in self.d.subscriptions:
            topic = f"${{aws_sns_topic.{_snake(s.topic_id)}.arn}}" if s.topic_id else self.value(s.topic_arn)
            self.add(
                "aws_sns_topic_subscription",
                _snake(s.id),
                {"protocol": "lambda", "topic_arn": topic, "endpoint": self.target_arn},
            )
            self.permission(f"{_snake(s.id)}_permission", "sns.amazonaws.com", topic)

    def data(self) -> None:
        for b in self.d.buckets:
            name = _snake(b.id)
            self.add(
                "aws_s3_bucket", name, {"bucket": b.name, "tags": "${var.tags}", "lifecycle": {"prevent_destroy": True}}
            )
            bucket = f"${{aws_s3_bucket.{name}.id}}"
            self.add(
                "aws_s3_bucket_versioning", name, {"bucket": bucket, "versioning_configuration": {"status": "Enabled"}}
            )
            self.add(
                "aws_s3_bucket_server_side_encryption_configuration",
                name,
                {
                    "bucket": bucket,
                    "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
                },
            )
            self.add(
                "aws_s3_bucket_public_access_block",
                name,
                {
                    "bucket": bucket,
                    "block_public_acls": True,
                    "block_public_policy": True,
                    "ignore_public_acls": True,
                    "restrict_public_buckets": True,
                },
            )
            self.add("aws_s3_bucket_notification", name, {"bucket": bucket, "eventbridge": True})
        for s in self.d.streams:
            self.add(
                "aws_kinesis_stream",
                _snake(s.id),
                {
                    "name": s.name,
                    "stream_mode_details": {"stream_mode": "ON_DEMAND"},
                    "encryption_type": "KMS",
                    "kms_key_id": s.kms_key,
                    "tags": "${var.tags}",
                },
            )
        for t in self.d.tables:
            body: dict[str, Any] = {
                "name": t.name,
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": t.partition_key[0],
                "attribute": [{"name": n, "type": k} for n, k in t.attributes],
                "server_side_encryption": {"enabled": True},
                "point_in_time_recovery": {"enabled": t.pitr},
                "tags": "${var.tags}",
            }
            if t.sort_key:
                body["range_key"] = t.sort_key[0]
            if t.ttl_attribute:
                body["ttl"] = {"attribute_name": t.ttl_attribute, "enabled": True}
            if t.indexes:
                body["global_secondary_index"] = [
                    {
                        "name": i.name,
                        "hash_key": i.partition_key[0],
                        "projection_type": i.projection,
                        **({"range_key": i.sort_key[0]} if i.sort_key else {}),
                    }
                    for i in t.indexes
                ]
            if t.replicas:  # a global table: this region's table plus a replica in each other region
                body["stream_enabled"] = True
                body["stream_view_type"] = t.stream_view_type
                body["replica"] = [
                    {"region_name": r, "point_in_time_recovery": t.pitr} for r in t.replicas if r != self.d.region
                ]
            if t.retain:
                body["lifecycle"] = {"prevent_destroy": True}
            self.add("aws_dynamodb_table", _snake(t.id), body)

    def _arn_of(self, model_id: str) -> str:
        """The ARN of a queue, stream, table or topic the module creates (event sources, destinations)."""
        return f"${{{self.source_kinds[model_id]}.{_snake(model_id)}.arn}}"

    def mapping(self, m: EventSourceMapping) -> None:
        primary = m.function_id == self.d.function.id  # the others (the jobs worker) have no alias
        body: dict[str, Any] = {
            "function_name": self.target_arn if primary else f"${{aws_lambda_function.{_snake(m.function_id)}.arn}}",
            "event_source_arn": self._arn_of(m.source_id) if m.source_id else self.value(m.source_arn),
            "depends_on": [f"aws_iam_role_policy.{_snake(self.d.by_id(m.function_id).role_id)}_policy"],
            **provider_names(m.settings(self.value), {"SourceAccessConfigurations": "source_access_configuration"}),
        }
        if m.kind == "kafka":
            del body["event_source_arn"]
            body["self_managed_event_source"] = {
                "endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ",".join(m.bootstrap_servers)}
            }
        if m.kind in ("kinesis", "dynamodb") and m.on_failure_arn is not None:
            destination = self._arn_of(m.on_failure_id) if m.on_failure_id else self.value(m.on_failure_arn)
            body["destination_config"] = {"on_failure": {"destination_arn": destination}}
        self.add("aws_lambda_event_source_mapping", _snake(m.id), body)

    def authorizer(self, a: Authorizer) -> None:
        if a.kind == "rest":
            self.add(
                "aws_api_gateway_authorizer",
                _snake(a.id),
                {
                    "name": a.name,
                    "rest_api_id": f"${{aws_api_gateway_rest_api.{_snake(a.api_id)}.id}}",
                    "type": a.type,
                    "authorizer_uri": self.target_invoke_arn,
                    "identity_source": ", ".join(a.identity_sources),
                    "authorizer_result_ttl_in_seconds": a.ttl,
                },
            )
            return
        body: dict[str, Any] = {
            "name": a.name,
            "api_id": f"${{aws_apigatewayv2_api.{_snake(a.api_id)}.id}}",
            "authorizer_type": "REQUEST",
            "authorizer_uri": self.target_invoke_arn,
            "identity_sources": list(a.identity_sources),
        }
        if a.kind == "http":
            body["authorizer_payload_format_version"] = a.payload_version
            body["enable_simple_responses"] = a.simple_responses
            body["authorizer_result_ttl_in_seconds"] = a.ttl
        self.add("aws_apigatewayv2_authorizer", _snake(a.id), body)

    def triggers(self) -> None:
        """Permissions, subscription filters, user pools, Object Lambda access points, role
        policies and outputs of the other triggers."""
        d = self.d
        for pool in d.user_pools:
            self.add(
                "aws_cognito_user_pool",
                _snake(pool.id),
                {
                    "name": pool.name,
                    "lambda_config": provider_names(pool.lambda_config(self.target_arn)),
                    "tags": "${var.tags}",
                    "lifecycle": {"prevent_destroy": True},
                },
            )
        for p in d.permissions:
            extra = {"source_account": _PSEUDO["account"]} if p.source_account else {}
            source = self.value(p.source_arn) if p.source_arn is not None else None
            self.permission(_snake(p.id), p.principal, source, **extra)
        for f in d.subscription_filters:
            self.add(
                "aws_cloudwatch_log_subscription_filter",
                _snake(f.id),
                {
                    "name": f.name,
                    "log_group_name": f.log_group,
                    "filter_pattern": f.filter_pattern,
                    "destination_arn": self.target_arn,
                    "depends_on": [f"aws_lambda_permission.{_snake(f.permission_id)}"],
                },
            )
        for o in d.object_lambda_access_points:
            point = _snake(o.access_point_id)
            self.add("aws_s3_access_point", point, {"bucket": o.bucket, "name": o.access_point_name})
            self.add(
                "aws_s3control_object_lambda_access_point",
                _snake(o.id),
                {
                    "name": o.name,
                    "configuration": provider_names(
                        o.configuration(f"${{aws_s3_access_point.{point}.arn}}", self.target_arn),
                        {"TransformationConfigurations": "transformation_configuration"},
                    ),
                },
            )
        for rp in d.role_policies:
            policy = policy_document(rp.statements, self.value)
            self.add(
                "aws_iam_role_policy",
                _snake(rp.id),
                {"name": f"{rp.id}Policy", "role": rp.role_name, "policy": json.dumps(policy, sort_keys=True)},
            )
        for out in d.outputs:
            if out.target:
                value = self.target_arn
            elif out.arn_of:
                value = f"${{aws_iam_role.{_snake(out.arn_of)}.arn}}"
            else:
                value = self.value(out.value) if out.value is not None else ""
            self.outputs[_snake(out.name)] = {"value": value, "description": out.description}

    def rules_and_schedules(self) -> None:
        for r in self.d.rules:
            name = _snake(r.id)
            rule: dict[str, Any] = {
                "name": r.name,
                "description": r.description,
                "event_pattern": json.dumps(r.pattern, sort_keys=True),
                "tags": "${var.tags}",
            }
            if r.named_bus:
                rule["event_bus_name"] = r.named_bus
            self.add("aws_cloudwatch_event_rule", name, rule)
            target: dict[str, Any] = {
                "rule": f"${{aws_cloudwatch_event_rule.{name}.name}}",
                "target_id": "function",
                "arn": self.target_arn,
            }
            if r.named_bus:
                target["event_bus_name"] = r.named_bus
            self.add("aws_cloudwatch_event_target", name, target)
            self.permission(f"{name}_permission", "events.amazonaws.com", f"${{aws_cloudwatch_event_rule.{name}.arn}}")
        for s in self.d.schedules:
            self.add(
                "aws_scheduler_schedule",
                _snake(s.id),
                {
                    "name": s.name,
                    "schedule_expression": s.expression,
                    "schedule_expression_timezone": s.timezone,
                    "flexible_time_window": {"mode": "OFF"},
                    "state": "ENABLED",
                    "target": {
                        "arn": self.target_arn,
                        "role_arn": f"${{{self.refs[s.role_id]}}}",
                        "input": self.value(s.input),
                    },
                },
            )

    def alarms(self) -> None:
        d = self.d
        if d.alarm_topic_id and d.alarms_email:
            self.add(
                "aws_sns_topic_subscription",
                f"{_snake(d.alarm_topic_id)}_email",
                {
                    "protocol": "email",
                    "topic_arn": f"${{aws_sns_topic.{_snake(d.alarm_topic_id)}.arn}}",
                    "endpoint": d.alarms_email,
                },
            )
        for a in d.alarms:
            self.add(
                "aws_cloudwatch_metric_alarm",
                _snake(a.id),
                {
                    "alarm_name": a.name,
                    "alarm_description": a.description,
                    "namespace": a.namespace,
                    "metric_name": a.metric,
                    "dimensions": {n: self.value(v) for n, v in a.dimensions},
                    "statistic": a.statistic,
                    "period": a.period,
                    "evaluation_periods": a.evaluation_periods,
                    "threshold": a.threshold,
                    "comparison_operator": a.comparison,
                    "treat_missing_data": "notBreaching",
                    "alarm_actions": [f"${{aws_sns_topic.{_snake(a.topic_id)}.arn}}"],
                    "tags": "${var.tags}",
                },
            )

    def slo_alarms(self) -> None:
        """The SLOs' burn-rate alarms and dashboard, the same as the CloudFormation output's (the
        resources of `lift.deploy.slo.stage_resources`, CloudWatch API fields mapped to the provider's
        arguments). A composite alarm's rule names its windows' alarms through their `alarm_name`
        attributes, so Terraform creates them first (and deletes them last)."""
        from lift.deploy.slo import stage_resources

        d = self.d
        actions = [f"${{aws_sns_topic.{_snake(d.alarm_topic_id)}.arn}}"] if d.alarm_topic_id else None
        resources = stage_resources(d, actions)
        names: dict[str, str] = {}  # alarm name -> the expression of the alarm's name attribute
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                name = _snake(logical_id)
                self.add("aws_cloudwatch_metric_alarm", name, _metric_alarm(resource["Properties"]))
                names[resource["Properties"]["AlarmName"]] = f"${{aws_cloudwatch_metric_alarm.{name}.alarm_name}}"
        for logical_id, resource in resources.items():
            props = resource["Properties"]
            if resource["Type"] == "AWS::CloudWatch::CompositeAlarm":
                rule = _literal(props["AlarmRule"])
                for alarm_name, expression in names.items():
                    rule = rule.replace(f"ALARM({_literal(alarm_name)})", f"ALARM({expression})")
                self.add(
                    "aws_cloudwatch_composite_alarm",
                    _snake(logical_id),
                    {
                        "alarm_name": props["AlarmName"],
                        "alarm_description": _literal(props.get("AlarmDescription", "")) or None,
                        "alarm_rule": rule,
                        "alarm_actions": props.get("AlarmActions"),
                        "tags": "${var.tags}",
                    },
                )
            elif resource["Type"] == "AWS::CloudWatch::Dashboard":
                self.add(
                    "aws_cloudwatch_dashboard",
                    _snake(logical_id),
                    {"dashboard_name": props["DashboardName"], "dashboard_body": _literal(props["DashboardBody"])},
                )

    def domain(self, front: HttpFront) -> None:
        """The custom domain (regional, TLS 1.2) mapped to the API; point DNS at the domain_target output."""
        api = _snake(front.id)
        if front.kind == "http":
            self.add(
                "aws_apigatewayv2_domain_name",
                f"{api}_domain",
                {
                    "domain_name": front.domain,
                    "domain_name_configuration": {
                        "certificate_arn": front.certificate_arn,
                        "endpoint_type": "REGIONAL",
                        "security_policy": "TLS_1_2",
                    },
                    "tags": "${var.tags}",
                },
            )
            self.add(
                "aws_apigatewayv2_api_mapping",
                f"{api}_mapping",
                {
                    "api_id": f"${{aws_apigatewayv2_api.{api}.id}}",
                    "domain_name": f"${{aws_apigatewayv2_domain_name.{api}_domain.id}}",
                    "stage": f"${{aws_apigatewayv2_stage.{api}_stage.id}}",
                },
            )
            target = f"${{aws_apigatewayv2_domain_name.{api}_domain.domain_name_configuration[0].target_domain_name}}"
        elif front.kind == "rest":
            self.add(
                "aws_api_gateway_domain_name",
                f"{api}_domain",
                {
                    "domain_name": front.domain,
                    "regional_certificate_arn": front.certificate_arn,
                    "endpoint_configuration": {"types": ["REGIONAL"]},
                    "security_policy": "TLS_1_2",
                    "tags": "${var.tags}",
                },
            )
            self.add(
                "aws_api_gateway_base_path_mapping",
                f"{api}_mapping",
                {
                    "api_id": f"${{aws_api_gateway_rest_api.{api}.id}}",
                    "domain_name": f"${{aws_api_gateway_domain_name.{api}_domain.domain_name}}",
                    "stage_name": f"${{aws_api_gateway_stage.{api}_stage.stage_name}}",
                },
            )
            target = f"${{aws_api_gateway_domain_name.{api}_domain.regional_domain_name}}"
        else:
            return
        self.outputs["domain_url"] = {"value": f"https://{front.domain}/"}
        self.outputs["domain_target"] = {"value": target}


def _literal(text: str) -> str:
    """`text` as a Terraform string literal (template sequences `${` and `%{` escaped)."""
    return text.replace("${", "$${").replace("%{", "%%{")


def _metric_alarm(props: dict[str, Any]) -> dict[str, Any]:
    """An `aws_cloudwatch_metric_alarm` from CloudWatch's PutMetricAlarm fields (one metric, or
    metric math as `metric_query` blocks)."""
    body: dict[str, Any] = {
        "alarm_name": props["AlarmName"],
        "alarm_description": _literal(props["AlarmDescription"]) if "AlarmDescription" in props else None,
        "namespace": props.get("Namespace"),
        "metric_name": props.get("MetricName"),
        "dimensions": {x["Name"]: _literal(x["Value"]) for x in props["Dimensions"]} if "Dimensions" in props else None,
        "statistic": props.get("Statistic"),
        "extended_statistic": props.get("ExtendedStatistic"),
        "period": props.get("Period"),
        "evaluation_periods": props["EvaluationPeriods"],
        "datapoints_to_alarm": props.get("DatapointsToAlarm"),
        "threshold": props["Threshold"],
        "comparison_operator": props["ComparisonOperator"],
        "treat_missing_data": props.get("TreatMissingData"),
        "alarm_actions": props.get("AlarmActions"),
        "tags": "${var.tags}",
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
                    "dimensions": {x["Name"]: _literal(x["Value"]) for x in stat["Metric"].get("Dimensions", ())},
                    "period": stat["Period"],
                    "stat": stat["Stat"],
                }
            queries.append(query)
        body["metric_query"] = queries
    return {k: v for k, v in body.items() if v is not None}


def _route_name(key: str) -> str:
    import re

    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", key.replace("+", " greedy")) if w]
    return "_".join(words) or "root"


def render(deployment: Deployment) -> dict[str, dict[str, Any]]:
    """The module's files (name -> JSON document) for `deployment`."""
    return _Module(deployment).build()


def to_files(module: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each file's text: sorted keys and a final newline, so the same app gives the same bytes."""
    return {name: json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in module.items()}
