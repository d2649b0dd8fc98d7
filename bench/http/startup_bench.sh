#!/usr/bin/env bash
# bench/http/startup_bench.sh — start-up to ready with many secrets and a
# long audit log (issue 19); run by `scripts/bench.sh startup`, which builds
# the binary first.
# In a private temporary directory, with the PKI and policy of the decrypt
# benchmark (bench_server.sh) and a token and data directory of its own:
#   1. `init`, `serve`, SECRETS secure values created over HTTPS
#      (populate.py: every create is also an audit record, so the log holds
#      about as many records as there are secrets), then SIGTERM;
#   2. RUNS (3) times: `serve` on the same data directory, timed from the
#      launch to the first 200 from /readyz (polled every 10 ms), then
#      SIGTERM and wait. The trust-anchor checks run as in production.
# Prints one line per start and ends with
#   startup_ms_best=N startup_ms_median=N secrets=N audit_records=N
# BENCH_STARTUP_KEEP=DIR works in DIR (new or empty) instead and keeps it:
# the token, data, config, log and PKI, for profiling a start by hand. A
# later run with the same DIR and SECRETS skips step 1 and starts from what
# the earlier one populated (populating 100k over HTTPS takes minutes); the
# log then holds a few more records per run (each start and stop).
# Everything it started is stopped and the directory removed on exit.
#   bench/http/startup_bench.sh STRONGROOM_BIN [SECRETS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/http"
BIN="$1"
SECRETS="${2:-100000}"
RUNS="${BENCH_STARTUP_RUNS:-3}"

# shellcheck source=bench_server.sh
. "$HERE/bench_server.sh"

if [ -n "${BENCH_STARTUP_KEEP:-}" ]; then
  mkdir -p "$BENCH_STARTUP_KEEP"
  WORK="$(cd "$BENCH_STARTUP_KEEP" && pwd)"
else
  WORK="$(mktemp -d /tmp/strongroom-startup-bench-XXXXXX)"
fi
bench_exit_trap startup_bench 30 "${BENCH_STARTUP_KEEP:+keep}"

umask 077
DIR="$WORK/startup"
if [ -n "${BENCH_STARTUP_KEEP:-}" ] && [ "$(cat "$DIR/populated" 2>/dev/null)" = "$SECRETS" ]; then
  # A directory this script populated with as many secrets: start from it.
  PKI="$WORK/pki"
  echo "reusing the $SECRETS secure values populated in $DIR"
else
  if [ -n "${BENCH_STARTUP_KEEP:-}" ] && [ -n "$(ls -A "$WORK")" ]; then
    fail "$WORK is neither empty nor populated with $SECRETS secrets by this script"
  fi
  bench_pki
  bench_start_server startup "$BIN" 120
  echo "populating $SECRETS secure values ..."
  bench_populate startup "$SECRETS"
  bench_stop_pid "${SERVER_PIDS[startup]}" 60
  wait "${SERVER_PIDS[startup]}" 2>/dev/null || true
  SERVER_PIDS[startup]=""
  echo "$SECRETS" > "$DIR/populated"
fi
RECORDS="$(cat "$DIR"/data/audit/*.jsonl | wc -l)"
times=()
for run in $(seq 1 "$RUNS"); do
  bench_restart_timed startup "$BIN" 60
  echo "start $run: ready in $READY_MS ms"
  times+=("$READY_MS")
done
bench_stop_pid "${SERVER_PIDS[startup]}" 60
wait "${SERVER_PIDS[startup]}" 2>/dev/null || true
SERVER_PIDS[startup]=""
sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
best="$(echo "$sorted" | head -n 1)"
median="$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")"
echo "startup_ms_best=$best startup_ms_median=$median secrets=$SECRETS audit_records=$RECORDS"
