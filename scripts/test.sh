#!/usr/bin/env bash
# One command: set up this machine (pnpm, dependencies, Redis, PostgreSQL, MariaDB) and run every
# test: typecheck, lint, unit and integration tests against the real servers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-mariadb
export TURBO_TELEMETRY_DISABLED=1
pnpm run typecheck
pnpm run lint
pnpm run test
