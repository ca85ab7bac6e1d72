#!/usr/bin/env bash
# Set up the bench virtualenv (quick when already done), then run the comparison with it.
# Arguments go to bench/run.py (e.g. --quick, --apps bare,lift_app); bench/bench_batch.py follows.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/bench/setup.sh"
"$ROOT/.bench-venv/bin/python" "$ROOT/bench/run.py" "$@"
echo
exec "$ROOT/.bench-venv/bin/python" "$ROOT/bench/bench_batch.py"
