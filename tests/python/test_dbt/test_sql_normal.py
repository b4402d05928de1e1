"""The SQL normal tail (macros gp_erfc / gp_neglog10_erfc, Cody's rational approximations)
against scipy (Cephes, an independent implementation): relative error <= 1e-13 for
0 <= x <= 26 (|z| <= 36.8), exactly 0 only where a double cannot hold erfc, and the
-log10 form finite and accurate far beyond that (no underflow, no overflow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import special

from support import ROOT

DBT = str(Path(sys.executable).parent / "dbt")
GRID = np.unique(
    np.concatenate(
        [
            [0.0, 1e-300, 1e-12, 1e-6, 0.46875, np.nextafter(0.46875, 1), 4.0, np.nextafter(4.0, 5), 26.0],
            np.linspace(0.0, 8.0, 1601),
            np.linspace(8.0, 26.0, 361),
        ]
    )
)
LARGE = np.array([26.0, 26.5, 27.0, 30.0, 38.5, 50.0, 100.0, 1e3, 1e5])


def _compile(expression: str) -> str:
    """Render a macro call into SQL with the project's own dbt (no database needed)."""
    proc = subprocess.run(
        [DBT, "compile", "--quiet", "--profiles-dir", str(ROOT), "--project-dir", str(ROOT), "--output", "json",
         "--inline", f"select {expression} as value from grid"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{") :])["compiled"]


@pytest.fixture(scope="module")
def sql_tail() -> dict[str, np.ndarray]:
    erfc_sql = _compile("{{ gp_erfc('x') }}")
    neglog_sql = _compile("{{ gp_neglog10_erfc('x') }}")
    con = duckdb.connect()
    out = {}
    for name, grid in (("grid", GRID), ("large", LARGE)):
        con.execute("create or replace table grid (i integer, x double)")
        con.executemany("insert into grid values (?, ?)", list(enumerate(grid.tolist())))
        for kind, sql in (("erfc", erfc_sql), ("neglog", neglog_sql)):
            rows = con.execute(f"select value from ({sql.replace('from grid', ', i from grid')}) order by i").fetchall()
            out[f"{name}_{kind}"] = np.array([np.nan if r[0] is None else r[0] for r in rows], dtype=float)
    return out


def test_erfc_relative_error_below_1e13_on_0_to_26(sql_tail):
    ref = special.erfc(GRID)
    rel = np.abs(sql_tail["grid_erfc"] - ref) / ref
    worst = int(np.argmax(rel))
    print(f"gp_erfc: max relative error {rel.max():.2e} on {GRID.size} points in [0, 26]")
    assert rel.max() <= 1e-13, f"max relative error {rel.max():.3e} at x = {GRID[worst]!r}"
    assert (sql_tail["grid_erfc"] > 0).all()  # no underflow to exactly 0 up to x = 26


def test_neglog10_erfc_matches_log_space_reference(sql_tail):
    for grid, values in ((GRID, sql_tail["grid_neglog"]), (LARGE, sql_tail["large_neglog"])):
        # erfc(x) = 2 Phi(-x sqrt 2): scipy's log_ndtr stays finite far into the tail
        ref = -(np.log(2.0) + special.log_ndtr(-grid * np.sqrt(2.0))) / np.log(10.0)
        assert np.isfinite(values).all()
        close = np.isclose(values, ref, rtol=1e-12, atol=1e-15)
        assert close.all(), f"x = {grid[~close]!r}: sql {values[~close]!r} vs {ref[~close]!r}"
    # x = 1e5: p ~ 10^-4.3e9, far below the smallest double, and -log10 is still exact
    assert sql_tail["large_neglog"][-1] > 4e9


def test_erfc_beyond_double_range_is_zero_not_an_error(sql_tail):
    values = sql_tail["large_erfc"]
    assert values[LARGE > 26.46].tolist() == [0.0] * int((LARGE > 26.46).sum())
