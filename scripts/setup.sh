#!/usr/bin/env bash
# Installs what callscope's build and tests need, idempotently: quiet and quick when
# everything is already there. Called by `make test`, `make demo` and `make bench`.
#
#   scripts/setup.sh rust     the wasm32 target (shared-model must build for the browser)
#   scripts/setup.sh bench    a .venv with pyinstrument and py-spy, which the benchmarks compare against
#   scripts/setup.sh fuzz     cargo-fuzz
#   scripts/setup.sh python   maturin (builds the callscope wheel) in .tools/maturin
#   scripts/setup.sh viewer   trunk, wasm-bindgen-cli, and from npm wasm-opt (binaryen)
#   scripts/setup.sh browser  Debian's chromium, and playwright-core from npm
#   scripts/setup.sh peers    the peer tools the export formats are checked with: Debian's
#                             golang-go (`go tool pprof`)
set -euo pipefail
cd "$(dirname "$0")/.."

PYINSTRUMENT_VERSION=5.1.3
PYSPY_VERSION=0.4.1
CARGO_FUZZ_VERSION=0.13.2
MATURIN_VERSION=1.16.0
TRUNK_VERSION=0.21.14
# Must equal the wasm-bindgen version in Cargo.lock (viewer-wasm pins it with `=`).
WASM_BINDGEN_VERSION=0.2.130
GOLANG_GO_VERSION=2:1.19~1

log() { printf 'setup: %s\n' "$*" >&2; }

python_for_venv() {
    # Prefer pyenv's 3.11 (the machine's default), then whatever python3 is on PATH.
    local candidates=()
    if command -v pyenv >/dev/null 2>&1; then
        candidates+=("$(pyenv root)/versions/3.11.7/bin/python")
    fi
    candidates+=("$(command -v python3 || true)")
    for py in "${candidates[@]}"; do
        if [ -n "$py" ] && [ -x "$py" ]; then
            echo "$py"
            return
        fi
    done
    log "no Python 3 found"
    exit 1
}

setup_rust() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        log "adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown >&2
    fi
}

setup_bench() {
    if [ ! -x .venv/bin/python ]; then
        log "creating .venv"
        "$(python_for_venv)" -m venv .venv
    fi
    if ! .venv/bin/python -c "import pyinstrument, sys; sys.exit(pyinstrument.__version__ != '$PYINSTRUMENT_VERSION')" 2>/dev/null; then
        log "installing pyinstrument $PYINSTRUMENT_VERSION into .venv"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check "pyinstrument==$PYINSTRUMENT_VERSION"
    fi
    if ! .venv/bin/py-spy --version 2>/dev/null | grep -qx "py-spy $PYSPY_VERSION"; then
        log "installing py-spy $PYSPY_VERSION into .venv"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check "py-spy==$PYSPY_VERSION"
    fi
}

setup_fuzz() {
    if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
        log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
        cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
    fi
}

setup_python() {
    if ! .tools/maturin/bin/maturin --version 2>/dev/null | grep -qx "maturin $MATURIN_VERSION"; then
        log "installing maturin $MATURIN_VERSION into .tools/maturin"
        rm -rf .tools/maturin
        "$(python_for_venv)" -m venv .tools/maturin
        .tools/maturin/bin/python -m pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
    fi
}

setup_viewer() {
    setup_rust
    if ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
        log "installing trunk $TRUNK_VERSION (about 10 minutes, once)"
        cargo install --quiet --locked "trunk@$TRUNK_VERSION"
    fi
    if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
        log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
        # Not --locked: its lockfile names a crate version this registry does not have.
        cargo install --quiet --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    fi
    setup_npm
}

# npm packages pinned by package-lock.json: binaryen (wasm-opt) and playwright-core.
setup_npm() {
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        log "installing npm packages (package-lock.json)"
        npm ci --silent --no-audit --no-fund >&2
    fi
}

setup_browser() {
    if [ ! -x /usr/bin/chromium ]; then
        log "installing Debian's chromium"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || true
        apt-get install -y -qq chromium >&2
    fi
    setup_npm
}

setup_peers() {
    if ! dpkg-query -W -f '${Version}' golang-go 2>/dev/null | grep -qx "$GOLANG_GO_VERSION"; then
        log "installing Debian's golang-go $GOLANG_GO_VERSION (go tool pprof)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || true
        apt-get install -y -qq "golang-go=$GOLANG_GO_VERSION" >&2
    fi
}

for what in "$@"; do
    case "$what" in
        rust) setup_rust ;;
        bench) setup_bench ;;
        fuzz) setup_fuzz ;;
        python) setup_python ;;
        viewer) setup_viewer ;;
        browser) setup_browser ;;
        peers) setup_peers ;;
        *) log "unknown part: $what"; exit 2 ;;
    esac
done
