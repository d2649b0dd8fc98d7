#!/usr/bin/env bash
# Installs what the project needs, builds it, and runs every test through
# CTest: the normal build, then an ASan+UBSan build, then a ThreadSanitizer
# build of the concurrency tests (label "concurrency").
# The normal and ASan+UBSan runs include FuzzReplay.* (label "fuzz"): every
# seed and saved crash of fuzz/ replayed through the fuzz targets built by
# GCC (scripts/fuzz.sh does the clang libFuzzer runs).
#   STRONGROOM_SKIP_SANITIZERS=1  run the normal build only (quick local loop)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

# Fail fast: the include graph must follow docs/layers.txt before anything
# is installed or compiled.
echo "== layering check"
scripts/check-layers.sh
# No HTTP status numbers in the route folders: the error boundary
# (api/core/errors.h) is the one place that picks a status.
echo "== status literal check"
scripts/check-status-literals.sh

scripts/setup.sh

JOBS="${JOBS:-2}"
# ccache as the compiler launcher: a clean clone on the same machine reuses
# the objects an earlier build compiled (paths are made relative to the
# checkout, so another folder hits the same entries). A bare machine just
# starts with an empty cache.
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
WERROR=OFF
if [ "${CI:-}" = "true" ]; then WERROR=ON; fi

build_and_test() {  # <dir> <sanitizer> <ctest args...>
  local dir="$1" san="$2"
  shift 2
  # -Werror only without sanitizers: GCC 12 reports false
  # -Wmaybe-uninitialized inside libstdc++ when instrumenting.
  local werror="$WERROR"
  if [ -n "$san" ]; then werror=OFF; fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRONGROOM_SANITIZE="$san" -DSTRONGROOM_WERROR="$werror" "${LAUNCHER[@]}" \
    -DSTRONGROOM_BUILD_BENCH=$([ -z "$san" ] && echo ON || echo OFF) >/dev/null
  cmake --build "$dir" -j"$JOBS"
  (cd "$dir" && ctest --output-on-failure -j"$JOBS" "$@")
}

echo "== build and test (RelWithDebInfo)"
build_and_test build ""

if [ "${STRONGROOM_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== build and test (ASan + UBSan)"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    build_and_test build-asan address
  echo "== build and test (ThreadSanitizer, concurrency tests)"
  TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
    build_and_test build-tsan thread -L concurrency
fi
echo "== all tests passed"
