"""The prepared dbt process the scoring step starts ahead of the aggregator (PreparedDbt)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from genepair.dbt_runner import PreparedDbt


@pytest.fixture
def duckdb_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("GENEPAIR_DUCKDB_PATH", str(path))
    return path


def _seed_rows(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select disease_label from staging.disease_labels order by disease_key").fetchall()
    finally:
        con.close()


def test_prepared_command_runs_on_run(duckdb_file: Path) -> None:
    with PreparedDbt(["seed", "-s", "disease_labels"], "duckdb", None, quiet=True) as dbt:
        code, summary = dbt.run()
    assert code == 0, summary
    assert summary["statuses"] == {"success": 1}
    assert _seed_rows(duckdb_file) == [("SEPSIS",), ("SEPTIC_SHOCK",), ("CONTROL",)]


def test_prepared_command_left_unused_runs_nothing(duckdb_file: Path) -> None:
    with PreparedDbt(["seed", "-s", "disease_labels"], "duckdb", None, quiet=True) as dbt:
        pass
    assert dbt.proc.returncode == 0
    assert not duckdb_file.exists()


def test_failing_command_returns_dbt_code_and_output(duckdb_file: Path) -> None:
    with PreparedDbt(["run-operation", "no_such_macro"], "duckdb", None, quiet=True) as dbt:
        code, summary = dbt.run()
    assert code in (1, 2)
    assert "no_such_macro" in summary["output_tail"]
