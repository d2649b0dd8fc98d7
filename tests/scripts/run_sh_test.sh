#!/usr/bin/env bash
# Tests of scripts/run.sh that need no server: a copy of the script in a
# scratch tree (its .dev/ is the scratch tree's), so the checkout's .dev/ is
# never touched.
#   run_sh_test.sh zombie SOURCE_DIR
#       a pid file naming a zombie (exited, never reaped: what a container
#       without --init leaves behind) is not a running server: --stop says
#       "not running" and exits 0 instead of waiting for it to stop.
set -euo pipefail
MODE="$1"
SOURCE="$2"
SCRATCH="$(mktemp -d)"
PARENT=""
cleanup() {
  if [ -n "$PARENT" ]; then kill "$PARENT" 2>/dev/null || true; fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
mkdir -p "$SCRATCH/scripts/lib" "$SCRATCH/.dev"
cp "$SOURCE/scripts/run.sh" "$SCRATCH/scripts/run.sh"
cp "$SOURCE/scripts/lib/process.sh" "$SCRATCH/scripts/lib/process.sh"

case "$MODE" in
  zombie)
    # `exec sleep` never reaps the short-lived child started before it.
    bash -c 'sleep 0.05 & echo $! > "$1"; exec sleep 30' _ "$SCRATCH/zombie.pid" &
    PARENT=$!
    for _ in $(seq 1 100); do [ -s "$SCRATCH/zombie.pid" ] && break; sleep 0.05; done
    ZOMBIE="$(cat "$SCRATCH/zombie.pid")"
    state=""
    for _ in $(seq 1 100); do
      state="$(awk '{print $3}' "/proc/$ZOMBIE/stat" 2>/dev/null || true)"
      [ "$state" = Z ] && break
      sleep 0.05
    done
    if [ "$state" != Z ]; then echo "FAIL: could not make a zombie (state '$state')"; exit 1; fi
    kill -0 "$ZOMBIE" || { echo "FAIL: kill -0 no longer sees the zombie"; exit 1; }
    echo "$ZOMBIE" > "$SCRATCH/.dev/strongroom.pid"
    if ! out="$(timeout 60 "$SCRATCH/scripts/run.sh" --stop 2>&1)"; then
      echo "FAIL: run.sh --stop failed on a zombie's pid file: $out"; exit 1
    fi
    case "$out" in
      *"not running"*) echo "PASS: $out" ;;
      *) echo "FAIL: expected 'not running', got: $out"; exit 1 ;;
    esac
    [ ! -e "$SCRATCH/.dev/strongroom.pid" ] || { echo "FAIL: the stale pid file stayed"; exit 1; }
    ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
