#!/usr/bin/env bash
# bench/http/startup_callgrind.sh — instructions from launch to ready,
# counted by callgrind (issue 19); run by `scripts/bench.sh
# startup-callgrind`, which builds the binary and installs valgrind first.
# Wall-clock start-up (startup_bench.sh) is noisy on a shared machine; the
# instruction count is not.
# Needs a data directory populated by startup_bench.sh with
# BENCH_STARTUP_KEEP=DIR (default /tmp/sr-startup-keep): it runs
# `strongroom serve` on DIR/startup under
# `valgrind --tool=callgrind --separate-threads=no`, polls /readyz every
# 50 ms, dumps the counts (`callgrind_control --dump`) at the first 200,
# then stops the server with SIGTERM. The dump holds every thread's
# instructions up to ready: the main thread's start-up, and whatever the
# background threads (audit verification, token, HTTP) ran before it.
# Prints the top functions by inclusive and by self count and ends with
#   startup_callgrind_ir=N
# BENCH_STARTUP_CALLGRIND_OUT=FILE keeps the dump (callgrind_annotate FILE).
#   bench/http/startup_callgrind.sh STRONGROOM_BIN
set -euo pipefail
BIN="$1"
KEEP="${BENCH_STARTUP_KEEP:-/tmp/sr-startup-keep}"
DIR="$KEEP/startup"
OUT="${BENCH_STARTUP_CALLGRIND_OUT:-$(mktemp /tmp/startup-callgrind-XXXXXX.out)}"
TIMEOUT_S="${BENCH_STARTUP_CALLGRIND_TIMEOUT:-600}"

fail() { echo "startup_callgrind: $*" >&2; exit 1; }
[ -s "$DIR/populated" ] || fail "$DIR was not populated by startup_bench.sh (BENCH_STARTUP_KEEP)"

pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

rm -f "$DIR/port" "$OUT".*
SOFTHSM2_CONF="$DIR/softhsm2.conf" valgrind --tool=callgrind --separate-threads=no \
  --callgrind-out-file="$OUT" "$BIN" serve --config "$DIR/strongroom.toml" \
  >>"$DIR/callgrind.log" 2>&1 </dev/null &
pid=$!
ready=false
for _ in $(seq 1 $((TIMEOUT_S * 20))); do
  if [ -s "$DIR/port" ]; then
    url="https://127.0.0.1:$(tr -d '\n' < "$DIR/port")"
    if curl -sS --fail -o /dev/null --max-time 30 --cacert "$KEEP/pki/ca.pem" \
        "$url/readyz" 2>/dev/null; then
      ready=true
      break
    fi
  fi
  [ -d "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ] ||
    fail "the server exited at start (see $DIR/callgrind.log)"
  sleep 0.05
done
$ready || fail "not ready within $TIMEOUT_S s"
callgrind_control --dump=ready "$pid" >/dev/null
dump="$OUT.1"
[ -s "$dump" ] || fail "callgrind wrote no dump"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
mv "$dump" "$OUT"
inclusive="$(callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | sed -n '/PROGRAM TOTALS/,$p')"
echo "== top functions, inclusive (every thread)"
echo "$inclusive" | cut -c1-200 | sed -n 1,40p
echo "== top functions, self"
callgrind_annotate "$OUT" 2>/dev/null | sed -n '/PROGRAM TOTALS/,$p' | cut -c1-200 | sed -n 1,20p
# The main thread's count is main()'s inclusive one; the rest ran on
# background threads (start-up verification, token, HTTP) before ready.
count() { echo "$inclusive" | awk -v pat="$1" '$0 ~ pat {gsub(",", "", $1); print $1}' | sed -n 1p; }
total="$(count 'PROGRAM TOTALS')"
main_ir="$(count ':main \\[')"
echo "dump: $OUT"
echo "startup_callgrind_ir=$total main_thread_ir=${main_ir:-0} other_threads_ir=$((total - ${main_ir:-0}))"
