#!/usr/bin/env bash
# bench/http/syscall_bench.sh — system calls and context switches per warm
# decrypt, counted by the kernel (`perf stat`), for one binary or two (issue
# 19); run by `scripts/bench.sh syscalls`, which builds what it needs first.
# Unlike requests per second, these counts depend little on the machine's
# load. For each binary (BASE_BIN first when given), in a private temporary
# directory with the PKI and policy of the decrypt benchmark (bench_server.sh):
#   1. a token, store and server of its own, BENCH_SYSCALL_SECRETS (300)
#      secure values sv-<i> in bench-<i mod 3>;
#   2. warm-up: wrk for 2 s (every data key unwrapped and cached);
#   3. `perf stat --per-thread` on the server while wrk runs decrypts over
#      BENCH_SYSCALL_CONNECTIONS (64) keep-alive mutual-TLS connections for
#      BENCH_SECONDS (5) s; the counts are divided by the requests wrk made.
# Any non-2xx answer fails the run. Prints per decrypt, per thread kind
# (sr-io, sr-audit, other) and in all, then one line per binary:
#   TAG: syscalls_per_decrypt=N context_switches_per_decrypt=N io_syscalls=N audit_syscalls=N
#        fdatasync=N audit_cpu_us=N cpu_us=N
# with each counted system call's share after it (fdatasync: audit syncs per
# decrypt, its inverse the records per sync; audit_cpu_us: the sr-audit
# thread's CPU time per decrypt, kernel time included, from perf's
# task-clock; cpu_us: the whole server's).
#   bench/http/syscall_bench.sh STRONGROOM_BIN SHIM_SO [BASE_BIN]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/http"
BIN="$1"
SHIM="$2"
BASE_BIN="${3:-}"
SECRETS="${BENCH_SYSCALL_SECRETS:-300}"
CONNECTIONS="${BENCH_SYSCALL_CONNECTIONS:-64}"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
CALLS=(read write epoll_wait epoll_ctl futex fdatasync flock sendto recvfrom writev)
# shellcheck source=bench/http/bench_server.sh
. "$HERE/bench_server.sh"

WORK="$(mktemp -d /tmp/strongroom-syscall-bench-XXXXXX)"
bench_exit_trap syscall_bench 10

umask 077
bench_pki

# run_wrk TAG SECONDS OUT: decrypts against TAG's server; fails on any error.
run_wrk() {
  local tag="$1" seconds="$2" out="$3"
  LD_PRELOAD="$SHIM" WRK_CLIENT_CERT="$PKI/decrypter.pem" WRK_CLIENT_KEY="$PKI/decrypter.key" \
    BENCH_SECRETS="$SECRETS" wrk --latency -t1 -c"$CONNECTIONS" -d"${seconds}s" -s "$HERE/decrypt.lua" \
    "${SERVER_URLS[$tag]}" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
  if grep -q "Non-2xx or 3xx responses\|Socket errors" "$out"; then fail "$tag: errors: $(cat "$out")"; fi
}

measure() {
  local tag="$1" bin="$2" events="raw_syscalls:sys_enter,context-switches,task-clock" call
  for call in "${CALLS[@]}"; do events="$events,syscalls:sys_enter_$call"; done
  bench_start_server "$tag" "$bin" 30
  bench_populate "$tag" "$SECRETS"
  run_wrk "$tag" 2 "$WORK/$tag/warm.txt"
  perf stat --per-thread -x, -e "$events" -p "${SERVER_PIDS[$tag]}" -o "$WORK/$tag/perf.csv" &
  local perf_pid=$!
  sleep 0.5
  run_wrk "$tag" "$SECONDS_PER_RUN" "$WORK/$tag/wrk.txt"
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  local requests
  requests="$(awk '/requests in/ {print $1}' "$WORK/$tag/wrk.txt")"
  [ -n "$requests" ] && [ "$requests" -gt 0 ] || fail "$tag: no request count from wrk"
  local p99
  p99="$(awk '$1 == "99%" {print $2}' "$WORK/$tag/wrk.txt")"
  echo "$tag: $requests decrypts over $CONNECTIONS connections, p99 ${p99:-unknown}"
  # perf's CSV with --per-thread: thread-tid,count,,event,...
  awk -F, -v n="$requests" -v tag="$tag" '
    /^#/ || NF < 4 { next }
    {
      thread = $1; sub(/-[0-9]+$/, "", thread)
      kind = (thread == "sr-io" || thread == "sr-audit") ? thread : "other"
      event = $4; sub(/^syscalls:sys_enter_/, "", event)
      count = $2 + 0
      by[kind, event] += count; total[event] += count; kinds[kind] = 1; events[event] = 1
    }
    END {
      for (k in kinds) {
        line = tag ": per decrypt, " k ":"
        for (e in events) if (by[k, e] > 0) line = line sprintf(" %s=%.3f", e, by[k, e] / n)
        print line
      }
      line = tag ": syscalls_per_decrypt=" sprintf("%.3f", total["raw_syscalls:sys_enter"] / n)
      line = line " context_switches_per_decrypt=" sprintf("%.3f", total["context-switches"] / n)
      line = line " io_syscalls=" sprintf("%.3f", by["sr-io", "raw_syscalls:sys_enter"] / n)
      line = line " audit_syscalls=" sprintf("%.3f", by["sr-audit", "raw_syscalls:sys_enter"] / n)
      line = line " fdatasync=" sprintf("%.4f", total["fdatasync"] / n)
      line = line " audit_cpu_us=" sprintf("%.2f", by["sr-audit", "task-clock"] * 1000 / n)
      line = line " cpu_us=" sprintf("%.2f", total["task-clock"] * 1000 / n)
      print line
    }' "$WORK/$tag/perf.csv"
  bench_stop_pid "${SERVER_PIDS[$tag]}" 30
}

if [ -n "$BASE_BIN" ]; then measure base "$BASE_BIN"; fi
measure new "$BIN"
