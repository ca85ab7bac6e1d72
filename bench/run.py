"""Compare Lift with a bare handler, Powertools, Chalice and FastAPI+Mangum in one run.

Measures, for every app in bench/apps (the same 52-route service in each framework):
- init: import + build the app in N fresh processes (median), peak RSS, and the same with no
  .pyc files available (PYTHONDONTWRITEBYTECODE=1 and an empty -X pycache_prefix per run);
- warm: per-request time for GET with a typed path param, valid POST, invalid POST and a 404,
  after checking each app answers like the bare handler (bench/warm.py, one process per app).
Prints markdown tables and writes them to bench/results.md. Run it with the bench virtualenv:
``bash bench/run.sh [--quick]``.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APPS_DIR = HERE / "apps"

# module -> (label, distributions whose versions the report names)
APPS = {
    "bare_msgspec": ("hand-written, msgspec (the limit)", ["msgspec"]),
    "bare": ("hand-written, stdlib json", []),
    "lift_app": ("Lift (typed)", ["lift", "msgspec"]),
    "chalice_app": ("Chalice", ["chalice"]),
    "chalice_pydantic": ("Chalice + pydantic", ["chalice", "pydantic"]),
    "powertools_app": ("Powertools", ["aws-lambda-powertools"]),
    "powertools_validated": ("Powertools + validation", ["aws-lambda-powertools", "pydantic"]),
    "fastapi_app": ("FastAPI + Mangum", ["fastapi", "mangum", "pydantic"]),
}
# Init only: the Lift app in a virtualenv holding just lift and msgspec, like a deployment package
# (.bench-venv also has pydantic's typing_extensions, which msgspec imports when present).
LIFT_ONLY_PYTHON = HERE.parent / ".bench-venv" / "lift-only" / "bin" / "python"
LIFT_ONLY = "lift_app@lift-only"
LIFT_ONLY_LABEL = "Lift (typed), only lift + msgspec installed"
# "cpu": CPU time of the measured process or thread (time.process_time / time.thread_time), so
# other work on a shared machine does not count; "wall": time.perf_counter. Set by --clock.
CLOCK = "cpu"
KINDS = ["GET /users/{id}", "POST /users (valid)", "POST /users (invalid)", "GET unknown -> 404"]

INIT_CHILD = """
import sys, time
sys.path.insert(0, {apps_dir!r})
{preload}
start, cpu_start = time.perf_counter(), time.process_time()
{import_line}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
import json
# VmHWM, not ru_maxrss: on Linux ru_maxrss keeps the parent's high-water mark across exec.
with open("/proc/self/status") as status:
    rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({{"wall_ms": elapsed * 1000, "cpu_ms": cpu * 1000, "rss_kb": rss_kb, "modules": len(sys.modules)}}))
"""


# What the Lambda Python runtime has imported before it imports the handler module: its
# bootstrap (awslambdaric) brings json, logging, traceback, decimal, re, threading, ...
LAMBDA_RUNTIME_PRELOAD = "import awslambdaric.bootstrap"


def init_once(key: str | None, pycache_prefix: str | None = None, preload: str = "") -> dict:
    """Import (and so build) one app in a fresh interpreter; the child times itself.

    With a pycache_prefix, Python reads .pyc files only from that tree and writes none, so
    every module it lacks there is compiled from source. `preload` runs before the timer.
    """
    module, python = (key, sys.executable) if key != LIFT_ONLY else ("lift_app", str(LIFT_ONLY_PYTHON))
    import_line = f"import {module}" if module else "pass"
    code = INIT_CHILD.format(apps_dir=str(APPS_DIR), import_line=import_line, preload=preload)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    args = [python]
    if pycache_prefix is not None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        args += ["-X", f"pycache_prefix={pycache_prefix}"]
    done = subprocess.run(args + ["-c", code], env=env, capture_output=True, text=True, cwd=HERE)
    if done.returncode != 0:
        raise RuntimeError(f"init of {key} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["ms"] = result[f"{CLOCK}_ms"]
    return result


def stdlib_only_pycache(modules: list[str], prefix: Path) -> None:
    """Fill prefix with .pyc files of the standard library only, as a Lambda runtime has them.

    Imports every app once writing its .pyc files under prefix, then drops all but the stdlib's;
    runs with this prefix compile the app, lift and the frameworks from source.
    """
    code = f"import sys; sys.path.insert(0, {str(APPS_DIR)!r}); " + "; ".join(
        f"import {m}" for m in modules if m != LIFT_ONLY
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-X", f"pycache_prefix={prefix}", "-c", code], env=env, check=True, cwd=HERE)
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    keep = prefix / stdlib.relative_to(stdlib.anchor)
    with tempfile.TemporaryDirectory(dir=prefix.parent) as holding:
        if keep.exists():
            keep.rename(Path(holding) / "stdlib")
        shutil.rmtree(prefix)
        if (Path(holding) / "stdlib").exists():
            keep.parent.mkdir(parents=True)
            (Path(holding) / "stdlib").rename(keep)


def lambda_runtime_available() -> bool:
    return subprocess.run([sys.executable, "-c", LAMBDA_RUNTIME_PRELOAD], capture_output=True).returncode == 0


def measure_init(modules: list[str], runs: int) -> dict:
    """Median init time (.pyc present; after the Lambda runtime's imports; .pyc only for the
    stdlib; no .pyc at all), peak RSS and module count; the runs are interleaved across apps
    so a slow spell hits them alike."""
    in_lambda = lambda_runtime_available()
    for module in modules:  # write the .pyc files the normal column relies on
        init_once(module)
    samples = {
        module: {"ms": [], "rss_kb": [], "modules": [], "lambda_ms": [], "nopkgpyc_ms": [], "nopyc_ms": []}
        for module in [None, *modules]
    }
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as scratch:
        stdlib_prefix = Path(scratch) / "stdlib-only"
        stdlib_only_pycache(modules, stdlib_prefix)
        for _ in range(runs):
            for module in [None, *modules]:
                normal = init_once(module)
                entry = samples[module]
                entry["ms"].append(normal["ms"])
                entry["rss_kb"].append(normal["rss_kb"])
                entry["modules"].append(normal["modules"])
                if in_lambda:
                    entry["lambda_ms"].append(init_once(module, preload=LAMBDA_RUNTIME_PRELOAD)["ms"])
                entry["nopkgpyc_ms"].append(init_once(module, str(stdlib_prefix))["ms"])
                empty = tempfile.mkdtemp(dir=scratch)
                entry["nopyc_ms"].append(init_once(module, empty)["ms"])
    return {
        module: {key: statistics.median(values) if values else None for key, values in entry.items()}
        for module, entry in samples.items()
    }


def measure_warm(modules: list[str], repeats: int, target_s: float) -> dict:
    """Check and time every app in one process (bench/warm.py), rounds interleaved across apps."""
    done = subprocess.run(
        [sys.executable, str(HERE / "warm.py"), CLOCK, str(repeats), str(target_s), *modules],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    if done.returncode != 0:
        raise RuntimeError(f"warm run failed:\n{done.stderr}{done.stdout}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def available(module: str) -> bool:
    """True when the app's framework imports in this interpreter (the main venv lacks the others)."""
    code = f"import sys; sys.path.insert(0, {str(APPS_DIR)!r}); import {module}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def versions(modules: list[str]) -> str:
    names = sorted({dist for module in modules for dist in APPS[module][1]})
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def lift_revision() -> str:
    """The repository commit the measured lift comes from, marking uncommitted changes to src/lift."""
    root = HERE.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src/lift"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"commit {commit}" + (" with uncommitted changes in src/lift" if dirty else "")


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "-"


def warm_table(warm: dict) -> list[str]:
    lines = ["| app | " + " | ".join(KINDS) + " |", "|---|" + "---:|" * len(KINDS)]
    limit, bare = warm.get("bare_msgspec"), warm.get("bare")
    for module, kinds in warm.items():
        cells = []
        for kind in KINDS:
            us = kinds[kind]["median_us"]
            status = kinds[kind]["status"]
            vs_limit = ratio(us, limit[kind]["median_us"] if limit else None)
            vs_bare = ratio(us, bare[kind]["median_us"] if bare else None)
            shown = f"{us:.2f} us ({vs_limit} / {vs_bare})"
            if kind.startswith("POST /users (invalid)") or kind.endswith("404"):
                shown += f" [{status}]"
            cells.append(shown)
        lines.append(f"| {APPS[module][0]} | " + " | ".join(cells) + " |")
    return lines


def init_table(init: dict) -> list[str]:
    chalice = init.get("chalice_app", {})
    lines = [
        "| app | import + build (ms) | vs Chalice | in the Lambda runtime (ms) | vs Chalice "
        "| no .pyc but stdlib's (ms) | no .pyc at all (ms) | peak RSS (MB) | modules loaded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, entry in init.items():
        label = LIFT_ONLY_LABEL if module == LIFT_ONLY else APPS[module][0] if module else "(empty interpreter)"
        in_lambda = entry["lambda_ms"]
        lines.append(
            f"| {label} | {entry['ms']:.1f} | {ratio(entry['ms'], chalice.get('ms')) if module else '-'} | "
            f"{'-' if in_lambda is None else f'{in_lambda:.1f}'} | "
            f"{ratio(in_lambda, chalice.get('lambda_ms')) if module and in_lambda is not None else '-'} | "
            f"{entry['nopkgpyc_ms']:.1f} | {entry['nopyc_ms']:.1f} | {entry['rss_kb'] / 1024:.1f} | "
            f"{entry['modules']:.0f} |"
        )
    return lines


def target_lines(warm: dict, init: dict) -> list[str]:
    """Lift's targets (issue 11), checked against this run."""
    lines: list[str] = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    if "lift_app" in warm and "bare_msgspec" in warm:
        lift, limit = warm["lift_app"], warm["bare_msgspec"]
        for kind, most in [(KINDS[0], 1.5), (KINDS[1], 1.5), (KINDS[2], 3.0), (KINDS[3], 1.5)]:
            r = lift[kind]["median_us"] / limit[kind]["median_us"]
            lines.append(f"- {kind}: Lift / the limit = {r:.2f} (target <= {most:g}): {verdict(r <= most)}")
    chalice = init.get("chalice_app")
    for key, which in [("lift_app", " (typing_extensions installed)"), (LIFT_ONLY, " (only lift + msgspec)")]:
        entry = init.get(key)
        if not entry or not chalice:
            continue
        for column, label, most in [
            ("lambda_ms", "init in the Lambda runtime", 1.0),
            ("nopkgpyc_ms", "init without .pyc (stdlib's kept)", 1.2),
            ("rss_kb", "peak RSS after init", 1.0),
        ]:
            if entry.get(column) and chalice.get(column):
                r = entry[column] / chalice[column]
                lines.append(f"- {label}{which}: Lift / Chalice = {r:.2f} (target <= {most:g}): {verdict(r <= most)}")
    return lines


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def report(warm: dict, init: dict, modules: list[str], settings: str, load: tuple[str, str] = ("?", "?")) -> str:
    busiest = max(float(x.split()[0]) for x in load if x[:1].isdigit()) if any(x[:1].isdigit() for x in load) else 0
    publishable = busiest <= (os.cpu_count() or 1)
    head = [
        "# Lift benchmark results",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; Python {platform.python_version()} on "
        f"{platform.machine()}, {os.cpu_count()} CPUs; {settings}.",
        f"Versions: {versions(modules)}; lift from {lift_revision()}.",
        f"Load average (1, 5, 15 min) at the start: {load[0]}; at the end: {load[1]}"
        + ("" if publishable else f" -- above the {os.cpu_count()} cores: NOT publishable, rerun on a quiet machine"),
        "",
        "## Warm requests (median per call; ratio vs the limit / vs the stdlib hand-written handler; [status] of errors)",
        "",
    ]
    middle = ["", "## Init in a fresh process (median; import of the app module, which builds its 52 routes)", ""]
    if not init:
        middle, init_lines = [], []
    else:
        init_lines = init_table(init)
    targets = target_lines(warm, init)
    tail = ["", "## Lift's targets", "", *targets] if targets else []
    return "\n".join(head + warm_table(warm) + middle + init_lines + tail) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and shorter timings (about 30 s)")
    parser.add_argument("--apps", help="comma-separated app modules (default: all that import here)")
    parser.add_argument("--init-runs", type=int, help="fresh processes per app (default 15, quick 5)")
    parser.add_argument("--no-init", action="store_true", help="warm requests only (skip the init measurements)")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="cpu: CPU time of the measured process (default, robust on a shared machine); wall: elapsed time",
    )
    parser.add_argument("--output", default=str(HERE / "results.md"), help="where to write the tables ('-' for none)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = args.clock

    wanted = args.apps.split(",") if args.apps else list(APPS)
    modules = [module for module in wanted if available(module)]
    for module in sorted(set(wanted) - set(modules)):
        print(f"skipping {module}: it does not import here (run bench/setup.sh and use .bench-venv)", file=sys.stderr)
    for base in ("bare", "bare_msgspec"):
        if base not in modules:
            modules.insert(0, base)
    load_start = loadavg()

    runs = args.init_runs or (5 if args.quick else 15)
    repeats, target_s = (5, 0.01) if args.quick else (21, 0.025)
    clock = "CPU time (process_time/thread_time)" if CLOCK == "cpu" else "wall time (perf_counter)"
    settings = (
        f"init: {runs} fresh processes per app; warm: {repeats} rounds of ~{target_s * 1000:.0f} ms per "
        f"request kind; clock: {clock}"
    )

    print(f"warm: {', '.join(modules)}", file=sys.stderr)
    warm = measure_warm(modules, repeats, target_s)
    init = {}
    if not args.no_init:
        print("init ...", file=sys.stderr)
        init_keys = list(modules)
        if "lift_app" in modules and LIFT_ONLY_PYTHON.exists():
            init_keys.insert(init_keys.index("lift_app") + 1, LIFT_ONLY)
        init = measure_init(init_keys, runs)

    text = report(warm, init, modules, settings, (load_start, loadavg()))
    print(text)
    if args.output != "-":
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
