"""Static checks that run with the suite: ruff on the Python, sqlfluff on the dbt SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import support
from support import ROOT

BIN = Path(sys.executable).parent


def test_ruff_clean():
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", "genepair", "loader", "scoring", "tests", "scripts", "benchmarks", "models"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sqlfluff_lint_models():
    # started at collection by conftest (BackgroundLint), so it overlaps the other tests
    lint = support.BACKGROUND["sqlfluff"]
    code, output = lint.result()
    assert code == 0, output[-8000:]
    assert "All Finished" in output
