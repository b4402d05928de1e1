"""SQL Server, proven without a server (issue #4): every model renders for the sqlserver
target and parses as T-SQL; the stored procedures are rendered from the dbt macros (a stale
file fails), parse and lint as T-SQL, and their set-based statements, transpiled T-SQL ->
DuckDB with sqlglot, give the same results as the dbt models and the CLI on a fixture
warehouse."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from genepair.synthetic import StudySpec, demo_pairs, write_download
from support import Warehouse
from support.tsql import PROCEDURES, ROOT, bind, procedure_files, statements, to_duckdb

pytestmark = pytest.mark.slow
PY = sys.executable
N_MODELS = len(list((ROOT / "models").rglob("*.sql")))
N_ANALYSES = len(list((ROOT / "analyses").rglob("*.sql")))
TRANSIENT = "(1205, 1222, 40501, 40613)"


# -- every model renders for sqlserver and parses as T-SQL ------------------------------
@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    paths = {mode: tmp_path_factory.mktemp(f"tsql_{mode}") for mode in ("first", "incremental")}
    procs = {
        mode: subprocess.Popen(
            [PY, "scripts/render_sqlserver_models.py", "--mode", mode, "--target-path", str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for mode, path in paths.items()
    }  # both renderings at once: each is one mostly single-threaded dbt compile
    for proc in procs.values():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    return {mode: path / "compiled" / "genepair" for mode, path in paths.items()}


def _model_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*.sql") if not p.parent.name.endswith((".yml", ".yaml")) and "tests" not in p.parts
    )


def _tsql_problems(sql: str) -> list[str]:
    problems = []
    if "::" in sql:
        problems.append("`::` cast")
    # functions T-SQL does not have (log() is the natural log there: gp_ln renders it)
    problems += [
        f"function {m}" for m in re.findall(r"\b(ln|stddev_samp|var_samp|ilike|regexp_matches)\s*\(", sql, re.I)
    ]
    trees = sqlglot.parse(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    for tree in trees:
        if tree is None:
            continue
        if any(True for _ in tree.find_all(exp.Boolean)):
            problems.append("boolean literal")
        for with_ in tree.find_all(exp.With):
            if with_.find_ancestor(exp.CTE, exp.Subquery) is not None:
                problems.append("nested CTE")
        for group in tree.find_all(exp.Group):
            if any(isinstance(e, exp.Literal) for e in group.expressions):
                problems.append("group by ordinal")
    return problems


def test_every_model_renders_for_sqlserver_and_parses_as_tsql(rendered):
    for mode, root in rendered.items():
        files = _model_files(root)
        assert len(files) == N_MODELS + N_ANALYSES, (mode, [p.name for p in files])
        problems = {p.name: _tsql_problems(p.read_text()) for p in files}
        assert {k: v for k, v in problems.items() if v} == {}, mode
        # dispatched macros reached their sqlserver__ versions, not the fabric__ shims
        text = "\n".join(p.read_text() for p in files)
        assert "stdev(" in text.lower() and "stddev_samp" not in text.lower()
        assert "sysutcdatetime()" in text.lower()
    # the incremental branch of an incremental model differs from its first build
    first = (rendered["first"] / "models/marts/dim/dim_gene.sql").read_text()
    later = (rendered["incremental"] / "models/marts/dim/dim_gene.sql").read_text()
    assert first != later


def test_no_ephemeral_models(rendered):
    """SQL Server cannot nest the CTEs an ephemeral model would inline into its callers."""
    manifest = json.loads((rendered["first"].parents[1] / "manifest.json").read_text())
    materialized = {
        n["name"]: n["config"]["materialized"] for n in manifest["nodes"].values() if n["resource_type"] == "model"
    }
    assert len(materialized) == N_MODELS  # the Python twin of the scoring step is DuckDB-only
    assert set(materialized.values()) == {"view", "table", "incremental"}


def test_rendered_models_parse_in_sqlfluff_tsql(rendered, tmp_path):
    lint_dir = tmp_path / "lint"
    lint_dir.mkdir()
    n = 0
    seen: set[str] = set()
    for mode, root in rendered.items():
        for path in _model_files(root):
            text = path.read_text()
            if text in seen:  # the incremental build of a non-incremental model is the same SQL
                continue
            seen.add(text)
            n += 1
            shutil.copy(path, lint_dir / f"{mode}__{n}__{path.name}")
    assert n > N_MODELS + N_ANALYSES  # the incremental branches were rendered and differ
    (lint_dir / ".sqlfluff").write_text(
        "[sqlfluff]\ndialect = tsql\ntemplater = raw\nlarge_file_skip_byte_limit = 0\nmax_parse_depth = 20000\n"
    )
    proc = subprocess.run(
        [
            str(Path(PY).with_name("sqlfluff")),
            "lint",
            "--rules",
            "CV06",
            "--format",
            "json",
            "--nofail",
            "--processes",
            "2",
            ".",
        ],
        cwd=lint_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(proc.stdout)
    assert len(report) == n
    unparsable = [(f["filepath"], v["description"]) for f in report for v in f["violations"] if v["code"] == "PRS"]
    assert unparsable == []


# -- stored procedures ------------------------------------------------------------------
def test_stored_procedures_are_rendered_from_the_macros():
    proc = subprocess.run(
        [PY, "scripts/render_stored_procedures.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "14 files up to date"


def test_stored_procedures_parse_and_lint_as_tsql():
    files = procedure_files()
    assert [p.name for p in files] == [
        "10_sp_update_meta_pair_metrics.sql",
        "20_sp_upsert_study_disease_map.sql",
        "30_sp_register_batch.sql",
        "40_sp_validate_batch.sql",
        "50_sp_refresh_views.sql",
        "60_sp_healthcheck.sql",
        "70_sp_purge_logs.sql",
        "80_sp_purge_staging.sql",
        "90_sp_upsert_study.sql",
        "91_sp_upsert_platform.sql",
        "92_sp_upsert_gene.sql",
        "93_sp_upsert_sample.sql",
        "94_sp_load_gene_expression.sql",
    ]
    # sqlfluff's tsql grammar parses the whole procedures (control flow included, below);
    # sqlglot parses the table DDL and every set-based statement strictly
    for batch in re.split(r"^GO$", (PROCEDURES / "00_tables.sql").read_text(), flags=re.M):
        if batch.strip():
            sqlglot.parse(batch, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    n_statements = 0
    for path in files:
        for sql in statements(path.name).values():
            sqlglot.parse_one(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
            n_statements += 1
    # the disease-map procedure appends one change (was: close + insert); sp_purge_staging
    # also purges the 5 metadata tables of old batches; sp_healthcheck has 6 result sets
    # the runbook procedures: 2 + 4 + 2 + 4 + 2 statements
    assert n_statements == 35
    proc = subprocess.run(
        [str(Path(PY).with_name("sqlfluff")), "lint", "--format", "json", "--nofail", "--processes", "2", "."],
        cwd=PROCEDURES,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(proc.stdout)
    assert len(report) == 14
    assert [(f["filepath"], v["code"], v["start_line_no"]) for f in report for v in f["violations"]] == []


@pytest.mark.parametrize("path", procedure_files(), ids=lambda p: p.stem)
def test_every_procedure_has_the_section_8_frame(path):
    text = path.read_text()
    name = re.search(r"^create or alter procedure (\w+\.sp_\w+)$", text, re.M)
    assert name, "CREATE OR ALTER PROCEDURE"
    assert text.count("create or alter procedure") == 1
    for part in ("set nocount on;", "begin try", "begin catch", "throw;", "if @@trancount > 0 rollback transaction;"):
        assert part in text, part
    # one process-log row per attempt: SUCCESS, RETRY (transient only) or FAILED
    for status in ("SUCCESS", "RETRY", "FAILED"):
        assert f"N'{status}'" in text
    assert f"if @gp_error in {TRANSIENT} and @gp_attempt < 3" in text
    assert "insert into meta.meta_etl_process_log" in text
    # 54001/54002 go to the validation log as well
    assert "if @gp_error in (54001, 54002)" in text and "insert into meta.meta_data_validation_log" in text
    # every name the DBA README documents
    assert name.group(1) in (PROCEDURES / "README.md").read_text()


def test_aggregator_procedure_raises_the_section_8_codes():
    text = (PROCEDURES / "10_sp_update_meta_pair_metrics.sql").read_text()
    assert "throw 54001, @gp_message, 1;" in text and "throw 54002, @gp_message, 1;" in text
    readme = (PROCEDURES / "README.md").read_text()
    for code in ("54001", "54002", "54010", "54020", "54100", "54200", "54201", "1205", "1222"):
        assert code in readme


# -- set-based statements on DuckDB ------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tsql_fixture")
    pairs = demo_pairs()
    specs = [
        StudySpec("GSE810001", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 6, "SEPSIS": 10, "SEPTIC_SHOCK": 9},
                  "title", 31, pairs),
        StudySpec("GSE810002", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 7},
                  "disease", 32, pairs),
        StudySpec("SRP810003", "RNA-SEQ", "COUNTS", 200, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 9},
                  "disease", 33, pairs),
    ]  # fmt: skip
    wh = Warehouse(root / "wh")
    config = root / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 12}\n")
    for spec in specs:
        wh.load(write_download(root, [spec], spec.accession), config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    return wh.db


@pytest.fixture
def db(fixture_db, tmp_path) -> duckdb.DuckDBPyConnection:
    # same file name as the original: dbt-duckdb's views name the catalog (the file stem)
    path = tmp_path / "copy" / fixture_db.name
    path.parent.mkdir()
    shutil.copy(fixture_db, path)
    con = duckdb.connect(str(path))
    yield con
    con.close()


def run(con: duckdb.DuckDBPyConnection, procedure: str, statement: str, **params):
    con.execute(to_duckdb(bind(statements(procedure)[statement], params)))
    return con


def test_pooling_statement_equals_the_dbt_model(db):
    expected = db.execute("select count(*) from fact.fact_gene_pair_metrics").fetchone()[0]
    assert expected == 66 * 2  # 12 candidate genes -> 66 pairs, two technologies, one disease
    db.execute("create table expected as select * from fact.fact_gene_pair_metrics")
    db.execute("delete from fact.fact_gene_pair_metrics")
    run(db, "10_sp_update_meta_pair_metrics.sql", "pool_pair_metrics")
    assert db.execute("select count(*) from fact.fact_gene_pair_metrics").fetchone()[0] == expected
    columns = [r[0] for r in db.execute("describe expected").fetchall()]
    numeric = {r[0] for r in db.execute("describe expected").fetchall() if r[1] in ("DOUBLE", "FLOAT")}
    assert len(numeric) > 60
    for col in columns:
        if col == "etl_created_date":
            continue
        same = f"abs(e.{col} - f.{col}) <= 1e-12 * greatest(abs(e.{col}), 1e-300)" if col in numeric else "false"
        mismatches = db.execute(
            f"select count(*) from expected e full join fact.fact_gene_pair_metrics f "
            f"using (pair_key, disease_key, technology) "
            f"where not ((e.{col} is null and f.{col} is null) or e.{col} = f.{col} or {same})"
        ).fetchone()[0]
        assert mismatches == 0, col


def _check(db, study_key=None) -> list[tuple]:
    sql = to_duckdb(
        bind(
            statements("10_sp_update_meta_pair_metrics.sql")["disease_map_check"].replace("top (1)", ""),
            {"study_key": study_key},
        )
    )
    return db.execute(sql).fetchall()


def test_disease_map_check_finds_54001_and_54002(db):
    assert _check(db) == []
    keys = dict(db.execute("select study_accession_code, study_key from dim.dim_study").fetchall())
    batch = db.execute("select current_batch_id from dim.dim_study where study_key = ?", [keys["SRP810003"]]).fetchone()
    db.execute("delete from staging.study_disease_changes where study_accession_code = 'SRP810003'")
    assert _check(db) == [(keys["SRP810003"], batch[0], 0, "SRP810003")]
    assert _check(db, keys["GSE810001"]) == []
    # the derived map cannot hold two active rows for a study; the procedure still checks
    # (54002), so the view is frozen into a table here to plant a second active row
    db.execute("create table dim.map_copy as select * from dim.study_disease_map")
    db.execute("drop view dim.study_disease_map")
    db.execute("alter table dim.map_copy rename to study_disease_map")
    db.execute(
        "insert into dim.study_disease_map select study_disease_map_key + 100, study_key, disease_key, 1, "
        "effective_from, null, 'test', created_at, null, null from dim.study_disease_map where study_key = ?",
        [keys["GSE810001"]],
    )
    assert [r[2] for r in _check(db)] == [0, 2]  # ordered by n_active: the 54001 study first


def test_upsert_statements_do_what_the_cli_does(db, fixture_db, tmp_path):
    keys = dict(db.execute("select study_accession_code, study_key from dim.dim_study").fetchall())
    shock = db.execute("select disease_key from dim.dim_disease where disease_label = 'SEPTIC_SHOCK'").fetchone()[0]
    params = {
        "study_accession_code": "GSE810002",
        "disease_label": "SEPTIC_SHOCK",
        "actor": "dba",
        "now": "2026-11-22 12:00:00",
    }
    run(db, "20_sp_upsert_study_disease_map.sql", "append_change", **params)

    cli_copy = tmp_path / "cli"
    cli = Warehouse(cli_copy)
    shutil.copy(fixture_db, cli.db)
    cli.cli("disease", "set", "GSE810002", "SEPTIC_SHOCK", "--actor", "dba", check=True)
    columns = "study_disease_map_key, study_key, disease_key, is_active, created_by, updated_by, effective_to is null"
    got = db.execute(f"select {columns} from dim.study_disease_map order by 1").fetchall()
    assert got == cli.query(f"select {columns} from dim.study_disease_map order by 1")
    assert len(got) == 4 and sum(r[3] for r in got) == 3
    assert [r[2:] for r in got if r[1] == keys["GSE810002"]] == [
        (got[0][2], 0, "pipeline.yaml", "dba", False),
        (shock, 1, "dba", None, True),
    ]


def test_registry_probe_reads_the_batch(db):
    batch_id, n_rows = db.execute(
        "select batch_id, n_rows from staging.batch_registry where study_accession_code = 'GSE810001'"
    ).fetchone()
    sql = to_duckdb(bind(statements("30_sp_register_batch.sql")["registry_probe"], {"batch_id": batch_id}))
    assert db.execute(sql).fetchall() == [
        ("GSE810001", db.execute("select file_hash from staging.batch_registry where batch_id = ?", [batch_id])
         .fetchone()[0], 1, "COMPLETE", n_rows)
    ]  # fmt: skip
    assert n_rows == 200 * 25


def test_validate_batch_logs_each_finding_once(db):
    batch_id, batch_key, n_rows = db.execute(
        "select batch_id, batch_key, n_rows from staging.batch_registry where study_accession_code = 'GSE810002'"
    ).fetchone()
    logged = "select validation_code, details from meta.meta_data_validation_log where run_id = 'tsql-test' order by 1"
    run(db, "40_sp_validate_batch.sql", "log_batch_findings", batch_id=batch_id, gp_run_id="tsql-test")
    assert db.execute(logged).fetchall() == []
    db.execute(
        "delete from staging.expression_values where batch_key = ? and gene_idx = 0 and sample_idx < 7", [batch_key]
    )
    sample = db.execute(
        "select sample_accession_code from staging.batch_samples where batch_key = ? and sample_idx = 3", [batch_key]
    ).fetchone()[0]
    db.execute("delete from staging.refinebio_samples where refinebio_accession_code = ?", [sample])
    for _ in range(2):  # the second run finds the same and logs nothing new
        run(db, "40_sp_validate_batch.sql", "log_batch_findings", batch_id=batch_id, gp_run_id="tsql-test")
    assert db.execute(logged).fetchall() == [
        ("ROW_COUNT_MISMATCH", f"registry n_rows {n_rows} <> staged values {n_rows - 7}"),
        ("SOURCE_MISMATCH_SAMPLES", f"sample {sample} is in the matrix but not in the metadata"),
    ]


def test_healthcheck_statements(db):
    sql = statements("60_sp_healthcheck.sql")
    run_id, ended = db.execute(
        "select run_id, ended_at from meta.meta_etl_process_log where status = 'SUCCESS' "
        "order by ended_at desc, run_id limit 1"
    ).fetchone()
    assert db.execute(to_duckdb(bind(sql["last_successful_run"], {}))).fetchall() == [(run_id, ended)]
    n, unknown = db.execute(
        "select count(*), count(*) filter (where i.illness_label = 'UNKNOWN') from dim.dim_sample s "
        "join dim.dim_illness i on s.illness_key = i.illness_key"
    ).fetchone()
    got = db.execute(to_duckdb(bind(sql["unknown_illness"], {}))).fetchall()
    assert got[0][:2] == (n, unknown) and got[0][2] == pytest.approx(100.0 * unknown / n, rel=1e-12)
    now = datetime.utcnow()
    for age_days, code in ((0, 54001), (1, 54001), (30, 54002)):
        db.execute(
            "insert into meta.meta_etl_process_log (run_id, step, status, attempt, started_at, ended_at, error_code) "
            "values ('r', 'sp_update_meta_pair_metrics', 'FAILED', 1, ? - to_days(?), ?, ?)",
            [now, age_days, now, code],
        )
    hist = db.execute(to_duckdb(bind(sql["error_histogram"], {"days": 7}))).fetchall()
    assert [(r[0], r[1], r[2]) for r in hist] == [(54001, "sp_update_meta_pair_metrics", 2)]
    # the scoring run's signals, counted here independently from the fact
    expected = db.execute(
        "select m.feature_run_id, d.disease_label, m.technology, count(*), "
        "count(*) filter (where m.included_study_count < 3), "
        "count(*) filter (where least(coalesce(m.dz_ss_i2, 100), coalesce(m.dz_soth_i2, 100)) > 75), 3, 75.0 "
        "from fact.fact_gene_pair_metrics m join dim.dim_disease d on d.disease_key = m.disease_key "
        "where m.metrics_scope = 'META_STUDIES' group by all order by 2, 3"
    ).fetchall()
    assert len(expected) == 2 and sum(r[3] for r in expected) > 0
    assert db.execute(to_duckdb(bind(sql["pair_signals"], {}))).fetchall() == expected
    assert db.execute(to_duckdb(bind(sql["studies_missing_inputs"], {}))).fetchall() == []
    db.execute(
        "delete from fact.fact_gene_expression where study_key = "
        "(select study_key from dim.dim_study where study_accession_code = 'GSE810002')"
    )
    assert db.execute(to_duckdb(bind(sql["studies_missing_inputs"], {}))).fetchall() == [
        ("GSE810002", "no expression facts")
    ]


def test_purge_statements_delete_exactly_the_old_rows(db):
    n_log = db.execute("select count(*) from meta.meta_etl_process_log").fetchone()[0]
    db.execute(
        "update meta.meta_etl_process_log set started_at = started_at - interval 200 day where rowid in "
        "(select rowid from meta.meta_etl_process_log order by started_at limit 3)"
    )
    run(db, "70_sp_purge_logs.sql", "purge_process_log", retain_days=180)
    assert db.execute("select count(*) from meta.meta_etl_process_log").fetchone()[0] == n_log - 3

    batch_key, n_rows = db.execute(
        "select batch_key, n_rows from staging.batch_registry where study_accession_code = 'SRP810003'"
    ).fetchone()
    total = db.execute("select count(*) from staging.expression_values").fetchone()[0]
    db.execute(
        "update staging.batch_registry set is_current = 0, superseded_at = current_timestamp - interval 10 day "
        "where batch_key = ?",
        [batch_key],
    )
    for table in ("expression_values", "batch_genes", "batch_samples"):
        run(db, "80_sp_purge_staging.sql", f"purge_{table}", retain_days=30)
    assert db.execute("select count(*) from staging.expression_values").fetchone()[0] == total
    for table in ("expression_values", "batch_genes", "batch_samples"):
        run(db, "80_sp_purge_staging.sql", f"purge_{table}", retain_days=7)
    assert db.execute("select count(*) from staging.expression_values").fetchone()[0] == total - n_rows
    assert db.execute("select count(*) from staging.batch_genes where batch_key = ?", [batch_key]).fetchone()[0] == 0
    assert db.execute("select count(*) from staging.batch_registry").fetchone()[0] == 3  # history stays
