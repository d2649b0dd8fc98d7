#!/usr/bin/env bash
# Every system header the shipped binary is compiled with belongs to a
# package debian/control's Build-Depends names (or to the compiler's own C
# and C++ libraries), so `scripts/package.sh` on a bare Debian 12, which
# installs only Build-Depends, can build what this tree built. Ninja's
# dependency log (`ninja -t deps`) lists the headers of every object;
# objects of tests/, bench/ and fuzz/ are left out (the package builds none
# of them), and `dpkg -S` names each header's package.
#   build_depends_test.sh check BUILD_DIR CONTROL
#   build_depends_test.sh self-check BUILD_DIR CONTROL
#       the check fails on a copy of CONTROL without libssl-dev
set -euo pipefail
MODE="$1"
BUILD="$2"
CONTROL="$3"

# Installed with the compiler (build-essential's g++ pulls them in).
TOOLCHAIN=" libc6-dev libstdc++-12-dev linux-libc-dev "

# build_depends CONTROL: the package names of Build-Depends, one a line
# (alternatives "a | b" give both, version bounds dropped).
build_depends() {
  awk '/^Build-Depends:/{on=1; sub(/^Build-Depends:/, "")} on && /^[A-Z][A-Za-z-]*:/ && !/^Build-Depends:/{on=0} on{print}' "$1" |
    tr ',|' '\n\n' | sed 's/([^)]*)//; s/\[.*\]//; s/^ *//; s/ *$//' | grep -v '^$'
}

# header_packages BUILD: the packages owning the system headers of the
# non-test objects, one a line.
header_packages() {
  local headers
  headers="$(ninja -C "$1" -t deps |
    awk '/^[^ ].*: #deps/{keep = ($1 !~ /^(tests|bench|fuzz)\//)} /^    \/usr\/include\//{if (keep) print $1}' |
    sort -u)"
  [ -n "$headers" ] || { echo "no headers in $1's dependency log (not built with Ninja?)" >&2; return 1; }
  # dpkg -S prints "pkg1, pkg2: path"; a header no package owns is reported.
  printf '%s\n' "$headers" | xargs dpkg -S 2>/dev/null | sed 's/: .*//' | tr ',' '\n' |
    sed 's/^ *//; s/:.*//' | sort -u
}

# check BUILD CONTROL: 0 when every header package is a build dependency.
check() {
  local deps missing=0 pkg
  deps=" $(build_depends "$2" | tr '\n' ' ') "
  for pkg in $(header_packages "$1"); do
    case "$TOOLCHAIN$deps" in
      *" $pkg "*) ;;
      *) echo "Build-Depends lacks $pkg (headers the binary is compiled with)"; missing=1 ;;
    esac
  done
  return "$missing"
}

case "$MODE" in
  check)
    check "$BUILD" "$CONTROL"
    echo "every system header of the shipped binary comes from Build-Depends or the toolchain"
    ;;
  self-check)
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    grep -v '^ *libssl-dev,$' "$CONTROL" > "$scratch/control"
    if cmp -s "$CONTROL" "$scratch/control"; then
      echo "self-check: could not remove libssl-dev from a copy of $CONTROL" >&2; exit 1
    fi
    if out="$(check "$BUILD" "$scratch/control")"; then
      echo "self-check: the check passed without libssl-dev in Build-Depends" >&2; exit 1
    fi
    case "$out" in
      *"lacks libssl-dev"*) echo "the check names the missing libssl-dev" ;;
      *) echo "self-check: unexpected output: $out" >&2; exit 1 ;;
    esac
    ;;
  *) echo "usage: $0 check|self-check BUILD_DIR CONTROL" >&2; exit 2 ;;
esac
