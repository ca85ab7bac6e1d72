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


def _short_arn(arn: str) -> str:
    """`arn:{partition}:sqs:{region}:{account}:jobs` -> `sqs:jobs` (this account and region)."""
    return arn.replace("arn:{partition}:", "").replace(":{region}:{account}:", ":")


def _env_region(region: str | None) -> str | None:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def register(cli: typer.Typer) -> None:
    """Add the deployment commands to the `lift` command tree."""
    cli.command("synth")(synth)
