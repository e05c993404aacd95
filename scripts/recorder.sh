#!/usr/bin/env bash
# Builds the callscope wheel for one CPython and installs it into a virtualenv.
#
#   scripts/recorder.sh pythons              the supported interpreters: pyenv's 3.9-3.13 and
#                                            a free-threaded 3.13t (built once, cached)
#   scripts/recorder.sh install PYTHON VENV  build the wheel for PYTHON, install it in VENV
#
# Each CPython version gets its own cargo target directory, so switching versions does not
# rebuild pyo3 each time.
set -euo pipefail
cd "$(dirname "$0")/.."

SUPPORTED="3.9 3.10 3.11 3.12 3.13"
MATURIN=.tools/maturin/bin/maturin
PYTEST_VERSION=8.3.5

log() { printf 'recorder: %s\n' "$*" >&2; }

# The newest installed pyenv interpreter of each supported minor version; all must exist.
pythons() {
    local root missing=0
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for minor in $SUPPORTED; do
        local found=""
        for dir in $(ls -d "$root"/versions/"$minor".* 2>/dev/null | sort -V); do
            [[ "$(basename "$dir")" =~ ^$minor\.[0-9]+$ ]] && [ -x "$dir/bin/python" ] && found="$dir/bin/python"
        done
        if [ -z "$found" ]; then
            log "CPython $minor is not installed (pyenv install $minor)"
            missing=1
        else
            echo "$found"
        fi
    done
    scripts/cpython-ft.sh || missing=1
    return $missing
}

# "3.12", or "3.13t" for a free-threaded build.
version_of() {
    "$1" -c 'import sys, sysconfig; print("%d.%d%s" % (*sys.version_info[:2], "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""))'
}

install() {
    local python="$1" venv="$2" version target wheel
    version="$(version_of "$python")"
    target="target/py$version"
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv (CPython $version)"
        "$python" -m venv "$venv"
    fi
    rm -rf "$target/wheels"
    mkdir -p "$target"
    if ! CARGO_TARGET_DIR="$target" "$MATURIN" build --release --locked \
        -m recorder/Cargo.toml -i "$python" --out "$target/wheels" >"$target/build.log" 2>&1; then
        cat "$target/build.log" >&2
        log "building the wheel for CPython $version failed"
        exit 1
    fi
    wheel="$(ls "$target"/wheels/callscope-*.whl)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --force-reinstall --no-deps "$wheel"
}

# A venv per supported version with pytest, the frameworks the integrations are tested
# with (tests/recorder/requirements.txt, pinned) and the freshly built wheel.
test_env() {
    local python="$1" venv="$2" requirements=tests/recorder/requirements.txt stamp
    install "$python" "$venv"
    if ! "$venv/bin/python" -c "import pytest, sys; sys.exit(pytest.__version__ != '$PYTEST_VERSION')" 2>/dev/null; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pytest==$PYTEST_VERSION"
    fi
    stamp="$venv/.requirements"
    if ! cmp -s "$requirements" "$stamp"; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
}

case "${1:-}" in
    pythons) pythons ;;
    version) version_of "$2" ;;
    install) install "$2" "$3" ;;
    test-env) test_env "$2" "$3" ;;
    *) log "usage: $0 pythons | version PYTHON | install PYTHON VENV | test-env PYTHON VENV"; exit 2 ;;
esac
