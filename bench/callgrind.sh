#!/usr/bin/env bash
# Instructions per call of one variant of a bench script (load-independent, for decisions on a
# busy machine): callgrind counts the whole run at N and at 0 calls; the difference / N.
#   bash bench/callgrind.sh bench/bench_cache.py "L1 hit" [N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
N="${3:-2000}"
count() {
    local out
    out="$(mktemp)"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$PY" "$1" --only "$2" --calls "$3" >/dev/null 2>&1
    grep -m1 '^summary:' "$out" | awk '{print $2}'
    rm -f "$out"
}
base="$(count "$1" "$2" 0)"
full="$(count "$1" "$2" "$N")"
echo "$2: $(( (full - base) / N )) instructions per call"
