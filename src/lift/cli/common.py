"""What every command shares: consoles, failing with an exit code, loading the app, reading events."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from lift.cli.discovery import AppImportFailed, AppNotFound, AppRef, import_traceback, load_app
from lift.cli.samples import NotJSON, loads_json

__all__ = [
    "app_output_on_stderr",
    "err",
    "fail",
    "load",
    "print_json",
    "print_raw",
    "read_event_file",
    "USAGE",
    "FAILURE",
]

FAILURE = 1  # the command ran and something failed
USAGE = 2  # the command was called wrongly (bad argument, missing app, bad event file)

# soft_wrap: a message is one line whatever its length; Rich would otherwise break it at 80 columns
# whenever stderr is not a terminal (CI logs, `2> file`), splitting an error over several lines
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = FAILURE, hint: str | None = None) -> NoReturn:
    """Print a clear error (and an optional hint) to stderr and exit with `code`."""
    err.print(f"[bold red]Error:[/bold red] {escape(message)}")
    if hint:
        err.print(f"[dim]{escape(hint)}[/dim]")
    raise typer.Exit(code)


def load(ref: str | None) -> tuple[Any, AppRef]:
    """Import the user's app, exiting 2 when it cannot be found and 1 when its import raises."""
    try:
        return load_app(ref)
    except AppNotFound as exc:
        fail(str(exc), USAGE)
    except AppImportFailed as exc:
        cause = exc.__cause__
        if cause is not None:
            print_raw(import_traceback(cause))
        fail(str(exc), FAILURE)


@contextlib.contextmanager
def app_output_on_stderr() -> Iterator[None]:
    """Run the user's app with what it prints (log lines, EMF metrics, print()) going to stderr,
    so that stdout carries only the command's result: `lift invoke ... | jq` keeps working."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def print_raw(text: str) -> None:
    """Write `text` to stderr as is: app log lines and tracebacks are never wrapped or styled
    (Rich would wrap them at 80 columns when stderr is not a terminal)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def print_json(data: Any) -> None:
    """Write `data` to stdout as indented JSON (stdout stays machine-readable)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def read_event_file(path: str) -> Any:
    """The JSON event in `path` (`-` for stdin); exits 2 with the reason when it is unusable."""
    if path == "-":
        text = sys.stdin.read().removeprefix("\ufeff")
        where = "stdin"
    else:
        file = Path(path)
        if not file.is_file():
            fail(f"Event file {path} {'is a directory' if file.is_dir() else 'does not exist'}", USAGE)
        try:
            # utf-8-sig: a byte order mark (Windows editors, AWS's .NET samples) is no JSON error
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"Cannot read event file {path}: {exc}", USAGE)
        where = path
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        fail(f"Event file {where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", USAGE)
    except NotJSON as exc:  # (Lambda's Invoke refuses these too: InvalidRequestContentException)
        fail(f"Event file {where} is not valid JSON: {exc}", USAGE)
    except RecursionError:
        fail(f"Event file {where} is nested too deeply to read", USAGE)
