"""Run bookkeeping: structured JSON logs and ``meta.meta_etl_process_log`` rows.

Every step records run_id, batch_id, study, status, attempt, start/end, rows read and
written, error code and message and a context JSON (file names, hashes, config
snapshot).  Rows are buffered and written with the step's own transaction, or after a
rollback for failed steps, so a rejected load still leaves its FAILED row.
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loader import paths
from loader.warehouse.tables import PROCESS_LOG, VALIDATION_LOG

LOG = logging.getLogger("genepair")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return str(uuid.uuid4())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        return json.dumps(payload, default=str, sort_keys=True)


def configure_logging(verbose: bool = False) -> Path:
    log_dir = paths.log_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "genepair.jsonl"
    LOG.handlers.clear()
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(JsonFormatter())
    LOG.addHandler(file_handler)
    if verbose:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(JsonFormatter())
        LOG.addHandler(stream)
    return path


def log_event(event: str, **fields: Any) -> None:
    LOG.info(event, extra={"fields": fields})


def environment_info() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    info = {"python": platform.python_version()}
    for pkg in ("pyarrow", "numpy", "duckdb", "dbt-core", "psycopg"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return info


@dataclass
class StepRecord:
    run_id: str
    step: str
    batch_id: str | None = None
    study_accession_code: str | None = None
    status: str = "RUNNING"
    attempt: int = 1
    started_at: datetime = field(default_factory=utcnow)
    ended_at: datetime | None = None
    rows_read: int | None = None
    rows_written: int | None = None
    error_code: int | None = None
    error_message: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter)

    def finish(self, status: str) -> None:
        self.status = status
        self.ended_at = utcnow()
        self.context.setdefault("seconds", round(time.perf_counter() - self._t0, 6))

    def as_row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "batch_id": self.batch_id,
            "study_accession_code": self.study_accession_code,
            "step": self.step,
            "status": self.status,
            "attempt": self.attempt,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "context_json": json.dumps(self.context, default=str, sort_keys=True),
        }


@dataclass
class RunLog:
    run_id: str = field(default_factory=new_run_id)
    records: list[StepRecord] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    attempt: int = 1  # loader.retry: the attempt every step of this log belongs to

    @contextmanager
    def step(self, name: str, **kwargs: Any) -> Iterator[StepRecord]:
        rec = StepRecord(run_id=self.run_id, step=name, attempt=self.attempt, **kwargs)
        self.records.append(rec)
        try:
            yield rec
        except BaseException as exc:
            rec.finish("FAILED")
            code = getattr(exc, "code", None)
            rec.error_code = code if isinstance(code, int) else None
            rec.error_message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log_event(
                "step_failed",
                run_id=self.run_id,
                step=name,
                batch_id=rec.batch_id,
                study_accession=rec.study_accession_code,
                error_code=rec.error_code,
                error=rec.error_message,
            )
            raise
        else:
            if rec.status == "RUNNING":
                rec.finish("SUCCESS")
            log_event(
                "step_done",
                run_id=self.run_id,
                step=name,
                status=rec.status,
                batch_id=rec.batch_id,
                study_accession=rec.study_accession_code,
                rows_read=rec.rows_read,
                rows_written=rec.rows_written,
                seconds=rec.context.get("seconds"),
            )

    def finding(self, validation_code: str, severity: str, details: str, batch_id: str | None = None) -> None:
        self.findings.append(
            {
                "run_id": self.run_id,
                "batch_id": batch_id,
                "study_key": None,
                "validation_code": validation_code,
                "severity": severity,
                "details": details,
                "created_at": utcnow(),
            }
        )

    def flush(self, warehouse: Any) -> None:
        """Write buffered rows (call inside the caller's transaction, or autocommit)."""
        if self.records:
            warehouse.insert_rows(PROCESS_LOG, [r.as_row() for r in self.records])
        if self.findings:
            warehouse.insert_rows(VALIDATION_LOG, self.findings)
        self.records = []
        self.findings = []
