#!/usr/bin/env bash
# Runs Strongroom's benchmarks.
#   scripts/bench.sh [http]
#       the decrypt benchmark (bench/http/http_bench.sh): from nothing, a
#       token, the server, 10,000 secure values and nginx over mutual TLS
#       with the same certificates, driven by wrk; installs nginx-light and
#       wrk (never starting the system nginx); ends with
#       decrypt_rps=N nginx_mtls_rps=N ratio=R decrypt_p99_ms=N decrypt_c8_rps=N ratio_c8=R create_per_s=N
#       BENCH_PERF=FILE also installs linux-perf and writes a profile of the
#       server during the first 64-connection run to FILE.
#   scripts/bench.sh micro [benchmark args...]
#       installs what is needed (scripts/setup.sh), builds crypto_bench and
#       audit_bench in Release in build-bench/ and runs both; extra
#       arguments go to crypto_bench (e.g. --benchmark_filter=Open
#       --benchmark_repetitions=5).
#   scripts/bench.sh audit [benchmark args...]
#       only audit_bench: audited writes from 8 clients, group commit
#       against one fdatasync per record; ends with
#       audited_writes_per_s=N fsync_per_record_writes_per_s=N ratio=R
#   scripts/bench.sh creates [benchmark args...]
#       create_load_bench: two real servers (group commit, one fdatasync per
#       record) and 8 HTTPS clients creating SecureValues, alternating
#       windows; ends with
#       audited_creates_per_s=N fsync_per_record_creates_per_s=N ratio=R
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
  creates audited creates over HTTPS at 8 clients (group commit vs one fdatasync per record)
USAGE
}

configure_release() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSTRONGROOM_SANITIZE= -DSTRONGROOM_BUILD_BENCH=ON >/dev/null
}

# Repetitions run in random interleaving and the summary uses their median,
# so a burst of load on the machine does not land on one side of a pair.
# Later arguments override these.
MICRO_DEFAULTS=(--benchmark_repetitions=21 --benchmark_enable_random_interleaving=true
                --benchmark_report_aggregates_only=true)

run_micro() {
  scripts/setup.sh
  configure_release
  cmake --build "$BUILD_DIR" -j"$JOBS" --target crypto_bench audit_bench
  "$BUILD_DIR/bench/crypto_bench" "${MICRO_DEFAULTS[@]}" "$@"
  "$BUILD_DIR/bench/audit_bench"
}

run_audit() {
  scripts/setup.sh
  configure_release
  cmake --build "$BUILD_DIR" -j"$JOBS" --target audit_bench
  "$BUILD_DIR/bench/audit_bench" "$@"
}

run_creates() {
  scripts/setup.sh
  configure_release
  cmake --build "$BUILD_DIR" -j"$JOBS" --target create_load_bench
  "$BUILD_DIR/bench/create_load_bench" "$@"
}

# install_http_tools installs nginx-light and wrk. Installing nginx would
# start the system's nginx service: a policy-rc.d that refuses service
# starts is in place while apt-get runs (unless the machine has one).
install_http_tools() {
  local packages="nginx-light wrk"
  if [ -n "${BENCH_PERF:-}" ]; then packages="$packages linux-perf"; fi
  if command -v nginx >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1 &&
    { [ -z "${BENCH_PERF:-}" ] || command -v perf >/dev/null 2>&1; }; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  local guard=/usr/sbin/policy-rc.d made_guard=false
  if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null
    $sudo chmod 755 "$guard"
    made_guard=true
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $packages || {
    if [ "$made_guard" = true ]; then $sudo rm -f "$guard"; fi
    return 1
  }
  if [ "$made_guard" = true ]; then $sudo rm -f "$guard"; fi
}

run_http() {
  scripts/setup.sh
  install_http_tools
  configure_release
  cmake --build "$BUILD_DIR" -j"$JOBS" --target strongroom wrk_client_cert
  bench/http/http_bench.sh "$BUILD_DIR/appliance/strongroom" "$BUILD_DIR/bench/libwrk_client_cert.so"
}

mode="${1:-http}"
if [ "$#" -gt 0 ]; then shift; fi
case "$mode" in
  micro) run_micro "$@" ;;
  audit) run_audit "$@" ;;
  creates) run_creates "$@" ;;
  http) run_http "$@" ;;
  -h|--help|help) usage; exit 0 ;;
  *)
    echo "bench: unknown mode '$mode'" >&2
    usage
    exit 2
    ;;
esac
