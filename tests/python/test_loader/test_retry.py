"""Issue #17: the seed's retry policy on the Python path. Pure: which errors are transient
(named errors never are). Live PostgreSQL: a backend terminated mid-COPY and a conflicting
lock held past lock_timeout; the load retries, ends with exact counts and logs each attempt."""

from __future__ import annotations

import time

import psycopg
import psycopg.errors as pgerr
import pytest

from genepair.synthetic import StudySpec, write_download
from loader.errors import GenepairError, LoaderError
from loader.retry import transient_reason, with_retries
from support import FIXTURES
from support.pg import PgWarehouse, server_or_skip


def driver_error(module: str, text: str) -> Exception:
    """An exception as the SQL Server drivers raise it (their classes, not installed here)."""
    cls = type("OperationalError", (Exception,), {"__module__": module})
    return cls(text)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            driver_error("mssql_python.exceptions", "Transaction (Process ID 61) was deadlocked (1205)"),
            "SQL Server error 1205",
        ),
        (
            driver_error("pyodbc", "[40001] [Microsoft][ODBC Driver 18] Lock request time out period exceeded. (1222)"),
            "SQL Server error 1222",
        ),
        (driver_error("pyodbc", "[08S01] Communication link failure"), "SQL Server 08S01 (communication link failure)"),
        (driver_error("mssql_python.exceptions", "Violation of PRIMARY KEY constraint (2627)"), None),
        (pgerr.DeadlockDetected("x"), "SQLSTATE 40P01"),
        (pgerr.SerializationFailure("x"), "SQLSTATE 40001"),
        (pgerr.LockNotAvailable("x"), "SQLSTATE 55P03"),
        (pgerr.AdminShutdown("x"), "SQLSTATE 57P01"),
        (psycopg.OperationalError("server closed the connection unexpectedly"), "connection lost"),
        (pgerr.UniqueViolation("x"), None),
        (pgerr.InvalidTextRepresentation("x"), None),
        (GenepairError("AGG_MISSING_DISEASE_MAP", "54001"), None),
        (LoaderError("RAGGED_ROW", "53006"), None),
        (ValueError("x"), None),
    ],
)
def test_only_transient_errors_are_retried(error, reason):
    assert transient_reason(error) == reason


def test_with_retries_backs_off_and_gives_up_after_three_attempts():
    calls: list[int] = []
    waits: list[float] = []
    told: list[tuple[int, str]] = []

    def work(n: int) -> str:
        calls.append(n)
        if n < 3:
            raise pgerr.DeadlockDetected("deadlock detected")
        return "done"

    out = with_retries(work, on_retry=lambda n, e, why, d: told.append((n, why)), sleep=waits.append)
    assert (out, calls, waits, told) == ("done", [1, 2, 3], [1.0, 2.0], [(1, "SQLSTATE 40P01"), (2, "SQLSTATE 40P01")])
    calls.clear()
    with pytest.raises(pgerr.DeadlockDetected):
        with_retries(
            lambda n: calls.append(n) or (_ for _ in ()).throw(pgerr.DeadlockDetected("x")), sleep=waits.append
        )
    assert calls == [1, 2, 3]
    calls.clear()
    with pytest.raises(GenepairError):
        with_retries(lambda n: calls.append(n) or (_ for _ in ()).throw(GenepairError("AGG_MULTI_DISEASE_MAP", "x")))
    assert calls == [1]  # 54xxx: never retried


@pytest.fixture
def pg(tmp_path):
    server_or_skip()
    wh = PgWarehouse(tmp_path / "wh")
    wh.env["GENEPAIR_PG_APPLICATION_NAME"] = f"gp-retry-{wh.dbname}"
    yield wh
    wh.drop()


def attempts(wh: PgWarehouse) -> list[tuple]:
    return wh.query(
        "select step, status, attempt from meta.meta_etl_process_log "
        "where step in ('load', 'stage_expression') order by started_at, attempt"
    )


def test_backend_terminated_mid_copy_is_retried(pg, tmp_path):
    spec = StudySpec(
        "SRP930001", "RNA-SEQ", "TPM", 20_000, {"CONTROL": 20, "SEPSIS": 40, "SEPTIC_SHOCK": 40}, "title", 7
    )
    download = write_download(tmp_path, [spec], "big")
    config = tmp_path / "pipeline.yaml"
    config.write_text("chunk_bytes: 1048576\n")  # many COPYs: one is caught in flight
    proc = pg.popen("load", str(download), "--config", str(config))
    app = pg.env["GENEPAIR_PG_APPLICATION_NAME"]
    killed = 0
    deadline = time.monotonic() + 120
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        killed = pg.scalar(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where application_name = %s and query like 'COPY staging.expression_values%%' and state = 'active'",
            (app,),
        )
        time.sleep(0.02)
    _out, err = proc.communicate(timeout=300)
    assert killed == 1, err
    assert proc.returncode == 0, err
    assert "attempt 1 failed (SQLSTATE 57P01)" in err or "attempt 1 failed (connection lost)" in err
    assert pg.scalar("select count(*) from staging.expression_values") == 20_000 * 100
    assert pg.query("select status, is_current, n_rows from staging.batch_registry") == [("COMPLETE", 1, 2_000_000)]
    assert attempts(pg) == [("load", "RETRY", 1), ("stage_expression", "SUCCESS", 2)]


def test_conflicting_lock_past_lock_timeout_is_retried(pg, tmp_path):
    pg.cli("load", str(FIXTURES / "seed_study"), check=True)
    spec = StudySpec("GSE930002", "MICROARRAY", "ARRAY_LOG2", 50, {"SEPSIS": 4, "SEPTIC_SHOCK": 4}, "title", 8)
    other = write_download(tmp_path, [spec], "second")
    pg.env["GENEPAIR_PG_LOCK_TIMEOUT"] = "500ms"
    holder = psycopg.connect(pg.dsn())
    holder.execute("LOCK TABLE staging.expression_values IN ACCESS EXCLUSIVE MODE")  # held until commit
    proc = pg.popen("load", str(other))
    try:
        deadline = time.monotonic() + 60
        while not pg.scalar("select count(*) from meta.meta_etl_process_log where status = 'RETRY'"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        holder.commit()  # releases the lock: the next attempt gets through
        holder.close()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "attempt 1 failed (SQLSTATE 55P03)" in err
    assert pg.scalar("select count(*) from staging.batch_registry where is_current = 1") == 2
    assert pg.scalar("select count(*) from staging.expression_values") == 20 + 50 * 8
    rows = attempts(pg)
    assert rows[0] == ("stage_expression", "SUCCESS", 1)  # the first study
    assert ("load", "RETRY", 1) in rows and rows[-1][0:2] == ("stage_expression", "SUCCESS") and rows[-1][2] >= 2


def test_scoring_writer_retries_past_a_held_lock(pg, tmp_path):
    """The scoring step's one transaction (components of every study) meets a lock held past
    lock_timeout: RETRY logged for step `score`, then the components are written exactly once."""
    cohorts = {"CONTROL": 4, "SEPSIS": 6, "SEPTIC_SHOCK": 6}
    specs = [StudySpec(f"GSE93010{i}", "MICROARRAY", "ARRAY_LOG2", 40, cohorts, "title", i) for i in (1, 2)]
    config = tmp_path / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 10}\n")
    pg.cli("load", *(str(write_download(tmp_path, [s], s.accession)) for s in specs), "--config", str(config),
           check=True)  # fmt: skip
    pg.cli("build", "--config", str(config), check=True)
    pg.env["GENEPAIR_PG_LOCK_TIMEOUT"] = "500ms"
    holder = psycopg.connect(pg.dsn())
    holder.execute("LOCK TABLE analytics.pair_study_components IN ACCESS EXCLUSIVE MODE")
    proc = pg.popen("score", "--config", str(config))
    try:
        deadline = time.monotonic() + 120
        while not pg.scalar("select count(*) from meta.meta_etl_process_log where status = 'RETRY'"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
            time.sleep(0.05)
    finally:
        holder.commit()
        holder.close()
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "score attempt 1 failed (SQLSTATE 55P03)" in err
    assert pg.query("select step, status, attempt from meta.meta_etl_process_log where status = 'RETRY'") == [
        ("score", "RETRY", 1)
    ]
    assert pg.scalar("select count(*) from analytics.pair_study_components") == 45 * 2  # 10 genes: 45 pairs
    assert pg.scalar("select count(*) from analytics.feature_runs where is_current = 1") == 1


def test_a_lock_held_through_every_attempt_is_a_named_error(pg, tmp_path):
    pg.cli("load", str(FIXTURES / "seed_study"), check=True)
    spec = StudySpec("GSE930003", "MICROARRAY", "ARRAY_LOG2", 20, {"SEPSIS": 4, "SEPTIC_SHOCK": 4}, "title", 9)
    other = write_download(tmp_path, [spec], "third")
    pg.env["GENEPAIR_PG_LOCK_TIMEOUT"] = "200ms"
    holder = psycopg.connect(pg.dsn())
    holder.execute("LOCK TABLE staging.expression_values IN ACCESS EXCLUSIVE MODE")
    try:
        proc = pg.cli("load", str(other))
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 1, proc.stderr
    first = next(line for line in proc.stderr.splitlines() if line.startswith("error "))
    assert first.startswith("error 53044 DATABASE_BUSY: ") and "SQLSTATE 55P03" in first and "3 attempts" in first
    assert "Traceback" not in proc.stderr
    assert pg.query("select attempt from meta.meta_etl_process_log where status = 'RETRY' order by attempt") == [
        (1,),
        (2,),
    ]
    assert pg.scalar("select count(*) from staging.batch_registry") == 1  # nothing of the second study
