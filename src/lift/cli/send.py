"""`lift send ...`: fire a local trigger (SQS, S3, EventBridge, schedule, or any other source's sample
event: authorizers, Cognito, Kafka, ...) at a running `lift dev`."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import typer

from lift.cli.common import USAGE, fail, print_json, read_event_file
from lift.cli.samples import SampleOptions, build_event, loads_json

__all__ = ["send_cli", "post_event"]

send_cli = typer.Typer(
    help="Send an AWS-shaped event to a running `lift dev` server.", no_args_is_help=True, rich_markup_mode=None
)

URL_OPTION = typer.Option("http://127.0.0.1:8000", "--url", help="The dev server (lift dev).")
EVENTS_PATH = "/_lift/events"


def post_event(url: str, event: Any) -> Any:
    """POST the raw Lambda event to the dev server and return the handler's result (exit 1 on error)."""
    _check_url(url)
    target = url.rstrip("/") + EVENTS_PATH
    request = urllib.request.Request(
        target, data=json.dumps(event).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        if not raw.startswith(b"{"):
            fail(f"The dev server at {url} answered {exc.code}: {raw[:200].decode('utf-8', 'replace')}")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        fail(f"No dev server at {url} ({reason})", hint="Start one with `lift dev`, or pass --url.")
    try:
        answer = json.loads(raw)
    except ValueError:
        fail(f"The dev server at {url} sent a non-JSON answer: {raw[:200]!r}")
    if not isinstance(answer, dict) or "result" not in answer:
        fail(f"Unexpected answer from {target}: {answer!r}")
    if answer.get("error"):  # no result to print: the error alone, on stderr
        fail(f"The handler failed: {answer['error']}")
    print_json(answer["result"])
    return answer["result"]


def _check_url(url: str) -> None:
    """Exit 2 for a --url that is no http(s) address (`localhost:8000`, `http://[bad`)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as exc:
        fail(f"--url {url!r} is not a valid URL ({exc}); e.g. http://127.0.0.1:8000", USAGE)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"--url {url!r} must be an http:// address, e.g. http://127.0.0.1:8000", USAGE)


def _body_from(body: str | None, file: Path | None) -> str:
    if file is not None:
        if body is not None:
            fail("Give the message BODY or --file, not both", USAGE)
        try:
            return file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"Cannot read {file}: {exc}", USAGE)
    if body is None:
        fail("Give the message BODY or --file", USAGE)
    return body


@send_cli.command("sqs")
def send_sqs(
    queue: str = typer.Argument(..., help="Queue name (as in @app.sqs)."),
    body: str = typer.Argument(None, help="Message body (JSON or text)."),
    file: Path = typer.Option(None, "--file", "-f", help="Read the message body from a file."),
    count: int = typer.Option(1, "--count", "-n", min=1, max=10, help="Records in the batch."),
    url: str = URL_OPTION,
) -> None:
    """Send an SQS message (a one-record batch by default)."""
    text = _body_from(body, file)
    post_event(url, build_event("sqs", SampleOptions(name=queue, body=text, count=count)))


@send_cli.command("s3")
def send_s3(
    bucket: str = typer.Argument(..., help="Bucket name (as in @app.s3)."),
    key: str = typer.Argument(..., help="Object key."),
    event_name: str = typer.Option("ObjectCreated:Put", "--event-name", help="S3 event name."),
    url: str = URL_OPTION,
) -> None:
    """Send an S3 object notification."""
    post_event(url, build_event("s3", SampleOptions(name=bucket, key=key, event_name=event_name)))


@send_cli.command("event")
def send_event(
    source: str = typer.Argument(..., help="EventBridge source (e.g. payments)."),
    detail_type: str = typer.Argument(..., help="detail-type (e.g. PaymentSettled)."),
    detail: str = typer.Argument("{}", help="The detail, as JSON."),
    url: str = URL_OPTION,
) -> None:
    """Send an EventBridge event."""
    try:
        parsed = loads_json(detail)
    except (ValueError, RecursionError) as exc:
        fail(f"DETAIL must be JSON: {exc or 'nested too deeply'}", USAGE)
    post_event(url, build_event("eventbridge", SampleOptions(source=source, detail_type=detail_type, body=parsed)))


@send_cli.command("schedule")
def send_schedule(
    rule: str = typer.Argument(..., help="Schedule rule name (as in @app.schedule)."),
    url: str = URL_OPTION,
) -> None:
    """Fire a scheduled event for RULE now."""
    post_event(url, build_event("schedule", SampleOptions(name=rule)))


@send_cli.command("trigger")
def send_trigger(
    source: str = typer.Argument(..., help="Any source of `lift events generate` (kafka, cognito, authorizer, ...)."),
    name: str = typer.Argument(None, help="What the source's sample names (topic, trigger, stream, access point...)."),
    body: str = typer.Option(None, "--body", "-b", help="The payload (JSON or text), where the source has one."),
    count: int = typer.Option(1, "--count", "-n", min=1, max=100, help="Records, for batch sources."),
    url: str = URL_OPTION,
) -> None:
    """Send the sample event of SOURCE (as `lift events generate SOURCE` builds it)."""
    from lift.cli.samples import parse_body

    try:
        event = build_event(source, SampleOptions(name=name, body=parse_body(body), count=count))
    except ValueError as exc:
        fail(str(exc), USAGE)
    post_event(url, event)


@send_cli.command("raw")
def send_raw(
    file: str = typer.Argument(..., help="A JSON event file (- for stdin)."),
    url: str = URL_OPTION,
) -> None:
    """Send any event from a file, as is."""
    post_event(url, read_event_file(file))
