"""AWS operations behind `lift deploy` / `destroy` / `deploy history`: every call goes through boto3.

A deploy: the artifact goes to a per-account/region bucket (created once: versioned, encrypted,
public access blocked) under a content-addressed key; a change set is created and described (the
diff); it is executed and the stack's events are followed until the stack settles; a record of
the deploy (who, when, git commit, artifact and template hashes, outcome) is written next to the
artifacts, so `lift deploy history` is the audit trail. `AWS_ENDPOINT_URL` (boto3's own setting)
points every client at another endpoint, e.g. moto in the tests.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Aws",
    "Change",
    "Plan",
    "DeployOutcome",
    "DeployError",
    "StackEvent",
    "blocked_reason",
    "failure_verdict",
    "first_failure",
    "project_name",
]

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_DONE = ("_COMPLETE", "_FAILED")
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes")
_TEMPLATE_BODY_LIMIT = 51200
# a first create that failed (ROLLBACK_COMPLETE: CloudFormation allows only deleting it) or whose
# change set was never executed (REVIEW_IN_PROGRESS: an empty stack): deleted before the next create
_LEFTOVER = ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")
# a change set younger than this on a stack is another `lift deploy` at its question (or about to
# execute): the next deploy refuses rather than delete or race it; an older one is a crashed deploy's
_PENDING_SECONDS = 600
# CloudFormation's own reason on the resources it stopped because another one failed: not the cause
_CONSEQUENCES = ("Resource creation cancelled", "Resource update cancelled", "Resource deletion cancelled")


# the stack tag naming the project whose `lift deploy` made the stack (see Aws.claimed_by)
PROJECT_TAG = "lift:project"


class DeployError(Exception):
    """A deploy step failed; the message says which and why."""


@dataclass(frozen=True)
class Change:
    """One line of the change set's diff."""

    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = ""  # True | Conditional | False | "" (CloudFormation's answer for Modify)

    @property
    def replaces(self) -> bool:
        return self.replacement in ("True", "Conditional")


@dataclass
class Plan:
    stack: str
    change_set: str | None
    kind: str  # CREATE | UPDATE
    changes: list[Change]
    # the stack this plan's change set belongs to (its ARN): what a failed or declined first create
    # deletes, never another deploy's stack made under the same name since
    stack_id: str = ""

    @property
    def empty(self) -> bool:
        return self.change_set is None


@dataclass(frozen=True)
class StackEvent:
    timestamp: str
    logical_id: str
    resource_type: str
    status: str
    reason: str
    event_id: str = ""  # CloudFormation's EventId: where a later read of the events can stop


@dataclass
class DeployOutcome:
    outcome: str  # created | updated | no changes | failed | interrupted | unknown (lost contact)
    stack_status: str = ""
    reason: str = ""  # the failing resource and CloudFormation's reason, or why it was interrupted
    events: list[StackEvent] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    verdict: str = ""  # what the stack's state means for the user, and what to do next


def first_failure(events: list[StackEvent]) -> StackEvent | None:
    """The event that caused a failed deploy: the oldest resource failure, skipping the resources
    CloudFormation cancelled because of it; else the stack's own failure (or rollback) reason."""
    failed = [e for e in events if e.status.endswith("_FAILED") and e.reason]
    causes = [e for e in failed if e.resource_type != "AWS::CloudFormation::Stack"]
    causes = [e for e in causes if not e.reason.startswith(_CONSEQUENCES)] or causes
    if causes:
        return causes[0]
    stack = [e for e in events if e.resource_type == "AWS::CloudFormation::Stack" and e.reason]
    stack = [e for e in stack if e.status.endswith(("_FAILED", "ROLLBACK_IN_PROGRESS"))]
    return (failed or stack or [None])[0]


def failure_verdict(stack: str, status: str) -> str:
    """What a stack left in `status` by a failed (or cancelled) deploy means, and what to do next."""
    if status == "ROLLBACK_COMPLETE":
        return (
            f"CloudFormation rolled the create back: nothing of {stack} is left but the empty stack, which "
            "CloudFormation only allows deleting; the next lift deploy deletes it and creates the stack again."
        )
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return f"CloudFormation rolled the update back: {stack} is as it was before this deploy."
    if status == "UPDATE_ROLLBACK_FAILED":
        return (
            f"The rollback failed too: {stack} is stuck in UPDATE_ROLLBACK_FAILED. Fix (or delete) the resource "
            f"named above, then `aws cloudformation continue-update-rollback --stack-name {stack}` (with "
            "--resources-to-skip for one that cannot be fixed); lift deploy refuses the stack until then."
        )
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED"):
        return (
            f"CloudFormation could not delete everything it had created: {stack} is {status}. Delete it "
            "(lift destroy; resources it cannot delete are named in its events) before deploying again."
        )
    if status.endswith("_FAILED"):
        return f"{stack} is {status}: delete it (lift destroy) or roll it back before deploying again."
    if status.endswith("_IN_PROGRESS"):
        return f"CloudFormation is still working on {stack} ({status}); it completes or rolls back by itself."
    return f"{stack} is {status or 'gone'}."


def blocked_reason(stack: str, status: str | None) -> str | None:
    """Why a deploy cannot start on a stack in `status` (None when it can), and what to do."""
    if status is None or status in _LEFTOVER or status.endswith("_COMPLETE"):
        return None
    if status.endswith("_IN_PROGRESS"):
        return (
            f"{stack} is {status}: another deploy, rollback or delete is running on it. Wait until it settles "
            f"(`aws cloudformation describe-stack-events --stack-name {stack}`), then deploy again."
        )
    return failure_verdict(stack, status)


def _error_text(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        return str(response["Error"].get("Message") or response["Error"].get("Code"))
    text = str(exc)
    if "<title>" in text:  # an HTML error page (a proxy, or moto's 500 for an action it lacks)
        return text.split("<title>", 1)[1].split("</title>", 1)[0]
    start = text.find('{"__type"')  # moto answers some errors in JSON where botocore expects XML
    if start != -1:
        try:
            return json.loads(text[start:].rstrip("'")).get("message", text)
        except ValueError:
            pass
    return text


class Aws:
    """boto3 clients for one region (and endpoint), and the operations lift needs."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError('lift deploy needs boto3: pip install "lift-lambda[deploy]"') from exc
        self.region = region
        self.endpoint_url = endpoint_url
        self.session = boto3.session.Session(region_name=region)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            # no retry of a request that reached the service (an execute_change_set must not run twice)
            config = Config(retries={"mode": "standard", "max_attempts": 1 if service == "cloudformation" else 3})
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=config)
        return self._clients[service]

    def reader(self) -> Any:
        """A CloudFormation client for reads only (Describe*, List*, GetTemplate): unlike the one that
        changes stacks, it retries a throttled or dropped request (standard mode, with backoff), so
        one throttled DescribeStackEvents during a long deploy is not an 'outcome unknown'."""
        if "cloudformation:read" not in self._clients:
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "max_attempts": 4})
            self._clients["cloudformation:read"] = self.session.client(
                "cloudformation", endpoint_url=self.endpoint_url, config=config
            )
        return self._clients["cloudformation:read"]

    def account(self) -> str:
        return self.identity()["Account"]

    def identity(self) -> dict[str, str]:
        if not hasattr(self, "_identity"):
            self._identity = self.client("sts").get_caller_identity()
        return self._identity

    # -- Cloud Map ---------------------------------------------------------------------------------
    def cloud_map_namespace_id(self, name: str) -> str:
        """The id of the Cloud Map HTTP namespace called `name` (its HttpName), for the template's
        CloudMapNamespaceId parameter when the config gives only the name."""
        client = self.client("servicediscovery")
        try:
            for page in client.get_paginator("list_namespaces").paginate():
                for namespace in page.get("Namespaces", []):
                    http_name = (namespace.get("Properties") or {}).get("HttpProperties", {}).get("HttpName")
                    if name in (namespace.get("Name"), http_name):
                        return str(namespace["Id"])
        except Exception as exc:
            raise DeployError(f"Cannot list the Cloud Map namespaces: {_error_text(exc)}") from None
        raise DeployError(
            f"No Cloud Map namespace named {name!r} in {self.region}: create it "
            f"(aws servicediscovery create-http-namespace --name {name}) or set [tool.lift.cloud_map] namespace_id"
        )

    # -- the artifact bucket ---------------------------------------------------------------------
    def artifact_bucket(self, name: str | None = None) -> str:
        """The artifact bucket (`name`, else `lift-artifacts-<account>-<region>`), created once:
        versioned, encrypted (SSE-S3), public access blocked."""
        from botocore.exceptions import ClientError

        bucket = name or f"lift-artifacts-{self.account()}-{self.region}"
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
            return bucket
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise DeployError(f"Cannot use the artifact bucket {bucket}: {_error_text(exc)}") from None
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        return bucket

    def upload_artifact(self, bucket: str, prefix: str, zip_path: Path, sha256: str) -> str:
        """Upload the zip under its content hash (skipped when that key exists); returns the key."""
        from botocore.exceptions import ClientError

        key = f"{prefix}/artifacts/{sha256}.zip"
        s3 = self.client("s3")
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return key
        except ClientError:
            pass
        s3.upload_file(str(zip_path), bucket, key)
        return key

    def kept_names(self, tables: list[str], buckets: list[str]) -> list[str]:
        """Of the tables (this region) and buckets a new stack would create, those that exist already,
        e.g. kept (DeletionPolicy Retain) when an earlier stack of the stage was deleted: CloudFormation
        cannot create them again, so the create would fail on the first one."""
        from botocore.exceptions import ClientError

        taken = []
        for table in tables:
            try:
                self.client("dynamodb").describe_table(TableName=table)
                taken.append(f"{table} (DynamoDB table)")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise DeployError(f"Cannot check whether the table {table} exists: {_error_text(exc)}") from None
        for bucket in buckets:
            try:
                self.client("s3").head_bucket(Bucket=bucket)
                taken.append(f"{bucket} (S3 bucket)")
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("403", "AccessDenied"):  # another account's: a name no stack here can take
                    taken.append(f"{bucket} (S3 bucket of another account)")
                elif code not in ("404", "NoSuchBucket", "NotFound"):
                    raise DeployError(f"Cannot check whether the bucket {bucket} exists: {_error_text(exc)}") from None
        return taken

    # -- change sets ---------------------------------------------------------------------------
    def stack_status(self, stack: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.reader().describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except ClientError as exc:
            if "does not exist" in _error_text(exc):
                return None
            raise

    def _stack_id(self, stack: str) -> str | None:
        """The ARN of the stack called `stack` now (a stack deleted and made again has a new one)."""
        from botocore.exceptions import ClientError

        try:
            return str(self.reader().describe_stacks(StackName=stack)["Stacks"][0]["StackId"])
        except ClientError as exc:
            if "does not exist" in _error_text(exc):
                return None
            raise

    def claimed_by(self, stack: str, project: str, consequence: str) -> str | None:
        """Why `project` must not deploy over (or destroy) `stack`, or None when the stack is this
        project's. Two apps of one name (and stage) in one account share a stack name: a deploy of
        the second would replace every resource of the first with its own. A stack without the tag
        (made before Lift tagged stacks) is this project's."""
        from botocore.exceptions import ClientError

        try:
            found = self.reader().describe_stacks(StackName=stack)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in _error_text(exc):
                return None
            raise
        owner = {t["Key"]: t["Value"] for t in found.get("Tags", [])}.get(PROJECT_TAG)
        if owner is None or owner == project:
            return None
        return (
            f"{stack} ({self.region}) was deployed from another project, {owner!r} (this one is {project!r}): "
            f"{consequence}. Give this app a name of its own "
            f'([tool.lift] name = "..." or stack_name = "..."), or pass --take-over if {owner!r} is this project '
            f"under another name (its [project] name, else its directory's)"
        )

    def plan(
        self,
        stack: str,
        template_body: str,
        parameters: dict[str, str],
        tags: dict[str, str],
        bucket: str,
        prefix: str,
        on_note: Callable[[str], None] = lambda note: None,
    ) -> Plan:
        """Create and describe a change set; an empty Plan when there is nothing to change.

        A stack a deploy cannot start on (an operation in progress, a failed rollback) is a
        DeployError saying what to do; the empty stack a failed or unexecuted first create left is
        deleted first (`on_note` says so). Ctrl-C while the change set is made deletes it again."""
        from botocore.exceptions import BotoCoreError, ClientError

        cfn = self.client("cloudformation")
        status = self.stack_status(stack)
        blocked = blocked_reason(stack, status)
        if blocked is not None:
            raise DeployError(blocked)
        pending = self._pending_change_set(stack)
        if pending is not None:
            raise DeployError(
                f"Another lift deploy of {stack} is under way: its change set {pending['ChangeSetName']} "
                f"({pending.get('ExecutionStatus') or pending.get('Status')}, made at "
                f"{_utc(pending['CreationTime'])}) has not run yet. Wait until it has run (or was declined), then "
                f"deploy again. If no deploy is running (one was killed), delete it: `aws cloudformation "
                f"delete-change-set --stack-name {stack} --change-set-name {pending['ChangeSetName']}`"
                + (f" and `aws cloudformation delete-stack --stack-name {stack}`" if status in _LEFTOVER else "")
                + f"; lift deploy takes one older than {_PENDING_SECONDS // 60} minutes for a leftover."
            )
        if status in _LEFTOVER:
            why = "a failed first create" if status == "ROLLBACK_COMPLETE" else "a change set never executed"
            on_note(f"{stack} is {status} ({why}): deleting the empty stack before creating it again")
            cfn.delete_stack(StackName=stack)
            self._wait_deleted(stack)
            status = None
        kind = "UPDATE" if status not in (None, "REVIEW_IN_PROGRESS") else "CREATE"
        # unique: two deploys in one second must not make (or execute) one change set of one name
        name = f"lift-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"
        kwargs: dict[str, Any] = {
            "StackName": stack,
            "ChangeSetName": name,
            "ChangeSetType": kind,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "Capabilities": CAPABILITIES,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if len(template_body.encode()) <= _TEMPLATE_BODY_LIMIT:
            kwargs["TemplateBody"] = template_body
        else:
            key = f"{prefix}/templates/{hashlib.sha256(template_body.encode()).hexdigest()}.json"
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=template_body.encode())
            kwargs["TemplateURL"] = f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}"
        try:
            try:
                stack_id = str(cfn.create_change_set(**kwargs).get("StackId") or "")
            except (ClientError, BotoCoreError) as exc:
                if any(text in _error_text(exc) for text in _NO_CHANGES):
                    return Plan(stack, None, kind, [])
                raise DeployError(f"Creating the change set failed: {_error_text(exc)}") from None
            described = self._wait_change_set(stack, name)
        except KeyboardInterrupt:
            self.discard_interrupted(Plan(stack, name, kind, []))
            raise
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason") or ""
            cfn.delete_change_set(StackName=stack, ChangeSetName=name)
            if any(text in reason for text in _NO_CHANGES):
                return Plan(stack, None, kind, [])
            raise DeployError(f"The change set failed: {reason}")
        changes = [
            Change(
                rc["Action"],
                rc.get("LogicalResourceId", ""),
                rc.get("ResourceType", ""),
                str(rc.get("Replacement") or ""),
            )
            for rc in (c["ResourceChange"] for c in described.get("Changes", []) if "ResourceChange" in c)
        ]
        return Plan(stack, name, kind, changes, stack_id)

    def _pending_change_set(self, stack: str) -> dict[str, Any] | None:
        """A change set of the stack as it is now that another deploy made in the last
        _PENDING_SECONDS and that has not run (being made, or waiting to execute), else None."""
        from botocore.exceptions import ClientError

        stack_id = self._stack_id(stack)
        if stack_id is None:
            return None
        try:
            summaries = [
                summary
                for page in self.reader().get_paginator("list_change_sets").paginate(StackName=stack)
                for summary in page.get("Summaries", [])
            ]
        except ClientError:  # gone, or a deploy role without cloudformation:ListChangeSets: no guard, as before
            return None
        now = datetime.now(UTC)
        for summary in summaries:
            created = summary.get("CreationTime")
            waiting = summary.get("ExecutionStatus") in ("AVAILABLE", "UNAVAILABLE") and summary.get("Status") in (
                "CREATE_PENDING",
                "CREATE_IN_PROGRESS",
                "CREATE_COMPLETE",
            )
            if (
                summary.get("StackId") == stack_id  # (moto lists every stack's change sets)
                and waiting
                and isinstance(created, datetime)
                and (now - created).total_seconds() < _PENDING_SECONDS
            ):
                return dict(summary)
        return None

    def _wait_change_set(self, stack: str, name: str) -> dict[str, Any]:
        for _ in range(600):
            described = self.reader().describe_change_set(StackName=stack, ChangeSetName=name)
            if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
                return described
            time.sleep(1)
        raise DeployError(f"The change set {name} was not ready after 10 minutes")

    def discard(self, plan: Plan) -> None:
        """Delete an unexecuted change set (and the empty stack a CREATE change set made)."""
        if plan.change_set is None:
            return
        cfn = self.client("cloudformation")
        cfn.delete_change_set(StackName=plan.stack, ChangeSetName=plan.change_set)
        if plan.kind == "CREATE":
            cfn.delete_stack(StackName=plan.stack_id or plan.stack)

    def discard_interrupted(self, plan: Plan) -> None:
        """`discard` after a Ctrl-C, held against a second one; the change set may not exist yet."""
        from lift.deploy.interrupts import holding_interrupts

        cfn = self.client("cloudformation")
        with holding_interrupts():
            try:
                cfn.delete_change_set(StackName=plan.stack, ChangeSetName=plan.change_set)
            except Exception:
                pass  # never created (Ctrl-C came first), or already gone
            if plan.kind == "CREATE":
                try:
                    cfn.delete_stack(StackName=plan.stack)
                except Exception:
                    pass

    def execute(
        self, plan: Plan, on_event: Callable[[StackEvent], None] = lambda e: None, poll: float = 2.0
    ) -> DeployOutcome:
        """Execute the change set and follow the stack's events until it settles.

        Ctrl-C raises KeyboardInterrupt out of here: `interrupted(plan)` then leaves AWS in a known state."""
        cfn = self.client("cloudformation")
        newest = self.events(plan.stack, pages=1)[-1:]  # the event before this deployment's first one
        self._before = newest[0].event_id if newest else None
        self._seen = {e.event_id or e.timestamp + e.logical_id + e.status for e in newest}
        try:
            cfn.execute_change_set(StackName=plan.stack, ChangeSetName=plan.change_set)
        except Exception as exc:
            return self._refused(plan, _error_text(exc))
        collected, status = self._follow(plan.stack, on_event, poll)
        outputs = self.outputs(plan.stack)
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return DeployOutcome("created" if plan.kind == "CREATE" else "updated", status, "", collected, outputs)
        failure = first_failure(collected)
        reason = f"{failure.logical_id} ({failure.resource_type}): {failure.reason}" if failure else status
        return DeployOutcome("failed", status, reason, collected, outputs, failure_verdict(plan.stack, status))

    def _follow(self, stack: str, on_event: Callable[[StackEvent], None], poll: float) -> tuple[list[StackEvent], str]:
        """Pass each new stack event to `on_event` until the stack settles; (events, final status)."""
        collected: list[StackEvent] = []
        while True:
            status = self.stack_status(stack) or "DELETE_COMPLETE"
            events = self.events(stack, after=self._before)
            for event in events:
                key = event.event_id or event.timestamp + event.logical_id + event.status
                if key not in self._seen:
                    self._seen.add(key)
                    collected.append(event)
                    on_event(event)
            if events and events[-1].event_id:
                self._before = events[-1].event_id  # the next poll reads only what came after
            if status.endswith(_DONE):
                return collected, status
            time.sleep(poll)

    def _refused(self, plan: Plan, reason: str) -> DeployOutcome:
        """ExecuteChangeSet answered an error. On AWS the change set did not run (the failures of a
        run are stack events); moto runs it inside the call, raises a resource's error there and
        rolls nothing back. Either way a first create leaves a stack that would block the next
        deploy: it is deleted (with what moto had created of it)."""
        from lift.deploy.interrupts import holding_interrupts

        events = self.events(plan.stack, after=getattr(self, "_before", None))
        if plan.kind != "CREATE":
            try:  # it did not run: left there, the next deploy would take it for another one under way
                self.client("cloudformation").delete_change_set(StackName=plan.stack, ChangeSetName=plan.change_set)
            except Exception:
                pass  # gone with the stack's update, or refused: then it stays, and ages
            status = self.stack_status(plan.stack) or ""
            return DeployOutcome(
                "failed", status, reason, events, verdict=f"ExecuteChangeSet failed: {plan.stack} is still {status}."
            )
        if plan.stack_id and self._stack_id(plan.stack) not in (None, plan.stack_id):
            verdict = (
                f"{plan.stack} is another deploy's now (its stack was made again since this one's change set): "
                "left as it is."
            )
            return DeployOutcome("failed", self.stack_status(plan.stack) or "", reason, events, verdict=verdict)
        try:
            with holding_interrupts():
                self.client("cloudformation").delete_stack(StackName=plan.stack_id or plan.stack)
                self._wait_deleted(plan.stack_id or plan.stack)
        except Exception as exc:
            status = self.stack_status(plan.stack) or ""
            verdict = (
                f"The stack could not be deleted ({_error_text(exc)}): {plan.stack} is {status}; "
                "delete it (lift destroy) before deploying again."
            )
            return DeployOutcome("failed", status, reason, events, verdict=verdict)
        verdict = f"Nothing was created: the stack {plan.stack} was deleted again, so the next deploy starts clean."
        return DeployOutcome("failed", "DELETE_COMPLETE", reason, events, verdict=verdict)

    def interrupted(
        self, plan: Plan, on_event: Callable[[StackEvent], None] = lambda e: None, poll: float = 2.0
    ) -> DeployOutcome:
        """Leave AWS in a known state after Ctrl-C during `execute`, and say which.

        An update is cancelled (CancelUpdateStack): CloudFormation rolls it back and this follows
        the rollback to its end (a second Ctrl-C stops following; the rollback goes on in AWS). A
        create cannot be cancelled: its state is reported as it stands. A change set the Ctrl-C
        kept from running is deleted."""
        from lift.deploy.interrupts import holding_interrupts

        if not hasattr(self, "_seen"):
            self._seen, self._before = set(), None
        with holding_interrupts():  # a second Ctrl-C must not cut these calls in half
            early = self._settle_interrupted(plan)
        if early is not None:
            return early
        try:
            events, status = self._follow(plan.stack, on_event, poll)
        except KeyboardInterrupt:
            status = self.stack_status(plan.stack) or ""
            verdict = (
                f"Stopped following: CloudFormation goes on rolling {plan.stack} back ({status}) to what it was "
                "before this deploy."
            )
            return DeployOutcome("interrupted", status, "the update was cancelled", verdict=verdict)
        return DeployOutcome(
            "interrupted", status, "the update was cancelled", events, verdict=_as_it_stands(plan, status)
        )

    def lost(self, plan: Plan, exc: BaseException) -> DeployOutcome:
        """AWS stopped answering while the change set ran (network, expired credentials): what is
        known, i.e. the error and the stack's status if it can still be read."""
        try:
            status = self.stack_status(plan.stack) or "DELETE_COMPLETE"
        except Exception:
            status = ""
        reason = f"lost contact with CloudFormation while following {plan.stack}: {_error_text(exc)}"
        if status:
            return DeployOutcome("unknown", status, reason, verdict=_as_it_stands(plan, status))
        verdict = (
            f"Its state cannot be read now; the {plan.kind.lower()} goes on in CloudFormation without lift and "
            f"completes or rolls back by itself. Follow it with "
            f"`aws cloudformation describe-stack-events --stack-name {plan.stack}`."
        )
        return DeployOutcome("unknown", status, reason, verdict=verdict)

    def _settle_interrupted(self, plan: Plan) -> DeployOutcome | None:
        """Delete a change set that had not run, report a create, cancel an update (None: cancelled)."""
        cfn = self.client("cloudformation")
        try:
            execution = self.reader().describe_change_set(StackName=plan.stack, ChangeSetName=plan.change_set)
            not_run = execution.get("ExecutionStatus") == "AVAILABLE"
        except Exception:
            not_run = False  # gone: it ran (CloudFormation deletes executed change sets in time)
        if not_run:
            self.discard_interrupted(plan)
            status = self.stack_status(plan.stack) or "DELETE_COMPLETE"
            verdict = f"The change set had not started: it was deleted and {plan.stack} is unchanged ({status})."
            return DeployOutcome("interrupted", status, "interrupted before the change set ran", verdict=verdict)
        if plan.kind == "CREATE":
            status = self.stack_status(plan.stack) or "DELETE_COMPLETE"
            reason = "CloudFormation cannot cancel a stack create"
            return DeployOutcome("interrupted", status, reason, verdict=_as_it_stands(plan, status))
        try:
            cfn.cancel_update_stack(StackName=plan.stack)
        except Exception as exc:
            status = self.stack_status(plan.stack) or ""
            reason = f"CloudFormation did not cancel the update: {_error_text(exc)}"
            return DeployOutcome("interrupted", status, reason, verdict=_as_it_stands(plan, status))
        return None

    def events(self, stack: str, after: str | None = None, pages: int | None = None) -> list[StackEvent]:
        """The stack's events, oldest first: those newer than the event `after` (an EventId).

        DescribeStackEvents answers 100 events a page, newest first; its pages are read (NextToken)
        only until the page holding `after`, so following a deployment never reads the stack's whole
        history. `pages` caps the pages read (1: the newest events only). Without `after` and
        `pages` every page is read: a stack that did not exist before the deployment."""
        from botocore.exceptions import ClientError

        raw: list[dict[str, Any]] = []
        try:
            for page in self.reader().get_paginator("describe_stack_events").paginate(StackName=stack):
                found = page.get("StackEvents", [])
                ids = [e.get("EventId") for e in found]
                if after is not None and after in ids:
                    raw += found[: ids.index(after)]
                    break
                raw += found
                if pages is not None and (pages := pages - 1) <= 0:
                    break
        except ClientError:
            if not raw:
                return []
        events = [
            StackEvent(
                str(e.get("Timestamp", "")),
                e.get("LogicalResourceId", ""),
                e.get("ResourceType", ""),
                e.get("ResourceStatus", ""),
                e.get("ResourceStatusReason", "") or "",
                e.get("EventId", ""),
            )
            for e in raw
        ]
        return list(reversed(events))

    def outputs(self, stack: str) -> dict[str, str]:
        try:
            found = self.reader().describe_stacks(StackName=stack)["Stacks"][0]
        except Exception:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}

    def stack_resources(self, stack: str) -> dict[str, dict[str, str]]:
        """Logical id -> {type, physical id, status} of the stack's resources."""
        out: dict[str, dict[str, str]] = {}
        for page in self.reader().get_paginator("list_stack_resources").paginate(StackName=stack):
            for r in page["StackResourceSummaries"]:
                out[r.get("LogicalResourceId", "")] = {
                    "type": r.get("ResourceType", ""),
                    "physical_id": r.get("PhysicalResourceId", ""),
                    "status": r.get("ResourceStatus", ""),
                }
        return out

    # -- destroy ----------------------------------------------------------------------------------
    def destroy(self, stack: str) -> list[str]:
        """Delete the stack and wait; returns what it leaves (kept by DeletionPolicy), each as
        `<physical name> (<type>)`: the names to delete by hand, or that the stage's next deploy finds."""
        cfn = self.client("cloudformation")
        if self.stack_status(stack) is None:
            raise DeployError(f"There is no stack {stack} in {self.region}")
        template = self.reader().get_template(StackName=stack)["TemplateBody"]
        if isinstance(template, str):
            template = json.loads(template)
        made = self.stack_resources(stack)
        retained = [
            f"{made.get(logical_id, {}).get('physical_id') or logical_id} ({resource['Type']})"
            for logical_id, resource in template.get("Resources", {}).items()
            if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
            # a retained version goes with its function: Lambda deletes a function's versions with it
            and resource.get("Type") != "AWS::Lambda::Version"
        ]
        cfn.delete_stack(StackName=stack)
        self._wait_deleted(stack)
        return retained

    def _wait_deleted(self, stack: str) -> None:
        for _ in range(900):
            status = self.stack_status(stack)
            if status in (None, "DELETE_COMPLETE"):
                return
            if status == "DELETE_FAILED":
                newest = self.events(stack, pages=1)[-1:]
                raise DeployError(f"Deleting {stack} failed: {newest[0].reason if newest else ''}")
            time.sleep(2)
        raise DeployError(f"{stack} was not deleted after 30 minutes")

    # -- the audit trail -----------------------------------------------------------------------
    def write_record(self, bucket: str, prefix: str, record: dict[str, Any]) -> str:
        # keyed by the time of writing to the microsecond: two deploys within one second (a failed one
        # and its retry) keep their order in `records` and never overwrite each other
        written = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S.%fZ")
        key = f"{prefix}/deployments/{written}-{record['template_sha256'][:8]}.json"
        self.client("s3").put_object(
            Bucket=bucket, Key=key, Body=json.dumps(record, indent=2).encode(), ContentType="application/json"
        )
        return key

    def records(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        """Every deployment record of the stage, oldest first."""
        s3 = self.client("s3")
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/deployments/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return [json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in sorted(keys)]


def _utc(when: Any) -> str:
    """A time CloudFormation gave, in UTC to the second."""
    return when.astimezone(UTC).strftime("%H:%M:%S UTC") if isinstance(when, datetime) else str(when)


def _as_it_stands(plan: Plan, status: str) -> str:
    """What a stack in `status` means after an interrupted deploy of `plan`."""
    if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return f"The {plan.kind.lower()} had already finished: {plan.stack} is {status} and runs this deploy."
    if status == "DELETE_COMPLETE":
        return f"{plan.stack} does not exist."
    if status.endswith("_IN_PROGRESS"):
        return (
            f"CloudFormation goes on with the {plan.kind.lower()} of {plan.stack} ({status}): it completes or rolls "
            f"back by itself. Follow it with `aws cloudformation describe-stack-events --stack-name {plan.stack}`."
        )
    return failure_verdict(plan.stack, status)


def project_name(root: Path) -> str:
    """The project a deploy comes from (tagged on its stack): pyproject.toml's [project] name, else
    the name of the project's directory."""
    import tomllib

    try:
        name = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        name = None
    return name if isinstance(name, str) and name else root.resolve().name


def git_commit(root: Path) -> str:
    """`<sha>` (`<sha>+dirty` with uncommitted changes), or "" outside a git repository."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return ""


def deployment_record(
    aws: Aws,
    stack: str,
    stage: str,
    root: Path,
    artifact_sha: str,
    template_body: str,
    outcome: DeployOutcome,
    changes: int,
) -> dict[str, Any]:
    """Who, when, what (git commit, artifact and template hashes) and how it went."""
    try:
        who = aws.identity().get("Arn", "")
    except Exception:
        who = ""
    return {
        "stack": stack,
        "stage": stage,
        "region": aws.region,
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "who": who,
        "user": getpass.getuser(),
        "git_commit": git_commit(root),
        "artifact_sha256": artifact_sha,
        "template_sha256": hashlib.sha256(template_body.encode()).hexdigest(),
        "outcome": outcome.outcome,
        "stack_status": outcome.stack_status,
        "reason": outcome.reason,
        "changes": changes,
    }
