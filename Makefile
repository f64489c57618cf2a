# Keel: `make demo` runs the main job on the embedded simulated venues, `make test` runs the
# suite, `make ui` serves the Dagster web UI. Each creates .venv and installs Keel if needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)
export KEEL_DAGSTER_STORAGE := $(CURDIR)/var/dagster

.PHONY: setup demo test lint ui bench docs clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=/path/to/python3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	mkdir -p var/dagster
	$(BIN)/keel demo
	$(BIN)/keel account-demo
	$(BIN)/keel paper-replay --bars 48

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

ui: $(STAMP)
	mkdir -p var/dagster
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.ccxt_convert
	$(BIN)/python -m bench.research $(if $(VECTORBT_PYTHON),--vectorbt-python $(VECTORBT_PYTHON),)
	$(BIN)/python -m bench.definitions_load
	$(BIN)/python -m bench.ledger
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.route

clean:
	rm -rf var

docs: $(STAMP)
	$(BIN)/keel docs
