"""TrialSync test harness: the simulator in a thread on 127.0.0.1, a fresh warehouse (DuckDB
file or PostgreSQL database), and the ETL driven through its own classes or its CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from support.pg import server_or_skip as postgres_or_skip
from trialsync import catalog as catalog_module
from trialsync import settings as settings_module
from trialsync.control import Warehouse
from trialsync.runner import JobRunner
from trialsync.simulator.app import Simulator
from trialsync.simulator.faults import Faults
from trialsync.simulator.server import running

KEY = "test-key-not-a-secret"
CLI = str(Path(sys.executable).parent / "trialsync-etl")


@contextmanager
def patched_env(values: dict[str, str]):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Harness:
    """One simulator + one warehouse + the ETL's objects, with the environment they read."""

    def __init__(self, root: Path, target: str, faults: Faults | None = None, sizes: dict | None = None,
                 env: dict | None = None) -> None:  # fmt: skip
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.target = target
        self.sim = Simulator(KEY, "CCAPIKey", faults, sizes)
        self.stack = ExitStack()
        self.url = self.stack.enter_context(running(self.sim))
        self.env = {
            "CC_API_BASE_URL": self.url, "CC_API_KEY": KEY, "CC_API_KEY_HEADER": "CCAPIKey",
            "TRIALSYNC_TARGET": target, "TRIALSYNC_DUCKDB_PATH": str(root / "ts.duckdb"),
            "TRIALSYNC_HOME": str(root / "home"), "TRIALSYNC_RATE_LIMIT": "0", "TRIALSYNC_BACKOFF_SECONDS": "0.05",
            "TRIALSYNC_PARALLEL_JOBS": "4",
        }  # fmt: skip
        if target == "postgres":
            import psycopg

            self.dbname = f"trialsync_t_{uuid.uuid4().hex[:10]}"
            with psycopg.connect("", autocommit=True) as con:
                con.execute(f"create database {self.dbname}")
            self.env["PGDATABASE"] = self.dbname
        self.env.update(env or {})
        self.stack.enter_context(patched_env(self.env))
        self.settings = settings_module.load()
        self.catalog = catalog_module.load()
        self.warehouse = Warehouse(self.settings)
        self.warehouse.sync_jobs(self.catalog)
        self.runner = JobRunner(self.settings, self.catalog, self.warehouse)

    def q(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.warehouse.execute(sql, params)

    def count(self, table: str) -> int:
        """Rows of a bronze table; 0 when no run has landed a record yet (dlt creates it then)."""
        exists = self.q(
            "select count(*) from information_schema.tables where table_schema = 'bronze' and table_name = %s", (table,)
        )[0][0]
        return self.q(f"select count(*) from bronze.{table}")[0][0] if exists else 0

    def served(self, job_id: int) -> int:
        """Distinct records the simulator served for a job's endpoint (placeholder names aside)."""
        import re

        want = re.sub(r"{\w+}", "{}", self.catalog.get(job_id).endpoint)
        return sum(len(v) for (t, _), v in self.sim.served.items() if re.sub(r"{\w+}", "{}", t) == want)

    def cli(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], cwd=self.root, env={**os.environ}, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip

    def close(self) -> None:
        self.warehouse.close()
        self.stack.close()
        if self.target == "postgres":
            import psycopg

            with psycopg.connect("", autocommit=True) as con:
                con.execute(f"drop database if exists {self.dbname} with (force)")


@pytest.fixture
def harness(tmp_path: Path):
    """A DuckDB harness, no faults (function scope: each test its own simulator and file)."""
    made: list[Harness] = []

    def make(target: str = "duckdb", **kwargs) -> Harness:
        if target == "postgres":
            postgres_or_skip()
        h = Harness(tmp_path / f"h{len(made)}", target, **kwargs)
        made.append(h)
        return h

    yield make
    for h in reversed(made):
        h.close()
