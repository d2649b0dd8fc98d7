#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] — coverage-guided fuzzing of every parser that
# reads bytes from outside (fuzz/, docs/fuzzing.md) with clang's libFuzzer
# under ASan + UBSan.
#
# Installs Debian's clang-19 and libclang-rt-19-dev when missing (Debian's
# default clang 14 cannot use std::expected with libstdc++ 12: SPEC 10),
# builds the targets in build-fuzz/, then runs each for SECONDS (default
# 600), two at a time (the machines have 2 cores). Each run starts from the
# seeds in fuzz/corpus/<target>/ and keeps what it finds in
# build-fuzz/corpus/<target>/ (not in the repository); a crash, leak,
# timeout or out-of-memory input is saved under fuzz/crashes/<target>/,
# where CTest's FuzzReplay.<target> replays it from then on.
# Prints one line per target (execs, execs/s, cov:, ft:, corpus, crashes)
# and ends with `fuzz_targets=N crashes=N`; exits 1 when anything crashed.
#   FUZZ_TARGETS="a b"  run only these targets
#   FUZZ_JOBS=N         targets run at once (default 2)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECONDS_PER_TARGET="${1:-600}"
JOBS="${FUZZ_JOBS:-2}"
BUILD="$ROOT/build-fuzz"

packages=(clang-19 libclang-rt-19-dev)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -ne 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "== installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "== building the fuzz targets (clang-19, libFuzzer + ASan + UBSan) in build-fuzz/"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DSTRONGROOM_FUZZ=ON -DBUILD_TESTING=OFF -DSTRONGROOM_BUILD_BENCH=OFF "${LAUNCHER[@]}" >/dev/null
cmake --build "$BUILD" -j"${JOBS}" --target fuzz_targets

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for exe in "$BUILD"/fuzz/fuzz_*; do
    [ -x "$exe" ] && targets+=("${exe##*/fuzz_}")
  done
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$BUILD/logs"

# run_target <target>: one libFuzzer run; its log in build-fuzz/logs/.
run_target() {
  local t="$1"
  local corpus="$BUILD/corpus/$t" crashes="$ROOT/fuzz/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  local args=(-max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout=10
              -rss_limit_mb=2048 -artifact_prefix="$crashes/")
  if [ -f "$ROOT/fuzz/dict/$t.dict" ]; then args+=(-dict="$ROOT/fuzz/dict/$t.dict"); fi
  # New inputs go to the first directory (build-fuzz/), the seeds are read.
  "$BUILD/fuzz/fuzz_$t" "${args[@]}" "$corpus" "$ROOT/fuzz/corpus/$t" \
    >"$BUILD/logs/$t.log" 2>&1 || true
}

echo "== fuzzing ${#targets[@]} targets for ${SECONDS_PER_TARGET}s each, ${JOBS} at a time"
# count_files <dir>: regular files in <dir> (0 when it does not exist).
count_files() {
  if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}
declare -A before=()
for t in "${targets[@]}"; do
  before[$t]=$(count_files "$ROOT/fuzz/crashes/$t")
done
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait || true

# stat <log> <name>: a final statistic of libFuzzer (-print_final_stats).
stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }
total_crashes=0
for t in "${targets[@]}"; do
  log="$BUILD/logs/$t.log"
  after=$(count_files "$ROOT/fuzz/crashes/$t")
  crashes=$((after - ${before[$t]}))
  total_crashes=$((total_crashes + crashes))
  # The last status line: "#N  DONE  cov: C ft: F corp: K/..."
  status_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$status_line")
  printf 'target=%s execs=%s execs_per_sec=%s cov=%s ft=%s corpus=%s crashes=%s\n' \
    "$t" "$(stat "$log" number_of_executed_units)" "$(stat "$log" average_exec_per_sec)" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
  if [ "$crashes" -ne 0 ]; then
    grep -m3 -E 'ERROR: |runtime error: |fuzz invariant broken' "$log" | sed 's/^/  /' || true
  fi
done
# Empty crash folders are not kept.
find "$ROOT/fuzz/crashes" -mindepth 1 -type d -empty -delete 2>/dev/null || true
echo "fuzz_targets=${#targets[@]} crashes=$total_crashes"
[ "$total_crashes" -eq 0 ]
