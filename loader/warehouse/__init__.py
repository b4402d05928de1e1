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


def connect(target: str | None = None) -> Warehouse:
    target = target or default_target()
    if target not in TARGETS:
        raise GenepairError("INVALID_CONFIG", f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    return importlib.import_module(f"loader.warehouse.{target}").ENGINE()


@contextmanager
def open_warehouse(target: str | None = None) -> Iterator[Warehouse]:
    """``with open_warehouse(target) as wh:`` a connection that is closed however the block ends."""
    warehouse = connect(target)
    try:
        yield warehouse
    finally:
        warehouse.close()
