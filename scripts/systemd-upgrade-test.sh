#!/usr/bin/env bash
# A package upgrade under a real systemd (outside CI; needs root). In a
# Debian 12 root booted with `systemd-nspawn --boot` (scripts/lib/nspawn.sh):
#   1. apt installs the OLDER package; the token is set up as
#      strongroom-tokend, `strongroom init` runs through tokend, both units
#      are enabled and started; a secret is created and decrypted over mutual
#      TLS from the host;
#   2. the "operator" edits /etc/strongroom/strongroom.toml (a comment and
#      idle_timeout_ms) and restarts the server, which then reports the edit
#      in /api/admin/settings;
#   3. `dpkg -i` of the NEWER package, with both units running.
# Then it checks: the edited conffile is kept byte for byte (no .dpkg-dist,
# the setting still in force); the token directory's files are unchanged
# (inode and SHA-256 of every file, the KEK ids and the audit key), apart
# from the trust anchor's generations, which a server stop and start rewrite
# by design (SPEC 8); the store keeps its inode and every audit file the
# old log had is a prefix of the new one; both units were restarted by the
# package (MainPID and ActiveEnterTimestamp changed, by debhelper's
# restart-after-upgrade, not by this script); the secret still decrypts;
# after `systemctl stop` the audit log verifies offline, sealed.
#   scripts/systemd-upgrade-test.sh [OLD_DEB NEW_DEB]
# Without arguments it builds both with scripts/package.sh
# (STRONGROOM_DEB_VERSION 0.1.0~upgrade1 and 0.1.0+upgrade2: the same
# binary, two package versions).
#   STRONGROOM_BOOT_DIR, STRONGROOM_BOOT_KEEP: as scripts/systemd-boot-test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "systemd-upgrade-test: needs root (mmdebstrap, systemd-nspawn, nsenter)" >&2
  exit 2
fi
if [ "$#" -eq 2 ]; then
  OLD_DEB="$(realpath "$1")" NEW_DEB="$(realpath "$2")"
elif [ "$#" -eq 0 ]; then
  version="$(sed -n 's/^project(strongroom VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")"
  for v in "$version~upgrade1" "$version+upgrade2"; do
    echo "== scripts/package.sh with STRONGROOM_DEB_VERSION=$v"
    STRONGROOM_DEB_VERSION="$v" STRONGROOM_SKIP_LINTIAN=1 "$ROOT/scripts/package.sh" >"/tmp/package-$v.log" 2>&1 ||
      { tail -n 30 "/tmp/package-$v.log" >&2; exit 1; }
  done
  OLD_DEB="$ROOT/dist/strongroom_${version}~upgrade1_amd64.deb"
  NEW_DEB="$ROOT/dist/strongroom_${version}+upgrade2_amd64.deb"
else
  echo "usage: $0 [OLD_DEB NEW_DEB]" >&2
  exit 2
fi
# shellcheck source=scripts/lib/nspawn.sh
. "$ROOT/scripts/lib/nspawn.sh"
old_version="$(dpkg-deb -f "$OLD_DEB" Version)"
new_version="$(dpkg-deb -f "$NEW_DEB" Version)"
dpkg --compare-versions "$new_version" gt "$old_version" ||
  fail "$new_version is not newer than $old_version"
echo "upgrade: $old_version -> $new_version"

nspawn_prepare
trap nspawn_cleanup EXIT
nspawn_boot strongroom-upgrade

step "apt install ./$(basename "$OLD_DEB") (the older package)"
nspawn_apt_install "$OLD_DEB"
appliance_setup
privilege_checks
VALUE="upgrade-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
create_secret upgrade-secret "$VALUE"
expect_decrypts upgrade-secret "$VALUE"
echo "create 201, decrypt returned the value"
"${ADMIN[@]}" -o "$WORK/audit-key.pem" "$BASE/api/audit/public-key"

step "the operator edits the conffile and restarts the server"
CONF=/etc/strongroom/strongroom.toml
sed -i -e 's/^#idle_timeout_ms = 60000$/idle_timeout_ms = 45000/' "$MACHINE$CONF"
printf '# Edited by the operator on %s: shorter idle timeout.\n' "$(date -u +%F)" >>"$MACHINE$CONF"
grep -q '^idle_timeout_ms = 45000$' "$MACHINE$CONF" || fail "could not edit $CONF"
ct systemctl restart strongroom.service
settings_idle() {
  "${ADMIN[@]}" "$BASE/api/admin/settings" | grep -o '"idle_timeout_ms": *"\?[0-9]*' |
    cut -d: -f2 | tr -dc '0-9'
}
[ "$(settings_idle)" = 45000 ] || fail "the edited idle_timeout_ms is not in force"
echo "idle_timeout_ms in /api/admin/settings: 45000 (edited)"

# snapshot: what the upgrade must keep, as text the script compares.
snapshot() {
  local out="$1"
  mkdir -p "$out"
  # every file of the token directory: inode, size, SHA-256, name
  ct sh -c 'cd /var/lib/strongroom-token && find . -type f | sort |
    while read -r f; do printf "%s %s %s %s\n" "$(stat -c %i "$f")" "$(stat -c %s "$f")" \
      "$(sha256sum < "$f" | cut -c1-64)" "$f"; done' >"$out/token.txt"
  # the KEKs (the section before "Data keys"), read through tokend
  ct "${SR[@]}" strongroom keys list "${TOKEN_SERVICE[@]}" |
    awk '/^Data keys/ { exit } { print }' >"$out/keks.txt"
  grep -q 'yes' "$out/keks.txt" || fail "keys list shows no KEK"
  "${ADMIN[@]}" "$BASE/api/audit/public-key" >"$out/audit-key.txt"
  ct stat -c '%i %n' /var/lib/strongroom/store/data.mdb >"$out/store-inode.txt"
  ct sh -c 'cd /var/lib/strongroom/audit && for f in *; do printf "%s %s\n" "$(stat -c %s "$f")" "$f"; done' \
    >"$out/audit-sizes.txt"
  rm -rf "$out/audit" && cp -a "$MACHINE/var/lib/strongroom/audit" "$out/audit"
  sha256sum <"$MACHINE$CONF" | cut -c1-64 >"$out/conffile.txt"
  for unit in strongroom-tokend.service strongroom.service; do
    ct systemctl show "$unit" -p MainPID -p ActiveEnterTimestamp -p ActiveState >"$out/$unit.txt"
  done
  ct stat -c '%i %Y' /usr/bin/strongroom >"$out/binary.txt"
  ct dpkg-query -W -f '${Version}\n' strongroom >"$out/version.txt"
}
step "snapshot before the upgrade"
snapshot "$WORK/before"
sed 's/^/  /' "$WORK/before/strongroom.service.txt" "$WORK/before/strongroom-tokend.service.txt"

step "dpkg -i $(basename "$NEW_DEB") with both units running"
cp "$NEW_DEB" "$MACHINE/root/"
ct env DEBIAN_FRONTEND=noninteractive dpkg -i "/root/$(basename "$NEW_DEB")" </dev/null 2>&1 |
  tee "$WORK/dpkg-upgrade.log" | sed 's/^/  /'
for _ in $(seq 1 100); do
  [ "$(ct systemctl is-active strongroom.service || true)" = active ] && break
  sleep 0.2
done
step "snapshot after the upgrade"
snapshot "$WORK/after"
sed 's/^/  /' "$WORK/after/strongroom.service.txt" "$WORK/after/strongroom-tokend.service.txt"
B="$WORK/before" A="$WORK/after"

step "checks"
[ "$(cat "$A/version.txt")" = "$new_version" ] || fail "installed version is $(cat "$A/version.txt")"
[ "$(cat "$B/binary.txt")" != "$(cat "$A/binary.txt")" ] || fail "dpkg did not replace /usr/bin/strongroom"
echo "package $(cat "$B/version.txt") -> $(cat "$A/version.txt"); /usr/bin/strongroom replaced" \
     "(inode $(cut -d' ' -f1 "$B/binary.txt") -> $(cut -d' ' -f1 "$A/binary.txt"))"

# The conffile: kept byte for byte, no new copy beside it, still in force.
cmp -s "$B/conffile.txt" "$A/conffile.txt" || fail "the edited conffile changed"
leftovers="$(ct find /etc/strongroom /etc/default -name '*.dpkg-*' | tr '\n' ' ')"
[ -z "$leftovers" ] || fail "dpkg left $leftovers"
[ "$(settings_idle)" = 45000 ] || fail "the edited idle_timeout_ms is no longer in force"
echo "conffile: the operator's edit kept (same SHA-256, no .dpkg-dist/.dpkg-new), idle_timeout_ms 45000 in force"

# Both units restarted by the package.
for unit in strongroom-tokend.service strongroom.service; do
  grep -q '^ActiveState=active$' "$A/$unit.txt" || fail "$unit is not active after the upgrade"
  b_pid="$(sed -n 's/^MainPID=//p' "$B/$unit.txt")" a_pid="$(sed -n 's/^MainPID=//p' "$A/$unit.txt")"
  b_ts="$(sed -n 's/^ActiveEnterTimestamp=//p' "$B/$unit.txt")"
  a_ts="$(sed -n 's/^ActiveEnterTimestamp=//p' "$A/$unit.txt")"
  [ "$b_pid" != "$a_pid" ] && [ "$b_ts" != "$a_ts" ] || fail "$unit was not restarted"
  echo "$unit restarted: MainPID $b_pid -> $a_pid, ActiveEnterTimestamp '$b_ts' -> '$a_ts'"
done
grep -q 'restart' "$WORK/dpkg-upgrade.log" && echo "(dpkg output mentions a restart)" || true

# The token: same KEKs, same audit key; files by inode and SHA-256.
cmp -s "$B/keks.txt" "$A/keks.txt" || fail "the KEKs differ after the upgrade"
cmp -s "$B/audit-key.txt" "$A/audit-key.txt" || fail "the audit key differs after the upgrade"
same=0 changed=0 counters=0 removed=0 added=0
while read -r inode size sum name; do
  line="$(grep -F " $name" "$A/token.txt" | awk -v n="$name" '$4 == n' || true)"
  if [ -z "$line" ]; then
    removed=$((removed + 1))
  elif [ "$line" = "$inode $size $sum $name" ]; then
    same=$((same + 1))
  else
    # SoftHSM's token-wide counters (token.object, generation) change in
    # place whenever an object is created or destroyed; key objects never do.
    case "$(basename "$name")" in
      generation|token.object) counters=$((counters + 1)) ;;
      *) changed=$((changed + 1)) ;;
    esac
    echo "  changed in place: $name (inode $inode kept)"
  fi
done <"$B/token.txt"
added="$(awk 'NR==FNR { seen[$4] = 1; next } !($4 in seen)' "$B/token.txt" "$A/token.txt" | wc -l)"
echo "token directory: $(wc -l <"$B/token.txt") files before, $(wc -l <"$A/token.txt") after;" \
     "$same unchanged (inode and SHA-256), $counters SoftHSM counters and $changed other files" \
     "changed in place, $removed removed, $added added (the anchor's new generation)"
echo "  (KEK list and audit public key identical)"
[ "$changed" = 0 ] || fail "token files other than SoftHSM's counters were changed in place"
[ "$removed" = "$added" ] || fail "the upgrade removed $removed token files and added $added"

# The store and the audit log: same store file; the log only grew.
cmp -s "$B/store-inode.txt" "$A/store-inode.txt" || fail "the store file was replaced"
for f in "$B"/audit/*; do
  name="$(basename "$f")"
  [ -f "$A/audit/$name" ] || fail "audit file $name disappeared"
  size="$(stat -c %s "$f")"
  cmp -s -n "$size" "$f" "$A/audit/$name" || fail "audit file $name was rewritten, not appended to"
done
echo "store: data.mdb kept its inode; audit log: every file of the old log is a prefix of the new one"

step "the secret still decrypts; the log verifies offline after a stop"
expect_decrypts upgrade-secret "$VALUE"
echo "decrypt after the upgrade returned the value"
install -m 0644 "$WORK/audit-key.pem" "$MACHINE/etc/strongroom/audit-key.pem"
ct systemctl stop strongroom.service
ct runuser -u strongroom -- strongroom audit verify --log /var/lib/strongroom/audit \
  --public-key /etc/strongroom/audit-key.pem --require-sealed || fail "the audit log does not verify"
rm -f "$MACHINE/etc/strongroom/audit-key.pem"

echo "systemd-upgrade-test: PASS"
