#!/usr/bin/env bash
# Builds a free-threaded CPython 3.13 (`--disable-gil`) from Debian's source package, once,
# into a cache outside the work tree, and prints the path of its `python3.13t`.
#
#   scripts/cpython-ft.sh            build if missing, print the interpreter's path
#
# The source comes from the Debian registry's stable suite (trixie ships 3.13.5); apt is
# pointed at a private sources file, so the system's apt configuration is not touched.
set -euo pipefail

VERSION=3.13.5
CACHE="${CALLSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/callscope}"
PREFIX="$CACHE/cpython-$VERSION-ft"
PYTHON="$PREFIX/bin/python3.13t"

log() { printf 'cpython-ft: %s\n' "$*" >&2; }

if [ -x "$PYTHON" ] && "$PYTHON" -c 'import sys; sys.exit(sys._is_gil_enabled())' 2>/dev/null; then
    echo "$PYTHON"
    exit 0
fi

log "building free-threaded CPython $VERSION into $PREFIX (a few minutes, once)"
work="$CACHE/build-$VERSION-ft"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
if [ -z "$uri" ]; then
    log "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
    exit 1
fi
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" \
    >"$work/apt/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/apt/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache"
    -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update >&2
(cd "$work/src" && apt-get "${apt_opts[@]}" -qq source --download-only python3.13 >&2)
tarball="$(ls "$work"/src/python3.13_"$VERSION".orig.tar.* 2>/dev/null | head -1)"
if [ -z "$tarball" ]; then
    log "the Debian source of python3.13 is not $VERSION: $(ls "$work/src")"
    exit 1
fi
tar -xf "$tarball" -C "$work/src"
cd "$work/src/Python-$VERSION"
./configure -q --disable-gil --enable-shared --prefix="$PREFIX" \
    LDFLAGS="-Wl,-rpath,$PREFIX/lib" >"$work/configure.log" 2>&1 ||
    { tail -20 "$work/configure.log" >&2; exit 1; }
make -s -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
make -s install >"$work/install.log" 2>&1 || { tail -40 "$work/install.log" >&2; exit 1; }
rm -rf "$work"
"$PYTHON" -c 'import sys; assert not sys._is_gil_enabled()'
log "built $PYTHON"
echo "$PYTHON"
