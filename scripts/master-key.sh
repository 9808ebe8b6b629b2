#!/usr/bin/env bash
# Prints this machine's local master key (MASTER_KEYS format, `1:<base64 of 32 random bytes>`),
# making it on the first run. The service refuses to start without MASTER_KEYS, because a key
# written in the source would open any dump of the store; scripts/run.sh uses this one.
#
# The key lives outside the repository's tracked files, readable only by this user, and is reused
# on every later run: losing it makes the stored passwords unreadable (re-enter them, or restore
# the file). DBCONN_MASTER_KEY_FILE overrides the place. Messages go to stderr.
set -euo pipefail
key_file="${DBCONN_MASTER_KEY_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/dbconn/master.key}"
if [ ! -s "$key_file" ]; then
  mkdir -p "$(dirname "$key_file")"
  # umask first: the file is never readable by others, not even for a moment.
  (umask 077 && node -e "process.stdout.write('1:'+require('crypto').randomBytes(32).toString('base64'))" >"$key_file.tmp")
  mv "$key_file.tmp" "$key_file"
  echo "[run] generated a local master key in $key_file (mode 0600; keep it: it opens the stored passwords)" >&2
else
  chmod 600 "$key_file"
  echo "[run] using the local master key in $key_file" >&2
fi
cat "$key_file"
