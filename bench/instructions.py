"""Instructions per warm request, counted by valgrind: the same on a loaded machine as on an idle one.

Wall-clock times on a shared machine move with everyone else's load; the number of machine
instructions a request executes does not. Each app runs in a child under
`valgrind --tool=cachegrind` once with no measured calls (the base: interpreter start, import,
warm-up) and once per request kind with `--calls` calls of that kind; (total - base) / calls
is that kind's instructions per call. Instructions are not time (a cache miss costs more than
an add), but for the same Python code paths the two move together, and ratios between apps
doing the same work are what the bench reports.

Usage: ``python bench/instructions.py [--apps bare_msgspec,bare,lift_app] [--calls 2000] [--json]``.
The apps are modules in bench/apps exposing ``handler`` (and ``handler_v2``/``handler_alb`` for
the other HTTP formats, as `bare_msgspec` does; apps without them answer every format with
``handler``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "apps"), str(HERE)]

WARMUP = 300


def all_events() -> dict:
    """kind -> (event, handler attribute name of the limit)."""
    from events import format_events, measured_events

    kinds = {kind: (event, "handler") for kind, event in measured_events().items()}
    kinds.update(format_events())
    return kinds


def child(module: str, kind: str | None, calls: int) -> None:
    """Import the app, warm every kind up, then make `calls` calls of `kind` (none when None)."""
    import importlib

    from events import LambdaContext

    app = importlib.import_module(module)
    context = LambdaContext()
    events = all_events()
    handlers = {k: getattr(app, name, app.handler) for k, (_, name) in events.items()}
    for k, (event, _) in events.items():
        if not answers(handlers[k], event, context):
            continue
        for _ in range(WARMUP):
            handlers[k](event, context)
    if kind is not None:
        call, event = handlers[kind], events[kind][0]
        for _ in range(calls):
            call(event, context)


def answers(handler, event: dict, context) -> bool:
    """Whether `handler` understands this event's format (the stdlib bare handler knows REST only)."""
    try:
        return 200 <= handler(event, context)["statusCode"] < 500
    except (KeyError, TypeError):
        return False


def supported(module: str) -> set[str]:
    """The request kinds `module` answers."""
    import importlib

    from events import LambdaContext

    app = importlib.import_module(module)
    return {
        k
        for k, (event, name) in all_events().items()
        if answers(getattr(app, name, app.handler), event, LambdaContext())
    }


def count(python: str, module: str, kind: str | None, calls: int) -> int:
    """Instructions executed by one child run."""
    args = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        python,
        __file__,
        "--child",
        module,
        kind or "",
        str(calls),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or not found:
        raise SystemExit(f"{module} {kind}: valgrind failed\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def measure(apps: list[str], calls: int, kinds: list[str] | None = None, python: str = sys.executable) -> dict:
    """app -> kind -> instructions per call."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: instruction counts need it (apt-get install valgrind)")
    kinds = kinds or list(all_events())
    results: dict[str, dict[str, float]] = {}
    for app in apps:
        base = count(python, app, None, 0)
        known = supported(app)
        results[app] = {
            kind: (count(python, app, kind, calls) - base) / calls if kind in known else None for kind in kinds
        }
    return results


def _init_python(key: str) -> tuple[str, str]:
    """(module, python) of an `app[@venv][+package]` key (bench/venvs.py)."""
    from venvs import parse, python_of

    return parse(key)[0], python_of(key)


def _lift_path(key: str) -> str:
    """Where the measured app finds lift (and runs): this checkout's `src` (the app from bench/apps),
    or for a `+package` key the app's folder as `lift package` ships it (bench/packaged.py: lift,
    msgspec, typing_extensions when the virtualenv has it, the app; compiled, with lift's core bundle,
    by the measured Python)."""
    from venvs import parse

    if not parse(key)[2]:
        return str(HERE.parent / "src")
    import packaged

    return str(packaged.build(_init_python(key)[1]))


def _count_code(python: str, code: str, lift_path: str | None = None) -> int:
    """Instructions of `python -c code` in bench/apps (in the package's folder for a packaged app),
    .pyc files written first (by a plain run), up to the end of `code`: the process then leaves with
    `os._exit`, as a Lambda execution environment is never shut down before its first response
    (Python's finalization, its last collection over every object and module teardown, would add
    a cost that grows with what was imported and that no cold start pays)."""
    code += "; import os as _os; _os._exit(0)"
    # this checkout's lift, ahead of the one the bench virtualenv installed (a git worktree's
    # bench runs its own code in the main checkout's .bench-venv)
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPATH": lift_path or str(HERE.parent / "src"),
    }
    packaged = not (lift_path is None or lift_path == str(HERE.parent / "src"))
    cwd = Path(lift_path) if packaged else HERE / "apps"
    # a package's folder is on sys.path once, first, as /var/task is on Lambda (-c alone would put it there a
    # second time, as "", and every import looking past it would pay a second failed lookup)
    command = [python, *(["-P"] if packaged else []), "-c", code]
    subprocess.run(command, cwd=cwd, env=env, check=True)  # write the .pyc files
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or not found:
        raise SystemExit(f"valgrind failed on {code!r}\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


RUNTIME = "import awslambdaric.bootstrap"  # what the Lambda runtime has loaded before the handler's module


def init_counts(apps: list[str]) -> dict[str, float]:
    """Instructions of `import <app>` (the framework's import and the 52 routes' registration)
    after `import awslambdaric.bootstrap`, i.e. what the Lambda runtime has loaded before it
    imports a handler; `app@lift-only` runs in .bench-venv/lift-only (no typing_extensions)."""
    results = {}
    for key in apps:
        module, python = _init_python(key)
        where = _lift_path(key)
        results[key] = _count_code(python, f"{RUNTIME}; import {module}", where) - _count_code(python, RUNTIME, where)
    return results


def init_stages(key: str) -> dict[str, int]:
    """Where a cold start's instructions go, up to the first response of `GET /users/42`: each
    stage's instructions (a count of the code up to it, less the count of the one before).
    For Lift apps: msgspec's import, `import lift`, `App()`, then the rest of the app module (its 52
    routes' registration and its own work, 13 models among it); for the others the app module at once."""
    module, python = _init_python(key)
    where = _lift_path(key)
    request = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); from events import measured_events, LambdaContext; "
        "event, context = measured_events()['GET /users/{id}'], LambdaContext()"
    )
    steps = [("runtime", RUNTIME)]
    if module.startswith("lift"):
        steps += [
            ("msgspec import", f"{RUNTIME}; import msgspec"),
            ("import lift", f"{RUNTIME}; import msgspec, lift"),
            ("App()", f"{RUNTIME}; import msgspec, lift; lift.App(name='bench-service')"),
        ]
    steps.append(("app module" if len(steps) > 1 else "import + build", f"{RUNTIME}; import {module}"))
    counts = {name: _count_code(python, code, where) for name, code in steps}
    loaded = _count_code(python, f"{RUNTIME}; import {module}; {request}", where)
    answered = _count_code(
        python,
        f"{RUNTIME}; import {module}; {request}; answer = {module}.handler(event, context); "
        "assert answer['statusCode'] == 200, answer",
        where,
    )
    names = [name for name, _ in steps]
    stages = {name: counts[name] - counts[before] for before, name in itertools.pairwise(names)}
    stages["first request"] = answered - loaded
    stages["init + first request"] = counts[names[-1]] - counts["runtime"] + stages["first request"]
    return stages


def same_python(a: str, b: str) -> bool:
    """Whether two keys run on the same Python (`@py3.12...` keys on 3.12, the others on the bench's)."""
    from venvs import parse

    def version(key: str) -> str:
        venv = parse(key)[1]
        return venv.split("-")[0] if venv.startswith("py") else ""

    return version(a) == version(b)


def table(results: dict, limit: str) -> str:
    kinds = list(next(iter(results.values())))
    lines = [
        "| app | " + " | ".join(kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    for app, row in results.items():
        cells = []
        for kind in kinds:
            if row[kind] is None:
                cells.append("-")
                continue
            ratio = row[kind] / results[limit][kind] if limit in results else float("nan")
            cells.append(f"{row[kind] / 1000:.1f}k ({ratio:.2f}x)")
        lines.append(f"| {app} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3] or None, int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="bare_msgspec,bare,lift_app")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--kinds", default=None, help="comma-separated request kinds (default: all)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--init", action="store_true", help="count the import of each app in the Lambda runtime instead"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="with --init: each stage of a cold start up to the first response (msgspec, import lift, App(), ...)",
    )
    args = parser.parse_args()
    apps = args.apps.split(",")
    if args.init and args.stages:
        print("Where a cold start's instructions go, after the Lambda runtime's own imports (valgrind), in millions")
        for key in apps:
            stages = init_stages(key)
            print(f"| {key} | " + " | ".join(f"{name} {n / 1e6:.2f}M" for name, n in stages.items()) + " |")
        return
    if args.init:
        counts = init_counts(apps)
        print(
            "Instructions of the app's import after the Lambda runtime's own (valgrind); ratio vs Chalice "
            "on the same Python"
        )
        for key, n in counts.items():
            base = next((c for k, c in counts.items() if k.startswith("chalice_app") and same_python(k, key)), None)
            print(f"| {key} | {n / 1e6:.1f}M | {n / base:.2f}x |" if base else f"| {key} | {n / 1e6:.1f}M |")
        return
    results = measure(apps, args.calls, args.kinds.split(",") if args.kinds else None)
    if args.json:
        print(json.dumps(results))
    else:
        print(f"Instructions per call (valgrind cachegrind, {args.calls} calls); ratio vs {apps[0]}")
        print(table(results, apps[0]))


if __name__ == "__main__":
    main()
