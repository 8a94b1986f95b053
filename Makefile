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
## postgres://postgres@127.0.0.1:5432/ba_bench), on the oldest and the newest Django of the
## CI matrix: Django 5.2 in .venv, and Django 6.1 on Python 3.13 in .venv-bench-django61,
## which this target creates (BENCH_NEWEST_PYTHON: python3.13; with pyenv, e.g.
## PYENV_VERSION=3.11.7:3.12.1:3.13.0). Writes docs/performance.md.
## BENCH_ARGS=--check fails when a target is missed in any run; BENCH_ARGS=--instructions
## also counts instructions per call under valgrind's callgrind (deterministic; minutes more).
## BENCH_POSTGRES_OPTIONS='{"server_side_binding": true, "prepare_threshold": 5}' measures
## PostgreSQL with those DATABASES OPTIONS (docs/deployment.md).
BENCH_NEWEST_PYTHON ?= python3.13
BENCH_NEWEST_DJANGO ?= Django>=6.1,<6.2
BENCH_NEWEST_VENV ?= .venv-bench-django61

$(BENCH_NEWEST_VENV)/.installed: setup.cfg pyproject.toml
	@$(BENCH_NEWEST_PYTHON) -c "" 2>/dev/null || { \
		echo "bench: $(BENCH_NEWEST_PYTHON) does not run; set BENCH_NEWEST_PYTHON, or with pyenv" \
			"PYENV_VERSION=3.11.7:3.12.1:3.13.0 (the newest Django of the CI matrix needs it)" >&2; \
		exit 1; }
	$(BENCH_NEWEST_PYTHON) -m venv $(BENCH_NEWEST_VENV)
	$(BENCH_NEWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_NEWEST_VENV)/bin/python -m pip install --quiet -e ".[test]" "$(BENCH_NEWEST_DJANGO)"
	touch $@

bench: $(VENV)/.installed-test $(BENCH_NEWEST_VENV)/.installed
	$(BIN)/python -m bench --python $(BIN)/python --python $(BENCH_NEWEST_VENV)/bin/python $(BENCH_ARGS)

## bench-smoke: the short run that proves the benchmark works (SQLite, .venv's Django only,
## no timings kept). tests/test_bench_smoke.py runs the same with the suite's interpreter,
## so a run of the suite on Django 6.1 covers the benchmark there without a second venv.
bench-smoke: $(VENV)/.installed-test
	$(BIN)/python -m bench --short --databases sqlite

clean:
	rm -rf $(VENV) build dist *.egg-info demo.sqlite3 staticfiles
