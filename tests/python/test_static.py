"""Static checks that run with the suite: ruff on the Python, sqlfluff on the dbt SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

BIN = Path(sys.executable).parent


def test_ruff_clean():
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", "loader", "scoring", "tests", "scripts", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sqlfluff_lint_models(tmp_path):
    from loader.dbt_runner import ensure_profiles

    ensure_profiles()
    env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(tmp_path / "lint.duckdb"), GENEPAIR_TARGET="duckdb")
    proc = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models", "analyses", "snapshots", "tests/dbt", "--processes", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "All Finished" in proc.stdout
