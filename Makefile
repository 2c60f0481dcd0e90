# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest arguments, e.g. `make test PYTEST_ARGS='-m "not browser and not chaos"'`
PYTEST_ARGS ?=

.PHONY: run test test-embedded lint bench venv dev-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(VENV)/.runtime $@

venv: $(VENV)/.runtime
dev-deps: $(VENV)/.dev

# Embedded mode: SQLite under var/, Celery and channels in this one process.
run: export DEBUG ?= true
run: venv
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_components
	$(PY) manage.py load_examples
	$(PY) manage.py ensure_admin
	$(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite, in the mode the environment selects (DATABASE_URL, REDIS_URL);
# with neither set: SQLite and embedded mode.
test: dev-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# The embedded-mode tests alone, on SQLite, whatever the environment says.
test-embedded: dev-deps
	env -u DATABASE_URL -u REDIS_URL -u REDIS_SENTINELS $(PY) -m pytest -m "not distributed" $(PYTEST_ARGS)

lint: dev-deps
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: dev-deps
	$(PY) bench/validation.py
