"""The review service's fixture warehouses: built once per session through the real CLI
(DuckDB; PostgreSQL when a server is configured), copied for each module that writes."""

from __future__ import annotations

import pytest

from support import Warehouse
from support.pg import PgWarehouse, server_or_skip
from support.service import build, write_inputs


@pytest.fixture(scope="session")
def service_inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("service-inputs"))


@pytest.fixture(scope="session")
def built_duckdb(tmp_path_factory, service_inputs) -> Warehouse:
    """Never written after the build: modules copy it (support.service.copy_duckdb)."""
    wh = Warehouse(tmp_path_factory.mktemp("service-duckdb"))
    build(wh, *service_inputs)
    return wh


@pytest.fixture(scope="session")
def built_postgres(tmp_path_factory, service_inputs):
    """The same warehouse on PostgreSQL (skipped without a server); modules copy it with
    ``PgWarehouse(root, template=built_postgres.dbname)``."""
    server_or_skip()
    pg = PgWarehouse(tmp_path_factory.mktemp("service-pg"))
    build(pg, *service_inputs)
    yield pg
    pg.drop()
