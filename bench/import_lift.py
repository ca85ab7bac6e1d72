"""How long `import lift` takes in a fresh process, and what it imports.

Reports the median over fresh interpreters (timed inside the child), the same for
`import msgspec` alone (Lift's one runtime dependency), the modules `import lift` loads
beyond the standard library and msgspec (there must be none: exit status 1 otherwise),
the time to build the 52-route bench app once lift is imported, and the largest imports by
cumulative time from `-X importtime`. Times are CPU time of the child (`time.process_time`).
Usage: ``python bench/import_lift.py [--runs N] [--top N]``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

APPS_DIR = Path(__file__).resolve().parent / "apps"

CHILD = """
import sys, time
sys.path.insert(0, {apps_dir!r})
{preload}
before = set(sys.modules)
start = time.process_time()
import {module}
elapsed = time.process_time() - start
import json
print(json.dumps({{"ms": elapsed * 1000, "modules": sorted(set(sys.modules) - before)}}))
"""


def child_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time the normal case: .pyc files written and used
    return env


def import_once(module: str, preload: str = "") -> dict:
    code = CHILD.format(module=module, preload=preload, apps_dir=str(APPS_DIR))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def largest_imports(module: str, top: int) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports, from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def top_level(name: str) -> str:
    return name.split(".", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    import_once("lift")  # write .pyc files first
    import_once("lift_app", "import lift")
    lift_runs, msgspec_runs, build_runs = [], [], []
    for _ in range(args.runs):
        lift_runs.append(import_once("lift"))
        msgspec_runs.append(import_once("msgspec"))
        build_runs.append(import_once("lift_app", "import lift"))
    build_ms = statistics.median(run["ms"] for run in build_runs)
    lift_ms = statistics.median(run["ms"] for run in lift_runs)
    msgspec_ms = statistics.median(run["ms"] for run in msgspec_runs)
    loaded = set(lift_runs[0]["modules"])
    via_msgspec = set(msgspec_runs[0]["modules"])
    foreign = sorted(
        name
        for name in loaded - via_msgspec
        if top_level(name) not in sys.stdlib_module_names and top_level(name) not in ("lift", "msgspec")
    )
    stdlib_packages = sorted(
        {
            top_level(name)
            for name in loaded - via_msgspec
            if top_level(name) in sys.stdlib_module_names and not name.startswith("_")
        }
    )

    print(f"import lift:    {lift_ms:6.1f} ms median of {args.runs} fresh processes ({len(loaded)} modules loaded)")
    print(f"import msgspec: {msgspec_ms:6.1f} ms alone ({len(via_msgspec)} modules)")
    if "typing_extensions" in via_msgspec:
        print(
            "  (typing_extensions is installed here, so msgspec imports it; a deployment of only lift and"
            " msgspec does not have it)"
        )
    print(f"lift's own share: {lift_ms - msgspec_ms:6.1f} ms")
    print(f"building bench/apps/lift_app.py (52 routes) after `import lift`: {build_ms:6.1f} ms")
    print(f"stdlib packages lift adds beyond msgspec's: {', '.join(stdlib_packages) or 'none'}")
    print(f"modules beyond stdlib + msgspec: {', '.join(foreign) or 'none'}")
    print("\nlargest imports (cumulative, one -X importtime run):")
    for micros, name in largest_imports("lift", args.top):
        print(f"  {micros / 1000:7.1f} ms  {name.strip()}")
    return 1 if foreign else 0


if __name__ == "__main__":
    sys.exit(main())
