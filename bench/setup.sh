#!/usr/bin/env bash
# Create the benchmark virtualenv (.bench-venv at the repo root) with the frameworks Lift is
# compared against, plus the repo's own lift installed editable. Idempotent: a second run
# only checks a stamp file and returns.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
PYTHON="${PYTHON:-python3}"
PACKAGES=(aws-lambda-powertools chalice fastapi mangum "pydantic>=2" "msgspec>=0.18")
STAMP="$VENV/.bench-setup-done"
WANT="$(printf '%s\n' "${PACKAGES[@]}" | sha1sum | cut -c1-12)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]] \
    && "$VENV/bin/python" -c "import lift, chalice, fastapi, mangum, aws_lambda_powertools, pydantic, msgspec" 2>/dev/null; then
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi
"$VENV/bin/python" -m pip install -q "${PACKAGES[@]}"
"$VENV/bin/python" -m pip install -q -e "$ROOT"
echo "$WANT" > "$STAMP"
echo "bench venv ready: $VENV"
