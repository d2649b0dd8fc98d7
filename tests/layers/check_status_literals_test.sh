#!/usr/bin/env bash
# tests/layers/check_status_literals_test.sh <case> <source root>
#   tree     scripts/check-status-literals.sh passes on the source tree.
#   planted  on a copy of api/ it passes; with a literal status planted in a
#            route (`return JsonResponse(404, ...)`) it fails naming the file
#            and the line; a named constant, a comment or a string with a
#            number in it stays accepted.
set -euo pipefail
case_name="$1"
SRC="$2"
CHECK="$SRC/scripts/check-status-literals.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

case "$case_name" in
  tree)
    "$CHECK" "$SRC" || fail "check-status-literals.sh refuses the source tree (output above)"
    ;;
  planted)
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp -r "$SRC/api" "$work/"
    "$CHECK" "$work" >/dev/null || fail "the unchanged copy should pass"

    target="api/sensu/sensu_provider_routes.cc"
    # Harmless numbers: a comment, a string, a named constant.
    {
      cat "$work/$target"
      echo '// answers 404 when the provider is unknown'
      echo 'constexpr std::size_t kPlantedLimit = 500;'
      echo 'const char* kPlantedText = "1 to 253 characters";'
    } >"$work/$target.new"
    mv "$work/$target.new" "$work/$target"
    "$CHECK" "$work" >/dev/null || fail "comments, strings and named constants must pass"

    lines="$(wc -l <"$work/$target")"
    echo 'HttpResponse Planted() { return JsonResponse(404, "{}"); }' >>"$work/$target"
    planted_line=$((lines + 1))
    set +e
    output="$("$CHECK" "$work" 2>&1)"
    status=$?
    set -e
    echo "$output"
    [ "$status" -eq 1 ] || fail "check-status-literals.sh exited $status on a planted 404"
    grep -qF "$target:$planted_line:" <<<"$output" || fail "the output does not name $target:$planted_line"
    grep -qF "404" <<<"$output" || fail "the output does not name the number"
    ;;
  *)
    fail "unknown case '$case_name' (tree or planted)"
    ;;
esac
echo "PASS"
