#!/usr/bin/env bash
# Create the benchmark virtualenv (.bench-venv at the repo root) with the frameworks Lift is
# compared against, plus the repo's own lift installed editable. Idempotent: a second run
# only checks a stamp file and returns.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
PYTHON="${PYTHON:-python3}"
PACKAGES=(aws-lambda-powertools chalice fastapi mangum "pydantic>=2" "msgspec>=0.18" awslambdaric)
STAMP="$VENV/.bench-setup-done"
WANT="$(printf '%s\n' "${PACKAGES[@]}" | sha1sum | cut -c1-12)"

pip_install() {  # pip install, without the noise of the machine's unused local index warnings
    "$1" -m pip install -q "${@:2}" 2>&1 | { grep -v "^WARNING: Location" || true; }
}

LIFT_ONLY="$VENV/lift-only"  # lift and msgspec alone, as a Lift deployment package has them
SAM_VENV="$VENV/sam"  # the SAM CLI (bench_synth.py): it pins its own boto3, click, flask..., so apart

ensure_sam() {  # idempotent; a failed install is reported, and bench_synth.py says "not measured"
    [[ -x "$SAM_VENV/bin/sam" ]] && return 0
    mkdir -p "$VENV"
    "$PYTHON" -m venv "$SAM_VENV"
    pip_install "$SAM_VENV/bin/python" aws-sam-cli
    [[ -x "$SAM_VENV/bin/sam" ]] || echo "aws-sam-cli did not install in $SAM_VENV: SAM figures are skipped" >&2
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]] \
    && "$VENV/bin/python" -c "import lift, chalice, fastapi, mangum, aws_lambda_powertools, pydantic, msgspec" 2>/dev/null \
    && "$LIFT_ONLY/bin/python" -c "import lift, awslambdaric" 2>/dev/null; then
    ensure_sam
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
    pip_install "$VENV/bin/python" --upgrade pip
fi
pip_install "$VENV/bin/python" "${PACKAGES[@]}"
pip_install "$VENV/bin/python" -e "$ROOT"
if [[ ! -x "$LIFT_ONLY/bin/python" ]]; then
    "$PYTHON" -m venv "$LIFT_ONLY"
fi
# awslambdaric is the Lambda runtime's own client, not part of a deployment package: the bench
# imports it before timing the "in the Lambda runtime" init column.
pip_install "$LIFT_ONLY/bin/python" -e "$ROOT" awslambdaric
ensure_sam
echo "$WANT" > "$STAMP"
echo "bench venv ready: $VENV"
