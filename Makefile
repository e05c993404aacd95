# callscope: `make demo` and `make test` are the two commands a fresh clone needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
FUZZ_SECONDS ?= 600

.PHONY: help demo test test-rust lint wasm-check bench fuzz fixtures bless

help:
	@echo "make demo    profile a bundled example program (needs the recorder, not built yet)"
	@echo "make test    install what is missing, build, run every test"
	@echo "make bench   benchmarks (session format vs pyinstrument)"
	@echo "make fuzz    fuzz the session decoder for FUZZ_SECONDS (default 600)"
	@echo "make bless   re-write the golden files from the current output"

demo:
	@echo "make demo: the recorder (the Python package that profiles a program) is not built yet;"
	@echo "until it is, render an existing profile with:"
	@echo "  cargo run -p callscope-model --example render -- tests/fixtures/pyinstrument/prog.pyisession"
	@exit 1

test: lint test-rust wasm-check

lint:
	@scripts/setup.sh rust
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-rust:
	$(CARGO) test --workspace --locked

# shared-model is also the viewer's model: it must keep building for the browser.
wasm-check:
	@scripts/setup.sh rust
	$(CARGO) build -p callscope-model --target wasm32-unknown-unknown --locked

bench:
	@scripts/setup.sh bench
	$(CARGO) run --release --locked -p callscope-bench --bin session-bench -- --pyinstrument .venv/bin/python

fuzz:
	@scripts/setup.sh fuzz
	cd shared-model && RUSTC_BOOTSTRAP=1 cargo fuzz run load -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536

# Re-creates the pyinstrument fixtures (only needed when changing them).
fixtures:
	@scripts/setup.sh bench
	tests/fixtures/pyinstrument/make-fixtures.sh .venv/bin/python

bless:
	CALLSCOPE_BLESS=1 $(CARGO) test --workspace --locked
