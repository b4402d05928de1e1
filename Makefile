# Two commands on a fresh machine:  make demo   (main job on DuckDB)   make test   (every test)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	test -f profiles.yml || cp profiles.yml.example profiles.yml
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/genepair demo

test: setup
	bash scripts/run_tests.sh

lint: setup
	$(BIN)/ruff check loader scoring tests scripts benchmarks
	$(BIN)/sqlfluff lint models macros tests/dbt analyses snapshots

bench: setup
	$(BIN)/python benchmarks/bench_loader.py

clean:
	rm -rf target logs demo_data bench_data warehouse.duckdb warehouse.duckdb.wal
