#!/usr/bin/env bash
# Set up, build a fresh demo database on SQLite (instance/greenflow.db) and serve the platform.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/greenflow demo --reset
exec .venv/bin/greenflow serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
