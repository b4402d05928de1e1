"""PostgreSQL test support: a throw-away database per test module on the server named by
the PG* variables (scripts/start_postgres.sh starts one; .ci/run always does). Without
a reachable server the tests are skipped with the reason printed."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from support import GENEPAIR

PG_KEYS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


def server_or_skip() -> None:
    if not os.environ.get("PGHOST"):
        pytest.skip("no PostgreSQL server configured (PGHOST unset; `bash scripts/start_postgres.sh` starts one)")
    import psycopg

    try:
        psycopg.connect("", connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {os.environ['PGHOST']}:{os.environ.get('PGPORT', '5432')} unreachable: {exc}")


class PgWarehouse:
    """A fresh database on the test server, driven through the real CLI (--target postgres)."""

    def __init__(self, root: Path, name: str | None = None, template: str | None = None) -> None:
        """``template``: a built database to copy (CREATE DATABASE ... TEMPLATE; nobody may
        be connected to it)."""
        import psycopg

        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.dbname = name or f"genepair_t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect("", autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {self.dbname}")
            con.execute(f"CREATE DATABASE {self.dbname}" + (f" TEMPLATE {template}" if template else ""))
        self.env = dict(os.environ)
        self.env.update(
            {"PGDATABASE": self.dbname, "GENEPAIR_TARGET": "postgres", "GENEPAIR_LOG_DIR": str(root / "logs")}
        )

    def dsn(self, **overrides: str) -> str:
        parts = {"dbname": self.dbname, **overrides}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def cli(self, *args: str, check: bool = False, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [GENEPAIR, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"genepair {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """The CLI in the background (stdout and stderr piped, text)."""
        return subprocess.Popen(
            [GENEPAIR, *args], cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn()) as con:
            return con.execute(sql, params or None).fetchall()

    def scalar(self, sql: str, params: tuple = ()):
        return self.query(sql, params)[0][0]

    def drop(self) -> None:
        import psycopg

        # an autovacuum worker (a superuser process) may be busy in the database after a
        # big load; WITH (FORCE) cannot terminate it as a non-superuser: wait and retry
        for attempt in range(60):
            try:
                with psycopg.connect("", autocommit=True) as con:
                    con.execute(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
                return
            except psycopg.errors.InsufficientPrivilege:
                if attempt == 59:
                    raise
                time.sleep(0.5)
