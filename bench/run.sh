#!/usr/bin/env bash
# The whole comparison in one run (`make bench`): every figure of the README's speed table, each
# with its comparison in the same run and the machine's load recorded. Sets up the bench
# virtualenv (quick when already done), then:
#   run.py               warm requests and init vs both hand-written handlers, Chalice, Powertools,
#                        FastAPI+Mangum (CPU clock), peak RSS -> bench/results.md
#   instructions.py      instructions per warm request (valgrind; load-independent), when valgrind exists
#   cold_start.py        spawn to first response under awslambdaric + the Runtime API emulator, installed
#                        and as `lift package` ships it; both also on Python 3.12 and 3.13 (Lambda's runtimes)
#   bench_registration.py  registration cost per route at 1,000 routes vs Chalice
#   bench_batch.py       per-record cost of an SQS batch, with and without pass-through middleware
#   bench_synth.py       lift synth per provider (CloudFormation, SAM, Terraform, Pulumi, CDK), cdk synth,
#                        the Pulumi program, chalice package and sam validate on the same 52-route service
#   bench_security.py    lift.config cold (extension emulated, boto3 -> moto) and warm, field encrypt/decrypt
#                        with a cached data key, PAN masking per log line
#   bench_asgi.py        uvicorn, pinned cores, raw ASGI as the limit -> bench/results_asgi.md (needs wrk);
#                        with valgrind also its --instructions (per request, uvicorn under callgrind)
# Arguments go to run.py (e.g. --quick, --apps bare,lift_app). Everything printed is also
# appended to bench/results.md after run.py's tables.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.bench-venv/bin/python"
RESULTS="$ROOT/bench/results.md"
bash "$ROOT/bench/setup.sh"
"$PY" "$ROOT/bench/run.py" "$@"
section() { printf '\n## %s\n\nLoad average before: %s\n\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS"; }
if command -v valgrind >/dev/null 2>&1; then
    section "Instructions per warm request (valgrind)"
    "$PY" "$ROOT/bench/instructions.py" --apps bare_msgspec,bare,lift_app,chalice_app | tee -a "$RESULTS"
    "$PY" "$ROOT/bench/instructions.py" --init --apps chalice_app,lift_app,lift_app+package,lift_app@lift-only,lift_app@lift-only+package,bare_msgspec,bare_msgspec@lift-only | tee -a "$RESULTS"
    "$PY" "$ROOT/bench/instructions.py" --init --stages --apps chalice_app,lift_app@lift-only,lift_app@lift-only+package,bare_msgspec | tee -a "$RESULTS"
    for V in 3.12 3.13; do  # Lambda's Pythons (bench/setup.sh makes their virtualenvs when the interpreters exist)
        if [[ -x "$ROOT/.bench-venv/py$V-lift-only/bin/python" ]]; then
            "$PY" "$ROOT/bench/instructions.py" --init --apps "chalice_app@py$V,lift_app@py$V-lift-only,lift_app@py$V-lift-only+package,lift_app@py$V,lift_app@py$V+package,bare_msgspec@py$V-lift-only" | tee -a "$RESULTS"
        fi
    done
fi
section "Cold start under awslambdaric"
"$PY" "$ROOT/bench/cold_start.py" | tee -a "$RESULTS"
for V in 3.12 3.13; do
    if [[ -x "$ROOT/.bench-venv/py$V-lift-only/bin/python" ]]; then
        "$PY" "$ROOT/bench/cold_start.py" --python "$V" --rounds 5 | tee -a "$RESULTS"  # Chalice, the limit, Lift
    fi
done
section "Registration"
"$PY" "$ROOT/bench/bench_registration.py" $(command -v valgrind >/dev/null && echo --instructions) | tee -a "$RESULTS"
section "SQS batches"
"$PY" "$ROOT/bench/bench_batch.py" | tee -a "$RESULTS"
section "Synth per provider"
if [[ -x "$ROOT/.venv/bin/python" ]]; then  # lift's CLI and the provider SDKs (make install: the test extra)
    "$ROOT/.venv/bin/python" "$ROOT/bench/bench_synth.py" | tee -a "$RESULTS"
else
    echo "no $ROOT/.venv (make install creates it): synth per provider skipped" | tee -a "$RESULTS"
fi
section "Security features (lift.config, lift.crypto, PAN masking)"
if [[ -x "$ROOT/.venv/bin/python" ]]; then  # boto3, moto server and cryptography (the test extra)
    "$ROOT/.venv/bin/python" "$ROOT/bench/bench_security.py" --rounds 5 | tee -a "$RESULTS"
else
    echo "no $ROOT/.venv (make install creates it): security features skipped" | tee -a "$RESULTS"
fi
if command -v wrk >/dev/null 2>&1; then
    "$PY" -m pip install -q "uvicorn[standard]>=0.29" starlette 2>&1 | { grep -v "^WARNING: Location" || true; }
    section "ASGI (full table in bench/results_asgi.md)"
    "$PY" "$ROOT/bench/bench_asgi.py" | tee -a "$RESULTS"
    if command -v valgrind >/dev/null 2>&1; then
        section "ASGI instructions per request (uvicorn under callgrind)"
        "$PY" "$ROOT/bench/bench_asgi.py" --instructions --frameworks raw,lift,lift-threads,starlette | tee -a "$RESULTS"
    fi
else
    echo "wrk not installed: ASGI skipped (bash bench/bench_asgi.sh installs it)" | tee -a "$RESULTS"
fi
printf '\nLoad average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS"
