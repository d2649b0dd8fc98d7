#!/usr/bin/env bash
# Checks the package's systemd units (debian/strongroom.service,
# debian/strongroom-tokend.service) from the source tree, with no package
# built and no systemd running (PID 1 is not systemd on these machines):
#   unit_file_test.sh security UNIT [MAX]  exposure (systemd-analyze
#                                     security --offline=true) at most MAX
#                                     (default 2.0)
#   unit_file_test.sh verify UNIT     the unit parses: systemd-analyze
#                                     verify, in a scratch root holding the
#                                     package's other units, reports nothing
#                                     about the file
#   unit_file_test.sh self-check UNIT both checks fail on planted faults (a
#                                     unit without hardening; an unknown key
#                                     and a bad value), so they can fail
#   unit_file_test.sh tokend-wiring DEBIAN_DIR
#                                     tokend's unit, its environment file
#                                     and the server's configuration agree:
#                                     every ${VAR} of ExecStart is set in
#                                     strongroom-tokend.default, the socket
#                                     tokend listens on is [token] service,
#                                     its directory is the tmpfiles one
#                                     (0750, group strongroom), and the
#                                     server's unit requires tokend
set -euo pipefail
MODE="$1"
UNIT="$2"
MAX_EXPOSURE="${3:-2.0}"
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
  local threshold
  threshold="$(awk -v m="$MAX_EXPOSURE" 'BEGIN { printf "%d", m * 10 + 0.5 }')"
  systemd-analyze security --offline=true --threshold="$threshold" "$unit" >/dev/null 2>&1
}

# check_verify UNIT: 0 when systemd-analyze verify succeeds and says nothing
# about the file. verify needs the executables the unit names and the units
# it depends on: a scratch root holds a stand-in /usr/bin/strongroom, /bin/kill,
# a copy of the host's systemd units and the package's units (those beside
# the unit under test, as the package installs them: one requires the
# other). Man pages are not checked (the man page is built by the package,
# not in the tree).
check_verify() {
  local unit="$1" root="$SCRATCH/root" name out sibling
  name="$(basename "$unit")"
  rm -rf "$root"
  mkdir -p "$root/usr/bin" "$root/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system"
  printf '#!/bin/sh\nexit 0\n' > "$root/usr/bin/strongroom"
  chmod 755 "$root/usr/bin/strongroom"
  cp /bin/kill "$root/bin/kill"
  cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
  for sibling in "$UNIT_DIR"/strongroom*.service; do
    cp "$sibling" "$root/etc/systemd/system/$(basename "$sibling")"
  done
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

# unit_value FILE KEY: the values of KEY= in FILE, one a line, with
# continuation lines joined.
unit_value() {
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$1" | sed -n "s/^$2=//p"
}

# check_tokend_wiring DEBIAN_DIR: see the usage above.
check_tokend_wiring() {
  local dir="$1" exec socket service var problems=0
  exec="$(unit_value "$dir/strongroom-tokend.service" ExecStart)"
  for var in $(grep -o '\${[A-Z_]*}' <<<"$exec" | tr -d '${}' | sort -u); do
    if ! grep -q "^$var=." "$dir/strongroom-tokend.default"; then
      echo "ExecStart uses \${$var}, which strongroom-tokend.default does not set"
      problems=1
    fi
  done
  socket="$(sed -n 's/.*--socket \([^ ]*\).*/\1/p' <<<"$exec")"
  service="$(sed -n 's/^service = "\(.*\)"$/\1/p' "$dir/strongroom.toml")"
  if [ -z "$socket" ] || [ "unix:$socket" != "$service" ]; then
    echo "tokend listens on '$socket', the server's [token] service is '$service'"
    problems=1
  fi
  if ! grep -q "^d $(dirname "$socket") 0750 strongroom-tokend strongroom " \
      "$dir/strongroom.tmpfiles"; then
    echo "strongroom.tmpfiles does not make $(dirname "$socket") 0750 strongroom-tokend:strongroom"
    problems=1
  fi
  if ! grep -q "ReadWritePaths=.*$(dirname "$socket")" "$dir/strongroom-tokend.service"; then
    echo "tokend's unit cannot write $(dirname "$socket")"
    problems=1
  fi
  if ! unit_value "$dir/strongroom.service" Requires | grep -qw strongroom-tokend.service ||
     ! unit_value "$dir/strongroom.service" After | grep -qw strongroom-tokend.service; then
    echo "strongroom.service does not require and follow strongroom-tokend.service"
    problems=1
  fi
  [ "$problems" = 0 ] && echo "tokend wiring: unit, environment file, config and tmpfiles agree"
  return "$problems"
}

UNIT_DIR="$(dirname "$UNIT")"
case "$MODE" in
  security) check_security "$UNIT" ;;
  tokend-wiring)
    check_tokend_wiring "$UNIT"
    # ... and it fails on a planted fault: a socket path the server does not use.
    mkdir -p "$SCRATCH/planted"
    cp "$UNIT"/strongroom-tokend.service "$UNIT"/strongroom-tokend.default \
      "$UNIT"/strongroom.toml "$UNIT"/strongroom.tmpfiles "$UNIT"/strongroom.service \
      "$SCRATCH/planted/"
    sed -i 's|--socket /run/strongroom-tokend/|--socket /run/elsewhere/|' \
      "$SCRATCH/planted/strongroom-tokend.service"
    if check_tokend_wiring "$SCRATCH/planted" >/dev/null; then
      echo "FAIL: a tokend socket other than [token] service passed the wiring check"
      exit 1
    fi
    ;;
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
