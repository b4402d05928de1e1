#!/usr/bin/env bash
# Every test: Python unit and end-to-end tests (which run dbt build, dbt unit tests and
# data tests on fixtures and on ../shared/refinebio when present), ruff and sqlfluff.
# PostgreSQL tests run when PG* variables point at a server (.ci/run starts one).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
test -f profiles.yml || cp profiles.yml.example profiles.yml
# dbt-sqlserver imports pyodbc, which links Debian's unixODBC driver manager (libodbc2):
# the SQL Server rendering tests need it even though no SQL Server runs here
if ! "$BIN/python" -c "import pyodbc" 2>/dev/null; then
    echo "installing libodbc2 (unixODBC) for pyodbc / dbt-sqlserver" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libodbc2 >/dev/null
fi
# genepair annotate reads Bioconductor's org.Hs.eg.db (Debian r-bioc-org.hs.eg.db); the
# annotation test is skipped, with the reason, when it cannot be installed
if [ ! -f /usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite ]; then
    echo "installing r-bioc-org.hs.eg.db (gene annotation) for genepair annotate" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq r-bioc-org.hs.eg.db >/dev/null; } \
        || echo "could not install r-bioc-org.hs.eg.db: the annotation test will be skipped" >&2
fi
# the web view's browser test drives Debian's chromium (headless) through chromium-driver;
# skipped, with the reason, when they cannot be installed
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "installing chromium and chromium-driver for the web view's browser test" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; } \
        || echo "could not install chromium: the browser test will be skipped" >&2
fi
exec "$BIN/python" -m pytest "$@"
