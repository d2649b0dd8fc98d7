#!/usr/bin/env bash
# The package from a clean checkout on a bare Debian 12 (outside CI; needs
# root and network access to Debian's mirror): makes a Debian 12 root with
# mmdebstrap holding only git, curl and ca-certificates (the minbase variant),
# clones this repository's committed HEAD into it, and there runs
# scripts/package.sh (which installs its own build dependencies and compiles
# without any cache), `apt install ./dist/strongroom_*.deb`, `strongroom
# --help` and `man strongroom` (man-db installed first: a bare root has no
# man). Prints how long each step took.
#   scripts/bare-package-test.sh
#   STRONGROOM_BARE_DIR    work directory (default /var/tmp/strongroom-bare)
#   STRONGROOM_BARE_KEEP=1 keep the root after the run
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "bare-package-test: needs root (mmdebstrap, systemd-nspawn)" >&2
  exit 2
fi
WORK="${STRONGROOM_BARE_DIR:-/var/tmp/strongroom-bare}"
BARE="$WORK/root"
START=$SECONDS
step() { echo "== [$((SECONDS - START)) s] $*"; }
fail() { echo "bare-package-test: FAIL: $*" >&2; exit 1; }
cleanup() { if [ "${STRONGROOM_BARE_KEEP:-0}" != "1" ]; then rm -rf "$BARE"; fi; }
trap cleanup EXIT

step "tools"
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ "${#need[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

step "bare Debian 12 root: minbase with git, curl, ca-certificates"
mkdir -p "$WORK"
rm -rf "$BARE"
mmdebstrap --variant=minbase --include=git,curl,ca-certificates \
  bookworm "$BARE" http://deb.debian.org/debian >"$WORK/mmdebstrap.log" 2>&1 ||
  { tail -n 20 "$WORK/mmdebstrap.log" >&2; fail "mmdebstrap"; }

step "the repository's committed HEAD, as a bare clone in the root"
commit="$(git -C "$ROOT" rev-parse HEAD)"
git clone -q --bare "$ROOT" "$BARE/srv/strongroom.git"
echo "HEAD $commit ($(git -C "$ROOT" log -1 --format=%s | cut -c1-70))"

# in_root CMD: runs CMD (a shell command) in the root, as root, with the
# host's network (the container shares it) and no cache of any kind.
in_root() {
  systemd-nspawn --quiet --keep-unit --register=no --directory="$BARE" \
    --setenv=DEBIAN_FRONTEND=noninteractive /bin/sh -c "$1"
}

step "git clone and scripts/package.sh in the root (no ccache: a full build)"
t0=$SECONDS
in_root "git clone -q /srv/strongroom.git /root/strongroom && cd /root/strongroom &&
  git checkout -q $commit && scripts/package.sh" >"$WORK/package.log" 2>&1 ||
  { tail -n 40 "$WORK/package.log" >&2; fail "scripts/package.sh in the bare root"; }
package_seconds=$((SECONDS - t0))
grep -E '^(built|lintian:)' "$WORK/package.log" || true
grep -E '^[EW]: ' "$WORK/package.log" || true
deb="$(cd "$BARE/root/strongroom" && ls dist/strongroom_*_amd64.deb | tail -n 1)"
[ -n "$deb" ] || fail "no package in dist/"

step "apt install ./$deb, strongroom --help, man strongroom"
in_root "cd /root/strongroom && apt-get install -y -q ./$deb >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log; exit 1; }
  strongroom --help | head -n 3
  apt-get install -y -q --no-install-recommends man-db >/dev/null 2>&1
  MANPAGER=cat MANWIDTH=80 man strongroom 2>/dev/null | sed -n '1,12p'
  MANPAGER=cat man strongroom 2>/dev/null | grep -q 'strongroom tokend' || { echo 'man page lacks tokend'; exit 1; }
  getent passwd strongroom strongroom-tokend | cut -d: -f1,3,6,7
  systemctl is-enabled strongroom.service strongroom-tokend.service 2>/dev/null || true" ||
  fail "install, --help or man in the bare root"

echo "bare-package-test: PASS in $((SECONDS - START)) s (package.sh: $package_seconds s)"
