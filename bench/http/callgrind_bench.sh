#!/usr/bin/env bash
# bench/http/callgrind_bench.sh — instructions per warm decrypt, counted by
# callgrind, for one binary or two (issue 16); run by `scripts/bench.sh
# callgrind`, which builds the binaries and installs valgrind first.
# For each binary (BASE_BIN first when given), in a private temporary
# directory and with the PKI and policy of the decrypt benchmark
# (bench_server.sh), but a token and data directory of its own:
#   1. `init`, then `strongroom serve` under
#      `valgrind --tool=callgrind --separate-threads=no` on a free loopback
#      port (slow: up to BENCH_CALLGRIND_START_TIMEOUT, 600 s, to be ready);
#   2. BENCH_CALLGRIND_SECRETS (30) secure values sv-<i> in bench-<i mod 3>;
#   3. warm-up: 200 decrypts (every namespace's data key is unwrapped and
#      cached, the connection paths run once);
#   4. two batches, N and 2N decrypts (N = BENCH_CALLGRIND_DECRYPTS, 1000),
#      each one curl process on one keep-alive mutual-TLS connection (the
#      decrypter certificate), sequential requests cycling over the secrets,
#      each between `callgrind_control --zero` and `--dump`. A dump counts
#      the instructions (Ir) of every thread of the process: the HTTP
#      threads, the audit sequencer and the trust-anchor thread, and the
#      in-process SoftHSM. The instructions per warm decrypt are
#      (Ir(2N) - Ir(N)) / N, so the TLS handshake and other fixed costs of
#      a batch cancel out.
# Any answer but 200 fails the run. Prints each batch, then one line per
# binary, and with two binaries the ratios:
#   base: callgrind_ir_per_decrypt=N without_anchor_thread=N
#   new: callgrind_ir_per_decrypt=N without_anchor_thread=N
#   new_over_base: callgrind_ir=R without_anchor_thread=R
# Under callgrind a decrypt takes milliseconds of wall time, so work that a
# server does per second of time weighs more per decrypt here than at full
# speed: the trust-anchor thread (issue 16) writes the token at most once a
# second whatever the rate, so under callgrind about once per hundred
# decrypts, at full speed once per tens of thousands. Its inclusive count
# (AuditLog::State::KeepAnchor, from callgrind_annotate) is subtracted in
# without_anchor_thread, the better figure for what a decrypt itself costs.
# Each binary's count per decrypt is also split by thread (THREADS below):
#   new: per decrypt by thread: http=N sequencer=N anchor_mean=N
# (http and sequencer by the same difference; anchor_mean is the anchor
# thread's count over both batches divided by their 3N decrypts; the other
# threads are in the total only).
# The HTTP workers' count is steady from run to run (within 1%); the
# sequencer's is not (±10%): with one client connection every decrypt is
# its own audit group, and a checkpoint is due after so many records or so
# much time, so under callgrind's slowness it signs more often per decrypt,
# and how often varies with the machine's load. Compare sequencer costs
# with the alternating wall-clock benchmark (compare mode), or repeat.
# BENCH_CALLGRIND_KEEP=DIR keeps each batch's dump as DIR/callgrind.TAG.COUNT
# (for callgrind_annotate or kcachegrind).
# Everything it started is stopped and the directory removed on exit.
#   bench/http/callgrind_bench.sh STRONGROOM_BIN [BASE_BIN]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/http"
BIN="$1"
BASE_BIN="${2:-}"
DECRYPTS="${BENCH_CALLGRIND_DECRYPTS:-1000}"
SECRETS="${BENCH_CALLGRIND_SECRETS:-30}"
START_TIMEOUT="${BENCH_CALLGRIND_START_TIMEOUT:-600}"
WARM_DECRYPTS=200
# Threads shown apart, as label:function (the function each runs, whose
# inclusive count is its thread's): the HTTP I/O workers, the audit
# sequencer, and the trust anchor's thread (issue 16), whose instructions
# grow with wall time (at most one token write a second), not with decrypts.
# A function a build lacks counts 0.
THREADS=(
  'http:strongroom::api::IoWorker::Run()'
  'sequencer:strongroom::audit::AuditLog::State::Run()'
  'anchor:strongroom::audit::AuditLog::State::KeepAnchor()'
)
# shellcheck source=bench/http/bench_server.sh
. "$HERE/bench_server.sh"

WORK="$(mktemp -d /tmp/strongroom-callgrind-bench-XXXXXX)"
# callgrind writes its last dump at exit: give it time.
bench_exit_trap callgrind_bench 120

umask 077
bench_pki

# decrypt_batch TAG COUNT: COUNT sequential decrypts from one curl process
# (so one keep-alive connection) cycling over the TAG server's secrets;
# fails unless every answer is 200. Sets BATCH_CONNECTIONS and BATCH_SECONDS.
decrypt_batch() {
  local tag="$1" count="$2" url="${SERVER_URLS[$1]}" config="$WORK/$1/batch.curl" i n
  local started results answered
  : > "$config"
  for ((i = 0; i < count; i++)); do
    n=$((i % SECRETS))
    printf 'url = "%s/v1.0/secrets/bench-%d/sv-%d"\noutput = "/dev/null"\n' \
      "$url" $((n % 3)) "$n" >> "$config"
  done
  started=$(date +%s.%N)
  results="$(timeout 3600 curl -sS --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" \
    --key "$PKI/decrypter.key" --max-time 120 -w '%{http_code} %{num_connects}\n' \
    -K "$config")" || fail "$tag: a decrypt batch failed"
  BATCH_SECONDS="$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $started}")"
  answered="$(awk '$1 == 200' <<<"$results" | wc -l)"
  [ "$answered" -eq "$count" ] || fail "$tag: $answered of $count decrypts answered 200"
  BATCH_CONNECTIONS="$(awk '{s += $2} END {print s}' <<<"$results")"
}

# inclusive ANNOTATED FUNCTION: FUNCTION's inclusive instructions in a
# `callgrind_annotate --inclusive=yes` listing (0 when it is absent).
inclusive() {
  awk -v f=":$2 [" 'index($0, f) && !found {gsub(/,/, "", $1); print $1; found = 1}
    END {if (!found) print 0}' "$1"
}

# measured_batch TAG COUNT: zeroes the TAG server's counters, runs
# decrypt_batch, dumps; sets BATCH_IR to the dump's total instructions and
# BATCH_PART[label] to each thread's (THREADS).
DUMPS=0
declare -A BATCH_PART
measured_batch() {
  local tag="$1" count="$2" pid="${SERVER_PIDS[$1]}" dump said entry parts=""
  said="$(callgrind_control --zero "$pid" 2>&1)" || fail "$tag: callgrind_control --zero: $said"
  decrypt_batch "$tag" "$count"
  said="$(callgrind_control --dump "$pid" 2>&1)" || fail "$tag: callgrind_control --dump: $said"
  DUMPS=$((DUMPS + 1))
  dump="$WORK/$tag/callgrind.out.$DUMPS"
  [ -s "$dump" ] || fail "$tag: no callgrind dump $dump"
  BATCH_IR="$(awk '$1 == "totals:" {print $2}' "$dump")"
  [ -n "$BATCH_IR" ] || fail "$tag: no totals in $dump"
  callgrind_annotate --inclusive=yes --threshold=100 "$dump" >"$dump.annotated" 2>/dev/null ||
    fail "$tag: callgrind_annotate failed on $dump"
  for entry in "${THREADS[@]}"; do
    BATCH_PART[${entry%%:*}]="$(inclusive "$dump.annotated" "${entry#*:}")"
    parts="$parts ${entry%%:*} ${BATCH_PART[${entry%%:*}]}"
  done
  if [ -n "${BENCH_CALLGRIND_KEEP:-}" ]; then
    mkdir -p "$BENCH_CALLGRIND_KEEP"
    cp "$dump" "$BENCH_CALLGRIND_KEEP/callgrind.$tag.$count"
  fi
  echo "$tag: $count decrypts: Ir $BATCH_IR (by thread:$parts) in $BATCH_SECONDS s over $BATCH_CONNECTIONS connection(s)"
}

declare -A IR_PER_DECRYPT IR_WITHOUT_ANCHOR
measure() {
  local tag="$1" bin="$2" small entry label
  local -A small_part
  DUMPS=0
  bench_start_server "$tag" "$bin" "$START_TIMEOUT" valgrind --tool=callgrind \
    --separate-threads=no --callgrind-out-file="$WORK/$tag/callgrind.out"
  echo "server $tag (callgrind): ${SERVER_URLS[$tag]}"
  bench_populate "$tag" "$SECRETS"
  decrypt_batch "$tag" "$WARM_DECRYPTS"
  measured_batch "$tag" "$DECRYPTS"
  small="$BATCH_IR"
  for entry in "${THREADS[@]}"; do small_part[${entry%%:*}]="${BATCH_PART[${entry%%:*}]}"; done
  measured_batch "$tag" $((2 * DECRYPTS))
  IR_PER_DECRYPT[$tag]=$(((BATCH_IR - small) / DECRYPTS))
  IR_WITHOUT_ANCHOR[$tag]=$(((BATCH_IR - BATCH_PART[anchor] - small + small_part[anchor]) / DECRYPTS))
  # The anchor thread's count follows wall time, so a difference of two
  # batches means nothing (it can be negative): its mean over both is shown.
  local line="$tag: per decrypt by thread:"
  for entry in "${THREADS[@]}"; do
    label="${entry%%:*}"
    if [ "$label" = anchor ]; then
      line="$line anchor_mean=$(((BATCH_PART[anchor] + small_part[anchor]) / (3 * DECRYPTS)))"
    else
      line="$line $label=$(((BATCH_PART[$label] - small_part[$label]) / DECRYPTS))"
    fi
  done
  echo "$line"
  bench_stop_pid "${SERVER_PIDS[$tag]}" 120
}

report() {
  echo "$1: callgrind_ir_per_decrypt=${IR_PER_DECRYPT[$1]} without_anchor_thread=${IR_WITHOUT_ANCHOR[$1]}"
}
if [ -n "$BASE_BIN" ]; then
  measure base "$BASE_BIN"
  measure new "$BIN"
  report base
  report new
  awk "BEGIN {printf \"new_over_base: callgrind_ir=%.3f without_anchor_thread=%.3f\\n\", \
    ${IR_PER_DECRYPT[new]} / ${IR_PER_DECRYPT[base]}, \
    ${IR_WITHOUT_ANCHOR[new]} / ${IR_WITHOUT_ANCHOR[base]}}"
else
  measure new "$BIN"
  report new
fi
