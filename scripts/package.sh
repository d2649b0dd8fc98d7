#!/usr/bin/env bash
# Builds the Debian package dist/strongroom_<version>_amd64.deb from this
# checkout (committed and uncommitted files that git tracks or does not
# ignore), with debhelper (debian/), then runs lintian on it and fails on
# any lintian error. Installs its own build dependencies: those named in
# debian/control (apt-get build-dep), plus lintian. Not run by
# scripts/test.sh. Runs as root, or as an ordinary user through sudo for
# apt-get only.
#   STRONGROOM_SKIP_LINTIAN=1  skip lintian
#   STRONGROOM_DEB_VERSION=V   build package version V instead of the
#       changelog's (the binary is the same): the staged copy's changelog
#       entry gets version V, so that an upgrade test can build an
#       "older" (e.g. 0.1.0~old1) and a "newer" (0.1.0+new1) package from
#       one checkout. dist/ then gets strongroom_V_amd64.deb.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

VERSION="$(sed -n 's/^project(strongroom VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
DEB_VERSION="$(sed -n '1s/^strongroom (\([^)]*\)).*/\1/p' debian/changelog)"
if [ -z "${STRONGROOM_DEB_VERSION:-}" ] && [ "$VERSION" != "$DEB_VERSION" ]; then
  echo "package.sh: CMakeLists.txt says $VERSION, debian/changelog says $DEB_VERSION;" \
       "add a debian/changelog entry for $VERSION" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q -y "$@"; }

# A clean copy of the tree: the package is built from the files git knows,
# never from build directories or local state.
STAGE="$ROOT/build-deb"
SRC="$STAGE/strongroom-$VERSION"
rm -rf "$STAGE"
mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard |
  xargs -0 -I{} sh -c '[ -e "$1" ] && printf "%s\0" "$1" || true' _ {} |
  tar --null -T - -cf - | tar -xf - -C "$SRC"

if [ -n "${STRONGROOM_DEB_VERSION:-}" ]; then
  DEB_VERSION="$STRONGROOM_DEB_VERSION"
  if ! dpkg --validate-version "$DEB_VERSION" 2>/dev/null; then
    echo "package.sh: STRONGROOM_DEB_VERSION=$DEB_VERSION is not a Debian version" >&2
    exit 1
  fi
  # The staged changelog's first entry gets the version (the rest of the
  # entry is kept); the staging path stays the same for every version, so
  # that ccache reuses the objects.
  sed -i "1s/^strongroom ([^)]*)/strongroom ($DEB_VERSION)/" "$SRC/debian/changelog"
else
  DEB_VERSION="$VERSION"
fi

echo "== build dependencies"
apt_get update
apt_get install --no-install-recommends build-essential dpkg-dev lintian
apt_get build-dep --no-install-recommends "$SRC"

echo "== dpkg-buildpackage"
# ccache, when present, speeds up rebuilds of unchanged files.
LAUNCHER=""
if command -v ccache >/dev/null 2>&1; then
  # debhelper (compat 13) points HOME at a fresh directory inside the build
  # tree, which would give ccache an empty cache each time: name the cache.
  CCACHE_DIR="${CCACHE_DIR:-$(ccache -k cache_dir)}"
  export CCACHE_DIR CCACHE_BASEDIR="$SRC" CCACHE_NOHASHDIR=1
  LAUNCHER="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
(cd "$SRC" && CCACHE_LAUNCHER="$LAUNCHER" DEB_BUILD_OPTIONS="parallel=${JOBS:-2}" \
  dpkg-buildpackage -b -us -uc)

mkdir -p "$ROOT/dist"
DEB="$ROOT/dist/strongroom_${DEB_VERSION}_amd64.deb"
cp "$STAGE/strongroom_${DEB_VERSION}_amd64.deb" "$DEB"
echo "built $DEB"
dpkg-deb --info "$DEB" | sed -n '/Package:/,$p'
dpkg-deb --contents "$DEB"

if [ "${STRONGROOM_SKIP_LINTIAN:-0}" != "1" ]; then
  echo "== lintian"
  # --fail-on error: warnings are listed in docs/operator-guide.md
  # ("Packaging notes") with the reason each is kept.
  lintian --fail-on error --display-info "$DEB" | tee "$STAGE/lintian.txt"
  echo "lintian: $(grep -c '^E:' "$STAGE/lintian.txt" || true) errors," \
       "$(grep -c '^W:' "$STAGE/lintian.txt" || true) warnings"
fi
