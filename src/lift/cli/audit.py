"""`lift audit verify`: check the hash chains of an audit trail (tooling, never imported by a function)."""

from __future__ import annotations

import typer

audit_cli = typer.Typer(help="Audit trail tools.", no_args_is_help=True)


@audit_cli.command("verify")
def verify(
    dynamodb_table: str = typer.Option(None, "--dynamodb-table", help="The audit table (DynamoDBAuditSink)."),
    log_group: str = typer.Option(None, "--log-group", help="The audit log group (CloudWatchLogsAuditSink)."),
    kinesis_stream: str = typer.Option(None, "--kinesis-stream", help="The audit stream (KinesisAuditSink)."),
    s3: str = typer.Option(
        None, "--s3", help="s3://bucket/prefix where Firehose delivers a FirehoseAuditSink's entries."
    ),
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's chain."),
    region: str = typer.Option(None, "--region"),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="Another endpoint (DynamoDB Local, moto)."),
) -> None:
    """Read every entry and check each chain: no entry removed, none changed. Exit 1 on a problem."""
    from lift.audit import CloudWatchLogsAuditSink, DynamoDBAuditSink, KinesisAuditSink, verify_entries
    from lift.audit.sinks import s3_entries

    chosen = [x for x in (dynamodb_table, log_group, kinesis_stream, s3) if x]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --dynamodb-table, --log-group, --kinesis-stream, --s3")
    if s3:
        try:
            entries = list(s3_entries(s3, tenant=tenant, region=region, endpoint_url=endpoint_url))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    else:
        if dynamodb_table:
            sink = DynamoDBAuditSink(dynamodb_table, region=region, endpoint_url=endpoint_url)
        elif log_group:
            sink = CloudWatchLogsAuditSink(log_group, region=region, endpoint_url=endpoint_url)
        else:
            sink = KinesisAuditSink(kinesis_stream, region=region, endpoint_url=endpoint_url)
        entries = list(sink.entries(tenant))
    count, problems = verify_entries(entries)
    chains = len({(e.tenant, e.chain) for e in entries})
    if not problems:
        typer.echo(f"{count} entries in {chains} chain(s): intact")
        return
    for problem in problems:
        typer.echo(str(problem))
    typer.echo(f"{count} entries in {chains} chain(s): {len(problems)} problem(s)")
    raise typer.Exit(1)
