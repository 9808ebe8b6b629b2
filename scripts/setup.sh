#!/usr/bin/env bash
# Brings a Debian machine with Node 20 to the point where the service and its tests can run:
# pnpm, the workspace's dependencies, and the local services (Redis, PostgreSQL, MariaDB) installed
# and running. Safe to run again: each step checks first. Usage: scripts/setup.sh [--with-mariadb]
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
WITH_MARIADB=0
[ "${1:-}" = "--with-mariadb" ] && WITH_MARIADB=1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION"
  npm install --global --silent --no-fund --no-audit -E "pnpm@$PNPM_VERSION" >/dev/null
fi

apt_updated=0
need_pkg() { # need_pkg <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  touch "/tmp/.dbconn-installed-$2"
}

wait_for() { # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "$what did not come up" >&2
  return 1
}

# --- Redis ---
need_pkg redis-server redis-server
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi

# --- PostgreSQL ---
need_pkg pg_ctlcluster postgresql
need_pkg psql postgresql-client
pg_ok() { psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }
if ! pg_ok; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  if [ -f /tmp/.dbconn-installed-postgresql ] && ! grep -q 'dbconn-local-trust' "/etc/postgresql/$version/main/pg_hba.conf"; then
    # Only on an instance this script installed: let the local tests connect as postgres over TCP.
    log "allowing local TCP connections as postgres (instance installed by this script)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust # dbconn-local-trust\nhost all all ::1/128 trust # dbconn-local-trust' \
      "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for PostgreSQL pg_ok
fi
for db in test dbconn; do
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname='$db'")" != 1 ]; then
    log "creating database $db"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $db" >/dev/null
  fi
done

# --- MariaDB (tests only) ---
if [ "$WITH_MARIADB" = 1 ]; then
  need_pkg mariadbd mariadb-server
  need_pkg openssl openssl
  maria_ok() { mariadb -h 127.0.0.1 -u root -e 'select 1' >/dev/null 2>&1; }
  if ! maria_ok; then
    log "starting MariaDB"
    as_root install -d -o mysql -g mysql /run/mysqld
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    if [ -f /tmp/.dbconn-installed-mariadb-server ]; then
      wait_for "MariaDB socket" mariadb -u root -e 'select 1'
      # A fresh Debian MariaDB lets root in by socket only; the tests connect over TCP without a password.
      mariadb -u root -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
    fi
    wait_for MariaDB maria_ok
  fi
  mariadb -h 127.0.0.1 -u root -e 'create database if not exists test'
fi

# --- the workspace ---
log "installing dependencies"
export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile --reporter=silent
log "ready"
