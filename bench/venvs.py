"""Which Python a bench key runs: `module[@venv][+package]`.

`venv` names a virtualenv under `.bench-venv/` (made by bench/setup.sh): none is `.bench-venv`
itself (every framework, typing_extensions with them), `lift-only` (lift, msgspec and the runtime
client), `py3.12` / `py3.13` (Chalice, msgspec, typing_extensions, the runtime client and lift, on
that Python) and `py3.12-lift-only` / `py3.13-lift-only`. `+package` runs the app as `lift package`
ships it (bench/packaged.py). From a git worktree a virtualenv the checkout lacks is taken from the
main checkout's `.bench-venv`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _main_checkout() -> Path | None:
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(common).parent


def venv_python(venv: str = "") -> Path:
    """The `python` of `.bench-venv/<venv>`: this checkout's, else the main checkout's, else this
    checkout's path (which does not exist: the caller says so)."""
    own = ROOT / ".bench-venv" / venv / "bin" / "python"
    if own.exists():
        return own
    main = _main_checkout()
    if main is not None and (main / ".bench-venv" / venv / "bin" / "python").exists():
        return main / ".bench-venv" / venv / "bin" / "python"
    return own


def parse(key: str) -> tuple[str, str, bool]:
    """(module, venv, packaged) of a key."""
    module, _, rest = key.partition("@")
    packaged = key.endswith("+package")
    if packaged and not rest:
        module = module.removesuffix("+package")
    return module, rest.removesuffix("+package"), packaged


def python_of(key: str) -> str:
    return str(venv_python(parse(key)[1]))
