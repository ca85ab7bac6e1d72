"""What Lift says about a stack CloudFormation rolled back, and when it refuses to start a deploy.

moto 5 never produces these states (no ROLLBACK_*, no *_FAILED: its ExecuteChangeSet raises the
failing resource's error instead, see test_deploy_moto.py), so the decisions are tested on the
stack events and statuses CloudFormation documents for a failed create, in DescribeStackEvents'
order (newest first, as `Aws.events` reverses them to oldest first)."""

from __future__ import annotations

import pytest

from lift.deploy.aws import StackEvent, blocked_reason, failure_verdict, first_failure

STACK = "shop-dev"
STACK_TYPE = "AWS::CloudFormation::Stack"
ROLE_ERROR = (
    'Resource handler returned message: "The role defined for the function cannot be assumed by Lambda. '
    '(Service: Lambda, Status Code: 400, Request ID: 0f4d8c1e-5d3a-4bb0-9c2a-2d7e8c1b6f10)" '
    "(RequestToken: 5b8f3a2e-1c4d-4e5f-8a9b-0c1d2e3f4a5b, HandlerErrorCode: InvalidRequest)"
)


def event(second: int, logical_id: str, resource_type: str, status: str, reason: str = "") -> StackEvent:
    return StackEvent(f"2026-12-04 18:20:{second:02d}.123000+00:00", logical_id, resource_type, status, reason)


# a failed first create, oldest first: the function fails, CloudFormation cancels the queue it was
# creating at the same time (reported in the same second), rolls back and deletes what it made
FAILED_CREATE = [
    event(0, STACK, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated"),
    event(1, "FunctionRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS"),
    event(17, "FunctionRole", "AWS::IAM::Role", "CREATE_COMPLETE"),
    event(18, "Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
    event(18, "Function", "AWS::Lambda::Function", "CREATE_IN_PROGRESS"),
    event(19, "Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Resource creation cancelled"),
    event(19, "Function", "AWS::Lambda::Function", "CREATE_FAILED", ROLE_ERROR),
    event(
        20,
        STACK,
        STACK_TYPE,
        "ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to create: [Function, Queue]. Rollback requested by user.",
    ),
    event(21, "FunctionRole", "AWS::IAM::Role", "DELETE_IN_PROGRESS"),
    event(23, "FunctionRole", "AWS::IAM::Role", "DELETE_COMPLETE"),
    event(24, STACK, STACK_TYPE, "ROLLBACK_COMPLETE"),
]


def test_the_failing_resource_is_the_cause_not_the_ones_cloudformation_cancelled_because_of_it():
    cause = first_failure(FAILED_CREATE)
    assert (cause.logical_id, cause.resource_type) == ("Function", "AWS::Lambda::Function")
    assert "cannot be assumed by Lambda" in cause.reason


def test_without_a_resource_reason_the_stack_says_which_failed():
    stack_only = [e for e in FAILED_CREATE if e.resource_type == STACK_TYPE]
    assert "failed to create: [Function, Queue]" in first_failure(stack_only).reason
    assert (
        first_failure([e for e in FAILED_CREATE if not e.status.endswith(("FAILED", "ROLLBACK_IN_PROGRESS"))]) is None
    )


def test_a_rolled_back_create_is_deleted_by_the_next_deploy_and_an_update_is_as_before():
    assert "the next lift deploy deletes it and creates the stack again" in failure_verdict(STACK, "ROLLBACK_COMPLETE")
    assert "is as it was before this deploy" in failure_verdict(STACK, "UPDATE_ROLLBACK_COMPLETE")
    assert blocked_reason(STACK, "ROLLBACK_COMPLETE") is None  # deleted first, not refused
    assert blocked_reason(STACK, "UPDATE_ROLLBACK_COMPLETE") is None  # updatable again


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("UPDATE_IN_PROGRESS", "another deploy, rollback or delete is running on it"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "Wait until it settles"),
        ("DELETE_IN_PROGRESS", "aws cloudformation describe-stack-events --stack-name shop-dev"),
        ("UPDATE_ROLLBACK_FAILED", "aws cloudformation continue-update-rollback --stack-name shop-dev"),
        ("ROLLBACK_FAILED", "Delete it (lift destroy"),
        ("DELETE_FAILED", "Delete it (lift destroy"),
    ],
)
def test_a_deploy_does_not_start_on_a_busy_or_stuck_stack_and_says_what_to_do(status, says):
    assert says in blocked_reason(STACK, status)


@pytest.mark.parametrize(
    "status", [None, "CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "REVIEW_IN_PROGRESS"]
)
def test_a_deploy_starts_on_a_settled_stack(status):
    assert blocked_reason(STACK, status) is None
