"""`lift synth`, `lift package`, `lift deploy`, `lift destroy`, `lift logs`, `lift metrics`, `lift health`:
the command-line side of `lift.deploy` (the logic lives there; this module parses, prints and exits)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
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


def synth(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    format: str = typer.Option("cloudformation", "--format", "-f", help="cloudformation or sam."),
    output: Path = typer.Option(None, "--output", "-o", help="Directory for the template (default: .lift/STAGE)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write the stage's template (template.json and template.yaml) and print what it creates."""
    from lift.deploy.cloudformation import FORMATS, render, summary, to_json, to_yaml

    if format not in FORMATS:
        fail(f"Unknown format {format!r}; choose one of: {', '.join(FORMATS)}", USAGE)
    deployment = deployment_for(app, stage)
    template = render(deployment, format)
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


def print_summary(info: dict[str, Any]) -> None:
    console = Console(highlight=False)
    console.print(f"[bold]{info['stack']}[/bold]: template written to {info['output']}/template.json and template.yaml")
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
            report["check"] = check_package(result.path, fn.handler, fn.runtime, fn.architecture)
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
        )
    except PackageError as exc:
        fail(str(exc))
    return result, deployment


def package_report(result: Any) -> dict[str, Any]:
    return {
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


def _short_arn(arn: str) -> str:
    """`arn:{partition}:sqs:{region}:{account}:jobs` -> `sqs:jobs` (this account and region)."""
    return arn.replace("arn:{partition}:", "").replace(":{region}:{account}:", ":")


def _env_region(region: str | None) -> str | None:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def register(cli: typer.Typer) -> None:
    """Add the deployment commands to the `lift` command tree."""
    cli.command("synth")(synth)
    cli.command("package")(package)
