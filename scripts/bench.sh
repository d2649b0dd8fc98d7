#!/usr/bin/env bash
# Runs Strongroom's benchmarks.
#   scripts/bench.sh [http]
#       the decrypt benchmark (bench/http/http_bench.sh): from nothing, a
#       token, the server, 10,000 secure values and nginx over mutual TLS
#       with the same certificates, driven by wrk; installs nginx-light and
#       wrk (never starting the system nginx); ends with
#       decrypt_rps=N nginx_mtls_rps=N ratio=R decrypt_p99_ms=N decrypt_c8_rps=N ratio_c8=R create_per_s=N
#       then, from the 64-connection rounds of bench/http/floor_server.cc
#       (TLS and a group-fsynced chained record per answer, nothing else;
#       the same without the fdatasync; TLS alone; the writer answering),
#       floor_rps=N floor_ratio=R floor_nosync_rps=N floor_nosync_ratio=R floor_direct_rps=N floor_direct_ratio=R floor_writer_rps=N floor_writer_ratio=R
#       BENCH_PERF=FILE also installs linux-perf and writes a profile of the
#       server during the first 64-connection run to FILE.
#   scripts/bench.sh micro [benchmark args...]
#       installs what is needed (scripts/setup.sh), builds crypto_bench,
#       audit_bench and store_bench (the runtime tag index: bytes per record,
#       a read armed and not) in Release in build-bench/ and runs them; extra
#       arguments go to crypto_bench (e.g. --benchmark_filter=Open
#       --benchmark_repetitions=5).
#   scripts/bench.sh audit [benchmark args...]
#       only audit_bench: audited writes from 8 clients, group commit
#       against one fdatasync per record; ends with
#       audited_writes_per_s=N fsync_per_record_writes_per_s=N ratio=R
#   scripts/bench.sh tokend [benchmark args...]
#       tokend_bench: a data-key unwrap and a checkpoint signature directly
#       on the token and through `strongroom tokend`'s socket, in one run;
#       ends with
#       unwrap_direct_ops=N unwrap_tokend_ops=N ratio=R
#       sign_direct_ops=N sign_tokend_ops=N ratio=R
#   scripts/bench.sh creates [benchmark args...]
#       create_load_bench: two real servers (group commit, one fdatasync per
#       record) and 8 HTTPS clients creating SecureValues, alternating
#       windows; ends with
#       audited_creates_per_s=N fsync_per_record_creates_per_s=N ratio=R
#   scripts/bench.sh compare [BASE_REV]
#       the cost of a change: builds the current tree (build-bench/) and
#       BASE_REV (argument, else BENCH_BASE_REV; any git revision, e.g.
#       94f374f) in Release, then runs the decrypt benchmark for both in one
#       run: each binary on a token and store of its own, base, new and nginx
#       taking turns in every 64-connection round, then creates, base and new
#       in turn (BENCH_ROUNDS rounds, 2; BENCH_SECONDS per window, 10); ends
#       with
#       nginx_mtls_rps=N
#       base: decrypt_rps=N ratio=R decrypt_p99_ms=N create_per_s=N
#       new: decrypt_rps=N ratio=R decrypt_p99_ms=N create_per_s=N
#       new_over_base: decrypt=R creates=R
#       BENCH_CALLGRIND=1 also runs the callgrind mode on the same binaries.
#   scripts/bench.sh callgrind [BASE_REV]
#       instructions per warm decrypt counted by callgrind (all threads,
#       SoftHSM included) for the current tree, and BASE_REV when given
#       (argument, else BENCH_BASE_REV); installs valgrind; see
#       bench/http/callgrind_bench.sh. Ends with
#       base: callgrind_ir_per_decrypt=N without_anchor_thread=N
#       new: callgrind_ir_per_decrypt=N without_anchor_thread=N
#       new_over_base: callgrind_ir=R without_anchor_thread=R
#       (without_anchor_thread: less the trust-anchor thread, whose token
#       writes follow wall time, not decrypts)
#   scripts/bench.sh syscalls [BASE_REV]
#       system calls and context switches per warm decrypt, counted by
#       `perf stat` on the server while wrk runs 64 keep-alive connections
#       (installs wrk and linux-perf); see
#       bench/http/syscall_bench.sh. Ends with, per binary,
#       TAG: syscalls_per_decrypt=N context_switches_per_decrypt=N io_syscalls=N audit_syscalls=N
#            fdatasync=N audit_cpu_us=N cpu_us=N
#       (audit fdatasyncs per decrypt, the sequencer's and the server's CPU
#       time per decrypt), after each binary's wrk p99
#   scripts/bench.sh verify [RECORDS]
#       offline verification at disk speed (issue 19): builds strongroom and
#       audit_log_gen in Release, writes a valid log of RECORDS (default
#       200,000) decrypt-shaped records with a signed checkpoint every 1,000,
#       then times `strongroom audit verify` on it and sha256sum over the
#       same file, three times each (the best of each counts: the file is in
#       the page cache, so this measures the reader, not the disk). Ends with
#       verify_records_per_s=N verify_mb_per_s=N sha256sum_mb_per_s=N
#   scripts/bench.sh startup [SECRETS]
#       start-up to ready (bench/http/startup_bench.sh): a server with
#       SECRETS (default 100,000) secure values, created over HTTPS so the
#       audit log holds as many records, restarted three times and timed
#       from launch to the first 200 from /readyz. Ends with
#       startup_ms_best=N startup_ms_median=N secrets=N audit_records=N
#   scripts/bench.sh startup-callgrind
#       instructions from launch to ready, counted by callgrind
#       (bench/http/startup_callgrind.sh), on the data directory a run of
#       `BENCH_STARTUP_KEEP=DIR scripts/bench.sh startup` kept (DIR defaults
#       to /tmp/sr-startup-keep); load-independent, unlike the wall time.
#       Prints the top functions and ends with
#       startup_callgrind_ir=N main_thread_ir=N other_threads_ir=N
#   scripts/bench.sh scale [SIZE...]
#       bench/http/scale_bench.sh: one server grown through the sizes
#       (arguments, else BENCH_SCALE_SIZES, else 10000 100000 1000000
#       secure values); at each, after a disk check, creates/s, start-up to
#       ready, decrypt req/s at 64 connections, a 100-item list's p99 and
#       RSS, one table row per size; bounded by BENCH_SCALE_MAX_MINUTES
#       (240). Ends with
#       scale_sizes=A,B,.. scale_startup_ms=.. scale_rss_mib=.. scale_creates_per_s=..
#       scale_decrypt_rps=.. scale_list100_p99_ms=.. scale_populate_per_s=..
#       scale_creates_ratio=R scale_decrypts_ratio=R scale_startup_ratio=R
#       (populating runs over HTTPS at the server's create rate: 1M takes
#       the longest part of the run).
#   scripts/bench.sh soak [MINUTES]   (also: scripts/soak.sh [MINUTES])
#       bench/http/soak_bench.sh: from nothing, a server with 1,000 secure
#       values; its capacity measured briefly; then MINUTES (default 30) of
#       decrypts, creates, deletes, lists, audit queries and key rotations at
#       half of it, sampled every minute (RSS, fds, LMDB, audit size, p50/p99,
#       errors); installs wrk and gnuplot (scripts/setup.sh); prints a table,
#       writes a CSV and a PNG plot to build-bench/soak/, and ends with
#       soak_minutes=N rss_slope_mib_per_hour=X fds_start=N fds_end=N p99_first_ms=X p99_last_ms=X errors=N
#   scripts/bench.sh cluster
#       bench/cluster_bench.cc (issue 18): 3 etcd members (data under
#       TMPDIR, default /tmp, refused when it is tmpfs) and 3 appliances in
#       replicated mode sharing one SoftHSM token, against one single-node
#       server, in one run: audited creates/s through etcd at 8 clients
#       (on one node, and spread over the three),
#       decrypt req/s on one node against single-node (alternating windows:
#       BENCH_ROUNDS pairs, 2; BENCH_SECONDS per window, 8), replication lag
#       p50/p99 over 200 writes, and `etcdctl check perf` (about a minute).
#       Ends with
#       cluster_creates_per_s=N cluster_creates_3_nodes_per_s=N
#       single_creates_per_s=N cluster_decrypt_rps=N single_decrypt_rps=N decrypt_ratio=R replication_lag_p50_ms=X
#       replication_lag_p99_ms=X errors=N etcd_check_perf_exit=N
#   BASE_REV is built from a detached git worktree in
#   build-bench-base/src (its build directory inside it, so that with ccache
#   as the compiler launcher and CCACHE_BASEDIR at each tree the two builds
#   share unchanged objects); the worktree is removed once the binary is
#   copied to build-bench-base/strongroom-<commit>, and on any exit.
# Figures are only comparable within one run: the summary lines printed at
# the end compare each envelope operation with bare OpenSSL, side by side.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

BUILD_DIR="${BUILD_DIR:-build-bench}"
JOBS="${JOBS:-2}"

usage() {
  cat >&2 <<'USAGE'
usage: scripts/bench.sh <mode> [args...]
modes:
  http    (default) decrypt over mutual TLS against nginx serving a static body, and creates
  micro   Google Benchmark micro-benchmarks (crypto_bench, audit_bench), Release build
  audit   audit_bench only (group commit vs one fdatasync per record)
  tokend  data-key unwrap and checkpoint signature, direct against through tokend
  creates audited creates over HTTPS at 8 clients (group commit vs one fdatasync per record)
  compare [BASE_REV]    decrypt and creates of the current tree against BASE_REV, alternating
  callgrind [BASE_REV]  callgrind instructions per warm decrypt, current tree (and BASE_REV)
  syscalls [BASE_REV]   system calls and context switches per warm decrypt (perf stat)
  verify [RECORDS]      offline audit verification against sha256sum of the same file
  startup [SECRETS]     start-up to ready with SECRETS secure values and as many audit records
  startup-callgrind     callgrind instructions from launch to ready (after startup with BENCH_STARTUP_KEEP)
  scale [SIZE...]       creates, start-up, decrypts, list p99 and RSS at 10k, 100k, 1M secrets
  soak [MINUTES]        mixed traffic at half capacity for MINUTES (30), sampled every minute
  cluster               3 etcd + 3 nodes: creates/s, decrypts vs single-node, lag p99, etcdctl check perf
BASE_REV defaults to $BENCH_BASE_REV (required by compare).
USAGE
}

# ccache as the compiler launcher when present, with paths relative to the
# tree being built (as scripts/test.sh), so trees at other paths share
# entries.
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# configure_release [SOURCE_DIR BUILD_DIR]: a Release configuration of
# SOURCE_DIR (the checkout, in $BUILD_DIR).
configure_release() {
  local source="${1:-$ROOT}" build="${2:-$BUILD_DIR}"
  CCACHE_BASEDIR="$source" CCACHE_NOHASHDIR=1 cmake -S "$source" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DSTRONGROOM_SANITIZE= -DSTRONGROOM_BUILD_BENCH=ON \
    "${LAUNCHER[@]}" >/dev/null
}

# build_release SOURCE_DIR BUILD_DIR TARGET...: configure_release and build
# the TARGETs.
build_release() {
  local source="$1" build="$2"
  shift 2
  configure_release "$source" "$build"
  CCACHE_BASEDIR="$source" CCACHE_NOHASHDIR=1 cmake --build "$build" -j"$JOBS" --target "$@"
}

# Repetitions run in random interleaving and the summary uses their median,
# so a burst of load on the machine does not land on one side of a pair.
# Later arguments override these.
MICRO_DEFAULTS=(--benchmark_repetitions=21 --benchmark_enable_random_interleaving=true
                --benchmark_report_aggregates_only=true)

run_micro() {
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" crypto_bench audit_bench store_bench
  "$BUILD_DIR/bench/crypto_bench" "${MICRO_DEFAULTS[@]}" "$@"
  "$BUILD_DIR/bench/audit_bench"
  "$BUILD_DIR/bench/store_bench"
}

run_audit() {
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" audit_bench
  "$BUILD_DIR/bench/audit_bench" "$@"
}

run_tokend() {
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" tokend_bench
  "$BUILD_DIR/bench/tokend_bench" "${MICRO_DEFAULTS[@]}" "$@"
}

run_creates() {
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" create_load_bench
  "$BUILD_DIR/bench/create_load_bench" "$@"
}

# install_tools COMMAND:PACKAGE... installs (apt-get) the Debian PACKAGE of
# every COMMAND not on the PATH. Installing nginx would start the system's
# nginx service: a policy-rc.d that refuses service starts is in place while
# apt-get runs (unless the machine has one).
install_tools() {
  local pair packages=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || packages+=("${pair#*:}")
  done
  if [ "${#packages[@]}" -eq 0 ]; then return 0; fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  local guard=/usr/sbin/policy-rc.d made_guard=false
  if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$guard" >/dev/null
    "${sudo[@]}" chmod 755 "$guard"
    made_guard=true
  fi
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${packages[@]}" || {
    if [ "$made_guard" = true ]; then "${sudo[@]}" rm -f "$guard"; fi
    return 1
  }
  if [ "$made_guard" = true ]; then "${sudo[@]}" rm -f "$guard"; fi
}

# install_http_tools installs nginx-light and wrk (and linux-perf with
# BENCH_PERF).
install_http_tools() {
  local tools=(nginx:nginx-light wrk:wrk)
  if [ -n "${BENCH_PERF:-}" ]; then tools+=(perf:linux-perf); fi
  install_tools "${tools[@]}"
}

run_http() {
  scripts/setup.sh
  install_http_tools
  build_release "$ROOT" "$BUILD_DIR" strongroom wrk_client_cert floor_server
  BENCH_FLOOR_BIN="$BUILD_DIR/bench/floor_server" \
    bench/http/http_bench.sh "$BUILD_DIR/appliance/strongroom" "$BUILD_DIR/bench/libwrk_client_cert.so"
}

BASE_SRC="$ROOT/build-bench-base/src"
remove_base_tree() {
  if [ -e "$BASE_SRC" ]; then
    git worktree remove --force "$BASE_SRC" 2>/dev/null || rm -rf "$BASE_SRC"
  fi
}

# build_base REV: builds strongroom at REV in Release from a detached worktree
# (removed afterwards) and sets BASE_BIN to a copy of it in build-bench-base/.
build_base() {
  local commit
  commit="$(git rev-parse --verify -q "$1^{commit}")"
  remove_base_tree
  mkdir -p "$ROOT/build-bench-base"
  # -f: a worktree registered at this path but deleted by hand is replaced.
  git worktree add -f --detach -q "$BASE_SRC" "$commit"
  echo "bench: building base $(git log -1 --format='%h %s' "$commit" | cut -c1-100)"
  # The build directory sits where build-bench/ sits in this checkout, so
  # ccache sees the same relative paths and reuses unchanged objects.
  build_release "$BASE_SRC" "$BASE_SRC/build-bench" strongroom
  BASE_BIN="$ROOT/build-bench-base/strongroom-${commit:0:12}"
  cp "$BASE_SRC/build-bench/appliance/strongroom" "$BASE_BIN"
  remove_base_tree
}

# base_rev [BASE_REV]: the argument, else $BENCH_BASE_REV, else empty;
# exits 2 on a revision that is not a commit here, before anything is built.
base_rev() {
  local rev="${1:-${BENCH_BASE_REV:-}}"
  if [ -n "$rev" ] && ! git rev-parse --verify -q "$rev^{commit}" >/dev/null; then
    echo "bench: unknown revision '$rev'" >&2
    exit 2
  fi
  echo "$rev"
}

run_callgrind_on() {
  install_tools valgrind:valgrind callgrind_control:valgrind
  bench/http/callgrind_bench.sh "$@"
}

run_compare() {
  local rev
  rev="$(base_rev "$@")"
  if [ -z "$rev" ]; then
    echo "bench: compare needs BASE_REV (an argument or BENCH_BASE_REV)" >&2
    usage
    exit 2
  fi
  scripts/setup.sh
  install_http_tools
  trap remove_base_tree EXIT
  build_release "$ROOT" "$BUILD_DIR" strongroom wrk_client_cert
  build_base "$rev"
  echo "bench: base $rev ($BASE_BIN), new $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' with local changes')"
  BENCH_BASE_BIN="$BASE_BIN" bench/http/http_bench.sh "$BUILD_DIR/appliance/strongroom" \
    "$BUILD_DIR/bench/libwrk_client_cert.so"
  if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
    run_callgrind_on "$BUILD_DIR/appliance/strongroom" "$BASE_BIN"
  fi
}

run_callgrind() {
  local rev
  rev="$(base_rev "$@")"
  scripts/setup.sh
  trap remove_base_tree EXIT
  build_release "$ROOT" "$BUILD_DIR" strongroom
  BASE_BIN=""
  if [ -n "$rev" ]; then build_base "$rev"; fi
  echo "bench: base ${rev:-none}, new $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' with local changes')"
  if [ -n "$BASE_BIN" ]; then
    run_callgrind_on "$BUILD_DIR/appliance/strongroom" "$BASE_BIN"
  else
    run_callgrind_on "$BUILD_DIR/appliance/strongroom"
  fi
}

run_syscalls() {
  local rev
  rev="$(base_rev "$@")"
  scripts/setup.sh
  install_tools wrk:wrk perf:linux-perf
  trap remove_base_tree EXIT
  build_release "$ROOT" "$BUILD_DIR" strongroom wrk_client_cert
  BASE_BIN=""
  if [ -n "$rev" ]; then build_base "$rev"; fi
  echo "bench: base ${rev:-none}, new $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' with local changes')"
  bench/http/syscall_bench.sh "$BUILD_DIR/appliance/strongroom" \
    "$BUILD_DIR/bench/libwrk_client_cert.so" "$BASE_BIN"
}

mode="${1:-http}"
if [ "$#" -gt 0 ]; then shift; fi
# best_seconds N COMMAND...: runs COMMAND (output discarded; it must
# succeed) N times and prints the shortest wall time in seconds.
best_seconds() {
  local runs="$1" best="" start end
  shift
  for _ in $(seq 1 "$runs"); do
    start="$(date +%s%N)"
    "$@" >/dev/null
    end="$(date +%s%N)"
    if [ -z "$best" ] || [ $((end - start)) -lt "$best" ]; then best=$((end - start)); fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.6f", ns / 1e9 }'
}

run_verify() {
  local records="${1:-200000}"
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" strongroom audit_log_gen
  VERIFY_DIR="$(mktemp -d)"
  trap 'rm -rf "$VERIFY_DIR"' EXIT
  local dir="$VERIFY_DIR"
  "$BUILD_DIR/bench/audit_log_gen" "$dir" "$records"
  local bytes verify_s sha_s
  bytes="$(stat -c %s "$dir/current.jsonl")"
  "$BUILD_DIR/appliance/strongroom" audit verify --log "$dir" --public-key "$dir/audit-public.pem"
  verify_s="$(best_seconds 3 "$BUILD_DIR/appliance/strongroom" audit verify --log "$dir" \
    --public-key "$dir/audit-public.pem")"
  sha_s="$(best_seconds 3 sha256sum "$dir/current.jsonl")"
  echo "records=$records bytes=$bytes verify_s=$verify_s sha256sum_s=$sha_s"
  awk -v r="$records" -v b="$bytes" -v v="$verify_s" -v s="$sha_s" 'BEGIN {
    printf "verify_records_per_s=%d verify_mb_per_s=%.1f sha256sum_mb_per_s=%.1f\n",
      r / v, b / v / 1e6, b / s / 1e6 }'
}

run_startup() {
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" strongroom
  bench/http/startup_bench.sh "$BUILD_DIR/appliance/strongroom" "$@"
}

run_startup_callgrind() {
  scripts/setup.sh
  install_tools valgrind:valgrind callgrind_control:valgrind
  build_release "$ROOT" "$BUILD_DIR" strongroom
  bench/http/startup_callgrind.sh "$BUILD_DIR/appliance/strongroom" "$@"
}

run_scale() {
  scripts/setup.sh
  install_tools wrk:wrk
  build_release "$ROOT" "$BUILD_DIR" strongroom wrk_client_cert
  bench/http/scale_bench.sh "$BUILD_DIR/appliance/strongroom" \
    "$BUILD_DIR/bench/libwrk_client_cert.so" "$@"
}

run_soak() {
  local minutes="${1:-30}"
  if ! [[ "$minutes" =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ] || [ "$minutes" -gt 1440 ]; then
    echo "bench: soak takes a whole number of minutes, 1 to 1440, not '$minutes'" >&2
    exit 2
  fi
  scripts/setup.sh
  install_tools wrk:wrk
  build_release "$ROOT" "$BUILD_DIR" strongroom wrk_client_cert
  bench/http/soak_bench.sh "$BUILD_DIR/appliance/strongroom" \
    "$BUILD_DIR/bench/libwrk_client_cert.so" "$minutes"
}

# run_cluster: the several-node figures (bench/cluster_bench.cc). etcd's
# fsyncs are part of what is measured: its data must be on a real disk.
run_cluster() {
  local tmp="${TMPDIR:-/tmp}" fs
  fs="$(stat -f -c %T "$tmp")"
  if [ "$fs" = tmpfs ] || [ "$fs" = ramfs ]; then
    echo "bench: $tmp is $fs; etcd's data must be on a real disk: set TMPDIR to a folder on one" >&2
    exit 2
  fi
  scripts/setup.sh
  build_release "$ROOT" "$BUILD_DIR" strongroom cluster_bench
  echo "bench: etcd and node data under $tmp ($fs on $(df --output=source "$tmp" | tail -1)); $(nproc) cores, load1 $(cut -d' ' -f1 /proc/loadavg)"
  "$BUILD_DIR/bench/cluster_bench"
}

case "$mode" in
  cluster) run_cluster "$@" ;;
  micro) run_micro "$@" ;;
  soak) run_soak "$@" ;;
  scale) run_scale "$@" ;;
  startup) run_startup "$@" ;;
  startup-callgrind) run_startup_callgrind "$@" ;;
  verify) run_verify "$@" ;;
  audit) run_audit "$@" ;;
  tokend) run_tokend "$@" ;;
  creates) run_creates "$@" ;;
  http) run_http "$@" ;;
  compare) run_compare "$@" ;;
  callgrind) run_callgrind "$@" ;;
  syscalls) run_syscalls "$@" ;;
  -h|--help|help) usage; exit 0 ;;
  *)
    echo "bench: unknown mode '$mode'" >&2
    usage
    exit 2
    ;;
esac
