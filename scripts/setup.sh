#!/usr/bin/env bash
# Installs every Debian package Strongroom needs to build, test and run.
# Idempotent: packages already present are skipped by apt-get. Runs as root,
# or as an ordinary user through sudo (only apt-get is run with privileges).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  # compiler cache: a clean clone on the same machine reuses compiled objects
  ccache
  # libraries (SPEC section 1)
  libssl-dev openssl
  libp11-kit-dev p11-kit
  liblmdb-dev lmdb-utils
  nlohmann-json3-dev
  libcli11-dev
  libpistache-dev
  # commented config file for `strongroom serve`
  libtomlplusplus-dev
  # Shamir secret sharing of the escrow key (issue 22)
  libgfshare-dev
  # sd_notify: `strongroom serve` tells systemd when it is ready (Type=notify)
  libsystemd-dev
  # systemd-analyze, which scores and checks the packaged unit in the tests
  systemd
  # token for development and tests
  softhsm2 opensc
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3 python3-cryptography-vectors
  curl
  # JSON on the command line: the upgrade test and the DR drill
  # (tests/appliance/upgrade_fixture_test.sh, scripts/dr-drill.sh)
  jq
  # HTTPS client for end-to-end tests
  libcurl4-openssl-dev
  # promtool, which checks the /metrics scrape in the end-to-end test
  prometheus
  # a real browser for the web view's end-to-end test (tests/ui/), driven
  # headless by puppeteer-core from npm; certutil puts the test CA into the
  # browser's own NSS database, so it trusts the server as a person would
  chromium libnss3-tools fonts-dejavu-core
)
# A real Kubernetes client for the discovery test: Debian's kubernetes-client,
# unless the machine already has a kubectl of its own (dpkg refuses to
# overwrite another package's /usr/bin/kubectl).
if ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES+=(kubernetes-client)
fi

# Node and npm for the OpenAPI linter in the tests (tests/api/openapi_lint.sh
# installs Redocly CLI from the npm registry), unless the machine has an npm
# of its own (Debian's npm would replace a NodeSource nodejs).
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup: not root and sudo is missing; install as root: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
