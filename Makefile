# One task runner: CI calls `make test`; people call `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow coverage lint typecheck docs i18n bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "from breachwatch.services import prepare_install; prepare_install()"  # automata + compiled loops, once
	touch $(STAMP)

## Generate a 1M-row fake dump, ingest it into ./breachwatch-data, print stats and a few checks.
demo: $(STAMP)
	$(BIN)/breachwatch demo

## Lint, type-check and run the test suite without the long runs marked slow (what CI runs first).
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m 'not slow' -n auto

## The same tests with line coverage of src/breachwatch.
coverage: $(STAMP)
	$(BIN)/python -m pytest -q -m 'not slow' -n auto --cov=breachwatch --cov-report=term

## The long runs: 1M-row differential normalizer test, crash seeds, 1 GB line, load test (CI runs these too).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## Regenerate docs/settings.md and docs/cli.md from the settings table and the commands (a test fails when stale).
docs: $(STAMP)
	$(BIN)/python -m breachwatch.cli.reference docs

## Extract the messages of the page, advice, emails and SMS into the template and merge it into every catalog
## (then translate what is new: a test fails on any missing or fuzzy message).
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k raw_gettext -k raw_ngettext:1,2 --no-location --sort-output \
		-o src/breachwatch/i18n/locales/messages.pot src/breachwatch
	$(BIN)/pybabel update -i src/breachwatch/i18n/locales/messages.pot -d src/breachwatch/i18n/locales \
		--no-location --no-fuzzy-matching --width 100

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) breachwatch-data .pytest_cache .mypy_cache .ruff_cache
