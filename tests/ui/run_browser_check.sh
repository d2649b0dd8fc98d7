#!/usr/bin/env bash
# Runs the web view's browser check (browser_check.cjs) in Debian's
# chromium, driven by puppeteer-core with axe-core, both pinned with their
# whole dependency tree by tests/ui/package-lock.json and installed from the
# npm registry into TOOLS_DIR on first use and again whenever the lock file
# changes. No browser is downloaded (PUPPETEER_SKIP_DOWNLOAD): the check
# runs /usr/bin/chromium, which scripts/setup.sh installs.
#   run_browser_check.sh TOOLS_DIR CONFIG_JSON
# SECURITY: CONFIG_JSON holds test passwords and canary values; nothing here
# prints it.
set -euo pipefail
TOOLS="$(mkdir -p "$1" && cd "$1" && pwd)"
CONFIG="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"

for tool in npm node chromium certutil; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run_browser_check: $tool is missing; scripts/setup.sh installs it" >&2
    exit 1
  fi
done
export PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1
if [ ! -d "$TOOLS/node_modules/puppeteer-core" ] || ! cmp -s "$HERE/package-lock.json" "$TOOLS/package-lock.json"; then
  cp "$HERE/package.json" "$HERE/package-lock.json" "$TOOLS/"
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
exec node "$HERE/browser_check.cjs" "$TOOLS" "$CONFIG"
