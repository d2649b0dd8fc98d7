#!/usr/bin/env bash
# bench/http/http_bench.sh — the decrypt benchmark (issue 6), run by
# `scripts/bench.sh` (mode http, the default), which builds what it needs
# first. From nothing, in a private temporary directory:
#   1. a fresh SoftHSM token, a development PKI (scripts/dev-pki.sh), a
#      policy binding the service bench-svc (the PKI's decrypter
#      certificate, mapped by subject) to Decrypter in bench-0..2, `init`,
#      and `strongroom serve` on a free loopback port;
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
# Everything it started is stopped and the directory removed on exit.
# With BENCH_PERF=FILE, `perf record` samples the server (with call graphs)
# during the first 64-connection run and its report goes to FILE.
#   bench/http/http_bench.sh STRONGROOM_BIN SHIM_SO
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$1"
SHIM="$2"
HERE="$ROOT/bench/http"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
SECRETS="${BENCH_SECRETS:-10000}"

WORK="$(mktemp -d /tmp/strongroom-http-bench-XXXXXX)"
SERVER_PID=""
NGINX_PID=""
cleanup() {
  for pid in "$SERVER_PID" "$NGINX_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "http_bench: $*" >&2
  if [ -f "$WORK/server.log" ]; then
    echo "--- last server log lines:" >&2
    tail -n 15 "$WORK/server.log" >&2
  fi
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- token, PKI, policy, configuration ------------------------------------
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/tokens" "$WORK/data" "$WORK/policies"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$WORK/tokens" > "$SOFTHSM2_CONF"
umask 077
openssl rand -hex 16 | tr -d '\n' > "$WORK/pin"
openssl rand -hex 16 | tr -d '\n' > "$WORK/so-pin"
openssl rand -base64 18 | tr -d '\n' > "$WORK/admin-password"
# softhsm2-util takes PINs only as arguments; this token lives for one run.
softhsm2-util --init-token --free --label bench --pin "$(cat "$WORK/pin")" \
  --so-pin "$(cat "$WORK/so-pin")" >/dev/null
"$ROOT/scripts/dev-pki.sh" "$WORK/pki" >/dev/null
PKI="$WORK/pki"
ADMIN_FP="$(openssl x509 -in "$PKI/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')"
SVC_SUBJECT="$(openssl x509 -in "$PKI/decrypter.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
cat > "$WORK/policies/bench.json" <<JSON
{
  "certificates": [ {"sha256": "$ADMIN_FP", "user": "admin"} ],
  "services": [ {"match": {"subject": "$SVC_SUBJECT"}, "name": "bench-svc"} ],
  "bindings": [
    {"service": "bench-svc", "role": "Decrypter", "namespace": "bench-0"},
    {"service": "bench-svc", "role": "Decrypter", "namespace": "bench-1"},
    {"service": "bench-svc", "role": "Decrypter", "namespace": "bench-2"}
  ]
}
JSON
cp "$ROOT"/policies/default/*.json "$WORK/policies/"
UNLOCKED=false
memlock="$(ulimit -l)"
if [ "$memlock" != "unlimited" ] && [ "$memlock" -lt 8192 ]; then UNLOCKED=true; fi
cat > "$WORK/strongroom.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$WORK/data"
policy_dir = "$WORK/policies"
port_file = "$WORK/port"

[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=bench"
pin_file = "$WORK/pin"

[tls]
certificate = "$PKI/server.pem"
private_key = "$PKI/server.key"
client_ca = "$PKI/ca.pem"

[memory]
arena_mib = 16
allow_unlocked = $UNLOCKED
TOML
COMMON=(--data-dir "$WORK/data" --module /usr/lib/softhsm/libsofthsm2.so
        --token-uri "pkcs11:token=bench" --pin-file "$WORK/pin")
if [ "$UNLOCKED" = true ]; then COMMON+=(--allow-unlocked-memory); fi
"$BIN" init "${COMMON[@]}" --admin-password-file "$WORK/admin-password" >/dev/null

# --- the server -------------------------------------------------------------
"$BIN" serve --config "$WORK/strongroom.toml" >"$WORK/server.log" 2>&1 </dev/null &
SERVER_PID=$!
for _ in $(seq 1 300); do
  [ -s "$WORK/port" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited at start"
  sleep 0.1
done
[ -s "$WORK/port" ] || fail "the server did not write its port"
SERVER_URL="https://127.0.0.1:$(tr -d '\n' < "$WORK/port")"
curl -sS --fail --cacert "$PKI/ca.pem" "$SERVER_URL/readyz" >/dev/null || fail "not ready"
echo "server: $SERVER_URL"

# --- data -----------------------------------------------------------------------
started=$(date +%s.%N)
python3 "$HERE/populate.py" "$SERVER_URL" "$PKI/ca.pem" "$PKI/admin.pem" "$PKI/admin.key" \
  "$SECRETS" || fail "populating failed"
echo "created $SECRETS secure values in $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $started}") s"
check="$(curl -sS --fail --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" --key "$PKI/decrypter.key" \
  "$SERVER_URL/v1.0/secrets/bench-1/sv-1")"
[ "$check" = '{"sv-1":"bench-value-000001"}' ] || fail "decrypt check answered $check"

# --- nginx over mutual TLS, same certificates --------------------------------------
NGINX_PORT="$(free_port)"
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

# --- runs -------------------------------------------------------------------------
# run_wrk NAME URL CONNECTIONS SCRIPT CERT KEY: one wrk run; sets RUN_RPS
# (requests/s) and RUN_P99 (ms) and prints its report; fails on any
# non-2xx answer or socket error.
run_wrk() {
  local name="$1" url="$2" connections="$3" script="$4" cert="$5" key="$6"
  local out="$WORK/wrk-$name.txt"
  local perf_pid=""
  if [ -n "${BENCH_PERF:-}" ] && [ "$name" = server-c64-1 ]; then
    perf record -q -F 1999 -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_PER_RUN" \
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
  [ -n "$RUN_RPS" ] && [ -n "$RUN_P99" ] || fail "$name: no figures in wrk's report"
}

declare -A RPS P99
for connections in 64 8; do
  for round in 1 2; do
    for target in server nginx; do
      url="$SERVER_URL"
      [ "$target" = nginx ] && url="$NGINX_URL"
      key="$target-c$connections-$round"
      run_wrk "$key" "$url" "$connections" "$HERE/decrypt.lua" "$PKI/decrypter.pem" \
        "$PKI/decrypter.key"
      RPS[$key]="$RUN_RPS"
      P99[$key]="$RUN_P99"
      echo "$key: $RUN_RPS req/s, p99 $RUN_P99 ms"
    done
  done
done
run_wrk create "$SERVER_URL" 8 "$HERE/create.lua" "$PKI/admin.pem" "$PKI/admin.key"
create_rps="$RUN_RPS"
echo "create-c8: $create_rps creates/s"

mean() { awk "BEGIN {print ($1 + $2) / 2}"; }
ratio() { awk "BEGIN {print $1 / $2}"; }
decrypt="$(mean "${RPS[server-c64-1]}" "${RPS[server-c64-2]}")"
nginx_rps="$(mean "${RPS[nginx-c64-1]}" "${RPS[nginx-c64-2]}")"
p99="$(mean "${P99[server-c64-1]}" "${P99[server-c64-2]}")"
decrypt_c8="$(mean "${RPS[server-c8-1]}" "${RPS[server-c8-2]}")"
nginx_c8="$(mean "${RPS[nginx-c8-1]}" "${RPS[nginx-c8-2]}")"
printf 'decrypt_rps=%.0f nginx_mtls_rps=%.0f ratio=%.2f decrypt_p99_ms=%.2f decrypt_c8_rps=%.0f ratio_c8=%.2f create_per_s=%.0f\n' \
  "$decrypt" "$nginx_rps" "$(ratio "$decrypt" "$nginx_rps")" "$p99" \
  "$decrypt_c8" "$(ratio "$decrypt_c8" "$nginx_c8")" "$create_rps"
