#!/usr/bin/env bash
# Create throughput with the load generator in its own process (wrk, from Debian's package), so it
# does not share the API's event loop. Starts the built API on a PostgreSQL store in its own schema
# and a Redis queue prefix of its own, runs wrk for a bounded time against 127.0.0.1, then cleans up.
#   bench/create-wrk.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
seconds=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
suffix=$RANDOM$RANDOM
schema=bench_$suffix
export STORE_URL="postgres://postgres@127.0.0.1:5432/test?schema=$schema" QUEUE_PREFIX="bench_$suffix" \
  API_PORT=18089 API_HOST=127.0.0.1 LOG_LEVEL=warn NODE_ENV=test \
  RATE_LIMIT_DIALS_PER_ORGANIZATION=1000000  # measuring the API, not its port-scan guard
pnpm --silent run build >/dev/null
node packages/api/dist/main.js & api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null; psql -h 127.0.0.1 -U postgres test -qc "drop schema if exists $schema cascade" >/dev/null; redis-cli --scan --pattern "bench_$suffix:*" | xargs -r redis-cli del >/dev/null' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18089/ready >/dev/null && break; sleep 0.2; done
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/create.lua http://127.0.0.1:18089/v1/management/connections
echo "rows stored: $(psql -h 127.0.0.1 -U postgres test -Atc "select count(*) from $schema.connections")"
