# callscope: `make demo` and `make test` are the two commands a fresh clone needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
FUZZ_SECONDS ?= 600
# The CPython that builds and links the recorder for cargo's own checks and tests, and that
# `.venv` is made from; the Python tests run on every supported version.
HOST_PYTHON ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.11.7/bin/python
export PYO3_PYTHON := $(HOST_PYTHON)
# Rust tests that link libpython must load this interpreter's, not the system's.
export LD_LIBRARY_PATH := $(dir $(HOST_PYTHON))../lib$(if $(LD_LIBRARY_PATH),:$(LD_LIBRARY_PATH))

.PHONY: help demo venv viewer viewer-template dist test test-rust test-python test-viewer test-dist lint wasm-check bench bench-viewer fuzz fixtures bless

help:
	@echo "make demo    build callscope into .venv and profile a bundled example program"
	@echo "make test    install what is missing, build, run every test"
	@echo "make dist    wheels for every supported CPython and an sdist, into dist/"
	@echo "make bench   benchmarks: session format, profiler overhead vs pyinstrument, viewer vs speedscope"
	@echo "make fuzz    fuzz the session decoder for FUZZ_SECONDS (default 600)"
	@echo "make bless   re-write the golden files from the current output"

demo: venv
	@echo "== callscope examples/orders_report.py"
	.venv/bin/callscope -o demo.pyisession -r session examples/orders_report.py
	.venv/bin/callscope --load demo.pyisession
	.venv/bin/callscope --load demo.pyisession -r html -o demo-report.html
	@echo "The session is in $(CURDIR)/demo.pyisession; .venv/bin/callscope is installed."
	@echo "The HTML report (open it in a browser, no server needed): $(CURDIR)/demo-report.html"

# .venv: the callscope package built from this checkout (and pyinstrument, for the benchmarks).
venv: viewer-template
	@scripts/setup.sh python bench
	@scripts/recorder.sh install $(HOST_PYTHON) .venv

test: lint test-rust wasm-check test-python test-viewer test-dist

lint:
	@scripts/setup.sh rust
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-rust:
	$(CARGO) test --workspace --locked

# The recorder's tests on every supported CPython (and a free-threaded 3.13t, built once
# from Debian's CPython source into ~/.cache/callscope), each with its own wheel and venv.
test-python: viewer-template
	@scripts/setup.sh python peers
	@set -e; pythons=$$(scripts/recorder.sh pythons); for py in $$pythons; do \
		v=$$(scripts/recorder.sh version $$py); \
		echo "== recorder tests on CPython $$v"; \
		scripts/recorder.sh test-env $$py .tools/py/$$v; \
		.tools/py/$$v/bin/python -m pytest -q -p no:cacheprovider tests/recorder; \
	done

# The viewer, built by Trunk into www/dist (wasm-opt comes from npm's binaryen).
viewer:
	@scripts/setup.sh viewer
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" trunk build --release --offline=true

# The viewer packed into one HTML file, which the Python package ships for reports, and the
# embed script for docs pages (`callscope viewer --embed DIR`).
viewer-template: viewer
	$(CARGO) run -q --release --locked -p callscope-pack -- www/dist recorder/python/callscope/viewer.html
	cp www/callscope-embed.js recorder/python/callscope/callscope-embed.js

# The viewer in real headless Chromium (Debian's), driven by playwright-core: the hosted
# app (www/dist), then reports and the standalone viewer written by .venv's callscope.
test-viewer: venv
	@scripts/setup.sh browser
	node tests/viewer/e2e.mjs
	CALLSCOPE=$(CURDIR)/.venv/bin/callscope node tests/viewer/reports.mjs

# Release files: a manylinux wheel per supported CPython and an sdist, each with the viewer.
dist: viewer-template
	@scripts/setup.sh python
	@scripts/dist.sh build $$(scripts/recorder.sh pythons)

# The host CPython's wheel installed with plain pip into a fresh venv and used from there;
# the sdist carries the viewer; a build without the viewer says how to build it.
test-dist: viewer-template
	@scripts/setup.sh python
	@scripts/dist.sh build $(HOST_PYTHON)
	@scripts/dist.sh check $(HOST_PYTHON)
	@scripts/dist.sh no-viewer

# shared-model is also the viewer's model: it must keep building for the browser.
wasm-check:
	@scripts/setup.sh rust
	$(CARGO) build -p callscope-model --target wasm32-unknown-unknown --locked

bench: venv
	$(CARGO) run --release --locked -p callscope-bench --bin session-bench -- --pyinstrument .venv/bin/python
	$(CARGO) run --release --locked -p callscope-bench --bin report-size -- --pyinstrument .venv/bin/python
	.venv/bin/python bench/overhead.py --runs 7
	$(MAKE) bench-viewer

# callscope's viewer next to speedscope on the same 100k, 1M and 10M-sample sessions, in
# headless Chromium (about 6 minutes; speedscope takes most of them).
bench-viewer: viewer
	@scripts/setup.sh browser
	node bench/viewer.mjs

fuzz:
	@scripts/setup.sh fuzz
	cd shared-model && RUSTC_BOOTSTRAP=1 cargo fuzz run load -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536

# Re-creates the pyinstrument fixtures (only needed when changing them).
fixtures:
	@scripts/setup.sh bench
	tests/fixtures/pyinstrument/make-fixtures.sh .venv/bin/python

bless:
	CALLSCOPE_BLESS=1 $(CARGO) test --workspace --locked
