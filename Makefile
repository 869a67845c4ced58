# multicart: `make demo` and `make test` set themselves up on a machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SANDBOX_PORT ?= 8090

.PHONY: help setup lint types test test-fast demo serve sandbox bench bench-soak soak explore clean

help:
	@echo "make demo     start sandbox + orchestrator on SQLite, show the outcomes, stop"
	@echo "make test     lint (ruff, import-linter), types (mypy) and the whole test suite"
	@echo "make test-fast  the tests that start no process, stopping at the first failure"
	@echo "make serve    run the API (multicart serve --migrate) with MULTICART_* settings"
	@echo "make sandbox  run the platform simulators on 127.0.0.1:$(SANDBOX_PORT)"
	@echo "make bench    the benchmark (see BENCHMARKS.md)"
	@echo "make bench-soak  memory over 100,000 carts (~17 min, capped at 22; BENCHMARKS.md)"
	@echo "make soak     the fault-matrix soak on SQLite and PostgreSQL (< 10 min; docs/testing.md)"
	@echo "make explore  the invariant explorer, EXPLORE_SECONDS (600) per engine (docs/testing.md)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "multicart needs Python 3.11+ (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

types: setup
	$(BIN)/mypy

test: lint types
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -x -m "not e2e"

demo: setup
	$(BIN)/python -m examples.demo

serve: setup
	$(BIN)/multicart serve --migrate

sandbox: setup
	$(BIN)/multicart sandbox --host 127.0.0.1 --port $(SANDBOX_PORT)

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

bench-soak: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.memory

soak: setup
	$(BIN)/python -m bench.soak

# EXPLORE_SECONDS per engine (PostgreSQL too when MULTICART_TEST_DATABASE_URL is set); a fresh
# EXPLORE_SEED each run unless given (a finding's seed replays it).
EXPLORE_SECONDS ?= 600
EXPLORE_SEED ?= $(shell date +%s)
EXPLORE_SHRINK_S ?= 60
explore: setup
	EXPLORE_SECONDS=$(EXPLORE_SECONDS) EXPLORE_SEED=$(EXPLORE_SEED) EXPLORE_SHRINK_S=$(EXPLORE_SHRINK_S) \
		$(BIN)/pytest tests/explore/test_explore.py -q -s -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo .bench
