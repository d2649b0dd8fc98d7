#!/usr/bin/env bash
# tests/tokend/privilege_test.sh BINARY ROOT — the token behind a privilege
# boundary, for real (issue 17). Two throw-away system users: one runs
# `strongroom tokend` and owns the token directory (0700) and the PIN file
# (0600); the other runs `strongroom init` and `strongroom serve` with
# `[token] service`, reaching the token only through tokend's socket. Over
# real mutual TLS: create, decrypt, rotate the KEK, decrypt after a restart
# (a data-key unwrap through tokend), checkpoints signed through tokend that
# verify offline. The appliance's user gets EACCES on the token directory
# and the PIN file, and libsofthsm2.so is not mapped in the appliance.
# Needs root to create the users (root itself never gets EACCES, so the
# processes must not run as root): exits 77 (CTest: skipped) otherwise.
set -euo pipefail
BIN="$(realpath "$1")"
ROOT="$(realpath "$2")"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root to create two throw-away system users (CI runs as root)"
  exit 77
fi
for tool in setpriv useradd userdel softhsm2-util openssl curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing"; exit 1; }
done

SUFFIX="$$"
TOKEND_USER="sr-tkd-$SUFFIX"
APP_USER="sr-app-$SUFFIX"
BASE="$(mktemp -d /tmp/sr-privsep.XXXXXX)"
TOKEND_PID="" SERVE_PID=""
cleanup() {
  set +e
  [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  [ -n "$TOKEND_PID" ] && kill -TERM "$TOKEND_PID" 2>/dev/null && wait "$TOKEND_PID" 2>/dev/null
  rm -rf "$BASE"
  userdel "$APP_USER" 2>/dev/null
  userdel "$TOKEND_USER" 2>/dev/null
  getent group "$TOKEND_USER" >/dev/null && groupdel "$TOKEND_USER" 2>/dev/null
  getent group "$APP_USER" >/dev/null && groupdel "$APP_USER" 2>/dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$BASE"/*.log; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }

# The tokend user's group opens the socket (mode 0660) to the appliance.
useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$TOKEND_USER"
useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
  --groups "$TOKEND_USER" "$APP_USER"
as_tokend() { setpriv --reuid="$TOKEND_USER" --regid="$TOKEND_USER" --init-groups -- "$@"; }
as_app() { setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups -- "$@"; }

chmod 0711 "$BASE"
umask 077
# The token side: its directory, configuration, PIN and token, the
# tokend user's alone.
T="$BASE/tokend"
mkdir -p "$T/tokens" "$BASE/run"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens" >"$T/softhsm2.conf"
openssl rand -hex 16 | tr -d '\n' >"$T/pin"
openssl rand -hex 16 | tr -d '\n' >"$T/so-pin"
chown -R "$TOKEND_USER:$TOKEND_USER" "$T"
chmod 0700 "$T" "$T/tokens"
chmod 0600 "$T/pin" "$T/so-pin" "$T/softhsm2.conf"
chown "$TOKEND_USER:$TOKEND_USER" "$BASE/run"
chmod 0750 "$BASE/run"
as_tokend env SOFTHSM2_CONF="$T/softhsm2.conf" softhsm2-util --init-token --free --label strongroom \
  --pin "$(cat "$T/pin")" --so-pin "$(cat "$T/so-pin")" >/dev/null

SOCKET="$BASE/run/tokend.sock"
# Started directly (not through as_tokend, a function that would run in a
# subshell), so $! is the strongroom process itself: setpriv and env exec.
setpriv --reuid="$TOKEND_USER" --regid="$TOKEND_USER" --init-groups -- \
  env SOFTHSM2_CONF="$T/softhsm2.conf" "$BIN" tokend --socket "$SOCKET" \
  --allowed-user "$APP_USER" --module /usr/lib/softhsm/libsofthsm2.so \
  --token-uri "pkcs11:token=strongroom" --pin-file "$T/pin" --allow-unlocked-memory \
  >"$BASE/tokend.log" 2>&1 &
TOKEND_PID=$!
for _ in $(seq 1 300); do [ -S "$SOCKET" ] && break; kill -0 "$TOKEND_PID" || fail "tokend exited"; sleep 0.1; done
[ -S "$SOCKET" ] || fail "tokend did not create its socket"
[ "$(stat -c %a "$SOCKET")" = 660 ] || fail "the socket's mode is $(stat -c %a "$SOCKET"), not 660"

# The appliance side: data, PKI, policies and configuration, the
# appliance user's alone; no PIN, no module, no SOFTHSM2_CONF.
A="$BASE/app"
mkdir -p "$A/policies"
"$ROOT/scripts/dev-pki.sh" "$A/pki" >/dev/null
cp "$ROOT"/policies/default/*.json "$A/policies/"
ADMIN_FP="$(openssl x509 -in "$A/pki/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')"
cat >"$A/policies/identities.json" <<JSON
{
  "certificates": [ {"sha256": "$ADMIN_FP", "user": "admin"} ],
  "bindings": [ {"service": "demo-service", "role": "Decrypter", "namespace": "default"} ]
}
JSON
openssl rand -base64 18 | tr -d '\n' >"$A/admin-password"
cat >"$A/strongroom.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$A/data"
policy_dir = "$A/policies"
port_file = "$A/port"

[token]
service = "unix:$SOCKET"

[tls]
certificate = "$A/pki/server.pem"
private_key = "$A/pki/server.key"
client_ca = "$A/pki/ca.pem"

[memory]
allow_unlocked = true
TOML
chown -R "$APP_USER:$APP_USER" "$A"
chmod 0700 "$A"

# What the appliance's user cannot do: read the token's files.
for path in "$T/pin" "$T/tokens" "$T/softhsm2.conf"; do
  if out="$(as_app cat "$path" 2>&1)"; then fail "$APP_USER could read $path"; fi
  case "$out" in *"Permission denied"*) ;; *) fail "reading $path: expected EACCES, got: $out" ;; esac
done
if out="$(as_app ls "$T/tokens" 2>&1)"; then fail "$APP_USER could list the token directory"; fi
case "$out" in *"Permission denied"*) ;; *) fail "listing the tokens: expected EACCES, got: $out" ;; esac
echo "ok: $APP_USER gets EACCES on the token directory and the PIN file"

as_app "$BIN" init --data-dir "$A/data" --token-service "unix:$SOCKET" --allow-unlocked-memory \
  --admin-password-file "$A/admin-password" >"$BASE/init.log" 2>&1 || fail "init through tokend failed"
echo "ok: init through tokend"

start_serve() {
  rm -f "$A/port"
  setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups -- \
    "$BIN" serve --config "$A/strongroom.toml" >>"$BASE/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 300); do [ -s "$A/port" ] && break; kill -0 "$SERVE_PID" || fail "serve exited"; sleep 0.1; done
  [ -s "$A/port" ] || fail "serve did not write its port"
  BASE_URL="https://127.0.0.1:$(cat "$A/port")"
  for _ in $(seq 1 300); do
    curl -sS --fail --cacert "$A/pki/ca.pem" "$BASE_URL/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "serve did not become ready"
}
stop_serve() {
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID" || fail "serve exited with an error"
  SERVE_PID=""
}
ADMIN=(curl -sS --fail-with-body --cacert "$A/pki/ca.pem" --cert "$A/pki/admin.pem" --key "$A/pki/admin.key")
SERVICE=(curl -sS --fail-with-body --cacert "$A/pki/ca.pem" --cert "$A/pki/decrypter.pem" --key "$A/pki/decrypter.key")
SV_PATH="/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues"
VALUE="privsep-$(openssl rand -hex 8)"

start_serve
# The appliance has no PKCS#11 module mapped; tokend has (the control).
cp "/proc/$SERVE_PID/maps" "$BASE/serve.maps"
cp "/proc/$TOKEND_PID/maps" "$BASE/tokend.maps"
# The copies must be real (the binary itself is mapped), so an unreadable
# file cannot pass for an absent library.
grep -q "$(basename "$BIN")" "$BASE/serve.maps" || fail "cannot read the appliance's maps"
grep -q "$(basename "$BIN")" "$BASE/tokend.maps" || fail "cannot read tokend's maps"
grep -q libsofthsm2 "$BASE/serve.maps" && fail "libsofthsm2.so is mapped in the appliance"
grep -q libsofthsm2 "$BASE/tokend.maps" || fail "libsofthsm2.so is not mapped in tokend (control)"
[ "$(stat -c %U "/proc/$SERVE_PID")" = "$APP_USER" ] || fail "serve does not run as $APP_USER"
echo "ok: libsofthsm2.so absent from the appliance's /proc/PID/maps, present in tokend's"

"${ADMIN[@]}" -o "$BASE/create.json" -X POST -H 'Content-Type: application/json' \
  -d "{\"metadata\":{\"name\":\"privsep\"},\"spec\":{\"description\":\"d\",\"value\":\"$VALUE\",\"decrypters\":[\"demo-service\"]}}" \
  "$BASE_URL$SV_PATH" || fail "create: $(cat "$BASE/create.json")"
decrypt() {
  "${SERVICE[@]}" -o "$BASE/decrypt.json" -X POST "$BASE_URL$SV_PATH/privsep/decrypt" ||
    fail "decrypt: $(cat "$BASE/decrypt.json")"
  grep -q "$VALUE" "$BASE/decrypt.json" || fail "decrypt did not return the value"
}
decrypt
echo "ok: create and decrypt over mutual TLS"
"${ADMIN[@]}" -o "$BASE/rotate.json" -X POST "$BASE_URL/api/admin/encryption/rotate-kek" ||
  fail "rotate-kek: $(cat "$BASE/rotate.json")"
grep -q '"rewrapped":[1-9]' "$BASE/rotate.json" || fail "rotate-kek rewrapped nothing: $(cat "$BASE/rotate.json")"
decrypt
echo "ok: KEK rotated through tokend; the value still decrypts"
"${ADMIN[@]}" -o "$A/audit-key.pem" "$BASE_URL/api/audit/public-key" || fail "public key"
chown "$APP_USER" "$A/audit-key.pem"
stop_serve

# A cold start: the MAC key and the data key are unwrapped through tokend.
start_serve
decrypt
"${ADMIN[@]}" -o "$BASE/metrics.txt" "$BASE_URL/metrics" || fail "metrics"
grep -Eq '^strongroom_data_key_unwraps_total [1-9]' "$BASE/metrics.txt" ||
  fail "no data-key unwrap counted: $(grep unwraps "$BASE/metrics.txt")"
"${ADMIN[@]}" -o "$BASE/verify.json" "$BASE_URL/api/audit/verify" || fail "audit verify"
grep -Eq '"checkpoints":[1-9]' "$BASE/verify.json" || fail "no checkpoint: $(cat "$BASE/verify.json")"
stop_serve
echo "ok: decrypt after a restart unwraps through tokend"

# Every checkpoint (signed by tokend's token) verifies offline.
as_app "$BIN" audit verify --log "$A/data/audit" --public-key "$A/audit-key.pem" \
  --require-sealed >"$BASE/offline.log" 2>&1 || fail "offline verify: $(cat "$BASE/offline.log")"
echo "ok: checkpoints signed through tokend verify offline"
echo "PASS"
