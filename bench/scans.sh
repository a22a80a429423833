#!/usr/bin/env bash
# Issue 5's figures: planning and enqueueing a ScanRun of 200 SubJobs, the
# orchestration overhead per SubJob with a tool that returns at once (one
# worker working one SubJob at a time), and how long two workers take to
# drain 1,000 such SubJobs. The tool is the test stand-in playing Trivy: it
# writes the real Trivy sample (5 findings) and exits, so each SubJob also
# stores its report and imports it.
# SQLite by default; PostgreSQL with DATABASE_URL=postgres://... (a database
# of its own is created and dropped).
# Usage: [DATABASE_URL=...] bash bench/scans.sh [path/to/cspm]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BIN=${1:-bin/cspm}
PORT=${PORT:-18385}
[ -x "$BIN" ] || { echo "no binary at $BIN: run 'make build'" >&2; exit 1; }
work=$(mktemp -d)
go build -o "$work/scanload" ./bench/scanload
mkdir -p "$work/tools"
go build -o "$work/tools/trivy" ./internal/scanner/scannertest/standin
printf '{"sample":"%s"}' "$PWD/internal/ingest/testdata/samples/trivy/scheme_2_many_vulns.json" >"$work/tools/trivy.json"
echo "machine: $(nproc) cores, $(uname -sr); engine: ${DATABASE_URL:+postgres}${DATABASE_URL:-sqlite}" | sed 's#postgres.*#postgres#'

pids=()
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
# fresh: a new data directory (and database) for each measurement.
fresh() {
  stop_all
  export CSPM_DATA_DIR="$work/data-$1" CSPM_KEV_URL="" CSPM_LOG_LEVEL=error CSPM_TRIVY_BIN="$work/tools/trivy"
  if [ -n "${DATABASE_URL:-}" ]; then
    dbname="cspm_bench_scans_$$_$1"
    psql "$DATABASE_URL" -qc "CREATE DATABASE $dbname" >/dev/null
    export CSPM_DATABASE_URL=$(echo "$DATABASE_URL" | sed -E "s#/[^/?]+(\?|$)#/$dbname\1#")
    dbs+=("$dbname")
  fi
  "$BIN" serve --no-workers --addr "127.0.0.1:$PORT" >"$work/serve-$1.out" 2>"$work/serve-$1.err" &
  pids+=($!)
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.1; done
  password=$(replace_one_time_password "http://127.0.0.1:$PORT" "$(awk '/password:/ {print $2}' "$work/serve-$1.out")")
}
dbs=()
cleanup() {
  stop_all
  for d in "${dbs[@]}"; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fresh plan
"$work/scanload" -url "http://127.0.0.1:$PORT" -password "$password" -plan 200 -repeat 7

fresh overhead
CSPM_SCAN_CONCURRENCY=trivy=1 "$BIN" worker 2>"$work/worker-overhead.err" & pids+=($!)
"$work/scanload" -url "http://127.0.0.1:$PORT" -password "$password" -drain 200 -label "one worker, one SubJob at a time"

fresh drain
for i in 1 2; do "$BIN" worker 2>"$work/worker-$i.err" & pids+=($!); done
"$work/scanload" -url "http://127.0.0.1:$PORT" -password "$password" -drain 1000 -label "two workers (trivy=2 each)"
