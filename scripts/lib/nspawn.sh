# scripts/lib/nspawn.sh — sourced (not run) by scripts/systemd-boot-test.sh
# and scripts/systemd-upgrade-test.sh: a Debian 12 root made with mmdebstrap,
# booted under `systemd-nspawn --boot` on a host that runs no systemd, and
# the packaged appliance set up in it as docs/operator-guide.md says (the
# token behind strongroom-tokend).
#
# Requires: ROOT (the checkout). Needs root. Sets and uses:
#   WORK     work directory (STRONGROOM_BOOT_DIR, default
#            /var/tmp/strongroom-boot); the mmdebstrap tarball is cached there
#   MACHINE  the container's root ($WORK/root), PKI its PKI ($WORK/pki)
#   LEADER   the container's PID 1 (seen from the host), once booted
#   PORT, BASE  the appliance's port and https://127.0.0.1:PORT (the
#            container shares the host's network)
# Every function fails (exit 1) with a message; none prints a secret value.

WORK="${STRONGROOM_BOOT_DIR:-/var/tmp/strongroom-boot}"
TARBALL="$WORK/bookworm.tar"
MACHINE="$WORK/root"
PKI="$WORK/pki"
NSPAWN="" LEADER=""
TOKEND_SOCKET=/run/strongroom-tokend/tokend.sock
# Commands as the appliance's user, through tokend (operator guide, section 5).
SR=(runuser -u strongroom --)
TOKEN_SERVICE=(--token-service "unix:$TOKEND_SOCKET")

step() { echo "== $*"; }
fail() { echo "$(basename "$0"): FAIL: $*" >&2; exit 1; }

# nspawn_prepare: the tools, and the Debian 12 root (cached as a tarball).
nspawn_prepare() {
  mkdir -p "$WORK"
  step "tools"
  local need=()
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
  # A machine id, so that journald and systemd start as on a real host.
  systemd-machine-id-setup --root="$MACHINE" >/dev/null
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  BASE="https://127.0.0.1:$PORT"
}

nspawn_cleanup() {
  if [ -n "$LEADER" ] && [ -d "/proc/$LEADER" ]; then
    nsenter -t "$LEADER" -m -u -i -n -p -- systemctl poweroff >/dev/null 2>&1 || true
  fi
  if [ -n "$NSPAWN" ]; then
    for _ in $(seq 1 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
    kill -TERM "$NSPAWN" 2>/dev/null || true
    wait "$NSPAWN" 2>/dev/null || true
  fi
  if [ "${STRONGROOM_BOOT_KEEP:-0}" != "1" ]; then rm -rf "$MACHINE"; fi
}

# find_leader: the container's init, the descendant of systemd-nspawn named
# systemd.
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

# ct CMD...: runs CMD inside the container (its mount, pid, network, ipc and
# uts namespaces), with a plain environment.
ct() {
  nsenter -t "$LEADER" -m -u -i -n -p -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# nspawn_boot NAME: boots $MACHINE and waits for its systemd to be running.
# The caller traps EXIT to nspawn_cleanup.
nspawn_boot() {
  local name="$1" state=""
  step "boot (systemd-nspawn --boot; console log in $WORK/console.log)"
  # The host runs no systemd and no system bus: without --keep-unit and
  # --register=no, nspawn asks the bus for a scope ("Failed to open system
  # bus: No such file or directory") and gives up. nspawn's own seccomp filter
  # refuses mlock() with EPERM in a container without CAP_IPC_LOCK; on a host
  # mlock() is allowed up to RLIMIT_MEMLOCK, so the container allows @memlock
  # (the limit, 8 MiB hard here, still applies).
  systemd-nspawn --boot --keep-unit --register=no --system-call-filter=@memlock \
    --directory="$MACHINE" --machine="$name" --console=passive >"$WORK/console.log" 2>&1 &
  NSPAWN=$!
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
}

# nspawn_apt_install DEB: copies DEB into the container and installs it with
# apt (which also installs its dependencies).
nspawn_apt_install() {
  local deb="$1"
  cp "$deb" "$MACHINE/root/"
  ct apt-get update -q >/dev/null
  ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/root/$(basename "$deb")" | tail -n 3
}

# appliance_setup: the token as strongroom-tokend, TLS, policies, tokend
# started, `strongroom init` through it, then both units enabled and started
# (operator guide, sections 3-6). Sets ADMIN, SVC (curl with the admin's and
# the service demo-service's certificates) and SV (the securevalues URL).
appliance_setup() {
  step "token as strongroom-tokend, TLS, policies (operator guide sections 3-4)"
  local tk=(runuser -u strongroom-tokend -- env SOFTHSM2_CONF=/etc/strongroom/softhsm2.conf)
  ct "${tk[@]}" sh -c 'umask 077; od -An -N16 -tx1 /dev/urandom | tr -d " \n" > /var/lib/strongroom-token/pin'
  # softhsm2-util takes the PINs as arguments here; the guide has it prompt.
  ct "${tk[@]}" sh -c 'softhsm2-util --init-token --free --label strongroom \
    --pin "$(cat /var/lib/strongroom-token/pin)" --so-pin "$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")"' >/dev/null
  rm -rf "$PKI"
  "$ROOT/scripts/dev-pki.sh" "$PKI" >/dev/null
  install -m 0644 "$PKI/server.pem" "$MACHINE/etc/strongroom/tls/server.pem"
  install -m 0640 "$PKI/server.key" "$MACHINE/etc/strongroom/tls/server.key"
  install -m 0644 "$PKI/ca.pem" "$MACHINE/etc/strongroom/tls/client-ca.pem"
  ct chgrp strongroom /etc/strongroom/tls/server.key
  sed -i "s/^listen = .*/listen = \"127.0.0.1:$PORT\"/" "$MACHINE/etc/strongroom/strongroom.toml"
  local admin_fp
  admin_fp="$(openssl x509 -in "$PKI/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')"
  cat > "$MACHINE/etc/strongroom/policies/identities.json" <<JSON
{
  "certificates": [ {"sha256": "$admin_fp", "user": "admin"} ],
  "bindings": [ {"service": "demo-service", "role": "Decrypter", "namespace": "default"} ]
}
JSON

  step "systemctl enable --now strongroom-tokend"
  ct systemctl enable --now strongroom-tokend.service 2>&1 | tail -n 1 || true
  if [ "$(ct systemctl is-active strongroom-tokend.service || true)" != active ]; then
    ct journalctl -u strongroom-tokend.service --no-pager | tail -n 30 >&2
    fail "strongroom-tokend.service is not active"
  fi
  ct systemctl show strongroom-tokend.service -p StatusText -p MainPID -p User

  step "strongroom init (as strongroom, through tokend)"
  ct "${SR[@]}" strongroom init "${TOKEN_SERVICE[@]}" | grep -v -i 'password' ||
    fail "strongroom init"

  step "systemctl enable --now strongroom"
  ct systemctl enable --now strongroom.service 2>&1 | tail -n 1 || true
  if [ "$(ct systemctl is-active strongroom.service || true)" != active ]; then
    ct journalctl -u strongroom.service --no-pager | tail -n 30 >&2
    fail "strongroom.service is not active"
  fi
  ct systemctl show strongroom.service -p StatusText -p MainPID -p LimitMEMLOCK -p NRestarts

  local ca=(--cacert "$PKI/ca.pem") code
  ADMIN=(curl -sS "${ca[@]}" --cert "$PKI/admin.pem" --key "$PKI/admin.key")
  SVC=(curl -sS "${ca[@]}" --cert "$PKI/decrypter.pem" --key "$PKI/decrypter.key")
  SV="$BASE/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues"
  code="$(curl -sS "${ca[@]}" -o /dev/null -w '%{http_code}' "$BASE/readyz")"
  [ "$code" = 200 ] || fail "GET /readyz answered $code right after systemctl start"
}

# create_secret NAME VALUE: creates NAME (decrypters demo-service and
# reload-service) over mutual TLS from the host; fails unless 201.
create_secret() {
  local name="$1" value="$2" code
  code="$("${ADMIN[@]}" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"metadata\":{\"name\":\"$name\"},\"spec\":{\"description\":\"nspawn test\",\"value\":\"$value\",\"decrypters\":[\"demo-service\",\"reload-service\"]}}" "$SV")"
  [ "$code" = 201 ] || fail "create $name answered $code"
}

# expect_decrypts NAME VALUE: demo-service decrypts NAME to VALUE over mutual
# TLS from the host (the value itself is never printed).
expect_decrypts() {
  local name="$1" value="$2" got
  got="$("${SVC[@]}" -X POST "$SV/$name/decrypt")"
  [ "$got" = "{\"name\":\"$name\",\"value\":\"$value\"}" ] || fail "decrypt of $name returned something else"
}

# privilege_checks: the appliance cannot reach the token's files, does not
# map the PKCS#11 module, is not in tokend's group; the socket's directory
# keeps other users out.
privilege_checks() {
  step "privilege boundary in the container"
  local app_pid tokend_pid
  app_pid="$(ct systemctl show strongroom.service -p MainPID --value)"
  tokend_pid="$(ct systemctl show strongroom-tokend.service -p MainPID --value)"
  ct stat -c '%n %U:%G %a' /var/lib/strongroom-token /var/lib/strongroom-token/pin \
    /run/strongroom-tokend "$TOKEND_SOCKET" /var/lib/strongroom
  [ "$(ct stat -c '%U:%G %a' /var/lib/strongroom-token)" = "strongroom-tokend:strongroom-tokend 700" ] ||
    fail "the token directory is not strongroom-tokend's, 0700"
  [ "$(ct stat -c '%U %a' /var/lib/strongroom-token/pin)" = "strongroom-tokend 600" ] ||
    fail "the PIN file is not strongroom-tokend's, 0600"
  if ct id -nG strongroom | grep -qw strongroom-tokend; then fail "strongroom is in tokend's group"; fi
  if ct "${SR[@]}" ls /var/lib/strongroom-token >/dev/null 2>&1 ||
     ct "${SR[@]}" cat /var/lib/strongroom-token/pin >/dev/null 2>&1; then
    fail "the user strongroom can read the token directory or the PIN file"
  fi
  echo "strongroom: $(ct "${SR[@]}" cat /var/lib/strongroom-token/pin 2>&1 | sed 's/.*: //')" \
       "on the PIN file"
  if ct runuser -u nobody -- stat "$TOKEND_SOCKET" >/dev/null 2>&1; then
    fail "the user nobody can reach tokend's socket"
  fi
  if ct grep -q libsofthsm2 "/proc/$app_pid/maps"; then fail "libsofthsm2.so is mapped in strongroom serve"; fi
  ct grep -q libsofthsm2 "/proc/$tokend_pid/maps" || fail "libsofthsm2.so is not mapped in tokend"
  echo "serve (pid $app_pid, user $(ct stat -c %U "/proc/$app_pid")) maps no libsofthsm2.so;" \
       "tokend (pid $tokend_pid, user $(ct stat -c %U "/proc/$tokend_pid")) does;" \
       "nobody cannot reach the socket"
}
