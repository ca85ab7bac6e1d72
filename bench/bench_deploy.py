"""Deployment tooling speed and artifact size, in one run (medians and ratios; see bench/README.md).

    python bench/bench_deploy.py [--runs 7] [--chalice .bench-venv/bin/chalice]

1. `lift synth` wall time for the 52-route bench service (process start to template written), and
   `chalice package` for the same service in Chalice when a chalice executable is given/found.
   (`sam validate` needs the SAM CLI, which this machine does not have: not measured.)
2. Cold import of that service from its unpacked `lift package` zip, in a read-only directory (as
   /var/task), with and without the precompiled unchecked-hash bytecode: what a cold start pays.
3. The size of the package of examples/orders_service (zipped and unzipped).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "bench" / "apps"
LIFT = [sys.executable, "-m", "lift.cli"]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wall(cmd: list[str], cwd: Path, runs: int, env: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
        times.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return times


def lift_project(tmp: Path) -> Path:
    root = tmp / "lift-service"
    root.mkdir()
    shutil.copy(APPS / "lift_app.py", root / "lift_app.py")
    shutil.copy(APPS / "catalog.py", root / "catalog.py")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench-service"\nversion = "0"\ndependencies = ["lift-lambda"]\n\n'
        '[tool.lift]\napp = "lift_app:app"\narchitecture = "x86_64"\n'
    )
    return root


def chalice_project(tmp: Path) -> Path:
    root = tmp / "chalice-service"
    (root / ".chalice").mkdir(parents=True)
    shutil.copy(APPS / "chalice_app.py", root / "app.py")
    (root / "chalicelib").mkdir()
    shutil.copy(APPS / "catalog.py", root / "catalog.py")
    (root / "requirements.txt").write_text("")
    (root / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "bench-service", "stages": {"dev": {}}})
    )
    return root


def cold_imports(zip_path: Path, python: str, runs: int) -> list[float]:
    """Import times (ms) of the app from the unpacked zip in a read-only dir, a fresh process each."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(task)
        for path in sorted(task.rglob("*"), reverse=True):
            path.chmod(0o555 if path.is_dir() else 0o444)
        task.chmod(0o555)
        code = (
            "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); import lift_app; "
            "print((time.perf_counter() - t) * 1000)"
        )
        for _ in range(runs):
            proc = subprocess.run([python, "-I", "-S", "-c", code, str(task)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr)
            out.append(float(proc.stdout))
        for path in [task, *task.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chalice", default=str(ROOT / ".bench-venv" / "bin" / "chalice"))
    args = parser.parse_args()
    from lift.deploy.package import build_package, find_interpreter

    results: dict[str, object] = {"load_before": load()}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        project = lift_project(tmp)
        synth = wall([*LIFT, "synth", "dev", "-o", str(tmp / "out")], project, args.runs)
        results["lift_synth_ms"] = statistics.median(synth)
        chalice = Path(args.chalice)
        if chalice.exists():
            cproject = chalice_project(tmp)
            env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
            times = wall([str(chalice), "package", str(tmp / "chalice-out")], cproject, max(3, args.runs // 2), env)
            results["chalice_package_ms"] = statistics.median(times)
            results["chalice_over_lift"] = round(results["chalice_package_ms"] / results["lift_synth_ms"], 2)
        else:
            results["chalice_package_ms"] = f"not measured ({chalice} not found; bench/setup.sh installs it)"
        results["sam_validate_ms"] = "not measured (no SAM CLI on this machine)"

        python = find_interpreter("3.12")
        if python:
            with_pyc = build_package(
                project,
                tmp / "with.zip",
                app_ref="lift_app:app",
                runtime="python3.12",
                architecture="x86_64",
                include=["catalog.py"],
            )
            without = build_package(
                project,
                tmp / "without.zip",
                app_ref="lift_app:app",
                runtime="python3.12",
                architecture="x86_64",
                include=["catalog.py"],
                compile=False,
            )
            a, b = [], []
            for _ in range(args.runs):  # interleaved, so load changes hit both alike
                a += cold_imports(with_pyc.path, python, 1)
                b += cold_imports(without.path, python, 1)
            results["cold_import_with_pyc_ms"] = round(statistics.median(a), 1)
            results["cold_import_without_pyc_ms"] = round(statistics.median(b), 1)
            results["without_over_with"] = round(statistics.median(b) / statistics.median(a), 2)
            results["bench_service_zip_mb"] = round(with_pyc.zipped / 2**20, 2)
        example = build_package(
            ROOT / "examples" / "orders_service",
            tmp / "orders.zip",
            app_ref="app:app",
            runtime="python3.12",
            architecture="arm64",
        )
        results["orders_service_zip_mb"] = round(example.zipped / 2**20, 2)
        results["orders_service_unzipped_mb"] = round(example.unzipped / 2**20, 2)
        results["sam_build_size"] = "not measured (no SAM CLI on this machine)"
    results["load_after"] = load()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
