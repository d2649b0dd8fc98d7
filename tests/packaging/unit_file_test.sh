#!/usr/bin/env bash
# Checks debian/strongroom.service from the source tree, with no package
# built and no systemd running (PID 1 is not systemd on these machines):
#   unit_file_test.sh security UNIT   exposure (systemd-analyze security
#                                     --offline=true) at most 2.0
#   unit_file_test.sh verify UNIT     the unit parses: systemd-analyze
#                                     verify, in a scratch root, reports
#                                     nothing about the file
#   unit_file_test.sh self-check UNIT both checks fail on planted faults (a
#                                     unit without hardening; an unknown key
#                                     and a bad value), so they can fail
set -euo pipefail
MODE="$1"
UNIT="$2"
MAX_EXPOSURE="2.0"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

# exposure_of UNIT: prints the overall exposure figure.
exposure_of() {
  systemd-analyze security --offline=true "$1" 2>&1 |
    sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p'
}

# check_security UNIT: 0 when the exposure is at most MAX_EXPOSURE, by both
# the figure printed and systemd-analyze's own --threshold (exposure x 10).
check_security() {
  local unit="$1" figure
  figure="$(exposure_of "$unit")"
  if [ -z "$figure" ]; then
    echo "no exposure figure for $unit:"
    systemd-analyze security --offline=true "$unit" 2>&1 | tail -5
    return 1
  fi
  echo "exposure of $(basename "$unit"): $figure (limit $MAX_EXPOSURE)"
  if ! awk -v f="$figure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(f <= m) }'; then
    return 1
  fi
  systemd-analyze security --offline=true --threshold=20 "$unit" >/dev/null 2>&1
}

# check_verify UNIT: 0 when systemd-analyze verify succeeds and says nothing
# about the file. verify needs the executables the unit names and the units
# it depends on: a scratch root holds a stand-in /usr/bin/strongroom, /bin/kill
# and a copy of the host's systemd units. Man pages are not checked (the
# man page is built by the package, not in the tree).
check_verify() {
  local unit="$1" root="$SCRATCH/root" name out
  name="$(basename "$unit")"
  rm -rf "$root"
  mkdir -p "$root/usr/bin" "$root/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system"
  printf '#!/bin/sh\nexit 0\n' > "$root/usr/bin/strongroom"
  chmod 755 "$root/usr/bin/strongroom"
  cp /bin/kill "$root/bin/kill"
  cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
  cp "$unit" "$root/etc/systemd/system/$name"
  if ! out="$(systemd-analyze verify --man=no --root="$root" \
                "$root/etc/systemd/system/$name" 2>&1)"; then
    echo "systemd-analyze verify failed for $name:"
    echo "$out"
    return 1
  fi
  # Unknown keys and unparsable values are only warnings ("ignoring"): any
  # line naming the file or the unit counts as a failure.
  if echo "$out" | grep -F -e "$name" >/dev/null; then
    echo "systemd-analyze verify reported problems in $name:"
    echo "$out" | grep -F -e "$name"
    return 1
  fi
  echo "systemd-analyze verify: $name parses cleanly"
}

case "$MODE" in
  security) check_security "$UNIT" ;;
  verify) check_verify "$UNIT" ;;
  self-check)
    weak="$SCRATCH/weak.service"
    printf '[Service]\nType=notify\nExecStart=/usr/bin/strongroom serve\n' > "$weak"
    if check_security "$weak"; then
      echo "FAIL: a unit without hardening passed the exposure check"
      exit 1
    fi
    broken="$SCRATCH/broken.service"
    sed -e 's/^ProtectSystem=strict/ProtectSystem=everything/' "$UNIT" > "$broken"
    printf 'NoSuchKey=yes\n' >> "$broken"
    if check_verify "$broken"; then
      echo "FAIL: a unit with an unknown key and a bad value passed verify"
      exit 1
    fi
    echo "self-check: both checks fail on planted faults"
    ;;
  *) echo "usage: $0 security|verify|self-check UNIT" >&2; exit 2 ;;
esac
