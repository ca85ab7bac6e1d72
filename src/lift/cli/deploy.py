"""`lift synth`, `lift package`, `lift deploy`, `lift destroy`, `lift logs`, `lift metrics`, `lift health`:
the command-line side of `lift.deploy` (the logic lives there; this module parses, prints and exits)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lift.cli.common import USAGE, err, fail, load, print_json

APP_OPTION = typer.Option(None, "--app", help="The app as module:attr (default: [tool.lift] app, or app.py/main.py).")
STAGE_ARGUMENT = typer.Argument(None, help="The stage (default: [tool.lift] default_stage, else dev).")


def deployment_for(app_ref: str | None, stage: str | None, region: str | None = None) -> Any:
    """Load the config of the current directory and the app, and build the stage's Deployment."""
    from lift.deploy import ConfigError, build_deployment, load_config

    try:
        config = load_config(Path.cwd())
    except ConfigError as exc:
        fail(str(exc), USAGE)
    app, ref = load(app_ref or config.app)
    try:
        return build_deployment(app, config, stage, handler=ref.handler, region=region)
    except ConfigError as exc:
        fail(str(exc), USAGE)


PROJECT_FORMATS = ("terraform", "pulumi", "cdk")  # written as a directory of files, not one template


def synth(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    format: str = typer.Option(
        "cloudformation", "--format", "-f", help="cloudformation, sam, terraform, pulumi or cdk."
    ),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Directory to write to (default: .lift/STAGE, .lift/STAGE/terraform, .lift/pulumi, .lift/cdk).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write the stage's template (template.json and template.yaml) and print what it creates.

    `--format terraform` writes the stage's Terraform module; `--format pulumi` a Pulumi project
    (a stack per stage) and `--format cdk` a CDK app (a stack per stage), both instantiating
    Lift's LiftService from the app."""
    from lift.deploy.cloudformation import FORMATS, render, summary, to_json, to_yaml

    if format not in (*FORMATS, *PROJECT_FORMATS):
        fail(f"Unknown format {format!r}; choose one of: {', '.join((*FORMATS, *PROJECT_FORMATS))}", USAGE)
    if format in ("pulumi", "cdk"):
        deployment, files, out = _provider_project(app, stage, format, output)
    else:
        deployment = deployment_for(app, stage)
    if format == "terraform":
        from lift.deploy.terraform import render as render_terraform
        from lift.deploy.terraform import to_files

        out = output or Path(".lift") / deployment.stage / "terraform"
        files = to_files(render_terraform(deployment))
    if format in PROJECT_FORMATS:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        # the same model: its summary says what the files create (their formats have no stack quotas)
        cfn = render(deployment, "cloudformation", check=False)
        info = summary(deployment, cfn)
        info["stack"], info["output"], info["files"] = deployment.stack_name, str(out), sorted(files)
        if as_json:
            print_json(info)
            return
        print_summary(info)
        return
    template = rendered(deployment, format)
    out = output or Path(".lift") / deployment.stage
    out.mkdir(parents=True, exist_ok=True)
    (out / "template.json").write_text(to_json(template), encoding="utf-8")
    (out / "template.yaml").write_text(to_yaml(template), encoding="utf-8")
    info = summary(deployment, template)
    info["stack"], info["output"] = deployment.stack_name, str(out)
    if as_json:
        print_json(info)
        return
    print_summary(info)


def rendered(deployment: Any, format: str = "cloudformation") -> dict[str, Any]:
    """The stage's template; one CloudFormation would refuse (too many resources) exits 2 saying why."""
    from lift.deploy import ConfigError
    from lift.deploy.cloudformation import render

    try:
        return render(deployment, format)
    except ConfigError as exc:
        fail(str(exc), USAGE)


def _provider_project(
    app_ref: str | None, stage: str | None, format: str, output: Path | None
) -> tuple[Any, Any, Path]:
    """The Pulumi or CDK project of every stage (the config's stages, the default one and `stage`):
    (the deployment of `stage`, the files, the output directory)."""
    from lift.deploy import ConfigError, build_deployment, load_config
    from lift.deploy.projects import cdk_project, pulumi_project

    project = Path.cwd()
    try:
        config = load_config(project)
    except ConfigError as exc:
        fail(str(exc), USAGE)
    lift_app, ref = load(app_ref or config.app)
    stage = stage or config.default_stage
    deployments = {}
    try:
        for name in sorted({*config.stage_names, config.default_stage, stage}):
            deployments[name] = build_deployment(lift_app, config, name, handler=ref.handler)
    except ConfigError as exc:
        fail(str(exc), USAGE)
    out = output or Path(".lift") / format
    make = pulumi_project if format == "pulumi" else cdk_project
    files = make(deployments.values(), project=project, out=out, app_root=ref.root, module=ref.module, attr=ref.attr)
    return deployments[stage], files, out


def print_summary(info: dict[str, Any]) -> None:
    console = Console(highlight=False)
    if "files" in info:
        console.print(f"[bold]{info['stack']}[/bold]: {', '.join(info['files'])} written to {info['output']}")
    else:
        console.print(
            f"[bold]{info['stack']}[/bold]: template written to {info['output']}/template.json and template.yaml"
        )
    resources = Table("resource type", "count", title="Resources")
    for kind, count in info["resources"].items():
        resources.add_row(kind, str(count))
    console.print(resources)
    iam = Table("role", "actions", "on", "why", title="IAM (least privilege, derived from the app)")
    iam.columns[1].no_wrap = True
    for row in info["iam"]:
        on = "\n".join(_short_arn(r) for r in row["resources"])
        iam.add_row(row["role"].removesuffix("Role"), "\n".join(row["actions"]), on, row["why"])
    console.print(iam)
    for warning in info["warnings"]:
        err.print(f"[yellow]warning:[/yellow] {warning}", markup=True)


def package(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    output: Path = typer.Option(None, "--output", "-o", help="The zip to write (default: .lift/STAGE/package.zip)."),
    check: bool = typer.Option(
        False, "--check", help="Import the handler from the unpacked zip in a clean interpreter."
    ),
    no_compile: bool = typer.Option(False, "--no-compile", help="Do not precompile bytecode."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build the deployment zip: the app, lift's runtime and the dependencies for the Lambda platform."""
    result, deployment = build_package_for(app, stage, output, compile=not no_compile)
    report = package_report(result)
    if check:
        from lift.deploy.package import PackageError, check_package

        fn = deployment.function
        try:
            layer = result.layer.path if result.layer is not None else None
            report["check"] = check_package(result.path, fn.handler, fn.runtime, fn.architecture, layer)
        except PackageError as exc:
            fail(str(exc))
    if as_json:
        print_json(report)
        return
    console = Console(highlight=False)
    console.print(
        f"[bold]{result.path}[/bold]: {result.zipped / 2**20:.2f} MB zipped, {result.unzipped / 2**20:.2f} MB unzipped, "
        f"{result.files} files, sha256 {result.sha256[:16]}"
    )
    if result.layer is not None:
        console.print(
            f"[bold]{result.layer.path}[/bold] (dependencies layer): {result.layer.zipped / 2**20:.2f} MB zipped, "
            f"{result.layer.unzipped / 2**20:.2f} MB unzipped"
        )
    console.print(result.compile_note, style="green" if result.compiled else "yellow")
    largest = Table("largest", "unzipped")
    for name, size in result.largest:
        largest.add_row(name, f"{size / 2**20:.2f} MB")
    console.print(largest)
    if check:
        console.print(
            f"[green]check:[/green] {deployment.function.handler} imports from the package in {report['check']['import_ms']} ms"
        )


def build_package_for(app: str | None, stage: str | None, output: Path | None, compile: bool = True) -> tuple[Any, Any]:
    """Build the package of the current project for `stage` (exits with the reason when it cannot)."""
    from lift.deploy.package import PackageError, build_package

    deployment = deployment_for(app, stage)
    from lift.deploy import load_config

    config = load_config(Path.cwd())
    fn = deployment.function
    dest = output or Path(".lift") / deployment.stage / "package.zip"
    try:
        result = build_package(
            Path.cwd(),
            dest,
            app_ref=app or config.app,
            runtime=fn.runtime,
            architecture=fn.architecture,
            include=list(deployment.config.include),
            compile=compile,
            layer_dest=dest.with_name("layer.zip") if deployment.layers else None,
        )
    except PackageError as exc:
        fail(str(exc))
    return result, deployment


def package_report(result: Any) -> dict[str, Any]:
    layer = result.layer
    return {
        "layer": None
        if layer is None
        else {"path": str(layer.path), "sha256": layer.sha256, "zipped": layer.zipped, "unzipped": layer.unzipped},
        "path": str(result.path),
        "sha256": result.sha256,
        "zipped": result.zipped,
        "unzipped": result.unzipped,
        "files": result.files,
        "compiled": result.compiled,
        "compile_note": result.compile_note,
        "largest": [{"name": n, "bytes": b} for n, b in result.largest],
        "requirements": result.requirements,
    }


REGION_OPTION = typer.Option(None, "--region", help="AWS region (default: the stage's region).")
READ_REGION_OPTION = typer.Option(None, "--region", help="One region instead of every region of the stage.")
ENDPOINT_OPTION = typer.Option(
    None,
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="Another AWS endpoint (e.g. moto); boto3 reads AWS_ENDPOINT_URL too.",
)
_STATUS_STYLE = {"COMPLETE": "green", "IN_PROGRESS": "cyan", "FAILED": "red"}


def _aws(deployment: Any, endpoint_url: str | None, region: str | None = None) -> Any:
    from lift.deploy.aws import Aws

    return Aws(region or deployment.region, endpoint_url)


def stage_regions(deployment: Any, region: str | None) -> list[str]:
    """The regions a command reads: `--region`'s, else every region of the stage, the first first."""
    if region:
        return [region]
    return list(deployment.regions) or [deployment.region]


def deploy(
    stage: str = STAGE_ARGUMENT,
    history_stage: str = typer.Argument(None, hidden=True),
    app: str = APP_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Deploy without asking for confirmation."),
    region: str = REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="history: print the records as JSON."),
    package_zip: Path = typer.Option(
        None, "--package", help="Deploy this zip (from lift package) instead of building one."
    ),
    take_over: bool = typer.Option(
        False, "--take-over", help="Deploy over a stack another project's deploy made (this project, renamed)."
    ),
) -> None:
    """Deploy STAGE: package, upload, change set (the diff), confirm, execute and follow the events.

    `lift deploy history STAGE` lists the stage's deployment records (the audit trail)."""
    if stage == "history":
        return deploy_history(history_stage, app, region, endpoint_url, as_json)
    from lift.deploy.interrupts import terminate_as_interrupt

    terminate_as_interrupt()  # a cancelled CI job (SIGTERM) gets the same cleanup as Ctrl-C
    deployment = deployment_for(app, stage, region)
    regions = [deployment.region] if region else list(deployment.regions)
    console = Console(highlight=False)
    # every region of the stage, the first first (it holds the global tables the others replicate):
    # only the first was deployed, and nothing said so; a region that fails stops the ones after it
    for number, name in enumerate(regions, start=1):
        if len(regions) > 1:
            console.print(f"[bold]region {name}[/bold] ({number} of {len(regions)})")
        in_region = deployment if name == deployment.region else deployment_for(app, stage, name)
        _deploy_region(in_region, console, app, yes, endpoint_url, package_zip, take_over)


def _deploy_region(
    deployment: Any,
    console: Console,
    app: str | None,
    yes: bool,
    endpoint_url: str | None,
    package_zip: Path | None,
    take_over: bool,
) -> None:
    """`lift deploy` in the deployment's region: exits unless the stack is deployed (or unchanged)."""
    aws = _aws(deployment, endpoint_url)
    try:
        prepared = _prepare(deployment, aws, console, app, package_zip, yes, take_over)
    except KeyboardInterrupt:
        err.print(
            "\n[yellow]Interrupted before anything was deployed[/yellow]: no change set was executed "
            f"(one being made was deleted); {deployment.stack_name} is as it was."
        )
        raise typer.Exit(130) from None
    if prepared is None:
        return
    plan, result, template_body, bucket, prefix = prepared
    interrupted = False
    try:
        try:
            outcome = aws.execute(plan, on_event=lambda e: print_event(console, e))
        except KeyboardInterrupt:
            interrupted = True
            what = "cancelling the update" if plan.kind == "UPDATE" else "checking the stack"
            err.print(
                f"\n[yellow]Interrupted[/yellow]: {what} of {plan.stack} (Ctrl-C again stops following, not that)"
            )
            outcome = aws.interrupted(plan, on_event=lambda e: print_event(console, e))
    except Exception as exc:  # AWS stopped answering meanwhile (network, expired credentials)
        outcome = aws.lost(plan, exc)
    from lift.deploy.interrupts import holding_interrupts

    with holding_interrupts():  # the audit trail records an interrupted deploy too
        try:
            _record(deployment, aws, plan, result, template_body, bucket, prefix, outcome, endpoint_url)
        except Exception as exc:
            err.print(f"[yellow]The deployment record was not written[/yellow]: {escape(str(exc))}")
    if outcome.outcome == "unknown":
        err.print(
            f"[bold red]Deploy outcome unknown[/bold red] ({outcome.stack_status or 'no status'}): {escape(outcome.reason)}"
        )
        err.print(escape(outcome.verdict))
        err.print(f"Run `lift deploy {deployment.stage}` again once the stack has settled.")
        raise typer.Exit(1)
    if interrupted:
        err.print(
            f"[bold yellow]Deploy interrupted[/bold yellow] ({outcome.stack_status or 'no status'}): {escape(outcome.reason)}"
        )
        err.print(escape(outcome.verdict))
        err.print(f"Resume with `lift deploy {deployment.stage}` once the stack has settled.")
        raise typer.Exit(130)
    if outcome.outcome == "failed":
        err.print(
            f"[bold red]Deploy failed[/bold red] ({outcome.stack_status or 'no status'}): {escape(outcome.reason)}"
        )
        if outcome.verdict:
            err.print(escape(outcome.verdict))
        raise typer.Exit(1)
    console.print(f"[green]{outcome.outcome}[/green]: {plan.stack} is {outcome.stack_status}")
    for name, value in sorted(outcome.outputs.items()):
        console.print(f"  {name}: {value}")


def _prepare(
    deployment: Any,
    aws: Any,
    console: Console,
    app: str | None,
    package_zip: Path | None,
    yes: bool,
    take_over: bool = False,
) -> Any:
    """Package, upload and make the change set, show it and confirm: (plan, package, template,
    bucket, prefix), or None when there is nothing to deploy. Exits when refused or declined."""
    from lift.deploy.aws import PROJECT_TAG, DeployError, project_name
    from lift.deploy.cloudformation import to_json

    template_body = to_json(rendered(deployment))  # refused before anything is built or uploaded
    project = project_name(Path.cwd())
    consequence = "this deploy would remove resources of that app"
    claimed = None if take_over else aws.claimed_by(deployment.stack_name, project, consequence)
    try:
        _refuse_kept_names(deployment, aws)
    except DeployError as exc:
        fail(str(exc))

    if package_zip is not None:
        result = _existing_package(package_zip)
        if deployment.layers:
            result.layer = _existing_package(package_zip.with_name("layer.zip"))
    else:
        result, _ = build_package_for(app, deployment.stage, None)
    prefix = f"{deployment.service}/{deployment.stage}"
    try:
        bucket = aws.artifact_bucket(deployment.artifact_bucket)
        key = aws.upload_artifact(bucket, prefix, result.path, result.sha256)
        console.print(f"artifact: s3://{bucket}/{key} ({result.zipped / 2**20:.2f} MB)")
        parameters = {"CodeS3Bucket": bucket, "CodeS3Key": key}
        if deployment.layers:
            parameters["LayerS3Key"] = aws.upload_artifact(bucket, prefix, result.layer.path, result.layer.sha256)
            console.print(f"layer: s3://{bucket}/{parameters['LayerS3Key']} ({result.layer.zipped / 2**20:.2f} MB)")
        if deployment.cloud_map is not None and not deployment.cloud_map.namespace_id:
            parameters["CloudMapNamespaceId"] = aws.cloud_map_namespace_id(deployment.cloud_map.namespace)
        plan = aws.plan(
            deployment.stack_name,
            template_body,
            parameters,
            {**dict(deployment.tags), PROJECT_TAG: project},
            bucket,
            prefix,
            on_note=lambda note: err.print(f"[yellow]note:[/yellow] {note}"),
        )
    except DeployError as exc:
        fail(str(exc))
    if claimed is not None and any(change.action == "Remove" for change in plan.changes):
        # the same app from another directory (a copy, a CI checkout) removes nothing, and goes on
        aws.discard(plan)
        fail(claimed)
    if plan.empty:
        console.print(f"[green]no changes[/green]: {deployment.stack_name} is up to date")
        return None
    try:
        print_changes(console, plan, deployment)
        if not yes:
            if not _interactive():
                aws.discard(plan)
                fail("Not deploying without confirmation: pass --yes (no terminal to ask on)", USAGE)
            if not typer.confirm(f"Deploy these changes to {deployment.stack_name} ({deployment.region})?"):
                aws.discard(plan)
                err.print("Not deployed; the change set was deleted.")
                raise typer.Exit(1)
    except (KeyboardInterrupt, typer.Abort):  # Ctrl-C (or end of input) at the question
        aws.discard_interrupted(plan)
        err.print("\nNot deployed; the change set was deleted.")
        raise typer.Exit(130) from None
    return plan, result, template_body, bucket, prefix


def _refuse_kept_names(deployment: Any, aws: Any) -> None:
    """A first create (no stack yet) of a stage whose tables or buckets exist already, e.g. kept when
    the stage was destroyed: refused before anything is uploaded, naming them and the ways out."""
    from lift.deploy.aws import DeployError

    if aws.stack_status(deployment.stack_name) not in (None, "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        return
    taken = aws.kept_names([t.name for t in deployment.tables], [b.name for b in deployment.buckets])
    if not taken:
        return
    raise DeployError(
        f"{deployment.stack_name} does not exist in {deployment.region}, but what it would create does: "
        f"{', '.join(taken)} (lift destroy keeps tables and buckets; a bucket name is global, so another region's "
        "or account's bucket takes it too). CloudFormation cannot create a name that is "
        "taken. To start empty, delete them (aws dynamodb delete-table / aws s3 rb --force); to keep their "
        "data, import them into the stack first (aws cloudformation create-change-set --change-set-type IMPORT, "
        "with the template of lift synth), or give the stage other names (resource_suffix)."
    )


def _record(
    deployment: Any,
    aws: Any,
    plan: Any,
    result: Any,
    template_body: str,
    bucket: str,
    prefix: str,
    outcome: Any,
    endpoint_url: str | None,
) -> None:
    """The deployment record (and the audit trail entry) of this deploy, whatever its outcome."""
    from lift.deploy.aws import deployment_record

    record = deployment_record(
        aws, plan.stack, deployment.stage, Path.cwd(), result.sha256, template_body, outcome, len(plan.changes)
    )
    aws.write_record(bucket, prefix, record)
    if deployment.config.audit_table:
        _audit_deployment(deployment.config.audit_table, deployment.region, endpoint_url, record)


def _audit_deployment(table: str, region: str, endpoint_url: str | None, record: dict[str, Any]) -> None:
    """Append the deployment to the app's audit trail (`audit_table`), hash-chained like every entry
    there: who deployed what (commit, artifact and template hashes) to which stack, and how it went."""
    from lift.audit import AuditTrail, DynamoDBAuditSink

    trail = AuditTrail(DynamoDBAuditSink(table, region=region, endpoint_url=endpoint_url), config_changes=False)
    details = {
        k: record[k]
        for k in (
            "stage",
            "region",
            "git_commit",
            "artifact_sha256",
            "template_sha256",
            "stack_status",
            "reason",
            "changes",
            "user",
        )
        if k in record
    }
    entry = trail.record(
        f"deploy.{record['outcome']}",
        target=record["stack"],
        details=details,
        outcome="success" if record["outcome"] in ("created", "updated") else "failure",
        admin=True,
        principal=record.get("who") or record.get("user") or "unknown",
    )
    if entry is None:
        err.print(f"[yellow]The deployment was not written to the audit table {table} (see the error above)[/yellow]")


def _existing_package(path: Path) -> Any:
    import hashlib

    from lift.deploy.package import PackageResult

    if not path.is_file():
        fail(f"Package {path} does not exist (build it with lift package)", USAGE)
    data = path.read_bytes()
    return PackageResult(path, hashlib.sha256(data).hexdigest(), len(data), 0, 0, False, "")


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


def print_changes(console: Console, plan: Any, deployment: Any = None) -> None:
    table = Table("action", "resource", "type", "replacement", title=f"Changes to {plan.stack} ({plan.kind.lower()})")
    colours = {"Add": "green", "Modify": "yellow", "Remove": "red"}
    for change in plan.changes:
        colour = colours.get(change.action, "white")
        replacement = "[bold red]REPLACED[/bold red]" if change.replaces else ""
        table.add_row(f"[{colour}]{change.action}[/{colour}]", change.logical_id, change.resource_type, replacement)
    console.print(table)
    replaced = [c.logical_id for c in plan.changes if c.replaces]
    if replaced:
        console.print(
            f"[bold red]warning:[/bold red] replaced (data in them is lost unless retained): {', '.join(replaced)}"
        )
        renamed = [i for i in replaced if i in _stage_named_ids(deployment)]
        if renamed:  # a stack deployed before per-stage names: the upgrade renames what it created
            stage = deployment.stage
            console.print(
                f"[bold red]warning:[/bold red] {', '.join(renamed)} now carry the stage in their names "
                f"(resource_suffix, docs/deploy.md 'Stages in one account'); to keep the names this stack "
                + escape(f'gave them, set resource_suffix = "" in [tool.lift.stages.{stage}]')
            )


def _stage_named_ids(deployment: Any) -> set[str]:
    """The logical ids of what the stack names per stage (queues, topics, tables, streams, buckets,
    schedules, Object Lambda access points), when the stage has a resource suffix."""
    if deployment is None or not deployment.config.resource_suffix:
        return set()
    named = (*deployment.queues, *deployment.topics, *deployment.tables, *deployment.streams, *deployment.buckets)
    ids = {r.id for r in (*named, *deployment.schedules)}
    ids |= {i for o in deployment.object_lambda_access_points for i in (o.id, o.access_point_id)}
    return ids


def print_event(console: Console, event: Any) -> None:
    style = next((v for k, v in _STATUS_STYLE.items() if event.status.endswith(k)), "white")
    reason = f"  {event.reason}" if event.reason and event.status.endswith("FAILED") else ""
    console.print(
        f"{event.timestamp[11:19]}  [{style}]{event.status:<28}[/{style}] {event.logical_id} ({event.resource_type}){reason}"
    )


def deploy_history(
    stage: str | None, app: str | None, region: str | None, endpoint_url: str | None, as_json: bool
) -> None:
    deployment = deployment_for(app, stage, region)
    aws = _aws(deployment, endpoint_url)
    bucket = aws.artifact_bucket(deployment.artifact_bucket)
    records = aws.records(bucket, f"{deployment.service}/{deployment.stage}")
    if as_json:
        print_json(records)
        return
    table = Table(
        "when",
        "outcome",
        "who",
        "git commit",
        "artifact",
        "template",
        "changes",
        title=f"Deployments of {deployment.stack_name}",
    )
    for r in records:
        colour = {"failed": "red", "interrupted": "yellow"}.get(r["outcome"], "green")
        table.add_row(
            r["when"],
            f"[{colour}]{r['outcome']}[/{colour}]",
            r.get("who") or r.get("user", ""),
            (r.get("git_commit") or "")[:12],
            r["artifact_sha256"][:12],
            r["template_sha256"][:12],
            str(r.get("changes", "")),
        )
    Console(highlight=False).print(table)


def destroy(
    stage: str = typer.Argument(..., help="The stage to delete."),
    app: str = APP_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking for confirmation."),
    region: str = REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
    take_over: bool = typer.Option(
        False, "--take-over", help="Delete a stack another project's deploy made (this project, renamed)."
    ),
) -> None:
    """Delete STAGE's stack in each of its regions (retained tables and buckets stay, and are listed)."""
    from lift.deploy.interrupts import terminate_as_interrupt

    terminate_as_interrupt()

    deployment = deployment_for(app, stage, region)
    regions = [deployment.region] if region else list(deployment.regions)
    for name in reversed(regions):  # the first region last: it holds the global tables the others replicate
        in_region = deployment if name == deployment.region else deployment_for(app, stage, name)
        _destroy_region(in_region, yes, endpoint_url, take_over)


def _destroy_region(deployment: Any, yes: bool, endpoint_url: str | None, take_over: bool) -> None:
    from lift.deploy.aws import DeployError, project_name

    aws = _aws(deployment, endpoint_url)
    if not take_over:
        claimed = aws.claimed_by(deployment.stack_name, project_name(Path.cwd()), "deleting it would delete that app")
        if claimed is not None:
            fail(claimed)
    if not yes:
        if not _interactive():
            fail("Not deleting without confirmation: pass --yes (no terminal to ask on)", USAGE)
        if not typer.confirm(f"Delete {deployment.stack_name} in {deployment.region}?"):
            raise typer.Exit(1)
    try:
        retained = aws.destroy(deployment.stack_name)
    except DeployError as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # the delete goes on in CloudFormation: say where it stands
        from lift.deploy.interrupts import holding_interrupts

        with holding_interrupts():
            status = aws.stack_status(deployment.stack_name)
        if status in (None, "DELETE_COMPLETE"):
            err.print(f"\n[yellow]Interrupted[/yellow]: the delete had finished; {deployment.stack_name} is deleted.")
        else:
            err.print(
                f"\n[yellow]Interrupted[/yellow]: CloudFormation goes on deleting {deployment.stack_name} ({status}); "
                f"`lift destroy {deployment.stage}` again waits for it."
            )
        raise typer.Exit(130) from None
    console = Console(highlight=False)
    console.print(f"[green]deleted[/green]: {deployment.stack_name} in {deployment.region}")
    for resource in retained:
        console.print(f"  retained (delete it yourself if it should go): {resource}")


def logs(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    function: str = typer.Option(None, "--function", help="The function name (default: the stage's function)."),
    since: str = typer.Option("10m", "--since", help="How far back: 30s, 10m, 2h, 1d."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines (Ctrl-C stops)."),
    filter_pattern: str = typer.Option(None, "--filter", help="A CloudWatch Logs filter pattern."),
    raw: bool = typer.Option(False, "--json", help="Print the log messages as they are (Lift's JSON lines)."),
    region: str = READ_REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
) -> None:
    """Print the stage's CloudWatch Logs, Lift's JSON lines rendered readably (level, request id), of
    every region of the stage in time order (each line marked with its region when there are several)."""
    import sys
    import time

    from lift.deploy.observe import LEVEL_STYLES, fetch_logs, parse_since, render_line

    try:
        window = parse_since(since)
    except ValueError as exc:
        fail(str(exc), USAGE)
    deployment = deployment_for(app, stage, region)
    regions = stage_regions(deployment, region)
    group = f"/aws/lambda/{function or deployment.function.name}"
    console = Console(highlight=False, soft_wrap=True)
    first = int((time.time() - window) * 1000)
    start = dict.fromkeys(regions, first)  # per region: its events' clocks are read apart
    seen: set[tuple[str, str]] = set()
    try:
        while True:
            events = []
            for name in regions:
                try:
                    found = fetch_logs(_aws(deployment, endpoint_url, name), group, start[name], filter_pattern)
                except Exception as exc:
                    fail(f"Cannot read {group} in {name}: {exc}")
                events += [(event["timestamp"], name, event) for event in found]
            events.sort(key=lambda e: (e[0], e[1], e[2].get("eventId", "")))
            for timestamp, name, event in events:
                if (name, event.get("eventId", "")) in seen:
                    continue
                seen.add((name, event.get("eventId", "")))
                start[name] = max(start[name], timestamp)
                if raw:
                    sys.stdout.write(event["message"].rstrip("\n") + "\n")
                    continue
                level, text = render_line(event["message"])
                when = datetime.fromtimestamp(timestamp / 1000, UTC).strftime("%H:%M:%S")
                where = f"[dim]{name}[/dim] " if len(regions) > 1 else ""
                style = LEVEL_STYLES.get(level or "", "")
                console.print(
                    f"[dim]{when}[/dim] {where}" + (f"[{style}]{escape(text)}[/{style}]" if style else escape(text))
                )
            if not follow:
                return
            time.sleep(2)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def metrics(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    since: str = typer.Option("1h", "--since", help="The window: 30m, 1h, 1d."),
    namespace: str = typer.Option(None, "--namespace", help="The app's EMF namespace (default: the service name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON."),
    region: str = READ_REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
) -> None:
    """Invocations, errors, throttles, duration p50/p99, cold starts and the app's own metrics, in
    each region of the stage (each region's functions write to its own CloudWatch)."""
    from lift.deploy.observe import lambda_metrics, parse_since

    try:
        window = parse_since(since)
    except ValueError as exc:
        fail(str(exc), USAGE)
    deployment = deployment_for(app, stage, region)
    regions = stage_regions(deployment, region)
    fn = deployment.function
    per_region = []
    for name in regions:
        try:
            numbers = lambda_metrics(
                _aws(deployment, endpoint_url, name),
                fn.name,
                namespace or deployment.metrics_namespace or deployment.service,
                window,
                f"/aws/lambda/{fn.name}",
                stage=deployment.metrics_stage or None,
            )
        except Exception as exc:
            fail(f"Cannot read the metrics of {fn.name} in {name}: {exc}")
        per_region.append({"region": name, **numbers})
    if as_json:  # one region: its numbers; several: a list of them, each with its region
        print_json(per_region[0] if len(per_region) == 1 else per_region)
        return
    console = Console(highlight=False)
    for numbers in per_region:
        table = Table("metric", "value", title=f"{fn.name} in {numbers['region']}, last {since}")
        for key in ("invocations", "errors", "throttles", "cold_starts"):
            table.add_row(key.replace("_", " "), _number(numbers[key]))
        for key in ("duration_avg_ms", "duration_p50_ms", "duration_p99_ms", "duration_max_ms"):
            table.add_row(key.removeprefix("duration_").removesuffix("_ms") + " duration (ms)", _number(numbers[key]))
        for name, value in numbers["app_metrics"].items():
            table.add_row(f"app: {name}", _number(value))
        console.print(table)


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:g}" if isinstance(value, float) else str(value)


def health(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    url: str = typer.Option(None, "--url", help="The service's base URL (default: the stack's ApiUrl output)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    region: str = READ_REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
) -> None:
    """Call the deployed /health/ready (or invoke the function with it when there is no HTTP front), in
    every region of the stage; exits 1 when any region is not ready."""
    deployment = deployment_for(app, stage, region)
    regions = [None] if url is not None else stage_regions(deployment, region)
    answers = [_region_health(deployment, name, url, endpoint_url) for name in regions]
    if as_json:  # one region: its report; several: a list of them, each with its region
        reports = [{"status_code": status, **report, "region": name} for name, status, report, _ in answers]
        print_json(reports[0] if len(reports) == 1 else reports)
    else:
        for name, status, report, where in answers:
            _print_health(status, report, f"{where} ({name})" if name and len(answers) > 1 else where)
    if any(status != 200 for _, status, _, _ in answers):
        raise typer.Exit(1)


def _region_health(
    deployment: Any, region: str | None, url: str | None, endpoint_url: str | None
) -> tuple[str | None, int, dict[str, Any], str]:
    """(region, status, report, where it was read) of one region's /health/ready: through the
    stack's ApiUrl output there, else by invoking that region's function."""
    import json as _json

    from lift.deploy.observe import check_health, health_event

    if url is None:
        aws = _aws(deployment, endpoint_url, region)
        try:
            url = aws.outputs(deployment.stack_name).get("ApiUrl")
        except Exception as exc:
            fail(f"Cannot read the stack {deployment.stack_name} in {region}: {exc}")
        if url is None:
            try:
                answer = aws.client("lambda").invoke(
                    FunctionName=deployment.function.name, Payload=_json.dumps(health_event(deployment.stage)).encode()
                )
                payload = _json.loads(answer["Payload"].read() or b"{}")
            except Exception as exc:
                fail(f"Cannot invoke {deployment.function.name} in {region}: {exc}")
            status, report = int(payload.get("statusCode", 0)), _json.loads(payload.get("body") or "{}")
            return region, status, report, f"invoke {deployment.function.name}"
    target = url.rstrip("/") + "/health/ready"
    try:
        status, report = check_health(target)
    except OSError as exc:
        fail(f"Cannot reach {target}: {exc}")
    return region, status, report, target


def _print_health(status: int, report: dict[str, Any], where: str) -> None:
    console = Console(highlight=False)
    colour = "green" if status == 200 else "red"
    console.print(f"[{colour}]{report.get('status', status)}[/{colour}] ({status}) from {where}")
    checks = report.get("checks") or {}
    rows = checks.items() if isinstance(checks, dict) else ((c.get("name", "?"), c) for c in checks)
    table = Table("check", "status", "ms", "detail")
    for name, check in rows:
        ok = check.get("status") in ("ok", "pass", "healthy")
        table.add_row(
            name,
            f"[{'green' if ok else 'red'}]{check.get('status')}[/]",
            _number(check.get("latency_ms")),
            escape(str(check.get("error") or check.get("details") or "")),
        )
    console.print(table)


def _short_arn(arn: str) -> str:
    """`arn:{partition}:sqs:{region}:{account}:jobs` -> `sqs:jobs` (this account and region)."""
    return arn.replace("arn:{partition}:", "").replace(":{region}:{account}:", ":")


def register(cli: typer.Typer) -> None:
    """Add the deployment commands to the `lift` command tree."""
    cli.command("synth")(synth)
    cli.command("package")(package)
    cli.command("deploy")(deploy)
    cli.command("destroy")(destroy)
    cli.command("logs")(logs)
    cli.command("metrics")(metrics)
    cli.command("health")(health)
