#!/usr/bin/env bash
# Release files: a wheel per supported CPython and an sdist, each carrying the packed viewer.
#
#   scripts/dist.sh build PYTHON...   wheels for these interpreters and the sdist, into dist/
#   scripts/dist.sh check PYTHON      install PYTHON's wheel from dist/ into a fresh venv with
#                                     plain pip, outside the repository, and use it
#   scripts/dist.sh no-viewer         building without the packed viewer stops with one line
#                                     saying how to build it
#
# Wheels reuse scripts/recorder.sh's per-version target directories; they are stripped of
# the debug information the test builds keep, and checked against manylinux by maturin.
set -euo pipefail
cd "$(dirname "$0")/.."

MATURIN=.tools/maturin/bin/maturin
DIST=dist
VIEWER=recorder/python/callscope/viewer.html

log() { printf 'dist: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

version() { grep -m1 '^version' Cargo.toml | sed 's/.*"\(.*\)".*/\1/'; }

build() {
    [ -f "$VIEWER" ] || fail "$VIEWER is missing: run make viewer-template first"
    mkdir -p "$DIST"
    rm -f "$DIST"/callscope-"$(version)"[-.]*
    for python in "$@"; do
        local v target
        v="$(scripts/recorder.sh version "$python")"
        target="target/py$v"
        mkdir -p "$target"
        if ! CARGO_TARGET_DIR="$target" "$MATURIN" build --release --locked --strip \
            --auditwheel check -m recorder/Cargo.toml -i "$python" --out "$DIST" \
            >"$target/dist.log" 2>&1; then
            cat "$target/dist.log" >&2
            fail "the wheel for CPython $v failed to build or is not manylinux-compliant"
        fi
    done
    "$MATURIN" sdist -m recorder/Cargo.toml --out "$DIST" >"$DIST/sdist.log" 2>&1 ||
        { cat "$DIST/sdist.log" >&2; fail "the sdist failed to build"; }
    local sdist="$DIST/callscope-$(version).tar.gz" files
    files="$(tar tzf "$sdist")"
    for packed in viewer.html callscope-embed.js; do
        grep -q "/python/callscope/$packed\$" <<<"$files" || fail "$sdist lacks $packed"
    done
    ls -1 "$DIST"/callscope-"$(version)"* | grep -v '\.log$'
}

# The wheel's tags for PYTHON: cp311-cp311, cp313-cp313t.
tags() {
    "$1" -c 'import sys, sysconfig; v = "cp%d%d" % sys.version_info[:2]; print(v + "-" + v + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""))'
}

check() {
    local python="$1" wheel tmp
    wheel="$(ls "$DIST"/callscope-"$(version)"-"$(tags "$python")"-manylinux_*.whl 2>/dev/null | head -1)"
    [ -n "$wheel" ] || fail "no manylinux wheel for $(tags "$python") in $DIST (scripts/dist.sh build)"
    wheel="$(realpath "$wheel")"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    "$python" -m venv "$tmp/venv"
    # No index: the wheel needs nothing else.
    "$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$wheel"
    cat >"$tmp/work.py" <<'EOF'
def crunch(n):
    return sum(i * i % 7 for i in range(n))


crunch(300_000)
EOF
    (
        cd "$tmp"
        venv/bin/callscope -r html -o report.html work.py 2>/dev/null
        grep -q 'id="callscope-session"' report.html || fail "the report holds no session"
        [ "$(stat -c %s report.html)" -gt 100000 ] || fail "the report holds no viewer"
        venv/bin/callscope --load report.html --no-color | grep -q 'crunch  work.py' ||
            fail "the report's session does not read back"
        venv/bin/python - <<'EOF'
import callscope
from callscope import Profiler

assert "/venv/" in callscope.__file__, callscope.__file__
with Profiler(interval=0.001) as p:
    sum(i * i % 7 for i in range(300_000))
assert "<genexpr>" in p.output_text(), p.output_text()
assert 'id="callscope-session"' in p.output_html()
EOF
    )
    log "$(basename "$wheel"): installed with pip into a fresh venv; callscope -r html and the Profiler API work"
}

# A copy of the sources without the packed viewer, built as pip builds ./recorder.
no_viewer() {
    local tmp out python="${PYO3_PYTHON:-python3}" target
    # The host build's target directory: the dependencies are built already.
    target="$PWD/target/py$(scripts/recorder.sh version "$python")"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    git ls-files -z Cargo.toml Cargo.lock recorder shared-model bench pack viewer-wasm |
        xargs -0 cp --parents -t "$tmp"
    [ ! -e "$tmp/$VIEWER" ] || fail "the copy has a viewer"
    if out="$(cd "$tmp" && CARGO_TARGET_DIR="$target" "$OLDPWD/$MATURIN" build --release \
        --locked -m recorder/Cargo.toml -i "$python" --out "$tmp/wheels" 2>&1)"; then
        fail "a wheel was built without the viewer"
    fi
    grep -q "callscope's viewer is not built .* run \`make viewer-template\`" <<<"$out" ||
        { printf '%s\n' "$out" | tail -20 >&2; fail "the failed build does not say how to build the viewer"; }
    log "without the viewer, the build stops with: $(grep -o "callscope's viewer is not built.*" <<<"$out" | head -1)"
}

case "${1:-}" in
    build) shift; build "$@" ;;
    check) check "$2" ;;
    no-viewer) no_viewer ;;
    *) log "usage: $0 build PYTHON... | check PYTHON | no-viewer"; exit 2 ;;
esac
