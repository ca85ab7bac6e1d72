"""Deployment tooling speed and artifact size, in one run (medians and ratios; see bench/README.md).

    python bench/bench_deploy.py [--runs 7] [--chalice .bench-venv/bin/chalice]

1. `lift synth` wall time for the 52-route bench service (process start to template written), and
   `chalice package` for the same service in Chalice when a chalice executable is given/found.
   (`sam validate` on the same service, and synth time per provider: bench/bench_synth.py.)
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


def sam_build_vs_lift_package(tmp: Path, sam: Path, python: str) -> dict[str, object]:
    """`sam build` of examples/orders_service with the same dependencies (the app, Lift's own source,
    and what `lift-lambda[dynamodb]` requires, in requirements.txt as a SAM user writes them) against
    `lift package` of it: wall time and the artifact's size zipped/unzipped."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    import lift

    example = ROOT / "examples" / "orders_service"
    project = tmp / "sam-orders"
    code = project / "src"
    code.mkdir(parents=True)
    shutil.copy(example / "app.py", code / "app.py")
    shutil.copytree(Path(lift.__file__).parent, code / "lift", ignore=shutil.ignore_patterns("__pycache__"))
    deps = []
    for text in requires("lift-lambda") or []:
        req = Requirement(text)
        if req.name not in ("lift", "lift-lambda") and (
            req.marker is None or req.marker.evaluate({"extra": "dynamodb"})
        ):
            deps.append(str(req).split(";")[0].strip())
    (code / "requirements.txt").write_text("\n".join(deps) + "\n")
    (project / "template.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Function:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n"
        "      Handler: app.app\n      Runtime: python3.12\n      Architectures: [arm64]\n"
    )
    env = {
        "PATH": f"{Path(python).parent}:{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    sam_ms = wall([str(sam), "build", "-t", "template.yaml", "-b", str(project / "build")], project, 1, env)[0]
    built = project / "build" / "Function"
    unzipped = sum(f.stat().st_size for f in built.rglob("*") if f.is_file())
    archive = shutil.make_archive(str(tmp / "sam-orders"), "zip", built)
    start = time.perf_counter()
    proc = subprocess.run(
        [*LIFT, "package", "-o", str(tmp / "lift-orders.zip"), "--json"], cwd=example, capture_output=True, text=True
    )
    lift_ms = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"lift package failed:\n{proc.stderr[-2000:]}")
    ours = json.loads(proc.stdout)
    return {
        "sam_build_requirements": deps,
        "sam_build_ms": round(sam_ms),
        "lift_package_ms": round(lift_ms),
        "sam_build_zip_mb": round(Path(archive).stat().st_size / 2**20, 2),
        "sam_build_unzipped_mb": round(unzipped / 2**20, 2),
        "lift_package_zip_mb": round(ours["zipped"] / 2**20, 2),
        "lift_package_unzipped_mb": round(ours["unzipped"] / 2**20, 2),
        "sam_build_note": "sam build keeps boto3/botocore (declared by lift-lambda[dynamodb]), no .pyc; "
        "lift package leaves out the runtime's boto3 and precompiles bytecode",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chalice", default=str(ROOT / ".bench-venv" / "bin" / "chalice"))
    parser.add_argument("--sam", default=str(ROOT / ".bench-venv" / "sam" / "bin" / "sam"))
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
        results["sam_validate_ms"] = "see bench/bench_synth.py (the SAM CLI in .bench-venv/sam)"

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
        sam = Path(args.sam)
        if not sam.exists():
            results["sam_build"] = f"not measured ({sam} not found; bash bench/setup.sh installs it)"
        elif python is None:
            results["sam_build"] = "not measured (sam build needs python3.12 on PATH; none found)"
        else:
            results.update(sam_build_vs_lift_package(tmp, sam, python))
    results["load_after"] = load()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
