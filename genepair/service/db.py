"""Connections for the service, per engine.

DuckDB allows one process to write a database file at a time, so the service never keeps
the file open: every request opens it (read-only for reads), works, and closes it, one
request at a time in this process. When another process (the loader, dbt) holds the file,
a request waits up to ``wait_s`` and then fails with :class:`BusyError` (HTTP 503 with
Retry-After). After each use the service leaves the file alone for a quarter of the time
it held it (at least ``min_gap_s``), so a writer polling for the lock every 0.1 s gets it
within about a second however busy the service is.

PostgreSQL: a connection pool (psycopg_pool); a request waits up to ``wait_s`` for a
free connection, else :class:`BusyError`.

``cached`` serves a read from a cache that is exact: an entry is kept with the version of
the warehouse it was computed from and used only while the warehouse still has that
version. DuckDB's version is the database and WAL files' size, times and inode (any
commit changes them; no writer can commit while the service reads); PostgreSQL's is the
transaction snapshot (``pg_current_snapshot()``: which transactions are visible), the
read running in the same REPEATABLE READ transaction, so a cached result is exactly what
the query returns while no write commits anywhere in the cluster.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from loader.warehouse import Warehouse, WarehouseError
from loader.warehouse.base import WarehouseLockedError

T = TypeVar("T")


class BusyError(Exception):
    """The warehouse is held by another writer (DuckDB) or the pool is exhausted."""

    def __init__(self, message: str, retry_after_s: int = 2) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ResultCache:
    """At most ``size`` results, each with the warehouse version it was computed from."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, version: Any) -> tuple[bool, Any]:
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] == version:
                self._items.move_to_end(key)
                self.hits += 1
                return True, item[1]
            self.misses += 1
            return False, None

    def put(self, key: Hashable, version: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = (version, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class ServiceDB:
    target: str

    def cached(
        self, cache: ResultCache, key: Hashable, compute: Callable[[Warehouse], Any], finish: Callable[[Any], T]
    ) -> T:
        """``finish(compute(wh))`` (``compute`` on a read connection, ``finish`` without
        one where the engine allows: serialising does not hold DuckDB's file), or the
        cached result for this warehouse version."""
        raise NotImplementedError

    @contextmanager
    def read(self) -> Iterator[Warehouse]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def write(self) -> Iterator[Warehouse]:
        """A connection inside one transaction (committed when the block ends)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        pass


class DuckDBServiceDB(ServiceDB):
    target = "duckdb"

    def __init__(self, wait_s: float = 5.0, min_gap_s: float = 0.01, path: Path | None = None) -> None:
        from loader.paths import duckdb_path

        self.path = path or duckdb_path()
        self.wait_s = wait_s
        self.min_gap_s = min_gap_s
        self._lock = threading.Lock()
        self._free_at = 0.0  # monotonic time before which the file is left to other processes

    @contextmanager
    def _open(self, read_only: bool) -> Iterator[Warehouse]:
        from loader.warehouse.duckdb import DuckDBWarehouse

        deadline = time.monotonic() + self.wait_s
        if not self._lock.acquire(timeout=self.wait_s):
            raise BusyError(f"the service is busy ({self.wait_s:.0f} s without a turn on the warehouse)")
        try:
            pause = self._free_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            started = time.monotonic()
            try:
                wh = DuckDBWarehouse(
                    self.path, memory_limit="1GB", wait_s=max(0.0, deadline - started), read_only=read_only
                )
            except WarehouseLockedError:
                raise BusyError("another process (the loader or dbt) is writing the warehouse") from None
            except Exception as exc:  # a missing or unreadable file
                raise WarehouseError(f"cannot open the DuckDB warehouse {self.path}: {exc}") from None
            try:
                yield wh
            finally:
                wh.close()
                held = time.monotonic() - started
                self._free_at = time.monotonic() + max(self.min_gap_s, held / 4)
        finally:
            self._lock.release()

    @contextmanager
    def read(self) -> Iterator[Warehouse]:
        with self._open(read_only=True) as wh:
            yield wh

    def _version(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = os.stat(path)
                out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def cached(
        self, cache: ResultCache, key: Hashable, compute: Callable[[Warehouse], Any], finish: Callable[[Any], T]
    ) -> T:
        before = self._version()
        hit, value = cache.get(key, before)
        if hit:
            return value
        with self.read() as wh:
            raw = compute(wh)
        value = finish(raw)
        if self._version() == before:  # nobody wrote between the two looks
            cache.put(key, before, value)
        return value

    @contextmanager
    def write(self) -> Iterator[Warehouse]:
        with self._open(read_only=False) as wh, wh.transaction():
            yield wh


class PostgresServiceDB(ServiceDB):
    target = "postgres"

    def __init__(self, wait_s: float = 5.0, max_size: int = 10, conninfo: str = "") -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        try:
            psycopg.connect(conninfo, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            raise WarehouseError(
                f"cannot connect to PostgreSQL ({exc}); set PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE"
            ) from None
        self.wait_s = wait_s
        self.pool = ConnectionPool(
            conninfo, min_size=2, max_size=max_size, kwargs={"autocommit": True}, open=True, name="genepair-serve"
        )

    @contextmanager
    def _conn(self) -> Iterator[Warehouse]:
        from psycopg_pool import PoolTimeout

        from loader.warehouse.postgres import PostgresWarehouse

        try:
            cm = self.pool.connection(timeout=self.wait_s)
            con = cm.__enter__()
        except PoolTimeout:
            raise BusyError(f"no free database connection within {self.wait_s:.0f} s") from None
        try:
            yield PostgresWarehouse.from_connection(con)
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        cm.__exit__(None, None, None)

    @contextmanager
    def read(self) -> Iterator[Warehouse]:
        with self._conn() as wh, wh.transaction():
            yield wh

    @contextmanager
    def write(self) -> Iterator[Warehouse]:
        with self._conn() as wh, wh.transaction():
            yield wh

    def cached(
        self, cache: ResultCache, key: Hashable, compute: Callable[[Warehouse], Any], finish: Callable[[Any], T]
    ) -> T:
        with self._conn() as wh:
            wh.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                version = wh.query("SELECT pg_current_snapshot()::text")[0][0]
                hit, value = cache.get(key, version)
                if not hit:
                    value = finish(compute(wh))
                    cache.put(key, version, value)
            except BaseException:
                wh.rollback()
                raise
            wh.commit()
            return value

    def close(self) -> None:
        self.pool.close()


def service_db(target: str, wait_s: float = 5.0) -> ServiceDB:
    if target == "duckdb":
        return DuckDBServiceDB(wait_s=wait_s)
    if target == "postgres":
        return PostgresServiceDB(wait_s=wait_s)
    raise WarehouseError(f"genepair serve runs on duckdb or postgres, not {target!r}")
