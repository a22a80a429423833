#!/usr/bin/env bash
# Issue 4's query and memory figures on SQLite: import REPORT (default a
# generated 1,000,000-finding Prowler report) with peak memory, then the p95
# of a filtered GET /api/v1/findings at 16 concurrent clients, and the posture
# overview cold (after a restart) and cached.
# Usage: REPORT=/tmp/p1m.json bash bench/list.sh [path/to/cspm]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BIN=${1:-bin/cspm}
PORT=${PORT:-18383}
N=${N:-1000000}
[ -x "$BIN" ] || { echo "no binary at $BIN: run 'make build'" >&2; exit 1; }
work=${WORK:-$(mktemp -d)}
report=${REPORT:-$work/prowler-$N.ocsf.json}
[ -f "$report" ] || go run ./bench/genprowler -n "$N" -o "$report"
go build -o "$work/listload" ./bench/listload

start() {
  CSPM_LOG_LEVEL=error "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$work/data" >"$work/serve.out" 2>/dev/null &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.1; done
}
start
password=$(awk '/password:/ {print $2}' "$work/serve.out")
kill -TERM "$pid"; wait "$pid" || true

echo "machine: $(nproc) cores, $(uname -sr); report $(du -h "$report" | cut -f1)"
out=$( { CSPM_LOG_LEVEL=warn /usr/bin/time -f "%e %M" "$BIN" import --data-dir "$work/data" --import-max-bytes 21474836480 --team Default --json "$report"; } 2>&1 )
echo "import: $(echo "$out" | tail -1 | awk '{printf "%s s, max RSS %.0f MB", $1, $2/1024}')  $(echo "$out" | grep '^{')"
scan=$(echo "$out" | grep -o '"scan_id":"[^"]*"' | cut -d'"' -f4)

start
password=$(replace_one_time_password "http://127.0.0.1:$PORT" "$password")
curl -fs -c "$work/jar" -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@cspm.local\",\"password\":\"$password\"}" "http://127.0.0.1:$PORT/api/v1/auth/login"
queries=("severity=high,critical&status=open&limit=50" "status=open&service=s3&limit=50&facets=true" "q=public&limit=50" "scan=$scan&status=open&limit=50")
for q in "${queries[@]}"; do
  # The first request of each query counts every match (cold totals and facets).
  echo "cold GET /api/v1/findings?$q: $(curl -fs -b "$work/jar" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/api/v1/findings?$q") s"
done
# The posture overview: one grouped pass over the team's findings when cold.
for q in "days=30" "days=30&provider=aws&region=eu-west-1"; do
  echo "cold GET /api/v1/posture/overview?$q: $(curl -fs -b "$work/jar" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/api/v1/posture/overview?$q") s"
done
"$work/listload" -url "http://127.0.0.1:$PORT" -password "$password" -clients 16 -duration 20s -path /api/v1/posture/overview -query "days=30"
for q in "${queries[@]}"; do
  "$work/listload" -url "http://127.0.0.1:$PORT" -password "$password" -clients 16 -duration 20s -query "$q"
done
kill -TERM "$pid"; wait "$pid" || true
