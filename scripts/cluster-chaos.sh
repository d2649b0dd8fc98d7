#!/usr/bin/env bash
# Chaos on a cluster (issue 18): 3 etcd members and 3 appliances in
# replicated mode, 8 writer clients and decrypt load on every node; each
# round kills (SIGKILL) the etcd leader (checked from etcd's status) and
# one appliance, then restarts both.
#   scripts/cluster-chaos.sh [ROUNDS]      (default 5, at most 50)
# Installs what it needs (scripts/setup.sh: etcd-server, etcd-client, ...),
# builds the test in build/ (as scripts/test.sh configures it) and runs
# tests/cluster_e2e/cluster_chaos_test.cc with SR_CHAOS_ROUNDS=ROUNDS
# (CTest runs the same test with 2). It passes when no acknowledged write
# is lost (every create answered 201 is readable on every node with the
# value sent, compared by SHA-256), the surviving nodes answered decrypts
# during every outage, the killed node caught up (the same records at the
# same versions everywhere) and every node's audit log verifies. Everything
# runs on 127.0.0.1 free ports in a temporary directory that is removed at
# the end; bounded by `timeout` (2 minutes + 1 per round).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

ROUNDS="${1:-5}"
if ! [[ "$ROUNDS" =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 1 ] || [ "$ROUNDS" -gt 50 ]; then
  echo "cluster-chaos: ROUNDS is a whole number from 1 to 50, not '$ROUNDS'" >&2
  exit 2
fi

scripts/setup.sh
BUILD_DIR="${BUILD_DIR:-build}"
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRONGROOM_SANITIZE= "${LAUNCHER[@]}" >/dev/null
fi
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target cluster_chaos_test strongroom

echo "cluster-chaos: $ROUNDS rounds (load1 $(cut -d' ' -f1 /proc/loadavg))"
SR_CHAOS_ROUNDS="$ROUNDS" timeout $((120 + 60 * ROUNDS)) \
  "$BUILD_DIR/tests/cluster_e2e/cluster_chaos_test" --gtest_color=no
