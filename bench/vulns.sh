#!/usr/bin/env bash
# Issue 6's figures: a KEV sync of the full catalog with re-enrichment over
# N (default 1,000,000) stored occurrences, a next-day sync that changes a
# little, and the p95 of GET /api/v1/vulnerabilities at 16 clients.
# SQLite by default; PostgreSQL with DATABASE_URL=postgres://... (a fresh
# schema set is used and dropped).
# Usage: [DATABASE_URL=...] [N=1000000] bash bench/vulns.sh [path/to/cspm]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BIN=${1:-bin/cspm}
PORT=${PORT:-18384}
N=${N:-1000000}
[ -x "$BIN" ] || { echo "no binary at $BIN: run 'make build'" >&2; exit 1; }
work=$(mktemp -d)
export CSPM_DATA_DIR="$work/data" CSPM_KEV_URL="" CSPM_LOG_LEVEL=error
if [ -n "${DATABASE_URL:-}" ]; then
  # A database of its own, dropped at the end: cspm keeps one schema per
  # logical database, so a shared database would mix runs.
  dbname="cspm_bench_$$"
  psql "$DATABASE_URL" -qc "CREATE DATABASE $dbname" >/dev/null
  export CSPM_DATABASE_URL=$(echo "$DATABASE_URL" | sed -E "s#/[^/?]+(\?|$)#/$dbname\1#")
  trap 'psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
fi
if [ -n "${KEEP:-}" ]; then trap - EXIT; echo "keeping $work ${CSPM_DATABASE_URL:-}"; fi
go build -o "$work/listload" ./bench/listload
go build -o "$work/genvulns" ./bench/genvulns

start() {
  "$BIN" serve --addr "127.0.0.1:$PORT" >"$work/serve.out" 2>/dev/null &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.1; done
}
start
password=$(awk '/password:/ {print $2}' "$work/serve.out")
kill -TERM "$pid"; wait "$pid" || true

echo "machine: $(nproc) cores, $(uname -sr); engine: ${DATABASE_URL:+postgres}${DATABASE_URL:-sqlite}" | sed 's#postgres.*#postgres#'
"$work/genvulns" -n "$N" -variant "$work/kev-next.json"
kev=internal/vuln/testdata/known_exploited_vulnerabilities.json
for f in "$kev" "$kev" "$work/kev-next.json"; do
  out=$( { /usr/bin/time -f "%e s, max RSS %M KB" "$BIN" kev sync --json --file "$f"; } 2>&1 )
  echo "kev sync $(basename "$f"): $(echo "$out" | tail -1); $(echo "$out" | grep '^{' | sed -E 's/"(added|removed|updated)":\[[^]]*\]/"\1":[...]/g' | cut -c1-200)"
done

start
password=$(replace_one_time_password "http://127.0.0.1:$PORT" "$password")
curl -fs -c "$work/jar" -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@cspm.local\",\"password\":\"$password\"}" "http://127.0.0.1:$PORT/api/v1/auth/login"
for q in "limit=50" "in_kev=true&limit=50" "overdue=true&severity=critical,high&limit=50" "group_by=asset&limit=50"; do
  # The first request of each query counts every match (a cold total).
  echo "cold GET /api/v1/vulnerabilities?$q: $(curl -fs -b "$work/jar" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/api/v1/vulnerabilities?$q") s"
done
for q in "limit=50" "in_kev=true&limit=50" "overdue=true&severity=critical,high&limit=50" "group_by=asset&limit=50"; do
  "$work/listload" -url "http://127.0.0.1:$PORT" -path /api/v1/vulnerabilities -password "$password" -clients 16 -duration 20s -query "$q"
done
kill -TERM "$pid"; wait "$pid" || true
[ -n "${KEEP:-}" ] || rm -rf "$work"
