# scripts/lib/host.sh — sourced (not run) by scripts/dr-drill.sh,
# tests/fixtures/make-upgrade-fixture.sh and tests/appliance/upgrade_fixture_test.sh.
#
# A "host" is one directory holding what a Strongroom machine holds:
#   HOST/softhsm2.conf   its SoftHSM configuration (token directory HOST/tokens)
#   HOST/tokens/         the SoftHSM token directory (label "strongroom")
#   HOST/pin             the user PIN file (0600)
#   HOST/data/           the data directory (LMDB store, audit/)
#   HOST/policies/       policy files (the defaults, plus identities)
#   HOST/strongroom.toml the server configuration (port chosen by the kernel)
# and a PKI shared by the hosts of one run (PKI, made by scripts/dev-pki.sh:
# admin.pem is mapped to the user admin, decrypter.pem is the service
# demo-service, bound as Decrypter in namespace default).
#
# Requires: STRONGROOM_BIN (the strongroom binary), ROOT (the checkout).
# Every function fails (non-zero) with a message on stderr; none prints a
# secret value.

HOST_MODULE="${HOST_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"

# host_unlocked: "true" when RLIMIT_MEMLOCK is too small for the arena.
host_unlocked() {
  local memlock
  memlock="$(ulimit -l)"
  if [ "$memlock" != "unlimited" ] && [ "$memlock" -lt 8192 ]; then echo true; else echo false; fi
}

# host_common HOST: the flags every CLI command of HOST takes.
host_common() {
  local host="$1"
  local flags=(--data-dir "$host/data" --module "$HOST_MODULE"
               --token-uri "pkcs11:token=strongroom" --pin-file "$host/pin" --arena-mib 4)
  if [ "$(host_unlocked)" = true ]; then flags+=(--allow-unlocked-memory); fi
  printf '%s\n' "${flags[@]}"
}

# host_cli HOST ARGS...: runs `strongroom ARGS... <HOST's common flags>`
# with HOST's SoftHSM configuration.
host_cli() {
  local host="$1"
  shift
  local common=()
  mapfile -t common < <(host_common "$host")
  SOFTHSM2_CONF="$host/softhsm2.conf" "$STRONGROOM_BIN" "$@" "${common[@]}"
}

# host_softhsm_conf HOST: writes HOST/softhsm2.conf naming HOST/tokens.
host_softhsm_conf() {
  local host="$1"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$host/tokens" > "$host/softhsm2.conf"
}

# host_make_token HOST PIN SO_PIN: a new SoftHSM token "strongroom" in HOST.
host_make_token() {
  local host="$1" pin="$2" so_pin="$3"
  mkdir -p "$host/tokens"
  chmod 700 "$host" "$host/tokens"
  host_softhsm_conf "$host"
  printf '%s' "$pin" > "$host/pin"
  chmod 600 "$host/pin"
  # softhsm2-util takes PINs only as arguments (test and drill tokens only).
  SOFTHSM2_CONF="$host/softhsm2.conf" softhsm2-util --init-token --free --label strongroom \
    --pin "$pin" --so-pin "$so_pin" >/dev/null
}

# host_config HOST PKI: policies (the defaults, the admin certificate mapped
# to the user admin, demo-service bound as Decrypter) and strongroom.toml.
host_config() {
  local host="$1" pki="$2"
  mkdir -p "$host/policies"
  cp "$ROOT"/policies/default/*.json "$host/policies/"
  local admin_fp
  admin_fp="$(openssl x509 -in "$pki/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 |
              tr -d ':' | tr 'A-F' 'a-f')"
  cat > "$host/policies/host-identities.json" <<JSON
{
  "certificates": [ {"sha256": "$admin_fp", "user": "admin"} ],
  "bindings": [ {"service": "demo-service", "role": "Decrypter", "namespace": "default"} ]
}
JSON
  cat > "$host/strongroom.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$host/data"
policy_dir = "$host/policies"

[token]
module = "$HOST_MODULE"
uri = "pkcs11:token=strongroom"
pin_file = "$host/pin"

[tls]
certificate = "$pki/server.pem"
private_key = "$pki/server.key"
client_ca = "$pki/ca.pem"

[memory]
arena_mib = 4
allow_unlocked = $(host_unlocked)
TOML
}

# host_start HOST: starts the server in the background (log HOST/server.log),
# waits until /readyz answers, and sets HOST_PID and HOST_BASE.
host_start() {
  local host="$1"
  rm -f "$host/port"
  SOFTHSM2_CONF="$host/softhsm2.conf" "$STRONGROOM_BIN" serve --config "$host/strongroom.toml" \
    --port-file "$host/port" >>"$host/server.log" 2>&1 </dev/null &
  HOST_PID=$!
  local i
  for i in $(seq 1 300); do
    if [ -s "$host/port" ]; then
      HOST_BASE="https://127.0.0.1:$(cat "$host/port")"
      if curl -sS --fail --cacert "$PKI/ca.pem" "$HOST_BASE/readyz" >/dev/null 2>&1; then
        return 0
      fi
    fi
    if [ "$(host_state "$HOST_PID")" != running ]; then break; fi
    sleep 0.1
  done
  echo "the server of $host did not become ready; its log ends:" >&2
  tail -n 20 "$host/server.log" >&2
  return 1
}

# host_state PID: "running", or "gone" (exited or a zombie: SPEC 10, PID 1
# here does not reap promptly, so kill -0 alone is not enough).
host_state() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo gone; return; }
  case "$(echo "$stat" | sed 's/.*) //' | cut -d' ' -f1)" in
    Z|X) echo gone ;;
    *) echo running ;;
  esac
}

# host_stop PID: SIGTERM, then waits (up to 30 s) for a clean exit.
host_stop() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 300); do
    if [ "$(host_state "$pid")" = gone ]; then wait "$pid" 2>/dev/null || true; return 0; fi
    sleep 0.1
  done
  echo "server $pid did not stop within 30 s" >&2
  kill -KILL "$pid" 2>/dev/null || true
  return 1
}

# Clients of HOST_BASE: the admin (management API) and demo-service (decrypt).
admin_curl() {
  curl -sS --fail-with-body --cacert "$PKI/ca.pem" --cert "$PKI/admin.pem" --key "$PKI/admin.key" "$@"
}
service_curl() {
  curl -sS --fail-with-body --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" \
    --key "$PKI/decrypter.key" "$@"
}
sv_url() { echo "$HOST_BASE/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues"; }

# create_value NAME VALUE_FILE: a secure value NAME in namespace default that
# demo-service may decrypt, with the bytes of VALUE_FILE (text) as its value.
create_value() {
  local name="$1" file="$2"
  jq -n --arg name "$name" --rawfile value "$file" \
    '{metadata:{name:$name},spec:{description:"test value",value:$value,decrypters:["demo-service"]}}' |
    admin_curl -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @- "$(sv_url)"
}

# decrypt_value NAME OUT_FILE: decrypts NAME as demo-service into OUT_FILE
# (the raw value bytes).
decrypt_value() {
  local name="$1" out="$2"
  service_curl -X POST "$(sv_url)/$name/decrypt" | jq -j '.value' > "$out"
}
