"""bench/callgrind_request.py counts one request kind's instructions, and with `--cache` the simulated
cache misses and mispredicted branches, of the measured calls only (valgrind; skipped without it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")


def test_the_cache_table_counts_the_measured_calls_misses_per_call() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, str(ROOT / "bench" / "callgrind_request.py"), "--apps", "bare_msgspec"]
    done = subprocess.run(
        [*args, "--kinds", "GET unknown -> 404", "--calls", "50", "--cache"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    lines = done.stdout.splitlines()
    instructions = next(line for line in lines if line.startswith("| bare_msgspec |"))
    misses = [line for line in lines if line.startswith("| bare_msgspec |")][1]
    assert "k (1.00x)" in instructions
    i1, d1, branches = (part.strip() for part in misses.split("|")[2].split("/"))
    assert int(i1) >= 0 and int(d1) >= 0  # (per call: the 404 of the limit misses a few dozen times)
    total, indirect = branches.split()
    assert int(total) > 0 and int(indirect.strip("()")) <= int(total)
