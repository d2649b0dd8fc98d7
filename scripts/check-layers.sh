#!/usr/bin/env bash
# scripts/check-layers.sh [ROOT] — checks the include graph against the
# layers table (ROOT/docs/layers.txt; ROOT defaults to this checkout).
#
# For every .h and .cc under the modules the table lists, each
# `#include "..."` must name a file of the same module or of a module the
# table allows for it. A file's module is its folder; a folder without a
# line in the table is itself an error (a new folder must say where it sits).
# Prints one line per violation, "file:line: ...", and exits 1 if any.
# Exit 2 when the table cannot be read.
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
TABLE="$ROOT/docs/layers.txt"
if [ ! -r "$TABLE" ]; then
  echo "check-layers: cannot read the layers table $TABLE" >&2
  exit 2
fi

declare -A allowed=()  # module -> " dep dep ... " (spaces around each name)
modules=()
while IFS= read -r line || [ -n "$line" ]; do
  line="${line%%#*}"
  [[ "$line" =~ ^[[:space:]]*$ ]] && continue
  if [[ ! "$line" =~ ^[[:space:]]*([A-Za-z0-9_/]+)[[:space:]]*:(.*)$ ]]; then
    echo "check-layers: $TABLE: not 'module: deps...': $line" >&2
    exit 2
  fi
  module="${BASH_REMATCH[1]}"
  read -r -a deps <<<"${BASH_REMATCH[2]}"
  allowed["$module"]=" ${deps[*]} "
  modules+=("$module")
done <"$TABLE"

violations=0
report() {  # <file> <line> <message>
  echo "$1:$2: $3"
  violations=$((violations + 1))
}

cd "$ROOT"
# The scanned folders are the table's top-level modules (api covers api/*).
roots=()
for module in "${modules[@]}"; do
  if [[ "$module" != */* ]] && [ -d "$module" ]; then roots+=("$module"); fi
done
while IFS= read -r -d '' file; do
  module="${file%/*}"
  if [ -z "${allowed[$module]+set}" ]; then
    report "$file" 1 "folder '$module' has no line in docs/layers.txt"
    continue
  fi
  while IFS=: read -r number included; do
    target="."
    [[ "$included" == */* ]] && target="${included%/*}"
    [ "$target" = "$module" ] && continue
    if [ "$target" = "." ]; then
      report "$file" "$number" "#include \"$included\" is not rooted at the repository"
    elif [ -z "${allowed[$target]+set}" ]; then
      report "$file" "$number" "#include \"$included\": '$target' is not a module of docs/layers.txt"
    elif [[ "${allowed[$module]}" != *" $target "* ]]; then
      may="${allowed[$module]}"
      [[ "$may" =~ ^[[:space:]]*$ ]] && may=" (nothing of ours) "
      report "$file" "$number" \
        "module '$module' may not include \"$included\" (module '$target'); allowed:${may% }"
    fi
  done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
             sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1:\2/')
done < <(find "${roots[@]}" -type f \( -name '*.h' -o -name '*.cc' \) -print0 | sort -z)

if [ "$violations" -gt 0 ]; then
  echo "check-layers: $violations violation(s) of docs/layers.txt" >&2
  exit 1
fi
echo "check-layers: the include graph follows docs/layers.txt"
