"""`lift new NAME`: a project that passes its own tests immediately."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from lift.cli.common import USAGE, err, fail
from lift.cli.templates import TEMPLATES, render

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")  # a valid distribution name (PEP 508)


def new(
    name: str = typer.Argument(..., help="Project name (a new directory of that name is created)."),
    template: str = typer.Option("api", "--template", "-t", help=f"One of: {', '.join(TEMPLATES)}."),
    directory: Path = typer.Option(None, "--dir", help="Where to create the project (default: ./NAME)."),
) -> None:
    """Create a new Lift project: pyproject, app module, tests using lift.testing, README."""
    if template not in TEMPLATES:
        fail(f"Unknown template {template!r}; choose one of: {', '.join(TEMPLATES)}", USAGE)
    if not _NAME.match(name):
        fail(
            f"Invalid project name {name!r}: use letters, digits, '-' and '_', starting with a letter "
            "and ending with a letter or digit",
            USAGE,
        )
    target = directory or Path(name)
    if target.exists() and not target.is_dir():
        fail(f"{target} already exists and is not a directory")
    if target.exists() and any(target.iterdir()):
        fail(f"{target} already exists and is not empty")
    try:
        for relative, content in render(template, name).items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    except OSError as exc:
        fail(f"Cannot create the project in {target}: {exc.strerror or exc} ({exc.filename or target})")
    err.print(f"[green]Created[/green] {target} from the [bold]{template}[/bold] template. Next:")
    err.print(
        f'  cd {shlex.quote(str(target))}\n  python -m venv .venv && . .venv/bin/activate\n  pip install -e ".[dev]"\n  pytest\n  lift dev',
        markup=False,
    )
