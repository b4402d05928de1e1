"""The SQL Server loader sink without a server: a stand-in for the mssql-python driver
records every call, so the tests prove that rows go through bulk copy (never INSERT
statements), with the right columns, values and options, and that the connection settings
come from MSSQL_* variables. sql/roles/sqlserver.sql parses as T-SQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from loader.warehouse import WarehouseError
from loader.warehouse import tables as schema
from loader.warehouse.sqlserver import BULK_BATCH_ROWS, SqlServerWarehouse, connection_string

ROOT = Path(__file__).resolve().parents[3]


class FakeCursor:
    def __init__(self, log: list) -> None:
        self.log = log
        self.result: list[tuple] = []

    def execute(self, sql, params=None):
        self.log.append(("execute", sql, params))
        if "OBJECT_ID" in sql:
            self.result = [(1,)]

    def fetchall(self):
        return self.result

    @property
    def description(self):
        return [("a",), ("b",)] if "two_columns" in str(self.log[-1]) else None

    def bulkcopy(self, table_name, data, **options):
        rows = list(data)  # the driver consumes the iterable
        self.log.append(("bulkcopy", table_name, rows, options))
        return {"rows_copied": len(rows), "batch_count": 1, "elapsed_time": 0.0}

    def close(self):
        pass


@pytest.fixture
def driver(monkeypatch):
    log: list = []

    class Connection:
        def cursor(self):
            return FakeCursor(log)

        def close(self):
            log.append(("close",))

    def connect(conn_str, autocommit=False):
        log.append(("connect", conn_str, autocommit))
        if "Server=unreachable" in conn_str:
            raise RuntimeError("TCP Provider: Error code 0x2749")
        return Connection()

    monkeypatch.setitem(sys.modules, "mssql_python", types.SimpleNamespace(connect=connect))
    return log


def test_connection_string_from_mssql_variables():
    env = {
        "MSSQL_SERVER": "db.example.org",
        "MSSQL_PORT": "14330",
        "MSSQL_DATABASE": "Genes",
        "MSSQL_USER": "loader",
        "MSSQL_PASSWORD": "p;w}d",
        "MSSQL_TRUST_CERT": "true",
    }
    assert connection_string(env) == (
        "Server=db.example.org,14330;Database=Genes;UID=loader;PWD={p;w}d};Encrypt=yes;"
        "TrustServerCertificate=yes;APP=genepair"
    )
    assert "TrustServerCertificate=no" in connection_string({})


def test_expression_rows_go_through_bulk_copy(driver):
    wh = SqlServerWarehouse("Server=x")
    chunk = pa.table(
        {
            "gene_idx": pa.array([0, 0, 1], pa.int32()),
            "sample_idx": pa.array([0, 1, 0], pa.int32()),
            "expression_value": pa.array([1.5, -2.25, 3.0]),
        }
    )
    assert wh.insert_expression(chunk, batch_key=42) == 3
    calls = [c for c in driver if c[0] in ("bulkcopy", "execute")]
    assert calls == [
        (
            "bulkcopy",
            "staging.expression_values",
            [(42, 0, 0, 1.5), (42, 0, 1, -2.25), (42, 1, 0, 3.0)],
            {
                "batch_size": BULK_BATCH_ROWS,
                "timeout": 0,
                "column_mappings": ["batch_key", "gene_idx", "sample_idx", "expression_value"],
                "keep_nulls": True,
                "check_constraints": True,
                "fire_triggers": True,
            },
        )
    ]
    assert driver[0] == ("connect", "Server=x", True)


def test_metadata_rows_with_nulls_and_text_go_through_bulk_copy(driver):
    wh = SqlServerWarehouse("Server=x")
    rows = [
        {"batch_id": "b1", "sample_accession_code": "GSM1", "illness_label": "SEPSIS", "reason": "tab\there"},
        {"batch_id": "b1", "sample_accession_code": "GSM2", "illness_label": "CONTROL", "reason": None},
    ]
    assert wh.insert_rows(schema.CONFIG_OVERRIDES, rows) == 2
    (call,) = [c for c in driver if c[0] == "bulkcopy"]
    assert call[1] == "staging.illness_overrides_config"
    assert call[2] == [("b1", "GSM1", "SEPSIS", "tab\there"), ("b1", "GSM2", "CONTROL", None)]
    assert call[3]["column_mappings"] == ["batch_id", "sample_accession_code", "illness_label", "reason"]
    assert not [c for c in driver if c[0] == "execute" and "INSERT" in c[1].upper()]


def test_large_tables_are_streamed_in_record_batches(driver):
    wh = SqlServerWarehouse("Server=x")
    n = 2 * BULK_BATCH_ROWS + 7
    data = pa.table({"a": pa.array(np.arange(n)), "b": pa.array(np.arange(n) * 0.5)})
    table = schema.Table("analytics", "t", (("a", "bigint", True), ("b", "double", False)))
    assert wh.insert_arrow(table, data) == n
    (call,) = [c for c in driver if c[0] == "bulkcopy"]
    assert len(call[2]) == n and call[2][-1] == (n - 1, (n - 1) * 0.5)


def test_study_lock_ddl_and_transactions(driver):
    wh = SqlServerWarehouse("Server=x")
    wh.ensure_schema()
    executed = [c[1] for c in driver if c[0] == "execute"]
    assert executed[0] == "BEGIN TRANSACTION"
    assert executed[1].startswith("EXEC sp_getapplock @Resource = ?, @LockMode = 'Exclusive'")
    assert executed[2:-1] == schema.ddl("sqlserver")
    assert executed[-1] == "IF @@TRANCOUNT > 0 COMMIT TRANSACTION"
    assert "IF SCHEMA_ID(N'qa') IS NULL EXEC(N'CREATE SCHEMA qa');" in executed
    assert wh.table_exists("dim.dim_study") is True


def test_empty_result_gives_one_empty_array_per_column(driver):
    wh = SqlServerWarehouse("Server=x")
    cols = wh.query_columns("SELECT a, b FROM two_columns WHERE 1 = 0")
    assert [c.size for c in cols] == [0, 0]


def test_unreachable_server_is_a_named_error(driver):
    with pytest.raises(WarehouseError, match=r"cannot connect to SQL Server .*set MSSQL_SERVER"):
        SqlServerWarehouse("Server=unreachable")


def test_missing_driver_is_a_named_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mssql_python", None)
    with pytest.raises(WarehouseError, match=r"needs the mssql-python driver"):
        SqlServerWarehouse("Server=x")


def test_sqlserver_roles_script_parses_and_mirrors_postgres():
    text = (ROOT / "sql/roles/sqlserver.sql").read_text()
    # sqlglot only falls back to opaque commands for GRANT ... ON SCHEMA::; sqlfluff's
    # T-SQL grammar parses every statement
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("sqlfluff")), "lint", "--dialect", "tsql", "--templater", "raw",
         "--rules", "CV06", "--format", "json", "--nofail", str(ROOT / "sql/roles/sqlserver.sql")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    (report,) = json.loads(proc.stdout)
    assert [v for v in report["violations"] if v["code"] == "PRS"] == []
    assert len(re.findall(r";$", text, re.M)) == 27
    created = re.findall(r"CREATE ROLE (\w+);", text)
    assert created == ["etl_reader", "etl_loader", "etl_admin"]
    # the reader gets SELECT only, on the published schemas only
    reader = re.findall(r"^GRANT (.+) ON (\S+) TO etl_reader;$", text, re.M)
    assert reader == [("SELECT", f"SCHEMA::{s}") for s in ("dim", "fact", "analytics", "meta")]
    assert "staging TO etl_reader" not in text
