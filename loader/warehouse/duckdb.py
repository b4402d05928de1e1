"""DuckDB, the embedded default target: Arrow inserts through a replacement scan."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from loader.errors import GenepairError
from loader.paths import duckdb_path
from loader.warehouse.base import Warehouse, WarehouseLockedError, WarehouseUnusableError, storage_problem
from loader.warehouse.tables import Table

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _refuse_non_database(path: Path) -> None:
    """DuckDB opens a .csv, .parquet or .json path as an in-memory database and saves
    nothing: refuse any existing path that is not a DuckDB database file (53039)."""
    if path.is_dir():
        raise WarehouseUnusableError(
            "NOT_A_WAREHOUSE", f"{path} is a folder; GENEPAIR_DUCKDB_PATH names a .duckdb file"
        )
    if not path.exists():
        if path.suffix.lower() in (".csv", ".tsv", ".parquet", ".json", ".ndjson", ".xlsx", ".txt"):
            raise WarehouseUnusableError(
                "NOT_A_WAREHOUSE",
                f"{path}: a {path.suffix} name is read by DuckDB as a data file, not a database; "
                "name the warehouse file *.duckdb",
            )
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise storage_problem(exc, str(path)) or exc from None
    if head and head[8:12] != DUCKDB_MAGIC:
        raise WarehouseUnusableError(
            "NOT_A_WAREHOUSE",
            f"{path} exists but is not a DuckDB database (it starts with {head[:8]!r}); DuckDB would open it "
            "as an in-memory database and save nothing. Point GENEPAIR_DUCKDB_PATH at a .duckdb file "
            "(a new name creates one)",
        )


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(
        self, path: Path | None = None, memory_limit: str = "512MB", wait_s: float = 60.0, read_only: bool = False
    ) -> None:
        import duckdb

        self.path = Path(path) if path else duckdb_path()
        _refuse_non_database(self.path)
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise storage_problem(exc, str(self.path.parent)) or exc from None
        if read_only and not self.path.exists():
            # nothing there yet: read-only commands see an empty warehouse
            self.con = duckdb.connect(":memory:")
            return
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                problem = storage_problem(exc, str(self.path))
                if problem:
                    raise problem from None
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

    def allow_large_writes(self) -> None:
        """The loader's 512 MB cap would fail the commit of millions of wide rows: use the
        dbt profile's limit ($GENEPAIR_DUCKDB_MEMORY, default 4GB) for this connection."""
        limit = os.environ.get("GENEPAIR_DUCKDB_MEMORY", "4GB")
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit, flags=re.IGNORECASE):
            raise GenepairError("INVALID_CONFIG", f"GENEPAIR_DUCKDB_MEMORY={limit!r}: expected a size such as 4GB")
        self.con.execute(f"SET memory_limit = '{limit}'")

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
