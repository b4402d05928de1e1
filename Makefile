# Two commands on a fresh machine:  make demo   (main job on DuckDB)   make test   (every test)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench procedures clean

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
	$(BIN)/ruff check genepair loader scoring tests scripts benchmarks models trialsync
	$(BIN)/sqlfluff lint models macros tests/dbt analyses snapshots
	$(BIN)/sqlfluff lint stored_procedures

# re-render stored_procedures/ from the dbt macros (T-SQL; no server needed)
procedures: setup
	$(BIN)/python scripts/render_stored_procedures.py

bench: setup
	$(BIN)/python benchmarks/bench_loader.py

clean:
	rm -rf target logs demo_data bench_data warehouse.duckdb warehouse.duckdb.wal
