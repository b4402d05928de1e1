"""The SQL aggregator (gp_pair_metrics_ctes, the macro the model and the T-SQL procedure
render) against R metafor on every golden DerSimonian-Laird case, nearly identical studies
included (issue #16: Cochran's Q in the two-pass form), at 1e-9; and a study that
contributes no estimate counts neither in included_study_count nor in total_samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from support import ROOT

DBT = str(Path(sys.executable).parent / "dbt")
GOLDEN = json.loads((ROOT / "tests" / "golden" / "reference_r.json").read_text())
CASES = sorted(GOLDEN["dl"])
COLUMNS = ("estimate", "se", "z", "p", "ci_low", "ci_high", "tau2", "q", "i2")
SQL_COLUMN = {"estimate": "dz_ss_mean", "se": "dz_ss_se", "z": "dz_ss_z", "p": "p_ss", "ci_low": "dz_ss_ci_low",
              "ci_high": "dz_ss_ci_high", "tau2": "dz_ss_tau2", "q": "dz_ss_q", "i2": "dz_ss_i2"}  # fmt: skip
INLINE = """
with components as (select * from golden_components),
feature_runs as (select 'golden' as feature_run_id, 1 as is_current),
disease_map as (select distinct study_key, 1 as disease_key, 1 as is_active from golden_components),
dim_gene_pair as (
    select distinct genea_key * 1000 + geneb_key as pair_key, genea_key, geneb_key from golden_components
),
{{ gp_pair_metrics_ctes() }}
select * from final
"""


@pytest.fixture(scope="module")
def pooled() -> dict[int, dict]:
    proc = subprocess.run(
        [DBT, "compile", "--quiet", "--profiles-dir", str(ROOT), "--project-dir", str(ROOT), "--output", "json",
         "--inline", INLINE],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sql = json.loads(proc.stdout[proc.stdout.index("{") :])["compiled"]
    con = duckdb.connect()
    con.execute(
        "create table golden_components (feature_run_id varchar, study_key integer, batch_id varchar, "
        "technology varchar, genea_key integer, geneb_key integer, r_control double, n_control integer, "
        "r_sepsis double, n_sepsis integer, r_shock double, n_shock integer, g_ss double, var_g_ss double, "
        "kappa_ss double, n_ss integer, g_soth double, var_g_soth double, kappa_soth double, n_soth integer, "
        "n_labelled integer)"
    )
    for index, case in enumerate(CASES):
        ref = GOLDEN["dl"][case]
        yi, vi = np.atleast_1d(ref["yi"]), np.atleast_1d(ref["vi"])
        for j, (y, v) in enumerate(zip(yi, vi, strict=True)):
            con.execute(
                "insert into golden_components (feature_run_id, study_key, batch_id, technology, genea_key, "
                "geneb_key, g_ss, var_g_ss, n_labelled) values ('golden', ?, 'b', 'MICROARRAY', ?, ?, ?, ?, ?)",
                [j + 1, index + 1, index + 101, float(y), float(v), 10 + j],
            )
        # a study with 4 labelled samples and no usable cohort or contrast
        con.execute(
            "insert into golden_components (feature_run_id, study_key, batch_id, technology, genea_key, geneb_key, "
            "n_control, n_sepsis, n_shock, n_labelled) values ('golden', 99, 'b', 'MICROARRAY', ?, ?, 1, 2, 1, 4)",
            [index + 1, index + 101],
        )
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return {row[names.index("genea_key")]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


@pytest.mark.parametrize("case", CASES)
def test_sql_pooling_matches_metafor(pooled, case):
    ref = GOLDEN["dl"][case]
    row = pooled[CASES.index(case) + 1]
    for field in COLUMNS:
        np.testing.assert_allclose(row[SQL_COLUMN[field]], ref[field], rtol=1e-9, atol=1e-12, err_msg=field)
    assert row["n_studies_ss"] == ref["k"]


def test_near_identical_studies_q_to_1e9(pooled):
    ref = GOLDEN["dl"]["near_identical"]
    q = pooled[CASES.index("near_identical") + 1]["dz_ss_q"]
    assert ref["q"] == pytest.approx(3.0342275024254e-09, rel=1e-12)
    assert abs(q - ref["q"]) / ref["q"] < 1e-9  # the one-pass form was 1.35e-7 off


@pytest.mark.parametrize("case", CASES)
def test_a_study_without_estimates_is_not_counted(pooled, case):
    ref = GOLDEN["dl"][case]
    k = len(np.atleast_1d(ref["yi"]))
    row = pooled[CASES.index(case) + 1]
    assert row["included_study_count"] == k  # not k + 1
    assert row["total_samples"] == sum(10 + j for j in range(k))  # the 4 samples of study 99 left out
