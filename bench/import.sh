#!/usr/bin/env bash
# Issue 4's import figures: `cspm import` of N generated Prowler OCSF
# findings on SQLite and PostgreSQL, first import and re-import of the same
# file, against the parse-only floor, with peak memory (max RSS).
# Usage: N=100000 bash bench/import.sh [path/to/cspm]
# Needs PostgreSQL at $PG (default postgres://postgres@127.0.0.1:5432) unless SKIP_PG=1.
set -euo pipefail
BIN=${1:-bin/cspm}
N=${N:-100000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
[ -x "$BIN" ] || { echo "no binary at $BIN: run 'make build'" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
report="${REPORT:-$work/prowler-$N.ocsf.json}"
[ -f "$report" ] || go run ./bench/genprowler -n "$N" -o "$report"
go build -o "$work/parseonly" ./bench/parseonly
echo "machine: $(nproc) cores, $(uname -sr); report $(du -h "$report" | cut -f1) with $N findings"

rate() { awk -v n="$N" -v s="$1" 'BEGIN {printf "%.0f findings/s", n/s}'; }

floor=$( { /usr/bin/time -f "%e %M" "$work/parseonly" "$report" >/dev/null; } 2>&1 | tail -1)
echo "parse only (floor):  $(echo "$floor" | awk '{print $1}') s, $(rate "$(echo "$floor" | awk '{print $1}')"), max RSS $(echo "$floor" | awk '{printf "%.0f MB", $2/1024}')"

run_import() { # label, env...
  local label=$1; shift
  for pass in first again; do
    out=$( { env "$@" /usr/bin/time -f "%e %M" "$BIN" import --team Bench --json "$report"; } 2>&1 )
    secs=$(echo "$out" | tail -1 | awk '{print $1}'); rss=$(echo "$out" | tail -1 | awk '{printf "%.0f", $2/1024}')
    counts=$(echo "$out" | grep '^{' | sed 's/"scan_id":"[^"]*",//')
    printf '%-10s %-6s %6s s  %-20s max RSS %4s MB  %s\n' "$label" "$pass" "$secs" "$(rate "$secs")" "$rss" "$counts"
  done
}

dir="$work/sqlite"
CSPM_DATA_DIR="$dir" "$BIN" team create Bench >/dev/null
run_import sqlite CSPM_DATA_DIR="$dir" CSPM_LOG_LEVEL=warn

if [ "${SKIP_PG:-}" != 1 ]; then
  name="cspm_bench_$$"
  psql "$PG/postgres" -qc "CREATE DATABASE $name" >/dev/null
  trap 'psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS '"$name"' WITH (FORCE)" >/dev/null; rm -rf "$work"' EXIT
  url="$PG/$name?sslmode=disable"
  CSPM_DATA_DIR="$work/pgdata" CSPM_DATABASE_URL="$url" "$BIN" team create Bench >/dev/null
  run_import postgres CSPM_DATA_DIR="$work/pgdata" CSPM_DATABASE_URL="$url" CSPM_LOG_LEVEL=warn
fi
