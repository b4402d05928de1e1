"""DuckDB, the embedded default target: Arrow inserts through a replacement scan."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from loader.paths import duckdb_path
from loader.warehouse.base import Warehouse, WarehouseLockedError
from loader.warehouse.tables import Table


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(
        self, path: Path | None = None, memory_limit: str = "512MB", wait_s: float = 60.0, read_only: bool = False
    ) -> None:
        import duckdb

        self.path = Path(path) if path else duckdb_path()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise WarehouseLockedError(
                        f"cannot open {self.path}: {exc}. Another process (dbt, the loader, genepair serve) "
                        "holds it; DuckDB allows one writer at a time"
                    ) from None
                # short polls: a reader (genepair serve) holds the file for milliseconds at a time
                time.sleep(0.1)
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, list(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def query_records(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query_columns(self, sql: str, params: Sequence[Any] = ()) -> list[np.ndarray]:
        result = self.con.execute(sql, list(params)).fetchnumpy()
        return [np.asarray(v) for v in result.values()]

    def close(self) -> None:
        self.con.close()

    # Arrow data is read through DuckDB's replacement scan of a local variable: unlike
    # con.register(), it keeps no reference to the data after the statement (register
    # kept every chunk alive until the process ended: 1.4 GB for 100 M rows).
    def insert_arrow(self, table: Table, data: pa.Table) -> int:
        genepair_rows = data  # noqa: F841 - read by name by DuckDB's replacement scan
        cols = ", ".join(data.column_names)
        self.con.execute(f"INSERT INTO {table.qualified} ({cols}) SELECT {cols} FROM genepair_rows")
        return data.num_rows

    def insert_expression(self, chunk: pa.Table, batch_key: int) -> int:
        genepair_chunk = chunk  # noqa: F841 - read by name by DuckDB's replacement scan
        self.con.execute(
            "INSERT INTO staging.expression_values (batch_key, gene_idx, sample_idx, expression_value) "
            "SELECT ?, gene_idx, sample_idx, expression_value FROM genepair_chunk",
            [batch_key],
        )
        return chunk.num_rows


ENGINE = DuckDBWarehouse
