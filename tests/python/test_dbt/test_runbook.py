"""Issue #17: the DBA runbook procedures (dim.sp_upsert_study / _platform / _gene / _sample,
fact.sp_load_gene_expression) run the models' own SQL: executed on DuckDB (gp_runbook, the
same statements the T-SQL files carry) they give the rows and the stable keys a dbt build
gives. An override applied by procedure = the dim_sample row `genepair build` gives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from genepair.synthetic import StudySpec, write_download
from support import FIXTURES, ROOT, Warehouse

DBT = str(Path(sys.executable).parent / "dbt")
TIMESTAMPS = {"etl_created_date", "etl_updated_date"}


def rows(db: Path, table: str, order: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [r[0] for r in con.execute(f"describe {table}").fetchall() if r[0] not in TIMESTAMPS]
        return con.execute(f"select {', '.join(cols)} from {table} order by {order}").fetchall()
    finally:
        con.close()


def execute(db: Path, sql: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(sql)
    finally:
        con.close()


def dbt(db: Path, *args: str) -> str:
    env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(db), GENEPAIR_TARGET="duckdb", DBT_PROFILES_DIR=str(ROOT))
    proc = subprocess.run([DBT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def runbook(db: Path, procedure: str, **args: str) -> dict:
    out = dbt(db, "--quiet", "run-operation", "gp_runbook", "--args", json.dumps({"procedure": procedure, **args}))
    return json.loads(out[out.index("@@runbook ") + len("@@runbook ") :].splitlines()[0])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A built warehouse (seed study + a synthetic one) and an overrides CSV for it."""
    root = tmp_path_factory.mktemp("runbook")
    wh = Warehouse(root / "wh")
    spec = StudySpec("GSE940001", "MICROARRAY", "ARRAY_LOG2", 30, {"CONTROL": 3, "SEPSIS": 4, "SEPTIC_SHOCK": 4},
                     "title", 5)  # fmt: skip
    wh.load(FIXTURES / "seed_study", write_download(root, [spec], "syn"))
    wh.build()
    return wh.db, root


def copy_of(db: Path, tmp_path: Path, name: str) -> Path:
    # same file name: dbt-duckdb's views name the catalog (the file stem)
    target = tmp_path / name / db.name
    target.parent.mkdir()
    shutil.copy(db, target)
    return target


def test_override_by_procedure_equals_genepair_build(built, tmp_path):
    db, _ = built
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("sample_accession_code,illness_label,reason\nSRR1652895,SEPTIC_SHOCK,chart review\n")
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"studies:\n  SRP049820:\n    illness_overrides: {overrides}\n")
    results = {}
    for way in ("procedure", "build"):
        wh = Warehouse(tmp_path / way)
        shutil.copy(db, wh.db)
        wh.load(FIXTURES / "seed_study", config=config)  # stages the override (a reload of the batch)
        if way == "procedure":
            ran = runbook(wh.db, "sp_upsert_sample")
            assert ran["statements"] == [
                "clear_int_sample_illness", "refresh_int_sample_illness", "update_dim_sample", "insert_dim_sample",
            ]  # fmt: skip
        else:
            wh.build(config=config)
        results[way] = rows(wh.db, "dim.dim_sample", "sample_key")
    assert results["procedure"] == results["build"]
    con = duckdb.connect(str(tmp_path / "procedure" / db.name), read_only=True)
    label = con.execute(
        "select i.illness_label, s.illness_method from dim.dim_sample s join dim.dim_illness i "
        "on s.illness_key = i.illness_key where s.sample_accession_code = 'SRR1652895'"
    ).fetchone()
    con.close()
    assert label == ("SEPTIC_SHOCK", "override")
    assert [r[0] for r in results["procedure"]] == list(range(1, 17))  # keys kept: 5 + 11 samples


def test_gene_hotfix_study_and_platform_upserts_equal_dbt(built, tmp_path):
    db, _ = built
    fixes = [
        "insert into staging.gene_symbols values ('ENSG00000000003', 'TSPAN6', 'tetraspanin 6')",
        "update staging.refinebio_experiments set title = 'Corrected title' where accession_code = 'SRP049820'",
        "insert into staging.platform_lookup values (1, 'genome analyzer', 'Illumina (corrected)')",
    ]
    procedure = copy_of(db, tmp_path, "procedure")
    model = copy_of(db, tmp_path, "model")
    for target in (procedure, model):
        for sql in fixes:
            execute(target, sql)
    for name in ("sp_upsert_study", "sp_upsert_platform", "sp_upsert_gene"):
        runbook(procedure, name)
    dbt(model, "run", "-s", "dim_study", "int_platforms_parsed", "dim_platform", "dim_gene")
    for table, order in (("dim.dim_study", "study_key"), ("dim.dim_platform", "platform_key"),
                         ("dim.dim_gene", "gene_key"), ("staging.int_platforms_parsed", "platform_raw")):  # fmt: skip
        assert rows(procedure, table, order) == rows(model, table, order), table
    genes = dict((r[1], r[2]) for r in rows(procedure, "dim.dim_gene", "gene_key"))
    assert genes["ENSG00000000003"] == "TSPAN6"
    before = rows(db, "dim.dim_gene", "gene_key")
    assert [r[0] for r in rows(procedure, "dim.dim_gene", "gene_key")] == [r[0] for r in before]  # keys intact
    titles = {r[1]: r[2] for r in rows(procedure, "dim.dim_study", "study_key")}
    assert titles["SRP049820"] == "Corrected title"


def test_load_gene_expression_reloads_one_batch(built, tmp_path):
    db, _ = built
    target = copy_of(db, tmp_path, "facts")
    con = duckdb.connect(str(target), read_only=True)
    batch_id, study_key = con.execute(
        "select r.batch_id, s.study_key from staging.batch_registry r join dim.dim_study s "
        "on s.study_accession_code = r.study_accession_code "
        "where r.is_current = 1 and r.study_accession_code = 'GSE940001'"
    ).fetchone()
    con.close()
    expected = rows(db, "fact.fact_gene_expression", "study_key, gene_key, sample_key")
    execute(target, f"delete from fact.fact_gene_expression where study_key = {study_key}")
    assert len(rows(target, "fact.fact_gene_expression", "study_key")) == 20
    ran = runbook(target, "sp_load_gene_expression", batch_id=batch_id)
    assert ran["statements"] == ["clear_fact_gene_expression", "load_fact_gene_expression"]
    assert rows(target, "fact.fact_gene_expression", "study_key, gene_key, sample_key") == expected
    assert len(expected) == 20 + 30 * 11


def test_a_non_finite_fact_fails_the_dbt_test(built, tmp_path):
    """Issue #17: a NaN or infinite fact (an overflowing transform) fails `dbt test`."""
    db, _ = built
    for value in ("'nan'", "'inf'"):
        target = copy_of(db, tmp_path, f"nonfinite_{value.strip(chr(39))}")
        execute(
            target,
            f"update fact.fact_gene_expression set expression_value = cast({value} as double) where sample_key = "
            "(select min(sample_key) from fact.fact_gene_expression) and gene_key = (select min(gene_key) from "
            "fact.fact_gene_expression where sample_key = (select min(sample_key) from fact.fact_gene_expression))",
        )
        env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(target), GENEPAIR_TARGET="duckdb", DBT_PROFILES_DIR=str(ROOT))
        proc = subprocess.run(
            [DBT, "test", "-s", "fact_gene_expression_values_are_finite"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stdout
        assert "Failure in test fact_gene_expression_values_are_finite" in proc.stdout
        assert "Got 1 result" in proc.stdout
