# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install into it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs what the site needs to run (requirements/base.txt); `make test`, `make lint`
# and the rest install the tools too (requirements/dev.txt, a superset). A stamp each: `make run`
# after `make test` installs nothing, `make test` after `make run` adds only the tools.
RUN_INSTALLED := $(VENV)/.installed-base
DEV_INSTALLED := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# What `make run` runs with: the embedded default, with links (emails, the lines printed at start)
# pointing at the port it serves.
RUN_ENV := DEBUG=true SITE_URL=http://$(HOST):$(PORT)
# axe-core for the browser tests' accessibility catalogue: an npm package pinned by its lock file,
# installed next to the tests (never into static/), reinstalled when the lock changes.
AXE := tests/browser/axe
AXE_INSTALLED := $(AXE)/node_modules/.installed

.PHONY: run test lint format lock clean install

install: $(DEV_INSTALLED)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# --no-compile: Python writes the bytecode of the modules the site imports as it first imports them,
# instead of pip compiling every module of every package up front (a quarter of the .venv).
$(RUN_INSTALLED): requirements/base.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -r requirements/base.txt
	touch $@

$(DEV_INSTALLED): requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@ $(RUN_INSTALLED)

# Without npm, or with npm but no registry in reach, the catalogue's tests skip (under CI=true they fail,
# and a failed install stops the run); no stamp, so the next run tries again. axe-core is a devDependency:
# --include=dev installs it under NODE_ENV=production too, where npm ci would leave it out.
$(AXE_INSTALLED): $(AXE)/package.json $(AXE)/package-lock.json
	@if ! command -v npm >/dev/null; then \
		echo "npm is not installed: the accessibility tests will skip (install Node.js and npm)"; \
	elif npm ci --prefix $(AXE) --include=dev --no-audit --no-fund --loglevel=error; then \
		touch $@; \
	elif [ "$$CI" = "true" ]; then \
		echo "npm could not install axe-core" >&2; exit 1; \
	else \
		echo "npm could not install axe-core (is the registry in reach?): the accessibility tests will skip"; \
	fi

# The embedded default: SQLite, in-memory channel layer, eager tasks, local media, console email.
# The demo accounts come last, right above the server's own lines.
run: $(RUN_INSTALLED)
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@$(RUN_ENV) $(BIN)/python manage.py demo_accounts
	@$(RUN_ENV) SIGMA_EMBED_STANDIN=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite; DATABASE_URL and REDIS_URL, when set, point it at PostgreSQL and Redis.
test: $(DEV_INSTALLED) $(AXE_INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint templates --lint
	DEBUG=true $(BIN)/mypy
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

format: $(DEV_INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every dependency after changing pyproject.toml.
lock: $(DEV_INSTALLED)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --quiet --no-header --python-version 3.11 --python-platform linux -o requirements/base.txt
	$(BIN)/uv pip compile pyproject.toml --quiet --no-header --python-version 3.11 --python-platform linux --extra dev -o requirements/dev.txt
	for f in requirements/base.txt requirements/dev.txt; do sed -i '1i # Pinned dependencies, generated from pyproject.toml by `make lock`. Do not edit by hand.' $$f; done

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache test-artifacts $(AXE)/node_modules
