"""Ranking (genepair rank), the feature catalog and the tidy pair features, and the real
gene annotation, on one warehouse: three microarray studies with the planted pairs and
a tiny RNA-seq study whose slice is too small for the models (issue #14)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from genepair.annotate import SQLITE
from genepair.rank import rank_settings
from genepair.synthetic import StudySpec, demo_pairs, known_genes, write_download
from loader.errors import LoaderError
from scoring.ranking import Feature, RankParams, rank_slice
from support import Warehouse, copy_dbt_project

pytestmark = pytest.mark.slow
SCORES = ["unsupervised_score", "metrics_score", "rank_score", "new_rank_score"]
SYMBOL = {s: g for g, s in known_genes()}


def specs() -> list[StudySpec]:
    pairs = demo_pairs()
    return [
        StudySpec("GSE830001", "MICROARRAY", "ARRAY_LOG2", 300, {"CONTROL": 12, "SEPSIS": 30, "SEPTIC_SHOCK": 28},
                  "title", 41, pairs),
        StudySpec("GSE830002", "MICROARRAY", "ARRAY_LOG2", 300, {"CONTROL": 10, "SEPSIS": 26, "SEPTIC_SHOCK": 24},
                  "disease", 42, pairs),
        StudySpec("GSE830003", "MICROARRAY", "ARRAY_LOG2", 300, {"CONTROL": 15, "SEPSIS": 35, "SEPTIC_SHOCK": 30},
                  "title", 43, pairs),
        # six genes (MS4A4A, CD86, MNDA, CD14, CLEC10A, CLEC4D): at most 15 pairs, < 20
        StudySpec("SRP830004", "RNA-SEQ", "COUNTS", 6, {"CONTROL": 8, "SEPSIS": 12, "SEPTIC_SHOCK": 12},
                  "disease", 44, pairs[:1]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def ranked(tmp_path_factory) -> tuple[Warehouse, Path, str]:
    root = tmp_path_factory.mktemp("ranking")
    config = root / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 30}\n")
    wh = Warehouse(root / "wh")
    if SQLITE.is_file():
        wh.cli("annotate", check=True)
    for spec in specs():
        wh.load(write_download(root, [spec], spec.accession), config=config)
    wh.build(config=config)
    scored = wh.cli("score", "--config", str(config), check=True)
    return wh, config, scored.stdout


def _scores(wh: Warehouse) -> list[tuple]:
    return wh.query(
        f"select pair_key, disease_key, technology, {', '.join(SCORES)} from fact.fact_gene_pair_metrics "
        "order by pair_key, disease_key, technology"
    )


def _rank_of(wh: Warehouse, a: str, b: str, tech: str) -> int:
    return wh.scalar(
        "select position from (select genea_key, geneb_key, row_number() over (order by new_rank_score desc, "
        f"pair_key) as position from fact.fact_gene_pair_metrics where technology = '{tech}') as ranked "
        "inner join dim.dim_gene as ga on ga.gene_key = ranked.genea_key "
        "inner join dim.dim_gene as gb on gb.gene_key = ranked.geneb_key "
        f"where (ga.gene_id = '{SYMBOL[a]}' and gb.gene_id = '{SYMBOL[b]}') "
        f"or (ga.gene_id = '{SYMBOL[b]}' and gb.gene_id = '{SYMBOL[a]}')"
    )


def test_every_pair_is_scored_and_the_planted_pairs_lead_their_slice(ranked):
    wh, _, out = ranked
    assert wh.scalar("select count(*) from fact.fact_gene_pair_metrics where technology = 'MICROARRAY'") == 435
    assert wh.scalar("select count(*) from fact.fact_gene_pair_metrics where new_rank_score is null") == 0
    assert wh.scalar("select count(*) from analytics.pair_rank_scores") == wh.scalar(
        "select count(*) from fact.fact_gene_pair_metrics"
    )
    # the two pairs with a shock shift lead; MNDA-CD14 carries none (a negative control).
    # The simulator shifts gene A up and gene B down, so S100A12 with any partner carries
    # part of the signal: S100A12-CLEC4D is 18th, behind S100A12's other pairs (its
    # direction consistency is 0.82), and every pair of the top 10 holds a planted gene
    assert _rank_of(wh, "MS4A4A", "CD86", "MICROARRAY") == 1
    assert _rank_of(wh, "S100A12", "CLEC4D", "MICROARRAY") == 18
    assert _rank_of(wh, "MNDA", "CD14", "MICROARRAY") > 100
    planted = {SYMBOL[s] for s in ("MS4A4A", "CD86", "S100A12", "CLEC4D")}
    top = wh.query(
        "select ga.gene_id, gb.gene_id from fact.fact_gene_pair_metrics as m "
        "inner join dim.dim_gene as ga on ga.gene_key = m.genea_key "
        "inner join dim.dim_gene as gb on gb.gene_key = m.geneb_key "
        "where m.technology = 'MICROARRAY' order by m.new_rank_score desc, m.pair_key limit 10"
    )
    assert len(top) == 10 and all(a in planted or b in planted for a, b in top)
    assert "ranking: computed rank run" in out
    scores = wh.query(
        "select min(new_rank_score), max(new_rank_score), min(unsupervised_score), max(rank_score) "
        "from fact.fact_gene_pair_metrics where technology = 'MICROARRAY'"
    )[0]
    assert 0 < scores[0] < scores[1] <= 1 and 0 < scores[2] and scores[3] == 1.0


def test_a_slice_too_small_for_the_models_gets_a_logged_fallback(ranked):
    wh, _, out = ranked
    n = wh.scalar("select count(*) from fact.fact_gene_pair_metrics where technology = 'RNA-SEQ'")
    assert 0 < n < 20
    row = wh.query(
        "select count(unsupervised_score), count(new_rank_score), count(rank_score) "
        "from fact.fact_gene_pair_metrics where technology = 'RNA-SEQ'"
    )[0]
    assert row == (0, n, n)
    findings = wh.query(
        "select details from meta.meta_data_validation_log where validation_code = 'RANK_SLICE_FALLBACK'"
    )
    assert findings == [
        (f"disease_key 1, RNA-SEQ: {n} pairs < min_slice_pairs 20: models skipped, blend without them",)
    ]
    assert f"ranking: fallback: RNA-SEQ: {n} pairs < min_slice_pairs 20" in out


def test_rank_is_deterministic_and_provenance_is_logged(ranked):
    wh, config, _ = ranked
    before = _scores(wh)
    run = wh.query("select rank_run_id, parameters_json from analytics.rank_runs where is_current = 1")
    assert len(run) == 1
    assert wh.cli("rank", "--config", str(config), check=True).stdout.startswith("ranking: reused")
    # forget the run: the same inputs give the same id and the same scores, bit for bit
    con_sql = "delete from analytics.rank_runs"
    import duckdb

    con = duckdb.connect(str(wh.db))
    con.execute(con_sql)
    con.execute("update fact.fact_gene_pair_metrics set new_rank_score = null")
    con.close()
    assert "ranking: computed" in wh.cli("rank", "--config", str(config), check=True).stdout
    assert _scores(wh) == before
    assert wh.query("select rank_run_id from analytics.rank_runs where is_current = 1") == [(run[0][0],)]
    import json

    info = json.loads(run[0][1])
    assert info["packages"]["scikit-learn"].split(".")[0] == "1"
    assert info["parameters"]["blend"] == {"q_star": 0.5, "model": 0.3, "consistency_power": 0.2}
    assert info["positive_genes"] == ["MS4A4A", "CD86"]
    assert len(info["model_inputs"]) == 17
    logged = wh.query("select context_json from meta.meta_etl_process_log where step = 'rank_pairs'")
    assert len(logged) == 2 and json.loads(logged[-1][0])["rank_run_id"] == run[0][0]


def test_scores_survive_a_full_refresh_rebuild(ranked):
    wh, config, _ = ranked
    before = _scores(wh)
    wh.cli("build", "--config", str(config), "--full-refresh", check=True)
    assert _scores(wh) == before


def test_changed_weights_are_a_new_run_and_bad_ranking_settings_are_named(ranked, tmp_path):
    features = [Feature("power_score", "higher_is_better", "median", True)]
    params, genes = rank_settings({"blend": {"model": 0}, "positive_genes": ["cd86"]}, features)
    assert params.blend == {"q_star": 0.5, "model": 0.0, "consistency_power": 0.2} and genes == ("CD86",)
    for bad, key in [
        ({"top": 1}, "ranking.top"),
        ({"lof_neighbors": "ten"}, "ranking.lof_neighbors"),
        ({"seed": True}, "ranking.seed"),
        ({"blend": {"model": -1}}, "ranking.blend.model"),
        ({"metrics": {"no_such_feature": 1}}, "ranking.metrics.no_such_feature"),
        ({"stack": {"lof": 0, "iforest": 0, "svm": 0}}, "ranking.stack"),
        ({"positive_genes": "CD86"}, "ranking.positive_genes"),
    ]:
        with pytest.raises(LoaderError) as err:
            rank_settings(bad, features)
        assert err.value.name == "INVALID_CONFIG" and f"pipeline.yaml: {key}:" in err.value.message
    wh, config, _ = ranked
    other = tmp_path / "pipeline.yaml"
    other.write_text(config.read_text() + "ranking: {lof_neighbors: ten}\n")
    proc = wh.cli("rank", "--config", str(other))
    assert proc.returncode == 3
    assert proc.stderr.startswith("error 53016 INVALID_CONFIG: pipeline.yaml: ranking.lof_neighbors:")


def test_rank_slice_is_bitwise_repeatable():
    rng = np.random.default_rng(5)
    n = 400
    names = ["q_combined", "q_ss", "q_soth", "dz_ss_i2", "dz_soth_i2", "combined_effect_size",
             "consistency_score", "power_score", "abs_dz_soth"]  # fmt: skip
    cols = {c: rng.random(n) for c in names}
    cols["abs_dz_soth"][::7] = np.nan
    features = [
        Feature("consistency_score", "higher_is_better", "median", True),
        Feature("power_score", "higher_is_better", "median", True),
        Feature("abs_dz_soth", "higher_is_better", "worst", True),
        Feature("neglog10_q_star", "higher_is_better", "worst", True),
        Feature("abs_combined_effect_size", "higher_is_better", "median", True),
        Feature("neg_i2_star", "higher_is_better", "worst", True),
    ]
    positives = np.zeros(n, dtype=bool)
    positives[:12] = True
    first = rank_slice(cols, features, positives, RankParams())
    second = rank_slice({k: v.copy() for k, v in cols.items()}, features, positives, RankParams())
    for key, value in first.scores.items():
        assert value.tobytes() == second.scores[key].tobytes(), key
    assert np.isfinite(first.scores["svm_score"]).all()
    no_positives = rank_slice(cols, features, np.zeros(n, dtype=bool), RankParams())
    assert np.isnan(no_positives.scores["svm_score"]).all()
    assert no_positives.notes == [f"0 weak positives among {n} pairs: no rank-SVM, stack of LOF and IF"]


def test_pair_features_in_long_form_equal_the_fact(ranked):
    wh, _, _ = ranked
    catalog = [r[0] for r in wh.query(
        "select feature_name from meta.meta_feature_catalog where scope in ('GENE_PAIR_META', 'GENE_PAIR_RANK')"
    )]  # fmt: skip
    assert len(catalog) == 70
    assert wh.scalar("select count(*) from meta.meta_feature_catalog") == 73
    expected = wh.scalar("select " + " + ".join(f"count({c})" for c in catalog) + " from fact.fact_gene_pair_metrics")
    assert wh.scalar("select count(*) from fact.fact_feature_values where entity_scope = 'GENE_PAIR_META'") == expected
    mismatches = wh.scalar(
        "select count(*) from fact.fact_feature_values as v inner join fact.fact_gene_pair_metrics as m "
        "on v.entity_id_1 = m.pair_key and v.disease_key = m.disease_key and v.technology = m.technology "
        "where v.entity_scope = 'GENE_PAIR_META' and v.study_key is null and v.feature_run_id = m.feature_run_id "
        "and v.feature_value is distinct from case v.feature_name "
        + " ".join(f"when '{c}' then cast(m.{c} as double)" for c in catalog)
        + " end"
    )
    assert mismatches == 0


def test_the_catalog_test_fails_both_ways(ranked, tmp_path):
    """A catalog without power_score and with a name that is no column: two failing rows."""
    wh, _, _ = ranked
    project = copy_dbt_project(tmp_path / "project")
    path = project / "models" / "marts" / "meta" / "feature_catalog.yaml"
    doc = yaml.safe_load(path.read_text())
    features = doc["models"][0]["config"]["meta"]["features"]
    features[:] = [f for f in features if f["name"] != "power_score"]
    features.append({**features[0], "name": "not_a_column"})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(wh.db, db)
    env = dict(os.environ, DBT_PROFILES_DIR=str(project), GENEPAIR_DUCKDB_PATH=str(db), GENEPAIR_TARGET="duckdb",
               DBT_TARGET_PATH=str(project / "target"), DBT_LOG_PATH=str(project / "logs"))  # fmt: skip
    dbt = str(Path(sys.executable).parent / "dbt")
    proc = subprocess.run(
        [dbt, "build", "-s", "meta_feature_catalog", "assert_feature_catalog_matches_pair_metrics"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "Got 2 results" in proc.stdout


def test_real_annotation_maps_ensembl_ids_with_its_version(ranked):
    if not SQLITE.is_file():
        pytest.skip(f"{SQLITE} not installed (apt-get install r-bioc-org.hs.eg.db; .ci/run installs it)")
    wh, _, _ = ranked
    row = wh.query(
        "select gene_symbol, gene_type, chromosome, start_position < end_position, annotation_version "
        "from dim.dim_gene where gene_id = 'ENSG00000110079'"
    )
    assert row == [("MS4A4A", "protein-coding", "11", True, "org.Hs.eg.db 3.16.0")]
    assert wh.query(
        "select gene_symbol, chromosome from staging.gene_annotation where gene_id = 'ENSG00000111640'"
    ) == [("GAPDH", "12")]
    assert wh.query("select source_name, source_version, ensembl_source_date from staging.gene_annotation_source") == [
        ("org.Hs.eg.db", "3.16.0", "2022-Jun28")
    ]
    assert wh.scalar("select count(*) from staging.gene_annotation") > 30000
    assert wh.cli("annotate", check=True).stdout.startswith("annotation: unchanged")
