#!/usr/bin/env bash
# The runtime core's suites on the other supported Pythons (`make test` runs this after the whole
# suite on the default interpreter): tests/core, tests/sources, tests/middleware and
# tests/test_batch.py on Python 3.12 and 3.13 when this machine has them (on PATH as python3.12 /
# python3.13, or under pyenv's versions), each in its own virtualenv (.venv-3.12, .venv-3.13)
# holding only what those suites need. A version that is not found is reported as skipped.
# The tooling (cli, dev, deploy) and the test servers' own tests run on the default interpreter only.
# The versions' suites run at the same time, each printed whole when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."

VERSIONS=(${LIFT_OTHER_PYTHONS:-3.12 3.13})
SUITES=(tests/core tests/sources tests/middleware tests/test_batch.py)
# What those suites import: the runtime extras they exercise, pytest and its plugins, the models,
# mypy (a user's strict type checker reading Lift's hints: tests/core/test_public_types.py), httpx (the
# ASGI client of tests/core/test_status_contract.py).
REQUIREMENTS=(-e ".[jwt,redis,dynamodb]" "pytest>=8" "pytest-timeout>=2" "hypothesis>=6" "pydantic>=2" "mypy>=1.10" "httpx>=0.27")

find_python() {  # an interpreter of exactly version $1, or nothing
    local version=$1 candidate
    for candidate in "$(command -v "python$version" 2>/dev/null)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] &&
            "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
}

status=0
summary=()
runs=()  # "<version> <venv> <log> <pid>" of each suite run started below
for version in "${VERSIONS[@]}"; do
    python=$(find_python "$version")
    if [ -z "$python" ]; then
        summary+=("Python $version: not found on this machine (python$version, pyenv versions/$version.*): SKIPPED")
        continue
    fi
    venv=".venv-$version"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv" || { summary+=("Python $version: could not create $venv: FAILED"); status=1; continue; }
    fi
    stamp="$venv/.lift-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$0" -nt "$stamp" ]; then
        echo "Python $version: installing what the core suites need into $venv" >&2
        if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check "${REQUIREMENTS[@]}" 2>&1 |
            { grep -v "^WARNING: Location" || true; }; then
            summary+=("Python $version: installing into $venv failed: FAILED")
            status=1
            continue
        fi
        touch "$stamp"
    fi
    # The versions' runs go side by side (each a single-threaded pytest, so two fit the CI's two
    # cores; each session starts its own test servers on its own ports): this halves their time.
    log=$(mktemp)
    "$venv/bin/python" -m pytest -p no:cacheprovider "${SUITES[@]}" >"$log" 2>&1 &
    runs+=("$version $venv $log $!")
done

for run in "${runs[@]}"; do
    read -r version venv log pid <<<"$run"
    wait "$pid"
    result=$?
    exact=$("$venv/bin/python" -c "import platform; print(platform.python_version())")
    echo "== Python $exact ($venv): ${SUITES[*]}" >&2
    cat "$log"
    counts=$(grep -E "^[0-9]+ (passed|failed)|^=+ .*(passed|failed)" "$log" | tail -1 | tr -d '=' | xargs)
    rm -f "$log"
    if [ "$result" -ne 0 ]; then
        status=1
        summary+=("Python $exact ($venv): ${SUITES[*]}: FAILED (${counts:-exit $result})")
    else
        summary+=("Python $exact ($venv): ${SUITES[*]}: ${counts}")
    fi
done

echo
echo "Python versions tested:"
main=${LIFT_MAIN_PYTHON:-.venv/bin/python}
echo "  Python $("$main" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?') ($(dirname "$(dirname "$main")")): the whole suite (above)"
for line in "${summary[@]}"; do
    echo "  $line"
done
exit $status
