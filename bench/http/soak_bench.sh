#!/usr/bin/env bash
# bench/http/soak_bench.sh — the soak (issue 20): does the server stay flat
# (memory, descriptors, latency) under steady mixed traffic? Run by
# `scripts/soak.sh [MINUTES]` (`scripts/bench.sh soak`), which builds the
# Release binaries and installs wrk and gnuplot first. From nothing, in a
# private temporary directory:
#   1. the decrypt benchmark's PKI and policy, a fresh SoftHSM token, `init`
#      and `strongroom serve` on a free loopback port (bench_server.sh), and
#      SOAK_SECRETS (1000) secure values for bench-svc (populate.py);
#   2. capacity, briefly: SOAK_CAPACITY_SECONDS (10) of unpaced decrypts
#      (64 connections, soak_decrypt.lua), then of unpaced management
#      traffic (8 connections, soak_admin.lua: creates, deletes, lists,
#      audit queries);
#   3. MINUTES minutes of both at once, paced at half the capacity, split
#      80/20: decrypts at 0.4 x their capacity (32 connections), management
#      at 0.1 x its capacity (4 connections). wrk runs a minute at a time,
#      so every minute has its own percentiles; the pacing (wrk's delay())
#      is corrected after each minute towards the target rate. Every
#      SOAK_ROTATE_MINUTES (5), 30 s into the minute, the data keys are
#      rotated, and every second time the key-encryption key as well;
#   4. after each minute: the server's RSS and threads (/proc/PID/status),
#      open descriptors (/proc/PID/fd), and the lowest and highest RSS and
#      the most descriptors of samples every 5 s through the minute (the
#      end-of-minute sample falls between two minutes' wrk runs: the
#      server is idle, or still closing the last minute's connections;
#      the samples through the minute see it under traffic), LMDB pages in
#      use less free pages
#      and the map's high-water mark (mdb_stat -ef), the audit directory's
#      size, and the minute's decrypt rate, p50 and p99, management rate and
#      p99, errors (answers above 399, socket errors and timeouts, failed
#      rotations) and the load average; one table row each, and a CSV row.
# Ends with soak_summary.py's table and lines
#   soak_minutes=N rss_slope_mib_per_hour=X fds_start=N fds_end=N p99_first_ms=X p99_last_ms=X errors=N
#   rss_floor_slope_mib_per_hour=X rss_max_mib=X fds_max=N
# (p99 is the decrypts'; a slope is a least-squares fit over the minutes
# after the first, which holds warm-up: of the end-of-minute RSS, and of
# each minute's lowest), and a PNG plot (gnuplot,
# soak_plot.gp) of RSS and descriptors, decrypt p50/p99 and management
# p99, and LMDB and audit size over time. The CSV and PNG go to SOAK_OUT
# (default build-bench/soak/ of the checkout) as soak-<UTC time>.{csv,png}.
# Bounded: each minute's wrk runs stop after 60 s and every curl has a time
# limit; it stops early (exit 1, the figures so far written) if the server
# dies or the disk holding the temporary directory has less than
# SOAK_MIN_FREE_GB (5) free, since the audit log grows with every request.
# Everything it started is stopped and the directory removed on any exit.
#   bench/http/soak_bench.sh STRONGROOM_BIN WRK_SHIM MINUTES
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/http"
BIN="$1"
SHIM="$2"
MINUTES="$3"
SECRETS="${SOAK_SECRETS:-1000}"
CAPACITY_SECONDS="${SOAK_CAPACITY_SECONDS:-10}"
ROTATE_EVERY="${SOAK_ROTATE_MINUTES:-5}"
MIN_FREE_GB="${SOAK_MIN_FREE_GB:-5}"
OUT="${SOAK_OUT:-$ROOT/build-bench/soak}"
DECRYPT_CONNECTIONS=32
ADMIN_CONNECTIONS=4
if ! [[ "$MINUTES" =~ ^[0-9]+$ ]] || [ "$MINUTES" -lt 1 ]; then
  echo "soak_bench: MINUTES must be a whole number of minutes, at least 1" >&2
  exit 2
fi

# shellcheck source=bench_server.sh
. "$HERE/bench_server.sh"

WORK="$(mktemp -d /tmp/strongroom-soak-XXXXXX)"
# The load and sampling jobs first (the servers get a SIGTERM too).
bench_cleanup_more() {
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
}
bench_exit_trap soak_bench 60
trap 'exit 130' INT TERM

# alive PID (a zombie is not alive).
# shellcheck source=../../scripts/lib/process.sh
. "$ROOT/scripts/lib/process.sh"

# --- 1. server and data ------------------------------------------------------
umask 077
bench_pki
bench_start_server soak "$BIN" 60
URL="${SERVER_URLS[soak]}"
PID="${SERVER_PIDS[soak]}"
DATA="$WORK/soak/data"
echo "server: $URL (pid $PID)"
bench_populate soak "$SECRETS"
echo "created $SECRETS secure values"
SINCE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- wrk ---------------------------------------------------------------------
# run_wrk NAME SECONDS CONNECTIONS SCRIPT CERT KEY DELAY_MS: one wrk run
# (-t1), its output in $WORK/wrk-NAME.txt (read_wrk reads its figures).
run_wrk() {
  local name="$1" seconds="$2" connections="$3" script="$4" cert="$5" key="$6" pace="$7"
  LD_PRELOAD="$SHIM" WRK_CLIENT_CERT="$cert" WRK_CLIENT_KEY="$key" BENCH_SECRETS="$SECRETS" \
    SOAK_LUA_DIR="$HERE" SOAK_DELAY_MS="$pace" SOAK_PREFIX="$name" SOAK_SINCE="$SINCE" \
    timeout $((seconds + 60)) wrk -t1 -c"$connections" -d"${seconds}s" --timeout 5s \
    -s "$HERE/$script" "$URL" >"$WORK/wrk-$name.txt" 2>&1 || true
}

# read_wrk NAME: the fields of run NAME's SOAK line (soak_pace.lua) as
# W_REQUESTS, W_DURATION_US, W_P50_US, W_P99_US, W_ERRORS (answers above
# 399, socket errors and timeouts), and its SOAK_STATUSES line's counts
# ("404=N ...", management only) as W_STATUSES. A run whose wrk failed or
# printed no SOAK line counts as one error and no requests.
read_wrk() {
  local line field
  line="$(grep '^SOAK ' "$WORK/wrk-$1.txt" | tail -n 1 || true)"
  W_STATUSES="$(sed -n 's/^SOAK_STATUSES //p' "$WORK/wrk-$1.txt" | tail -n 1)"
  W_REQUESTS=0 W_DURATION_US=1 W_P50_US=0 W_P99_US=0 W_ERRORS=1
  [ -n "$line" ] || return 0
  W_ERRORS=0
  for field in ${line#SOAK }; do
    case "$field" in
      requests=*) W_REQUESTS="${field#*=}" ;;
      duration_us=*) W_DURATION_US="${field#*=}" ;;
      p50_us=*) W_P50_US="${field#*=}" ;;
      p99_us=*) W_P99_US="${field#*=}" ;;
      errors_status=* | errors_socket=*) W_ERRORS=$((W_ERRORS + ${field#*=})) ;;
    esac
  done
}

rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.1f", n / (us / 1e6) }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# --- 2. capacity ---------------------------------------------------------------
run_wrk cap-decrypt "$CAPACITY_SECONDS" 64 soak_decrypt.lua "$PKI/decrypter.pem" \
  "$PKI/decrypter.key" 0
read_wrk cap-decrypt
if [ "$W_REQUESTS" -eq 0 ]; then fail "capacity run (decrypts) failed: $(cat "$WORK/wrk-cap-decrypt.txt")"; fi
if [ "$W_ERRORS" -ne 0 ]; then
  echo "capacity run (decrypts): $W_ERRORS errors ${W_STATUSES:+(by status: $W_STATUSES)}"
fi
CAP_DECRYPT="$(rate "$W_REQUESTS" "$W_DURATION_US")"
run_wrk cap-admin "$CAPACITY_SECONDS" 8 soak_admin.lua "$PKI/admin.pem" "$PKI/admin.key" 0
read_wrk cap-admin
if [ "$W_REQUESTS" -eq 0 ]; then fail "capacity run (management) failed: $(cat "$WORK/wrk-cap-admin.txt")"; fi
if [ "$W_ERRORS" -ne 0 ]; then
  echo "capacity run (management): $W_ERRORS errors ${W_STATUSES:+(by status: $W_STATUSES)}"
fi
CAP_ADMIN="$(rate "$W_REQUESTS" "$W_DURATION_US")"
TARGET_DECRYPT="$(awk -v c="$CAP_DECRYPT" 'BEGIN { printf "%.1f", 0.4 * c }')"
TARGET_ADMIN="$(awk -v c="$CAP_ADMIN" 'BEGIN { printf "%.1f", 0.1 * c }')"
echo "capacity: decrypts $CAP_DECRYPT/s (64 connections), management $CAP_ADMIN/s (8 connections)"
echo "soak: $MINUTES min, decrypts at $TARGET_DECRYPT/s ($DECRYPT_CONNECTIONS connections), management at $TARGET_ADMIN/s ($ADMIN_CONNECTIONS connections), rotations every $ROTATE_EVERY min"

# pace CONNECTIONS TARGET_RPS [ACHIEVED_RPS PREVIOUS_PACE_MS]: the wait per
# connection between a response and the next request that gives TARGET_RPS:
# a connection's cycle is CONNECTIONS / rate seconds, of which the request
# itself took (cycle at the achieved rate) - (previous wait), 1 ms at
# first. After the first minute it moves only half way from the previous
# wait to that one: on a shared machine the time a request takes swings
# from minute to minute, and a full correction overshoots (measured: 1.1k,
# 3.9k, 1.4k, 3.2k decrypts/s against a target of 2.2k). Kept within
# [0, 10000] ms.
pace() {
  awk -v c="$1" -v target="$2" -v achieved="${3:-0}" -v previous="${4:-0}" 'BEGIN {
    busy = 1
    if (achieved > 0) busy = 1000 * c / achieved - previous
    if (busy < 0) busy = 0
    wait = 1000 * c / target - busy
    if (achieved > 0) wait = previous + 0.5 * (wait - previous)
    if (wait < 0) wait = 0
    if (wait > 10000) wait = 10000
    printf "%.3f", wait }'
}
PACE_DECRYPT="$(pace "$DECRYPT_CONNECTIONS" "$TARGET_DECRYPT")"
PACE_ADMIN="$(pace "$ADMIN_CONNECTIONS" "$TARGET_ADMIN")"

# --- 3 and 4. the soak, a minute at a time ------------------------------------------
mkdir -p "$OUT"
STAMP="$(date -u +%Y%m%d-%H%M%S)"
CSV="$OUT/soak-$STAMP.csv"
PNG="$OUT/soak-$STAMP.png"
echo "minute,elapsed_s,rss_mib,fds,threads,lmdb_used_mib,lmdb_highwater_mib,audit_mib,decrypt_rps,decrypt_p50_ms,decrypt_p99_ms,admin_rps,admin_p99_ms,errors,rotations,load1,rss_min_mib,rss_max_mib,fds_max" >"$CSV"

# sample_every_5s: until killed, a line "RSS_KIB FDS" for the server every
# 5 s.
sample_every_5s() {
  while :; do
    echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null || echo 0)" \
      "$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
    sleep 5
  done
}

# lmdb_mib: "USED HIGHWATER" in MiB from mdb_stat -ef: pages in use less
# free pages, and pages in use (the file's high-water mark), times the page
# size. "0 0" if mdb_stat cannot read it.
lmdb_mib() {
  mdb_stat -ef "$DATA/store" 2>/dev/null | awk '
    /Page size:/ { psize = $3 }
    /Number of pages used:/ { used = $5 }
    /Free pages:/ { free = $3 }
    END { if (psize == "") { print "0 0"; exit }
          printf "%.1f %.1f\n", (used - free) * psize / 1048576, used * psize / 1048576 }'
}

summarise() {
  python3 "$HERE/soak_summary.py" "$CSV" || true
  if command -v gnuplot >/dev/null 2>&1 && [ "$(wc -l <"$CSV")" -gt 1 ]; then
    if gnuplot -e "csv='$CSV'; png='$PNG'" "$HERE/soak_plot.gp" 2>"$WORK/gnuplot.log"; then
      echo "plot: $PNG"
    else
      echo "soak_bench: gnuplot failed: $(cat "$WORK/gnuplot.log")" >&2
    fi
  fi
  echo "csv: $CSV"
}

START="$(date +%s)"
ROTATIONS=0
printf '%6s %8s %5s %7s %8s %8s %8s %8s %8s %8s %8s %6s %5s\n' minute rss_mib fds lmdb_mib \
  audit_mib dec_rps dec_p50 dec_p99 adm_rps adm_p99 errors rot load1
for minute in $(seq 1 "$MINUTES"); do
  alive "$PID" || { summarise; fail "the server died before minute $minute"; }
  free_kb="$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')"
  if [ "$free_kb" -lt $((MIN_FREE_GB * 1048576)) ]; then
    summarise
    fail "less than $MIN_FREE_GB GB free on the disk of $WORK: stopped before minute $minute"
  fi
  rotation_pid=""
  if [ $((minute % ROTATE_EVERY)) -eq 0 ]; then
    rotate=(rotate-data-keys)
    if [ $((minute % (2 * ROTATE_EVERY))) -eq 0 ]; then rotate+=(rotate-kek); fi
    (
      sleep 30
      for path in "${rotate[@]}"; do
        curl -sS -o /dev/null -w '%{http_code}\n' --max-time 25 --cacert "$PKI/ca.pem" \
          --cert "$PKI/admin.pem" --key "$PKI/admin.key" -X POST \
          "$URL/api/admin/encryption/$path" 2>/dev/null || echo 000
      done
    ) >"$WORK/rotate-$minute.txt" &
    rotation_pid=$!
  fi
  sample_every_5s >"$WORK/samples-$minute.txt" &
  sampler_pid=$!
  run_wrk "d$minute" 60 "$DECRYPT_CONNECTIONS" soak_decrypt.lua "$PKI/decrypter.pem" \
    "$PKI/decrypter.key" "$PACE_DECRYPT" &
  decrypt_pid=$!
  run_wrk "m$minute" 60 "$ADMIN_CONNECTIONS" soak_admin.lua "$PKI/admin.pem" \
    "$PKI/admin.key" "$PACE_ADMIN"
  wait "$decrypt_pid" || true
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  read_wrk "m$minute"
  admin_statuses="$W_STATUSES"
  admin_rps="$(rate "$W_REQUESTS" "$W_DURATION_US")"
  admin_p99="$(ms "$W_P99_US")"
  errors="$W_ERRORS"
  read_wrk "d$minute"
  decrypt_rps="$(rate "$W_REQUESTS" "$W_DURATION_US")"
  decrypt_p50="$(ms "$W_P50_US")"
  decrypt_p99="$(ms "$W_P99_US")"
  errors=$((errors + W_ERRORS))
  rotated=0
  if [ -n "$rotation_pid" ]; then
    wait "$rotation_pid" || true
    while read -r code; do
      rotated=$((rotated + 1))
      case "$code" in 2??) ;; *) errors=$((errors + 1)) ;; esac
    done <"$WORK/rotate-$minute.txt"
    ROTATIONS=$((ROTATIONS + rotated))
  fi
  alive "$PID" || { summarise; fail "the server died during minute $minute"; }
  rss="$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status")"
  threads="$(awk '/^Threads:/ { print $2 }' "/proc/$PID/status")"
  fds="$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
  read -r lmdb_used lmdb_high <<<"$(lmdb_mib)"
  audit_mib="$(du -sk "$DATA/audit" | awk '{ printf "%.1f", $1 / 1024 }')"
  load1="$(cut -d' ' -f1 /proc/loadavg)"
  read -r rss_min rss_max fds_max <<<"$(echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status") $fds" |
    cat "$WORK/samples-$minute.txt" - | awk '$1 > 0 {
      if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1; if ($2 > fds) fds = $2 }
      END { printf "%.1f %.1f %d\n", min / 1024, max / 1024, fds }')"
  echo "$minute,$(($(date +%s) - START)),$rss,$fds,$threads,$lmdb_used,$lmdb_high,$audit_mib,$decrypt_rps,$decrypt_p50,$decrypt_p99,$admin_rps,$admin_p99,$errors,$rotated,$load1,$rss_min,$rss_max,$fds_max" >>"$CSV"
  printf '%6s %8s %5s %7s %8s %8s %8s %8s %8s %8s %8s %6s %5s\n' "$minute" "$rss" "$fds" \
    "$lmdb_used" "$audit_mib" "$decrypt_rps" "$decrypt_p50" "$decrypt_p99" "$admin_rps" \
    "$admin_p99" "$errors" "$rotated" "$load1"
  if [ -n "$admin_statuses" ]; then echo "       (management answers above 399: $admin_statuses)"; fi
  PACE_DECRYPT="$(pace "$DECRYPT_CONNECTIONS" "$TARGET_DECRYPT" "$decrypt_rps" "$PACE_DECRYPT")"
  PACE_ADMIN="$(pace "$ADMIN_CONNECTIONS" "$TARGET_ADMIN" "$admin_rps" "$PACE_ADMIN")"
done

echo "capacity: decrypts $CAP_DECRYPT/s, management $CAP_ADMIN/s; targets $TARGET_DECRYPT/s and $TARGET_ADMIN/s; $ROTATIONS rotations"
summarise
