"""The warehouse interface every engine implements, and what the engines share.

One small interface (execute / query / transactions / bulk insert); each engine module
of this package (``duckdb``, ``postgres``, ``sqlserver``) implements it with its native
bulk path.  SQL in the loader is written with ``?`` placeholders; drivers that want
``%s`` get it translated in their module.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from loader.errors import GenepairError
from loader.warehouse import tables as schema
from loader.warehouse.tables import Table


class WarehouseError(Exception):
    """A target cannot be reached or used (not a user input problem)."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse (DuckDB's file lock) longer than the wait allowed."""


class WarehouseUnusableError(WarehouseError, GenepairError):
    """The warehouse's storage refuses the work (not a DuckDB file, read-only, disk full):
    a named error (53039-53041), exit 1, nothing changed."""

    exit_code = 1

    def __init__(self, name: str, message: str) -> None:
        GenepairError.__init__(self, name, message)


_DISK_FULL = ("no space left", "disk full", "could not extend file", "could not write", "enospc")
_READ_ONLY = ("read-only file system", "permission denied", "erofs", "eacces", "attempt to write a readonly database")


def storage_problem(exc: BaseException, where: str) -> WarehouseUnusableError | None:
    """Name an environment fault an engine or the OS raised, or None when it is something else.
    Covers OSError (ENOSPC, EACCES, EROFS), DuckDB's IOException text and PostgreSQL's
    SQLSTATE 53100 (disk_full)."""
    errno_ = getattr(exc, "errno", None)
    text = str(exc).lower()
    if "conflicting lock" in text:  # another process holds the file: a lock, not storage
        return None
    sqlstate = getattr(exc, "sqlstate", None)
    if errno_ == 28 or sqlstate == "53100" or any(w in text for w in _DISK_FULL):
        return WarehouseUnusableError(
            "DISK_FULL",
            f"{where}: no space left on the device ({str(exc).splitlines()[0][:200]}); nothing was changed. "
            "Free space there (df -h), or point GENEPAIR_DUCKDB_PATH / the server's data folder at a larger "
            "disk, then run the command again",
        )
    if errno_ in (13, 30) or any(w in text for w in _READ_ONLY):
        return WarehouseUnusableError(
            "WAREHOUSE_NOT_WRITABLE",
            f"{where}: cannot be written ({str(exc).splitlines()[0][:200]}): a permission problem or a "
            "read-only mount, not a lock. Fix the file's and its folder's permissions (the .wal file is "
            "created beside it); read-only commands (genepair status, genepair health) still work",
        )
    return None


def default_target() -> str:
    return os.environ.get("GENEPAIR_TARGET", "duckdb")


class Warehouse:
    dialect: str = ""

    # -- basic SQL -------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def query_records(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """A result as one dict per row (column name -> value)."""
        raise NotImplementedError

    def query_columns(self, sql: str, params: Sequence[Any] = ()) -> list[np.ndarray]:
        """A result as one numpy array per column (numeric columns for the scoring step)."""
        raise NotImplementedError

    def begin(self) -> None:
        self.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.execute("ROLLBACK")
        except Exception:
            pass

    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """``with wh.transaction():`` commit when the block ends, roll back when it raises
        (any exception, KeyboardInterrupt included), then re-raise."""
        self.begin()
        try:
            yield self
        except BaseException as exc:
            try:
                self.rollback()
            except Exception:
                # a connection a full disk or a dropped server invalidated: the
                # transaction is gone with it; the original error is what matters
                if not isinstance(exc, Exception):
                    raise
            raise
        self.commit()

    def close(self) -> None:
        raise NotImplementedError

    def lock_study(self, study: str) -> None:
        """Serialise loads of one study across processes (inside a transaction)."""

    # -- bulk paths ------------------------------------------------------------------
    def insert_arrow(self, table: Table, data: pa.Table) -> int:
        raise NotImplementedError

    def insert_expression(self, chunk: pa.Table, batch_key: int) -> int:
        """Append melted rows (gene_idx, sample_idx, expression_value) of one batch."""
        raise NotImplementedError

    def insert_rows(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        rows = list(rows)
        if not rows:
            return 0
        schema.check_lengths(table, rows)
        cols = table.column_names
        types = {name: arrow_type(kind) for name, kind, _ in table.columns}
        data = pa.table({c: pa.array([r.get(c) for r in rows], type=types[c]) for c in cols})
        return self.insert_arrow(table, data)

    def update_from(
        self, target: str, source: str, columns: Sequence[str], keys: Sequence[str], where: tuple[str, Any]
    ) -> None:
        """Set ``columns`` of ``target`` from the ``source`` rows matching on ``keys``
        whose ``where[0]`` column equals ``where[1]`` (one set-based UPDATE)."""
        sets = ", ".join(f"{c} = s.{c}" for c in columns)
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        self.execute(f"UPDATE {target} AS t SET {sets} FROM {source} AS s WHERE {on} AND s.{where[0]} = ?", (where[1],))

    def allow_large_writes(self) -> None:
        """Before one transaction of very many rows (the streaming path's reported rows):
        engines with a memory cap for the loader lift it to the dbt profile's. No-op here."""

    def refresh_indexes(self, table: Table) -> None:
        """After a bulk rewrite of ``table`` (outside a transaction): bring its secondary
        indexes up to date where the engine does not (PostgreSQL's BRIN)."""

    # servers: two loaders starting at once would race on CREATE ... IF NOT EXISTS
    serialise_ddl: bool = False

    def ensure_schema(self) -> None:
        """Create the loader's schemas, tables and view (idempotent); on a server, in one
        transaction under the study lock named "ddl"."""
        stmts = schema.ddl(self.dialect, primary_keys=self.dialect == "sqlserver")
        if not self.serialise_ddl:
            for stmt in stmts:
                self.execute(stmt)
            return
        with self.transaction():
            self.lock_study("ddl")
            for stmt in stmts:
                self.execute(stmt)

    def table_exists(self, qualified: str) -> bool:
        sch, name = qualified.split(".")
        rows = self.query(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (sch, name),
        )
        return bool(rows[0][0])


def arrow_type(kind: str) -> pa.DataType:
    return {
        "bigint": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "flag": pa.int16(),
        "timestamp": pa.timestamp("us"),
    }.get(kind, pa.string())
