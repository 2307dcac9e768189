# fediverse-cop: the two commands of the README, and the checks they run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed
COP_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export COP_TEST_POSTGRES_URL

.PHONY: run test lint typecheck test-sqlite test-postgres install clean migration

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

## Set up and serve a development instance on http://127.0.0.1:8000 (SQLite under ./data/).
run: $(RUN_STAMP)
	COP_SCHEME=$${COP_SCHEME:-http} $(BIN)/fediverse-cop migrate
	COP_SCHEME=$${COP_SCHEME:-http} $(BIN)/fediverse-cop serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP)
	COP_TEST_BACKEND=sqlite $(BIN)/pytest -q -n $${COP_TEST_WORKERS:-auto}

test-postgres: $(STAMP)
	COP_TEST_BACKEND=postgres $(BIN)/pytest -q -n $${COP_TEST_WORKERS:-auto}

## Set up and run everything CI runs: lint, types, then the suite on SQLite and on
## PostgreSQL side by side (each pass's output is printed when it ends).
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

## Generate the next migration from the models: make migration NAME=what_changed
migration: $(STAMP)
	$(BIN)/python scripts/makemigrations.py $(NAME)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
