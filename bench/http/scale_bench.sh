#!/usr/bin/env bash
# bench/http/scale_bench.sh — how the server holds up as the store grows
# (issue 19); run by `scripts/bench.sh scale`, which builds the binaries
# and installs wrk first.
# One server (its own token and data directory, the decrypt benchmark's PKI
# and policy: bench_server.sh) grows through the sizes given (arguments,
# else BENCH_SCALE_SIZES, else 10000 100000 1000000 secure values, each
# larger than the one before). At each size:
#   1. the disk is checked: the filesystem of the data directory must have
#      room for the values still to create (bytes per secret measured at the
#      size before; BENCH_SCALE_BYTES_PER_SECRET, 8192, before any) twice
#      over plus 1 GiB, else the run stops there, saying so;
#   2. bench_populate (populate.py over HTTPS, 8 clients, as the startup
#      benchmark) creates the secure values still missing, timed
#      (populate_per_s);
#   3. creates/s: wrk, 8 connections, BENCH_SECONDS (10) of creates
#      (bench/http/create.lua; their secure values count from then on);
#   4. the server is restarted: start-up to ready (launch to the first 200
#      from /readyz, polled every 10 ms); the server verifies its store and
#      audit log as in production;
#   5. decrypt req/s: wrk, 64 connections, BENCH_SECONDS of Dapr decrypts
#      of random secure values (bench/http/decrypt.lua);
#   6. a 100-item list's p99: wrk, 8 connections, BENCH_SECONDS of
#      `GET .../securevalues?limit=100` (bench/http/list.lua);
#   7. the server's RSS (VmRSS) after those runs.
# Bounded in time: BENCH_SCALE_MAX_MINUTES (240) for the whole run. Before
# populating a size, the time it would take at the rate measured so far is
# checked against what is left, and the run stops with the rows it has
# rather than start what it cannot finish; every populate is also killed at
# the deadline.
# Prints one table row per size, then (the last line)
#   scale_sizes=A,B,.. scale_startup_ms=.. scale_rss_mib=.. scale_creates_per_s=..
#   scale_decrypt_rps=.. scale_list100_p99_ms=.. scale_populate_per_s=..
#   scale_creates_ratio=R scale_decrypts_ratio=R scale_startup_ratio=R
# (lists in size order; ratios of the largest size to the smallest).
# Everything binds 127.0.0.1; the directory (BENCH_SCALE_DIR, default /tmp)
# is removed on exit.
#   bench/http/scale_bench.sh STRONGROOM_BIN WRK_SHIM [SIZE...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/http"
BIN="$1"
SHIM="$2"
shift 2
SIZES=("$@")
if [ "${#SIZES[@]}" -eq 0 ]; then
  read -r -a SIZES <<<"${BENCH_SCALE_SIZES:-10000 100000 1000000}"
fi
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
MAX_MINUTES="${BENCH_SCALE_MAX_MINUTES:-240}"
previous=0
for size in "${SIZES[@]}"; do
  if ! [[ "$size" =~ ^[1-9][0-9]*$ ]] || [ "$size" -le "$previous" ]; then
    echo "scale_bench: sizes are whole numbers, each larger than the one before: ${SIZES[*]}" >&2
    exit 2
  fi
  previous="$size"
done
if [ "${SIZES[0]}" -lt 2 ]; then
  echo "scale_bench: the smallest size must be at least 2 (the decrypt check reads sv-1)" >&2
  exit 2
fi
DEADLINE=$(( $(date +%s) + MAX_MINUTES * 60 ))

# shellcheck source=bench_server.sh
. "$HERE/bench_server.sh"

WORK="$(mktemp -d "${BENCH_SCALE_DIR:-/tmp}/strongroom-scale-bench-XXXXXX")"
bench_exit_trap scale_bench 60

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
bytes_per_secret="${BENCH_SCALE_BYTES_PER_SECRET:-8192}"
populate_rate=""  # secure values per second, measured by the last populate
declare -a ROWS=() DONE_SIZES=()
declare -A CREATES DECRYPTS STARTUP RSS LIST_P99 POPULATE

# populate_to SIZE: checks disk and time, then has bench_populate create
# sv-<have>..sv-<SIZE-1>; returns 1 (with a reason on stderr) when either
# would not suffice.
populate_to() {
  local size="$1" missing=$(( $1 - have )) need free_kib now left estimate start end
  if [ "$have" -gt 0 ]; then
    # Blocks in use, not apparent sizes (LMDB's file may be sparse).
    bytes_per_secret=$(( $(du -sk "$WORK/scale/data" | cut -f1) * 1024 / have ))
  fi
  need=$(( missing * bytes_per_secret * 2 / 1024 + 1024 * 1024 ))
  free_kib="$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')"
  echo "disk: $((free_kib / 1024)) MiB free for $missing more secrets at ~$bytes_per_secret B each (need $((need / 1024)) MiB)"
  if [ "$free_kib" -lt "$need" ]; then
    echo "scale_bench: not enough disk for $size secrets: $((free_kib / 1024)) MiB free, $((need / 1024)) MiB needed (BENCH_SCALE_DIR picks another filesystem)" >&2
    return 1
  fi
  now="$(date +%s)"
  left=$(( DEADLINE - now ))
  if [ "$left" -lt 60 ]; then
    echo "scale_bench: BENCH_SCALE_MAX_MINUTES ($MAX_MINUTES) is used up" >&2
    return 1
  fi
  if [ -n "$populate_rate" ]; then
    # Populating, then four runs of BENCH_SECONDS and a restart.
    estimate=$(( missing / populate_rate + 4 * SECONDS_PER_RUN + 120 ))
    echo "time: ~$estimate s needed for $size secrets at $populate_rate/s, $left s left"
    if [ "$estimate" -gt "$left" ]; then
      echo "scale_bench: $size secrets would pass BENCH_SCALE_MAX_MINUTES ($MAX_MINUTES)" >&2
      return 1
    fi
  fi
  echo "populating to $size secure values ..."
  start="$(date +%s%N)"
  # The names run on from the last size: a rerun of populate.py over a
  # range made before would be answered 409.
  BENCH_POPULATE_TIMEOUT_S="$left" bench_populate scale "$size" "$have"
  end="$(date +%s%N)"
  populate_rate=$(( missing * 1000000000 / (end - start > 0 ? end - start : 1) ))
  [ "$populate_rate" -gt 0 ] || populate_rate=1
  POPULATE[$size]="$populate_rate"
  echo "populated $missing in $(( (end - start) / 1000000 )) ms: $populate_rate per s"
  have="$size"
}
for size in "${SIZES[@]}"; do
  CURRENT_SIZE="$size"
  if ! populate_to "$size"; then
    echo "scale_bench: stopping before $size secrets (see above); rows so far follow" >&2
    break
  fi
  DONE_SIZES+=("$size")
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
  ROWS+=("$(printf '%-9s %12s %10s %11.0f %12.0f %13.2f %14s' "$size" "${STARTUP[$size]}" \
    "${RSS[$size]}" "${CREATES[$size]}" "${DECRYPTS[$size]}" "${LIST_P99[$size]}" \
    "${POPULATE[$size]}")")
  echo "size $size: ${ROWS[-1]}"
done
[ "${#DONE_SIZES[@]}" -gt 0 ] || fail "no size measured"

printf '%-9s %12s %10s %11s %12s %13s %14s\n' secrets startup_ms rss_mib creates_s decrypt_rps \
  list100_p99_ms populate_per_s
printf '%s\n' "${ROWS[@]}"
# joined KEY: the measured sizes' figures of one column, comma-separated.
joined() {
  local -n column="$1"
  local size out=""
  for size in "${DONE_SIZES[@]}"; do out+="${out:+,}${column[$size]}"; done
  echo "$out"
}
first="${DONE_SIZES[0]}" last="${DONE_SIZES[-1]}"
ratios="$(awk -v c1="${CREATES[$first]}" -v c2="${CREATES[$last]}" -v d1="${DECRYPTS[$first]}" \
  -v d2="${DECRYPTS[$last]}" -v s1="${STARTUP[$first]}" -v s2="${STARTUP[$last]}" 'BEGIN {
    printf "scale_creates_ratio=%.2f scale_decrypts_ratio=%.2f scale_startup_ratio=%.2f",
      c2 / c1, d2 / d1, s2 / (s1 > 0 ? s1 : 1) }')"
sizes_joined="$(IFS=,; echo "${DONE_SIZES[*]}")"
echo "scale_sizes=$sizes_joined scale_startup_ms=$(joined STARTUP) scale_rss_mib=$(joined RSS)" \
  "scale_creates_per_s=$(joined CREATES) scale_decrypt_rps=$(joined DECRYPTS)" \
  "scale_list100_p99_ms=$(joined LIST_P99) scale_populate_per_s=$(joined POPULATE) $ratios"
