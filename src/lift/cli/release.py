"""`lift release`, `lift rollback`, `lift slo report` and `lift dr status|failover|drill`: the
command-line side of lift.deploy.releases, .regions, .slo and .dr (this module parses and prints)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lift.cli.common import USAGE, err, fail, print_json
from lift.cli.deploy import APP_OPTION, STAGE_ARGUMENT, deployment_for, stage_regions

ENDPOINT_OPTION = typer.Option(None, "--endpoint-url", help="An AWS endpoint (moto server, LocalStack) instead of AWS.")
REGION_OPTION = typer.Option(None, "--region", help="One region instead of every region of the stage.")

slo_cli = typer.Typer(help="Service level objectives: reports from CloudWatch.", no_args_is_help=True)
dr_cli = typer.Typer(help="Disaster recovery: Route 53 front door status, failover, drills.", no_args_is_help=True)


def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url)


def _print_event(console: Console, event: dict[str, Any]) -> None:
    where = escape(f"[{event.get('region')}] ") if event.get("region") else ""  # not Rich markup
    kind = event["kind"]
    if kind == "shift":
        console.print(f"{where}[cyan]{event['percent']:g}%[/cyan] of traffic on version {event['new_version']}")
    elif kind == "rollback":
        if event.get("version") is None:
            return  # a rollout's note of a region its own release already reported rolled back
        console.print(f"{where}[red]rolled back[/red] to version {event.get('version')}: {event.get('reason')}")
    elif kind == "verdict":
        style = "green" if event["verdict"] == "promoted" else "red"
        console.print(f"{where}[bold {style}]{event['verdict']}[/bold {style}]: {event['reason']}")
    elif kind == "start":
        console.print(f"{where}{event['strategy']}: version {event['old_version']} -> {event['new_version']}")
    elif kind == "hook":
        style, word = ("green", "passed") if event["ok"] else ("red", "failed")
        console.print(f"{where}{event['phase']}-traffic hook [{style}]{word}[/{style}]: {escape(event['reason'])}")
    elif kind in ("wave", "halted", "interrupted"):
        console.print(f"[bold]{kind}[/bold] {event.get('regions') or event.get('reason')}")


def release(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    strategy: str = typer.Option(
        None, "--strategy", help="all-at-once, canary, linear or blue-green (default: config)."
    ),
    version: str = typer.Option(None, "--version", help="Release this published version (default: publish one)."),
    region: str = REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Shift the stage's alias to a new version step by step, watching the gates; roll back on failure."""
    from lift.deploy.interrupts import terminate_as_interrupt
    from lift.deploy.regions import rollout
    from lift.deploy.releases import Release, plan_for

    terminate_as_interrupt()  # a cancelled CI job (SIGTERM) rolls back like Ctrl-C
    deployment = deployment_for(app, stage, region)
    config = deployment.config.release
    options: dict[str, Any] = {}
    if config is not None:
        options = {
            "percent": config.percent,
            "interval": config.interval,
            "bake": config.bake,
            "alarms": config.alarms,
            "max_error_rate": config.max_error_rate,
            "poll_seconds": config.poll_seconds,
        }
    try:
        plan = plan_for(strategy or (config.strategy if config else "all-at-once"), **options)
    except ValueError as exc:
        fail(str(exc), USAGE)
    alias = config.alias if config else "live"
    function = deployment.function.name
    console = Console(stderr=True)

    def release_for(name: str) -> Release:
        health = None
        if plan.strategy == "blue-green" and config is not None and config.health_url:
            from lift.deploy.dr import url_answers

            health = lambda v: url_answers(config.health_url.format(version=v))  # noqa: E731
        lambda_client = _client("lambda", name, endpoint_url)
        hooks = {}
        if deployment.release is not None:
            from lift.deploy.releases import hook_invoker

            for hook in deployment.release.hooks:
                hooks[hook.phase] = hook_invoker(
                    lambda_client, hook.name, hook=hook.hook, phase=hook.phase, function=function, alias=alias
                )
        return Release(
            lambda_client,
            _client("cloudwatch", name, endpoint_url),
            function,
            alias,
            plan,
            health_check=health,
            hooks=hooks,
            on_event=lambda e: _print_event(console, e),
        )

    regions = stage_regions(deployment, region)
    if len(regions) > 1 and version:
        fail("--version names one region's version; release several regions without it", USAGE)
    try:
        if len(regions) == 1:
            with _aws_refusals(f"[{regions[0]}] {function}:{alias}"):  # the alias is back on the old version
                result = release_for(regions[0]).run(version)
            verdict = result.verdict
            payload = {"verdict": result.verdict, "reason": result.reason, "events": result.events}
        else:
            mode, limit = (config.rollout, config.parallel_limit) if config else ("rolling", 2)
            outcome = rollout(regions, release_for, mode=mode, limit=limit, on_event=lambda e: _print_event(console, e))
            verdict = outcome.verdict
            payload = {
                "verdict": outcome.verdict,
                "reason": outcome.reason,
                "rolled_back": outcome.rolled_back,
                "regions": {r: {"verdict": x.verdict, "reason": x.reason} for r, x in outcome.results.items()},
            }
    except KeyboardInterrupt:  # outside a shift (publishing the version, reading the alias): say where it is
        err.print("\n[yellow]Interrupted[/yellow]")
        _print_aliases(regions, function, alias, endpoint_url)
        raise typer.Exit(130) from None
    if as_json:
        print_json(payload)
    if verdict == "interrupted":
        err.print("[yellow]Release interrupted[/yellow]; `lift release` starts it over.")
        _print_aliases(regions, function, alias, endpoint_url)
        raise typer.Exit(130)
    raise typer.Exit(0 if verdict == "promoted" else 1)


def _print_aliases(regions: list[str], function: str, alias: str, endpoint_url: str | None) -> None:
    """Where the alias stands in each region, as Lambda reports it (after an interruption)."""
    from lift.deploy.interrupts import holding_interrupts

    with holding_interrupts():
        for name in regions:
            try:
                found = _client("lambda", name, endpoint_url).get_alias(FunctionName=function, Name=alias)
            except Exception as exc:
                err.print(escape(f"[{name}] {function}:{alias}: cannot read it ({exc})"))
                continue
            weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            extra = "".join(f", {w:.0%} on version {v}" for v, w in weights.items())
            err.print(escape(f"[{name}] {function}:{alias} is on version {found['FunctionVersion']}{extra}"))


def rollback(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    region: str = REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
) -> None:
    """Put the stage's alias back on the version its last release replaced, in every region."""
    from lift.deploy.releases import rollback_alias

    deployment = deployment_for(app, stage, region)
    alias = deployment.config.release.alias if deployment.config.release else "live"
    for name in stage_regions(deployment, region):
        try:
            with _aws_refusals(f"[{name}] {deployment.function.name}:{alias}"):
                old, new = rollback_alias(_client("lambda", name, endpoint_url), deployment.function.name, alias)
        except ValueError as exc:
            fail(f"{name}: {exc}")
        err.print(escape(f"[{name}] {deployment.function.name}:{alias} back from version {old} to {new}"))


def _load_app(app_ref: str | None) -> Any:
    from pathlib import Path

    from lift.cli.common import load
    from lift.deploy import load_config

    return load(app_ref or load_config(Path.cwd()).app)[0]


def _endpoints(app: Any) -> list[tuple[str, str]]:
    return [(method, e.template) for e in app.endpoints for method in e.methods if method != "HEAD"]


@slo_cli.command("report")
def slo_report(
    stage: str = STAGE_ARGUMENT,
    app: str = APP_OPTION,
    window: str = typer.Option(None, "--window", help="The window, e.g. 30d or 7d (default: each SLO's)."),
    region: str = REGION_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="JSON."),
    as_markdown: bool = typer.Option(False, "--markdown", help="A Markdown table for weekly reports."),
) -> None:
    """Each SLO's SLI, remaining error budget, burn rate and whether releases should freeze."""
    from lift.deploy.slo import markdown, report

    deployment = deployment_for(app, stage, region)
    the_app = _load_app(app)
    slos = list(getattr(the_app, "slos", []))
    if not slos:
        fail('The app declares no SLO: app.slo("checkout", availability=99.9, routes=[...])', USAGE)
    days = None
    if window:
        if not window.endswith("d") or not window[:-1].isdigit() or not 1 <= int(window[:-1]) <= 90:
            # 0d read the SLO's own window (30 days) without a word
            fail(f"--window takes 1 to 90 days (an SLO's windows), e.g. 30d, not {window!r}", USAGE)
        days = int(window[:-1])
    regions = stage_regions(deployment, region)
    reports = []
    for name in regions:  # each region's functions write to its own CloudWatch: one was read, the first
        cloudwatch = _client("cloudwatch", name, endpoint_url)
        for slo in slos:
            found = report(
                cloudwatch,
                slo,
                service=deployment.metrics_service,
                namespace=deployment.metrics_namespace,
                stage=deployment.metrics_stage or None,
                endpoints=_endpoints(the_app),
                window_days=days,
            )
            found.region = name if len(regions) > 1 else None
            reports.append(found)
    if as_json:
        print_json([r.to_dict() for r in reports])
    elif as_markdown:
        typer.echo(markdown(reports, deployment.stage), nl=False)
    else:
        table = Table(title=f"SLOs of {deployment.stage}")
        for column in ("SLO", "objective", "SLI", "budget left", "burn 1 h", "p99", "release"):
            table.add_column(column)
        for r in reports:
            table.add_row(
                r.label,
                f"{r.objective}%" if r.objective else f"p99 {r.latency_objective_ms} ms",
                f"{r.sli * 100:.3f}%" if r.sli is not None else "no traffic",
                f"{r.budget_remaining * 100:.1f}%" if r.budget_remaining is not None else "-",
                f"{r.burn_rate_1h:.2f}x" if r.burn_rate_1h is not None else "-",
                f"{r.latency_p99_ms:.0f} ms" if r.latency_p99_ms is not None else "-",
                "[red]freeze[/red]: " + "; ".join(r.reasons) if r.freeze else "[green]ok[/green]",
            )
        Console().print(table)
    raise typer.Exit(1 if any(r.freeze for r in reports) else 0)


def _door(deployment: Any) -> Any:
    from lift.deploy.dr import FrontDoor, Region

    config = deployment.config.dr
    if config is None:
        fail(f"Stage {deployment.stage} has no [tool.lift.stages.{deployment.stage}.dr] table", USAGE)
    regions = [Region(name, host, config.health_path) for name, host in config.hosts.items()]
    return FrontDoor(config.zone_id, config.record, regions, config.mode)


@dr_cli.command("setup")
def dr_setup(stage: str = STAGE_ARGUMENT, app: str = APP_OPTION, endpoint_url: str = ENDPOINT_OPTION) -> None:
    """Create the stage's front door: a Route 53 health check per region and the failover (or latency)
    records; run again, it keeps the health checks and where a failover put the primary."""
    from lift.deploy.dr import ensure_front_door, status

    door = _door(deployment_for(app, stage))
    route53 = _client("route53", "us-east-1", endpoint_url)
    with _dr_errors(door):
        ensure_front_door(route53, door)
        found = status(route53, door)
    print_json({**found, "health_checks": door.health_checks})


@dr_cli.command("status")
def dr_status(stage: str = STAGE_ARGUMENT, app: str = APP_OPTION, endpoint_url: str = ENDPOINT_OPTION) -> None:
    """Each region's health, the serving region and the global table's replication lag."""
    from lift.deploy.dr import status

    deployment = deployment_for(app, stage)
    config = deployment.config.dr
    door = _door(deployment)
    with _dr_errors(door):
        found = status(
            _client("route53", "us-east-1", endpoint_url),
            door,
            cloudwatch_for=lambda r: _client("cloudwatch", r, endpoint_url),
            table=config.global_table if config else None,
        )
    print_json(found)


@dr_cli.command("failover")
def dr_failover(
    stage: str = STAGE_ARGUMENT,
    to: str = typer.Option(..., "--to", help="The region to make primary."),
    app: str = APP_OPTION,
    endpoint_url: str = ENDPOINT_OPTION,
) -> None:
    """A planned failover: flip the records, check the new primary answers, notify."""
    from lift.deploy.dr import failover

    deployment = deployment_for(app, stage)
    door = _door(deployment)
    topic = deployment.config.dr.notify_topic_arn
    with _dr_errors(door):
        entry = failover(_client("route53", "us-east-1", endpoint_url), door, to, notify=_notifier(topic, endpoint_url))
    print_json(entry)
    _notify_failed(entry)
    raise typer.Exit(0 if entry["new_primary_answers"] else 1)


@dr_cli.command("drill")
def dr_drill(stage: str = STAGE_ARGUMENT, app: str = APP_OPTION, endpoint_url: str = ENDPOINT_OPTION) -> None:
    """Fail over to the secondary and back, timing each step; prints the report."""
    from lift.deploy.dr import drill

    deployment = deployment_for(app, stage)
    door = _door(deployment)
    with _dr_errors(door):
        report = drill(_client("route53", "us-east-1", endpoint_url), door)
    typer.echo(json.dumps(report, indent=2))
    raise typer.Exit(0 if report["passed"] else 1)


@contextmanager
def _aws_refusals(what: str, *, mistakes: bool = False) -> Iterator[None]:
    """AWS refusing a call (a function or alias not there, a record outside its zone, a throttle)
    exits 1 naming `what` and AWS's reason, never with a traceback; with `mistakes`, a ValueError
    (the command's own check) exits 2."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ValueError as exc:
        if not mistakes:
            raise
        fail(str(exc), USAGE)
    except (ClientError, BotoCoreError) as exc:
        hint = " (is the stage deployed there? lift deploy STAGE)" if "ResourceNotFound" in str(exc) else ""
        fail(f"{what}: {exc}{hint}")


def _dr_errors(door: Any) -> Any:
    return _aws_refusals(f"Route 53 front door {door.record} (zone {door.zone_id})", mistakes=True)


def _notifier(topic: str | None, endpoint_url: str | None) -> Any:
    """Publishes the incident to the stage's topic, from a client in the topic's own region (SNS
    takes a topic's ARN only there)."""
    from lift.deploy.dr import sns_notifier

    return sns_notifier(_client("sns", topic.split(":")[3], endpoint_url), topic) if topic else None


def _notify_failed(entry: dict[str, Any]) -> None:
    if "notify_error" in entry:
        err.print(f"[yellow]The failover to {entry['to']} was not notified[/yellow]: {escape(entry['notify_error'])}")


def register(cli: typer.Typer) -> None:
    cli.command("release")(release)
    cli.command("rollback")(rollback)
    cli.add_typer(slo_cli, name="slo")
    cli.add_typer(dr_cli, name="dr")
