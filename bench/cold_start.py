"""Cold start as Lambda sees it: spawn of the runtime to the first response, under `awslambdaric`.

Each app runs as `python -m awslambdaric <module>.handler` (AWS's own runtime interface client)
against the project's Runtime API emulator (`lift.dev.runtime_api.RuntimeEmulator`), and the
clock runs from the spawn of that process to the first response the emulator receives: the
interpreter start, the runtime client's own imports, the app's import and build, and the first
request. Rounds are interleaved across apps, so a slow spell of a shared machine hits them alike;
the table shows medians and ratios to Chalice in the same run, and /proc/loadavg before and after.
Beside the elapsed time, the runtime process's own CPU time (user + system, from its rusage when
it is reaped; after the first response it only waits): on a loaded machine the elapsed time also
counts the waits for a core, the CPU time much less so.

Variants: `.pyc` present (written by a warm-up run); no `.pyc` at all for the app and its
packages (`PYTHONDONTWRITEBYTECODE=1`, an empty `PYTHONPYCACHEPREFIX`), as a deployment package
built without them. `lift_app@lift-only` runs in `.bench-venv/lift-only` (lift, msgspec and the
runtime client only, no typing_extensions), `lift_app` in `.bench-venv` (typing_extensions
present, as pydantic brings it). A `+package` key runs the app as `lift package` ships it
(bench/packaged.py: the folder is the task root, first on sys.path, holding lift, msgspec and, for
`lift_app+package`, typing_extensions): its `.pyc` column is the compiled package (unchecked-hash
.pyc, lift's core bundle), its no-.pyc column `lift package --no-compile`'s. `app@py3.12...` keys
run on that Python (bench/venvs.py); `--python 3.12` measures Chalice and Lift there.

Usage: ``.bench-venv/bin/python bench/cold_start.py [--rounds 11] [--apps ...] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE / "apps"), str(HERE)]

APPS = {
    "bare_msgspec": "hand-written, msgspec",
    "bare": "hand-written, stdlib json",
    "lift_app": "Lift (typing_extensions installed)",
    "lift_app@lift-only": "Lift (only lift + msgspec)",
    "lift_app+package": "Lift, `lift package` (with typing_extensions)",
    "lift_app@lift-only+package": "Lift, `lift package` (lift + msgspec)",
    "chalice_app": "Chalice",
}
NAMES = dict(APPS)


def keys_for_python(version: str) -> dict[str, str]:
    """The rows of `--python X.Y`: Chalice, the limit and Lift (installed and packaged) on that Python."""
    return {
        f"chalice_app@py{version}": f"Chalice (Python {version})",
        f"bare_msgspec@py{version}-lift-only": f"hand-written, msgspec (Python {version})",
        f"lift_app@py{version}-lift-only": f"Lift, only lift + msgspec (Python {version})",
        f"lift_app@py{version}-lift-only+package": f"Lift, `lift package` (Python {version})",
        f"lift_app@py{version}": f"Lift, typing_extensions installed (Python {version})",
        f"lift_app@py{version}+package": f"Lift, `lift package` with typing_extensions (Python {version})",
    }


WITH_PYC = {"PYTHONDONTWRITEBYTECODE": ""}  # empty is unset: .pyc files are written and read


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0]
    except OSError:
        return "?"


def spawn_to_first_response(key: str, env: dict[str, str], compiled: bool = True) -> tuple[float, float]:
    """Milliseconds from the runtime's spawn to the first response of one GET, and the CPU time the
    runtime process used (user + system, read when it is reaped: it waits for the next invocation
    after the first response, and is killed); a `+package` key's app runs from its package, compiled
    or not."""
    from events import measured_events
    from venvs import parse, python_of

    from lift.dev.runtime_api import RuntimeEmulator

    module, _, packaged = parse(key)
    python = python_of(key)
    cwd = HERE / "apps"
    if packaged:
        import packaged as package

        cwd = package.build(python, compiled=compiled)
    event = measured_events()["GET /users/{id}"]
    emulator = RuntimeEmulator(f"{module}.handler", cwd=cwd, python=python, env=env, init_timeout=60)
    cpu_before = children_cpu_ms()
    started = time.perf_counter()
    with emulator:
        result = emulator.invoke(event, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
    if not result.ok or result.payload.get("statusCode") != 200:
        raise SystemExit(f"{key}: the first request failed: {result.payload!r}\n{result.logs}")
    return elapsed, children_cpu_ms() - cpu_before


def children_cpu_ms() -> float:
    """CPU time of this process's reaped children (the emulator's runtime process is its only one)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (used.ru_utime + used.ru_stime) * 1000


def measure(keys: list[str], rounds: int) -> dict:
    """key -> variant -> median ms (`cpu_` variants: the runtime process's CPU time)."""
    variants = ("pyc", "no_pyc", "cpu_pyc", "cpu_no_pyc")
    samples: dict[str, dict[str, list[float]]] = {k: {v: [] for v in variants} for k in keys}
    for key in keys:  # write the .pyc files the first variant relies on (a package has its own)
        spawn_to_first_response(key, WITH_PYC)
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        for i in range(rounds):
            for key in keys:
                wall, cpu = spawn_to_first_response(key, WITH_PYC)
                samples[key]["pyc"].append(wall)
                samples[key]["cpu_pyc"].append(cpu)
                empty = tempfile.mkdtemp(dir=scratch, prefix=f"{i}-")
                no_pyc = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty}
                wall, cpu = spawn_to_first_response(key, no_pyc, compiled=False)
                samples[key]["no_pyc"].append(wall)
                samples[key]["cpu_no_pyc"].append(cpu)
    return {k: {v: statistics.median(xs) for v, xs in variants.items()} for k, variants in samples.items()}


def table(results: dict) -> list[str]:
    chalice = next((row for key, row in results.items() if key.startswith("chalice_app")), None)
    lines = [
        "| app | spawn -> first response (ms) | vs Chalice | no .pyc (ms) | vs Chalice "
        "| runtime CPU (ms) | vs Chalice | no .pyc | vs Chalice |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, row in results.items():
        cells = []
        for variant in ("pyc", "no_pyc", "cpu_pyc", "cpu_no_pyc"):
            base = chalice[variant] if chalice else None
            cells += [f"{row[variant]:.1f}", f"{row[variant] / base:.2f}x" if base else "-"]
        lines.append(f"| {NAMES.get(key, key)} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--apps", default=None, help="comma-separated keys (default: every app of --python)")
    parser.add_argument("--python", default=None, help="3.12 or 3.13: Chalice and Lift on that Python (bench/setup.sh)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from venvs import python_of

    named = keys_for_python(args.python) if args.python else APPS
    NAMES.update(named)
    wanted = args.apps.split(",") if args.apps else list(named)
    keys = [k for k in wanted if Path(python_of(k)).exists()]
    if missing := sorted(set(wanted) - set(keys)):
        print(f"not measured (no virtualenv: bash bench/setup.sh makes it): {', '.join(missing)}", file=sys.stderr)
    before = loadavg()
    results = measure(keys, args.rounds)
    after = loadavg()
    if args.json:
        print(json.dumps({"results": results, "loadavg": [before, after]}))
        return
    print(
        f"Cold start under awslambdaric (median of {args.rounds} interleaved rounds; load average {before} -> {after})"
    )
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
