"""PostgreSQL for real (issue #4): the loader's COPY path, every model, seed, snapshot and
test, the scoring step and the SQL aggregator on a live server; cross-engine equality with
DuckDB; least-privilege roles; concurrent loads. Skipped, with the reason, without a server."""

from __future__ import annotations

import math
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from genepair.synthetic import StudySpec, demo_pairs, write_download
from support import GENEPAIR, ROOT, Warehouse
from support.pg import PgWarehouse, server_or_skip

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PUBLIC = [
    "staging.expression_rows",
    "dim.dim_study", "dim.dim_sample", "dim.dim_gene", "dim.dim_platform", "dim.dim_illness",
    "dim.dim_disease", "dim.study_disease_map", "dim.dim_gene_pair",
    "fact.fact_gene_expression", "fact.fact_feature_values", "fact.fact_gene_pair_metrics",
    "analytics.tbl_gene_pairs_materialized", "analytics.vw_expression_long", "analytics.vw_expression_by_cohort",
    "analytics.vw_export_contract", "analytics.vw_pair_metrics_ranked", "analytics.vw_pair_metrics_significant",
    "analytics.pair_study_components", "analytics.pair_rank_scores", "meta.meta_feature_catalog",
    "meta.meta_study_qc", "meta.meta_validation_findings",
]  # fmt: skip
# when a row was written (timestamp columns) and the id of the process that wrote it differ
# between two runs by nature; every other value must be the same on both engines
VOLATILE = {"run_id"}


def specs() -> list[StudySpec]:
    pairs = demo_pairs()
    return [
        StudySpec("GSE810001", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 6, "SEPSIS": 12, "SEPTIC_SHOCK": 10},
                  "title", 31, pairs),
        StudySpec("GSE810002", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 3, "SEPSIS": 9, "SEPTIC_SHOCK": 8},
                  "disease", 32, pairs),
        StudySpec("SRP810003", "RNA-SEQ", "COUNTS", 200, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 9},
                  "disease", 33, pairs),
        StudySpec("GSE810004", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 5, "SEPSIS": 10, "SEPTIC_SHOCK": 10},
                  "title", 34, pairs),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    server_or_skip()
    root = tmp_path_factory.mktemp("engines")
    config = root / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 20}\n")
    paths = [write_download(root, [s], s.accession) for s in specs()]
    duck = Warehouse(root / "duck")
    pg = PgWarehouse(root / "pg")
    for wh in (duck, pg):
        wh.cli("load", *map(str, paths), "--config", str(config), check=True)
        wh.cli("build", "--config", str(config), check=True)
        wh.cli("score", "--config", str(config), check=True)
    yield duck, pg, config, paths
    pg.drop()


def _normal(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _sort_key(value):
    return (value is None, isinstance(value, str), value if value is not None else 0)


def _columns(table: str, duck: Warehouse, pg: PgWarehouse) -> tuple[list[str], list[str]]:
    sch, name = table.split(".")
    d = duck.query(
        f"select column_name, data_type from information_schema.columns where table_schema = '{sch}' "
        f"and table_name = '{name}' order by ordinal_position")  # fmt: skip
    p = pg.query(
        "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position", (sch, name))  # fmt: skip
    timestamps = {c for c, t in d + p if t.lower().startswith("timestamp")}
    return [c for c, _ in d if c not in timestamps], [c for c, _ in p if c not in timestamps]


@pytest.mark.parametrize("table", PUBLIC)
def test_public_relation_identical_on_duckdb_and_postgres(engines, table):
    duck, pg, _, _ = engines
    d_cols, p_cols = _columns(table, duck, pg)
    assert d_cols == p_cols, f"{table}: column lists differ"
    n = duck.scalar(f"select count(*) from {table}")
    assert n == pg.scalar(f"select count(*) from {table}")
    assert n > 0, f"{table} is empty in the fixture: the comparison would prove nothing"
    for col in d_cols:
        if col in VOLATILE:
            continue
        left = sorted((_normal(r[0]) for r in duck.query(f"select {col} from {table}")), key=_sort_key)
        right = sorted((_normal(r[0]) for r in pg.query(f"select {col} from {table}")), key=_sort_key)
        for a, b in zip(left, right, strict=True):
            if isinstance(a, float) or isinstance(b, float):
                assert a is not None and b is not None, f"{table}.{col}: {a!r} vs {b!r}"
                if math.isnan(a) or math.isnan(b):
                    assert math.isnan(a) and math.isnan(b), f"{table}.{col}: {a!r} vs {b!r}"
                else:
                    assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"{table}.{col}: {a!r} vs {b!r}"
            else:
                assert a == b, f"{table}.{col}: {a!r} vs {b!r}"


def test_postgres_counts_are_exact(engines):
    _, pg, _, _ = engines
    expected = sum(200 * sum(s.cohorts.values()) for s in specs())
    assert pg.scalar("select count(*) from staging.expression_rows") == expected
    assert pg.scalar("select count(*) from staging.batch_registry where is_current = 1") == 4
    # 20 candidate genes = 190 pairs, pooled per technology (MICROARRAY, RNA-SEQ)
    assert pg.scalar("select count(*) from fact.fact_gene_pair_metrics") == 2 * 190
    assert pg.scalar("select count(*) from analytics.pair_study_components") == 4 * 190


def test_reload_is_idempotent_on_postgres(engines):
    _, pg, config, paths = engines
    before = pg.scalar("select count(*) from staging.expression_values")
    proc = pg.cli("load", str(paths[0]), "--config", str(config), check=True)
    assert "already loaded, nothing written" in proc.stdout, proc.stdout
    assert pg.scalar("select count(*) from staging.expression_values") == before


def test_reader_cannot_write_loader_cannot_create(engines):
    import psycopg

    _, pg, _, _ = engines
    with psycopg.connect(pg.dsn(), autocommit=True) as con:
        con.execute((ROOT / "sql" / "roles" / "postgres.sql").read_text())
        for user, role in (("gp_test_reader", "etl_reader"), ("gp_test_loader", "etl_loader")):
            con.execute(f"DROP ROLE IF EXISTS {user}")
            con.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'x' IN ROLE {role}")
    try:
        with psycopg.connect(pg.dsn(user="gp_test_reader", password="x")) as reader:
            assert reader.execute("select count(*) from fact.fact_gene_pair_metrics").fetchone()[0] == 380
            assert reader.execute("select count(*) from analytics.vw_pair_metrics_ranked").fetchone()[0] >= 0
            for sql in (
                "delete from fact.fact_gene_pair_metrics",
                "insert into dim.dim_disease (disease_key, disease_label) values (99, 'X')",
                "select count(*) from staging.expression_values",
                "create table analytics.intruder (x int)",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    reader.execute(sql)
                reader.rollback()
        with psycopg.connect(pg.dsn(user="gp_test_loader", password="x")) as loader:
            assert loader.execute("select count(*) from staging.expression_values").fetchone()[0] > 0
            loader.execute("delete from meta.meta_data_validation_log where 1 = 0")
            for sql in ("drop table fact.fact_gene_pair_metrics", "create table staging.intruder (x int)",
                        "delete from fact.fact_gene_expression"):  # fmt: skip
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    loader.execute(sql)
                loader.rollback()
    finally:
        with psycopg.connect(pg.dsn(), autocommit=True) as con:
            for user in ("gp_test_reader", "gp_test_loader"):
                con.execute(f"DROP ROLE IF EXISTS {user}")


def _spawn(pg: PgWarehouse, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [GENEPAIR, *args], cwd=pg.root, env=pg.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_concurrent_loads(tmp_path):
    server_or_skip()
    pg = PgWarehouse(tmp_path / "pg")
    try:
        big = [
            StudySpec(f"GSE82000{i}", "MICROARRAY", "ARRAY_LOG2", 3000, {"SEPSIS": 60, "SEPTIC_SHOCK": 60}, "title",
                      40 + i, demo_pairs())
            for i in range(2)
        ]  # fmt: skip
        paths = [write_download(tmp_path, [s], s.accession) for s in big]
        # two different studies at once: both complete, exact counts, no deadlock
        procs = [_spawn(pg, "load", str(p)) for p in paths]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert pg.scalar("select count(*) from staging.expression_values") == 2 * 3000 * 120
        assert pg.scalar("select count(*) from staging.batch_registry where is_current = 1") == 2
        # the same study twice at once: the study lock serialises them; one batch, not two
        fresh = PgWarehouse(tmp_path / "pg2")
        try:
            procs = [_spawn(fresh, "load", str(paths[0])) for _ in range(2)]
            outs = [p.communicate(timeout=300) for p in procs]
            assert [p.returncode for p in procs] == [0, 0], outs
            assert fresh.scalar("select count(*) from staging.batch_registry") == 1
            assert fresh.scalar("select count(*) from staging.expression_values") == 3000 * 120
        finally:
            fresh.drop()
    finally:
        pg.drop()


def test_duckdb_fixture_unaffected(engines):
    """The DuckDB side of the comparison is the ordinary embedded warehouse."""
    duck, _, _, _ = engines
    con = duckdb.connect(str(duck.db), read_only=True)
    try:
        assert con.execute("select count(*) from fact.fact_gene_pair_metrics").fetchone()[0] == 380
    finally:
        con.close()


def test_paths_exist():
    assert Path(ROOT / "sql" / "roles" / "postgres.sql").exists()


def test_import_scores_on_postgres_equals_duckdb(engines, tmp_path):
    """The same CSV on both engines: same rows in the fact (precedence both ways, a new
    pair), same rejection with the warehouse unchanged; runs last (it adds fact rows)."""
    duck, pg, config, _ = engines
    rows = duck.query(
        "select genea_key, geneb_key from fact.fact_gene_pair_metrics where technology = 'MICROARRAY' "
        "order by pair_key limit 2"
    )
    pairs = {(a, b) for a, b in duck.query("select genea_key, geneb_key from dim.dim_gene_pair")}
    new = next((a, b) for a in range(1, 50) for b in range(a + 1, 50) if (a, b) not in pairs)
    body = (
        "pair_id,technology,p_soth,q_soth,new_rank_score,csv_override\n"
        f"{rows[0][1]}_{rows[0][0]},MICROARRAY,0.9,0.99,0.01,0\n"
        f"{rows[1][0]}_{rows[1][1]},MICROARRAY,0.5,0.6,0.2,1\n"
        f"{new[0]}_{new[1]},RNA-SEQ,0.001,0.01,0.95,0\n"
    )
    path = tmp_path / "scores.csv"
    path.write_text(body)
    bad = tmp_path / "bad.csv"
    bad.write_text("pair_id,p_soth\n1_999999,0.5\n")
    query = (
        "select genea_key, geneb_key, technology, p_soth, q_soth, new_rank_score, batch_id "
        "from fact.fact_gene_pair_metrics where batch_id is not null order by genea_key, geneb_key, technology"
    )
    for wh in (duck, pg):
        before = wh.scalar("select count(*) from analytics.pair_metrics_imported")
        proc = wh.cli("import-scores", str(bad), "--disease", "SEPSIS", "--technology", "MICROARRAY")
        assert proc.returncode == 3 and proc.stderr.startswith("error 54200 PAIR_GENEKEY_NOT_FOUND: bad.csv line 2")
        assert wh.scalar("select count(*) from analytics.pair_metrics_imported") == before == 0
        wh.cli("import-scores", str(path), "--disease", "SEPSIS", "--config", str(config), check=True)
    assert duck.query(query) == pg.query(query)
    assert len(pg.query(query)) == 2
    assert pg.scalar("select count(*) from fact.fact_gene_pair_metrics") == 2 * 190 + 1
    overridden = pg.query(
        f"select p_soth, feature_run_id from fact.fact_gene_pair_metrics where genea_key = {rows[1][0]} "
        f"and geneb_key = {rows[1][1]} and technology = 'MICROARRAY'"
    )
    assert overridden == [(0.5, None)]
    kept = pg.scalar(
        f"select p_soth from fact.fact_gene_pair_metrics where genea_key = {rows[0][0]} "
        f"and geneb_key = {rows[0][1]} and technology = 'MICROARRAY'"
    )
    assert kept != 0.9
    again = pg.cli("import-scores", str(path), "--disease", "SEPSIS", check=True)
    assert "already imported" in again.stdout
