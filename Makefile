# Two commands on a fresh machine (Python 3.11+ and make): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export UPLOADS_URI ?= $(CURDIR)/data/uploads
export RESULTS_URI ?= $(CURDIR)/data/results
export STATUS_DB_URL ?= sqlite:///$(CURDIR)/data/status.db
# The webserver's port: `make run PORT=3001`.
PORT ?= 3000

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p "$(DAGSTER_HOME)" "$(UPLOADS_URI)" "$(RESULTS_URI)"
	cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"
	cp -R examples/sessions/. "$(UPLOADS_URI)/"
	# dagster dev under a supervisor: Ctrl-C or SIGTERM stops every process it started (docs/operations.md).
	$(BIN)/python -m wiring.supervise --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .dagster_home data
