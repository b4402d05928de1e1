"""SQL Server sink: Microsoft's mssql-python driver, bulk copy for every table write.

Statements go through the driver's DB-API cursor (qmark parameters); rows go through
``cursor.bulkcopy`` (the TDS bulk-load protocol of bcp / SqlBulkCopy), never INSERT per
row. Connection from the ``MSSQL_*`` variables (SPEC §9), the same ones profiles.yml gives
dbt-sqlserver. Not verified against a live server here (none can run in CI); the tests
drive this class through a stand-in driver that records every call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from loader.warehouse.base import Warehouse, WarehouseError
from loader.warehouse.tables import Table

BULK_BATCH_ROWS = 100_000


def connection_string(env: dict[str, str] | None = None) -> str:
    """ODBC-style connection string from MSSQL_SERVER, MSSQL_PORT, MSSQL_DATABASE,
    MSSQL_USER, MSSQL_PASSWORD and MSSQL_TRUST_CERT (true for self-signed dev servers)."""
    env = dict(os.environ if env is None else env)
    trust = env.get("MSSQL_TRUST_CERT", "false").strip().lower() in ("1", "true", "yes")
    parts = {
        "Server": f"{env.get('MSSQL_SERVER', 'localhost')},{env.get('MSSQL_PORT', '1433')}",
        "Database": env.get("MSSQL_DATABASE", "BioinformaticsWarehouse"),
        "UID": env.get("MSSQL_USER", "sa"),
        "PWD": env.get("MSSQL_PASSWORD", ""),
        "Encrypt": "yes",
        "TrustServerCertificate": "yes" if trust else "no",
        "APP": "genepair",
    }
    return ";".join(f"{k}={{{v}}}" if k == "PWD" else f"{k}={v}" for k, v in parts.items())


def _rows(data: pa.Table) -> Iterator[tuple[Any, ...]]:
    """Row tuples for bulk copy, converted one record batch at a time (bounded memory)."""
    for batch in data.to_batches(max_chunksize=BULK_BATCH_ROWS):
        columns = [c.to_pylist() for c in batch.columns]
        yield from zip(*columns, strict=True)


class SqlServerWarehouse(Warehouse):
    dialect = "sqlserver"
    serialise_ddl = True

    def __init__(self, conn_str: str | None = None) -> None:
        try:
            import mssql_python
        except ImportError:
            raise WarehouseError(
                "the SQL Server target needs the mssql-python driver: pip install 'mssql-python>=1.4'"
            ) from None
        try:
            self.con = mssql_python.connect(conn_str or connection_string(), autocommit=True)
        except Exception as exc:  # the driver raises its own DB-API error classes
            raise WarehouseError(
                f"cannot connect to SQL Server ({exc}); set MSSQL_SERVER, MSSQL_PORT, MSSQL_DATABASE, "
                "MSSQL_USER, MSSQL_PASSWORD (and MSSQL_TRUST_CERT=true for a self-signed certificate)"
            ) from None

    # -- statements --------------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[Any], fetch: bool) -> tuple[list[tuple[Any, ...]], int]:
        """Execute one statement; (rows, number of result columns) when fetch."""
        cur = self.con.cursor()
        try:
            cur.execute(sql, tuple(params)) if params else cur.execute(sql)
            if not fetch:
                return [], 0
            return [tuple(r) for r in cur.fetchall()], len(cur.description or ())
        finally:
            cur.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params, fetch=False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params, fetch=True)[0]

    def query_columns(self, sql: str, params: Sequence[Any] = ()) -> list[np.ndarray]:
        rows, n_columns = self._run(sql, params, fetch=True)
        if not rows:  # one empty array per column, as the other engines return
            return [np.empty(0) for _ in range(n_columns)]
        return [np.array(col) for col in zip(*rows, strict=True)]

    def begin(self) -> None:
        self.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.execute("IF @@TRANCOUNT > 0 COMMIT TRANSACTION")

    def rollback(self) -> None:
        try:
            self.execute("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
        except Exception:
            pass

    def close(self) -> None:
        self.con.close()

    def lock_study(self, study: str) -> None:
        """Transaction-owned application lock: loads of one study run one after another."""
        self.execute(
            "EXEC sp_getapplock @Resource = ?, @LockMode = 'Exclusive', @LockOwner = 'Transaction', "
            "@LockTimeout = 600000",
            (f"genepair:{study}",),
        )

    def update_from(
        self, target: str, source: str, columns: Sequence[str], keys: Sequence[str], where: tuple[str, Any]
    ) -> None:
        # T-SQL names the alias after UPDATE and joins in FROM
        sets = ", ".join(f"t.{c} = s.{c}" for c in columns)
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        self.execute(
            f"UPDATE t SET {sets} FROM {target} AS t INNER JOIN {source} AS s ON {on} WHERE s.{where[0]} = ?",
            (where[1],),
        )

    def table_exists(self, qualified: str) -> bool:
        return bool(self.query("SELECT CASE WHEN OBJECT_ID(?) IS NULL THEN 0 ELSE 1 END", (qualified,))[0][0])

    # -- bulk copy ---------------------------------------------------------------------
    def _bulkcopy(self, qualified: str, columns: list[str], rows: Any) -> int:
        cur = self.con.cursor()
        try:
            result = cur.bulkcopy(
                qualified,
                rows,
                batch_size=BULK_BATCH_ROWS,
                timeout=0,
                column_mappings=columns,
                keep_nulls=True,
                # with both, INSERT BULK needs only INSERT permission (no ALTER TABLE)
                check_constraints=True,
                fire_triggers=True,
            )
        finally:
            cur.close()
        return int(result["rows_copied"])

    def insert_arrow(self, table: Table, data: pa.Table) -> int:
        if data.num_rows == 0:
            return 0
        return self._bulkcopy(table.qualified, data.column_names, _rows(data))

    def insert_expression(self, chunk: pa.Table, batch_key: int) -> int:
        n = chunk.num_rows
        if n == 0:
            return 0
        genes = chunk.column("gene_idx").to_numpy().tolist()
        samples = chunk.column("sample_idx").to_numpy().tolist()
        values = chunk.column("expression_value").to_numpy().tolist()
        rows = zip([batch_key] * n, genes, samples, values, strict=True)
        return self._bulkcopy(
            "staging.expression_values", ["batch_key", "gene_idx", "sample_idx", "expression_value"], rows
        )


ENGINE = SqlServerWarehouse
