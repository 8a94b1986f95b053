# The two README commands are `make demo` and `make test`; everything else
# here serves them. `make demo` installs into .venv itself; `make test` runs
# tox.ini's matrix with a tox it installs into .tox/.runner.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo single-page app's port: the next one.
SPA_PORT ?= $(shell echo $$(($(PORT) + 1)))
TOX_VENV ?= .tox/.runner
TOX := $(TOX_VENV)/bin/tox
# Two environments at a time, one per core of the CI machine.
TOX_PARALLEL ?= 2

# tox skips an environment whose Python it cannot find; under CI=true that fails the run.
ifeq ($(CI),true)
export TOX_SKIP_MISSING_INTERPRETERS := false
endif

# One of tox.ini's labels: with-postgres (PostgreSQL and Redis too) when
# DATABASE_URL is set or under CI=true, else without-postgres.
# TOXENV=lint,py311-django52 make test runs those environments only.
TOX_LABEL := $(if $(DATABASE_URL)$(filter true,$(CI)),with-postgres,without-postgres)

.PHONY: demo test bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

$(TOX):
	$(PYTHON) -m venv $(TOX_VENV)
	$(TOX_VENV)/bin/python -m pip install --quiet --upgrade pip "tox>=4.30,<5"

## demo: create .venv, migrate SQLite, create the demo superuser, serve on 127.0.0.1:8000
## with uvicorn: the Django project and its MCP server at /mcp (demo_project/asgi.py), and
## the demo single-page app on 127.0.0.1:8001 (SPA_PORT, default PORT + 1), in one process
## (demo_project/serve.py)
demo: $(VENV)/.installed-demo
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup --port $(PORT) --spa-port $(SPA_PORT)
	$(BIN)/python -m demo_project.serve --host $(HOST) --port $(PORT) --spa-port $(SPA_PORT)

## test: the whole suite: tox.ini's environments (lint, types, every Python × Django on
## SQLite; PostgreSQL and Redis when DATABASE_URL is set or CI=true), two at a time
test: $(TOX)
ifeq ($(TOX_LABEL)$(TOXENV),without-postgres)
	@echo "make test: DATABASE_URL is not set; the PostgreSQL environments are left out."
endif
	$(TOX) run-parallel --parallel $(TOX_PARALLEL) --parallel-no-spinner $(if $(TOXENV),,-m $(TOX_LABEL))

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
	rm -rf $(VENV) .tox build dist *.egg-info demo.sqlite3 staticfiles
