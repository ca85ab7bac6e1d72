"""`lift new NAME`: a project that passes its own tests immediately."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from lift.cli.common import USAGE, err, fail
from lift.cli.templates import TEMPLATES, render

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")  # a valid distribution name (PEP 508)
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # (PEP 503: `Lift_Lambda` is `lift-lambda`)


def taken_names() -> set[str]:
    """Distribution names a new project cannot have: what its `pip install -e ".[dev]"` installs
    (lift-lambda with its dev extra, msgspec, pytest, and what they require, as installed here). A
    project named like one of them installs in its place (`lift new lift-lambda`: no Lift, so
    `import lift` fails), or not at all (`lift new msgspec`: pip finds no version of both)."""
    from importlib import metadata

    names = {"lift-lambda", "msgspec", "pytest"}
    todo: list[tuple[str, set[str]]] = [("lift-lambda", {"dev"}), ("msgspec", set()), ("pytest", set())]
    seen: set[str] = set()
    while todo:
        dist, extras = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            spec, _, marker = requirement.partition(";")
            wanted = _EXTRA_MARKER.findall(marker)
            found = _REQUIREMENT_NAME.match(spec.strip())
            if found and (not wanted or extras.intersection(wanted)):
                names.add(_normalized(found.group()))
                todo.append((_normalized(found.group()), set()))
    return names


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
    if _normalized(name) in taken_names():
        fail(
            f"Project name {name!r} is the name of a package the project installs (Lift, msgspec, pytest or "
            "one of their dependencies): pip would install one in place of the other; choose another name",
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
