#!/usr/bin/env bash
# bench/http/http_bench.sh — the decrypt benchmark (issue 6), run by
# `scripts/bench.sh` (modes http, the default, and compare), which builds
# what it needs first. From nothing, in a private temporary directory:
#   1. a development PKI (scripts/dev-pki.sh), a policy binding the service
#      bench-svc (the PKI's decrypter certificate, mapped by subject) to
#      Decrypter in bench-0..2, then a fresh SoftHSM token, `init` and
#      `strongroom serve` on a free loopback port (bench_server.sh);
#   2. 10,000 secure values sv-<i> in namespace bench-<i mod 3>, decryptable
#      by bench-svc (populate.py);
#   3. nginx (Debian's, with its own configuration here, never the system
#      one) serving a static 64-byte body over mutual TLS with the same
#      certificates on another port;
#   4. wrk over keep-alive mutual TLS as a plain HTTP/1.1 client (no
#      Connection header; a preloaded shim gives it the client certificate,
#      SPEC section 10; decrypt.lua picks a random secret per request):
#      64 connections (-t1 -c64) then 8 (-t1 -c8), 10 s each, alternating
#      server and nginx twice; then audited creates at 8 connections with the
#      admin client certificate (create.lua), 10 s.
# Any non-2xx answer or socket error fails the run. Prints the figures of
# each run, then one line:
#   decrypt_rps=N nginx_mtls_rps=N ratio=R decrypt_p99_ms=N decrypt_c8_rps=N ratio_c8=R create_per_s=N
# (the first four at 64 connections; each figure the mean of its runs).
#
# With BENCH_BASE_BIN=OTHER_STRONGROOM_BIN, two binaries are compared in one
# run: each gets steps 1 and 2 on a token and data directory of its own (their
# on-disk formats may differ) and both servers stay up; nginx and the
# certificates are shared. Each round runs base, new (STRONGROOM_BIN) and
# nginx in turn at 64 connections; then each round runs audited creates on
# base and new in turn (8 connections, window names create-base-<round>
# ...). No 8-connection decrypt runs. Ends with
#   nginx_mtls_rps=N
#   base: decrypt_rps=N ratio=R decrypt_p99_ms=N create_per_s=N
#   new: decrypt_rps=N ratio=R decrypt_p99_ms=N create_per_s=N
#   new_over_base: decrypt=R creates=R
# (ratio is each binary's decrypts over the nginx mean of the same run).
#
# BENCH_SECONDS (10) is the length of a window, BENCH_ROUNDS (2) the rounds of
# each kind, BENCH_SECRETS (10000) the secure values per server.
# Everything it started is stopped and the directory removed on exit.
# With BENCH_FLOOR_BIN=FLOOR_SERVER (and one binary), each 64-connection
# round also runs bench/http/floor_server.cc four ways: durable ("floor":
# the least an answer audited as SPEC 8 says costs here with the server's
# shape), without its fdatasync ("floor-nosync"), answering at once with no
# record ("floor-direct": TLS and framing alone, as nginx), and durable with
# the writer thread sending the answers itself ("floor-writer"). Then one
# more line (ratios to the nginx mean):
#   floor_rps=N floor_ratio=R floor_nosync_rps=N floor_nosync_ratio=R floor_direct_rps=N floor_direct_ratio=R floor_writer_rps=N floor_writer_ratio=R
# With BENCH_PERF=FILE, `perf record` samples the server (with call graphs)
# during the first 64-connection run (of the new binary when comparing) and
# its report goes to FILE.
#   [BENCH_BASE_BIN=BASE_BIN] bench/http/http_bench.sh STRONGROOM_BIN SHIM_SO
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$1"
SHIM="$2"
HERE="$ROOT/bench/http"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
SECRETS="${BENCH_SECRETS:-10000}"
ROUNDS="${BENCH_ROUNDS:-2}"
BASE_BIN="${BENCH_BASE_BIN:-}"
FLOOR_BIN="${BENCH_FLOOR_BIN:-}"
if [ -n "$BASE_BIN" ] && [ ! -x "$BASE_BIN" ]; then
  echo "http_bench: BENCH_BASE_BIN $BASE_BIN is not an executable" >&2
  exit 2
fi
# shellcheck source=bench/http/bench_server.sh
. "$HERE/bench_server.sh"

WORK="$(mktemp -d /tmp/strongroom-http-bench-XXXXXX)"
NGINX_PID=""
bench_cleanup_more() { bench_stop_pid "$NGINX_PID" 10; }
bench_exit_trap http_bench 10

# --- PKI and policy (shared), then each binary's token, store and server -------
umask 077
bench_pki
start_and_populate() {
  local tag="$1" bin="$2" label="server" note="" started
  if [ -n "$BASE_BIN" ]; then label="server $tag"; note=" ($tag)"; fi
  bench_start_server "$tag" "$bin" 30
  echo "$label: ${SERVER_URLS[$tag]}"
  started=$(date +%s.%N)
  bench_populate "$tag" "$SECRETS"
  echo "created $SECRETS secure values in $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $started}") s$note"
}
if [ -n "$BASE_BIN" ]; then
  start_and_populate base "$BASE_BIN"
  start_and_populate new "$BIN"
  PERF_TAG=new
else
  start_and_populate server "$BIN"
  PERF_TAG=server
fi

# --- nginx over mutual TLS, same certificates --------------------------------------
NGINX_PORT="$(bench_free_port)"
mkdir -p "$WORK/nginx/tmp"
BODY="$(printf '%064d' 0)"
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.pem;
    ssl_verify_client on;
    location / { default_type application/json; return 200 '$BODY'; }
  }
}
NGINX
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
NGINX_PID=$!
NGINX_URL="https://127.0.0.1:$NGINX_PORT"
for _ in $(seq 1 100); do
  curl -sS --fail -o /dev/null --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" \
    --key "$PKI/decrypter.key" "$NGINX_URL/v1.0/secrets/bench-0/sv-0" 2>/dev/null && break
  kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx exited: $(cat "$WORK/nginx/error.log")"
  sleep 0.1
done
echo "nginx: $NGINX_URL"

# --- the floor (bench/http/floor_server.cc), with BENCH_FLOOR_BIN -------------------
# Four of them, on the same certificates and disk (their options are
# floor_server's own; see the header comment above).
FLOOR_TARGETS=()
start_floor() {  # TAG [FLOOR_SERVER_OPTION...]
  local tag="$1" dir="$WORK/$1"
  shift
  mkdir -p "$dir"
  "$FLOOR_BIN" "$dir/port" "$PKI/server.pem" "$PKI/server.key" "$PKI/ca.pem" "$dir/audit.jsonl" \
    "$@" >"$dir/log" 2>&1 </dev/null &
  SERVER_PIDS[$tag]=$!
  for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
  [ -s "$dir/port" ] || fail "$tag did not start: $(cat "$dir/log")"
  SERVER_URLS[$tag]="https://127.0.0.1:$(tr -d '\n' < "$dir/port")"
  FLOOR_TARGETS+=("$tag")
  echo "$tag: ${SERVER_URLS[$tag]}"
}
if [ -n "$FLOOR_BIN" ] && [ -z "$BASE_BIN" ]; then
  start_floor floor
  start_floor floor-nosync --no-sync
  start_floor floor-direct --direct
  start_floor floor-writer --writer-answers
fi

# --- runs -------------------------------------------------------------------------
# run_wrk NAME URL CONNECTIONS SCRIPT CERT KEY: one wrk run; sets RUN_RPS
# (requests/s) and RUN_P99 (ms) and prints its report; fails on any
# non-2xx answer or socket error.
run_wrk() {
  local name="$1" url="$2" connections="$3" script="$4" cert="$5" key="$6"
  local out="$WORK/wrk-$name.txt"
  local perf_pid=""
  if [ -n "${BENCH_PERF:-}" ] && [ "$name" = "$PERF_TAG-c64-1" ]; then
    perf record -q -F 1999 -g -p "${SERVER_PIDS[$PERF_TAG]}" -o "$WORK/perf.data" -- sleep "$SECONDS_PER_RUN" \
      >/dev/null 2>&1 &
    perf_pid=$!
  fi
  LD_PRELOAD="$SHIM" WRK_CLIENT_CERT="$cert" WRK_CLIENT_KEY="$key" BENCH_SECRETS="$SECRETS" \
    BENCH_PREFIX="$name" \
    wrk -t1 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency -s "$script" "$url" >"$out" 2>&1 ||
    fail "wrk failed: $(cat "$out")"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    perf report -i "$WORK/perf.data" --no-children --stdio -g none --sort dso \
      >"$BENCH_PERF" 2>/dev/null || true
    perf report -i "$WORK/perf.data" --no-children --stdio -g none --sort comm,dso \
      >>"$BENCH_PERF" 2>/dev/null || true
    perf report -i "$WORK/perf.data" --no-children --percent-limit 0.4 --stdio -g none \
      --sort dso,symbol >>"$BENCH_PERF" 2>/dev/null || true
    perf report -i "$WORK/perf.data" --children --percent-limit 2 --stdio -g none \
      --sort symbol >>"$BENCH_PERF" 2>/dev/null || true
  fi
  sed "s/^/  [$name] /" "$out"
  if grep -q "Non-2xx or 3xx responses" "$out"; then fail "$name: non-2xx answers"; fi
  if grep -q "Socket errors" "$out"; then fail "$name: socket errors"; fi
  RUN_RPS="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  RUN_P99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$out")"
  if [ -z "$RUN_RPS" ] || [ -z "$RUN_P99" ]; then fail "$name: no figures in wrk's report"; fi
}

declare -A RPS P99
# mean_of PREFIX: the mean of the figures of rounds 1..ROUNDS of a window name
# in RPS (or P99 with a second argument).
mean_of() {
  local prefix="$1" table="${2:-RPS}" round values=""
  for round in $(seq 1 "$ROUNDS"); do
    if [ "$table" = P99 ]; then values="$values ${P99[$prefix-$round]}"
    else values="$values ${RPS[$prefix-$round]}"; fi
  done
  echo "$values" | awk '{s = 0; for (i = 1; i <= NF; i++) s += $i; print s / NF}'
}
ratio() { awk "BEGIN {print $1 / $2}"; }

# decrypt_window TARGET CONNECTIONS ROUND: one decrypt window against a
# server (its tag) or nginx.
decrypt_window() {
  local target="$1" connections="$2" round="$3" url key
  if [ "$target" = nginx ]; then url="$NGINX_URL"; else url="${SERVER_URLS[$target]}"; fi
  key="$target-c$connections-$round"
  run_wrk "$key" "$url" "$connections" "$HERE/decrypt.lua" "$PKI/decrypter.pem" \
    "$PKI/decrypter.key"
  RPS[$key]="$RUN_RPS"
  P99[$key]="$RUN_P99"
  echo "$key: $RUN_RPS req/s, p99 $RUN_P99 ms"
}

if [ -z "$BASE_BIN" ]; then
  for connections in 64 8; do
    targets=(server nginx)
    if [ "$connections" = 64 ]; then targets+=("${FLOOR_TARGETS[@]}"); fi
    for round in $(seq 1 "$ROUNDS"); do
      for target in "${targets[@]}"; do decrypt_window "$target" "$connections" "$round"; done
    done
  done
  run_wrk create "${SERVER_URLS[server]}" 8 "$HERE/create.lua" "$PKI/admin.pem" "$PKI/admin.key"
  create_rps="$RUN_RPS"
  echo "create-c8: $create_rps creates/s"

  decrypt="$(mean_of server-c64)"
  nginx_rps="$(mean_of nginx-c64)"
  p99="$(mean_of server-c64 P99)"
  decrypt_c8="$(mean_of server-c8)"
  nginx_c8="$(mean_of nginx-c8)"
  printf 'decrypt_rps=%.0f nginx_mtls_rps=%.0f ratio=%.2f decrypt_p99_ms=%.2f decrypt_c8_rps=%.0f ratio_c8=%.2f create_per_s=%.0f\n' \
    "$decrypt" "$nginx_rps" "$(ratio "$decrypt" "$nginx_rps")" "$p99" \
    "$decrypt_c8" "$(ratio "$decrypt_c8" "$nginx_c8")" "$create_rps"
  if [ "${#FLOOR_TARGETS[@]}" -gt 0 ]; then
    floor_line=""
    for target in "${FLOOR_TARGETS[@]}"; do
      name="${target//-/_}"
      floor_line+="$(printf '%s_rps=%.0f %s_ratio=%.2f ' "$name" "$(mean_of "$target-c64")" \
        "$name" "$(ratio "$(mean_of "$target-c64")" "$nginx_rps")")"
    done
    echo "${floor_line% }"
  fi
  exit 0
fi

# Two binaries: base, new and nginx take turns within each round, at 64
# connections; then audited creates, base and new in turn.
for round in $(seq 1 "$ROUNDS"); do
  for target in base new nginx; do decrypt_window "$target" 64 "$round"; done
done
for round in $(seq 1 "$ROUNDS"); do
  for target in base new; do
    key="create-$target-$round"
    run_wrk "$key" "${SERVER_URLS[$target]}" 8 "$HERE/create.lua" "$PKI/admin.pem" \
      "$PKI/admin.key"
    RPS[$key]="$RUN_RPS"
    echo "$key: $RUN_RPS creates/s"
  done
done
nginx_rps="$(mean_of nginx-c64)"
printf 'nginx_mtls_rps=%.0f\n' "$nginx_rps"
for target in base new; do
  printf '%s: decrypt_rps=%.0f ratio=%.2f decrypt_p99_ms=%.2f create_per_s=%.0f\n' "$target" \
    "$(mean_of "$target-c64")" "$(ratio "$(mean_of "$target-c64")" "$nginx_rps")" \
    "$(mean_of "$target-c64" P99)" "$(mean_of "create-$target")"
done
printf 'new_over_base: decrypt=%.3f creates=%.3f\n' \
  "$(ratio "$(mean_of new-c64)" "$(mean_of base-c64)")" \
  "$(ratio "$(mean_of create-new)" "$(mean_of create-base)")"
