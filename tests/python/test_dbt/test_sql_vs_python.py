"""The SQL aggregator (fact_gene_pair_metrics) equals the Python twin (scoring.aggregate)
to 1e-9 on every column, on the example studies; disease-scope refusals are named."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genepair.synthetic import StudySpec, demo_pairs, write_download
from scoring.aggregate import pool_pairs
from support import Warehouse

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
DROPPED = demo_pairs()[0].gene_a  # MS4A4A, left out of GSE800001's matrix

COMPONENTS = [
    "r_control", "n_control", "r_sepsis", "n_sepsis", "r_shock", "n_shock", "g_ss", "var_g_ss", "kappa_ss",
    "n_ss", "g_soth", "var_g_soth", "kappa_soth", "n_soth", "n_labelled",
]  # fmt: skip


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("meta")
    pairs = demo_pairs()
    specs = [
        StudySpec("GSE800001", "MICROARRAY", "ARRAY_LOG2", 300, {"CONTROL": 6, "SEPSIS": 12, "SEPTIC_SHOCK": 10},
                  "title", 21, pairs),
        StudySpec("GSE800002", "MICROARRAY", "ARRAY_LOG2", 300, {"CONTROL": 3, "SEPSIS": 9, "SEPTIC_SHOCK": 8},
                  "disease", 22, pairs),  # CONTROL n = 3 < 4: excluded from r_control
        StudySpec("GSE800003", "MICROARRAY", "ARRAY_LOG2", 300, {"SEPSIS": 1, "SEPTIC_SHOCK": 7, "CONTROL": 5},
                  "title", 23, pairs),  # one sepsis sample: no ss effect size
        StudySpec("SRP800004", "RNA-SEQ", "COUNTS", 300, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 9},
                  "disease", 24, pairs),
    ]  # fmt: skip
    wh = Warehouse(root / "wh")
    config = root / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 25}\n")
    for spec in specs:
        download = write_download(root, [spec], spec.accession)
        if spec.accession == "GSE800001":  # a gene this study did not measure: its pairs
            tsv = download / spec.accession / f"{spec.accession}.tsv"  # pool over fewer studies
            lines = tsv.read_text().splitlines(keepends=True)
            tsv.write_text("".join(line for line in lines if not line.startswith(DROPPED + "\t")))
        wh.load(download, config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    return wh


def test_sql_aggregator_equals_python_twin(scored):
    rows = scored.query(
        "select c.genea_key, c.geneb_key, m.disease_key, c.technology, "
        + ", ".join(f"c.{c}" for c in COMPONENTS)
        + " from analytics.pair_study_components c join dim.study_disease_map m "
        "on m.study_key = c.study_key and m.is_active = 1 order by 1, 2, 3, 4, c.study_key"
    )
    keys = [r[:4] for r in rows]
    uniq = sorted(set(keys))
    index = {k: i for i, k in enumerate(uniq)}
    group = np.array([index[k] for k in keys])
    comp = {c: np.array([np.nan if r[4 + j] is None else r[4 + j] for r in rows], dtype=float)
            for j, c in enumerate(COMPONENTS)}  # fmt: skip
    parts = {p: i for i, p in enumerate(sorted({(k[2], k[3]) for k in uniq}))}
    partition = np.array([parts[(k[2], k[3])] for k in uniq])
    expected = pool_pairs(comp, group, len(uniq), partition)

    columns = list(expected)
    sql = scored.query(
        f"select genea_key, geneb_key, disease_key, technology, {', '.join(columns)} "
        "from fact.fact_gene_pair_metrics order by 1, 2, 3, 4"
    )
    assert [tuple(r[:4]) for r in sql] == uniq
    assert len(uniq) == 2 * 300  # 25 genes -> 300 pairs, two technologies, one disease
    for j, col in enumerate(columns):
        got = np.array([np.nan if r[4 + j] is None else r[4 + j] for r in sql], dtype=float)
        np.testing.assert_allclose(got, expected[col], rtol=1e-9, atol=1e-12, err_msg=col)
    # edge cases are in the data: GSE800003 has one sepsis sample (no ss effect size),
    # GSE800002 has 3 controls (< 4: no control correlation); RNA-seq has one study (k = 1)
    # and MS4A4A is missing from GSE800001: its 24 pairs pool one microarray study fewer
    tech = np.array([k[3] for k in uniq])
    array, rnaseq = tech == "MICROARRAY", tech == "RNA-SEQ"
    dropped_key = scored.scalar(f"select gene_key from dim.dim_gene where gene_id = '{DROPPED}'")
    partial = array & np.array([dropped_key in k[:2] for k in uniq])
    full = array & ~partial
    assert partial.sum() == 24 and full.sum() == 300 - 24
    assert set(expected["n_studies_ss"][full]) == {2} and set(expected["n_studies_soth"][full]) == {3}
    assert set(expected["n_samples_control"][full]) == {6 + 5}
    assert set(expected["n_studies_ss"][partial]) == {1} and set(expected["n_studies_soth"][partial]) == {2}
    assert set(expected["n_samples_control"][partial]) == {5}
    counts = scored.query(
        f"select genea_key = {dropped_key} or geneb_key = {dropped_key} as partial, included_study_count, count(*) "
        "from fact.fact_gene_pair_metrics where technology = 'MICROARRAY' group by all order by all"
    )
    assert counts == [(False, 3, 276), (True, 2, 24)]
    assert set(expected["n_studies_ss"][rnaseq]) == {1} and set(expected["dz_ss_i2"][rnaseq]) == {0.0}
    no_nan = scored.scalar(
        "select count(*) from fact.fact_gene_pair_metrics where isnan(dz_soth_mean) or isinf(neglog_q_soth)"
    )
    assert no_nan == 0


def test_dbt_python_model_equals_the_scoring_step(scored, tmp_path):
    """The opt-in dbt Python model computes the same components as `genepair score`."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--select", "int_pair_study_components",
         "--vars", "{python_scoring: true}", "--target-path", str(tmp_path / "target")],
        cwd=ROOT, env=scored.env | {"DBT_PROFILES_DIR": str(ROOT)}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    cols = "study_key, technology, genea_key, geneb_key, " + ", ".join(COMPONENTS)
    n = scored.scalar("select count(*) from analytics.pair_study_components")
    assert n == 4 * 300 - 24  # every candidate pair in every study, but MS4A4A's in GSE800001
    assert scored.scalar("select count(*) from staging.int_pair_study_components") == n
    differ = scored.scalar(
        f"select count(*) from (select {cols} from staging.int_pair_study_components "
        f"except select {cols} from analytics.pair_study_components)"
    )
    assert differ == 0


def test_unmapped_study_is_refused_with_54001(scored):
    scored.cli("disease", "set", "GSE800001", "SEPSIS", check=True)  # unchanged mapping
    # the map's one writer path is the change table: a study without changes is unmapped
    con_sql = "delete from staging.study_disease_changes where study_accession_code = 'SRP800004'"
    import duckdb

    con = duckdb.connect(str(scored.db))
    con.execute(con_sql)
    con.close()
    proc = scored.cli("score")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error 54001 AGG_MISSING_DISEASE_MAP: no active disease mapping for SRP800004")
    assert scored.query(
        "select severity, details from meta.meta_data_validation_log where validation_code = 'AGG_MISSING_DISEASE_MAP'"
    ) == [("ERROR", "SRP800004: no active study_disease_map row")]


def test_ranked_view_filters_and_session_parameters(scored):
    import duckdb

    con = duckdb.connect(str(scored.db), read_only=True)
    try:
        count = "select count(*) from analytics.vw_pair_metrics_ranked"
        expected_default = con.execute(
            "select count(*) from fact.fact_gene_pair_metrics where included_study_count >= 3 "
            "and least(coalesce(q_combined, 1), coalesce(q_ss, 1), coalesce(q_soth, 1)) <= 0.05 "
            "and least(coalesce(dz_ss_i2, 100), coalesce(dz_soth_i2, 100)) <= 75"
        ).fetchone()[0]
        assert con.execute(count).fetchone()[0] == expected_default
        con.execute("SET VARIABLE q = 1.0")
        con.execute("SET VARIABLE k_min = 1")
        con.execute("SET VARIABLE i2_max = 100")
        assert con.execute(count).fetchone()[0] == 600  # every SEPSIS row passes
        con.execute("SET VARIABLE disease = 'SEPTIC_SHOCK'")
        assert con.execute(count).fetchone()[0] == 0
        con.execute("SET VARIABLE disease = 'SEPSIS'")
        ranks = con.execute(
            "select rank_position, q_star from analytics.vw_pair_metrics_ranked order by rank_position"
        ).fetchall()
        assert [r[0] for r in ranks] == list(range(1, 601))
        assert all(a[1] <= b[1] for a, b in itertools.pairwise(ranks))
        assert con.execute("select count(*) from analytics.vw_pair_metrics_significant").fetchone()[0] == 600
    finally:
        con.close()
