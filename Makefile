# One task runner: CI calls `make test`; people call `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "from breachwatch.ingest.tasks import warm_up; warm_up(None)"  # compile the numba loops once
	touch $(STAMP)

## Generate a 1M-row fake dump, ingest it into ./breachwatch-data, print stats and a few checks.
demo: $(STAMP)
	$(BIN)/breachwatch demo

## Lint, type-check and run the test suite without the long runs marked slow (what CI runs first).
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m 'not slow'

## The long runs: 1M-row differential normalizer test, crash seeds, 1 GB line, load test (CI runs these too).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) breachwatch-data .pytest_cache .mypy_cache .ruff_cache
