# The two README commands are `make demo` and `make test`; everything else
# here serves them. Each target installs what it needs into .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint type pytest pytest-sqlite pytest-postgres pytest-authuser bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

## demo: create .venv, migrate SQLite, create the demo superuser, serve on 127.0.0.1:8000
demo: $(VENV)/.installed-demo
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: lint, type check, the suite on SQLite, on auth.User, and on PostgreSQL when configured
test: $(VENV)/.installed-test lint type pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

type: $(VENV)/.installed-test
	$(BIN)/mypy bearer_auth demo_project

pytest: pytest-sqlite pytest-authuser pytest-postgres

pytest-sqlite: $(VENV)/.installed-test
	env -u DATABASE_URL $(PYTEST) -m "not postgres"

pytest-authuser: $(VENV)/.installed-test
	env -u DATABASE_URL $(PYTEST) --ds=tests.settings_authuser -m "not postgres and not custom_user_model and not browser and not slow"

# PostgreSQL twice: Django's default client-side binding, then the server-side
# binding with prepared statements that docs/deployment.md recommends.
POSTGRES_PREPARED := {"server_side_binding": true, "prepare_threshold": 5}

pytest-postgres: $(VENV)/.installed-test
	@if [ -n "$${DATABASE_URL:-}" ] || [ "$${CI:-}" = "true" ]; then \
		export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bearer_auth}"; \
		env -u DATABASE_OPTIONS $(PYTEST) -m "not browser and not slow" && \
		echo 'pytest-postgres: again with DATABASE_OPTIONS=$(POSTGRES_PREPARED)' && \
		DATABASE_OPTIONS='$(POSTGRES_PREPARED)' $(PYTEST) -m "not browser and not slow"; \
	else \
		echo "pytest-postgres: DATABASE_URL is not set; the PostgreSQL run is left out."; \
	fi

## bench: the side-by-side benchmark on SQLite and PostgreSQL (BENCH_POSTGRES_URL, default
## postgres://postgres@127.0.0.1:5432/ba_bench); writes docs/performance.md.
## BENCH_ARGS=--check fails when a target of issue 7 is missed; BENCH_ARGS=--instructions
## also counts instructions per call under valgrind's callgrind (deterministic; minutes more).
## BENCH_POSTGRES_OPTIONS='{"server_side_binding": true, "prepare_threshold": 5}' measures
## PostgreSQL with those DATABASES OPTIONS (docs/deployment.md).
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-smoke: the short run CI uses to prove the benchmark works (SQLite only, no timings kept)
bench-smoke: $(VENV)/.installed-test
	$(BIN)/python -m bench --short --databases sqlite

clean:
	rm -rf $(VENV) build dist *.egg-info demo.sqlite3 staticfiles
