#!/usr/bin/env bash
# One command: set up this machine and run the service (API on :8080 and the verification worker).
# MASTER_KEYS: given, or a local key made once in ~/.config/dbconn/master.key (see below).
# Uses MongoDB when STORE_URL says so (or when one listens on 127.0.0.1:27017); otherwise the local
# PostgreSQL store, since Debian has no MongoDB package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${STORE_URL:-}" ]; then
  if (exec 3<>/dev/tcp/127.0.0.1/27017) 2>/dev/null; then
    export STORE_URL=mongodb://127.0.0.1:27017/dbconn
  else
    export STORE_URL=postgres://postgres@127.0.0.1:5432/dbconn
    echo "[run] no MongoDB on 127.0.0.1:27017: using the PostgreSQL store ($STORE_URL)"
  fi
fi
# The service refuses to start without MASTER_KEYS: unless one is given, use this machine's local
# key (made once, outside the repository, mode 0600; scripts/master-key.sh says where).
if [ -z "${MASTER_KEYS:-}" ]; then
  MASTER_KEYS=$(scripts/master-key.sh)
  export MASTER_KEYS
fi
export TURBO_TELEMETRY_DISABLED=1
pnpm run build >/dev/null
exec node scripts/start.mjs
