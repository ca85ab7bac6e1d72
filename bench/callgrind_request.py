"""Where one warm request's instructions go: callgrind around the measured calls only.

The app is imported and warmed up with collection off; the measured calls then run inside
one C function (`deque_init`, the loop `deque(map(handler, events, contexts), maxlen=0)`),
and callgrind collects only while that function runs (`--collect-atstart=no
--toggle-collect=deque_init`). The totals are therefore the requests alone (plus the loop's
few instructions per call, the same for every app), and `callgrind_annotate --inclusive=yes`
lists the C functions a request spends them in (msgspec's encode and decode, dict and
attribute lookups, object creation, the eval loop itself).

Usage: ``python bench/callgrind_request.py [--apps bare_msgspec,lift_app] [--kinds ...] [--calls 2000]
[--top 25] [--log plain|json] [--cache]``: one table of instructions per call (load-independent) and the ratio to
the first app, then, with ``--top N``, each app's N costliest C functions per kind (inclusive, per call);
``--cache`` adds a table of L1 instruction and data misses and mispredicted branches per call (simulated).
``--log`` turns INFO logging on (a 4xx writes its line): a stdlib StreamHandler, or lift's JSON lines.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "apps"), str(HERE)]

WARMUP = 300


def child(module: str, kind: str, calls: int, log: str = "off") -> None:
    import importlib
    from collections import deque
    from itertools import repeat

    from events import LambdaContext
    from instructions import all_events

    if log != "off":  # INFO lines (a 4xx writes one) to /dev/null, as a deployed function would write them
        import logging

        sink = open(os.devnull, "w")  # (open for the child's whole life)
        if log == "json":
            from lift.observability.logging import configure

            configure(stream=sink, level="INFO")
        else:  # the standard library's handler, in the Lambda runtime's own format
            handler = logging.StreamHandler(sink)
            handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(message)s"))
            logging.getLogger().addHandler(handler)
            logging.getLogger().setLevel(logging.INFO)

    app = importlib.import_module(module)
    events = all_events()
    event, name = events[kind]
    handler = getattr(app, name, app.handler)
    context = LambdaContext()
    for _ in range(WARMUP):
        handler(event, context)
    deque(map(handler, repeat(event, calls), repeat(context, calls)), maxlen=0)  # the only measured code


def run(
    python: str, module: str, kind: str, calls: int, out: str, log: str = "off", cache: bool = False
) -> dict[str, int]:
    """The measured calls' totals: {"Ir": instructions}, plus with `cache` valgrind's cache and branch
    simulation (I1mr/D1mr/D1mw: L1 instruction/data read/write misses, Bcm/Bim: mispredicted
    conditional/indirect branches)."""
    args = [
        "valgrind",
        "--tool=callgrind",
        "--dump-instr=no",
        "--collect-atstart=no",
        "--toggle-collect=deque_init",
        *(["--cache-sim=yes", "--branch-sim=yes"] if cache else []),
        f"--callgrind-out-file={out}",
        python,
        __file__,
        "--child",
        module,
        kind,
        str(calls),
        log,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{module} {kind}: valgrind failed\n{done.stderr[-2000:]}")
    names: list[str] = []
    with open(out) as f:
        for line in f:
            if line.startswith("events:"):
                names = line.split()[1:]
            if line.startswith("summary:") or line.startswith("totals:"):
                return dict(zip(names, map(int, line.split()[1:]), strict=False))
    raise SystemExit(f"{module} {kind}: no totals in {out}")


def top_functions(out: str, calls: int, top: int, inclusive: bool) -> list[tuple[int, str]]:
    """The costliest C functions (inclusive or self), per call, by name (file and inlining merged)."""
    text = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", out],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    costs: dict[str, int] = {}
    for line in text.splitlines():
        found = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)", line)
        if found:
            name = found.group(2).rsplit(":", 1)[-1].split("'")[0]
            n = int(found.group(1).replace(",", ""))
            costs[name] = max(costs[name], n) if inclusive and name in costs else costs.get(name, 0) + n
    total = max(costs.values(), default=0)
    rows = sorted(((n // calls, name) for name, n in costs.items() if not inclusive or n < total * 0.9), reverse=True)
    return rows[:top]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "off")
        return
    from instructions import all_events

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="bare_msgspec,lift_app")
    parser.add_argument("--kinds", default=None, help="comma-separated request kinds (default: all)")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0, help="also list each run's N costliest C functions")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--cache",
        action="store_true",
        help="also simulate the caches and branch predictor (valgrind --cache-sim --branch-sim): misses per call",
    )
    parser.add_argument(
        "--log",
        choices=("off", "plain", "json"),
        default="off",
        help="INFO logging on, to /dev/null: a StreamHandler on the root logger (plain) or lift's JSON lines",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    apps = args.apps.split(",")
    kinds = args.kinds.split(",") if args.kinds else list(all_events())
    results: dict[str, dict[str, float]] = {}
    caches: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for app in apps:
            for kind in kinds:
                out = os.path.join(tmp, "callgrind.out")
                counts = run(args.python, app, kind, args.calls, out, args.log, args.cache)
                total = counts["Ir"]
                results.setdefault(app, {})[kind] = total / args.calls
                if args.cache:
                    caches.setdefault(app, {})[kind] = {name: n / args.calls for name, n in counts.items()}
                if args.top:
                    print(f"\n## {app}: {kind} ({total / args.calls:.0f} instructions per call)")
                    for label, inclusive in (("inclusive", True), ("self", False)):
                        print(f"-- {label}")
                        for n, name in top_functions(out, args.calls, args.top, inclusive):
                            print(f"{n:>8}  {name}")
    print(f"\nInstructions per call (callgrind, only the {args.calls} measured calls); ratio vs {apps[0]}")
    print("| app | " + " | ".join(kinds) + " |")
    print("|---|" + "---:|" * len(kinds))
    for app, row in results.items():
        cells = [f"{row[k] / 1000:.1f}k ({row[k] / results[apps[0]][k]:.2f}x)" for k in kinds]
        print(f"| {app} | " + " | ".join(cells) + " |")
    if caches:
        print("\nPer call, valgrind's cache and branch simulation (32 KB 8-way L1 caches, 64-byte lines):")
        print("L1 instruction misses / L1 data misses (read+write) / mispredicted branches (of them indirect)")
        print("| app | " + " | ".join(kinds) + " |")
        print("|---|" + "---:|" * len(kinds))
        for app, row in caches.items():
            cells = [
                f"{c['I1mr']:.0f} / {c['D1mr'] + c['D1mw']:.0f} / {c['Bcm'] + c['Bim']:.0f} ({c['Bim']:.0f})"
                for c in (row[k] for k in kinds)
            ]
            print(f"| {app} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
