"""Issue #17: `genepair housekeeping` on DuckDB and PostgreSQL, with rows and files planted
at known ages: exact counts deleted, the current batch untouched, artifacts/ refused."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from support import FIXTURES, Warehouse
from support.pg import PgWarehouse, server_or_skip

STUDY = "SRP049820"
PER_BATCH = {  # staged rows of one fixture batch, by table
    "staging.refinebio_downloads": 1,
    "staging.refinebio_experiments": 1,
    "staging.refinebio_samples": 5,
}


class Engine:
    """The same statements on either engine (test-side writes: planting rows)."""

    def __init__(self, wh) -> None:
        self.wh = wh

    def execute(self, sql: str) -> None:
        if isinstance(self.wh, PgWarehouse):
            import psycopg

            with psycopg.connect(self.wh.dsn(), autocommit=True) as con:
                con.execute(sql)
        else:
            con = duckdb.connect(str(self.wh.db))
            try:
                con.execute(sql)
            finally:
                con.close()

    def scalar(self, sql: str):
        return self.wh.scalar(sql)


def version(tmp_path: Path, n: int) -> Path:
    """The fixture download with different values: a new batch of the same study."""
    root = tmp_path / f"v{n}"
    shutil.copytree(FIXTURES / "seed_study", root)
    matrix = root / STUDY / f"{STUDY}.tsv"
    matrix.write_text(matrix.read_text().replace("0.448", f"0.44{n}"))
    return root


def plant(wh, eng: Engine, tmp_path: Path) -> dict[str, str]:
    """Batches A (superseded 10 days ago), B (superseded now) and C (current); old log rows."""
    for n in (1, 2, 3):
        wh.cli("load", str(version(tmp_path, n)), check=True)
    ids = {row[0]: row[1] for row in wh.query("select batch_id, status from staging.batch_registry order by loaded_at")}
    assert list(ids.values()) == ["SUPERSEDED", "SUPERSEDED", "COMPLETE"]
    a, b, c = list(ids)
    eng.execute(
        f"update staging.batch_registry set superseded_at = superseded_at - interval '10 days' where batch_id = '{a}'"
    )
    key_a = wh.scalar(f"select batch_key from staging.batch_registry where batch_id = '{a}'")
    # 40 expression rows still staged for A (the loader deletes a superseded batch's values at
    # once; an older loader or the SQL Server bulk path may leave them)
    eng.execute(
        "insert into staging.expression_values (batch_key, gene_idx, sample_idx, expression_value) "
        f"select {key_a}, g, s, 1.0 from generate_series(0, 7) as t1(g), generate_series(0, 4) as t2(s)"
    )
    eng.execute(
        "update meta.meta_etl_process_log set started_at = started_at - interval '200 days' "
        "where step = 'open_download' or step = 'hash_file'"
    )
    eng.execute(
        "insert into meta.meta_data_validation_log (run_id, validation_code, severity, details, created_at) "
        "select 'old', 'X', 'INFO', 'planted', current_timestamp - interval '200 days' from generate_series(1, 3)"
    )
    eng.execute(
        "insert into meta.meta_data_validation_log (run_id, validation_code, severity, details, created_at) "
        "select 'new', 'X', 'INFO', 'planted', current_timestamp - interval '1 days' from generate_series(1, 2)"
    )
    return {"A": a, "B": b, "C": c}


def plant_files(root: Path) -> None:
    old = time.time() - 200 * 86400
    recent = time.time() - 10 * 86400
    for rel, mtime in [
        ("logs/2026-01/run.jsonl", old), ("logs/old.jsonl", old), ("logs/new.jsonl", recent),
        ("logs/artifacts/report_v1.0.pdf", old),
        ("archive/GSE1/batch.zip", old), ("archive/GSE2/batch.zip", recent),
    ]:  # fmt: skip
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x" * 10)
        os.utime(path, (mtime, mtime))
    (root / "artifacts").mkdir(exist_ok=True)
    (root / "artifacts" / "deliverable.csv").write_text("keep")


def run_housekeeping(wh, eng: Engine, tmp_path: Path) -> None:
    ids = plant(wh, eng, tmp_path)
    plant_files(wh.root)
    config = wh.root / "pipeline.yaml"
    config.write_text("retention: {logs_dir: logs, archive_dir: archive}\n")
    old_logs = eng.scalar(
        "select count(*) from meta.meta_etl_process_log where started_at < current_timestamp - interval '180 days'"
    )
    assert old_logs == 6  # open_download + hash_file of three loads
    current_before = {t: eng.scalar(f"select count(*) from {t} where batch_id = '{ids['C']}'") for t in PER_BATCH}
    expected = {
        "staging.expression_values": 40, "staging.batch_genes": 0, "staging.batch_samples": 0,
        **PER_BATCH, "staging.refinebio_sample_attributes": eng.scalar(
            f"select count(*) from staging.refinebio_sample_attributes where batch_id = '{ids['A']}'"),
        "staging.illness_overrides_config": 0,
        "meta.meta_etl_process_log": 6, "meta.meta_data_validation_log": 3,
    }  # fmt: skip

    dry = wh.cli("housekeeping", "--dry-run", "--json", "--config", str(config), check=True)
    result = json.loads(dry.stdout)
    assert result["tables"] == expected
    assert result["folders"]["logs_dir"]["files"] == 2 and result["folders"]["archive_dir"]["files"] == 1
    assert result["folders"]["logs_dir"]["guarded_skipped"] == 1
    assert eng.scalar("select count(*) from staging.expression_values") == 40 + 20  # nothing deleted
    assert (wh.root / "logs/old.jsonl").exists()

    done = json.loads(wh.cli("housekeeping", "--json", "--config", str(config), check=True).stdout)
    assert done["tables"] == expected and done["rows"] == sum(expected.values())
    assert eng.scalar("select count(*) from staging.expression_values") == 20  # C's values only
    assert eng.scalar(f"select count(*) from staging.refinebio_samples where batch_id = '{ids['A']}'") == 0
    assert eng.scalar(f"select count(*) from staging.refinebio_samples where batch_id = '{ids['B']}'") == 5
    assert {
        t: eng.scalar(f"select count(*) from {t} where batch_id = '{ids['C']}'") for t in PER_BATCH
    } == current_before
    assert eng.scalar("select count(*) from staging.batch_registry") == 3  # history stays
    assert eng.scalar("select count(*) from meta.meta_data_validation_log where details = 'planted'") == 2
    remaining = sorted(str(p.relative_to(wh.root)) for p in (wh.root / "logs").rglob("*.jsonl"))
    assert "logs/new.jsonl" in remaining and "logs/old.jsonl" not in remaining
    assert "logs/2026-01/run.jsonl" not in remaining and not (wh.root / "logs/2026-01").exists()
    assert (wh.root / "logs/artifacts/report_v1.0.pdf").exists()
    assert not (wh.root / "archive/GSE1").exists() and (wh.root / "archive/GSE2/batch.zip").exists()
    assert (wh.root / "artifacts/deliverable.csv").read_text() == "keep"
    logged = json.loads(
        wh.scalar(
            "select context_json from meta.meta_etl_process_log where step = 'housekeeping' and status = 'SUCCESS'"
        )
    )
    assert logged["rows"] == sum(expected.values()) and logged["files"] == 3

    again = json.loads(wh.cli("housekeeping", "--json", "--config", str(config), check=True).stdout)
    assert again["rows"] == 0 and again["files"] == 0

    for bad in ("archive_dir: artifacts", "logs_dir: artifacts/logs", "artifacts_days: 30"):
        config.write_text(f"retention: {{{bad}}}\n")
        proc = wh.cli("housekeeping", "--config", str(config))
        assert proc.returncode == 3 and proc.stderr.startswith("error 53016 INVALID_CONFIG: "), proc.stderr
    assert (wh.root / "artifacts/deliverable.csv").exists()


def test_housekeeping_on_duckdb(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    run_housekeeping(wh, Engine(wh), tmp_path)


def test_housekeeping_on_postgres(tmp_path):
    server_or_skip()
    wh = PgWarehouse(tmp_path / "wh")
    try:
        run_housekeeping(wh, Engine(wh), tmp_path)
    finally:
        wh.drop()


@pytest.mark.parametrize("folder", [".", "/"])
def test_project_or_root_folder_is_refused(tmp_path, folder):
    from genepair.housekeeping import guarded_folder
    from loader.errors import LoaderError

    with pytest.raises(LoaderError) as err:
        guarded_folder(Path(folder) if folder == "/" else Path(__file__).resolve().parents[3], "logs_dir")
    assert err.value.name == "INVALID_CONFIG"
