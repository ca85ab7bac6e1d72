"""The `lift` command tree."""

from __future__ import annotations

from typing import Any

import typer

from lift.cli import audit, bench, deploy, dev, info, invoke, new, release, run_tests, send

cli = typer.Typer(
    name="lift",
    help="Lift: build, run and check AWS Lambda services locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

cli.command("new")(new.new)
cli.command("dev")(dev.dev)
cli.add_typer(send.send_cli, name="send")
cli.command("invoke")(invoke.invoke)
cli.add_typer(invoke.events_cli, name="events")
cli.command("routes")(info.routes)
cli.command("openapi")(info.openapi)
cli.command("bench")(bench.bench)
cli.command("version")(info.version)
cli.command("test")(run_tests.test)
deploy.register(cli)  # synth, package, deploy, destroy, logs, metrics, health
release.register(cli)  # release, rollback, slo report, dr status/failover/drill
cli.add_typer(audit.audit_cli, name="audit")


def command() -> Any:
    """The click command behind `cli`, with plain help: every option name in full, and each value
    named by its option (`--path PATH`), where Typer's rich help truncates long option names
    and tags values with their Python type (`<str>`, `<bool>`)."""
    group = typer.main.get_command(cli)
    _plain_help(group)
    return group


def _plain_help(command: Any) -> None:
    if hasattr(command, "rich_markup_mode"):  # every command and group, whoever registered it
        command.rich_markup_mode = None
    for param in command.params:  # Typer's own (vendored) click classes: told apart by their attributes
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            continue
        if param.metavar is None and param.name:
            param.metavar = param.name.upper()
        if param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
            param.display_type_rich = _no_type  # Typer appends `<str>` to an argument's name
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


def _no_type(ctx: Any) -> None:
    return None
