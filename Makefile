# Targets for a fresh machine with Python 3.11+: `make run` serves on SQLite, `make test` tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APP := 'api:create_app()'

.PHONY: help install install-test migrate run test clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed  ## Create the virtual environment and install the service

install-test: $(VENV)/.installed-test  ## Install the service with its test dependencies

migrate: install  ## Bring the database at DATABASE_URL to the newest migration
	$(BIN)/activity-recommender db upgrade

run: migrate  ## Serve on HOST:PORT (default 127.0.0.1:8080) with gunicorn, in the foreground
	$(BIN)/gunicorn -c gunicorn.conf.py $(APP)

test: install-test  ## Run the test suite
	$(BIN)/pytest

clean:  ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
