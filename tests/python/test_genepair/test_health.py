"""Issue #17: `genepair health` on a scored fixture with known counts (DuckDB) and on a
built one (PostgreSQL): the signals equal counts taken here from the marts, a crossed
threshold exits 1, and the 54100 summary is one validation row per run and slice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from genepair.synthetic import StudySpec, demo_pairs, write_download
from support import FIXTURES, Warehouse
from support.pg import PgWarehouse, server_or_skip


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("health")
    pairs = demo_pairs()
    specs = [
        StudySpec("GSE820001", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 6, "SEPSIS": 10, "SEPTIC_SHOCK": 9},
                  "title", 41, pairs),
        StudySpec("GSE820002", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 7},
                  "disease", 42, pairs),
        StudySpec("SRP820003", "RNA-SEQ", "COUNTS", 200, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 9},
                  "disease", 43, pairs),
    ]  # fmt: skip
    wh = Warehouse(root / "wh")
    config = root / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 30}\nhealth: {i2_max: 20}\n")
    for spec in specs:
        wh.load(write_download(root, [spec], spec.accession), config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    wh.config = config
    return wh


def health(wh, *extra: str) -> tuple[int, dict]:
    proc = wh.cli("health", "--json", *extra)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_health_signals_equal_the_marts(scored, tmp_path):
    code, report = health(scored, "--config", str(scored.config))
    expected = scored.query(
        "select d.disease_label, m.technology, count(*), count(*) filter (where m.included_study_count < 3), "
        "count(*) filter (where least(coalesce(m.dz_ss_i2, 100), coalesce(m.dz_soth_i2, 100)) > 20) "
        "from fact.fact_gene_pair_metrics m join dim.dim_disease d on d.disease_key = m.disease_key "
        "where m.metrics_scope = 'META_STUDIES' group by all order by 1, 2"
    )
    got = [(s["disease"], s["technology"], s["n_pairs"], s["n_below_k_min"], s["n_heterogeneity_excess"])
           for s in report["pair_signals"]]  # fmt: skip
    assert got == expected and len(got) == 2
    assert {s["i2_max"] for s in report["pair_signals"]} == {20.0}
    n_low_k = sum(r[3] for r in expected)
    n_het = sum(r[4] for r in expected)
    assert n_het > 0 and n_low_k == sum(r[2] for r in expected)  # at most 2 studies per slice
    run_id, ended = scored.query(
        "select run_id, ended_at from meta.meta_etl_process_log where status = 'SUCCESS' order by ended_at desc limit 1"
    )[0]
    assert report["last_successful_run"]["run_id"] == run_id and report["last_successful_run"]["at"] == str(ended)
    staged = scored.scalar(
        "select sum(rows_written) from meta.meta_etl_process_log "
        "where step = 'stage_expression' and status = 'SUCCESS' and run_id = ("
        "select run_id from meta.meta_etl_process_log where step = 'stage_expression' "
        "order by ended_at desc limit 1)"
    )
    assert report["load_throughput"]["rows_written"] == staged == 200 * 22
    n, unknown = scored.query(
        "select count(*), count(*) filter (where i.illness_label = 'UNKNOWN') from dim.dim_sample s "
        "join dim.dim_illness i on i.illness_key = s.illness_key"
    )[0]
    assert (report["unknown_illness"]["samples"], report["unknown_illness"]["unknown"]) == (n, unknown) == (67, 0)
    assert report["studies_missing_inputs"] == [] and report["errors"] == []
    assert code == 0 and report["healthy"] and report["crossed"] == []

    # the 54100 summary: one row per run and slice with pairs above i2_max, logged once
    rows = scored.query(
        "select run_id, details from meta.meta_data_validation_log where validation_code = 'HETEROGENEITY_EXCESS'"
    )
    slices_over = [r for r in expected if r[4] > 0]
    assert len(rows) == len(slices_over)
    run = report["pair_signals"][0]["feature_run_id"]
    assert {r[0] for r in rows} == {run}
    for disease, tech, n_pairs, _, n_over in slices_over:
        detail = (
            f"{disease} / {tech}: {n_over} of {n_pairs} pooled pairs have i2_star > 20.0 "
            "(54100; excluded from vw_pair_metrics_ranked)"
        )
        assert detail in {r[1] for r in rows}

    # thresholds crossed: exit 1, each named
    strict = tmp_path / "strict.yaml"
    strict.write_text("health: {i2_max: 20, max_heterogeneity_pct: 0, max_low_k_pct: 50}\n")
    code, report = health(scored, "--config", str(strict))
    assert code == 1 and not report["healthy"]
    rna = next(s for s in report["pair_signals"] if s["technology"] == "RNA-SEQ")
    # two microarray studies and one RNA-seq study: every pair is below k_min = 3
    assert "SEPSIS / MICROARRAY: 100.0% of pairs below k_min (max 50%)" in report["crossed"]
    assert "SEPSIS / RNA-SEQ: 100.0% of pairs below k_min (max 50%)" in report["crossed"]
    assert rna["n_below_k_min"] == rna["n_pairs"]
    assert sum("with i2_star > i2_max" in c for c in report["crossed"]) == len(slices_over)


def test_failures_and_missing_inputs_cross_thresholds(scored, tmp_path):
    root = tmp_path / "copy"
    root.mkdir()
    wh = Warehouse(root)
    shutil.copy(scored.db, wh.db)
    bad = tmp_path / "nope"
    wh.load(bad, check=False)  # a FAILED step (53001)
    con = duckdb.connect(str(wh.db))
    con.execute(
        "delete from analytics.pair_study_components where study_key = "
        "(select study_key from dim.dim_study where study_accession_code = 'GSE820002')"
    )
    con.close()
    code, report = health(wh, "--config", str(scored.config))
    assert code == 1
    assert [(e["error_code"], e["step"], e["n_failures"]) for e in report["errors"]] == [(53001, "open_download", 1)]
    assert report["studies_missing_inputs"] == [
        {"study": "GSE820002", "missing": "no components in the current scoring run"}
    ]
    assert report["crossed"] == [
        "1 failed step(s) in the last 7 days (max 0)",
        "1 studies missing inputs: GSE820002 (no components in the current scoring run) (max 0)",
    ]
    text = wh.cli("health", "--config", str(scored.config))
    assert text.returncode == 1 and "THRESHOLD CROSSED" in text.stdout and "! 1 failed step(s)" in text.stdout


def test_health_on_postgres_built_not_scored(tmp_path):
    server_or_skip()
    wh = PgWarehouse(tmp_path / "wh")
    try:
        wh.cli("load", str(FIXTURES / "seed_study"), check=True)
        wh.cli("build", check=True)
        proc = wh.cli("health", "--json")
        report = json.loads(proc.stdout)
        assert proc.returncode == 1
        n, unknown = wh.query(
            "select count(*), count(*) filter (where i.illness_label = 'UNKNOWN') from dim.dim_sample s "
            "join dim.dim_illness i on i.illness_key = s.illness_key"
        )[0]
        assert (report["unknown_illness"]["samples"], report["unknown_illness"]["unknown"]) == (n, unknown) == (5, 0)
        assert report["pair_signals"] == []
        assert report["studies_missing_inputs"] == [{"study": "SRP049820", "missing": "no active disease mapping"}]
        assert report["load_throughput"]["rows_written"] == 20
    finally:
        wh.drop()


def test_cron_and_systemd_examples_name_real_commands():
    from click.testing import CliRunner

    from genepair.cli import main

    root = Path(__file__).resolve().parents[3] / "ops"
    cron = [line.split() for line in (root / "cron/genepair-housekeeping").read_text().splitlines()
            if line and not line.startswith("#")]  # fmt: skip
    assert [(c[0], c[1]) for c in cron] == [("30", "3"), ("45", "3"), ("0", "4")]
    for kind, at in (("files", "03:30"), ("db", "03:45")):
        assert f"OnCalendar=*-*-* {at}:00" in (root / f"systemd/genepair-housekeeping-{kind}.timer").read_text()
        assert f"housekeeping --only {kind}" in (root / f"systemd/genepair-housekeeping-{kind}.service").read_text()
        result = CliRunner().invoke(main, ["housekeeping", "--only", kind, "--help"])
        assert result.exit_code == 0
    agent = (root / "sqlserver_agent/Housekeeping_Purge_DB_Logs.sql").read_text()
    assert "EXEC meta.sp_purge_logs @retain_days = 180;" in agent and "@active_start_time = 034500" in agent
