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

# The image's malloc setting (see the Dockerfile), so that a local server behaves like it.
run: migrate  ## Serve on HOST:PORT (default 127.0.0.1:8080) with gunicorn, in the foreground
	MALLOC_ARENA_MAX=2 $(BIN)/gunicorn -c gunicorn.conf.py $(APP)

test: install-test  ## Run the test suite on SQLite and on each database server that answers
	$(BIN)/python scripts/test_databases.py $(PYTEST_ARGS)

clean:  ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# --- shipping: the image, the workflows and infra/ (docs/deployment.md) -------------------

IMAGE ?= activity-recommender:local
CONTAINER ?= activity-recommender
CONTAINER_PORT ?= 8000
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
# pip-compile and the wheel check must see PyPI alone, not this machine's local indexes.
PYPI_ONLY := PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS=

.PHONY: install-ship requirements wheel-check build run-container stop docker-smoke \
	infra-fmt ship-check

$(VENV)/.installed-ship: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,ship]'
	touch $@

install-ship: $(VENV)/.installed-ship  ## Install the image, workflow and Terraform checkers

# checkov pins old versions of packages the service also uses, so it gets its own venv.
$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'

requirements: install-ship  ## Regenerate requirements.txt (the image's pins) from setup.cfg
	$(PYPI_ONLY) CUSTOM_COMPILE_COMMAND="make requirements" $(BIN)/pip-compile --quiet \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.txt setup.cfg

wheel-check: install-ship  ## Check every pin has a wheel for linux arm64 and amd64
	@for arch in aarch64 x86_64; do \
		dir=$$(mktemp -d) && \
		$(PYPI_ONLY) $(BIN)/pip download --quiet --no-deps --require-hashes --only-binary=:all: \
			--python-version 3.11 --implementation cp --platform manylinux_2_36_$$arch \
			--platform manylinux_2_28_$$arch --platform manylinux2014_$$arch \
			-r requirements.txt -d $$dir && \
		echo "requirements.txt: $$(ls $$dir | wc -l) wheels for linux/$$arch" && rm -rf $$dir \
		|| { rm -rf $$dir; exit 1; }; \
	done

build:  ## Build the image $(IMAGE) with the local Docker engine
	docker build --tag $(IMAGE) .

run-container: build stop  ## Migrate, then serve the image on 127.0.0.1:$(CONTAINER_PORT) (SQLite in a volume)
	docker volume create $(CONTAINER)-data >/dev/null
	docker run --rm --env APP_ENV=development --volume $(CONTAINER)-data:/data \
		$(IMAGE) activity-recommender db upgrade
	docker run --detach --name $(CONTAINER) --env APP_ENV=development \
		--volume $(CONTAINER)-data:/data --publish 127.0.0.1:$(CONTAINER_PORT):8000 $(IMAGE)
	@echo "Serving on http://127.0.0.1:$(CONTAINER_PORT); root password:"
	@docker exec $(CONTAINER) cat /data/root-password

stop:  ## Stop and remove the container (keeps its data volume)
	docker rm --force $(CONTAINER) >/dev/null 2>&1 || true

docker-smoke: install-ship  ## Build and run the real image, wait for its health check, smoke-test it
	HADOLINT=$(BIN)/hadolint PYTHON=$(BIN)/python .ci/docker-smoke

infra-fmt: install-ship  ## Format infra/*.tf with terraform fmt
	$(BIN)/python scripts/terraform_fmt.py infra

ship-check: install-ship $(CHECKOV_VENV)/bin/checkov wheel-check  ## Lint the Dockerfile, workflows, shell scripts and infra/
	$(BIN)/hadolint Dockerfile
	shellcheck .ci/run .ci/docker-smoke
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/zizmor --offline .github/workflows/
	$(BIN)/python scripts/terraform_fmt.py --check infra
	$(CHECKOV_VENV)/bin/checkov --directory infra --framework terraform --skip-download \
		--compact --quiet

# --- lint: ruff, mypy, bandit and pip-audit -----------------------------------------------

LINT_PATHS := api gunicorn.conf.py
AUDIT_ACCEPTED := pip-audit-accepted.txt
# One --ignore-vuln per ID in $(AUDIT_ACCEPTED); each line there gives the reason.
AUDIT_IGNORES = $(shell sed -e 's/\#.*//' $(AUDIT_ACCEPTED) | awk 'NF {print "--ignore-vuln", $$1}')
# 1 turns a dependency that pip-audit could not look up into a warning instead of a failure.
AUDIT_ALLOW_UNAUDITED ?= 0

.PHONY: install-lint lint lint-code audit

$(VENV)/.installed-lint: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[lint]'
	touch $@

install-lint: $(VENV)/.installed-lint  ## Install ruff, mypy, bandit and pip-audit

lint: lint-code audit  ## Run every static check: ruff, mypy, bandit and pip-audit

lint-code: install-lint  ## Run ruff (lint and format), mypy and bandit on the service
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy api
	$(BIN)/bandit --quiet --recursive $(LINT_PATHS)

audit: install-lint  ## Check the installed packages against PyPI's vulnerability data
ifeq ($(AUDIT_ALLOW_UNAUDITED),1)
	$(BIN)/pip-audit --skip-editable $(AUDIT_IGNORES)
	@echo "WARNING: AUDIT_ALLOW_UNAUDITED=1, so every package listed above as not found" \
		"on PyPI was NOT checked for vulnerabilities." >&2
else
	@# --strict fails on a package that PyPI has no release data for, which pip-audit
	@# would otherwise skip and still report "No known vulnerabilities found".
	$(BIN)/pip-audit --skip-editable --strict $(AUDIT_IGNORES) \
		|| { echo "pip-audit failed: a vulnerability was found, or a package could not be" \
			"looked up on PyPI (see above)." >&2; exit 1; }
endif

# --- contract: spec linters, Schemathesis and the Swagger UI browser test -----------------

SPECTRAL_DIR := tools/spectral
SPECTRAL := $(SPECTRAL_DIR)/node_modules/.bin/spectral

.PHONY: install-contract lint-spec fuzz test-browser

$(VENV)/.installed-contract: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,contract]'
	touch $@

install-contract: $(VENV)/.installed-contract  ## Install Schemathesis, openapi-spec-validator and Playwright

$(SPECTRAL): $(SPECTRAL_DIR)/package.json $(SPECTRAL_DIR)/package-lock.json
	@# --ignore-scripts: no package needs a build step, and one only sends install analytics.
	npm ci --prefix $(SPECTRAL_DIR) --ignore-scripts --no-audit --no-fund
	touch $@

lint-spec: install-contract $(SPECTRAL)  ## Check the spec with openapi-spec-validator and Spectral; any finding fails
	$(BIN)/openapi-spec-validator spec/openapi.yaml
	$(SPECTRAL) lint --fail-severity=hint spec/openapi.yaml

fuzz: install-contract  ## Run Schemathesis (schemathesis.toml) against gunicorn on a fresh SQLite database
	$(BIN)/pytest -m fuzz -s tests/e2e/test_fuzz.py $(PYTEST_ARGS)

test-browser: install-contract  ## Drive Swagger UI at /docs in headless Chromium (apt-get install chromium)
	$(BIN)/pytest -m browser tests/e2e/test_swagger_ui.py $(PYTEST_ARGS)

# --- benchmark: wrk against gunicorn on fresh databases (docs/benchmarks.md) --------------

.PHONY: install-bench bench bench-smoke

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

install-bench: $(VENV)/.installed-bench  ## Install matplotlib, which draws the benchmark chart

bench: install-bench  ## Load-test every endpoint on SQLite and MariaDB; rewrite docs/benchmarks.md (~8 min)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-smoke: install-bench  ## Run the benchmark for a few seconds and check that its output is sane
	$(BIN)/python -m bench --smoke
