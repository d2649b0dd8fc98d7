#!/usr/bin/env bash
# Runs Strongroom's benchmarks.
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

if [ "$#" -lt 1 ]; then
  usage
  exit 2
fi
mode="$1"
shift
case "$mode" in
  micro) run_micro "$@" ;;
  audit) run_audit "$@" ;;
  creates) run_creates "$@" ;;
  # http) run_http "$@" ;;   (wrk against a running appliance; added with api/)
  -h|--help|help) usage; exit 0 ;;
  *)
    echo "bench: unknown mode '$mode'" >&2
    usage
    exit 2
    ;;
esac
