#!/usr/bin/env bash
# Issue 3's figures: login latency, and GET /api/v1/auth/me latency while 50
# clients send wrong passwords, with the bounded hashing pool (the default,
# 2 at once on this 2-core machine) and without it (0 = unbounded).
# Usage: bash bench/auth.sh [path/to/cspm]   (default bin/cspm; `make build`)
set -euo pipefail
BIN=${1:-bin/cspm}
PORT=${PORT:-18282}
DURATION=${DURATION:-15s}
[ -x "$BIN" ] || { echo "no binary at $BIN: run 'make build'" >&2; exit 1; }
go build -o /tmp/cspm-authload ./bench/authload

run_with_pool() {
  local pool=$1 dir out pid password
  dir=$(mktemp -d)
  out="$dir/stdout"
  CSPM_LOG_LEVEL=error CSPM_PASSWORD_HASH_CONCURRENCY=$pool CSPM_MAX_FAILED_LOGIN_ATTEMPTS=1000 \
    "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$dir/data" >"$out" 2>/dev/null &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.05; done
  password=$(awk '/password:/ {print $2}' "$out")
  echo "== password_hash_concurrency=$pool"
  /tmp/cspm-authload -url "http://127.0.0.1:$PORT" -password "$password" -duration "$DURATION"
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
}

echo "machine: $(nproc) cores, $(uname -sr); binary $BIN"
run_with_pool 2
run_with_pool 0
