#!/usr/bin/env bash
# scripts/check-status-literals.sh [ROOT] — keeps HTTP status numbers out of
# the route folders (issue 19): a handler says what happened with a typed
# error (api/core/api_error.h: ApiReason, Success) and the error boundary
# (api/core/errors.h) alone turns it into a status.
#
# In every .h and .cc of api/decrypt (the decrypt pipeline the decrypt
# routes run), api/grafana, api/sensu, api/admin, api/audit, api/ops,
# api/browser and api/ui, after dropping comments, string and character literals, any
# integer literal from 100 to 599 is refused unless its line declares a
# named constant (`constexpr`): a limit such as kMaxListLimit = 500 is a
# name, a bare 404 is a status. Prints "file:line: ..." per violation and
# exits 1 if any; exit 2 when a route folder is missing.
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
FOLDERS=(api/decrypt api/grafana api/sensu api/admin api/audit api/ops api/browser api/ui)

cd "$ROOT"
for folder in "${FOLDERS[@]}"; do
  if [ ! -d "$folder" ]; then
    echo "check-status-literals: no folder $ROOT/$folder" >&2
    exit 2
  fi
done

violations=0
while IFS= read -r -d '' file; do
  # Code only: escapes, character literals, string literals, then comments.
  while IFS=: read -r line code; do
    [[ "$code" == *constexpr* ]] && continue
    if [[ "$code" =~ (^|[^A-Za-z0-9_.\'])([1-5][0-9][0-9])([^A-Za-z0-9_.\']|$) ]]; then
      echo "$file:$line: literal HTTP status ${BASH_REMATCH[2]} in a route folder; return an ApiError (ApiReason) or a Success instead, or name the number with constexpr if it is not a status"
      violations=$((violations + 1))
    fi
  done < <(sed -E -e 's/\\.//g' -e "s/'[^']'//g" -e 's/"[^"]*"/""/g' \
             -e 's:/\*.*\*/::g' -e 's://.*$::' "$file" | grep -nE '[1-5][0-9][0-9]' || true)
done < <(find "${FOLDERS[@]}" -type f \( -name '*.cc' -o -name '*.h' \) -print0 | sort -z)

if [ "$violations" -gt 0 ]; then
  echo "check-status-literals: $violations literal status code(s) in route folders" >&2
  exit 1
fi
