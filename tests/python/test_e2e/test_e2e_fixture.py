"""End to end on the seed 003 fixture (4 genes x 5 samples): load, build, exact values;
idempotent re-load; a changed file supersedes its batch and keys stay stable."""

from __future__ import annotations

import json
import math
import shutil

import pytest

pytestmark = pytest.mark.slow

EXPECTED_LABELS = {
    "SRR1652895": ("CONTROL", "rule", "R041"),
    "SRR1652896": ("NO_SEPSIS", "rule", "R021"),
    "SRR1652897": ("SEPSIS", "rule", "R031"),
    "SRR1652898": ("SEPTIC_SHOCK", "rule", "R011"),
    "SRR1652899": ("SEPTIC_SHOCK", "rule", "R011"),
}
TABLES = [
    "staging.expression_rows",
    "staging.batch_registry",
    "staging.refinebio_samples",
    "dim.dim_study",
    "dim.dim_sample",
    "dim.dim_gene",
    "dim.dim_platform",
    "fact.fact_gene_expression",
    "fact.fact_feature_values",
]


def labels(wh) -> dict:
    rows = wh.query(
        "select s.sample_accession_code, i.illness_label, s.illness_method, s.illness_rule_id "
        "from dim.dim_sample s join dim.dim_illness i using (illness_key)"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def test_fixture_loads_and_builds_with_exact_values(warehouse, seed_study):
    out = warehouse.load(seed_study).stdout
    assert "SRP049820: loaded batch" in out and "4 genes x 5 samples = 20 rows, units TPM" in out
    warehouse.build()
    assert warehouse.scalar("select count(*) from fact.fact_gene_expression") == 20
    assert warehouse.scalar("select count(*) from analytics.vw_export_contract") == 20
    assert labels(warehouse) == EXPECTED_LABELS
    # key coverage: every staged row is a fact with every key resolved
    assert (
        warehouse.scalar(
            "select count(*) from fact.fact_gene_expression f join dim.dim_sample s using (sample_key) "
            "join dim.dim_gene g using (gene_key) join dim.dim_study t on t.study_key = f.study_key"
        )
        == 20
    )
    raw, value = warehouse.query(
        "select expression_value_raw, expression_value from analytics.vw_expression_long "
        "where sample_accession_code = 'SRR1652898' and gene_id = 'ENSG00000000003'"
    )[0]
    assert raw == 35.25
    assert value == pytest.approx(math.log2(36.25), rel=1e-15)
    assert warehouse.query("select study_unit_tag, study_technology from dim.dim_study") == [("TPM", "RNA-SEQ")]
    assert warehouse.query(
        "select platform_accession, platform_name, manufacturer, measurement_technology from dim.dim_platform"
    ) == [("IlluminaGenomeAnalyzerII", "Illumina Genome Analyzer II", "Illumina", "RNA-SEQ")]
    qc = warehouse.query(
        "select n_genes, n_samples, n_rows, pct_zeros, value_min, value_max, illness_coverage, ks_statistic, "
        "quantile_normalized from meta.meta_study_qc"
    )[0]
    assert qc == (4, 5, 20, 5.0, 0.0, 64.0, 1.0, None, 0)
    # stable keys start at 1 in natural-key order
    assert warehouse.query("select gene_id, gene_key from dim.dim_gene order by gene_key") == [
        ("ENSG00000000003", 1),
        ("ENSG00000000005", 2),
        ("ENSG00000000419", 3),
        ("ENSG00000000457", 4),
    ]
    # one process-log row per step, with file names, hashes and the config snapshot
    steps = warehouse.query(
        "select step, status, rows_written, context_json from meta.meta_etl_process_log "
        "where step in ('stage_expression', 'register_batch', 'dbt_build') order by started_at"
    )
    assert [(s, st) for s, st, _, _ in steps] == [
        ("stage_expression", "SUCCESS"),
        ("register_batch", "SUCCESS"),
        ("dbt_build", "SUCCESS"),
    ]
    assert steps[0][2] == 20
    context = json.loads(steps[0][3])
    assert context["file_name"] == "SRP049820.tsv"
    assert len(context["file_hash"]) == 64 and "config_snapshot" in context
    # gene features (variance of transformed values per study) match numpy
    import numpy as np

    values = [
        r[0]
        for r in warehouse.query(
            "select expression_value from analytics.vw_expression_long where gene_id = 'ENSG00000000457' "
            "order by sample_accession_code"
        )
    ]
    variance = warehouse.scalar(
        "select feature_value from fact.fact_feature_values f join dim.dim_gene g on g.gene_key = f.entity_id_1 "
        "where g.gene_id = 'ENSG00000000457' and feature_name = 'variance'"
    )
    assert variance == pytest.approx(np.var(values, ddof=1), rel=1e-12)


def test_reload_is_idempotent_and_a_changed_file_supersedes(warehouse, seed_study, tmp_path):
    study = tmp_path / "download"
    shutil.copytree(seed_study, study)
    warehouse.load(study)
    warehouse.build()
    before = warehouse.fingerprint(TABLES)
    keys_before = warehouse.query("select sample_accession_code, sample_key from dim.dim_sample order by 1")
    first_batch = warehouse.scalar("select batch_id from staging.batch_registry")

    again = warehouse.load(study)
    assert "already loaded, nothing written" in again.stdout
    warehouse.build()
    assert warehouse.fingerprint(TABLES) == before

    tsv = study / "SRP049820" / "SRP049820.tsv"
    tsv.write_text(tsv.read_text().replace("17.0", "18.5"))
    out = warehouse.load(study).stdout
    assert "supersedes" in out
    warehouse.build()
    registry = warehouse.query(
        "select batch_id, status, is_current, superseded_by from staging.batch_registry order by loaded_at"
    )
    assert len(registry) == 2
    assert registry[0][:3] == (first_batch, "SUPERSEDED", 0)
    assert registry[1][1:3] == ("COMPLETE", 1) and registry[0][3] == registry[1][0]
    assert warehouse.scalar("select count(*) from staging.expression_rows") == 20
    assert warehouse.scalar("select count(*) from fact.fact_gene_expression") == 20
    assert warehouse.scalar("select count(distinct batch_id) from fact.fact_gene_expression") == 1
    assert (
        warehouse.scalar(
            "select expression_value_raw from analytics.vw_expression_long where sample_accession_code = 'SRR1652899' "
            "and gene_id = 'ENSG00000000457'"
        )
        == 18.5
    )
    assert warehouse.query("select sample_accession_code, sample_key from dim.dim_sample order by 1") == keys_before


def test_config_overrides_and_exclusions_apply_and_reload(warehouse, seed_study, tmp_path):
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("sample_accession_code,illness_label,reason\nSRR1652897,SEPTIC_SHOCK,chart review\n")
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "studies:\n  SRP049820:\n    illness_overrides: overrides.csv\n    exclude_samples: [SRR1652899]\n"
    )
    warehouse.load(seed_study, config=config)
    warehouse.build(config=config)
    assert labels(warehouse)["SRR1652897"] == ("SEPTIC_SHOCK", "override", "R031")
    assert warehouse.scalar("select count(*) from analytics.vw_export_contract") == 16
    assert warehouse.query(
        "select severity, details from meta.meta_data_validation_log "
        "where validation_code = 'ILLNESS_OVERRIDE_CONFLICT'"
    ) == [("WARN", "SRR1652897: override SEPTIC_SHOCK wins over rule R031 (SEPSIS)")]

    # settings changed, same files: the batch is reloaded and the new settings apply
    overrides.write_text("sample_accession_code,illness_label\nSRR1652897,SEPSIS\n")
    config.write_text("studies:\n  SRP049820:\n    illness_overrides: overrides.csv\n")
    assert "reloaded (metadata changed)" in warehouse.load(seed_study, config=config).stdout
    warehouse.build(config=config)
    assert labels(warehouse)["SRR1652897"] == ("SEPSIS", "override", "R031")
    assert warehouse.scalar("select count(*) from analytics.vw_export_contract") == 20
    assert warehouse.scalar("select count(*) from fact.fact_gene_expression") == 20
    assert warehouse.scalar("select count(*) from staging.batch_registry") == 1

    overrides.write_text("sample_accession_code,illness_label\nSRR1652897,FLU\n")
    bad = warehouse.load(seed_study, config=config, check=False)
    assert bad.returncode == 3
    assert bad.stderr.startswith("error 53016 INVALID_CONFIG: ") and "line 2: illness_label 'FLU'" in bad.stderr
