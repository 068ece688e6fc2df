# Every command a person types. `make up` runs the system; `make test` runs the tests.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
UV := .local/uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
INFRA := python3 deploy/local/infra.py
PYTEST_ARGS ?=

.PHONY: help install up demo chaos chaos-ci infra-up infra-down infra-reset infra-status test test-unit validate bench lint format schemas clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .local/uv
	.local/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml contracts/pyproject.toml services/*/pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --all-packages --python python3.11
	touch $@

install: $(VENV)/.synced ## create .venv with every package (editable) and fetch/build the infrastructure
	$(INFRA) install

up: install ## run everything (infrastructure and the four services) in the foreground; Ctrl-C stops it
	$(INFRA) run

demo: $(VENV)/.synced ## feed the running system (make up) a month's volume of reports and work them
	$(PY) deploy/local/demo.py

infra-up: ## start Kafka, the Mongo-wire server and Prometheus in the background
	$(INFRA) up

infra-down: ## stop everything started in the background (services included)
	$(INFRA) down

infra-reset: ## stop the infrastructure and wipe its data and logs
	$(INFRA) reset

infra-status: ## show what is running
	$(INFRA) status

test: install ## run unit, integration and end-to-end tests against the real broker, database and Keycloak
	$(INFRA) up kafka ferretdb keycloak
	$(PY) -m pytest --cov --cov-report= $(PYTEST_ARGS) || { rc=$$?; [ $$rc -eq 5 ] && echo "error: pytest collected no tests" >&2; exit $$rc; }
	[ -n "$(PYTEST_ARGS)" ] || $(PY) tests/coverage_floors.py

chaos: install ## fault scenarios under load on real servers, each ending in the loss/duplicate check
	$(INFRA) up kafka ferretdb
	$(PY) -m pytest -m chaos -s tests/chaos $(PYTEST_ARGS)

chaos-ci: install ## one fault scenario of each kind (a part of make chaos)
	$(INFRA) up kafka ferretdb
	$(PY) -m pytest -m chaos_ci -s tests/chaos $(PYTEST_ARGS)

test-unit: $(VENV)/.synced ## run the tests that need no broker or database
	$(PY) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

validate: install ## static checks of compose, Kubernetes overlays, Prometheus rules and dashboards
	bash deploy/validate/check.sh

bench: install ## benchmarks: baselines, sustainable pipeline rate, latency, overload (about 15 min)
	$(INFRA) up kafka ferretdb keycloak
	$(PY) -m tests.bench

lint: $(VENV)/.synced ## ruff and mypy, as CI runs them
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.synced ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schemas: $(VENV)/.synced ## regenerate JSON Schemas and the AsyncAPI document
	$(VENV)/bin/gridcase-schemas

clean: infra-down ## remove the virtual environment and every local artifact
	rm -rf $(VENV) .local
