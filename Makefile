# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install into it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format lock clean install

install: $(INSTALLED)

$(INSTALLED): requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed; set PYTHON=/path/to/python3.11")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

# The embedded default: SQLite, in-memory channel layer, eager tasks, local media, console email.
run: $(INSTALLED)
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py seed_demo
	DEBUG=true SIGMA_EMBED_STANDIN=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite; DATABASE_URL and REDIS_URL, when set, point it at PostgreSQL and Redis.
test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint templates --lint
	DEBUG=true $(BIN)/mypy
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every dependency after changing pyproject.toml.
lock: $(INSTALLED)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --quiet --no-header --python-version 3.11 --python-platform linux -o requirements/base.txt
	$(BIN)/uv pip compile pyproject.toml --quiet --no-header --python-version 3.11 --python-platform linux --extra dev -o requirements/dev.txt
	for f in requirements/base.txt requirements/dev.txt; do sed -i '1i # Pinned dependencies, generated from pyproject.toml by `make lock`. Do not edit by hand.' $$f; done

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache test-artifacts
