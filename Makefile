# Keel: `make demo` runs the main job on the embedded simulated venues, `make test` runs the
# suite, `make ui` serves the Dagster web UI. Each creates .venv and installs Keel if needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KEEL_DAGSTER_STORAGE := $(CURDIR)/var/dagster
# PROFILE=prod: Dagster's instance in PostgreSQL (profiles/prod/dagster.yaml; `make services`
# starts a local server), per-partition events written in batches.
PROFILE ?= local
ifeq ($(PROFILE),prod)
export DAGSTER_HOME := $(CURDIR)/profiles/prod
export KEEL_POSTGRES_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5433/keel
export DAGSTER_EVENT_BATCH_SIZE ?= 1000
else
export DAGSTER_HOME := $(CURDIR)
endif

.PHONY: setup demo test lint ui bench bench-daemon docs clean services services-stop

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=/path/to/python3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev,prod]"
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
	$(BIN)/python -m bench.research_path $(if $(VECTORBT_PYTHON),--vectorbt-python $(VECTORBT_PYTHON),)
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.route
	$(BIN)/python -m bench.portfolio
	$(BIN)/python -m bench.backfill

# Trading latency through the real dagster-daemon, its code server and the run launcher (SQLite
# instance in a temporary DAGSTER_HOME; every process it starts is ended on exit or Ctrl-C).
bench-daemon: $(STAMP)
	$(BIN)/python -m bench.live --daemon

clean:
	rm -rf var

docs: $(STAMP)
	$(BIN)/keel docs

# The production profile's local servers: PostgreSQL on 5433, Redis on 6380 (Debian packages).
services: $(STAMP)
	@command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server; } || \
	  { echo "install PostgreSQL and Redis: sudo apt-get install -y postgresql redis-server"; exit 1; }
	$(BIN)/keel services start

services-stop: $(STAMP)
	$(BIN)/keel services stop
