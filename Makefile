# carepath — make targets for a fresh machine (Python 3.11, Java 17+, Maven).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: setup deps demo test test-unit test-integration test-slow lint scenarios bench readme clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench,rocksdb]'
	touch $@

setup: $(BIN)/.installed

deps: ## Java 17+ and Maven (the Kafka broker); Debian's chromium + chromium-driver (web tests); a compose client (Docker file checks)
	@bash scripts/ensure-java.sh
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-compose.sh

demo: setup ## replay the bundled sample stream (no broker) and print the worklist
	@mkdir -p .carepath
	$(BIN)/carepath replay examples/sample.ndjson --out .carepath/demo-out.ndjson \
	    --dead-letter .carepath/demo-deadletter.ndjson --until 2026-08-01T00:00:00Z
	$(BIN)/carepath tasks --file .carepath/demo-out.ndjson
	@echo "In a browser: carepath users add NAME --role case-manager --password-stdin, then"
	@echo "  $(BIN)/carepath web --file .carepath/demo-out.ndjson --now 2026-08-01T00:00:00Z"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup deps lint ## everything CI runs: lint, types, unit, scenarios, real-broker integration
	$(BIN)/pytest -q -ra

test-unit: setup
	$(BIN)/pytest -q -m "not integration and not slow"

test-integration: setup deps
	$(BIN)/pytest -q -m "integration and not slow"

test-slow: setup deps ## worker kills and broker restarts (long)
	$(BIN)/pytest -q -m slow -o addopts=""

scenarios: setup ## the shared checker over our copy of the scenarios
	$(BIN)/python $(SHARED)/tools/check_scenarios.py --carepath $(BIN)/carepath \
	    --determinism --fhir tests/scenarios/data tests/scenarios/own

readme: setup ## regenerate the README rule table from the code
	$(BIN)/python -m scripts.readme_rules README.md
	$(BIN)/python -m scripts.readme_rules docs/rules.md

bench: setup deps
	$(BIN)/carepath bench

clean:
	rm -rf $(VENV) .carepath .mypy_cache .ruff_cache
