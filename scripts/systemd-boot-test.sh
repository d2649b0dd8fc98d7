#!/usr/bin/env bash
# The package under a real systemd (outside CI; needs root): boots a Debian 12
# root made with mmdebstrap under `systemd-nspawn --boot`, installs
# dist/strongroom_*_amd64.deb in it with apt, checks that the install started
# nothing, sets up the token (as strongroom-tokend) and TLS as
# docs/operator-guide.md says, starts strongroom-tokend, runs `strongroom
# init` through it, `systemctl enable --now strongroom`, checks the privilege
# boundary (the appliance cannot read the token's files nor maps the PKCS#11
# module), then from outside the container (it shares the host's network)
# creates and decrypts a secret over mutual TLS, checks that `systemctl
# reload` re-reads the policies, and that `systemctl stop` leaves a sealed
# audit log. Finally `apt purge` removes both users and /etc/strongroom and
# keeps the data and token directories.
#   scripts/systemd-boot-test.sh [DEB]
#   STRONGROOM_BOOT_DIR   work directory (default /var/tmp/strongroom-boot);
#                         the mmdebstrap tarball is cached there
#   STRONGROOM_BOOT_KEEP=1  keep the container's root after the run
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEB="${1:-$(ls "$ROOT"/dist/strongroom_*_amd64.deb 2>/dev/null | sort -V | tail -n 1)}"
if [ -z "$DEB" ] || [ ! -f "$DEB" ]; then
  echo "systemd-boot-test: no package; run scripts/package.sh first" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "systemd-boot-test: needs root (mmdebstrap, systemd-nspawn, nsenter)" >&2
  exit 2
fi
# shellcheck source=scripts/lib/nspawn.sh
. "$ROOT/scripts/lib/nspawn.sh"

nspawn_prepare
trap nspawn_cleanup EXIT
nspawn_boot strongroom-boot

step "apt install ./$(basename "$DEB") in the container"
nspawn_apt_install "$DEB"
for unit in strongroom-tokend.service strongroom.service; do
  enabled="$(ct systemctl is-enabled "$unit" || true)"
  active="$(ct systemctl is-active "$unit" || true)"
  echo "after install: $unit $enabled, $active"
  [ "$enabled" = disabled ] || fail "the package enabled $unit"
  [ "$active" = inactive ] || fail "the package started $unit"
done
ct strongroom --help >/dev/null || fail "strongroom --help"
ct systemd-analyze security strongroom.service | tail -n 1
ct systemd-analyze security strongroom-tokend.service | tail -n 1

appliance_setup
privilege_checks

step "create and decrypt over mutual TLS from the host"
VALUE="boot-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
create_secret boot-secret "$VALUE"
expect_decrypts boot-secret "$VALUE"
echo "create 201, decrypt returned the value"
"${ADMIN[@]}" -o "$WORK/audit-key.pem" "$BASE/api/audit/public-key"

step "systemctl reload re-reads the policies"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/reload.key" 2>/dev/null
openssl req -new -key "$PKI/reload.key" -subj "/CN=reload-service" -out "$PKI/reload.csr"
printf 'extendedKeyUsage = clientAuth\n' > "$PKI/reload.ext"
openssl x509 -req -in "$PKI/reload.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
  -days 1 -extfile "$PKI/reload.ext" -out "$PKI/reload.pem" 2>/dev/null
RELOAD=(curl -sS --cacert "$PKI/ca.pem" --cert "$PKI/reload.pem" --key "$PKI/reload.key")
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
ct systemctl stop strongroom-tokend.service
result="$(ct systemctl show strongroom-tokend.service -p Result --value)"
[ "$result" = success ] || fail "tokend stopped with result $result"

step "apt purge: users and configuration go, data and token stay"
ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q strongroom | tail -n 2
for user in strongroom strongroom-tokend; do
  if ct getent passwd "$user" >/dev/null || ct getent group "$user" >/dev/null; then
    fail "purge left the user or group $user"
  fi
done
[ ! -e "$MACHINE/etc/strongroom" ] || fail "purge left /etc/strongroom"
[ ! -e "$MACHINE/etc/default/strongroom-tokend" ] || fail "purge left /etc/default/strongroom-tokend"
[ -f "$MACHINE/var/lib/strongroom/store/data.mdb" ] || fail "purge removed the store"
[ -f "$MACHINE/var/lib/strongroom-token/pin" ] && [ -d "$MACHINE/var/lib/strongroom-token/tokens" ] ||
  fail "purge removed the token directory"
echo "after purge: no strongroom or strongroom-tokend user, no /etc/strongroom;" \
     "/var/lib/strongroom and /var/lib/strongroom-token kept"

echo "systemd-boot-test: PASS"
