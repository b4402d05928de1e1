"""Warehouse engines: one module per target, each exposing ``ENGINE`` (a Warehouse).

The target names are the engine modules of this package, so adding an engine means adding
one module beside ``duckdb.py``; ``connect`` imports only the module it needs (drivers
are loaded lazily).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loader.errors import GenepairError
from loader.warehouse.base import Warehouse, WarehouseError, default_target

_NOT_ENGINES = {"base", "tables"}
TARGETS: tuple[str, ...] = tuple(
    sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name not in _NOT_ENGINES)
)

__all__ = ["TARGETS", "Warehouse", "WarehouseError", "connect", "default_target", "open_warehouse"]


def connect(target: str | None = None, read_only: bool = False) -> Warehouse:
    """A connection to ``target``; ``read_only`` opens an embedded file read-only (status,
    health: they work on a read-only file or mount, and beside a writer's lock)."""
    target = target or default_target()
    if target not in TARGETS:
        raise GenepairError("INVALID_CONFIG", f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    engine = importlib.import_module(f"loader.warehouse.{target}").ENGINE
    return engine(read_only=True) if read_only and target == "duckdb" else engine()


@contextmanager
def open_warehouse(target: str | None = None, read_only: bool = False) -> Iterator[Warehouse]:
    """``with open_warehouse(target) as wh:`` a connection that is closed however the block ends."""
    warehouse = connect(target, read_only)
    try:
        yield warehouse
    finally:
        warehouse.close()
