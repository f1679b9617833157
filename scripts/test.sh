#!/usr/bin/env bash
# Set up and run the whole test suite, on SQLite and PostgreSQL.
# Under CI=true the PostgreSQL half fails (never skips) when no server answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Start the local PostgreSQL cluster if it is installed but stopped (as on a fresh CI machine).
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
fi

mkdir -p build
bash scripts/setup_browser.sh
exec .venv/bin/python -m pytest "$@"
