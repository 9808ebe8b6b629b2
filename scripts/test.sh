#!/usr/bin/env bash
# One command: set up this machine (pnpm, dependencies, Redis, PostgreSQL, MariaDB) and run every
# test: typecheck, lint, unit and integration tests against the real servers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-mariadb
export TURBO_TELEMETRY_DISABLED=1
pnpm run typecheck
pnpm run lint
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
pnpm run test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over the three packages' vitest summaries ("Tests  N failed | N passed | N skipped").
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\S*:?test: +Tests +' | awk '
  { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^skipped/) s += $i } }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }'
exit "$status"
