# The two commands of the README, and the pieces they are made of.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint typecheck pytest bench clean

## demo: set up a fresh machine and run the main job on the embedded default
demo: install
	$(BIN)/anchorwatch quickstart --dir demo --serve

## test: the whole test suite (lint, format, types, tests on SQLite and PostgreSQL)
test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	scripts/with-postgres.sh $(BIN)/pytest -q

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"

bench: install
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache .mypy_cache
