#!/usr/bin/env bash
# Lints an OpenAPI document with Redocly CLI 1.x, pinned with its whole
# dependency tree by tests/api/redocly/package-lock.json (2.x needs a newer
# Node than Debian 12's), installed from the npm registry into TOOLS_DIR on
# first use and again whenever the lock file changes. Fails on any error of
# the rules in docs/redocly.yaml.
#   openapi_lint.sh DOCUMENT TOOLS_DIR
set -euo pipefail
DOCUMENT="$(realpath "$1")"
TOOLS="$(mkdir -p "$2" && cd "$2" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
REDOCLY="$TOOLS/node_modules/.bin/redocly"

if ! command -v npm >/dev/null 2>&1; then
  echo "openapi_lint: npm is missing; scripts/setup.sh installs it" >&2
  exit 1
fi
if [ ! -x "$REDOCLY" ] || ! cmp -s "$HERE/redocly/package-lock.json" "$TOOLS/package-lock.json"; then
  mkdir -p "$TOOLS"
  cp "$HERE/redocly/package.json" "$HERE/redocly/package-lock.json" "$TOOLS/"
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
cd "$(dirname "$DOCUMENT")"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$REDOCLY" lint --max-problems 1000 "$DOCUMENT"
