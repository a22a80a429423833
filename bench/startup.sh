#!/usr/bin/env bash
# Measures what issue 2 asks of the foundation, on embedded SQLite:
#   - time from starting `cspm serve` to the first 200 from /readyz,
#     on an empty data directory (creates and migrates) and on a migrated one;
#   - binary size;
#   - idle resident memory (RSS) 5 s after ready.
# Usage: bash bench/startup.sh [path/to/cspm]   (default: bin/cspm, built by `make build`)
set -euo pipefail
BIN=${1:-bin/cspm}
RUNS=${RUNS:-10}
PORT=${PORT:-18181}
[ -x "$BIN" ] || { echo "no binary at $BIN: run 'make build'" >&2; exit 1; }

if curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; then
  echo "something already answers on 127.0.0.1:$PORT: stop it or set PORT" >&2; exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_ms() { date +%s%3N; }

# start_and_wait DATA_DIR -> sets $ms (milliseconds to ready) and $pid
start_and_wait() {
  local dir=$1 t0 t1
  t0=$(now_ms)
  CSPM_LOG_LEVEL=warn "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$dir" >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
    kill -0 "$pid" 2>/dev/null || { echo "cspm exited early" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(now_ms)
  ms=$((t1 - t0))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cold=(); warm=()
for i in $(seq 1 "$RUNS"); do
  dir="$work/data-$i"
  start_and_wait "$dir"; cold+=("$ms"); kill -TERM "$pid"; wait "$pid" || true
  start_and_wait "$dir"; warm+=("$ms"); kill -TERM "$pid"; wait "$pid" || true
done

start_and_wait "$work/idle"
sleep 5
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"; wait "$pid" || true

size=$(stat -c %s "$BIN")
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "binary: $BIN, $(awk -v s="$size" 'BEGIN {printf "%.1f MiB", s/1048576}') ($size bytes)"
echo "serve -> /readyz 200, empty data dir (create + migrate), median of $RUNS: $(printf '%s\n' "${cold[@]}" | median) ms (min $(printf '%s\n' "${cold[@]}" | sort -n | head -1), max $(printf '%s\n' "${cold[@]}" | sort -n | tail -1))"
echo "serve -> /readyz 200, migrated data dir, median of $RUNS: $(printf '%s\n' "${warm[@]}" | median) ms (min $(printf '%s\n' "${warm[@]}" | sort -n | head -1), max $(printf '%s\n' "${warm[@]}" | sort -n | tail -1))"
echo "idle RSS 5 s after ready (workers running): $((rss_kb / 1024)) MiB"
