"""The stack the deploy model renders, created by moto server's CloudFormation, works with the
runtime code that uses it: the WebSocket connections store runs against the table the template
created (its GSI queries included), the jobs worker is its own function consuming the jobs queue,
and the stack's outputs are what `StackOutputDiscovery` reads by default."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import boto3
import pytest

from lift import App, Context
from lift.deploy import build_deployment, config_from_dict
from lift.deploy.cloudformation import render, to_json

REGION = "us-east-1"
LOOKUP = 30.0  # discovery lookups against moto on a loaded machine: not the 2 s meant for AWS


def deployable_app(name: str) -> App:
    from lift.websocket.connections import DynamoDBConnections, track_connections

    app = App(name=name)

    @app.get("/ping")
    def ping() -> dict[str, Any]:
        return {"ok": True}

    @app.websocket("chat")
    def chat(ctx: Context, body: dict) -> None: ...

    track_connections(app, DynamoDBConnections(f"{name}-connections"))
    app.jobs.configure(queue=f"{name}-jobs")

    @app.job("report")
    def report(body: dict, progress: Any) -> dict[str, Any]:
        return {}

    return app


@pytest.fixture(scope="module")
def stack(moto_endpoint: str) -> dict[str, Any]:
    """One stack for the module (CloudFormation on moto is slow): its app, model and outputs."""
    name = f"infra{uuid.uuid4().hex[:8]}"
    app = deployable_app(name)
    config = {"region": REGION, "timeout": 20, "jobs": {"reserved_concurrency": 2, "memory": 1024}}
    config["cloud_map"] = {"namespace": f"{name}-ns"}  # its id is looked up like lift deploy does
    deployment = build_deployment(app, config_from_dict(config, "pyproject.toml"), "dev")
    from lift.deploy.aws import Aws

    discovery = boto3.client("servicediscovery", endpoint_url=moto_endpoint, region_name=REGION)
    discovery.create_http_namespace(Name=f"{name}-ns")
    namespace_id = Aws(REGION, moto_endpoint).cloud_map_namespace_id(f"{name}-ns")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    bucket = f"{name}-artifacts"
    s3.create_bucket(Bucket=bucket)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {}\n")
    s3.put_object(Bucket=bucket, Key="code.zip", Body=code.getvalue())
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name=REGION)
    cfn.create_stack(
        StackName=deployment.stack_name,
        TemplateBody=to_json(render(deployment)),
        Parameters=[
            {"ParameterKey": "CodeS3Bucket", "ParameterValue": bucket},
            {"ParameterKey": "CodeS3Key", "ParameterValue": "code.zip"},
            {"ParameterKey": "CloudMapNamespaceId", "ParameterValue": namespace_id},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("stack_create_complete").wait(StackName=deployment.stack_name, WaiterConfig={"Delay": 1})
    [described] = cfn.describe_stacks(StackName=deployment.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return {
        "name": name,
        "app": app,
        "deployment": deployment,
        "outputs": outputs,
        "endpoint": moto_endpoint,
        "namespace_id": namespace_id,
        "template": render(deployment),
    }


def test_the_connections_store_works_on_the_table_the_template_created(
    stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store the app names `<name>-connections`, made in the deployed function's environment,
    works on the stage's table (`<name>-connections-dev`)."""
    import time

    from lift.websocket.connections import Connection, DynamoDBConnections

    lam = boto3.client("lambda", endpoint_url=stack["endpoint"], region_name=REGION)
    deployed = lam.get_function(FunctionName=f"{stack['name']}-dev")["Configuration"]["Environment"]["Variables"]
    for key, value in deployed.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("dynamodb", endpoint_url=stack["endpoint"], region_name=REGION)
    described = client.describe_table(TableName=f"{stack['name']}-connections-dev")["Table"]
    assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} == {"by-user", "by-tenant"}
    store = DynamoDBConnections(f"{stack['name']}-connections", client=client)
    assert store.table_name == f"{stack['name']}-connections-dev"
    now = time.time()
    for cid, user, tenant in (("c1", "u1", "t1"), ("c2", "u1", "t2"), ("c3", "u2", "t1")):
        store.put(Connection(id=cid, user_id=user, tenant_id=tenant, connected_at=now, expires_at=now + 60))
    assert sorted(c.id for c in store.by_user("u1")) == ["c1", "c2"]
    assert sorted(c.id for c in store.by_tenant("t1")) == ["c1", "c3"]
    assert sorted(c.id for c in store.all()) == ["c1", "c2", "c3"]
    store.delete("c1")
    assert store.get("c1") is None and [c.id for c in store.by_tenant("t1")] == ["c3"]


def test_the_jobs_worker_is_its_own_function_consuming_the_jobs_queue(stack: dict[str, Any]) -> None:
    name, endpoint = stack["name"], stack["endpoint"]
    lam = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION)
    app_fn = lam.get_function(FunctionName=f"{name}-dev")
    worker = lam.get_function(FunctionName=f"{name}-dev-jobs")
    assert (app_fn["Configuration"]["Timeout"], worker["Configuration"]["Timeout"]) == (20, 900)
    assert (app_fn["Configuration"]["MemorySize"], worker["Configuration"]["MemorySize"]) == (512, 1024)
    assert worker["Concurrency"]["ReservedConcurrentExecutions"] == 2
    assert worker["Configuration"]["Handler"] == app_fn["Configuration"]["Handler"]
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    url = sqs.get_queue_url(QueueName=f"{name}-jobs-dev")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attributes["VisibilityTimeout"]) >= 900  # AWS refuses a mapping below the function timeout
    [mapping] = lam.list_event_source_mappings(FunctionName=f"{name}-dev-jobs")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == attributes["QueueArn"] and mapping["BatchSize"] == 1
    assert lam.list_event_source_mappings(FunctionName=f"{name}-dev")["EventSourceMappings"] == []
    env = worker["Configuration"]["Environment"]["Variables"]
    # the worker may start further jobs like the app (moto's Ref gives the queue's AWS-style URL)
    assert env["LIFT_JOBS_QUEUE_URL"].split("/")[-2:] == url.split("/")[-2:]


def test_stack_output_discovery_finds_the_service_by_default(stack: dict[str, Any]) -> None:
    from lift.services import StackOutputDiscovery

    found = StackOutputDiscovery.for_service(
        stack["name"], "dev", endpoint_url=stack["endpoint"], region=REGION, timeout=LOOKUP
    )
    [instance] = found.instances()  # no output key given: the one lift deploy writes
    # (moto's CloudFormation leaves the HTTP API's id unresolved in the URL; the key is what matters)
    assert instance.url == stack["outputs"]["ApiUrl"].rstrip("/") and instance.url.startswith("https://")


def test_the_cloud_map_registration_is_what_cloud_map_discovery_reads(stack: dict[str, Any]) -> None:
    """moto's CloudFormation does not create Cloud Map resources: the template's service and instance
    are created through the Cloud Map API exactly as written (the URL resolved from the stack's
    output), then CloudMapDiscovery, the way a caller is configured, finds the stage."""
    from lift.services import CloudMapDiscovery

    name, endpoint = stack["name"], stack["endpoint"]
    resources = stack["template"]["Resources"]
    service = resources["CloudMapService"]["Properties"]
    instance = resources["CloudMapServiceInstance"]["Properties"]
    assert service["NamespaceId"] == {"Ref": "CloudMapNamespaceId"}
    client = boto3.client("servicediscovery", endpoint_url=endpoint, region_name=REGION)
    created = client.create_service(
        Name=service["Name"],
        NamespaceId=stack["namespace_id"],
        Type=service["Type"],
        Description=service["Description"],
        HealthCheckCustomConfig=service["HealthCheckCustomConfig"],  # health = true: the default
    )["Service"]
    stack["cloud_map_service_id"] = created["Id"]
    attributes = dict(instance["InstanceAttributes"])
    assert attributes["URL"] == stack["template"]["Outputs"]["ApiUrl"]["Value"]
    attributes["URL"] = stack["outputs"]["ApiUrl"]
    attributes["region"] = REGION
    attributes["FUNCTION_ARN"] = f"arn:aws:lambda:{REGION}:123456789012:function:{name}-dev"
    client.register_instance(ServiceId=created["Id"], InstanceId=instance["InstanceId"], Attributes=attributes)
    found = CloudMapDiscovery(
        f"{name}-ns", name, query={"stage": "dev"}, endpoint_url=endpoint, region=REGION, timeout=LOOKUP
    )
    [discovered] = found.instances()
    assert discovered.url == stack["outputs"]["ApiUrl"].rstrip("/") and discovered.id == f"{name}-dev"
    assert (
        CloudMapDiscovery(
            f"{name}-ns", name, query={"stage": "prod"}, endpoint_url=endpoint, region=REGION, timeout=LOOKUP
        ).instances()
        == []
    )


def test_the_deployed_function_reports_its_readiness_as_the_instances_health(
    stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function as moto's CloudFormation made it, invoked with what the template's schedule sends
    (Scheduler's context attributes filled in as Scheduler does), sets the health of the instance
    registered above: the environment, the schedule's payload and the Cloud Map service fit together."""
    import json

    from lift.cloud_map_health import INSTANCE_ENV, SCHEDULE_ENV, SERVICE_ENV
    from lift.services import CloudMapDiscovery
    from lift.testing.context import lambda_context

    if "cloud_map_service_id" not in stack:  # made by the registration test above
        test_the_cloud_map_registration_is_what_cloud_map_discovery_reads(stack)
    name, endpoint, service_id = stack["name"], stack["endpoint"], stack["cloud_map_service_id"]
    lam = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION)
    env = lam.get_function_configuration(FunctionName=f"{name}-dev")["Environment"]["Variables"]
    assert env[INSTANCE_ENV] == f"{name}-dev" and env[SCHEDULE_ENV] == f"{name}-dev-cloudmap-health"
    monkeypatch.setenv(SCHEDULE_ENV, env[SCHEDULE_ENV])
    monkeypatch.setenv(INSTANCE_ENV, env[INSTANCE_ENV])
    monkeypatch.setenv(SERVICE_ENV, service_id)  # moto's CloudFormation made no Cloud Map service to Ref
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICEDISCOVERY", endpoint)
    [schedule] = [
        r["Properties"]
        for r in stack["template"]["Resources"].values()
        if r["Type"] == "AWS::Scheduler::Schedule" and r["Properties"]["Name"] == env[SCHEDULE_ENV]
    ]
    payload = schedule["Target"]["Input"]["Fn::Sub"]
    for placeholder, value in {
        "${AWS::AccountId}": "123456789012",
        "${AWS::Region}": REGION,
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.scheduled-time>": "2026-12-04T22:00:00Z",
        "<aws.scheduler.schedule-arn>": f"arn:aws:scheduler:{REGION}:123456789012:schedule/default/{schedule['Name']}",
    }.items():
        payload = payload.replace(placeholder, value)
    app, ready = stack["app"], {"ok": False}
    app.health.add("connections-table", lambda: ready["ok"])
    sd = boto3.client("servicediscovery", endpoint_url=endpoint, region_name=REGION)
    discovery = CloudMapDiscovery(
        f"{name}-ns", name, query={"stage": "dev"}, endpoint_url=endpoint, region=REGION, timeout=LOOKUP
    )
    assert app.handler(json.loads(payload), lambda_context())["status"] == "UNHEALTHY"
    assert sd.get_instances_health_status(ServiceId=service_id)["Status"] == {f"{name}-dev": "UNHEALTHY"}
    assert discovery.instances() == []
    ready["ok"] = True
    assert app.handler(json.loads(payload), lambda_context())["status"] == "HEALTHY"
    assert [i.id for i in discovery.instances()] == [f"{name}-dev"]


def test_a_missing_namespace_is_a_clear_deploy_error(stack: dict[str, Any]) -> None:
    from lift.deploy.aws import Aws, DeployError

    with pytest.raises(DeployError, match="No Cloud Map namespace named 'nowhere'.*namespace_id"):
        Aws(REGION, stack["endpoint"]).cloud_map_namespace_id("nowhere")
