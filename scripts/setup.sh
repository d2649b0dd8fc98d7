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
  # the soak's plot of memory, descriptors and latency over time
  # (scripts/soak.sh); -nox: no X11 libraries on a server
  gnuplot-nox
  # etcd, the replicated store of the several-node mode (issue 18): the
  # cluster tests and scripts/cluster.sh run their own members on ports of
  # their own; the system service the package brings is kept from starting
  # (below).
  etcd-server etcd-client
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

# Debian's etcd-server starts a system etcd on 127.0.0.1:2379 as it installs
# (through invoke-rc.d). Strongroom never uses it: its tests and
# scripts/cluster.sh start members of their own, with TLS, on other ports; a
# stray etcd would only take memory, disk syncs and a well-known port. While
# the package installs, a policy-rc.d (Debian's documented switch, honoured
# by invoke-rc.d and deb-systemd-invoke) refuses every service start, unless
# the machine has a policy of its own; on a systemd machine the unit is also
# disabled so that a reboot does not start it either.
installing_etcd=0
for p in "${missing[@]}"; do
  if [ "$p" = etcd-server ]; then installing_etcd=1; fi
done
policy_made=0
if [ "$installing_etcd" = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  $SUDO sh -c 'printf "#!/bin/sh\n# scripts/setup.sh: no service starts while etcd-server installs\nexit 101\n" \
    > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
  policy_made=1
fi
remove_policy() {
  if [ "$policy_made" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
}
trap remove_policy EXIT
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
remove_policy
policy_made=0
if [ "$installing_etcd" = 1 ] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now etcd.service >/dev/null 2>&1 || true
fi
