#!/usr/bin/env bash
# The package under a real systemd (outside CI; needs root): boots a Debian 12
# root made with mmdebstrap under `systemd-nspawn --boot`, installs
# dist/strongroom_*_amd64.deb in it with apt, checks that the install started
# nothing, sets up a SoftHSM token and TLS as docs/operator-guide.md says,
# runs `strongroom init`, `systemctl enable --now strongroom`, then from
# outside the container (the container shares the host's network) creates
# and decrypts a secret over mutual TLS, checks that `systemctl reload`
# re-reads the policies, and that `systemctl stop` leaves a sealed audit log.
#   scripts/systemd-boot-test.sh [DEB]
#   STRONGROOM_BOOT_DIR   work directory (default /var/tmp/strongroom-boot);
#                         the mmdebstrap tarball is cached there
#   STRONGROOM_BOOT_KEEP=1  keep the container's root after the run
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEB="${1:-$(ls "$ROOT"/dist/strongroom_*_amd64.deb 2>/dev/null | tail -n 1)}"
if [ -z "$DEB" ] || [ ! -f "$DEB" ]; then
  echo "systemd-boot-test: no package; run scripts/package.sh first" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "systemd-boot-test: needs root (mmdebstrap, systemd-nspawn, nsenter)" >&2
  exit 2
fi
WORK="${STRONGROOM_BOOT_DIR:-/var/tmp/strongroom-boot}"
TARBALL="$WORK/bookworm.tar"
MACHINE="$WORK/root"
PKI="$WORK/pki"
mkdir -p "$WORK"

step() { echo "== $*"; }
fail() { echo "systemd-boot-test: FAIL: $*" >&2; exit 1; }

step "tools"
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v curl >/dev/null || need+=(curl)
if [ "${#need[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

step "Debian 12 root (mmdebstrap, cached in $TARBALL)"
if [ ! -f "$TARBALL" ]; then
  mmdebstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,softhsm2,adduser,ca-certificates,openssl,procps \
    bookworm "$TARBALL.tmp" http://deb.debian.org/debian
  mv "$TARBALL.tmp" "$TARBALL"
fi
rm -rf "$MACHINE"
mkdir -p "$MACHINE"
tar -xf "$TARBALL" -C "$MACHINE"
cp "$DEB" "$MACHINE/root/"
# A machine id, so that journald and systemd start as on a real host.
systemd-machine-id-setup --root="$MACHINE" >/dev/null

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="https://127.0.0.1:$PORT"

step "boot (systemd-nspawn --boot; console log in $WORK/console.log)"
# The host runs no systemd and no system bus: without --keep-unit and
# --register=no, nspawn asks the bus for a scope ("Failed to open system
# bus: No such file or directory") and gives up. nspawn's own seccomp filter
# refuses mlock() with EPERM in a container without CAP_IPC_LOCK; on a host
# mlock() is allowed up to RLIMIT_MEMLOCK, so the container allows @memlock
# (the limit, 8 MiB hard here, still applies).
systemd-nspawn --boot --keep-unit --register=no --system-call-filter=@memlock \
  --directory="$MACHINE" --machine=strongroom-boot --console=passive >"$WORK/console.log" 2>&1 &
NSPAWN=$!
LEADER=""
cleanup() {
  if [ -n "$LEADER" ] && [ -d "/proc/$LEADER" ]; then
    nsenter -t "$LEADER" -m -u -i -n -p -- systemctl poweroff >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
  kill -TERM "$NSPAWN" 2>/dev/null || true
  wait "$NSPAWN" 2>/dev/null || true
  if [ "${STRONGROOM_BOOT_KEEP:-0}" != "1" ]; then rm -rf "$MACHINE"; fi
}
trap cleanup EXIT

# The container's init is the descendant of systemd-nspawn named systemd.
find_leader() {
  local pids=("$NSPAWN") pid child
  while [ "${#pids[@]}" -gt 0 ]; do
    pid="${pids[0]}"
    pids=("${pids[@]:1}")
    if [ "$pid" != "$NSPAWN" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "systemd" ]; then
      echo "$pid"
      return 0
    fi
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do pids+=("$child"); done
  done
  return 1
}
for _ in $(seq 1 100); do
  LEADER="$(find_leader || true)"
  [ -n "$LEADER" ] && break
  kill -0 "$NSPAWN" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$LEADER" ]; then
  echo "--- console:" >&2
  cat "$WORK/console.log" >&2
  fail "systemd-nspawn did not boot a systemd"
fi

# ct CMD...: runs CMD inside the container (its mount, pid, network, ipc and
# uts namespaces), with a plain environment.
ct() {
  nsenter -t "$LEADER" -m -u -i -n -p -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
state=""
for _ in $(seq 1 150); do
  state="$(ct systemctl is-system-running 2>/dev/null || true)"
  case "$state" in running|degraded) break ;; esac
  sleep 0.2
done
echo "container systemd: $state"
case "$state" in
  running|degraded) ;;
  *) tail -n 30 "$WORK/console.log" >&2; fail "the container's systemd did not finish booting ($state)" ;;
esac
if [ "$state" = degraded ]; then ct systemctl --failed --no-legend || true; fi

step "apt install ./$(basename "$DEB") in the container"
ct apt-get update -q >/dev/null
ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/root/$(basename "$DEB")" | tail -n 3
enabled="$(ct systemctl is-enabled strongroom.service || true)"
active="$(ct systemctl is-active strongroom.service || true)"
echo "after install: $enabled, $active"
[ "$enabled" = disabled ] || fail "the package enabled the unit"
[ "$active" = inactive ] || fail "the package started the unit"
ct strongroom --help >/dev/null || fail "strongroom --help"
ct systemd-analyze security strongroom.service | tail -n 1

step "token, TLS, policies (operator guide sections 3-5)"
SR=(runuser -u strongroom -- env SOFTHSM2_CONF=/etc/strongroom/softhsm2.conf)
ct "${SR[@]}" sh -c 'umask 077; od -An -N16 -tx1 /dev/urandom | tr -d " \n" > /var/lib/strongroom-token/pin'
# softhsm2-util takes the PINs as arguments here; the guide has it prompt.
ct "${SR[@]}" sh -c 'softhsm2-util --init-token --free --label strongroom \
  --pin "$(cat /var/lib/strongroom-token/pin)" --so-pin "$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")"' >/dev/null
rm -rf "$PKI"
"$ROOT/scripts/dev-pki.sh" "$PKI" >/dev/null
install -m 0644 "$PKI/server.pem" "$MACHINE/etc/strongroom/tls/server.pem"
install -m 0640 "$PKI/server.key" "$MACHINE/etc/strongroom/tls/server.key"
install -m 0644 "$PKI/ca.pem" "$MACHINE/etc/strongroom/tls/client-ca.pem"
ct chgrp strongroom /etc/strongroom/tls/server.key
sed -i "s/^listen = .*/listen = \"127.0.0.1:$PORT\"/" "$MACHINE/etc/strongroom/strongroom.toml"
ADMIN_FP="$(openssl x509 -in "$PKI/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')"
cat > "$MACHINE/etc/strongroom/policies/identities.json" <<JSON
{
  "certificates": [ {"sha256": "$ADMIN_FP", "user": "admin"} ],
  "bindings": [ {"service": "demo-service", "role": "Decrypter", "namespace": "default"} ]
}
JSON

step "strongroom init"
ct "${SR[@]}" strongroom init --pin-file /var/lib/strongroom-token/pin |
  grep -v -i 'password' || fail "strongroom init"

step "systemctl enable --now strongroom"
ct systemctl enable --now strongroom.service 2>&1 | tail -n 1 || true
active="$(ct systemctl is-active strongroom.service || true)"
if [ "$active" != active ]; then
  ct journalctl -u strongroom.service --no-pager | tail -n 30 >&2
  fail "strongroom.service is $active"
fi
ct systemctl show strongroom.service -p StatusText -p MainPID -p LimitMEMLOCK -p NRestarts

CA=(--cacert "$PKI/ca.pem")
ADMIN=(curl -sS "${CA[@]}" --cert "$PKI/admin.pem" --key "$PKI/admin.key")
SVC=(curl -sS "${CA[@]}" --cert "$PKI/decrypter.pem" --key "$PKI/decrypter.key")
SV="$BASE/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues"
code="$(curl -sS "${CA[@]}" -o /dev/null -w '%{http_code}' "$BASE/readyz")"
[ "$code" = 200 ] || fail "GET /readyz answered $code right after systemctl start"

step "create and decrypt over mutual TLS from the host"
VALUE="boot-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
code="$("${ADMIN[@]}" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d "{\"metadata\":{\"name\":\"boot-secret\"},\"spec\":{\"description\":\"boot test\",\"value\":\"$VALUE\",\"decrypters\":[\"demo-service\",\"reload-service\"]}}" "$SV")"
[ "$code" = 201 ] || fail "create answered $code"
got="$("${SVC[@]}" -X POST "$SV/boot-secret/decrypt")"
[ "$got" = "{\"name\":\"boot-secret\",\"value\":\"$VALUE\"}" ] || fail "decrypt returned something else"
echo "create 201, decrypt returned the value"
"${ADMIN[@]}" -o "$WORK/audit-key.pem" "$BASE/api/audit/public-key"

step "systemctl reload re-reads the policies"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/reload.key" 2>/dev/null
openssl req -new -key "$PKI/reload.key" -subj "/CN=reload-service" -out "$PKI/reload.csr"
printf 'extendedKeyUsage = clientAuth\n' > "$PKI/reload.ext"
openssl x509 -req -in "$PKI/reload.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
  -days 1 -extfile "$PKI/reload.ext" -out "$PKI/reload.pem" 2>/dev/null
RELOAD=(curl -sS "${CA[@]}" --cert "$PKI/reload.pem" --key "$PKI/reload.key")
before="$("${RELOAD[@]}" -o /dev/null -w '%{http_code}' -X POST "$SV/boot-secret/decrypt")"
cat > "$MACHINE/etc/strongroom/policies/reload.json" <<'JSON'
{"bindings": [{"service": "reload-service", "role": "Decrypter", "namespace": "default"}]}
JSON
ct systemctl reload strongroom.service
after=""
for _ in $(seq 1 50); do
  after="$("${RELOAD[@]}" -o /dev/null -w '%{http_code}' -X POST "$SV/boot-secret/decrypt")"
  [ "$after" = 200 ] && break
  sleep 0.1
done
echo "reload-service decrypt: $before before systemctl reload, $after after"
[ "$before" = 403 ] && [ "$after" = 200 ] || fail "reload did not take effect"
[ "$(ct systemctl is-active strongroom.service)" = active ] || fail "not active after reload"

step "systemctl stop seals the audit log"
# (the container's /tmp is its own tmpfs: the key goes beside the config)
install -m 0644 "$WORK/audit-key.pem" "$MACHINE/etc/strongroom/audit-key.pem"
ct systemctl stop strongroom.service
ct systemctl show strongroom.service -p Result -p ExecMainStatus
result="$(ct systemctl show strongroom.service -p Result --value)"
[ "$result" = success ] || fail "the service stopped with result $result"
ct runuser -u strongroom -- strongroom audit verify --log /var/lib/strongroom/audit \
  --public-key /etc/strongroom/audit-key.pem --require-sealed || fail "the audit log is not sealed"
ct journalctl -u strongroom.service --no-pager -o cat | grep -E '"msg":"(serving|shutting down|stopped)"' |
  cut -c1-300 || true

echo "systemd-boot-test: PASS"
