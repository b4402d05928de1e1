"""Study -> disease map (SPEC §6.8): initial mapping from pipeline.yaml, changes through the
CLI with history, at most one active mapping, named errors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_disease_mapping_lifecycle(warehouse, seed_study, tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\n")
    warehouse.load(seed_study, config=config)
    warehouse.build(config=config)
    active = (
        "select d.disease_label from dim.study_disease_map m "
        "join dim.dim_disease d using (disease_key) where m.is_active = 1"
    )
    assert warehouse.query(active) == [("SEPSIS",)]

    proc = warehouse.cli("disease", "set", "SRP049820", "septic_shock", "--actor", "analyst1", check=True)
    assert proc.stdout.strip() == "SRP049820 -> SEPTIC_SHOCK"
    assert warehouse.query(active) == [("SEPTIC_SHOCK",)]
    history = warehouse.query(
        "select d.disease_label, m.is_active, m.effective_to is not null, m.created_by, m.updated_by "
        "from dim.study_disease_map m join dim.dim_disease d using (disease_key) order by m.study_disease_map_key"
    )
    assert history == [("SEPSIS", 0, True, "pipeline.yaml", "analyst1"), ("SEPTIC_SHOCK", 1, False, "analyst1", None)]
    again = warehouse.cli("disease", "set", "SRP049820", "SEPTIC_SHOCK", check=True)
    assert "(unchanged)" in again.stdout

    # a rebuild keeps the analyst's mapping (dbt only maps studies that have none)
    warehouse.build(config=config)
    assert warehouse.query(active) == [("SEPTIC_SHOCK",)]
    assert warehouse.scalar("select count(*) from dim.study_disease_map") == 2
    assert warehouse.scalar("select count(*) from meta.snap_study_disease_map") == 3

    unknown = warehouse.cli("disease", "set", "GSE000", "SEPSIS")
    assert unknown.returncode == 3 and unknown.stderr.startswith("error 53015 UNKNOWN_STUDY: ")
    bad = warehouse.cli("disease", "set", "SRP049820", "FLU")
    assert bad.returncode == 3 and bad.stderr.startswith("error 53018 UNKNOWN_DISEASE: ")
    listing = warehouse.cli("disease", "list", "--history", check=True).stdout.splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["SRP049820", "SEPSIS", "closed"],
        ["SRP049820", "SEPTIC_SHOCK", "active"],
    ]


def test_demo_runs_end_to_end(warehouse):
    proc = warehouse.cli("demo", "--out", str(warehouse.root / "demo_data"), check=True)
    lines = proc.stdout.splitlines()
    assert "5 studies, batches: 5 current / 0 superseded, staged rows: 636,000, fact rows: 636,000" in lines
    assert any(line.startswith("GSE900002") and "NO_SEPSIS 8" in line and "100.0%" in line for line in lines)
    assert warehouse.scalar("select count(*) from analytics.tbl_gene_pairs_materialized") == 60 * 59 // 2
    assert warehouse.scalar("select count(*) from dim.dim_gene_pair") == 1770
    # the demo ends with the top pairs; the planted pairs of the generator come first
    top = lines[lines.index("top pairs, septic shock vs other patients (pooled across studies, FDR first):") + 2 :]
    assert top[0].split()[:3] == ["MS4A4A", "CD86", "MICROARRAY"]
    assert top[1].split()[:3] == ["S100A12", "CLEC4D", "MICROARRAY"]
    assert warehouse.scalar("select count(*) from fact.fact_gene_pair_metrics") == 2 * 1770


def test_a_map_table_from_before_the_change_table_is_imported_once(warehouse, seed_study, tmp_path):
    import duckdb

    config = tmp_path / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\n")
    warehouse.load(seed_study, config=config)
    warehouse.build(config=config)
    warehouse.cli("disease", "set", "SRP049820", "SEPTIC_SHOCK", "--actor", "analyst1", check=True)
    history_sql = (
        "select m.study_disease_map_key, d.disease_label, m.is_active, m.effective_from, m.effective_to, "
        "m.created_by, m.updated_by from dim.study_disease_map m join dim.dim_disease d using (disease_key) "
        "order by m.study_disease_map_key"
    )
    before = warehouse.query(history_sql)
    # the layout of earlier versions: the map as a table, no change table rows
    con = duckdb.connect(str(warehouse.db))
    con.execute("create table dim.map_copy as select * from dim.study_disease_map")
    con.execute("drop view dim.study_disease_map")
    con.execute("alter table dim.map_copy rename to study_disease_map")
    con.execute("delete from staging.study_disease_changes")
    con.close()

    warehouse.build(config=config)
    assert warehouse.query(history_sql) == before
    assert [r[1:3] for r in before] == [("SEPSIS", 0), ("SEPTIC_SHOCK", 1)]
    assert warehouse.query(
        "select change_id, disease_label, actor, writer from staging.study_disease_changes order by change_id"
    ) == [(1, "SEPSIS", "pipeline.yaml", "import"), (2, "SEPTIC_SHOCK", "analyst1", "import")]
    assert (
        warehouse.scalar(
            "select table_type from information_schema.tables where table_schema = 'dim' "
            "and table_name = 'study_disease_map'"
        )
        == "VIEW"
    )
    warehouse.build(config=config)  # imported once: a second build appends nothing
    assert warehouse.scalar("select count(*) from staging.study_disease_changes") == 2
