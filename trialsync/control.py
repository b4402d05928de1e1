"""The warehouse side of TrialSync: control tables (`etl.*`) and reads of the bronze tables.

One small DB-API layer over DuckDB and PostgreSQL (psycopg): the same SQL on both, `%s`
placeholders (rewritten to `?` for DuckDB). Control tables:

- `etl.dw_etl_jobs`: the catalog, synced from jobs.yaml (plus the last run's status and count);
- `etl.dw_etl_runs`: one row per run: status (running, success, failed, interrupted), records
  extracted and written, error, start, end, duration, parameters (JSON), attempts, host/pid;
- `etl.dw_etl_run_parents`: the parents of a parameterised run already loaded (checkpoints).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

from trialsync.catalog import Catalog
from trialsync.settings import Settings

BRONZE = "bronze"


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or written (with the reason, never a traceback)."""


DDL = """
create schema if not exists etl;
create table if not exists etl.dw_etl_jobs (
    id integer primary key,
    name varchar not null,
    category varchar not null,
    source_endpoint varchar not null,
    target_table varchar not null,
    is_active boolean not null,
    requires_parameters boolean not null,
    parameter_source_table varchar,
    parameters varchar,
    parent_job_id integer,
    schedule_cron varchar,
    priority integer,
    timeout_seconds integer,
    incremental_field varchar,
    status varchar,
    source_instance_id integer,
    last_run_at timestamp,
    last_run_status varchar,
    last_run_records integer,
    updated_at timestamp
);
create sequence if not exists etl.dw_etl_runs_id_seq;
create table if not exists etl.dw_etl_runs (
    id bigint primary key default nextval('etl.dw_etl_runs_id_seq'),
    job_id integer not null,
    run_status varchar not null,
    records_loaded bigint default 0,
    records_written bigint default 0,
    error_message varchar,
    error_kind varchar,
    started_at timestamp not null,
    completed_at timestamp,
    duration_seconds double precision,
    parameters varchar,
    attempts integer default 1,
    resumed_from bigint,
    host varchar,
    pid integer
);
create table if not exists etl.dw_etl_run_parents (
    run_id bigint not null,
    job_id integer not null,
    parent_key varchar not null,
    records bigint not null,
    completed_at timestamp not null,
    primary key (run_id, parent_key)
);
"""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Warehouse:
    """Connections to the TrialSync warehouse (one per thread for PostgreSQL)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._duck = None
        self.lock = threading.Lock()

    # -- connections ---------------------------------------------------------------
    def _connect(self):
        if self.settings.target == "duckdb":
            import duckdb

            try:
                if self._duck is None:
                    self.settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
                    self._duck = duckdb.connect(str(self.settings.duckdb_path))
                return self._duck.cursor()
            except (duckdb.Error, OSError) as exc:
                raise WarehouseError(f"cannot open DuckDB file {self.settings.duckdb_path}: {exc}") from exc
        import psycopg

        try:
            return psycopg.connect(autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise WarehouseError(
                f"cannot connect to PostgreSQL ({os.environ.get('PGHOST', 'local socket')}): {exc}"
            ) from exc

    @property
    def con(self):
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
        if self._duck is not None:
            self._duck.close()
            self._duck = None

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?") if self.settings.target == "duckdb" else sql

    def execute(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        cur = self.con.execute(self._sql(sql), params) if self.settings.target == "duckdb" else None
        if cur is None:
            with self.con.cursor() as pg:
                pg.execute(sql, params)
                return pg.fetchall() if pg.description else []
        return cur.fetchall() if cur.description else []

    @contextmanager
    def transaction(self):
        if self.settings.target == "duckdb":
            self.con.execute("begin")
            try:
                yield
            except BaseException:
                self.con.execute("rollback")
                raise
            self.con.execute("commit")
        else:
            with self.con.transaction():
                yield

    # -- control tables ------------------------------------------------------------
    def ensure(self) -> None:
        with self.lock:
            for statement in DDL.split(";"):
                if statement.strip():
                    self.execute(statement)

    def sync_jobs(self, catalog: Catalog) -> int:
        """Write the catalog into etl.dw_etl_jobs (keeping each job's last-run columns)."""
        self.ensure()
        stamp = now()
        with self.transaction():
            for j in catalog.jobs.values():
                values = (j.name, j.category, j.endpoint, j.target_table, j.enabled, j.parameterised,
                          j.parameter_source, json.dumps(j.parameters) if j.parameters else None, j.parent,
                          j.schedule, j.priority, j.timeout_seconds, j.incremental, j.status,
                          self.settings.source_instance_id, stamp)  # fmt: skip
                updated = self.execute(
                    "update etl.dw_etl_jobs set name = %s, category = %s, source_endpoint = %s, target_table = %s,"
                    " is_active = %s, requires_parameters = %s, parameter_source_table = %s, parameters = %s,"
                    " parent_job_id = %s, schedule_cron = %s, priority = %s, timeout_seconds = %s,"
                    " incremental_field = %s, status = %s, source_instance_id = %s, updated_at = %s"
                    " where id = %s returning id",
                    (*values, j.id),
                )
                if not updated:
                    self.execute(
                        "insert into etl.dw_etl_jobs (name, category, source_endpoint, target_table, is_active,"
                        " requires_parameters, parameter_source_table, parameters, parent_job_id, schedule_cron,"
                        " priority, timeout_seconds, incremental_field, status, source_instance_id, updated_at, id)"
                        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (*values, j.id),
                    )
        return len(catalog.jobs)

    def start_run(self, job_id: int, parameters: dict, resumed_from: int | None) -> int:
        row = self.execute(
            "insert into etl.dw_etl_runs (job_id, run_status, started_at, parameters, resumed_from, host, pid)"
            " values (%s, 'running', %s, %s, %s, %s, %s) returning id",
            (job_id, now(), json.dumps(parameters), resumed_from, socket.gethostname(), os.getpid()),
        )
        return int(row[0][0])

    def progress(self, run_id: int, loaded: int, written: int, attempts: int) -> None:
        self.execute(
            "update etl.dw_etl_runs set records_loaded = %s, records_written = %s, attempts = %s where id = %s",
            (loaded, written, attempts, run_id),
        )

    def finish_run(self, run_id: int, job_id: int, status: str, loaded: int, written: int,
                   error: str | None = None, kind: str | None = None) -> None:  # fmt: skip
        stamp = now()
        with self.transaction():
            started = self.execute("select started_at from etl.dw_etl_runs where id = %s", (run_id,))[0][0]
            self.execute(
                "update etl.dw_etl_runs set run_status = %s, records_loaded = %s, records_written = %s,"
                " error_message = %s, error_kind = %s, completed_at = %s, duration_seconds = %s where id = %s",
                (status, loaded, written, error, kind, stamp, (stamp - started).total_seconds(), run_id),
            )
            self.execute(
                "update etl.dw_etl_jobs set last_run_at = %s, last_run_status = %s, last_run_records = %s"
                " where id = %s",
                (stamp, status, loaded, job_id),
            )

    def mark_interrupted(self, job_id: int) -> None:
        """Runs left 'running' by a process of this host that no longer exists (kill -9, power loss)."""
        host = socket.gethostname()
        for run_id, pid in self.execute(
            "select id, pid from etl.dw_etl_runs where job_id = %s and run_status = 'running' and host = %s",
            (job_id, host),
        ):
            if pid == os.getpid() or _alive(pid):
                continue
            self.execute(
                "update etl.dw_etl_runs set run_status = 'interrupted', completed_at = %s,"
                " error_message = 'the process stopped before the run finished' where id = %s",
                (now(), run_id),
            )

    def resumable_run(self, job_id: int) -> int | None:
        """The job's latest run, when it was interrupted or failed (its finished parents are kept)."""
        rows = self.execute(
            "select id, run_status from etl.dw_etl_runs where job_id = %s and run_status <> 'running'"
            " order by id desc limit 1",
            (job_id,),
        )
        return int(rows[0][0]) if rows and rows[0][1] in ("interrupted", "failed") else None

    def finished_parents(self, run_id: int) -> dict[str, int]:
        """Parents done by a run and the runs it resumed (run chain)."""
        done: dict[str, int] = {}
        current: int | None = run_id
        while current is not None:
            for key, records in self.execute(
                "select parent_key, records from etl.dw_etl_run_parents where run_id = %s", (current,)
            ):
                done.setdefault(key, int(records))
            row = self.execute("select resumed_from from etl.dw_etl_runs where id = %s", (current,))
            current = row[0][0] if row else None
        return done

    def checkpoint(self, run_id: int, job_id: int, parents: list[tuple[str, int]]) -> None:
        stamp = now()
        with self.transaction():
            for key, records in parents:
                self.execute(
                    "insert into etl.dw_etl_run_parents (run_id, job_id, parent_key, records, completed_at)"
                    " values (%s, %s, %s, %s, %s)",
                    (run_id, job_id, key, records, stamp),
                )

    def run(self, run_id: int) -> dict | None:
        rows = self.execute(
            "select id, job_id, run_status, records_loaded, records_written, error_message, error_kind,"
            " started_at, completed_at, duration_seconds, parameters, attempts, resumed_from"
            " from etl.dw_etl_runs where id = %s",
            (run_id,),
        )
        return _run_dict(rows[0]) if rows else None

    def history(self, job_id: int, limit: int) -> list[dict]:
        rows = self.execute(
            "select id, job_id, run_status, records_loaded, records_written, error_message, error_kind,"
            " started_at, completed_at, duration_seconds, parameters, attempts, resumed_from"
            " from etl.dw_etl_runs where job_id = %s order by id desc limit %s",
            (job_id, limit),
        )
        return [_run_dict(r) for r in rows]

    # -- bronze --------------------------------------------------------------------
    def table_exists(self, table: str) -> bool:
        rows = self.execute(
            "select count(*) from information_schema.tables where table_schema = %s and table_name = %s",
            (BRONZE, table),
        )
        return rows[0][0] > 0

    def existing_hashes(self, table: str) -> dict[str, tuple[str, object]]:
        """source_id -> (record_hash, created_at) of this instance's bronze rows."""
        if not self.table_exists(table):
            return {}
        rows = self.execute(
            f"select source_id, record_hash, created_at from {BRONZE}.{table} where source_instance_id = %s",
            (self.settings.source_instance_id,),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def parent_values(self, table: str, fields: dict[str, str]) -> list[dict[str, str]]:
        """One parameter set per parent bronze row: {placeholder: value}, in id order."""
        columns = {"id": "source_id", "parent_id": "parent_key"}
        select = ", ".join(f"{columns[v]}" for v in fields.values())
        rows = self.execute(
            f"select distinct {select} from {BRONZE}.{table} where source_instance_id = %s order by 1",
            (self.settings.source_instance_id,),
        )
        names = list(fields)
        return [dict(zip(names, [_parent_part(v, i, names) for i, v in enumerate(r)], strict=True)) for r in rows]

    def bronze_indexes(self, table: str) -> None:
        """The seed's keys on PostgreSQL: unique (source_instance_id, source_id), GIN on data."""
        if self.settings.target != "postgres":
            return
        self.execute(
            f"create unique index if not exists {table}_source_key on {BRONZE}.{table} (source_instance_id, source_id)"
        )
        self.execute(f"create index if not exists {table}_data_gin on {BRONZE}.{table} using gin (data)")


def _parent_part(value: str, index: int, names: list[str]) -> str:
    """A parent_key names all of its parent's parameters ('studyId=3'); take the one asked for."""
    text = str(value)
    if "=" not in text:
        return text
    parts = dict(p.split("=", 1) for p in text.split("&"))
    return parts.get(names[index], next(iter(parts.values())))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_dict(row: tuple) -> dict:
    keys = ("run_id", "job_id", "status", "records_loaded", "records_written", "error_message", "error_kind",
            "started_at", "completed_at", "duration_seconds", "parameters", "attempts", "resumed_from")  # fmt: skip
    out = dict(zip(keys, row, strict=True))
    out["parameters"] = json.loads(out["parameters"]) if out["parameters"] else {}
    return out
