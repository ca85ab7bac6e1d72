"""Synth time per provider for the 52-route bench service, against SAM's and Chalice's own tools on
the same service, in one run (see bench/README.md, "Synth per provider").

    .venv/bin/python bench/bench_synth.py [--rounds 5]        # bench/run.sh runs it

Every figure is the wall time of a fresh process, from its start to its files written: the median
of `--rounds` interleaved rounds (each round runs every step once, starting one step later than the
round before, so a change of load or a cold cache hits them alike) with the range, and the ratio to `lift synth` (CloudFormation). Steps:

- `lift synth dev -f cloudformation | sam | terraform | pulumi | cdk`: the template (JSON + YAML),
  the Terraform module, the Pulumi project, the CDK app;
- `cdk synth` of the written CDK app: `python app.py` as the CDK CLI runs it (`-c stage=dev`,
  CDK_OUTDIR), aws-cdk-lib on Node.js, until cdk.out is written;
- the written Pulumi program run as stack `dev` under Pulumi's unit-test mocks: what `pulumi
  preview` runs in its language host, without the engine (not installable here);
- `chalice package` of the same service written for Chalice (the bench virtualenv's chalice);
- `sam validate` and `sam validate --lint` on Lift's SAM template of the service (the SAM CLI from
  PyPI, in a virtualenv of its own that bench/setup.sh creates).

The Lift steps and the provider SDKs run on the project's virtualenv (`make install`: the `test`
extra has pulumi, pulumi-aws, aws-cdk-lib and cfn-lint). A tool that is not installed is reported
as not measured, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from bench_deploy import chalice_project, lift_project, load

LIFT = [sys.executable, "-m", "lift.cli"]
FAKE_AWS = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
QUIET = {"SAM_CLI_TELEMETRY": "0", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "NO_COLOR": "1"}


def run_pulumi_program(folder: Path) -> None:
    """Run the Pulumi program in `folder` as stack `dev` under Pulumi's mocks, with the stack's config
    (what the engine would pass it), and wait for every resource to be registered."""
    import asyncio
    import runpy

    import pulumi
    import yaml

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            name = args.inputs.get("name") or args.name
            made = {  # the attributes AWS would give back that the component reads
                "arn": f"arn:aws:x:us-east-1:123456789012:{name}",
                "invokeArn": f"arn:aws:apigateway:us-east-1:lambda:path/functions/{name}/invocations",
                "executionArn": f"arn:aws:execute-api:us-east-1:123456789012:{name}",
                "url": f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}",
                "rootResourceId": "root",
                "version": "1",
                "invokeUrl": f"https://{name}.execute-api.us-east-1.amazonaws.com/",
                "functionUrl": f"https://{name}.lambda-url.us-east-1.on.aws/",
            }
            return f"{args.name}-id", {**args.inputs, **made}

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "name": "us-east-1", "region": "us-east-1"} | {
                "accountId": "123456789012",
                "arn": "",
                "userId": "",
            }

    asyncio.set_event_loop(asyncio.new_event_loop())
    os.chdir(folder)
    pulumi.runtime.set_mocks(Mocks(), project="bench-service", stack="dev", preview=False)
    pulumi.runtime.set_all_config(yaml.safe_load((folder / "Pulumi.dev.yaml").read_text())["config"])

    @pulumi.runtime.test
    def program():
        namespace = runpy.run_path(str(folder / "__main__.py"), run_name="__main__")
        return pulumi.Output.all(*(r.urn for r in namespace["service"].resources.values()))

    program()


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **QUIET, **(env or {})})
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def instructions(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
    """The instructions the process executes (valgrind's cachegrind, no cache simulation): a count
    that does not move with the machine's load."""
    vg = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    proc = subprocess.run(
        [*vg, *cmd], cwd=cwd, capture_output=True, text=True, env={**os.environ, **QUIET, **(env or {})}
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"valgrind {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chalice", default=str(ROOT / ".bench-venv" / "bin" / "chalice"))
    parser.add_argument("--sam", default=str(ROOT / ".bench-venv" / "sam" / "bin" / "sam"))
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="Also count instructions (valgrind) of each Python step but cdk synth and the Pulumi program: "
        "load-independent, about a minute per step on a loaded machine.",
    )
    parser.add_argument("--run-pulumi-program", type=Path, help=argparse.SUPPRESS)  # the mocks' child process
    args = parser.parse_args()
    if args.run_pulumi_program:
        return run_pulumi_program(args.run_pulumi_program)

    began, load_before = time.perf_counter(), load()
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        project = lift_project(tmp)
        steps: dict[str, tuple[list[str], Path, dict[str, str] | None, bool]] = {}  # name -> cmd, cwd, env, fresh out
        for fmt in ("cloudformation", "sam", "terraform", "pulumi", "cdk"):
            steps[f"lift synth -f {fmt}"] = ([*LIFT, "synth", "dev", "-f", fmt, "-o", "{out}"], project, None, True)
        # what the provider tools run on: the projects written once, the zip `lift package dev` would write
        subprocess.run(
            [*LIFT, "synth", "dev", "-f", "cdk", "-o", "infra/cdk"], cwd=project, check=True, capture_output=True
        )
        subprocess.run(
            [*LIFT, "synth", "dev", "-f", "pulumi", "-o", "infra/pulumi"], cwd=project, check=True, capture_output=True
        )
        subprocess.run(
            [*LIFT, "synth", "dev", "-f", "sam", "-o", "infra/sam"], cwd=project, check=True, capture_output=True
        )
        (project / ".lift" / "dev").mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(project / ".lift" / "dev" / "package.zip", "w") as z:
            for name in ("lift_app.py", "catalog.py"):
                z.write(project / name, name)
        if importable("aws_cdk"):
            env = {"CDK_CONTEXT_JSON": json.dumps({"stage": "dev"}), "CDK_OUTDIR": "{out}"}
            steps["cdk synth (the written app.py)"] = ([sys.executable, "app.py"], project / "infra" / "cdk", env, True)
        else:
            skipped["cdk synth"] = "aws-cdk-lib is not installed (make install: the test extra has it)"
        if importable("pulumi_aws"):
            cmd = [sys.executable, __file__, "--run-pulumi-program", str(project / "infra" / "pulumi")]
            steps["Pulumi program under mocks (stack dev)"] = (cmd, project, None, False)
        else:
            skipped["Pulumi program"] = "pulumi-aws is not installed (make install: the test extra has it)"
        chalice = Path(args.chalice)
        if chalice.exists():
            cproject = chalice_project(tmp)
            steps["chalice package (same service)"] = ([str(chalice), "package", "{out}"], cproject, FAKE_AWS, True)
        else:
            skipped["chalice package"] = f"{chalice} not found (bash bench/setup.sh installs it)"
        sam = Path(args.sam)
        template = str(project / "infra" / "sam" / "template.yaml")
        if sam.exists():
            steps["sam validate (lift's SAM template)"] = (
                [str(sam), "validate", "-t", template],
                project,
                FAKE_AWS,
                False,
            )
            steps["sam validate --lint"] = ([str(sam), "validate", "--lint", "-t", template], project, FAKE_AWS, False)
        else:
            skipped["sam validate"] = f"{sam} not found (bash bench/setup.sh installs aws-sam-cli there)"

        times: dict[str, list[float]] = {name: [] for name in steps}
        order = list(steps.items())
        for round_no in range(args.rounds):
            shift = round_no % len(order)  # each round starts one step later: no step always follows the same one
            for i, (name, (cmd, cwd, env, fresh)) in enumerate(order[shift:] + order[:shift]):
                out = str(tmp / "out" / f"{round_no}-{i}")
                cmd = [c.replace("{out}", out) for c in cmd]
                env = {k: v.replace("{out}", out) for k, v in (env or {}).items()}
                times[name].append(timed(cmd, cwd, env))
                if fresh:
                    shutil.rmtree(out, ignore_errors=True)
        counts: dict[str, int] = {}
        if args.instructions:
            for i, (name, (cmd, cwd, env, _)) in enumerate(steps.items()):
                if name.startswith(("cdk synth", "Pulumi program")):
                    continue  # Node.js under valgrind / pulumi_aws's import: many minutes, and not Lift's cost
                out = str(tmp / "out" / f"vg-{i}")
                counts[name] = instructions(
                    [c.replace("{out}", out) for c in cmd],
                    cwd,
                    {k: v.replace("{out}", out) for k, v in (env or {}).items()},
                )
        load_after = load()

    base = statistics.median(times["lift synth -f cloudformation"])
    print(
        f"Synth per provider, 52-route bench service: {args.rounds} interleaved rounds, wall ms from process "
        f"start to files written, medians (min-max). Load average before {load_before}, after {load_after}; "
        f"{time.perf_counter() - began:.0f} s in all.\n"
    )
    print("| step | median ms | range ms | / lift synth (CloudFormation) |")
    print("|---|---:|---:|---:|")
    results = {}
    for name, values in times.items():
        median = statistics.median(values)
        results[name] = {
            "median_ms": round(median, 1),
            "min_ms": round(min(values), 1),
            "max_ms": round(max(values), 1),
        }
        print(f"| {name} | {median:.0f} | {min(values):.0f}-{max(values):.0f} | {median / base:.2f}x |")
    for name, why in skipped.items():
        print(f"| {name} | not measured: {why} | | |")
    if counts:
        base_count = counts["lift synth -f cloudformation"]
        print("\nInstructions per process (valgrind cachegrind; load-independent):\n")
        print("| step | instructions | / lift synth (CloudFormation) |")
        print("|---|---:|---:|")
        for name, count in counts.items():
            print(f"| {name} | {count / 1e9:.3f} G | {count / base_count:.2f}x |")
        results["instructions"] = counts
    busy = max(float(load_before.split()[0]), float(load_after.split()[0]))
    if busy > 2:
        print(
            f"\nLoad average above 2 on 2 cores ({busy}): these figures are NOT publishable; re-run on a quiet machine."
        )
    print("\n" + json.dumps({"load_before": load_before, "load_after": load_after, "results": results}))


if __name__ == "__main__":
    main()
