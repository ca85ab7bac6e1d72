"""CloudFormation and SAM templates from the deployment model (reads only `lift.deploy.model`).

`render(deployment, format="cloudformation"|"sam")` returns the template as a dict whose key
order is fixed by the model, so `to_json`/`to_yaml` give byte-identical text for the same App
and config. The code location is two template parameters (`CodeS3Bucket`, `CodeS3Key`): the
template does not change when only the code does, and `lift deploy` passes the uploaded
artifact's content-addressed key.
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
    ModelError,
    ReleaseHookFunction,
    TrafficShift,
    Value,
    WebSocketApi,
    distinct_names,
    policy_document,
    rest_resources,
)

__all__ = ["render", "to_json", "to_yaml", "summary", "check_quotas"]

FORMATS = ("cloudformation", "sam")
_PSEUDO = {
    "partition": "AWS::Partition",
    "region": "AWS::Region",
    "account": "AWS::AccountId",
    "url_suffix": "AWS::URLSuffix",
}


def sub(value: Value) -> Any:
    """A model value in CloudFormation: plain text, or `Fn::Sub` for an Expr with placeholders."""
    if not isinstance(value, Expr):
        return value
    parts = value.parts()
    if all(isinstance(p, str) for p in parts):
        return value.template
    # literal text stays literal: `${aws:username}` (an IAM policy variable) is `${!aws:username}` in
    # Fn::Sub, else CloudFormation reads it as a reference to a resource of that name and refuses the stack
    text = "".join(
        p.replace("${", "${!") if isinstance(p, str) else "${" + (_PSEUDO[p[1]] if p[0] == "pseudo" else p[1]) + "}"
        for p in parts
    )
    return {"Fn::Sub": text}


def _provisioned(fn: Function) -> dict[str, int]:
    """Provisioned concurrency on the alias the triggers invoke: a release's shift moves the alias,
    and the instances with it (weighted across both versions during a canary)."""
    return {"ProvisionedConcurrentExecutions": int(fn.provisioned_concurrency or 0)}


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _policy(statements: tuple[IamStatement, ...]) -> dict[str, Any]:
    return policy_document(statements, sub, single_as_scalar=True)


class _Template:
    def __init__(self, deployment: Deployment, fmt: str) -> None:
        self.d = deployment
        self.fmt = fmt
        self.resources: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        fn = deployment.function
        # With a release strategy or SnapStart, every trigger invokes the alias (`traffic_alias`):
        # the one traffic moves on, and the only one with SnapStart snapshots. SAM publishes the
        # version and alias itself when the template moves the alias (AutoPublishAlias; logical id
        # <function>Alias<name>; for SnapStart alone the name is the stage without punctuation);
        # elsewhere the template has its own Version and Alias (<function>Version, <function>Alias).
        self.release = deployment.release
        alias = deployment.traffic_alias
        self.aliased = alias is not None
        self.sam_publishes = (
            fmt == "sam" and self.aliased and (self.release is None or self.release.engine == "codedeploy")
        )
        if self.release is None and fmt == "sam":
            alias = "".join(c for c in deployment.stage if c.isalnum())
        self.alias = alias or deployment.stage
        if not self.aliased:
            self.target_id = fn.id
        elif self.sam_publishes:
            self.target_id = f"{fn.id}Alias{''.join(c for c in self.alias if c.isalnum())}"
        else:
            self.target_id = f"{fn.id}Alias"
        # SAM names the CodeDeploy application and group it generates; the model's ids map to them
        self.renames: dict[str, str] = {}
        if self.release is not None and self.release.engine == "codedeploy" and fmt == "sam":
            self.renames = {
                str(self.release.application_id): "ServerlessDeploymentApplication",
                str(self.release.group_id): f"{fn.id}DeploymentGroup",
            }

    def add(self, logical_id: str, kind: str, properties: dict[str, Any], **attributes: Any) -> None:
        if logical_id in self.resources:
            raise ValueError(f"duplicate logical id {logical_id}")
        self.resources[logical_id] = {"Type": kind, **attributes, "Properties": properties}

    def target_arn(self) -> Any:
        """What triggers invoke: the alias's ARN (Ref of an alias) or the function's."""
        return _ref(self.target_id) if self.aliased else _arn(self.d.function.id)

    def target_sub(self) -> str:
        """The same inside an `Fn::Sub` string."""
        return "${" + self.target_id + "}" if self.aliased else "${" + self.d.function.id + ".Arn}"

    def permission(self, logical_id: str, principal: str, source_arn: Any, **extra: Any) -> None:
        props = {"Action": "lambda:InvokeFunction", "FunctionName": self.target_arn(), "Principal": principal}
        props.update(extra)
        if source_arn is not None:
            props["SourceArn"] = source_arn
        self.add(logical_id, "AWS::Lambda::Permission", props)

    # -- the whole template --------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        d = self.d
        for role in d.roles:
            self.role(role.id, role.service, role.statements)
        for group in d.log_groups:
            self.add(
                group.id,
                "AWS::Logs::LogGroup",
                {"LogGroupName": group.name, "RetentionInDays": group.retention_days},
                DeletionPolicy="Delete",
                UpdateReplacePolicy="Delete",
            )
        for layer in d.layers:
            self.add(
                layer.id,
                "AWS::Lambda::LayerVersion",
                {
                    "LayerName": layer.name,
                    "Description": f"dependencies of {d.function.name}, packaged by lift",
                    "Content": {"S3Bucket": _ref("CodeS3Bucket"), "S3Key": _ref("LayerS3Key")},
                    "CompatibleRuntimes": [layer.runtime],
                    "CompatibleArchitectures": [layer.architecture],
                },
            )
        for fn in d.functions:
            self.function(fn)
        for authorizer in d.authorizers:
            self.authorizer(authorizer)
        if d.release is not None:
            self.release_resources(d.release)
        if d.http is not None:
            self.http(d.http)
        if d.websocket is not None:
            self.websocket(d.websocket)
        for url in d.function_urls:
            self.function_url(url)
        self.queues()
        self.topics()
        self.buckets()
        self.streams()
        self.tables()
        for mapping in d.event_source_mappings:
            self.mapping(mapping)
        self.rules()
        self.schedules()
        self.triggers()
        self.alarms()
        if d.slos:
            self.slo_alarms()
        if d.http is not None and d.http.domain:
            self.domain(d.http)
        if d.cloud_map is not None:
            self.cloud_map(d.cloud_map)
        template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
        if self.fmt == "sam":
            template["Transform"] = "AWS::Serverless-2016-10-31"
        template["Description"] = f"{d.service} ({d.stage}): generated by lift from the app's registrations"
        template["Metadata"] = {"Lift": {"service": d.service, "stage": d.stage}}
        template["Parameters"] = {
            "CodeS3Bucket": {"Type": "String", "Description": "S3 bucket of the function's zip (lift package)"},
            "CodeS3Key": {"Type": "String", "Description": "S3 key of the function's zip"},
        }
        if d.layers:
            template["Parameters"]["LayerS3Key"] = {
                "Type": "String",
                "Description": "S3 key of the dependencies layer's zip",
            }
        if d.cloud_map is not None and not d.cloud_map.namespace_id:
            template["Parameters"]["CloudMapNamespaceId"] = {
                "Type": "String",
                "Description": f"id of the Cloud Map namespace {d.cloud_map.namespace} (lift deploy looks it up)",
            }
        template["Resources"] = self.resources
        template["Outputs"] = self.outputs
        return template

    def role(self, logical_id: str, service: str, statements: tuple[IamStatement, ...]) -> None:
        self.add(
            logical_id,
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
                },
                "Policies": [
                    {"PolicyName": f"{logical_id}Policy", "PolicyDocument": _renamed(_policy(statements), self.renames)}
                ],
            },
        )

    def function(self, fn: Function) -> None:
        props: dict[str, Any] = {
            "FunctionName": fn.name,
            "Description": fn.description,
            "Handler": fn.handler,
            "Runtime": fn.runtime,
            "Architectures": [fn.architecture],
            "MemorySize": fn.memory,
            "Timeout": fn.timeout,
            "Role": _arn(fn.role_id),
            "LoggingConfig": {"LogGroup": _ref(fn.log_group_id), "LogFormat": "Text"},
            "Environment": {"Variables": {k: sub(v) for k, v in fn.environment}},
            "TracingConfig": {"Mode": "Active" if fn.tracing else "PassThrough"},
        }
        if fn.reserved_concurrency is not None:
            props["ReservedConcurrentExecutions"] = fn.reserved_concurrency
        if fn.ephemeral_storage != 512:
            props["EphemeralStorage"] = {"Size": fn.ephemeral_storage}
        if fn.subnets:
            props["VpcConfig"] = {"SubnetIds": list(fn.subnets), "SecurityGroupIds": list(fn.security_groups)}
            if fn.ipv6:
                props["VpcConfig"]["Ipv6AllowedForDualStack"] = True
        layers: list[Any] = [sub(layer) for layer in fn.layers]
        if fn.dependencies_layer_id:
            layers.insert(0, _ref(fn.dependencies_layer_id))
        if layers:
            props["Layers"] = layers
        if fn.snapstart:
            props["SnapStart"] = {"ApplyOn": "PublishedVersions"}
        configuration = _digest(props)  # what a new version is published for, besides the code
        if self.fmt == "sam":
            props["CodeUri"] = {"Bucket": _ref("CodeS3Bucket"), "Key": _ref("CodeS3Key")}
            props["Tracing"] = props.pop("TracingConfig")["Mode"]
            props["Tags"] = dict(self.d.tags)
            attributes: dict[str, Any] = {}
            if self.sam_publishes and fn.id == self.d.function.id:
                props["AutoPublishAlias"] = self.alias
                if fn.provisioned_concurrency:  # on the alias SAM publishes
                    props["ProvisionedConcurrencyConfig"] = _provisioned(fn)
                if self.release is not None:
                    props["DeploymentPreference"] = self.deployment_preference(self.release)
            elif fn.snapstart:
                # SnapStart's versions are this template's own Version resource (lift release moves the
                # alias): cfn-lint's W2530 expects AutoPublishAlias, which would move it on every deploy
                attributes["Metadata"] = {"cfn-lint": {"config": {"ignore_checks": ["W2530"]}}}
            self.add(fn.id, "AWS::Serverless::Function", props, **attributes)
        else:
            props["Code"] = {"S3Bucket": _ref("CodeS3Bucket"), "S3Key": _ref("CodeS3Key")}
            props["Tags"] = [{"Key": k, "Value": v} for k, v in self.d.tags]
            self.add(fn.id, "AWS::Lambda::Function", props)
        main = fn.id == self.d.function.id
        if main and self.aliased and not self.sam_publishes:
            self.version_and_alias(fn, configuration)
        prefix = "" if main else fn.id  # JobsFunctionName, ... for the others
        self.outputs[f"{prefix or 'Function'}Name"] = {"Value": _ref(fn.id)}
        self.outputs[f"{prefix or 'Function'}Arn"] = {"Value": _arn(fn.id)}
        if main and self.aliased:
            self.outputs["AliasArn"] = {"Value": _ref(self.target_id)}

    def version_and_alias(self, fn: Function, configuration: str) -> None:
        """The Version and the Alias triggers invoke. A Version's properties all force replacement:
        when the template moves the alias (SnapStart, CodeDeploy) its description carries the code
        key and a digest of the configuration, so each change publishes a new version; replaced
        versions are retained (the old one serves during a shift and is the rollback target).
        With `lift release` the description never changes: the template publishes the first
        version and `lift release` moves the alias from then on, CloudFormation leaves it alone."""
        lift_moves_it = self.release is not None and self.release.engine == "lift"
        layer = " ${LayerS3Key}" if fn.dependencies_layer_id else ""
        description: Any = (
            "first version: lift release moves the alias"
            if lift_moves_it
            else {"Fn::Sub": f"code ${{CodeS3Key}}{layer} configuration {configuration}"}
        )
        self.add(
            f"{fn.id}Version",
            "AWS::Lambda::Version",
            {"FunctionName": _ref(fn.id), "Description": description},
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
        attributes: dict[str, Any] = {}
        release = self.release
        if release is not None and release.engine == "codedeploy":
            update: dict[str, Any] = {
                "ApplicationName": _ref(str(release.application_id)),
                "DeploymentGroupName": _ref(str(release.group_id)),
            }
            for phase, key in (("pre", "BeforeAllowTrafficHook"), ("post", "AfterAllowTrafficHook")):
                hook = release.hook(phase)
                if hook is not None:
                    update[key] = _ref(hook.id)
            attributes["UpdatePolicy"] = {"CodeDeployLambdaAliasUpdate": update}
        self.add(
            f"{fn.id}Alias",
            "AWS::Lambda::Alias",
            {
                "FunctionName": _ref(fn.id),
                "FunctionVersion": {"Fn::GetAtt": [f"{fn.id}Version", "Version"]},
                "Name": self.alias,
            }
            | ({"ProvisionedConcurrencyConfig": _provisioned(fn)} if fn.provisioned_concurrency else {}),
            **attributes,
        )

    # -- releases ------------------------------------------------------------------------------------
    def deployment_preference(self, release: TrafficShift) -> dict[str, Any]:
        """SAM's DeploymentPreference: CodeDeploy shifts the AutoPublishAlias, gated and hooked."""
        preference: dict[str, Any] = {
            "Type": release.sam_type if release.deployment_config else _ref(str(release.custom_config_id)),
            "Role": _arn(str(release.service_role_id)),
        }
        if release.alarms:
            preference["Alarms"] = list(release.alarms)
        hooks = {
            key: _ref(hook.id)
            for key, hook in (("PreTraffic", release.hook("pre")), ("PostTraffic", release.hook("post")))
            if hook is not None
        }
        if hooks:
            preference["Hooks"] = hooks
        return preference

    def release_resources(self, release: TrafficShift) -> None:
        """The hook functions; with CodeDeploy, its custom configuration and (plain CloudFormation)
        its application and deployment group (SAM generates those from DeploymentPreference)."""
        for hook in release.hooks:
            self.hook_function(hook, release)
        if release.engine != "codedeploy":
            return
        if release.custom_config_id:
            kind = str(release.custom_type)
            step = (
                {"CanaryPercentage": release.percent, "CanaryInterval": release.minutes}
                if kind == "TimeBasedCanary"
                else {"LinearPercentage": release.percent, "LinearInterval": release.minutes}
            )
            self.add(
                release.custom_config_id,
                "AWS::CodeDeploy::DeploymentConfig",
                {"ComputePlatform": "Lambda", "TrafficRoutingConfig": {"Type": kind, kind: step}},
            )
        if self.fmt == "sam":
            return
        self.add(str(release.application_id), "AWS::CodeDeploy::Application", {"ComputePlatform": "Lambda"})
        group: dict[str, Any] = {
            "ApplicationName": _ref(str(release.application_id)),
            "ServiceRoleArn": _arn(str(release.service_role_id)),
            "DeploymentConfigName": release.deployment_config or _ref(str(release.custom_config_id)),
            "DeploymentStyle": {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
            "AutoRollbackConfiguration": {
                "Enabled": True,
                "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"],
            },
        }
        if release.alarms:
            group["AlarmConfiguration"] = {"Enabled": True, "Alarms": [{"Name": a} for a in release.alarms]}
        self.add(str(release.group_id), "AWS::CodeDeploy::DeploymentGroup", group)
        self.outputs["ReleaseApplication"] = {"Value": _ref(str(release.application_id))}
        self.outputs["ReleaseDeploymentGroup"] = {"Value": _ref(str(release.group_id))}

    def hook_function(self, hook: ReleaseHookFunction, release: TrafficShift) -> None:
        """A hook: the app's package, handler lift.release_hooks.handler; under CodeDeploy it is told
        the version being deployed (the one the alias is moving to)."""
        fn = self.d.function
        variables: dict[str, Any] = {k: sub(v) for k, v in hook.environment}
        if release.engine == "codedeploy":
            variables["LIFT_RELEASE_VERSION"] = (
                _ref(f"{fn.id}.Version") if self.fmt == "sam" else _ref(f"{fn.id}Version")
            )
        props: dict[str, Any] = {
            "FunctionName": hook.name,
            "Description": f"{hook.phase}-traffic check {hook.hook} of {fn.name}, deployed by lift",
            "Handler": hook.handler,
            "Runtime": fn.runtime,
            "Architectures": [fn.architecture],
            "MemorySize": fn.memory,
            "Timeout": hook.timeout,
            "Role": _arn(hook.role_id),
            "LoggingConfig": {"LogGroup": _ref(hook.log_group_id), "LogFormat": "Text"},
            "Environment": {"Variables": dict(sorted(variables.items()))},
            "TracingConfig": {"Mode": "Active" if fn.tracing else "PassThrough"},
            "Code": {"S3Bucket": _ref("CodeS3Bucket"), "S3Key": _ref("CodeS3Key")},
            "Tags": [{"Key": k, "Value": v} for k, v in self.d.tags],
        }
        layers: list[Any] = list(fn.layers)
        if fn.dependencies_layer_id:
            layers.insert(0, _ref(fn.dependencies_layer_id))
        if layers:
            props["Layers"] = layers
        self.add(hook.id, "AWS::Lambda::Function", props)

    # -- HTTP --------------------------------------------------------------------------------------
    def http(self, front: HttpFront) -> None:
        api = front.id
        if front.kind == "http":
            props: dict[str, Any] = {"Name": f"{self.d.stack_name}-http", "ProtocolType": "HTTP"}
            if front.cors_origins:
                props["CorsConfiguration"] = {
                    "AllowOrigins": list(front.cors_origins),
                    "AllowMethods": ["*"],
                    "AllowHeaders": ["*"],
                }
            self.add(api, "AWS::ApiGatewayV2::Api", props)
            self.add(
                f"{api}Integration",
                "AWS::ApiGatewayV2::Integration",
                {
                    "ApiId": _ref(api),
                    "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": self.target_arn(),
                    "PayloadFormatVersion": "2.0",
                },
            )
            target = {"Fn::Sub": f"integrations/${{{api}Integration}}"}
            route_ids = []
            keys = front.route_keys()
            public = {f"{r.method} {r.path}" for r in front.public_routes}
            names = distinct_names(keys, _route_id)
            for key in keys:
                route_id = f"{api}Route{names[key]}"
                route_ids.append(route_id)
                route: dict[str, Any] = {"ApiId": _ref(api), "RouteKey": key, "Target": target}
                if front.authorizer_id and key not in public:
                    route.update(AuthorizationType="CUSTOM", AuthorizerId=_ref(front.authorizer_id))
                self.add(route_id, "AWS::ApiGatewayV2::Route", route)
            self.add(
                f"{api}Stage",
                "AWS::ApiGatewayV2::Stage",
                {"ApiId": _ref(api), "StageName": "$default", "AutoDeploy": True},
                DependsOn=route_ids,
            )
            self.permission(
                f"{api}Permission",
                "apigateway.amazonaws.com",
                {"Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*"},
            )
            self.outputs["ApiUrl"] = {
                "Value": {"Fn::Sub": f"https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"}
            }
        elif front.kind == "rest":
            self.rest(front)
        elif front.kind == "url":
            self.add(api, "AWS::Lambda::Url", {"TargetFunctionArn": self.target_arn(), "AuthType": "NONE"})
            self.add(
                f"{api}Permission",
                "AWS::Lambda::Permission",
                {
                    "Action": "lambda:InvokeFunctionUrl",
                    "FunctionName": self.target_arn(),
                    "Principal": "*",
                    "FunctionUrlAuthType": "NONE",
                },
            )
            self.outputs["ApiUrl"] = {"Value": {"Fn::GetAtt": [api, "FunctionUrl"]}}
        elif front.kind == "alb":
            self.permission(
                f"{api}Permission",
                "elasticloadbalancing.amazonaws.com",
                None,
                SourceAccount={"Ref": "AWS::AccountId"},
            )
            self.add(
                f"{api}TargetGroup",
                "AWS::ElasticLoadBalancingV2::TargetGroup",
                {"TargetType": "lambda", "Targets": [{"Id": self.target_arn()}]},
                DependsOn=[f"{api}Permission"],
            )
            self.add(
                f"{api}Rule",
                "AWS::ElasticLoadBalancingV2::ListenerRule",
                {
                    "ListenerArn": front.alb_listener_arn,
                    "Priority": front.alb_priority,
                    "Conditions": [
                        {"Field": "path-pattern", "PathPatternConfig": {"Values": list(front.alb_path_patterns)}}
                    ],
                    "Actions": [{"Type": "forward", "TargetGroupArn": _ref(f"{api}TargetGroup")}],
                },
            )

    def function_url(self, url: FunctionUrl) -> None:
        """The streaming function's own URL (RESPONSE_STREAM); public only with auth NONE."""
        props: dict[str, Any] = {
            "TargetFunctionArn": _arn(url.function_id),
            "AuthType": url.auth_type,
            "InvokeMode": url.invoke_mode,
        }
        if url.cors_origins:
            props["Cors"] = {"AllowOrigins": list(url.cors_origins), "AllowMethods": ["*"], "AllowHeaders": ["*"]}
        self.add(url.id, "AWS::Lambda::Url", props)
        if url.auth_type == "NONE":
            self.add(
                f"{url.id}Permission",
                "AWS::Lambda::Permission",
                {
                    "Action": "lambda:InvokeFunctionUrl",
                    "FunctionName": _arn(url.function_id),
                    "Principal": "*",
                    "FunctionUrlAuthType": "NONE",
                },
            )
        self.outputs[url.output] = {"Value": {"Fn::GetAtt": [url.id, "FunctionUrl"]}}

    def cloud_map(self, reg: CloudMapRegistration) -> None:
        """The Cloud Map service and this stage's instance, whose `URL` CloudMapDiscovery reads."""
        service = {
            "Name": reg.service,
            "NamespaceId": reg.namespace_id or _ref("CloudMapNamespaceId"),
            "Type": "HTTP",
            "Description": f"{self.d.service}: registered by lift",
        }
        if reg.health:  # the function reports its readiness (lift.cloud_map_health); 1: the only value AWS keeps
            service["HealthCheckCustomConfig"] = {"FailureThreshold": 1}
        self.add(reg.id, "AWS::ServiceDiscovery::Service", service)
        attributes = {k: sub(v) for k, v in reg.attributes}
        url = {
            "api": self.outputs.get("ApiUrl", {}).get("Value"),
            "domain": self.outputs.get("DomainUrl", {}).get("Value"),
            "stream": self.outputs.get("StreamUrl", {}).get("Value"),
        }.get(reg.url_source)
        if url is not None:
            attributes["URL"] = url
        self.add(
            f"{reg.id}Instance",
            "AWS::ServiceDiscovery::Instance",
            {"ServiceId": _ref(reg.id), "InstanceId": reg.instance_id, "InstanceAttributes": attributes},
        )
        self.outputs["CloudMapServiceId"] = {"Value": _ref(reg.id)}

    def rest(self, front: HttpFront) -> None:
        """A REST API proxying every path to the function (the App routes, answers 404/405)."""
        api = front.id
        self.add(
            api,
            "AWS::ApiGateway::RestApi",
            {
                "Name": f"{self.d.stack_name}-rest",
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
                "BinaryMediaTypes": REST_BINARY_MEDIA_TYPES,
            },
        )
        self.add(
            f"{api}Proxy",
            "AWS::ApiGateway::Resource",
            {"RestApiId": _ref(api), "ParentId": {"Fn::GetAtt": [api, "RootResourceId"]}, "PathPart": "{proxy+}"},
        )
        uri = {
            "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            + self.target_sub()
            + "/invocations"
        }
        methods = []

        def method(logical_id: str, resource: Any, verb: str, authorized: bool) -> None:
            methods.append(logical_id)
            props: dict[str, Any] = {"RestApiId": _ref(api), "ResourceId": resource, "HttpMethod": verb}
            if authorized:
                props.update(AuthorizationType="CUSTOM", AuthorizerId=_ref(front.authorizer_id))
            else:
                props["AuthorizationType"] = "NONE"
            props["Integration"] = {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri}
            self.add(logical_id, "AWS::ApiGateway::Method", props)

        guarded = front.authorizer_id is not None
        public_root = {r.method for r in front.public_routes if r.path == "/"}
        for suffix, resource in (("Root", {"Fn::GetAtt": [api, "RootResourceId"]}), ("Proxy", _ref(f"{api}Proxy"))):
            method(f"{api}Any{suffix}", resource, "ANY", guarded and not (suffix == "Root" and "ANY" in public_root))
            if suffix == "Root" and guarded:
                for verb in sorted(public_root - {"ANY"}):
                    method(f"{api}{verb.title()}Root", resource, verb, False)
        # public routes of a guarded API: explicit resources (see lift.deploy.model.rest_resources)
        ids = {"": None}
        nodes = rest_resources(front.public_routes) if guarded else []
        names = distinct_names([node.path for node in nodes], _route_id)
        for node in nodes:
            rid = f"{api}Resource{names[node.path]}"
            ids[node.path] = rid
            parent = {"Fn::GetAtt": [api, "RootResourceId"]} if not node.parent else _ref(ids[node.parent])
            self.add(
                rid, "AWS::ApiGateway::Resource", {"RestApiId": _ref(api), "ParentId": parent, "PathPart": node.part}
            )
            if "ANY" not in node.public_methods:
                method(f"{rid}Any", _ref(rid), "ANY", True)
            for verb in node.public_methods:
                method(f"{rid}{verb.title()}", _ref(rid), verb, False)
            if node.proxy_child:
                self.add(
                    f"{rid}Proxy",
                    "AWS::ApiGateway::Resource",
                    {"RestApiId": _ref(api), "ParentId": _ref(rid), "PathPart": "{proxy+}"},
                )
                method(f"{rid}ProxyAny", _ref(f"{rid}Proxy"), "ANY", True)
        self.add(f"{api}Deployment", "AWS::ApiGateway::Deployment", {"RestApiId": _ref(api)}, DependsOn=methods)
        self.add(
            f"{api}Stage",
            "AWS::ApiGateway::Stage",
            {
                "RestApiId": _ref(api),
                "DeploymentId": _ref(f"{api}Deployment"),
                "StageName": front.stage,
                "TracingEnabled": self.d.function.tracing,
            },
        )
        self.permission(
            f"{api}Permission",
            "apigateway.amazonaws.com",
            {"Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*"},
        )
        self.outputs["ApiUrl"] = {
            "Value": {"Fn::Sub": f"https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{front.stage}/"}
        }

    def websocket(self, ws: WebSocketApi) -> None:
        api = ws.id
        self.add(
            api,
            "AWS::ApiGatewayV2::Api",
            {"Name": ws.name, "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": ws.route_selection_expression},
        )
        fn_arn = self.target_sub()
        self.add(
            f"{api}Integration",
            "AWS::ApiGatewayV2::Integration",
            {
                "ApiId": _ref(api),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {
                    "Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
                },
            },
        )
        routes = []
        names = distinct_names(ws.route_keys, _route_id)
        for key in ws.route_keys:
            route_id = f"{api}Route{names[key]}"
            routes.append(route_id)
            route = {"ApiId": _ref(api), "RouteKey": key, "Target": {"Fn::Sub": f"integrations/${{{api}Integration}}"}}
            if ws.authorizer_id and key == "$connect":
                route.update(AuthorizationType="CUSTOM", AuthorizerId=_ref(ws.authorizer_id))
            self.add(route_id, "AWS::ApiGatewayV2::Route", route)
        self.add(f"{api}Deployment", "AWS::ApiGatewayV2::Deployment", {"ApiId": _ref(api)}, DependsOn=routes)
        self.add(
            f"{api}Stage",
            "AWS::ApiGatewayV2::Stage",
            {"ApiId": _ref(api), "StageName": ws.stage, "DeploymentId": _ref(f"{api}Deployment")},
        )
        self.permission(
            f"{api}Permission",
            "apigateway.amazonaws.com",
            {"Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*"},
        )
        self.outputs["WebSocketUrl"] = {
            "Value": {"Fn::Sub": f"wss://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{ws.stage}"}
        }

    # -- messaging and data ------------------------------------------------------------------------
    def queues(self) -> None:
        for q in self.d.queues:
            props: dict[str, Any] = {"QueueName": q.name}
            if q.fifo:
                props["FifoQueue"] = True
            props.update(
                VisibilityTimeout=q.visibility_timeout,
                MessageRetentionPeriod=q.retention_seconds,
                SqsManagedSseEnabled=True,
            )
            if q.dlq_id:
                props["RedrivePolicy"] = {"deadLetterTargetArn": _arn(q.dlq_id), "maxReceiveCount": q.max_receive_count}
            self.add(q.id, "AWS::SQS::Queue", props)

    def topics(self) -> None:
        for t in self.d.topics:
            self.add(t.id, "AWS::SNS::Topic", {"TopicName": t.name, "KmsMasterKeyId": t.kms_key})
        for s in self.d.subscriptions:
            topic = _ref(s.topic_id) if s.topic_id else sub(s.topic_arn)
            self.add(
                s.id,
                "AWS::SNS::Subscription",
                {"Protocol": "lambda", "TopicArn": topic, "Endpoint": self.target_arn()},
            )
            self.permission(f"{s.id}Permission", "sns.amazonaws.com", topic)

    def buckets(self) -> None:
        for b in self.d.buckets:
            self.add(
                b.id,
                "AWS::S3::Bucket",
                {
                    "BucketName": b.name,
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
                },
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
            )

    def streams(self) -> None:
        for s in self.d.streams:
            self.add(
                s.id,
                "AWS::Kinesis::Stream",
                {
                    "Name": s.name,
                    "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                    "StreamEncryption": {"EncryptionType": "KMS", "KeyId": s.kms_key},
                },
            )

    def tables(self) -> None:
        for t in self.d.tables:
            props: dict[str, Any] = {
                "TableName": t.name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": n, "AttributeType": k} for n, k in t.attributes],
                "KeySchema": _key_schema(t.partition_key, t.sort_key),
                "SSESpecification": {"SSEEnabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": t.pitr},
            }
            if t.indexes:
                props["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": i.name,
                        "KeySchema": _key_schema(i.partition_key, i.sort_key),
                        "Projection": {"ProjectionType": i.projection},
                    }
                    for i in t.indexes
                ]
            if t.ttl_attribute:
                props["TimeToLiveSpecification"] = {"AttributeName": t.ttl_attribute, "Enabled": True}
            policy = "Retain" if t.retain else "Delete"
            if t.replicas:
                self.add(
                    t.id,
                    "AWS::DynamoDB::GlobalTable",
                    _global_table(props, t),
                    DeletionPolicy=policy,
                    UpdateReplacePolicy=policy,
                )
                continue
            self.add(t.id, "AWS::DynamoDB::Table", props, DeletionPolicy=policy, UpdateReplacePolicy=policy)

    def mapping(self, m: EventSourceMapping) -> None:
        primary = m.function_id == self.d.function.id  # the others (the jobs worker) have no alias
        props: dict[str, Any] = {
            "FunctionName": _ref(self.target_id) if primary and self.aliased else _ref(m.function_id)
        }
        if m.kind == "kafka":
            props["SelfManagedEventSource"] = {"Endpoints": {"KafkaBootstrapServers": list(m.bootstrap_servers)}}
        else:
            props["EventSourceArn"] = _arn(m.source_id) if m.source_id else sub(m.source_arn)
        props.update(m.settings(sub))
        if m.kind in ("kinesis", "dynamodb") and m.on_failure_arn is not None:
            destination = _arn(m.on_failure_id) if m.on_failure_id else sub(m.on_failure_arn)
            props["DestinationConfig"] = {"OnFailure": {"Destination": destination}}
        # the role's policy must exist before Lambda checks it can read the source
        role_id = self.d.function.role_id if m.broker else self.d.by_id(m.function_id).role_id
        self.add(m.id, "AWS::Lambda::EventSourceMapping", props, DependsOn=[role_id])

    def authorizer(self, a: Authorizer) -> None:
        fn_arn = self.target_sub()
        uri = {
            "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            + fn_arn
            + "/invocations"
        }
        if a.kind == "rest":
            props: dict[str, Any] = {
                "Name": a.name,
                "RestApiId": _ref(a.api_id),
                "Type": a.type,
                "AuthorizerUri": uri,
                "IdentitySource": ", ".join(a.identity_sources),
                "AuthorizerResultTtlInSeconds": a.ttl,
            }
            self.add(a.id, "AWS::ApiGateway::Authorizer", props)
            return
        props = {
            "Name": a.name,
            "ApiId": _ref(a.api_id),
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": uri,
            "IdentitySource": list(a.identity_sources),
        }
        if a.kind == "http":
            props.update(
                AuthorizerPayloadFormatVersion=a.payload_version,
                EnableSimpleResponses=a.simple_responses,
                AuthorizerResultTtlInSeconds=a.ttl,
            )
        self.add(a.id, "AWS::ApiGatewayV2::Authorizer", props)

    def triggers(self) -> None:
        """Permissions, subscription filters, user pools, Object Lambda access points, role
        policies and outputs of the other triggers."""
        d = self.d
        for pool in d.user_pools:
            self.add(
                pool.id,
                "AWS::Cognito::UserPool",
                {
                    "UserPoolName": pool.name,
                    "LambdaConfig": pool.lambda_config(self.target_arn()),
                    "UserPoolTags": dict(d.tags),
                },
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
            )
        for p in d.permissions:
            extra = {"SourceAccount": {"Ref": "AWS::AccountId"}} if p.source_account else {}
            self.permission(p.id, p.principal, sub(p.source_arn) if p.source_arn is not None else None, **extra)
        for f in d.subscription_filters:
            self.add(
                f.id,
                "AWS::Logs::SubscriptionFilter",
                {
                    "FilterName": f.name,
                    "LogGroupName": f.log_group,
                    "FilterPattern": f.filter_pattern,
                    "DestinationArn": self.target_arn(),
                },
                DependsOn=[f.permission_id],
            )
        for o in d.object_lambda_access_points:
            self.add(o.access_point_id, "AWS::S3::AccessPoint", {"Bucket": o.bucket, "Name": o.access_point_name})
            self.add(
                o.id,
                "AWS::S3ObjectLambda::AccessPoint",
                {
                    "Name": o.name,
                    "ObjectLambdaConfiguration": o.configuration(
                        {
                            "Fn::Sub": "arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:accesspoint/"
                            + f"${{{o.access_point_id}}}"
                        },
                        self.target_arn(),
                    ),
                },
            )
        for rp in d.role_policies:
            self.add(
                rp.id,
                "AWS::IAM::RolePolicy",
                {"RoleName": rp.role_name, "PolicyName": f"{rp.id}Policy", "PolicyDocument": _policy(rp.statements)},
            )
        for out in d.outputs:
            if out.target:
                value: Any = self.target_arn()
            elif out.arn_of:
                value = _arn(out.arn_of)
            else:
                value = sub(out.value) if out.value is not None else ""
            self.outputs[out.name] = {"Description": out.description, "Value": value}

    def rules(self) -> None:
        for r in self.d.rules:
            props: dict[str, Any] = {"Name": r.name, "Description": r.description, "State": "ENABLED"}
            if r.named_bus:
                props["EventBusName"] = r.named_bus
            props["EventPattern"] = r.pattern
            props["Targets"] = [{"Id": "function", "Arn": self.target_arn()}]
            self.add(r.id, "AWS::Events::Rule", props)
            self.permission(f"{r.id}Permission", "events.amazonaws.com", _arn(r.id))

    def schedules(self) -> None:
        for s in self.d.schedules:
            self.add(
                s.id,
                "AWS::Scheduler::Schedule",
                {
                    "Name": s.name,
                    "ScheduleExpression": s.expression,
                    "ScheduleExpressionTimezone": s.timezone,
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "State": "ENABLED",
                    "Target": {"Arn": self.target_arn(), "RoleArn": _arn(s.role_id), "Input": sub(s.input)},
                },
            )

    def alarms(self) -> None:
        d = self.d
        if d.alarm_topic_id and d.alarms_email:
            self.add(
                f"{d.alarm_topic_id}Email",
                "AWS::SNS::Subscription",
                {"Protocol": "email", "TopicArn": _ref(d.alarm_topic_id), "Endpoint": d.alarms_email},
            )
        for a in d.alarms:
            self.add(
                a.id,
                "AWS::CloudWatch::Alarm",
                {
                    "AlarmName": a.name,
                    "AlarmDescription": a.description,
                    "Namespace": a.namespace,
                    "MetricName": a.metric,
                    "Dimensions": [{"Name": n, "Value": sub(v)} for n, v in a.dimensions],
                    "Statistic": a.statistic,
                    "Period": a.period,
                    "EvaluationPeriods": a.evaluation_periods,
                    "Threshold": a.threshold,
                    "ComparisonOperator": a.comparison,
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [_ref(a.topic_id)],
                },
            )

    def slo_alarms(self) -> None:
        """Each SLO's multi-window burn-rate alarms (to the alarms topic when there is one) and a
        dashboard of the stage's SLOs (see lift.deploy.slo)."""
        from lift.deploy.slo import stage_resources

        d = self.d
        actions = [_ref(d.alarm_topic_id)] if d.alarm_topic_id else None
        for logical_id, resource in stage_resources(d, actions).items():
            if logical_id in self.resources:
                raise ValueError(f"duplicate logical id {logical_id}")
            self.resources[logical_id] = resource

    def domain(self, front: HttpFront) -> None:
        """The custom domain (regional, TLS 1.2) mapped to the API; point DNS at the DomainTarget output."""
        api = front.id
        if front.kind == "http":
            self.add(
                f"{api}Domain",
                "AWS::ApiGatewayV2::DomainName",
                {
                    "DomainName": front.domain,
                    "DomainNameConfigurations": [
                        {
                            "CertificateArn": front.certificate_arn,
                            "EndpointType": "REGIONAL",
                            "SecurityPolicy": "TLS_1_2",
                        }
                    ],
                },
            )
            self.add(
                f"{api}Mapping",
                "AWS::ApiGatewayV2::ApiMapping",
                {"ApiId": _ref(api), "DomainName": _ref(f"{api}Domain"), "Stage": _ref(f"{api}Stage")},
            )
            target = {"Fn::GetAtt": [f"{api}Domain", "RegionalDomainName"]}
        else:
            self.add(
                f"{api}Domain",
                "AWS::ApiGateway::DomainName",
                {
                    "DomainName": front.domain,
                    "RegionalCertificateArn": front.certificate_arn,
                    "EndpointConfiguration": {"Types": ["REGIONAL"]},
                    "SecurityPolicy": "TLS_1_2",
                },
            )
            self.add(
                f"{api}Mapping",
                "AWS::ApiGateway::BasePathMapping",
                {"RestApiId": _ref(api), "DomainName": _ref(f"{api}Domain"), "Stage": _ref(f"{api}Stage")},
            )
            target = {"Fn::GetAtt": [f"{api}Domain", "RegionalDomainName"]}
        self.outputs["DomainUrl"] = {"Value": f"https://{front.domain}/"}
        self.outputs["DomainTarget"] = {"Value": target}


def _key_schema(partition_key: tuple[str, str], sort_key: tuple[str, str] | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key[0], "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key[0], "KeyType": "RANGE"})
    return schema


def _global_table(props: dict[str, Any], table: Any) -> dict[str, Any]:
    """A table's properties as an AWS::DynamoDB::GlobalTable: the same keys, indexes and TTL, a
    stream (replication needs NEW_AND_OLD_IMAGES), and PITR on each replica."""
    out = {k: v for k, v in props.items() if k != "PointInTimeRecoverySpecification"}
    out["StreamSpecification"] = {"StreamViewType": table.stream_view_type}
    out["Replicas"] = [
        {"Region": region, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": table.pitr}}
        for region in table.replicas
    ]
    return out


def _digest(value: Any) -> str:
    """A short, stable digest of a JSON-able value (a function's configuration)."""
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    """`value` with `${Old}` in Fn::Sub strings (and Ref targets) renamed to the ids SAM generates."""
    if not renames:
        return value
    if isinstance(value, dict):
        return {k: (renames.get(v, v) if k == "Ref" else _renamed(v, renames)) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    if isinstance(value, str):
        for old, new in renames.items():
            value = value.replace("${" + old + "}", "${" + new + "}")
    return value


def _route_id(key: str) -> str:
    """`GET /users/{id}` -> `GetUsersId`; `$default` -> `Default` (unique enough with the method)."""
    import re

    words = [w for w in re.split(r"[^A-Za-z0-9]+", key.replace("+", " Greedy")) if w]
    text = "".join(w[:1].upper() + w[1:].lower() for w in words) or "Root"
    return text if key != "ANY /" else "AnyRoot"


def render(deployment: Deployment, format: str = "cloudformation", *, check: bool = True) -> dict[str, Any]:
    """The template for `deployment` as a dict (`format`: "cloudformation" or "sam"). A template
    CloudFormation would refuse for its size is a `ModelError` (`check_quotas`), unless `check` is
    false (a template read only for its inventory)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    template = _Template(deployment, format).build()
    if check:
        check_quotas(deployment, template)
    return template


# CloudFormation's quotas on one stack's template (cfn-lint checks the same numbers)
STACK_RESOURCES = 500
STACK_OUTPUTS = 200
TEMPLATE_BYTES = 1_000_000  # a template read from S3, as `lift deploy` sends one over 51,200 bytes


def check_quotas(deployment: Deployment, template: dict[str, Any]) -> None:
    """Refuse, before anything is packaged or deployed, a template CloudFormation refuses at
    CreateChangeSet: more than 500 resources or 200 outputs, or a body over 1 MB."""
    problems = []
    resources = template["Resources"]
    if len(resources) > STACK_RESOURCES:
        by_type: dict[str, int] = {}
        for resource in resources.values():
            by_type[resource["Type"]] = by_type.get(resource["Type"], 0) + 1
        largest = sorted(by_type.items(), key=lambda item: (-item[1], item[0]))[:3]
        problems.append(
            f"{len(resources)} resources, CloudFormation takes at most {STACK_RESOURCES} in one stack "
            f"(most: {', '.join(f'{kind} {count}' for kind, count in largest)})"
        )
    outputs = template.get("Outputs", {})
    if len(outputs) > STACK_OUTPUTS:
        problems.append(f"{len(outputs)} outputs, CloudFormation takes at most {STACK_OUTPUTS}")
    size = len(to_json(template).encode())
    if size > TEMPLATE_BYTES:
        problems.append(f"{size} bytes of template, CloudFormation reads at most {TEMPLATE_BYTES}")
    if problems:
        raise ModelError(
            f"The template of {deployment.stack_name} has {'; and '.join(problems)}. "
            "Split the app into services of their own (one stack each), or consume existing queues, topics "
            "and streams (`arn` in [tool.lift.queues.NAME], [tool.lift.topics.NAME], [tool.lift.streams.NAME]) "
            "instead of creating them here"
        )


def to_json(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def to_yaml(template: dict[str, Any]) -> str:
    """YAML with long-form intrinsics (`Fn::Sub:`), which CloudFormation reads like the JSON."""
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('YAML output needs PyYAML: pip install "lift-lambda[deploy]"') from exc

    class _Dumper(yaml.SafeDumper):
        pass

    _Dumper.ignore_aliases = lambda self, data: True  # type: ignore[method-assign]
    return yaml.dump(template, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


def summary(deployment: Deployment, template: dict[str, Any]) -> dict[str, Any]:
    """What `lift synth` prints: resources by type, and every IAM action with its resources."""
    by_type: dict[str, int] = {}
    for resource in template["Resources"].values():
        by_type[resource["Type"]] = by_type.get(resource["Type"], 0) + 1
    iam = [
        {
            "role": role.id,
            "sid": s.sid,
            "actions": list(s.actions),
            "resources": [str(r) for r in s.resources],
            **({"condition": dict(s.condition)} if s.condition else {}),
            "why": s.reason,
        }
        for role in deployment.roles
        for s in role.statements
    ]
    return {"resources": dict(sorted(by_type.items())), "iam": iam, "warnings": list(deployment.warnings)}
