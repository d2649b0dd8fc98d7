#!/usr/bin/env bash
# bench/http/scale_bench.sh — how the server holds up as the store grows
# (issue 19); run by `scripts/bench.sh scale`, which builds the binaries
# and installs wrk first.
# One server (its own token and data directory, the decrypt benchmark's PKI
# and policy: bench_server.sh) grows through the sizes given (default
# 10000 100000 1000000 secure values). At each size:
#   1. populate.py creates the secure values still missing (8 clients);
#   2. creates/s: wrk, 8 connections, BENCH_SECONDS (10) of creates
#      (bench/http/create.lua; their secure values count from then on);
#   3. the server is restarted: start-up to ready (launch to the first 200
#      from /readyz, polled every 10 ms);
#   4. decrypt req/s: wrk, 64 connections, BENCH_SECONDS of Dapr decrypts
#      of random secure values (bench/http/decrypt.lua);
#   5. a 100-item list's p99: wrk, 8 connections, BENCH_SECONDS of
#      `GET .../securevalues?limit=100` (bench/http/list.lua);
#   6. the server's RSS (VmRSS) after those runs.
# Prints one table row per size, then the ratios of the largest size to the
# smallest. Everything binds 127.0.0.1; the directory is removed on exit.
#   bench/http/scale_bench.sh STRONGROOM_BIN WRK_SHIM [SIZE...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/http"
BIN="$1"
SHIM="$2"
shift 2
SIZES=("$@")
if [ "${#SIZES[@]}" -eq 0 ]; then SIZES=(10000 100000 1000000); fi
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"

# shellcheck source=bench_server.sh
. "$HERE/bench_server.sh"

WORK="$(mktemp -d /tmp/strongroom-scale-bench-XXXXXX)"
cleanup() {
  local tag
  for tag in "${!SERVER_PIDS[@]}"; do bench_stop_pid "${SERVER_PIDS[$tag]}" 60; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "scale_bench: $*" >&2
  bench_server_logs
  exit 1
}

# wrk_run NAME CONNECTIONS SCRIPT CERT KEY: sets RUN_RPS and RUN_P99 (ms);
# fails on any non-2xx answer or socket error.
wrk_run() {
  local name="$1" connections="$2" script="$3" cert="$4" key="$5" out="$WORK/wrk-$1.txt"
  LD_PRELOAD="$SHIM" WRK_CLIENT_CERT="$cert" WRK_CLIENT_KEY="$key" BENCH_SECRETS="$CURRENT_SIZE" \
    BENCH_PREFIX="$name" \
    wrk -t1 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency -s "$script" "$URL" >"$out" 2>&1 ||
    fail "wrk failed: $(cat "$out")"
  if grep -q "Non-2xx or 3xx responses" "$out"; then fail "$name: non-2xx answers"; fi
  if grep -q "Socket errors" "$out"; then fail "$name: socket errors"; fi
  RUN_RPS="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  RUN_P99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$out")"
  [ -n "$RUN_RPS" ] && [ -n "$RUN_P99" ] || fail "$name: no figures in wrk's report"
}

umask 077
bench_pki
bench_start_server scale "$BIN" 120
URL="${SERVER_URLS[scale]}"
CURRENT_SIZE="${SIZES[0]}"
have=0
declare -a ROWS=()
declare -A CREATES DECRYPTS STARTUP RSS LIST_P99
for size in "${SIZES[@]}"; do
  CURRENT_SIZE="$size"
  if [ "$size" -gt "$have" ]; then
    echo "populating to $size secure values ..."
    # populate.py names them sv-0..sv-(size-1): the ones made before are
    # answered 409 by a rerun, so only the missing range is asked for.
    timeout 7200 python3 "$HERE/populate.py" "$URL" "$PKI/ca.pem" "$PKI/admin.pem" \
      "$PKI/admin.key" "$size" "$have" || fail "populating to $size failed"
    have="$size"
  fi
  wrk_run "create-$size" 8 "$HERE/create.lua" "$PKI/admin.pem" "$PKI/admin.key"
  CREATES[$size]="$RUN_RPS"
  bench_restart_timed scale "$BIN" 300
  URL="${SERVER_URLS[scale]}"
  STARTUP[$size]="$READY_MS"
  wrk_run "decrypt-$size" 64 "$HERE/decrypt.lua" "$PKI/decrypter.pem" "$PKI/decrypter.key"
  DECRYPTS[$size]="$RUN_RPS"
  wrk_run "list-$size" 8 "$HERE/list.lua" "$PKI/admin.pem" "$PKI/admin.key"
  LIST_P99[$size]="$RUN_P99"
  RSS[$size]="$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/${SERVER_PIDS[scale]}/status")"
  ROWS+=("$(printf '%-9s %12s %10s %11.0f %12.0f %13.2f' "$size" "${STARTUP[$size]}" \
    "${RSS[$size]}" "${CREATES[$size]}" "${DECRYPTS[$size]}" "${LIST_P99[$size]}")")
  echo "size $size: ${ROWS[-1]}"
done

printf '%-9s %12s %10s %11s %12s %13s\n' secrets startup_ms rss_mib creates_s decrypt_rps list100_p99_ms
printf '%s\n' "${ROWS[@]}"
first="${SIZES[0]}" last="${SIZES[-1]}"
awk -v c1="${CREATES[$first]}" -v c2="${CREATES[$last]}" -v d1="${DECRYPTS[$first]}" \
  -v d2="${DECRYPTS[$last]}" -v s1="${STARTUP[$first]}" -v s2="${STARTUP[$last]}" \
  -v n1="$first" -v n2="$last" 'BEGIN {
    printf "scale_%s_over_%s: creates=%.2f decrypts=%.2f startup=%.2f secrets=%.0f\n",
      n2, n1, c2 / c1, d2 / d1, s2 / (s1 > 0 ? s1 : 1), n2 / n1 }'
