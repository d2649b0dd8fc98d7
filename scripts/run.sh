#!/usr/bin/env bash
# Brings up a development Strongroom on https://127.0.0.1:8443 (SPEC section
# 3, step 1): installs packages, builds, creates a SoftHSM token, a
# development PKI, policies and the store under .dev/ (reused by later
# runs), starts the server and prints curl lines that work as printed.
#   scripts/run.sh               start in the foreground (Ctrl-C stops it)
#   scripts/run.sh --background  start detached, write .dev/strongroom.pid,
#                                return once /readyz answers
#   scripts/run.sh --stop        stop a detached server
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEV="$ROOT/.dev"
PORT="${STRONGROOM_PORT:-8443}"
BASE="https://127.0.0.1:$PORT"
PIDFILE="$DEV/strongroom.pid"
MODE="foreground"
case "${1:-}" in
  "") ;;
  --background) MODE="background" ;;
  --stop) MODE="stop" ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "run.sh: unknown argument '$1' (use --background or --stop)" >&2; exit 2 ;;
esac

# alive PID (a zombie is not alive).
# shellcheck source=lib/process.sh
. "$ROOT/scripts/lib/process.sh"

running_pid() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then echo "$pid"; return 0; fi
  fi
  return 1
}

if [ "$MODE" = "stop" ]; then
  if pid="$(running_pid)"; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then echo "run.sh: server $pid did not stop" >&2; exit 1; fi
    rm -f "$PIDFILE"
    echo "stopped strongroom (pid $pid)"
  else
    rm -f "$PIDFILE"
    echo "strongroom is not running"
  fi
  exit 0
fi

"$ROOT/scripts/setup.sh"
cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$ROOT/build" -j"${JOBS:-2}" --target strongroom
BIN="$ROOT/build/appliance/strongroom"

umask 077
mkdir -p "$DEV"
chmod 700 "$DEV"

# --- development token (SoftHSM, private token directory) ---------------
# shellcheck source=lib/dev-setup.sh
. "$ROOT/scripts/lib/dev-setup.sh"
dev_token "$DEV" "development token"

# --- development PKI ------------------------------------------------------
# Its certificates name https://127.0.0.1:$PORT/pki/ca.crl as their CRL
# distribution point, which the server answers with ca.crl.pem (DER).
"$ROOT/scripts/dev-pki.sh" "$DEV/pki" "$PORT"

# --- admin password, policies, configuration ------------------------------
dev_admin_and_policies "$DEV" "$DEV/pki"

UNLOCKED=false
memlock="$(ulimit -l)"
if [ "$memlock" != "unlimited" ] && [ "$memlock" -lt 8192 ]; then
  UNLOCKED=true
  echo "warning: RLIMIT_MEMLOCK is ${memlock} KiB: starting with unlocked secure memory (development only)"
fi
cat > "$DEV/strongroom.toml" <<TOML
# Development configuration written by scripts/run.sh (rewritten each run).
listen = "127.0.0.1:$PORT"
data_dir = "$DEV/data"
policy_dir = "$DEV/policies"

[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=strongroom"
pin_file = "$DEV/pin"

[tls]
certificate = "$DEV/pki/server.pem"
private_key = "$DEV/pki/server.key"
client_ca = "$DEV/pki/ca.pem"
crl = "$DEV/pki/ca.crl.pem"

[memory]
arena_mib = 4
allow_unlocked = $UNLOCKED
TOML

COMMON=(--data-dir "$DEV/data" --module /usr/lib/softhsm/libsofthsm2.so
        --token-uri "pkcs11:token=strongroom" --pin-file "$DEV/pin")
if [ "$UNLOCKED" = true ]; then COMMON+=(--allow-unlocked-memory); fi

# --- initialise (idempotent) -----------------------------------------------
if pid="$(running_pid)"; then
  echo "strongroom is already running (pid $pid)"
else
  mkdir -p "$DEV/data"
  "$BIN" init "${COMMON[@]}" --admin-password-file "$DEV/admin-password" >/dev/null
fi

CURL="curl -sS --fail-with-body --cacert $DEV/pki/ca.pem --cert $DEV/pki/admin.pem --key $DEV/pki/admin.key"
SV="$BASE/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues"
print_usage() {
  cat <<USAGE

Strongroom is up on $BASE (state in $DEV).
The admin client certificate is mapped to the bootstrap user 'admin'
(password in $DEV/admin-password; Basic auth works too).

Create a secure value (a new generated name each time):
  $CURL -X POST -H 'Content-Type: application/json' -d '{"metadata":{"generateName":"demo-"},"spec":{"description":"Demo API key","value":"not-a-real-secret","decrypters":["demo-service"]}}' $SV

List secure values:
  $CURL $SV

Get one (created by run.sh; its value is never returned):
  $CURL $SV/demo-db-password

Decrypt as the service demo-service (its client certificate; only a service certificate counts
on these paths, and the value's decrypters must list the service):
  curl -sS --fail-with-body --cacert $DEV/pki/ca.pem --cert $DEV/pki/decrypter.pem --key $DEV/pki/decrypter.key -X POST $SV/demo-db-password/decrypt
  curl -sS --fail-with-body --cacert $DEV/pki/ca.pem --cert $DEV/pki/decrypter.pem --key $DEV/pki/decrypter.key $BASE/v1.0/secrets/default/demo-db-password
  curl -sS --fail-with-body --cacert $DEV/pki/ca.pem --cert $DEV/pki/decrypter.pem --key $DEV/pki/decrypter.key $BASE/v1.0/secrets/default/bulk

Sensu: store a reference to that value (built-in provider "strongroom"), list, and resolve it as
demo-service over mutual TLS (an extension; the checks are those of a decrypt):
  $CURL -X PUT -H 'Content-Type: application/json' -d '{"type":"Secret","api_version":"secrets/v1","metadata":{"name":"demo-db","namespace":"default"},"spec":{"id":"demo-db-password","provider":"strongroom"}}' -w '%{http_code}\n' $BASE/api/enterprise/secrets/v1/namespaces/default/secrets/demo-db
  $CURL $BASE/api/enterprise/secrets/v1/namespaces/default/secrets
  curl -sS --fail-with-body --cacert $DEV/pki/ca.pem --cert $DEV/pki/decrypter.pem --key $DEV/pki/decrypter.key $BASE/api/enterprise/secrets/v1/namespaces/default/secrets/demo-db/value

Server statistics, Prometheus metrics and the OpenAPI document:
  $CURL $BASE/api/admin/stats
  $CURL $BASE/metrics
  curl -sS --cacert $DEV/pki/ca.pem $BASE/openapi.yaml

Rotate data keys (server admin):
  $CURL -X POST -w '%{http_code}\n' $BASE/api/admin/encryption/rotate-data-keys

Audit log (Auditor or server admin): records oldest first (page on with &continue=N), the server-side check, the public key:
  $CURL "$BASE/api/audit/events?limit=5"
  $CURL $BASE/api/audit/verify
  $CURL $BASE/api/audit/public-key

Verify the audit files offline (no token, store or server needed; run.sh saved the key above in
$DEV/audit-key.pem), and print records as a table (oldest first; --since, --action, ... filter):
  $BIN audit verify --log $DEV/data/audit --public-key $DEV/audit-key.pem
  $BIN audit show --log $DEV/data/audit --limit 20

Readiness (no authentication):
  curl -sS --cacert $DEV/pki/ca.pem $BASE/readyz

The CA's CRL, at the CRL distribution point the development certificates name (DER; no
authentication):
  curl -sS --fail-with-body --cacert $DEV/pki/ca.pem $BASE/pki/ca.crl | openssl crl -inform DER -CAfile $DEV/pki/ca.pem -noout -text
USAGE
}

wait_ready() {
  for _ in $(seq 1 300); do
    if curl -sS --fail --cacert "$DEV/pki/ca.pem" "$BASE/readyz" >/dev/null 2>&1; then return 0; fi
    if [ -n "${1:-}" ] && ! alive "$1"; then return 1; fi
    sleep 0.1
  done
  return 1
}

ensure_sample() {
  if ! $CURL -o /dev/null "$SV/demo-db-password" 2>/dev/null; then
    $CURL -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d '{"metadata":{"name":"demo-db-password","labels":{"app":"demo"}},"spec":{"description":"Demo database password","value":"not-a-real-password","decrypters":["demo-service"]}}' \
      "$SV"
  fi
  # The auditor's pinned copy of the audit public key, for `audit verify`.
  $CURL -o "$DEV/audit-key.pem" "$BASE/api/audit/public-key"
}

if pid="$(running_pid)"; then
  ensure_sample
  print_usage
  exit 0
fi

SERVE=("$BIN" serve --config "$DEV/strongroom.toml")
if [ "$MODE" = "background" ]; then
  nohup "${SERVE[@]}" >>"$DEV/server.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" > "$PIDFILE"
  if ! wait_ready "$pid"; then
    echo "run.sh: the server did not become ready; last log lines:" >&2
    tail -n 20 "$DEV/server.log" >&2
    exit 1
  fi
  ensure_sample
  print_usage
  echo
  echo "Started in the background (pid $pid, log $DEV/server.log); stop with: scripts/run.sh --stop"
  exit 0
fi

# Foreground: the server's JSON logs go to this terminal; Ctrl-C stops it.
"${SERVE[@]}" &
pid=$!
echo "$pid" > "$PIDFILE"
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -f "$PIDFILE"; exit 0' INT TERM
if wait_ready "$pid"; then
  ensure_sample
  print_usage
  echo
  echo "Running in the foreground (pid $pid); Ctrl-C stops it."
fi
wait "$pid"
rm -f "$PIDFILE"
