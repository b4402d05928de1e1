"""Issue #17: a var a user passes to dbt directly (`dbt build --vars ...`) reaches SQL only
as a number of the right type: `gp_number_var` refuses text at compile time (pipeline.yaml
values are refused earlier, by loader.config, with ranges)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

DBT = str(Path(sys.executable).parent / "dbt")


def compile_inline(sql: str, dbt_vars: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBT, "compile", "--quiet", "--profiles-dir", str(ROOT), "--project-dir", str(ROOT), "--output", "json",
         "--vars", json.dumps(dbt_vars), "--inline", sql],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "accepted"),
    [(10, True), ("5 or 1=1", False), ("10", False), (2.5, False), (True, False)],
)
def test_integer_var_is_checked_by_type(value, accepted):
    proc = compile_inline(
        "select {{ gp_number_var('candidate_top_n', integer=true) }} as n", {"candidate_top_n": value}
    )
    if accepted:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout[proc.stdout.index("{") :])["compiled"].strip() == "select 10 as n"
    else:
        assert proc.returncode != 0
        assert "var candidate_top_n must be an integer" in proc.stdout + proc.stderr
