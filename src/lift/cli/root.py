"""The `lift` command tree."""

from __future__ import annotations

import typer

from lift.cli import audit, bench, deploy, dev, info, invoke, new, release, run_tests, send

cli = typer.Typer(
    name="lift",
    help="Lift: build, run and check AWS Lambda services locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
