#!/usr/bin/env bash
# tests/layers/check_layers_test.sh <case> <source root>
#   tree     scripts/check-layers.sh passes on the source tree as it is.
#   planted  on a copy of the source folders it passes; with a forbidden
#            include planted in the copy (base/ including api/api.h) it
#            fails and names the file, the line and the include.
set -euo pipefail
case_name="$1"
SRC="$2"
CHECK="$SRC/scripts/check-layers.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

case "$case_name" in
  tree)
    "$CHECK" "$SRC" || fail "check-layers.sh refuses the source tree (output above)"
    ;;
  planted)
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/docs"
    cp "$SRC/docs/layers.txt" "$work/docs/"
    for module in base crypto storage policies audit accounts api appliance; do
      cp -r "$SRC/$module" "$work/"
    done
    "$CHECK" "$work" >/dev/null || fail "the unchanged copy should pass"

    # Plant the violation as the first line of base/status.h.
    target="base/status.h"
    { echo '#include "api/api.h"'; cat "$work/$target"; } >"$work/$target.new"
    mv "$work/$target.new" "$work/$target"
    set +e
    output="$("$CHECK" "$work" 2>&1)"
    status=$?
    set -e
    echo "$output"
    [ "$status" -ne 0 ] || fail "check-layers.sh exited 0 on a planted violation"
    grep -qF "$target:1:" <<<"$output" || fail "the output does not name $target:1"
    grep -qF '"api/api.h"' <<<"$output" || fail "the output does not name the include"
    ;;
  *)
    fail "unknown case '$case_name' (tree or planted)"
    ;;
esac
echo "PASS"
