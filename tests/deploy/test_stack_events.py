"""Following a deployment's stack events through DescribeStackEvents' pages, against moto server.

DescribeStackEvents answers newest first, a page at a time (100 events on AWS). moto 5 answers in
one piece, so the proxy of tests/deploy/aws_proxy.py cuts moto's answer into pages of one event
linked by NextToken (the page size is the service's choice; a client follows NextToken whatever it
is): moto's two events of a deployment then span two pages, as more than 100 events do on AWS."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from lift.deploy.aws import Aws
from tests.deploy.aws_proxy import AwsProxy

REGION = "us-east-1"
PAGE = 1


def template(timeout: int) -> str:
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": timeout}}
    return json.dumps({"Resources": {"Queue": queue}})


def _key(event) -> tuple[str, str, str]:
    return event.timestamp, event.logical_id, event.status


def _raw_key(event: dict) -> tuple[str, str, str]:
    return str(event["Timestamp"]), event["LogicalResourceId"], event["ResourceStatus"]


@pytest.fixture
def paged(moto_endpoint: str):
    proxy = AwsProxy(moto_endpoint)
    proxy.page("DescribeStackEvents", "StackEvents", PAGE)
    yield proxy
    proxy.close()


def test_an_update_passes_every_event_of_its_own_and_reads_no_further_back(paged, moto_endpoint) -> None:
    name = f"events{uuid.uuid4().hex[:8]}"
    moto = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name=REGION)
    moto.create_stack(StackName=name, TemplateBody=template(30))
    for timeout in range(31, 56):  # a long history: 25 earlier deployments
        moto.update_stack(StackName=name, TemplateBody=template(timeout))
    before = moto.describe_stack_events(StackName=name)["StackEvents"]
    assert len(before) > 50

    aws = Aws(REGION, endpoint_url=paged.url)
    plan = aws.plan(name, template(99), {}, {}, bucket="", prefix="")
    passed = []
    outcome = aws.execute(plan, on_event=passed.append, poll=0)

    assert outcome.outcome == "updated"
    after = moto.describe_stack_events(StackName=name)["StackEvents"]
    new = after[: len(after) - len(before)]  # newest first
    assert len(new) > PAGE  # the deployment's events span more than one page
    assert [_key(e) for e in passed] == [_raw_key(e) for e in reversed(new)]  # all of them, oldest first
    assert [e.status for e in passed][-1] == "UPDATE_COMPLETE"
    # the pages read: the newest one before executing, then only down to the deployment's first event
    assert paged.pages_served and max(paged.pages_served) <= len(new)
    assert len(paged.pages_served) <= 1 + len(new) // PAGE + 1


def test_a_create_passes_every_event_after_the_change_set_was_made(paged, moto_endpoint) -> None:
    name = f"events{uuid.uuid4().hex[:8]}"
    aws = Aws(REGION, endpoint_url=paged.url)
    plan = aws.plan(name, template(30), {}, {}, bucket="", prefix="")
    moto = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name=REGION)
    before = moto.describe_stack_events(StackName=name)["StackEvents"]
    passed = []
    outcome = aws.execute(plan, on_event=passed.append, poll=0)

    assert outcome.outcome == "created"
    after = moto.describe_stack_events(StackName=name)["StackEvents"]
    new = after[: len(after) - len(before)]
    assert [_key(e) for e in passed] == [_raw_key(e) for e in reversed(new)]
    assert [e.status for e in passed][-1] == "CREATE_COMPLETE"
