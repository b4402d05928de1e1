#!/usr/bin/env bash
# Every test: Python unit and end-to-end tests (which run dbt build, dbt unit tests and
# data tests on fixtures and on ../shared/refinebio when present), ruff and sqlfluff.
# PostgreSQL tests run when PG* variables point at a server (.ci/run starts one).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
test -f profiles.yml || cp profiles.yml.example profiles.yml
exec "$BIN/python" -m pytest "$@"
