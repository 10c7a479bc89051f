# arpolicy: the commands a developer needs. Everything runs from a virtual environment
# in .venv that the first command creates.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARPOLICY_DEMO_CUSTOMERS ?= 200

.PHONY: install run test bench lint fmt clean screenshots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## Start the service on SQLite (./arpolicy.db) with a demo tenant loaded the first time.
run: install
	$(BIN)/arpolicy init
	$(BIN)/arpolicy demo --if-empty --customers $(ARPOLICY_DEMO_CUSTOMERS) --seed 1
	$(BIN)/arpolicy serve

## The whole suite: SQLite always; PostgreSQL when reachable (required when CI=true).
test: install
	$(BIN)/pytest -q -n 2 --dist loadfile

## Regenerate docs/screenshots/*.png from the browser tests' walk of every screen.
screenshots: install
	ARPOLICY_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/web -k browser

## Benchmarks (slow, several minutes; results go to docs/benchmarks.md by hand).
bench: install
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench --rules
	$(BIN)/python -m bench.api_load
	$(BIN)/python -m bench.assign_bench
	$(BIN)/python -m bench.engage_bench
	$(BIN)/python -m bench.dispatch_bench
	$(BIN)/python -m bench.trail_bench
	$(BIN)/python -m bench.writes_bench --pg
	$(BIN)/python -m bench.web_bench

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) arpolicy.db arpolicy.db-wal arpolicy.db-shm .pytest_cache .mypy_cache .ruff_cache
