"""`lift deploy` failures against moto: the first failing reason, exit 1, a failed record in the history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3

APP = """
from lift import App

app = App(name="{name}")


@app.get("/ping")
def ping() -> dict:
    return {{"ok": True}}
"""


PYPROJECT = '[tool.lift]\napp = "app:app"\nregion = "us-east-1"\n'


def project_with_package(root: Path, app: str, packaged: Path) -> Path:
    """A project in `root` (`app` as its app.py) and its package.zip: the session's build of APP
    (fixture packaged_app) with this app.py in place of the one it was built from."""
    (root / "app.py").write_text(app)
    (root / "pyproject.toml").write_text(PYPROJECT)
    with zipfile.ZipFile(packaged) as built, zipfile.ZipFile(root / "package.zip", "w") as copy:
        assert "app.py" in built.namelist()
        for entry in built.infolist():
            copy.writestr(entry, app if entry.filename == "app.py" else built.read(entry))
    return root / "package.zip"


def lift(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args], cwd=cwd, capture_output=True, text=True, env=full, timeout=300
    )


def test_a_failing_deploy_prints_the_first_failing_reason_and_records_it(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    name = f"fail{uuid.uuid4().hex[:8]}"
    project_with_package(tmp_path, APP.format(name=name), packaged_app)
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    # the function's log group already exists (made by hand, or by an earlier function of that name)
    boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1").create_log_group(
        logGroupName=f"/aws/lambda/{name}-dev"
    )
    result = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "Deploy failed" in result.stderr and "log group already exists" in result.stderr
    history = json.loads(lift("deploy", "history", "dev", "--json", cwd=tmp_path, env=env).stdout)
    assert [(r["outcome"], r["stack"]) for r in history] == [("failed", f"{name}-dev")]
    assert "already exists" in history[0]["reason"]


def test_each_deployment_is_appended_to_the_audit_trail(tmp_path: Path, moto_endpoint: str, packaged_app: Path) -> None:
    from lift.audit import DynamoDBAuditSink, create_audit_table

    name = f"aud{uuid.uuid4().hex[:8]}"
    table = f"{name}-audit"
    create_audit_table(table, region="us-east-1", endpoint_url=moto_endpoint)
    project_with_package(tmp_path, APP.format(name=name), packaged_app)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.lift]\napp = "app:app"\nregion = "us-east-1"\naudit_table = "{table}"\n'
    )
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1").create_log_group(
        logGroupName=f"/aws/lambda/{name}-dev"
    )  # the deploy fails on it, and a failed deploy is audited too
    assert lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env).returncode == 1
    [entry] = list(DynamoDBAuditSink(table, region="us-east-1", endpoint_url=moto_endpoint).entries())
    assert (entry.action, entry.outcome, entry.target, entry.admin) == ("deploy.failed", "failure", f"{name}-dev", True)
    assert entry.details["template_sha256"] and "already exists" in entry.details["reason"]
    verified = lift(
        "audit",
        "verify",
        "--dynamodb-table",
        table,
        "--region",
        "us-east-1",
        "--endpoint-url",
        moto_endpoint,
        cwd=tmp_path,
        env=env,
    )
    assert verified.returncode == 0 and "1 entries in 1 chain(s): intact" in verified.stdout


def test_deploy_without_yes_and_without_a_terminal_refuses_and_leaves_nothing(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    name = f"ask{uuid.uuid4().hex[:8]}"
    project_with_package(tmp_path, APP.format(name=name), packaged_app)
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    result = lift("deploy", "dev", "--package", "package.zip", cwd=tmp_path, env=env)
    assert result.returncode == 2 and "pass --yes" in result.stderr
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert f"{name}-dev" not in {
        s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    }


def test_dependencies_in_a_layer_are_packaged_checked_and_deployed(tmp_path: Path, moto_endpoint: str) -> None:
    name = f"layer{uuid.uuid4().hex[:8]}"
    (tmp_path / "app.py").write_text(APP.format(name=name))
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\ndependencies = ["lift-lambda"]\n\n'
        '[tool.lift]\napp = "app:app"\nregion = "us-east-1"\narchitecture = "x86_64"\ndependencies_layer = true\n'
    )
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    built = lift("package", "--check", "--json", "-o", "package.zip", cwd=tmp_path, env=env)
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    import zipfile

    code = zipfile.ZipFile(tmp_path / "package.zip").namelist()
    layer = zipfile.ZipFile(tmp_path / "layer.zip").namelist()
    assert "app.py" in code and not [n for n in code if n.startswith("msgspec")]
    assert any(n.startswith("python/msgspec/") for n in layer) and report["check"]["callable"] is True
    deployed = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    # moto does not attach layers to functions: check what lift gave CloudFormation and S3
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    params = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in cfn.describe_stacks(StackName=f"{name}-dev")["Stacks"][0]["Parameters"]
    }
    assert params["LayerS3Key"] == f"{name}/dev/artifacts/{report['layer']['sha256']}.zip"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert (
        s3.head_object(Bucket=params["CodeS3Bucket"], Key=params["LayerS3Key"])["ContentLength"]
        == report["layer"]["zipped"]
    )


def test_a_failed_create_leaves_nothing_and_a_failed_update_leaves_the_stack_as_it_was(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    """moto 5 has no rollback: it executes a change set inside ExecuteChangeSet, answers the first
    failing resource's error there and keeps what it had created (its stack stays REVIEW_IN_PROGRESS,
    never ROLLBACK_COMPLETE). What Lift must do with that is what it does on AWS: say why, exit 1,
    and leave nothing that blocks the next deploy once the cause is fixed."""
    name = f"rb{uuid.uuid4().hex[:8]}"
    stack = f"{name}-dev"
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    kw = {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}
    sqs, logs = boto3.client("sqs", **kw), boto3.client("logs", **kw)
    cfn = boto3.client("cloudformation", **kw)
    consumer = f'\n\n@app.sqs("{name}-orders")\ndef on_order(body: dict) -> None: ...\n'
    project_with_package(tmp_path, APP.format(name=name) + consumer, packaged_app)
    taken = sqs.create_queue(QueueName=f"{name}-orders-dev")["QueueUrl"]  # someone else's queue of that name

    created = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert created.returncode == 1
    said = " ".join(created.stderr.split())
    assert "Deploy failed (DELETE_COMPLETE): The specified queue already exists." in said
    assert f"Nothing was created: the stack {stack} was deleted again" in said
    # what moto had created before the queue failed (the log group, the function) went with the stack
    assert not logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack}")["logGroups"]
    assert stack not in {
        s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    }

    sqs.delete_queue(QueueUrl=taken)  # the cause fixed: the next deploy creates the stack
    again = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert f"created: {stack} is CREATE_COMPLETE" in again.stdout

    taken = sqs.create_queue(QueueName=f"{name}-payments-dev")["QueueUrl"]
    payments = f'\n\n@app.sqs("{name}-payments")\ndef on_payment(body: dict) -> None: ...\n'
    (tmp_path / "app.py").write_text(APP.format(name=name) + consumer + payments)
    updated = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert updated.returncode == 1
    said = " ".join(updated.stderr.split())
    assert "Deploy failed (CREATE_COMPLETE): The specified queue already exists." in said
    assert f"ExecuteChangeSet failed: {stack} is still CREATE_COMPLETE" in said

    sqs.delete_queue(QueueUrl=taken)
    fixed = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert fixed.returncode == 0, fixed.stderr
    assert f"updated: {stack} is UPDATE_COMPLETE" in fixed.stdout
    history = json.loads(lift("deploy", "history", "dev", "--json", cwd=tmp_path, env=env).stdout)
    assert [r["outcome"] for r in history] == ["failed", "created", "failed", "updated"]


def test_deployment_records_within_one_second_keep_their_order_and_both_stay(moto_endpoint: str) -> None:
    """A failed deploy and its retry a moment later (same second, same template): history shows both,
    oldest first; neither overwrites the other."""
    from lift.deploy.aws import Aws

    aws = Aws("us-east-1", endpoint_url=moto_endpoint)
    bucket = f"records-{uuid.uuid4().hex[:8]}"
    aws.client("s3").create_bucket(Bucket=bucket)
    for outcome in ("failed", "created", "updated"):
        record = {"when": "2026-12-04T19:53:01Z", "template_sha256": "ab" * 32, "outcome": outcome}
        aws.write_record(bucket, "svc/dev", record)

    assert [r["outcome"] for r in aws.records(bucket, "svc/dev")] == ["failed", "created", "updated"]


APP_ROUTE = """

@app.get("/extra")
def extra() -> dict:
    return {}
"""


def test_a_second_project_with_the_same_app_name_is_refused_and_leaves_the_first_as_it_was(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    name = f"twin{uuid.uuid4().hex[:8]}"
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    projects, packages = {}, {}
    for project, route in (("billing", "/invoices"), ("search", "/query")):
        root = projects[project] = tmp_path / project
        root.mkdir()
        packages[project] = project_with_package(root, APP.format(name=name).replace("/ping", route), packaged_app)
    package = str(packages["billing"])  # one zip for both: what differs here is the template
    first = lift("deploy", "dev", "--yes", "--package", package, cwd=projects["billing"], env=env)
    assert first.returncode == 0, first.stderr
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")

    def routes() -> set[str]:  # of the stack's template (moto lists no ApiGatewayV2 resource)
        body = cfn.get_template(StackName=f"{name}-dev")["TemplateBody"]
        resources = (body if isinstance(body, dict) else json.loads(body))["Resources"]
        return {k for k, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Route"}

    assert "HttpApiRouteGetInvoices" in routes()
    second = lift("deploy", "dev", "--yes", "--package", package, cwd=projects["search"], env=env)
    assert second.returncode == 1
    assert f"{name}-dev (us-east-1) was deployed from another project, 'billing' (this one is 'search')" in (
        second.stderr.replace("\n", " ")
    )
    assert "HttpApiRouteGetInvoices" in routes() and "HttpApiRouteGetQuery" not in routes()
    destroyed = lift("destroy", "dev", "--yes", cwd=projects["search"], env=env)
    assert destroyed.returncode == 1 and "deleting it would delete that app" in destroyed.stderr.replace("\n", " ")
    copy = tmp_path / "billing-copy"  # the same app from another directory (a CI checkout) removes nothing
    copy.mkdir()
    for file in ("app.py", "pyproject.toml"):
        (copy / file).write_text((projects["billing"] / file).read_text())
    (copy / "app.py").write_text((copy / "app.py").read_text() + APP_ROUTE)
    same = lift("deploy", "dev", "--yes", "--package", package, cwd=copy, env=env)
    assert same.returncode == 0, same.stderr
    assert {"HttpApiRouteGetInvoices", "HttpApiRouteGetExtra"} <= routes()


def test_a_stage_in_two_regions_is_deployed_in_both_and_a_second_deploy_changes_nothing(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    """`regions = ["us-east-1", "eu-west-1"]`: lift deploy made the first region's stack only, and
    said nothing of the second."""
    name = f"two{uuid.uuid4().hex[:8]}"
    project_with_package(tmp_path, APP.format(name=name), packaged_app)
    (tmp_path / "pyproject.toml").write_text('[tool.lift]\napp = "app:app"\nregions = ["us-east-1", "eu-west-1"]\n')
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    first = lift("deploy", "prod", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.index("region us-east-1 (1 of 2)") < first.stdout.index("region eu-west-1 (2 of 2)")
    for region in ("us-east-1", "eu-west-1"):
        cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name=region)
        [stack] = cfn.describe_stacks(StackName=f"{name}-prod")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        function = boto3.client("lambda", endpoint_url=moto_endpoint, region_name=region).get_function(
            FunctionName=f"{name}-prod"
        )
        assert function["Configuration"]["FunctionArn"].split(":")[3] == region
    again = lift("deploy", "prod", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count(f"no changes: {name}-prod is up to date") == 2
    gone = lift("destroy", "prod", "--yes", cwd=tmp_path, env=env)  # both regions too, the first last
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert gone.stdout.index("in eu-west-1") < gone.stdout.index("in us-east-1")
    for region in ("us-east-1", "eu-west-1"):
        cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name=region)
        assert f"{name}-prod" not in {
            s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
        }


def _queue_template(queue: str) -> str:
    return json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}}}})


def test_a_deploy_of_a_stage_another_deploy_is_about_to_create_is_refused(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    """Two `lift deploy` of a new stage at once: the second took the first's change set, still at
    its confirmation question, for a leftover and deleted it with its stack (then made its own under
    the same second-resolution name, which the first then executed: it deployed the other's template)."""
    from lift.deploy.aws import Aws

    name = f"race{uuid.uuid4().hex[:8]}"
    stack = f"{name}-dev"
    project_with_package(tmp_path, APP.format(name=name), packaged_app)
    first = Aws("us-east-1", endpoint_url=moto_endpoint)
    waiting = first.plan(stack, _queue_template(f"{name}-first"), {}, {}, "unused", "unused")  # at its question

    second = lift(
        "deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env={"AWS_ENDPOINT_URL": moto_endpoint}
    )
    assert second.returncode == 1
    said = " ".join(second.stderr.split())
    assert f"Another lift deploy of {stack} is under way: its change set {waiting.change_set}" in said

    outcome = first.execute(waiting, poll=0.1)  # the first deploy goes on with its own template
    assert (outcome.outcome, outcome.stack_status) == ("created", "CREATE_COMPLETE")
    assert {r["type"] for r in first.stack_resources(stack).values()} == {"AWS::SQS::Queue"}


def test_a_failed_first_create_deletes_its_own_stack_never_one_made_again_since(moto_endpoint: str) -> None:
    """A first create whose ExecuteChangeSet fails deletes the stack its change set made; when that
    stack was deleted and made again by another deploy meanwhile, the other's stays."""
    from lift.deploy.aws import Aws

    stack = f"again{uuid.uuid4().hex[:8]}"
    first = Aws("us-east-1", endpoint_url=moto_endpoint)
    plan = first.plan(stack, _queue_template(f"{stack}-a"), {}, {}, "unused", "unused")
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    cfn.delete_stack(StackName=stack)  # (its change set then cannot run)
    other = cfn.create_change_set(
        StackName=stack, ChangeSetName="other", ChangeSetType="CREATE", TemplateBody=_queue_template(f"{stack}-b")
    )["StackId"]

    outcome = first.execute(plan, poll=0.1)
    assert outcome.outcome == "failed" and "another deploy's now" in outcome.verdict
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"] == other


def test_destroy_names_what_it_keeps_and_a_new_deploy_of_the_stage_says_they_block_it(
    tmp_path: Path, moto_endpoint: str, packaged_app: Path
) -> None:
    """`lift destroy` keeps the stage's tables (retain): it listed them by logical id (and the
    function's versions, which go with the function), and the stage's next deploy then failed in
    CloudFormation on 'Table already exists' after uploading, saying nothing of why or what to do."""
    name = f"kept{uuid.uuid4().hex[:8]}"
    store = f'\nfrom lift.stores.dynamodb import DynamoDBStore\n\napp.add_store(DynamoDBStore("{name}-state"))\n'
    project_with_package(tmp_path, APP.format(name=name) + store, packaged_app)
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    assert lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env).returncode == 0

    gone = lift("destroy", "dev", "--yes", cwd=tmp_path, env=env)
    assert gone.returncode == 0, gone.stderr
    kept = [line.split(": ", 1)[1] for line in gone.stdout.splitlines() if "retained" in line]
    assert kept == [f"{name}-state-dev (AWS::DynamoDB::Table)"]

    again = lift("deploy", "dev", "--yes", "--package", "package.zip", cwd=tmp_path, env=env)
    assert again.returncode == 1
    said = " ".join(again.stderr.split())
    assert (
        f"{name}-dev does not exist in us-east-1, but what it would create does: {name}-state-dev (DynamoDB table)"
        in said
    )
    assert "To start empty, delete them" in said and "--change-set-type IMPORT" in said
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert f"{name}-dev" not in {  # refused before any change set (every other first deploy passes the check)
        s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    }
