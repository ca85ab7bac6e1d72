#!/usr/bin/env bash
# ASGI throughput under uvicorn: Lift vs Starlette vs FastAPI with wrk on loopback, in one run.
# Installs wrk (Debian) if missing and uvicorn[standard] + starlette into .bench-venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v wrk >/dev/null 2>&1; then
    sudo=""; [[ "$(id -u)" != "0" ]] && sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
bash "$ROOT/bench/setup.sh"
"$ROOT/.bench-venv/bin/python" -m pip install -q "uvicorn[standard]>=0.29" starlette 2>&1 | { grep -v "^WARNING: Location" || true; }
exec "$ROOT/.bench-venv/bin/python" "$ROOT/bench/bench_asgi.py" "$@"
