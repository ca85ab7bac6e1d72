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

# Lambda's own Pythons (python3.12, python3.13): per version, `py3.X` (Chalice, msgspec,
# typing_extensions, the runtime client, lift) and `py3.X-lift-only` (lift, msgspec, the runtime
# client), for instructions.py --init and cold_start.py --python (bench/venvs.py names them).
LAMBDA_PYTHONS=(3.12 3.13)

find_python() {  # a python X.Y that runs: pythonX.Y on PATH, else pyenv's newest X.Y.*
    local candidate
    for candidate in "$(command -v "python$1" 2>/dev/null)" \
        $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$1".*/bin/"python$1" 2>/dev/null | sort -rV); do
        if [[ -n "$candidate" ]] && "$candidate" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$1'" 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_lambda_pythons() {  # idempotent; a missing interpreter is reported, its rows are skipped
    local version interpreter
    for version in "${LAMBDA_PYTHONS[@]}"; do
        if "$VENV/py$version/bin/python" -c "import lift, chalice, msgspec, awslambdaric, typing_extensions" 2>/dev/null \
            && "$VENV/py$version-lift-only/bin/python" -c "import lift, msgspec, awslambdaric" 2>/dev/null; then
            continue
        fi
        if ! interpreter="$(find_python "$version")"; then
            echo "no python$version here: the Python $version rows are skipped" >&2
            continue
        fi
        mkdir -p "$VENV"
        "$interpreter" -m venv "$VENV/py$version"
        pip_install "$VENV/py$version/bin/python" chalice "msgspec>=0.18" awslambdaric typing_extensions -e "$ROOT"
        "$interpreter" -m venv "$VENV/py$version-lift-only"
        pip_install "$VENV/py$version-lift-only/bin/python" -e "$ROOT" awslambdaric
    done
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]] \
    && "$VENV/bin/python" -c "import lift, chalice, fastapi, mangum, aws_lambda_powertools, pydantic, msgspec" 2>/dev/null \
    && "$LIFT_ONLY/bin/python" -c "import lift, awslambdaric" 2>/dev/null; then
    ensure_sam
    ensure_lambda_pythons
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
ensure_lambda_pythons
echo "$WANT" > "$STAMP"
echo "bench venv ready: $VENV"
