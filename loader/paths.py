"""Where the project's resources are: the one place that works out the project root.

The loader, the application and the scripts read seeds, the dbt project and the default
warehouse file from here; environment variables override the writable locations.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"
DBT_PROJECT_FILE = PROJECT_ROOT / "dbt_project.yml"
PROFILES = PROJECT_ROOT / "profiles.yml"
PROFILES_EXAMPLE = PROJECT_ROOT / "profiles.yml.example"
DBT_TARGET_DIR = PROJECT_ROOT / "target"


def seed(name: str) -> Path:
    """A seed CSV of the dbt project (``seed("illness_rules")``)."""
    return SEEDS_DIR / f"{name}.csv"


def duckdb_path() -> Path:
    """The DuckDB warehouse file: ``$GENEPAIR_DUCKDB_PATH``, else warehouse.duckdb in the project."""
    return Path(os.environ.get("GENEPAIR_DUCKDB_PATH", PROJECT_ROOT / "warehouse.duckdb")).resolve()


def log_dir() -> Path:
    """Where the JSON logs go: ``$GENEPAIR_LOG_DIR``, else logs/ in the project."""
    return Path(os.environ.get("GENEPAIR_LOG_DIR", PROJECT_ROOT / "logs"))
