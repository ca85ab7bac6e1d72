"""`lift invoke` (one event through the app, in-process or under the real Lambda runtime) and
`lift events generate` (AWS-shaped sample events)."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any, NoReturn

import typer

from lift.cli.common import USAGE, app_output_on_stderr, err, fail, load, print_json, print_raw, read_event_file
from lift.cli.samples import SOURCES, SampleOptions, build_event, parse_body

events_cli = typer.Typer(help="AWS-shaped sample events.", no_args_is_help=True, rich_markup_mode=None)

_SOURCE_HELP = f"Event source: {', '.join(SOURCES)}."


def _headers(values: list[str] | None) -> dict[str, list[str]]:
    """`-H` values by header name; a name given twice (in any case) sends both values, as curl does."""
    headers: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for value in values or []:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            fail(f"Header {value!r} must look like 'Name: value'", USAGE)
        name = spelling.setdefault(name.strip().lower(), name.strip())
        headers.setdefault(name, []).append(content.strip())
    return headers


def _sample(
    source: str,
    name: str | None,
    body: str | None,
    method: str,
    path: str,
    key: str,
    event_name: str | None,
    event_source: str,
    detail_type: str,
    count: int,
    headers: list[str] | None = None,
    via: str | None = None,
) -> Any:
    try:
        return build_event(
            source,
            SampleOptions(
                name=name,
                body=parse_body(body),
                method=method.upper(),
                path=path,
                key=key,
                event_name=event_name,
                source=event_source,
                detail_type=detail_type,
                count=count,
                headers=_headers(headers),
                via=via,
            ),
        )
    except ValueError as exc:
        fail(str(exc), USAGE)


NAME = typer.Option(
    None,
    "--name",
    "--queue",
    "--topic",
    "--bucket",
    "--rule",
    "--table",
    "--stream",
    "--route",
    help="Queue, topic, bucket, rule, table, stream or WebSocket route key.",
)
BODY = typer.Option(None, "--body", "--detail", help="Body / message / detail / new image (JSON or text).")
METHOD = typer.Option("GET", "--method", "-X", help="HTTP method (HTTP sources).")
PATH = typer.Option("/", "--path", help="Request path with query (HTTP sources).")
KEY = typer.Option("uploads/example.txt", "--key", help="Object key (s3).")
EVENT_NAME = typer.Option(None, "--event-name", help="s3 event name or DynamoDB INSERT/MODIFY/REMOVE.")
EVENT_SOURCE = typer.Option("my.app", "--source", help="EventBridge source.")
DETAIL_TYPE = typer.Option("ExampleEvent", "--detail-type", help="EventBridge detail-type.")
COUNT = typer.Option(1, "--count", "-n", min=1, max=100, help="Records in the batch (sqs, kinesis).")
VIA = typer.Option(None, "--via", help="Envelope: sqs via sns or eventbridge; s3 via sns, eventbridge or sqs.")
HEADER = typer.Option(None, "--header", "-H", help="'Name: value' request header (HTTP sources; repeatable).")


@events_cli.command("generate")
def generate(
    source: str = typer.Argument(..., help=_SOURCE_HELP),
    name: str = NAME,
    body: str = BODY,
    method: str = METHOD,
    path: str = PATH,
    key: str = KEY,
    event_name: str = EVENT_NAME,
    event_source: str = EVENT_SOURCE,
    detail_type: str = DETAIL_TYPE,
    count: int = COUNT,
    header: list[str] = HEADER,
    via: str = VIA,
) -> None:
    """Print an AWS-shaped sample event for SOURCE."""
    print_json(
        _sample(source, name, body, method, path, key, event_name, event_source, detail_type, count, header, via)
    )


@events_cli.command("sources")
def sources() -> None:
    """List the event sources samples can be generated for."""
    for source in SOURCES:
        typer.echo(source)


def _looks_like_event_file(arg: str) -> bool:
    return arg == "-" or arg.endswith(".json") or (Path(arg).is_file() and not arg.endswith(".py"))


def error_document(exc: BaseException) -> dict[str, Any]:
    """An exception as Lambda reports it (errorMessage, errorType, stackTrace)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": [line for line in traceback.format_list(frames)],
    }


def invoke(
    app: str = typer.Argument(None, help="The app as module:attr (default: discovered)."),
    event_file: str = typer.Argument(None, help="A JSON event file (- for stdin)."),
    event_type: str = typer.Option(None, "--event-type", "-t", help=f"Build a sample event instead. {_SOURCE_HELP}"),
    name: str = NAME,
    body: str = BODY,
    method: str = METHOD,
    path: str = PATH,
    key: str = KEY,
    event_name: str = EVENT_NAME,
    event_source: str = EVENT_SOURCE,
    detail_type: str = DETAIL_TYPE,
    count: int = COUNT,
    header: list[str] = HEADER,
    via: str = VIA,
    runtime: bool = typer.Option(False, "--runtime", help="Run under AWS's runtime client (awslambdaric)."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Function timeout in seconds (--runtime)."),
    repeat: int = typer.Option(
        1, "--repeat", min=1, max=1000, help="Send the event this many times (cold, then warm); prints a JSON list."
    ),
) -> None:
    """Run one event through app.handler and print the result as JSON."""
    if app is not None and event_file is None and _looks_like_event_file(app):
        app, event_file = None, app
    if (event_file is None) == (event_type is None):
        fail("Give an EVENT_FILE or --event-type (exactly one)", USAGE)
    if event_file is not None:
        event = read_event_file(event_file)
    else:
        event = _sample(
            event_type, name, body, method, path, key, event_name, event_source, detail_type, count, header, via
        )
    if runtime:
        _invoke_runtime(app, event, timeout, repeat)
    else:
        _invoke_in_process(app, event, repeat)


def _invoke_in_process(app_ref: str | None, event: Any, repeat: int) -> None:
    from lift.dev.runtime_api import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, REQUEST_TOO_LARGE
    from lift.errors import UnmatchedEvent
    from lift.sources.invoke import ResponseSizeTooLarge
    from lift.testing import lambda_context

    if _payload_size(event) > MAX_REQUEST_BYTES:  # Lambda refuses it before the function runs, as --runtime does
        print_json(REQUEST_TOO_LARGE)
        fail(f"Lambda refused the request: {REQUEST_TOO_LARGE['errorType']}: {REQUEST_TOO_LARGE['errorMessage']}")
    with app_output_on_stderr():
        app, _ = load(app_ref)
    results = []
    for _ in range(repeat):
        context = lambda_context(function_name=app.name)
        try:
            with app_output_on_stderr():
                result = app.handler(event, context)
        except SystemExit as exc:  # the handler ended the process: Lambda reports the runtime's exit
            status = exc.code if isinstance(exc.code, int) else 1 if exc.code else 0
            print_json(
                {
                    "errorMessage": f"RequestId: {context.aws_request_id} Error: Runtime exited with error: "
                    f"exit status {status}",
                    "errorType": "Runtime.ExitError",
                }
            )
            fail(f"The handler exited the process (sys.exit({exc.code!r})): Lambda reports Runtime.ExitError")
        except UnmatchedEvent as exc:  # the event names nothing the app registered: no code of theirs failed
            print_json(error_document(exc))
            fail(str(exc), hint="lift routes lists what the app registered")
        except ResponseSizeTooLarge as exc:  # Lift's own check of the result: Lambda's words, no traceback
            _fail_too_large(exc.size)
        except Exception as exc:
            print_raw("".join(traceback.format_exception(exc)).rstrip())
            print_json(error_document(exc))
            fail(f"The handler raised {type(exc).__name__}: {exc}")
        size = _payload_size(result)
        if size > MAX_RESPONSE_BYTES:  # the function ran, but Lambda would not deliver its answer
            _fail_too_large(size)
        results.append(result)
    print_json(results[0] if repeat == 1 else results)


def _fail_too_large(size: int) -> NoReturn:
    from lift.dev.runtime_api import response_too_large

    error = response_too_large(size)
    print_json(error)
    fail(f"Handler error: {error['errorType']}: {error['errorMessage']}")


def _payload_size(value: Any) -> int:
    """The size of `value` as the runtime sends it (JSON, as awslambdaric serialises it)."""
    try:
        return len(json.dumps(value, default=str).encode())
    except (TypeError, ValueError):  # (not JSON at all: printing it reports that)
        return 0


def _invoke_runtime(app_ref: str | None, event: Any, timeout: float, repeat: int) -> None:
    from lift.cli.discovery import AppNotFound, find_app_ref
    from lift.dev.runtime_api import RuntimeEmulator, RuntimeNotAvailable

    try:
        ref = find_app_ref(app_ref)
    except AppNotFound as exc:
        fail(str(exc), USAGE)
    if "." in ref.attr:  # Lambda's handler setting is module.function: the function is a module attribute
        fail(
            f"--runtime runs the app as Lambda does, from a handler setting module.function: {ref} is an "
            f"attribute of an attribute. Name it in the module (handler = {ref.attr}) and pass {ref.module}:handler",
            USAGE,
        )

    results = []
    try:
        with (
            err.status(f"Starting the Lambda runtime for {ref.handler}..."),
            RuntimeEmulator(ref.handler, cwd=ref.root, timeout=timeout, log_sink=print_raw) as runtime,
        ):
            for _ in range(repeat):
                result = runtime.invoke(event)
                results.append(result)
                err.print(f"[dim]{result.kind} in {result.duration_ms:.1f} ms (request id {result.request_id})[/dim]")
                if not result.ok:
                    break
    except RuntimeNotAvailable as exc:
        fail(str(exc))
    print_json(results[0].payload if repeat == 1 else [r.payload for r in results])
    last = results[-1]
    if not last.ok:
        labels = {
            "init_error": "Init error",
            "timeout": "Timeout",
            "exit": "Runtime exited",
            "error": "Handler error",
            "rejected": "Lambda refused the request",
        }
        fail(f"{labels[last.kind]}: {last.error.get('errorType')}: {last.error.get('errorMessage')}")
