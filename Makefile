# outage-coordinator: `make run` serves on 127.0.0.1:8000 (SQLite), `make test` runs the tests,
# `make check` lints and runs the tests that start no process.
# Everything is installed at the versions in uv.lock; `make lock` refreshes it from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
# uv syncs this venv (not one of its own) with the interpreter already in it.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
# Every process the suite starts (a served worker, the CLI, each test worker) imports the whole
# stack. Where the environment sets PYTHONDONTWRITEBYTECODE, nothing is cached and each of them
# compiles it all again from source, about three times the import: the installs are compiled
# once (uv sync --compile-bytecode) and the project's own modules are cached as Python does by
# default. An empty value is the same as unset for Python.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: install lock run test check lint docs words bench clean

# uv comes first, from pip, at the version and hashes that uv.lock holds for it.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(PYTHON) tools/locked_requirement.py uv | $(BIN)/pip install --quiet --require-hashes -r /dev/stdin

# Exactly the locked versions, dev extras included; --locked stops when uv.lock lags pyproject.toml.
$(STAMP): $(UV) pyproject.toml setup.py uv.lock
	$(UV) sync --locked --extra dev --compile-bytecode
	touch $(STAMP)

install: $(STAMP)

# Keeps every locked version pyproject.toml still allows; `$(UV) lock --upgrade-package NAME` moves one.
lock: $(UV)
	$(UV) lock


# where make run serves: make run HOST=0.0.0.0 PORT=8080
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	$(BIN)/outage-coordinator db upgrade
	$(BIN)/outage-coordinator serve --host $(HOST) --port $(PORT)

# The whole suite, spread over the machine's cores (pytest-xdist): what CI and the README run.
# loadgroup keeps a module marked xdist_group on one worker, so that its shared server starts
# once. `.venv/bin/pytest FILE` runs a part alone.
test: $(STAMP)
	$(BIN)/pytest -n auto --dist loadgroup

# Lint, then the tests that start no process: feedback in about a minute while working. A test
# that starts a subprocess, a served uvicorn or a browser is marked `process` (its module's
# pytestmark, or the test's own mark where a module mixes both); `make test` runs those too.
# The schema fuzzing tries 3 generated cases per operation and role here, without its coverage
# phase; make test runs every phase with 15.
check: lint
	FUZZ_EXAMPLES=3 FUZZ_QUICK=1 $(BIN)/pytest -n auto --dist loadgroup -m "not process"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# docs/configuration.md, written from service/config.py's Settings (a test fails when they differ).
docs: $(STAMP)
	$(BIN)/python -m tools.configuration_doc > docs/configuration.md

# The message catalogue: every sentence of the code and the templates, extracted; the English
# catalogue (service/words/locale/en) gains the new ones, untranslated, and loses the unsaid.
words: $(STAMP)
	$(BIN)/python -m tools.words

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
