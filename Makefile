# Two commands on a fresh machine with only Python 3.11+ and make:
#   make run   installs from the lock file, migrates, serves on 127.0.0.1:8000 (SQLite under ./var/)
#   make test  installs from the lock file and runs every test (two processes: pytest-xdist)
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test check lint fmt bench fuzz clean test-dotnet fuzz-all test-scale

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

run: install
	$(BIN)/evcharge db upgrade
	$(BIN)/evcharge prices sample --if-empty
	$(BIN)/evcharge serve

test: install
	$(BIN)/pytest -n 2 -m "not scale"

# Real-world sizes end to end (a 1,000-car depot over HTTP on both databases): minutes of
# CPU, so outside `make test`'s five minutes; CI (`.ci/run`) runs them.
test-scale: install
	$(BIN)/pytest -n 2 -m scale

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

check: lint test

# The .NET contract suite (tests/dotnet): needs Mono + Json.NET (.ci/dotnet installs them).
test-dotnet: install
	$(BIN)/python -m tests.dotnet.run

fuzz: install
	$(BIN)/pytest tests/test_openapi_fuzz.py

# `st run --checks all` against a live server (every phase; a few minutes).
fuzz-all: install
	$(BIN)/python -m tests.fuzz_all

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(TOOLS) $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
