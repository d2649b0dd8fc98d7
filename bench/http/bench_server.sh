# shellcheck shell=bash
# bench/http/bench_server.sh — what the HTTP benchmarks share, sourced by
# http_bench.sh, callgrind_bench.sh, scale_bench.sh, soak_bench.sh,
# startup_bench.sh and syscall_bench.sh, which then set WORK (their private
# temporary directory), call bench_exit_trap and set umask 077 (ROOT, the
# checkout, is set before sourcing):
#   bench_exit_trap NAME STOP_WAIT_S [keep]
#                        sets the caller's EXIT trap, bench_cleanup: the
#                        caller's own bench_cleanup_more first when it defines
#                        one (its other processes), then every server stopped
#                        (bench_stop_pid, STOP_WAIT_S), every background job
#                        waited for and $WORK removed (kept with `keep`); and
#                        names the script for fail;
#   fail MESSAGE         "NAME: MESSAGE" and bench_server_logs on stderr,
#                        then exit 1 (the EXIT trap cleans up);
#   bench_pki [PORT]     a development PKI in $WORK/pki (sets PKI; its
#                        certificates name https://127.0.0.1:PORT/pki/ca.crl,
#                        PORT default 8443, as their CRL distribution point)
#                        and a policy directory $WORK/policies mapping the admin
#                        certificate to admin and the decrypter certificate
#                        (by subject) to bench-svc, Decrypter in bench-0..2;
#   bench_start_server TAG BIN TIMEOUT_S [LAUNCHER...]
#                        a server of its own under $WORK/TAG: a fresh SoftHSM
#                        token (its own SOFTHSM2_CONF and token directory), a
#                        data directory initialised by BIN itself (`init`), and
#                        `BIN serve` on a free loopback port (BENCH_LISTEN_PORT
#                        when set; with BENCH_CRL=1 the PKI's CRL is the
#                        server's `[tls] crl`, else none), run under
#                        LAUNCHER when given (valgrind); waits up to TIMEOUT_S
#                        for it to answer /readyz; sets SERVER_URLS[TAG] and
#                        SERVER_PIDS[TAG]. Two binaries never share a token or
#                        a data directory: their on-disk formats may differ;
#   bench_populate TAG COUNT [FIRST]
#                        secure values sv-<i> in bench-<i mod 3> for i from
#                        FIRST (0) to COUNT-1 (populate.py), killed after
#                        BENCH_POPULATE_TIMEOUT_S (1800), then checks that
#                        sv-1 decrypts;
#   bench_restart_timed TAG BIN TIMEOUT_S
#                        stops TAG's server (if running) and starts BIN serve
#                        again on the same directory, timing launch to the
#                        first 200 from /readyz (polled every 10 ms): sets
#                        READY_MS, SERVER_PIDS[TAG] and SERVER_URLS[TAG];
#   bench_stop_pid PID WAIT_S
#                        SIGTERM, up to WAIT_S seconds to exit, then SIGKILL;
#   bench_server_logs    the last lines of every server's log, on stderr.
# Everything binds 127.0.0.1; the caller's EXIT trap stops what was started.

declare -A SERVER_URLS=() SERVER_PIDS=()
PKI=""
UNLOCKED=false
BENCH_NAME="bench"
BENCH_STOP_WAIT_S=10
BENCH_KEEP_WORK=false

bench_exit_trap() {
  BENCH_NAME="$1"
  BENCH_STOP_WAIT_S="$2"
  if [ "${3:-}" = keep ]; then BENCH_KEEP_WORK=true; fi
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local tag
  if declare -F bench_cleanup_more >/dev/null; then bench_cleanup_more; fi
  for tag in "${!SERVER_PIDS[@]}"; do bench_stop_pid "${SERVER_PIDS[$tag]}" "$BENCH_STOP_WAIT_S"; done
  wait 2>/dev/null || true
  if [ "$BENCH_KEEP_WORK" = false ] && [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}

fail() {
  echo "$BENCH_NAME: $*" >&2
  bench_server_logs
  exit 1
}

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

bench_pki() {
  "$ROOT/scripts/dev-pki.sh" "$WORK/pki" "${1:-8443}" >/dev/null
  PKI="$WORK/pki"
  local admin_fp svc_subject memlock
  admin_fp="$(openssl x509 -in "$PKI/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')"
  svc_subject="$(openssl x509 -in "$PKI/decrypter.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
  mkdir -p "$WORK/policies"
  cat > "$WORK/policies/bench.json" <<JSON
{
  "certificates": [ {"sha256": "$admin_fp", "user": "admin"} ],
  "services": [ {"match": {"subject": "$svc_subject"}, "name": "bench-svc"} ],
  "bindings": [
    {"service": "bench-svc", "role": "Decrypter", "namespace": "bench-0"},
    {"service": "bench-svc", "role": "Decrypter", "namespace": "bench-1"},
    {"service": "bench-svc", "role": "Decrypter", "namespace": "bench-2"}
  ]
}
JSON
  cp "$ROOT"/policies/default/*.json "$WORK/policies/"
  memlock="$(ulimit -l)"
  if [ "$memlock" != "unlimited" ] && [ "$memlock" -lt 8192 ]; then UNLOCKED=true; fi
}

bench_start_server() {
  local tag="$1" bin="$2" timeout_s="$3"
  shift 3
  local dir="$WORK/$tag"
  mkdir -p "$dir/tokens" "$dir/data"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$dir/tokens" > "$dir/softhsm2.conf"
  openssl rand -hex 16 | tr -d '\n' > "$dir/pin"
  openssl rand -hex 16 | tr -d '\n' > "$dir/so-pin"
  openssl rand -base64 18 | tr -d '\n' > "$dir/admin-password"
  # softhsm2-util takes PINs only as arguments; this token lives for one run.
  SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label bench \
    --pin "$(cat "$dir/pin")" --so-pin "$(cat "$dir/so-pin")" >/dev/null
  local crl_line=""
  if [ "${BENCH_CRL:-0}" = 1 ]; then crl_line="crl = \"$PKI/ca.crl.pem\""; fi
  cat > "$dir/strongroom.toml" <<TOML
listen = "127.0.0.1:${BENCH_LISTEN_PORT:-0}"
data_dir = "$dir/data"
policy_dir = "$WORK/policies"
port_file = "$dir/port"

[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=bench"
pin_file = "$dir/pin"

[tls]
certificate = "$PKI/server.pem"
private_key = "$PKI/server.key"
client_ca = "$PKI/ca.pem"
$crl_line

[memory]
arena_mib = 16
allow_unlocked = $UNLOCKED
TOML
  local common=(--data-dir "$dir/data" --module /usr/lib/softhsm/libsofthsm2.so
                --token-uri "pkcs11:token=bench" --pin-file "$dir/pin")
  if [ "$UNLOCKED" = true ]; then common+=(--allow-unlocked-memory); fi
  SOFTHSM2_CONF="$dir/softhsm2.conf" "$bin" init "${common[@]}" \
    --admin-password-file "$dir/admin-password" >/dev/null || fail "$tag: init failed"

  SOFTHSM2_CONF="$dir/softhsm2.conf" "$@" "$bin" serve --config "$dir/strongroom.toml" \
    >"$dir/server.log" 2>&1 </dev/null &
  local pid=$!
  # shellcheck disable=SC2034 # read by the scripts that source this file
  SERVER_PIDS[$tag]=$pid
  local _
  for _ in $(seq 1 $((timeout_s * 10))); do
    [ -s "$dir/port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "$tag: the server exited at start"
    sleep 0.1
  done
  [ -s "$dir/port" ] || fail "$tag: the server did not write its port in $timeout_s s"
  local url
  url="https://127.0.0.1:$(tr -d '\n' < "$dir/port")"
  for _ in $(seq 1 $((timeout_s * 10))); do
    curl -sS --fail -o /dev/null --max-time 30 --cacert "$PKI/ca.pem" "$url/readyz" 2>/dev/null &&
      break
    kill -0 "$pid" 2>/dev/null || fail "$tag: the server exited at start"
    sleep 0.1
  done
  curl -sS --fail -o /dev/null --max-time 30 --cacert "$PKI/ca.pem" "$url/readyz" ||
    fail "$tag: not ready"
  SERVER_URLS[$tag]="$url"
}

bench_populate() {
  local tag="$1" count="$2" first="${3:-0}" url="${SERVER_URLS[$1]}" check
  timeout "${BENCH_POPULATE_TIMEOUT_S:-1800}" python3 "$ROOT/bench/http/populate.py" "$url" \
    "$PKI/ca.pem" "$PKI/admin.pem" "$PKI/admin.key" "$count" "$first" ||
    fail "$tag: populating failed"
  check="$(curl -sS --fail --max-time 60 --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" \
    --key "$PKI/decrypter.key" "$url/v1.0/secrets/bench-1/sv-1")"
  [ "$check" = '{"sv-1":"bench-value-000001"}' ] || fail "$tag: decrypt check answered $check"
}

bench_restart_timed() {
  local tag="$1" bin="$2" timeout_s="$3" dir="$WORK/$1" pid start url ready="" _
  if [ -n "${SERVER_PIDS[$tag]:-}" ]; then
    bench_stop_pid "${SERVER_PIDS[$tag]}" 120
    wait "${SERVER_PIDS[$tag]}" 2>/dev/null || true
  fi
  rm -f "$dir/port"
  start="$(date +%s%N)"
  SOFTHSM2_CONF="$dir/softhsm2.conf" "$bin" serve --config "$dir/strongroom.toml" \
    >>"$dir/server.log" 2>&1 </dev/null &
  pid=$!
  SERVER_PIDS[$tag]=$pid
  for _ in $(seq 1 $((timeout_s * 100))); do
    if [ -s "$dir/port" ]; then
      url="https://127.0.0.1:$(tr -d '\n' < "$dir/port")"
      if curl -sS --fail -o /dev/null --max-time 5 --cacert "$PKI/ca.pem" "$url/readyz" 2>/dev/null; then
        ready="$(date +%s%N)"
        break
      fi
    fi
    kill -0 "$pid" 2>/dev/null || fail "$tag: the server exited at start"
    sleep 0.01
  done
  [ -n "$ready" ] || fail "$tag: not ready in $timeout_s s"
  SERVER_URLS[$tag]="$url"
  READY_MS=$(( (ready - start) / 1000000 ))
}

bench_stop_pid() {
  local pid="$1" wait_s="$2" _
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((wait_s * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

bench_server_logs() {
  local log
  for log in "$WORK"/*/server.log; do
    [ -f "$log" ] || continue
    echo "--- last lines of $(basename "$(dirname "$log")")'s server log:" >&2
    tail -n 15 "$log" >&2
  done
}
